"""Readers who sign themselves up: subscribe, confirm by mail, receive, leave with one click, receive nothing.

The subscribe pages run in a real server (uvicorn, on a free port of 127.0.0.1) and are used with a real HTTP
client keeping cookies; the mail goes through the real aiosmtpd server the bulletin tests use.
"""

from __future__ import annotations

import email
import json
import re
import shutil
import urllib.parse
from email import policy
from pathlib import Path

import pytest

from tests.canary import leaks, plant
from tests.conftest import runner_for
from tests.desk_util import Client, Desk
from tests.mail_util import write_maildir
from tests.test_mail_send import env_for, mail_station, smtp  # noqa: F401  (the SMTP server fixture)

MONTH = "2026-11"


class Server:
    """`radio desk`, whose public routes the subscribe pages are; a browser's worth of cookies to use them."""

    def __init__(self, root: Path, log: Path):
        self.desk = Desk(root, log)
        self.base = self.desk.base
        self.reader = Client(self.desk)

    def get(self, path: str, client: Client | None = None) -> tuple[int, str]:
        status, _, body = (client or self.reader).get(path)
        return status, body

    def post(self, path: str, fields: dict, origin: str | None | bool = None,
             client: Client | None = None) -> tuple[int, str]:
        c = client or self.reader
        status, _, body = c.post(path, fields, csrf=False, origin=origin)
        return status, body

    def stop(self) -> None:
        self.desk.stop()


@pytest.fixture
def reader_station(tmp_path, smtp, monkeypatch):  # noqa: F811
    root = mail_station(tmp_path / "st", smtp["port"], editions=True)
    toml = root / "radio.toml"
    toml.write_text(toml.read_text().replace("[press]", f'[subscriptions]\nbase_url = "http://127.0.0.1/"\n'
                                                         f'requests_per_hour = 8\n\n[press]'))
    for k, v in env_for(smtp).items():
        monkeypatch.setenv(k, v)  # the server thread sends the confirmation with them
    smtp["store"].clear()
    server = Server(root, tmp_path / "log")
    yield root, server, smtp["store"]
    server.stop()


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def delivered(store, address: str) -> list:
    return [email.message_from_bytes(raw, policy=policy.default) for rcpts, raw, _ in store.messages if address in rcpts]


def test_subscribe_confirm_receive_leave_receive_nothing(reader_station, smtp):  # noqa: F811
    root, server, store = reader_station
    run = runner_for(root)
    env = env_for(smtp)
    assert run("digest", MONTH, "--edition", "en").exit_code == 0
    status, page = server.get("/subscribe")
    assert status == 200 and 'name="address"' in page
    token = csrf(page)
    # a form from elsewhere, or without the cookie's token, is refused and sends nothing
    assert server.post("/subscribe", {"address": "evil@example.org", "edition": "en", "list": "digest",
                                      "csrf": token}, origin="https://evil.example.net")[0] == 403
    stranger = Client(server.desk)  # no cookie: the page's token alone is not enough
    assert server.post("/subscribe", {"address": "evil@example.org", "edition": "en", "list": "digest",
                                      "csrf": token}, client=stranger)[0] == 403
    assert store.messages == []
    form = {"address": "Reader.One@Example.org", "edition": ["en"], "list": ["digest"], "csrf": token}
    status, page = server.post("/subscribe", form)
    assert status == 200 and "Check your mail" in page
    assert server.post("/subscribe", form)[0] == 200  # asked twice: one confirmation only
    (confirm_mail,) = delivered(store, "Reader.One@example.org")
    link = re.search(r"http://127\.0\.0\.1/subscribe/confirm/(\S+)", confirm_mail.get_body(("plain",)).get_content())
    assert link and "List-Unsubscribe" in confirm_mail
    # nothing but the confirmation before the reader confirms
    r = run("send", MONTH, "--digest", env=env)
    assert r.exit_code == 0 and r.out == "0 sent, 0 already sent, 0 uncertain, 0 failed\n"
    status, page = server.get(f"/subscribe/confirm/{link.group(1)}")  # a mail scanner's GET confirms nothing
    assert status == 200 and "<button" in page
    assert json.loads((root / "private" / "subscriptions.json").read_text())["reader.one@example.org"]["state"] == "pending"
    assert server.post(f"/subscribe/confirm/{link.group(1)}", {})[0] == 403  # not from the page: no token
    token = csrf(page)
    status, page = server.post(f"/subscribe/confirm/{link.group(1)}", {"csrf": token})
    assert status == 200 and "Subscribed" in page
    assert server.post(f"/subscribe/confirm/{link.group(1)}", {"csrf": token})[0] == 400  # a token works once
    assert server.post("/subscribe/confirm/" + "A" * 43, {"csrf": token})[0] == 400
    r = run("-v", "send", MONTH, "--digest", env=env)
    assert r.exit_code == 0 and r.out == "1 sent, 0 already sent, 0 uncertain, 0 failed\n", r.err
    digest = delivered(store, "Reader.One@example.org")[-1]
    assert digest["Subject"] == "Labour Week: monthly digest, November 2026"
    raw = next(raw for rcpts, raw, _ in store.messages if "Reader.One@example.org" in rcpts and b"digest" in raw[:2000])
    unsub = re.search(rb"List-Unsubscribe: <(https://[^>]+)>,\r\n <mailto:[^>]+>\r\n", raw)
    assert unsub, "List-Unsubscribe is two links, neither an encoded-word"
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsub.group(1).decode() in digest.get_body(("plain",)).get_content()
    assert "Bus drivers at Port Alder refuse unpaid overtime" in digest.get_body(("html",)).get_content()
    # one click (RFC 8058): the mail provider POSTs, with no cookie and no Origin
    path = urllib.parse.urlsplit(unsub.group(1).decode()).path
    assert server.post(path, {"List-Unsubscribe": "One-Click"}, origin=False, client=stranger)[0] == 200
    assert server.post(path, {"List-Unsubscribe": "One-Click"}, origin=False, client=stranger)[0] == 200  # again
    assert "reader.one@example.org  left" in run("subscribers", "list").out.lower()
    # the digest sent again from scratch: the reader who left gets nothing
    (root / "private" / "send" / f"digest-{MONTH}-en.jsonl").unlink()
    before = len(delivered(store, "Reader.One@example.org"))
    r = run("send", MONTH, "--digest", env=env)
    assert r.exit_code == 0 and r.out.startswith("0 sent")
    assert len(delivered(store, "Reader.One@example.org")) == before


def test_rate_limit_and_bad_addresses(reader_station):
    root, server, store = reader_station
    page = server.get("/subscribe")[1]
    for bad in ("not-an-address", "a@b", "x@example.org\r\nBcc: victim@example.org", "@example.org"):
        status, body = server.post("/subscribe", {"address": bad, "edition": "en", "list": "digest", "csrf": csrf(page)})
        assert status == 400 and "is not an e-mail address" in body
    statuses = [server.post("/subscribe", {"address": f"r{i}@example.org", "edition": "en", "list": "digest",
                                           "csrf": csrf(page)})[0] for i in range(6)]
    assert statuses[:4] == [200] * 4 and statuses[4:] == [429, 429]  # 8 an hour from one client
    assert len(store.messages) == 4


def test_subscribers_cli_import_expiry_and_bounces(tmp_path, monkeypatch):
    from tests.conftest import copy_station
    root = copy_station(tmp_path / "st", editions=True)
    run = runner_for(root)
    csv = tmp_path / "readers.csv"
    csv.write_text('address,editions,lists\nfirst@example.org,en fr,digest\n"second@example.org","en","digest\nbulletin"\n')
    r = run("subscribers", "import", str(csv))
    assert (r.exit_code, r.err) == (1, f"error: {csv}:3: a field holds a line break (keep each field on one line)\n")
    assert not (root / "private" / "subscriptions.json").exists()  # nothing half-imported
    csv.write_text("address,editions,lists\nfirst@example.org,en fr,digest\nbounce@example.org,en,digest press\n")
    assert run("subscribers", "import", str(csv)).out == "imported 2 addresses\n"
    r = run("subscribers", "add", "nobody", "--edition", "en", "--list", "digest")
    assert r.exit_code == 1 and r.err.startswith("error: 'nobody' is not an e-mail address")
    # a request never confirmed expires
    from radio.station import Station
    from radio.subscriptions import store
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1763740800")
    store.request(Station.open(root), "late@example.org", ["en"], ["digest"])
    r = run("subscribers", "list", env={"SOURCE_DATE_EPOCH": str(1763740800 + 49 * 3600)})
    assert r.out.splitlines()[0] == "expired: late@example.org (never confirmed)"
    # three DSNs (each counted once, however often the folder is read) suspend the address
    dsns = [(f"dsn{i}", dsn("bounce@example.org", f"<dsn-{i}@mx.example.org>")) for i in range(3)]
    folder = write_maildir(tmp_path / "bounces", dsns[:2] + [("dup", dsns[0][1])])
    assert run("subscribers", "bounces", "--maildir", str(folder)).out == \
        "bounce@example.org: 2 bounce(s), active\n1 address(es) bounced\n"
    folder = write_maildir(tmp_path / "bounces2", dsns)
    assert run("subscribers", "bounces", "--maildir", str(folder)).out == \
        "bounce@example.org: 3 bounce(s), suspended\n1 address(es) bounced\n"
    out = run("subscribers", "list").out
    assert re.search(r"bounce@example.org\s+suspended\s+en\s+digest,press\s+3", out)
    assert store.recipients(Station.open(root), "digest", "en")[0].address == "first@example.org"


def test_intake_counts_the_bounces_that_arrive_with_the_reports(tmp_path):
    """A DSN for a list's message lands in the desk's intake mailbox: `radio intake` counts it against the list
    (once, however often the mailbox is read) and takes nothing of it in as a report or quarantine."""
    from tests.conftest import WEEK, copy_station
    root = copy_station(tmp_path / "st", editions=True)
    run = runner_for(root)
    assert run("subscribers", "add", "bounce@example.org", "--edition", "en", "--list", "digest").exit_code == 0
    dsns = [(f"dsn{i}", dsn("bounce@example.org", f"<dsn-{i}@mx.example.org>")) for i in range(3)]
    before = sorted((root / "episodes" / WEEK / "reports").iterdir())
    r = run("intake", WEEK, "--maildir", str(write_maildir(tmp_path / "inbox", dsns[:1] + [("again", dsns[0][1])])))
    assert r.out.splitlines() == ["bounced bounce@example.org: 1 bounce, active",
                                  "0 taken in, 0 quarantined, 1 already taken in, 1 bounced"], r.out + r.err
    r = run("intake", WEEK, "--maildir", str(write_maildir(tmp_path / "inbox2", dsns)))
    # the first DSN again, counted no second time (the list keeps each DSN's Message-ID), then two new ones
    assert r.out.splitlines() == ["bounced bounce@example.org: 1 bounce, active",
                                  "bounced bounce@example.org: 2 bounces, active",
                                  "bounced bounce@example.org: 3 bounces, suspended",
                                  "0 taken in, 0 quarantined, 0 already taken in, 3 bounced"], r.out + r.err
    assert sorted((root / "episodes" / WEEK / "reports").iterdir()) == before
    assert not (root / "private" / "quarantine").exists() or not any((root / "private" / "quarantine").rglob("*.eml*"))
    assert re.search(r"bounce@example.org\s+suspended", run("subscribers", "list").out)


def dsn(rcpt: str, mid: str) -> bytes:
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nTo: bulletin@radio.example.org\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: {mid}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            "--B\r\nContent-Type: text/plain\r\n\r\nThe message could not be delivered.\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
            f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n").encode()


def test_canaries_in_no_message_or_digest_file(reader_station, smtp):  # noqa: F811
    root, server, store = reader_station
    canaries = plant(root)
    run = runner_for(root)
    assert run("digest", MONTH).exit_code == 0
    run("subscribers", "add", "desk-reader@example.org", "--edition", "en", "--edition", "fr", "--list", "digest")
    r = run("send", MONTH, "--digest", env=env_for(smtp))
    assert r.exit_code == 0 and r.out.startswith("2 sent"), r.out + r.err
    assert not leaks([root / "digests", root / "feeds"], canaries)
    raw = tmp = root.parent / "delivered"
    tmp.mkdir()
    for i, (_, data, _) in enumerate(store.messages):
        (raw / f"{i}.eml").write_bytes(data)
    assert not leaks([raw], canaries)
    shutil.rmtree(tmp)


def test_readme_subscribers_walkthrough(tmp_path):
    """The README's "Subscribers" walkthrough, run as written in a copy of the demo station."""
    from tests.conftest import REPO, copy_station
    from tests.mail_util import walkthrough
    root = copy_station(tmp_path / "demo", editions=True)
    run = runner_for(root)
    steps = walkthrough(REPO / "README.md", "subscribers")
    assert [a[0] for a, _ in steps].count("subscribers") == 4
    for argv, expected in steps:
        r = run(*argv)
        assert r.exit_code == 0, (argv, r.err)
        assert r.out == expected, argv


# --- a sealed station: the desk keeps the readers' list with no editor's key, and no address in plain text ------

READER = "Sealed.Reader.Q7Z@example.org"  # fictional; searched for in every file of the station


def test_sealed_station_keeps_no_reader_address_in_plain_text(tmp_path, smtp, monkeypatch):  # noqa: F811
    from tests.conftest import DEMO_IDENTITY, copy_station
    root = copy_station(tmp_path / "st", editions=True, sealed=True)
    toml = root / "radio.toml"
    text = re.sub(r"smtp_port = \d+", f"smtp_port = {smtp['port']}", toml.read_text())
    toml.write_text(text.replace("[press]", '[subscriptions]\nbase_url = "http://127.0.0.1/"\n\n[press]'))
    server_env = {k: v for k, v in env_for(smtp).items() if k != "RADIO_UNSUBSCRIBE_SECRET"}
    for k, v in server_env.items():
        monkeypatch.setenv(k, v)  # the server thread mails the confirmation with them
    for k in ("RADIO_UNSUBSCRIBE_SECRET", "RADIO_IDENTITY"):
        monkeypatch.delenv(k, raising=False)  # the desk holds no key of any kind
    smtp["store"].clear()
    store = smtp["store"]
    canaries = [READER, READER.lower(), "Sealed.Reader.Q7Z"]
    editor = {**server_env, "RADIO_IDENTITY": str(DEMO_IDENTITY)}
    run = runner_for(root)
    index = root / "private" / "readers.json"
    server = Server(root, tmp_path / "log")
    try:
        page = server.get("/subscribe")[1]
        form = {"address": READER, "edition": ["en"], "list": ["digest"], "csrf": csrf(page)}
        status, body = server.post("/subscribe", form)
        assert status == 200, re.sub(r"<[^>]+>", " ", body)[-600:]
        assert server.post("/subscribe", form)[0] == 200  # asked twice at once: one confirmation
        (confirm_mail,) = delivered(store, READER)
        link = re.search(r"http://127\.0\.0\.1/subscribe/confirm/(\S+)", confirm_mail.get_body(("plain",)).get_content())
        (entry,) = json.loads(index.read_text()).values()
        assert (entry["state"], entry["address"]) == ("pending", "")
        assert not leaks([root], canaries)
        # forged and replayed tokens change nothing
        page = server.get(f"/subscribe/confirm/{link.group(1)}")[1]
        before = index.read_bytes()
        for forged in ("A" * 43, link.group(1)[:-1] + ("A" if link.group(1)[-1] != "A" else "B"), "x" * 200):
            assert server.post(f"/subscribe/confirm/{forged}", {"csrf": csrf(page)})[0] == 400
        assert index.read_bytes() == before
        status, body = server.post(f"/subscribe/confirm/{link.group(1)}", {"csrf": csrf(page)})
        assert status == 200 and "Subscribed" in body and READER not in body
        after = index.read_bytes()
        assert server.post(f"/subscribe/confirm/{link.group(1)}", {"csrf": csrf(page)})[0] == 400  # works once
        assert index.read_bytes() == after
        assert json.loads(after)[entry["id"]]["state"] == "active"
        assert not leaks([root], canaries)
        # without an editor's key the list cannot be read; with one it is, and the reader gets the digest
        r = run("subscribers", "list")
        assert r.exit_code == 1 and "needs an editor's key" in r.err and len(r.err.splitlines()) == 1
        assert re.search(r"sealed.reader.q7z@example.org\s+active\s+en\s+digest", run("subscribers", "list",
                                                                                      env=editor).out.lower())
        assert run("digest", MONTH, "--edition", "en", env=editor).exit_code == 0
        r = run("send", MONTH, "--digest", env=editor)
        assert r.exit_code == 0 and r.out.startswith("1 sent"), r.out + r.err
        assert not leaks([root], canaries)
        raw = [raw for rcpts, raw, _ in store.messages if READER in rcpts][-1]
        assert b"List-Unsubscribe-Post" in raw and b"monthly digest" in raw
        leave = urllib.parse.urlsplit(re.search(rb"List-Unsubscribe: <(https://[^>]+)>", raw).group(1).decode()).path
        # a forged leave token changes nothing; the real one (a mail client's one click) leaves, once
        before = index.read_bytes()
        stranger = Client(server.desk)
        assert server.post("/unsubscribe/" + "0" * 32, {"List-Unsubscribe": "One-Click"}, origin=False,
                           client=stranger)[0] in (200, 404)
        assert index.read_bytes() == before
        assert server.post(leave, {"List-Unsubscribe": "One-Click"}, origin=False, client=stranger)[0] == 200
        assert json.loads(index.read_text())[entry["id"]]["state"] == "left"
        after = index.read_bytes()
        assert server.post(leave, {"List-Unsubscribe": "One-Click"}, origin=False, client=stranger)[0] == 200
        assert index.read_bytes() == after
        assert not leaks([root], canaries)
    finally:
        server.stop()
    for journal in (root / "private" / "send").glob(f"digest-{MONTH}-en.*"):
        journal.unlink()
    r = run("send", MONTH, "--digest", env=editor)
    assert r.exit_code == 0 and r.out.startswith("0 sent"), r.out + r.err
    assert re.search(r"sealed.reader.q7z@example.org\s+left", run("subscribers", "list", env=editor).out.lower())
    r = run("check", env=editor)
    assert "private data in plain text" not in r.out + r.err


def test_sealing_converts_a_plain_readers_list(tmp_path):
    from tests.conftest import copy_station
    root = copy_station(tmp_path / "st", editions=True)
    run = runner_for(root)
    assert run("subscribers", "add", READER, "--edition", "fr", "--list", "press").exit_code == 0
    assert (root / "private" / "subscriptions.json").is_file()
    identity = tmp_path / "editor.key"
    public = run("keys", "new", str(identity)).out.split()[-1]
    r = run("keys", "init", "elena", public)
    assert r.exit_code == 0 and "readers' list: 1 addresses sealed apart" in r.out, r.out + r.err
    assert not (root / "private" / "subscriptions.json").exists()
    assert not leaks([root], [READER, READER.lower()])
    out = run("subscribers", "list", env={"RADIO_IDENTITY": str(identity)}).out.lower()
    assert re.search(r"sealed.reader.q7z@example.org\s+active\s+fr\s+press", out)
    # the desk's route leaves by the token alone, no key at hand
    from radio.keys import keyring
    from radio.mail.send import unsubscribe_token
    from radio.station import Station
    from radio.web.public import leave
    with keyring.unlocked(keyring.from_file(identity)):
        token = unsubscribe_token(Station.open(root), READER)
    with keyring.unlocked(None):
        assert leave(Station.open(root), token) == "removed"
    assert "left" in run("subscribers", "list", env={"RADIO_IDENTITY": str(identity)}).out
