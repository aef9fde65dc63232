"""Source protection against someone who is trying: spoofed senders, look-alike letters, contact details written
every way a reader would still recognise, decoy Message-IDs, escape sequences, and a message far too large.

The mail is a hostile Maildir these tests build (every name, address and number in it is fictional), with
DKIM keys of their own, pinned in the station's private/dkim-keys.txt instead of published in the DNS.
"""

from __future__ import annotations

import json
import re
import unicodedata
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radio import matching
from radio.mail.message import read_message, short_id
from radio.mail.sender import Quarantined
from radio.withheld import find_withheld
from tests.audio_util import WEEK
from tests.canary import leaks, plant
from tests.conftest import copy_station, runner_for
from tests.mail_util import dkim_key_pair, write_maildir

SOFIA = "sofia.imaginary@example.org"
REGISTER = f"""\
# PRIVATE, FICTIONAL: the test station's correspondents
lantern: {{name: "Sofia Imaginary", aliases: ["Sonya"], email: [{SOFIA}], phone: "+00 555 0199",
          town: "Stonebridge", workplace: "Secondary School No 4",
          attribution: "Our correspondent in the Highlands", region: "Highlands"}}
heron: {{name: "Marta Invented", email: [marta.invented@example.org], contact: "+00 555 0142"}}
"""
# everything the desk knows about the two correspondents: none of it may be published in any form
REGISTER_VALUES = ["Sofia Imaginary", "Sonya", SOFIA, "+00 555 0199", "Stonebridge", "Secondary School No 4",
                   "Marta Invented", "marta.invented@example.org", "+00 555 0142"]
REGISTER_DETAILS = [("name", "Sofia Imaginary"), ("name", "Sonya"), ("email", SOFIA), ("phone", "+00 555 0199"),
                    ("place", "Stonebridge"), ("place", "Secondary School No 4"), ("name", "Marta Invented"),
                    ("email", "marta.invented@example.org"), ("phone", "+00 555 0142")]
OUR_SERVER = "mx.radio.example.org"


def _msg(sender: str, subject: str, mid: str, day: int, body: str, *, hour: int = 9) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "Desk <desk@radio.example.org>"
    m["Subject"] = subject
    m["Date"] = format_datetime(dt.datetime(2026, 11, day, hour, 0, tzinfo=dt.timezone.utc))
    m["Message-ID"] = mid
    m.set_content(body)
    return m


def _raw_from(from_header: str, mid: str, day: int = 17) -> bytes:
    return (f"From: {from_header}\r\nTo: desk@radio.example.org\r\nSubject: Teachers meet\r\n"
            f"Date: {format_datetime(dt.datetime(2026, 11, day, 9, tzinfo=dt.timezone.utc))}\r\n"
            f"Message-ID: {mid}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "Teachers met after school on Monday.\r\n").encode()


def _sign(raw: bytes, key: bytes, domain: str) -> bytes:
    import dkim
    return dkim.sign(raw, b"mail", domain.encode(), key, include_headers=[b"from", b"subject", b"date",
                                                                            b"message-id"]) + raw


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, tuple[bytes, bytes]]:
    """A DKIM key of the correspondents' domain, and one of the attacker's own domain."""
    return {d: dkim_key_pair(tmp_path_factory.mktemp(d)) for d in ("example.org", "evil.example")}


def hostile(keys) -> list[tuple[str, bytes]]:
    """(what, raw) for every kind of message a stranger might send, and the real ones among them."""
    good = "Teachers at a secondary school met after lessons on Monday to discuss unpaid hours.\n"
    out: list[tuple[str, bytes]] = []
    # a genuine report, DKIM-signed by the correspondents' domain
    out.append(("dkim valid", _sign(_msg(f"Sofia Imaginary <{SOFIA}>", "Teachers meet over unpaid hours",
                                         "<dkim-ok@example.org>", 16, good).as_bytes(), keys["example.org"][0],
                                    "example.org")))
    # the same, tampered with after signing
    signed = _sign(_msg(f"Sofia Imaginary <{SOFIA}>", "Canteen staff meet", "<dkim-bad@example.org>", 16,
                        "Canteen staff met on Monday.\n").as_bytes(), keys["example.org"][0], "example.org")
    out.append(("dkim invalid", signed.replace(b"Canteen staff met", b"Canteen staff struck")))
    # validly signed, but by the attacker's own domain
    out.append(("dkim other domain", _sign(_msg(f"Sofia Imaginary <{SOFIA}>", "Dockers walk out",
                                                "<dkim-evil@evil.example>", 16, "Dockers walked out.\n").as_bytes(),
                                           keys["evil.example"][0], "evil.example")))
    # no signature; its own Authentication-Results says everything failed (from a server that is not ours)
    m = _msg(f"Sofia Imaginary <{SOFIA}>", "Bakery workers strike", "<selfsaid@example.org>", 16,
             "Bakery workers struck.\n")
    m["Authentication-Results"] = "mx.other.example; dkim=fail; spf=fail smtp.mailfrom=example.org; dmarc=fail"
    out.append(("failed elsewhere", m.as_bytes()))
    # our server's genuine result on top, and a forged one bearing our server's name below it
    m = _msg(f"Marta Invented <marta.invented@example.org>", "Port cranes idle", "<forged-ar@example.org>", 16,
             "The port cranes stood idle all Tuesday.\n")
    m["Authentication-Results"] = f"{OUR_SERVER}; dkim=none; spf=softfail smtp.mailfrom=example.org"
    m["Authentication-Results"] = f"{OUR_SERVER}; dkim=pass header.d=example.org; dmarc=pass"
    out.append(("forged results", m.as_bytes()))
    # our server's genuine pass
    m = _msg(f"Marta Invented <marta.invented@example.org>", "Ferry crews meet", "<ours-pass@example.org>", 16,
             "Ferry crews met in the harbour canteen.\n")
    m["Authentication-Results"] = f"{OUR_SERVER}; dkim=pass header.d=example.org; spf=pass " \
                                  "smtp.mailfrom=example.org; dmarc=pass"
    out.append(("our pass", m.as_bytes()))
    # spoofed senders: the register's address shown, another address behind it
    for n, header in enumerate([f"{SOFIA} <attacker@evil.example>", f"<{SOFIA}>@evil.example",
                                f"=?utf-8?q?{SOFIA.replace('@', '=40')}?= <attacker@evil.example>",
                                f'"{SOFIA}" <{SOFIA}>', f"{SOFIA}, attacker@evil.example"]):
        out.append((f"spoof {n}", _raw_from(header, f"<spoof-{n}@evil.example>")))
    out.append(("two froms", (f"From: {SOFIA}\r\n").encode() + _raw_from("attacker@evil.example",
                                                                         "<spoof-two@evil.example>")))
    # a decoy with the real report's Message-ID and an earlier date, from a stranger; then the real report
    out.append(("decoy", _msg("A Stranger <stranger@evil.example>", "Nothing", "<real-1@example.org>", 15,
                              "Nothing to see.\n").as_bytes()))
    m = _msg(f"Marta Invented <marta.invented@example.org>", "Warehouse pickers win breaks", "<real-1@example.org>",
             16, "Pickers at the warehouse won two extra breaks a shift.\n")
    m["Authentication-Results"] = f"{OUR_SERVER}; dkim=pass header.d=example.org; dmarc=pass"
    out.append(("real", m.as_bytes()))
    out.append(("redelivered", b"Received: from mx2.radio.example.org; Mon, 16 Nov 2026 10:00:00 +0000\r\n"
                + out[-1][1]))
    # a subject that would drive the producer's terminal
    out.append(("escapes", _sign(_msg(f"Sofia Imaginary <{SOFIA}>", "Night shift \x1b]0;pwned\x07\x1b[2J vote",
                                      "<escapes@example.org>", 17, "The night shift voted.\n").as_bytes(),
                                 keys["example.org"][0], "example.org")))
    # a signed report whose text gives its source away every way a reader would still recognise
    leak = ("Teachers at Ѕtonebridge's school No 4 met (Stone-\nbridge, in the Нighlands).\n\n"
            "Call me on ＋００ ５５５ ０１９９ or write to sofia.imaginary [at] example [dot] org, "
            "[mail](mailto:sofia.imaginary%40example.org).\n\nThanks, Sofia\n")
    out.append(("leaky", _sign(_msg(f"Sofia Imaginary <{SOFIA}>", "Teachers meet again", "<leaky@example.org>", 17,
                                    leak).as_bytes(), keys["example.org"][0], "example.org")))
    return out


EXPECTED_LINES = [
    "took in teachers-meet-over-unpaid-hours (from lantern)",
    "took in canteen-staff-meet (from lantern; sender not verified: dkim fail, no result from our server)",
    "took in dockers-walk-out (from lantern; sender not verified: dkim pass for another domain (evil.example), "
    "no result from our server)",
    "took in bakery-workers-strike (from lantern; sender not verified: no dkim signature, no result from our server)",
    "took in port-cranes-idle (from heron; sender not verified: forged Authentication-Results, no dkim signature, "
    "dkim none, spf softfail)",
    "took in ferry-crews-meet (from heron)",
    "took in night-shift-0-pwned-2j-vote (from lantern)",
    "took in teachers-meet-again (from lantern)",
]


def _station(tmp_path: Path, keys) -> Path:
    root = copy_station(tmp_path / "st")
    (root / "private" / "correspondents.yaml").write_text(REGISTER, encoding="utf-8")
    (root / "private" / "dkim-keys.txt").write_text(
        "".join(f"mail._domainkey.{d} {keys[d][1].decode()}\n" for d in keys), encoding="utf-8")
    return root


def test_a_hostile_maildir_is_marked_or_quarantined_and_nothing_is_lost(tmp_path, keys):
    root = _station(tmp_path, keys)
    run = runner_for(root)
    box = write_maildir(tmp_path / "Maildir", hostile(keys))
    r = run("intake", "2026-W48", "--maildir", str(box))
    assert r.exit_code == 0, r.err
    lines = r.out.splitlines()
    assert sorted(x for x in lines if x.startswith("took in")) == sorted(EXPECTED_LINES)
    quarantined = sorted(x.split(": ", 1)[1] for x in lines if x.startswith("quarantined"))
    assert quarantined == sorted([
        "ambiguous From header (invalid address in address-list)",
        "ambiguous From header (invalid address in address-list)",
        "the From name holds an address: the sender is not plain",
        "the From name holds an address: the sender is not plain",
        "no single sender address", "2 From headers",
        "unknown sender (not in private/correspondents.yaml)",
        "the Message-ID of a message already taken in, with another sender or other content",
    ]), lines
    assert lines[-1] == "8 taken in, 8 quarantined, 1 already taken in"
    assert "\x1b" not in r.out + r.err

    # the decoy came first and took the Message-ID: the real report is not lost but quarantined, with the reason;
    # an editor who checked it by hand takes it in
    reports = root / "episodes" / "2026-W48" / "reports"
    both = sorted((json.loads(p.read_text())["reason"], p.stem)
                  for p in (root / "private" / "quarantine" / "2026-W48").glob("*.json")
                  if json.loads(p.read_text())["message_id"] == "<real-1@example.org>")
    assert [why for why, _ in both] == [
        "the Message-ID of a message already taken in, with another sender or other content",
        "unknown sender (not in private/correspondents.yaml)"]
    r = run("intake", "release", both[0][1], "--as", "heron")
    assert r.exit_code == 0 and r.out == f"released {both[0][1]} as warehouse-pickers-win-breaks in 2026-W48 " \
                                         "(from heron)\n"
    assert "Pickers at the warehouse won two extra breaks a shift." in (
        reports / "warehouse-pickers-win-breaks.md").read_text()

    # the desk is told, in the list and on the report
    listing = run("report", "list", "2026-W48")
    assert "canteen-staff-meet: sender not verified: dkim fail, no result from our server" in listing.out.splitlines()
    assert "\x1b" not in listing.out and "\\x1b]0;pwned\\x07" in listing.out
    shown = run("report", "show", "port-cranes-idle").out
    assert "sender:      not verified: forged Authentication-Results, no dkim signature, dkim none, spf softfail" \
        in shown
    assert "sender:" not in run("report", "show", "ferry-crews-meet").out

    # the leaky report cannot go on air, and the refusal names the field and the kind, never the value
    for rid in ("teachers-meet-again",):
        from radio.desk.commands import add_check
        from radio.station import Station
        add_check(Station.open(root), rid, "maria", "phone")
        add_check(Station.open(root), rid, "ivan", "visit")
    r = run("report", "show", "teachers-meet-again")
    assert r.exit_code == 1
    assert r.err.startswith(f"error: {reports / 'teachers-meet-again.md'}: the text names the correspondent's ")
    assert "(register: lantern)" in r.err
    for value in REGISTER_VALUES + ["Sofia", "0199"]:
        assert value.lower() not in r.err.lower()


def test_a_repeated_message_id_with_other_content_is_quarantined_with_the_reason(tmp_path, keys):
    root = _station(tmp_path, keys)
    run = runner_for(root)
    first = _msg(f"Marta Invented <marta.invented@example.org>", "Dockers stop work", "<same@example.org>", 16,
                 "Dockers stopped work.\n")
    later = _msg(f"Marta Invented <marta.invented@example.org>", "Dockers stop work", "<same@example.org>", 17,
                 "Dockers went back to work.\n")
    r = run("intake", "2026-W48", "--maildir", str(write_maildir(tmp_path / "A", [("a", first.as_bytes())])))
    assert r.exit_code == 0 and r.out.splitlines()[-1] == "1 taken in, 0 quarantined, 0 already taken in"
    r = run("intake", "2026-W48", "--maildir", str(write_maildir(tmp_path / "B", [("a", first.as_bytes()),
                                                                                    ("b", later.as_bytes())])))
    assert r.exit_code == 0
    assert r.out.splitlines()[-1] == "0 taken in, 1 quarantined, 1 already taken in"
    qid = r.out.splitlines()[0].split()[1].rstrip(":")
    assert r.out.splitlines()[0] == (f"quarantined {qid}: the Message-ID of a message already taken in, "
                                     "with another sender or other content")
    # an editor checks it by hand and takes it in; the release is in the report's history
    r = run("intake", "release", qid, "--as", "heron", "--by", "maria")
    assert r.exit_code == 0, r.err
    assert r.out == f"released {qid} as dockers-stop-work-2 in 2026-W48 (from heron)\n"
    assert "Dockers went back to work." in run("report", "show", "dockers-stop-work-2").out
    history = run("report", "history", "dockers-stop-work-2").out
    assert "released from quarantine (the Message-ID of a message already taken in, with another sender or " \
           "other content) as from heron by maria" in history
    assert run("report", "list", "2026-W48", "--quarantine").out == "nothing in quarantine for 2026-W48\n"
    # and it is never taken in twice
    r = run("intake", "2026-W48", "--maildir", str(tmp_path / "B"))
    assert r.out.splitlines()[-1] == "0 taken in, 0 quarantined, 2 already taken in"
    r = run("intake", "release", qid, "--as", "heron")
    assert r.exit_code == 1 and r.err == (f"error: no quarantined message {qid} (see `radio report list WEEK "
                                          "--quarantine`)\n")
    r = run("intake", "release", "0123456789ab", "--as", "nobody")
    assert r.exit_code == 1 and "no quarantined message" in r.err


def test_unverified_mail_can_be_quarantined_instead(tmp_path, keys):
    root = _station(tmp_path, keys)
    toml = root / "radio.toml"
    toml.write_text(toml.read_text().replace('authserv_id = ', 'unverified = "quarantine"\nauthserv_id = '))
    run = runner_for(root)
    items = [x for x in hostile(keys) if x[0] in ("dkim valid", "dkim invalid", "failed elsewhere", "our pass")]
    r = run("intake", "2026-W48", "--maildir", str(write_maildir(tmp_path / "M", items)))
    assert r.exit_code == 0, r.err
    assert sorted(x.split(": ", 1)[-1] for x in r.out.splitlines()[:-1]) == sorted([
        "took in teachers-meet-over-unpaid-hours (from lantern)", "took in ferry-crews-meet (from heron)",
        "sender not verified: dkim fail, no result from our server",
        "sender not verified: no dkim signature, no result from our server"])


@pytest.mark.parametrize("header,reason", [
    (f"{SOFIA} <attacker@evil.example>", "ambiguous From header (invalid address in address-list)"),
    (f"<{SOFIA}>@evil.example", "ambiguous From header (invalid address in address-list)"),
    (f"=?utf-8?q?{SOFIA.replace('@', '=40')}?= <attacker@evil.example>",
     "the From name holds an address: the sender is not plain"),
    (f"=?utf-8?b?c29maWEuaW1hZ2luYXJ5QGV4YW1wbGUub3Jn?= <{SOFIA}>",
     "the From name holds an address: the sender is not plain"),
    (f"Sofia <{SOFIA}>, <attacker@evil.example>", "no single sender address"),
    ("undisclosed-recipients:;", "no single sender address"),
    (f"Sofia <sofia.imaginary@[192.0.2.1]>", "the From address has no plain domain"),
])
def test_a_from_that_is_not_plainly_one_address_is_nobodys(header, reason):
    register = {SOFIA: ("lantern", {}), "attacker@evil.example": ("lantern", {})}
    with pytest.raises(Quarantined) as q:
        read_message(_raw_from(header, "<x@y.example>"), register, max_bytes=10_000)
    assert q.value.reason == reason


def test_a_message_far_over_the_limit_is_quarantined_by_its_headers_and_first_bytes(tmp_path, keys):
    """200 MB of attachment, written as a mailbox would hold it (base64), streamed: only the counting is paid."""
    root = _station(tmp_path, keys)
    box = tmp_path / "Big"
    write_maildir(box, [])
    path = box / "new" / "1763370000.big.example"
    line = b"QUFB" * 19 + b"\r\n"  # 76 base64 characters: 57 bytes of 'A'
    lines = 200_000_000 // 57 + 1
    with open(path, "wb") as f:
        f.write(_raw_from(f"Sofia Imaginary <{SOFIA}>", "<big@example.org>").replace(
            b"Content-Type: text/plain; charset=utf-8\r\n\r\nTeachers met after school on Monday.\r\n",
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
            b"The whole meeting, filmed.\r\n--b\r\nContent-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="meeting.mp4"\r\n\r\n'))
        block = line * 10_000
        for _ in range(lines // 10_000):
            f.write(block)
        f.write(line * (lines % 10_000) + b"--b--\r\n")
    r = runner_for(root)("intake", "2026-W48", "--maildir", str(box))
    assert r.exit_code == 0, r.err
    qid = short_id("<big@example.org>")
    assert r.out.splitlines() == [f"quarantined {qid}: attachment of 200.00 MB is over the 10 MB limit",
                                  "0 taken in, 1 quarantined, 0 already taken in"]
    folder = root / "private" / "quarantine" / "2026-W48"
    kept = (folder / f"{qid}.eml").read_bytes()
    assert len(kept) == 64 * 1024 and kept.startswith(b"From: Sofia Imaginary")
    assert json.loads((folder / f"{qid}.json").read_text())["kept"].startswith("headers and the first 65536 bytes")
    assert not list((root / "private" / "intake").glob(".incoming-*")), "no staging left behind"


# --- the matcher: a detail is caught in any form a reader would recognise ----------------------------------

def _confusables() -> dict[str, list[str]]:
    """For each Latin letter (either case), every BMP character whose TR39 skeleton (ICU's data, after NFKC) is
    the letter's own: the characters a reader takes for that letter."""
    import icu
    sc = icu.SpoofChecker()
    letters = {sc.getSkeleton(0, c): c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"}
    table: dict[str, list[str]] = {}
    for cp in range(0x80, 0x10000):
        c = chr(cp)
        if unicodedata.category(c)[0] not in "LN":
            continue
        letter = letters.get(sc.getSkeleton(0, unicodedata.normalize("NFKC", c)))
        if letter:
            table.setdefault(letter, []).append(c)
    return table


CONFUSABLES = _confusables()
NAMES = ["Stonebridge", "Highlands", "Kestrel Ridge", "Secondary School No 4", "Port Alder", "Sofia Imaginary",
         "Greyhaven", "Redcliff"]


def test_the_confusables_table_is_icus_not_a_hand_picked_few():
    assert len(CONFUSABLES) >= 45 and sum(map(len, CONFUSABLES.values())) > 400
    assert "Ѕ" in CONFUSABLES["S"] and "Н" in CONFUSABLES["H"] and "Р" in CONFUSABLES["P"]
    assert "Ρ" in CONFUSABLES["P"], "Greek and Cyrillic capital Rho/Er are P, not R"


@st.composite
def disguised(draw, name: str) -> str:
    if draw(st.booleans()):  # the case a writer chose, then look-alike letters from any script for it
        name = name.upper() if draw(st.booleans()) else name.lower()
    chars = list(name)
    for i, c in enumerate(chars):
        if c in CONFUSABLES and draw(st.booleans()):
            chars[i] = draw(st.sampled_from(CONFUSABLES[c]))
    text = "".join(chars)
    how = draw(st.sampled_from(["plain", "hyphen-line", "soft-hyphen", "zero-width", "emphasis", "link", "nbsp",
                                "entity"]))
    cut = draw(st.integers(1, max(1, len(text) - 1)))
    head, tail = text[:cut], text[cut:]
    if how == "hyphen-line" and head[-1:].isalpha() and tail[:1].isalpha():
        text = f"{head}-\n{tail}"
    elif how == "soft-hyphen":
        text = f"{head}\u00ad{tail}"
    elif how == "zero-width":
        text = f"{head}\u200b{tail}"
    elif how == "emphasis":
        text = f"**{head}**{tail}"
    elif how == "link":
        text = f"[{head}](https://example.org/x){tail}"
    elif how == "nbsp":
        text = text.replace(" ", "\u00a0")
    elif how == "entity":
        text = "".join(f"&#{ord(c)};" if draw(st.booleans()) else c for c in text)
    before = draw(st.sampled_from(["", "Workers in ", "News from the ", "(", "«"]))
    after = draw(st.sampled_from(["", " met.", "'s miners", "», they said.", ")"]))
    return before + text + after


@settings(deadline=None, max_examples=300)
@given(data=st.data(), name=st.sampled_from(NAMES))
def test_any_disguise_of_a_withheld_name_is_caught(data, name):
    text = data.draw(disguised(name))
    assert find_withheld(text, [("place", name)]) == ("place", name), text


_PHONE_DIGITS = st.sampled_from(["0123456789", "０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९"])


@settings(deadline=None, max_examples=200)
@given(digits=_PHONE_DIGITS, sep=st.sampled_from([" ", "-", ".", "", "\u00a0", " - ", "/"]),
       code=st.sampled_from(["+00 ", "00", "+44 ", "", "(0)"]), groups=st.sampled_from([(3, 4), (2, 2, 3), (7,)]))
def test_a_phone_number_is_caught_however_it_is_written(digits, sep, code, groups):
    number = "5550199"
    parts, at = [], 0
    for g in groups:
        parts.append("".join(digits[int(d)] for d in number[at:at + g]))
        at += g
    text = f"Ring {code}{sep.join(parts)} after six."
    assert find_withheld(text, [("correspondent's phone number", "+00 555 0199")]), text


@pytest.mark.parametrize("text", [
    "write to sofia.imaginary@example.org", "sofia.imaginary at example dot org",
    "sofia.imaginary [at] example [dot] org", "sofia (dot) imaginary (at) example (dot) org",
    "<a href='mailto:sofia.imaginary%40example.org'>mail</a>", "mailto:sofia.imaginary%2540example.org",
    "sofia.imaginary&#64;example&#46;org", "SOFIA.IMAGINARY＠EXAMPLE.ORG", "sofia.imаginary@example.org",
    "[write](mailto:sofia.imaginary@example.org)",
])
def test_an_address_is_caught_written_out_or_encoded(text):
    assert find_withheld(text, [("correspondent's e-mail address", SOFIA)]), text


@pytest.mark.parametrize("text,detail", [
    ("Thanks, Sofia", ("correspondent's name", "Sofia Imaginary")),
    ("Greetings from Sonya.", ("correspondent's alias", "Sonya")),
    ("Marta invented nothing.", ("correspondent's name", "Marta Invented")),  # a first name alone is enough
])
def test_parts_of_a_name_are_caught(text, detail):
    from radio.sources import source_details
    details = source_details({}, {"name": detail[1]} if detail[0] == "correspondent's name" else {"aliases": [detail[1]]})
    assert find_withheld(text, details) is not None


def test_a_name_part_the_station_publishes_itself_is_not_withheld_alone():
    from radio.sources import source_details
    from radio.matching import detail_forms
    hosts = frozenset(detail_forms("Павел", "name") | detail_forms("Орлов", "name"))
    details = source_details({}, {"name": "Pavel Madeup"}, hosts)
    assert find_withheld("With you this week: Olga Smirnova and Павел Орлов.", details) is None
    assert find_withheld("Pavel Madeup called.", details) and find_withheld("Thanks, Madeup", details)


@pytest.mark.parametrize("text", ["A kestrel flew over the ridge.", "Call 555 0198", "a shop on the corner",
                                  "stone bridges", "Ring 2026-11-16", "so fiat imaginary"])
def test_other_words_and_numbers_are_not_taken_for_a_detail(text):
    details = [("place", "Kestrel Ridge"), ("correspondent's phone number", "+00 555 0199"), ("place", "Ash"),
               ("place", "Stonebridge"), ("correspondent's name", "Sofia")]
    assert find_withheld(text, details) is None, text


def test_the_matcher_contract_forms_meet_candidates():
    """What a build with keyed digests relies on: the two sets are plain strings, compared by intersection."""
    text = "Workers in Ѕtone-\nbridge; ring ５５５ ０１９９; sofia.imaginary at example dot org."
    found = matching.text_candidates(text)
    for detail, kind in [("Stonebridge", "place"), ("+00 555 0199", "phone"), (SOFIA, "email")]:
        forms = matching.detail_forms(detail, kind)
        assert forms and forms & found, detail
        assert all(isinstance(f, str) and re.match(r"^[wtm]:", f) for f in forms)
    assert not matching.detail_forms("Kestrel Ridge", "place") & found


def test_a_mixed_script_word_is_a_warning_on_the_desk(tmp_path):
    root = copy_station(tmp_path / "st")
    p = root / "episodes" / "2026-W47" / "reports" / "rail-workers-safety-walkout.md"
    p.write_text(p.read_text().replace("Track workers at the Greyhaven", "Track workers at the Grеyhaven"))
    r = runner_for(root)("report", "show", "rail-workers-safety-walkout")
    assert "warning:     the text has a word mixed from several scripts: Grеyhaven" in r.out.splitlines()
    assert "rail-workers-safety-walkout: warning: the text has a word mixed from several scripts: Grеyhaven" in \
        runner_for(root)("report", "list", "2026-W47").out.splitlines()
    assert matching.mixed_script_words("東京タワー Москва Paris Ѕtonebridge") == ["Ѕtonebridge"]


# --- end to end: nothing any form of a source's details reaches anything published ---------------------------

def _skeleton_leaks(paths: list[Path], values: list[str]) -> list[tuple[str, str]]:
    """(file, value) where a value appears in a file's text on ICU's confusable skeleton, spaces and case aside."""
    import icu
    sc = icu.SpoofChecker()
    norm = lambda s: re.sub(r"\W+", "", sc.getSkeleton(0, unicodedata.normalize("NFKC", s).casefold()))  # noqa
    wanted = [(v, norm(v)) for v in values]
    found = []
    for p in paths:
        for f in sorted(x for x in ([p] if p.is_file() else p.rglob("*")) if x.is_file()):
            data = f.read_bytes()
            for enc in ("utf-8", "utf-16-le", "latin-1"):
                text = norm(data.decode(enc, errors="ignore"))
                found += [(str(f), v) for v, n in wanted if len(n) >= 5 and n in text]
    return sorted(set(found))


def test_a_telling_desk_id_is_refused_and_renamed_everywhere_in_one_step(tmp_path):
    root = copy_station(tmp_path / "st", editions=True)
    run = runner_for(root)
    week = root / "episodes" / "2026-W47"
    reports = week / "reports"
    old, new = "teacher-sacked-at-stonebridge-school-no-4", "second-teacher-sacked"
    for p in sorted(reports.glob("teacher-dismissed-after-meeting*.md")):
        target = reports / p.name.replace("teacher-dismissed-after-meeting", old)
        target.write_text(p.read_text(encoding="utf-8").replace("id: teacher-dismissed-after-meeting", f"id: {old}"),
                          encoding="utf-8")
        p.unlink()
    r = run("report", "show", old)
    assert r.exit_code == 1
    assert r.err == (f"error: {reports / (old + '.md')}: the id names the withheld place (exposure none) "
                     f"(rename the report: radio report rename {old} NEW-ID)\n")
    # on the desk it has a history, a rundown item in each edition, a take, and a draft
    from radio import history
    from radio.station import Station
    history.append(Station.open(root), "2026-W47", old, "status", to="verified", **{"from": "unverified"})
    rundown = week / "rundown.yaml"
    rundown.write_text(f"week: 2026-W47\nitems:\n  - id: {old}\n    type: read\n    host: anna\n    report: {old}\n"
                       f"  - id: close\n    type: read\n    host: anna\n    text: Goodbye.  # {old} stays in comments\n")
    (week / "segments").mkdir()
    (week / "segments" / f"{old}.take-1.ogg").write_bytes(b"fictional take")
    (week / "segments" / f"{old}.wav").write_bytes(b"fictional recording")
    r = run("report", "rename", old, new)
    assert r.exit_code == 0, r.err
    assert r.out == (f"renamed {old} to {new} in 2026-W47: history, recordings, report, rundown, translations\n")
    assert sorted(p.name for p in reports.glob(f"{new}*")) == [f"{new}.fr.md", f"{new}.md", f"{new}.ru.md"]
    assert not list(reports.glob(f"{old}*")) and not list((week / "segments").glob(f"{old}*"))
    assert sorted(p.name for p in (week / "segments").iterdir()) == [f"{new}.take-1.ogg", f"{new}.wav"]
    text = rundown.read_text()
    assert f"  - id: {new}\n" in text and f"    report: {new}\n" in text and f"# {old} stays" in text
    assert f"id: {new}\n" in (reports / f"{new}.md").read_text()
    assert run("report", "show", new).exit_code == 0
    assert "renamed from " + old in run("report", "history", new).out
    # a name that is taken is refused before anything moves
    r = run("report", "rename", new, "pit-strike-second-week")
    assert r.exit_code == 1 and "already exists" in r.err and (reports / f"{new}.md").is_file()


def test_after_intake_to_send_no_form_of_what_the_desk_knows_is_published(tmp_path, keys):
    """Intake, verify, plan, build --draft (publish included), bulletin and a dry-run send; then every public
    file is scanned for every private value, register entry and sender header: as bytes in UTF-8, UTF-16 and
    Latin-1 (canaries) and on the confusable skeleton of its text."""
    from radio.desk.commands import add_check
    from radio.station import Station
    from tests.test_build import built_station
    root, canaries = built_station(tmp_path / "st", canaries=True)
    reg = root / "private" / "correspondents.yaml"
    reg.write_text(reg.read_text(encoding="utf-8") + REGISTER, encoding="utf-8")
    (root / "private" / "dkim-keys.txt").write_text(
        "".join(f"mail._domainkey.{d} {keys[d][1].decode()}\n" for d in keys), encoding="utf-8")
    (root / "private" / "subscribers.csv").write_text(
        "address,organisation,language,format\noffice@dockers-union.example.org,Dockers (fictional),en,html\n"
        "desk@miners.example.org,Miners (fictional),en,text\n", encoding="utf-8")
    run = runner_for(root)
    wanted = ("dkim valid", "dkim invalid", "failed elsewhere", "escapes", "leaky")
    r = run("intake", WEEK, "--maildir", str(write_maildir(tmp_path / "M", [m for m in hostile(keys)
                                                                             if m[0] in wanted])))
    assert r.exit_code == 0 and r.out.splitlines()[-1] == "5 taken in, 0 quarantined, 0 already taken in", r.out
    station = Station.open(root)
    taken = [line.split()[2] for line in r.out.splitlines()[:-1]]
    for rid in taken:  # two editors verify everything: the check, not their care, keeps the sources out
        add_check(station, rid, "maria", "phone")
        add_check(station, rid, "ivan", "visit")
    r = run("plan", WEEK, "--force")
    assert r.exit_code == 0, r.err
    assert "left out teachers-meet-again: report teachers-meet-again names the correspondent's name in the text" \
        in r.out.splitlines()
    r = run("build", WEEK, "--draft", "--allow-over")
    assert r.exit_code == 0, r.err
    assert run("bulletin", WEEK).exit_code == 0
    r = run("send", WEEK, "--dry-run", env={"RADIO_UNSUBSCRIBE_SECRET": "fictional-secret"})
    assert r.exit_code == 0, r.err
    public = [root / "feeds", root / "episodes" / WEEK / "out", root / "private" / "outbox"]
    texts = [p for d in public for p in d.rglob("*") if p.is_file() and p.suffix in (
        ".xml", ".html", ".json", ".txt", ".vtt", ".md", ".eml", ".csv")]
    published = "\n".join(p.read_text(errors="ignore") for p in texts)
    assert "Teachers at a secondary school met" in published
    assert "Night shift" in published and "\x1b" not in published, "the escapes were dropped, the title kept"
    senders = ["attacker@evil.example", "mx.other.example", "Sofia Imaginary", SOFIA]
    values = canaries + REGISTER_VALUES + senders
    assert not leaks(public, values)
    assert not _skeleton_leaks(public, [v for v in REGISTER_VALUES + senders if not v.startswith("+")])
    digits = re.sub(r"\D", "", published.translate({0xff10 + i: str(i) for i in range(10)}))
    assert "5550199" not in digits and "5550142" not in digits
