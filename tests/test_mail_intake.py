"""Intake from Maildir, mbox and a real Dovecot over IMAPS: the same reports, the same quarantine, nothing leaked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radio.station import Station
from radio.mail.message import read_message, short_id
from radio.mail.sender import Quarantined
from radio.desk.commands import add_check
from radio.reports.files import week_reports
from radio.reports.model import public
from tests.canary import assert_clean, leaks, plant
from tests.conftest import WEEK, copy_station, runner_for
from tests.mail_util import (EXPECTED_QUARANTINE, dkim_key_pair, EXPECTED_TAKEN, SENDER_VALUES, BIG_LIMIT_MB, Dovecot, make_ca,
                             messages, write_maildir, write_mbox)

IN_WEEK = "2026-W49"  # a week of its own, so the demo week's reports stay as they are


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> tuple[Path, Path]:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory, ca):
    server = Dovecot(tmp_path_factory.mktemp("dovecot"), *ca)
    server.fill(ca[0], messages())
    yield server
    server.stop()


def mail_station(path: Path) -> Path:
    root = copy_station(path)
    toml = root / "radio.toml"
    toml.write_text(re.sub(r"max_attachment_mb = \S+", f"max_attachment_mb = {BIG_LIMIT_MB}", toml.read_text()))
    return root


def desk(root: Path) -> dict:
    """Every report of the intake week without the line naming the mailbox, the quarantine, the attachments."""
    reports = {p.stem: re.sub(r"(?m)^    source: .*\n", "", p.read_text(encoding="utf-8"))
               for p in sorted((root / "episodes" / IN_WEEK / "reports").glob("*.md"))}
    quarantine = {}
    for p in sorted((root / "private" / "quarantine" / IN_WEEK).glob("*.json")):
        rec = json.loads(p.read_text())
        quarantine[rec["message_id"]] = rec["reason"]
        assert (p.with_suffix(".eml")).read_bytes(), "the quarantined message is kept whole"
    files = {str(p.relative_to(root / "private" / "intake")): p.read_bytes()
             for p in sorted((root / "private" / "intake").rglob("*")) if p.is_file() and p.name != ".lock"}
    return {"reports": reports, "quarantine": quarantine, "attachments": files}


def imap_env(ca, dovecot) -> dict:
    return {"SSL_CERT_FILE": str(ca[0]), "RADIO_IMAP_USER": dovecot.user, "RADIO_IMAP_PASSWORD": dovecot.password}


def test_maildir_mbox_and_imap_give_the_same_reports(tmp_path, ca, dovecot):
    items = messages()
    results = {}
    for kind in ("maildir", "mbox", "imap"):
        root = mail_station(tmp_path / kind)
        run = runner_for(root)
        if kind == "maildir":
            r = run("intake", IN_WEEK, "--maildir", str(write_maildir(tmp_path / "Maildir", items)))
        elif kind == "mbox":
            r = run("intake", IN_WEEK, "--mbox", str(write_mbox(tmp_path / "reports.mbox", items)))
        else:
            r = run("intake", IN_WEEK, "--imap", dovecot.url(), env=imap_env(ca, dovecot))
        assert r.exit_code == 0, r.err
        assert r.out.splitlines()[-1] == "3 taken in, 6 quarantined, 1 already taken in"
        results[kind] = desk(root)
        results[kind]["root"] = root
    first = results["maildir"]
    assert set(first["reports"]) == EXPECTED_TAKEN
    assert first["quarantine"] == EXPECTED_QUARANTINE
    assert sorted(first["attachments"]) == ["smelter-canteen-workers-win-a-raise/canteen.jpg",
                                            "smelter-canteen-workers-win-a-raise/letter_from_management.pdf"]
    for kind in ("mbox", "imap"):
        for part in ("reports", "quarantine", "attachments"):
            assert results[kind][part] == first[part], f"{kind} differs from maildir in its {part}"

    station = Station.open(results["imap"]["root"])
    reports = {r.id: r for r in week_reports(station, IN_WEEK)}
    for r in reports.values():
        assert r.status == "unverified" and r.checks == [], "an intake never verifies anything"
        pub = public(r, public_id="")
        shown = " ".join(str(v) for v in vars(pub).values())
        for value in SENDER_VALUES:
            assert value.lower() not in shown.lower(), f"{value} reached a public field of {r.id}"
    dockers = reports["dockers-at-port-alder-stop-work-over-unpaid-nigh"]
    assert dockers.attribution == "Our correspondent on the Eastern Coast"
    assert dockers.received.isoformat() == "2026-11-16"
    assert "[withheld]" in dockers.body and "Marta" not in dockers.body
    assert dockers.private.correspondent == "heron"
    extra = dockers.private.model_extra
    assert extra["message_id"] == "<plain-1@mail.example.org>"
    assert "198.51.100.23" in str(extra["headers"]["received"])
    assert extra["authentication"]["results"] == [{"server": "mx.radio.example.org", "trusted": True,
                                                   "dkim": "pass", "spf": "pass"}]
    assert extra["signature"] == "Marta Invented\n+00 555 0142"
    quarry = reports["quarry-drivers-elect-a-strike-committee"]
    assert quarry.body.strip() == "Drivers at the North Basin quarry met on Tuesday.\n\n" \
                                  "They elected a strike committee of five."
    assert quarry.attribution is None and public(quarry, public_id="").attribution == "Our correspondent in North Basin"

    # the server: every message flagged, none deleted; a second intake takes nothing twice
    conn = dovecot.connect(ca[0])
    conn.select("INBOX")
    assert len(conn.search(None, "ALL")[1][0].split()) == 10
    assert len(conn.search(None, "FLAGGED")[1][0].split()) == 10
    assert len(conn.search(None, "SEEN")[1][0].split()) == 0, "intake peeks; it does not mark mail read"
    conn.logout()
    again = runner_for(results["imap"]["root"])("intake", IN_WEEK, "--imap", dovecot.url(),
                                                env=imap_env(ca, dovecot))
    assert again.exit_code == 0 and again.out == "0 taken in, 0 quarantined, 10 already taken in\n"


def test_quarantine_is_listed_with_one_line_reasons(tmp_path):
    root = mail_station(tmp_path / "st")
    run = runner_for(root)
    assert run("intake", IN_WEEK, "--maildir", str(write_maildir(tmp_path / "Maildir", messages()))).exit_code == 0
    r = run("report", "list", IN_WEEK, "--quarantine")
    assert r.exit_code == 0
    lines = r.out.splitlines()
    assert lines[0].split() == ["ID", "RECEIVED", "REASON"]
    body = "\n".join(lines)
    for mid, reason in EXPECTED_QUARANTINE.items():
        assert re.search(rf"(?m)^{short_id(mid)}\s+2026-11-\d\d\s+{re.escape(reason)}$", body), reason
    assert lines[-1].startswith("6 quarantined")
    assert "stranger@example.net" not in r.out
    assert run("report", "list", WEEK, "--quarantine").out == f"nothing in quarantine for {WEEK}\n"


def test_imap_credentials_never_on_the_command_line(tmp_path, ca, dovecot):
    root = mail_station(tmp_path / "st")
    run = runner_for(root)
    url = dovecot.url().replace("imaps://", f"imaps://{dovecot.user}:{dovecot.password}@")
    r = run("intake", IN_WEEK, "--imap", url, env={"SSL_CERT_FILE": str(ca[0])})
    assert r.exit_code == 1 and "the IMAP URL holds a password" in r.err
    assert dovecot.password not in r.err
    r = run("intake", IN_WEEK, "--imap", dovecot.url(), env={"SSL_CERT_FILE": str(ca[0])})
    assert r.exit_code == 1 and r.err.startswith("error: no IMAP credentials (set RADIO_IMAP_USER")
    r = run("intake", IN_WEEK, "--imap", dovecot.url(), env={**imap_env(ca, dovecot), "RADIO_IMAP_PASSWORD": "nope-x"})
    assert r.exit_code == 1 and "refused the login" in r.err and "nope-x" not in r.err
    # TLS by default: without the test CA the server's certificate is not trusted
    r = run("intake", IN_WEEK, "--imap", dovecot.url(), env={**imap_env(ca, dovecot), "SSL_CERT_FILE": "/nonexistent"})
    assert r.exit_code == 1 and "TLS with the IMAP server failed" in r.err
    # from a file in private/
    (root / "private" / "mail-credentials.toml").write_text(
        f'[imap]\nuser = "{dovecot.user}"\npassword = "{dovecot.password}"\n')
    r = run("intake", IN_WEEK, "--imap", dovecot.url(), env={"SSL_CERT_FILE": str(ca[0])})
    assert r.exit_code == 0, r.err
    assert dovecot.password not in r.out + r.err
    assert r.out.splitlines()[-1] == "3 taken in, 6 quarantined, 1 already taken in"
    # imap:// is STARTTLS, and it too must verify the server
    starttls = f"imap://127.0.0.1:{dovecot.starttls_port}/INBOX"
    r = run("intake", IN_WEEK, "--imap", starttls, env={"SSL_CERT_FILE": "/nonexistent"})
    assert r.exit_code == 1 and "TLS with the IMAP server failed" in r.err
    r = run("intake", IN_WEEK, "--imap", starttls, env={"SSL_CERT_FILE": str(ca[0])})
    assert r.exit_code == 0 and r.out == "0 taken in, 0 quarantined, 10 already taken in\n"


def test_taken_in_and_verified_reports_reach_the_bulletin_without_their_senders(tmp_path):
    root = mail_station(tmp_path / "st")
    run = runner_for(root)
    assert run("intake", IN_WEEK, "--maildir", str(write_maildir(tmp_path / "Maildir", messages()))).exit_code == 0
    station = Station.open(root)
    for rid in sorted(EXPECTED_TAKEN):
        add_check(station, rid, "maria", "phone")
        add_check(station, rid, "ivan", "visit")
    canaries = plant(root)  # every private field of every report, and private/, now holds a canary too
    r = run("bulletin", IN_WEEK)
    assert r.exit_code == 0, r.err
    assert r.out.splitlines()[-1] == "3 reports in the en bulletin"
    outputs = [root / "episodes" / IN_WEEK / "out", root / "feeds"]
    assert_clean(outputs, canaries, min_files=5)
    assert not leaks(outputs, SENDER_VALUES)
    text = (root / "episodes" / IN_WEEK / "out" / "bulletin.txt").read_text()
    assert "Our correspondent on the Eastern Coast" in text and "[withheld]" in text


def test_dkim_is_recorded_privately_and_is_not_a_check(tmp_path):
    import dkim
    private_key, record = dkim_key_pair(tmp_path)
    raw = dict(messages())["plain"]
    signed = dkim.sign(raw, b"mail", b"example.org", private_key, include_headers=[b"from", b"subject", b"date"]) + raw
    register = {"marta.invented@example.org": ("heron", {})}
    dns = lambda name, timeout=5: record if name == b"mail._domainkey.example.org." else None  # noqa: E731
    taken = read_message(signed, register, max_bytes=10**6, dnsfunc=dns)
    assert taken.private["authentication"]["dkim_verify"] == "pass"
    forged = signed.replace(b"Subject: Dockers", b"Subject: Sailors")
    taken = read_message(forged, register, max_bytes=10**6, dnsfunc=dns)
    assert taken.private["authentication"]["dkim_verify"] == "fail"
    assert "checks" not in taken.private


def test_readme_intake_walkthrough(tmp_path, monkeypatch):
    """The README's intake transcript, command by command, with exactly its output."""
    from tests.conftest import REPO
    from tests.mail_util import walkthrough
    root = copy_station(tmp_path / "st")
    write_maildir(root / "mail" / "reports", [m for m in messages() if m[0] != "huge attachment"])
    monkeypatch.chdir(root)
    run = runner_for(root)
    steps = walkthrough(REPO / "README.md", "intake")
    assert len(steps) == 4
    for argv, expected in steps:
        r = run(*argv)
        assert (r.exit_code, r.err) == (0, ""), argv
        assert r.out == expected, f"radio {' '.join(argv)}"


_headers = st.lists(st.sampled_from([
    b"Subject: =?utf-8?b?0J/QuNGC?= strike", b"Subject: \xff\xfe broken", b"Content-Type: text/html",
    b"Content-Type: text/plain; charset=koi8-r", b"Content-Type: text/plain; charset=\"no-such\"",
    b"Content-Type: multipart/mixed; boundary=b", b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: quoted-printable", b"Date: not a date", b"Date: Mon, 16 Nov 2026 09:00:00 +0100",
    b"Message-ID: <x@y>", b"Message-ID: broken", b"MIME-Version: 1.0", b" continued", b"Reply-To: a@b.example",
]), max_size=6)


@settings(deadline=None, max_examples=150)
@given(headers=_headers, body=st.binary(max_size=400))
def test_any_message_from_a_correspondent_is_taken_in_or_quarantined(headers, body):
    """Whatever a sender's software produces: a report with no trace of the sender in it, or a one-line reason."""
    raw = b"From: Marta Invented <marta.invented@example.org>\r\n" + b"\r\n".join(headers) + b"\r\n\r\n" + body
    register = {"marta.invented@example.org": ("heron", {})}
    try:
        taken = read_message(raw, register, max_bytes=10_000)
    except Quarantined as q:
        assert q.reason and "\n" not in q.reason
        return
    assert taken.body.strip() and taken.title.strip()
    for text in (taken.title, taken.body):
        assert "marta.invented@example.org" not in text.lower()
        assert "marta invented" not in text.lower()


@settings(deadline=None, max_examples=150)
@given(rows=st.lists(st.lists(st.sampled_from(["a@b.example.org", "x@y.example", "not-an-address", "", "Org, Ltd",
                                                 "Org", "en", "de", "pt-BR", "EN", "html", "text", "pdf", "fax",
                                                 '"quoted', "é"]), min_size=0, max_size=5), max_size=6))
def test_a_subscriber_list_is_taken_whole_or_refused_at_a_line(tmp_path_factory, rows):
    import csv
    import io
    from radio.errors import RadioError
    from radio.mail import subscribers
    root = tmp_path_factory.mktemp("subs")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(subscribers.COLUMNS)
    w.writerows(rows)
    (root / "private").mkdir()
    (root / "private" / "subscribers.csv").write_text(buf.getvalue(), encoding="utf-8")
    station = type("S", (), {"private_dir": root / "private"})()
    try:
        got = subscribers.load(station)
    except RadioError as e:
        assert re.search(r"subscribers\.csv(:\d+)?: ", e.format_message()), e.format_message()
        return
    assert len({s.address.lower() for s in got}) == len(got)
    assert all(s.format in subscribers.FORMATS for s in got)


def test_the_desk_sees_the_sender_only_in_the_private_view(tmp_path):
    root = mail_station(tmp_path / "st")
    run = runner_for(root)
    assert run("intake", IN_WEEK, "--maildir", str(write_maildir(tmp_path / "Maildir", messages()))).exit_code == 0
    rid = "dockers-at-port-alder-stop-work-over-unpaid-nigh"
    shown = run("report", "show", rid).out
    assert "attribution: Our correspondent on the Eastern Coast" in shown
    for value in SENDER_VALUES:
        assert value not in shown
    private = run("report", "show", rid, "--private").out.split("-------- PRIVATE")[1]
    for line in ("contact:     marta.invented@example.org", "  received: from laptop.home.example.net (198.51.100.23)",
                 "      dkim: pass", "  note: recorded for the desk; never counts as a verification check",
                 "signature:   Marta Invented / +00 555 0142"):
        assert line in private, line
    assert "status:      unverified (0/2 checks)" in shown


def test_attachments_of_a_same_named_report_in_another_week_keep_their_own_folder(tmp_path):
    root = mail_station(tmp_path / "st")
    run = runner_for(root)
    items = messages()
    first = dict(items)["attachment"]
    again = first.replace(b"<attach-1@mail.example.org>", b"<attach-2@mail.example.org>")
    assert run("intake", IN_WEEK, "--maildir", str(write_maildir(tmp_path / "A", [("a", first)]))).exit_code == 0
    r = run("intake", "2026-W50", "--maildir", str(write_maildir(tmp_path / "B", [("b", again)])))
    assert r.exit_code == 0 and r.out.startswith("took in smelter-canteen-workers-win-a-raise (from lantern")
    intake = root / "private" / "intake"
    folders = sorted(p.name for p in intake.iterdir() if p.is_dir())
    assert folders == ["smelter-canteen-workers-win-a-raise", f"smelter-canteen-workers-win-a-raise-2026-W50-"
                                                              f"{short_id('<attach-2@mail.example.org>')}"]
    for folder in folders:
        assert sorted(p.name for p in (intake / folder).iterdir()) == ["canteen.jpg", "letter_from_management.pdf"]
    later = (root / "episodes" / "2026-W50" / "reports" / "smelter-canteen-workers-win-a-raise.md").read_text()
    assert f"folder: private/intake/{folders[1]}" in later


def test_imap_reads_a_message_a_piece_at_a_time_and_takes_it_in_as_a_maildir_would(tmp_path, ca, dovecot):
    """A message larger than the limit, on the IMAP server: read in pieces of IMAP_PIECE bytes by partial fetches
    (imaplib would hold a whole fetched message in memory), and quarantined as the same message in a Maildir is."""
    import email.message
    import os
    from radio.mail.mailbox import IMAP_PIECE, ImapBody
    m = email.message.EmailMessage()
    m["From"], m["To"], m["Subject"] = "Someone <someone@example.net>", "desk@radio.example.org", "Filmed (fictional)"
    m["Date"], m["Message-ID"] = "Tue, 17 Nov 2026 09:00:00 +0000", "<big-imap@example.net>"
    m.set_content("The whole meeting, filmed.")
    m.add_attachment(os.urandom(int(2.5 * IMAP_PIECE)), maintype="video", subtype="mp4", filename="meeting.mp4")
    raw = m.as_bytes(policy=m.policy.clone(linesep="\r\n"))
    _made_folder(dovecot, ca, "Big")
    dovecot.fill(ca[0], [("big", raw)], folder="Big")
    conn = dovecot.connect(ca[0])
    try:
        conn.select("Big")
        uid = conn.uid("SEARCH", None, "ALL")[1][0].split()[-1]
        body = ImapBody(conn, uid, len(raw), "test")
        piece = bytearray(4 * IMAP_PIECE)
        got = [body.readinto(piece)]
        assert got == [IMAP_PIECE], "a read asks for at most one piece, however much the reader wants"
        rest = bytearray(piece[:got[0]])
        while n := body.readinto(piece):
            got.append(n)
            rest += piece[:n]
        assert bytes(rest) == raw and max(got) == IMAP_PIECE and len(got) == -(-len(raw) // IMAP_PIECE)
    finally:
        conn.logout()
    results = {}
    for kind in ("maildir", "imap"):
        root = copy_station(tmp_path / kind)
        toml = root / "radio.toml"
        toml.write_text(re.sub(r"max_attachment_mb = \S+", "max_attachment_mb = 1", toml.read_text()))
        run = runner_for(root)
        if kind == "maildir":
            r = run("intake", IN_WEEK, "--maildir", str(write_maildir(tmp_path / "Maildir", [("big", raw)])))
        else:
            r = run("intake", IN_WEEK, "--imap", dovecot.url("Big"), env=imap_env(ca, dovecot))
        assert r.exit_code == 0, r.err
        results[kind] = (r.out, desk(root))
    qid = short_id("<big-imap@example.net>")
    assert results["imap"][0] == (f"quarantined {qid}: attachment of 2.62 MB is over the 1 MB limit\n"
                                  "0 taken in, 1 quarantined, 0 already taken in\n")
    assert results["imap"] == results["maildir"]


def _made_folder(dovecot, ca, folder: str) -> None:
    conn = dovecot.connect(ca[0])
    try:
        assert conn.create(folder)[0] == "OK"
    finally:
        conn.logout()
