"""The bulletin and its sending, on a real SMTP server (aiosmtpd, STARTTLS, AUTH) on 127.0.0.1.

The delivered messages are parsed back with `email`; `radio send` is killed (SIGKILL, a real subprocess) at
several points and rerun: every subscriber ends with exactly one copy.
"""

from __future__ import annotations

import email
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from email import policy
from pathlib import Path

import feedparser
import pytest

from tests.canary import assert_clean, leaks, plant
from tests.conftest import REPO, WEEK, copy_station, runner_for
from tests.mail_util import free_port, make_ca

SUBSCRIBERS = """\
address,organisation,language,format
office@dockers-union.example.org,Port Alder Dockers' Union (fictional),en,html
desk@miners-assembly.example.org,"North Basin Miners' Assembly, Kestrel Ridge (fictional)",en,pdf
info@teachers.example.net,Teachers' Collective (fictional),de,text
news@nurses.example.org,Lower Vale Nurses (fictional),en,html
post@rail-safety.example.org,Rail Safety Committee (fictional),en,text
mail@weavers.example.net,Weaverton Weavers (fictional),pt-BR,pdf
"""
USER, PASSWORD = "bulletin", "fictional-smtp-pw"
HELD_OR_UNVERIFIED = ["Police detain a cement worker", "Crane operators at the grain terminal",
                      "Smelter workers publish an open letter", "Reports of a strike at a textile mill"]


class Store:
    """aiosmtpd handler: every accepted message, with its envelope and the time it arrived."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[tuple[list[str], bytes, float]] = []
        self.sessions: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content,
                                  time.monotonic()))
            self.sessions.append({"tls": session.ssl is not None, "auth": session.authenticated})
        return "250 Message accepted for delivery"

    def clear(self):
        with self.lock:
            self.messages.clear()
            self.sessions.clear()

    def per_rcpt(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for rcpts, _, _ in self.messages:
            for r in rcpts:
                out[r] = out.get(r, 0) + 1
        return out


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = make_ca(tmp_path_factory.mktemp("ca"))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
            and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself

    store = Store()
    port = free_port()
    controller = Controller(store, hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                            authenticator=authenticator, auth_required=True, auth_require_tls=True)
    controller.start()
    yield {"store": store, "port": port, "cert": cert}
    controller.stop()


def mail_station(path: Path, port: int, rate: int = 6000, editions: bool = False) -> Path:
    root = copy_station(path, editions=editions)
    toml = root / "radio.toml"
    text = re.sub(r"smtp_port = \d+", f"smtp_port = {port}", toml.read_text())
    toml.write_text(re.sub(r"rate_per_minute = \d+", f"rate_per_minute = {rate}", text))
    (root / "private" / "subscribers.csv").write_text(SUBSCRIBERS)
    return root


def env_for(smtp) -> dict:
    return {"SSL_CERT_FILE": str(smtp["cert"]), "RADIO_SMTP_USER": USER, "RADIO_SMTP_PASSWORD": PASSWORD,
            "RADIO_UNSUBSCRIBE_SECRET": "fictional-secret"}


def parts(raw: bytes) -> dict[str, object]:
    msg = email.message_from_bytes(raw, policy=policy.default)
    out: dict[str, object] = {"msg": msg}
    for part in msg.walk():
        if part.is_multipart():
            continue
        out[part.get_content_type()] = part.get_content()
    return out


def test_bulletin_in_three_formats(tmp_path):
    root = copy_station(tmp_path / "st")
    canaries = plant(root)
    r = runner_for(root)("bulletin", WEEK)
    assert r.exit_code == 0, r.err
    assert r.out == (f"wrote episodes/{WEEK}/out/bulletin.html\nwrote episodes/{WEEK}/out/bulletin.txt\n"
                     f"wrote episodes/{WEEK}/out/bulletin.pdf\n8 reports in the en bulletin\n")
    out = root / "episodes" / WEEK / "out"
    html = (out / "bulletin.html").read_text()
    assert "<style" not in html and "<script" not in html.lower()
    assert re.search(r'<h1 style="[^"]*color: #8b1a1a', html), "CSS is inlined onto the elements"
    text = (out / "bulletin.txt").read_text()
    assert max(len(line) for line in text.splitlines()) <= 72
    pdf = subprocess.run(["pdftotext", "-layout", str(out / "bulletin.pdf"), "-"], capture_output=True, text=True,
                         check=True).stdout
    for body in (html, text, pdf):
        assert "Bus drivers at Port Alder refuse unpaid overtime" in body
        assert "A teacher who organised a staff meeting" in body
        for title in HELD_OR_UNVERIFIED:
            assert title not in body
    # grouped by region, appeals gathered at the end
    heads = [line for line in text.splitlines() if re.fullmatch(r"[A-Z][A-Z ]+", line)]
    assert heads == ["LABOUR WEEK BULLETIN", "EASTERN COAST", "LOWER VALE", "NORTH BASIN", "OTHER NEWS", "APPEALS"]
    # the archive page and its own feed
    archive = root / "feeds" / "labour-week" / "bulletin"
    feed = feedparser.parse((archive / "feed.xml").read_bytes())
    assert not feed.bozo and len(feed.entries) == 1
    assert feed.entries[0].link == "http://127.0.0.1:8000/labour-week/bulletin/2026-W47/"
    assert feed.entries[0].title == "Labour Week bulletin, 20 November 2026"
    assert (archive / WEEK / "index.html").read_text().count("<h3>") == 8
    assert 'href="2026-W47/"' in (archive / "index.html").read_text()
    assert_clean([out, root / "feeds"], canaries, min_files=6)
    # same reports, same bytes (text, HTML, archive feed)
    before = {p: p.read_bytes() for p in (out / "bulletin.html", out / "bulletin.txt", archive / "feed.xml")}
    assert runner_for(root)("bulletin", WEEK).exit_code == 0
    assert {p: p.read_bytes() for p in before} == before


def test_bad_subscriber_row_stops_before_anything_is_sent(tmp_path, smtp):
    root = mail_station(tmp_path / "st", smtp["port"])
    run = runner_for(root)
    assert run("bulletin", WEEK).exit_code == 0
    lines = SUBSCRIBERS.splitlines()
    lines.insert(4, "not-an-address,Somebody (fictional),en,html")
    (root / "private" / "subscribers.csv").write_text("\n".join(lines) + "\n")
    smtp["store"].clear()
    r = run("send", WEEK, env=env_for(smtp))
    assert r.exit_code == 1
    assert r.err == (f"error: {root}/private/subscribers.csv:5: 'not-an-address' is not an e-mail address "
                     "(correct the address)\n")
    lines[4] = "office@dockers-union.example.org,Twice (fictional),en,fax"
    (root / "private" / "subscribers.csv").write_text("\n".join(lines) + "\n")
    r = run("send", WEEK, env=env_for(smtp))
    assert r.exit_code == 1 and ":5: format 'fax' is unknown (use one of: html, text, pdf)" in r.err
    lines[4] = "OFFICE@dockers-union.example.org,Twice (fictional),en,html"
    (root / "private" / "subscribers.csv").write_text("\n".join(lines) + "\n")
    r = run("send", WEEK, env=env_for(smtp))
    assert r.exit_code == 1 and ":5: 'OFFICE@dockers-union.example.org' is listed twice (first on line 2)" in r.err
    assert smtp["store"].messages == []
    assert not (root / "private" / "send").exists()


def test_send_delivers_one_message_per_subscriber(tmp_path, smtp):
    root = mail_station(tmp_path / "st", smtp["port"], rate=600)
    canaries = plant(root)
    (root / "private" / "subscribers.csv").write_text(SUBSCRIBERS)
    run = runner_for(root)
    assert run("bulletin", WEEK).exit_code == 0
    store = smtp["store"]
    store.clear()
    r = run("send", WEEK, env=env_for(smtp))
    assert r.exit_code == 0, r.err
    assert r.out == "6 sent, 0 already sent, 0 uncertain, 0 failed\n"
    assert all(s == {"tls": True, "auth": True} for s in store.sessions)
    subscribers = [line.split(",")[0] for line in SUBSCRIBERS.splitlines()[1:]]
    assert [m[0] for m in store.messages] == [[a] for a in subscribers], "one message per recipient, in order"
    gaps = [b[2] - a[2] for a, b in zip(store.messages, store.messages[1:])]
    assert min(gaps) >= 0.09, f"rate limit of 600/min not kept: {gaps}"

    decoded = tmp_path / "decoded"
    decoded.mkdir()
    ids = set()
    for n, (rcpts, raw, _) in enumerate(store.messages):
        p = parts(raw)
        msg = p["msg"]
        fmt = SUBSCRIBERS.splitlines()[1 + n].rsplit(",", 1)[1]
        assert msg["To"].addresses[0].addr_spec == rcpts[0] and "Cc" not in msg and "Bcc" not in msg
        sender = msg["From"].addresses[0]
        assert (sender.display_name, sender.addr_spec) == ("Workers' Information Radio (fictional demo)",
                                                           "bulletin@radio.example.org")
        assert msg["Subject"] == "Labour Week bulletin, 20 November 2026"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsub = re.findall(r"<([^>]+)>", msg["List-Unsubscribe"])
        assert unsub[0].startswith("https://radio.example.org/unsubscribe/") and unsub[1].startswith(
            "mailto:unsubscribe@radio.example.org?subject=unsubscribe%20")
        assert msg["Content-Language"] == "en", "no German or Portuguese bulletin exists: the station's language"
        assert re.fullmatch(r"<bulletin\.2026-W47\.en\.[0-9a-f]{20}@radio\.example\.org>", msg["Message-ID"])
        ids.add(msg["Message-ID"])
        assert unsub[0] in p["text/plain"]
        if fmt == "text":
            assert msg.get_content_type() == "text/plain" and "text/html" not in p
        else:
            alt = msg if fmt == "html" else msg.get_payload()[0]
            assert alt.get_content_type() == "multipart/alternative"
            assert [x.get_content_type() for x in alt.get_payload()] == ["text/plain", "text/html"]
            assert unsub[0] in p["text/html"]
        if fmt == "pdf":
            assert msg.get_content_type() == "multipart/mixed"
            att = msg.get_payload()[1]
            assert att.get_filename() == "labour-week-bulletin-2026-W47.pdf" and p["application/pdf"][:5] == b"%PDF-"
            (decoded / f"{n}.pdf").write_bytes(p["application/pdf"])
        for ctype in ("text/plain", "text/html"):
            if ctype in p:
                (decoded / f"{n}.{ctype.split('/')[1]}").write_text(p[ctype])
                assert "Bus drivers at Port Alder refuse unpaid overtime" in p[ctype]
                for title in HELD_OR_UNVERIFIED:
                    assert title not in p[ctype]
        (decoded / f"{n}.eml").write_bytes(raw)
        others = [a for a in subscribers if a != rcpts[0]]
        assert not leaks([decoded / f"{n}.eml"], others), "no recipient sees another"
    assert len(ids) == 6
    assert_clean([decoded], canaries, min_files=16)

    again = run("send", WEEK, env=env_for(smtp))
    assert again.exit_code == 0 and again.out == "0 sent, 6 already sent, 0 uncertain, 0 failed\n"
    assert len(store.messages) == 6


def test_dry_run_writes_the_same_messages(tmp_path, smtp):
    root = mail_station(tmp_path / "st", smtp["port"])
    run = runner_for(root)
    assert run("bulletin", WEEK).exit_code == 0
    smtp["store"].clear()
    r = run("send", WEEK, "--dry-run", env=env_for(smtp))
    assert r.exit_code == 0, r.err
    assert r.out == f"dry run: wrote 6 messages into private/outbox/{WEEK}/ (nothing sent)\n"
    files = sorted((root / "private" / "outbox" / WEEK).glob("*.eml"))
    assert [f.name for f in files] == [f"line-{n:04d}.eml" for n in range(2, 8)]
    assert smtp["store"].messages == [] and not (root / "private" / "send").exists()
    first = [f.read_bytes() for f in files]
    assert run("send", WEEK, "--dry-run", env=env_for(smtp)).exit_code == 0
    assert [f.read_bytes() for f in files] == first, "deterministic: same Message-IDs, boundaries, bytes"
    assert run("send", WEEK, env=env_for(smtp)).exit_code == 0
    sent = sorted(smtp["store"].messages, key=lambda m: m[0])
    eml = {email.message_from_bytes(f.read_bytes(), policy=policy.default)["To"].addresses[0].addr_spec: f
           for f in files}
    for rcpts, raw, _ in sent:
        assert raw.replace(b"\r\n", b"\n") == eml[rcpts[0]].read_bytes().replace(b"\r\n", b"\n")


def _send_process(root: Path, smtp, fault: str, marker: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, **env_for(smtp), "RADIO_STATION": str(root), "RADIO_FAULT": fault,
           "RADIO_FAULT_FILE": str(marker), "SOURCE_DATE_EPOCH": "1763740800"}
    return subprocess.Popen([sys.executable, "-m", "radio", "send", WEEK, *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_at(proc: subprocess.Popen, marker: Path) -> None:
    for _ in range(600):
        if marker.exists():
            break
        if proc.poll() is not None:
            raise AssertionError(f"radio send ended before the fault point: {proc.communicate()}")
        time.sleep(0.05)
    else:
        proc.kill()
        raise AssertionError("radio send never reached the fault point")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("fault, then", [
    ("send-after-3", None),               # killed between two messages: the rerun sends the other three
    ("send-in-data", "resend"),           # killed before the server had it: uncertain, resent on request
    ("send-after-data", "sent"),          # killed after the server had it: uncertain, confirmed on request
])
def test_killed_send_resumes_with_exactly_one_copy_each(tmp_path, smtp, fault, then):
    root = mail_station(tmp_path / "st", smtp["port"], rate=1200)
    run = runner_for(root)
    assert run("bulletin", WEEK).exit_code == 0
    store = smtp["store"]
    store.clear()
    marker = tmp_path / "fault"
    _kill_at(_send_process(root, smtp, fault, marker), marker)
    delivered = {"send-after-3": 3, "send-in-data": 0, "send-after-data": 1}[fault]
    assert len(store.messages) == delivered
    r = run("send", WEEK, env=env_for(smtp))
    if then is None:
        assert r.exit_code == 0 and r.out == "3 sent, 3 already sent, 0 uncertain, 0 failed\n"
    else:
        assert r.exit_code == 1
        assert r.out == ("uncertain: line 2 (Port Alder Dockers' Union (fictional)): stopped before the server "
                         "answered\n5 sent, 0 already sent, 1 uncertain, 0 failed\n")
        assert r.err == (f"error: 1 message(s) may or may not have arrived (check the server's log, then `radio "
                         f"send {WEEK} --uncertain resend` (not delivered) or `--uncertain sent` (delivered))\n")
        r = run("send", WEEK, "--uncertain", then, env=env_for(smtp))
        assert r.exit_code == 0, r.err
        assert r.out == ("1 sent, 5 already sent" if then == "resend" else "0 sent, 6 already sent") + \
            ", 0 uncertain, 0 failed\n"
    subscribers = [line.split(",")[0] for line in SUBSCRIBERS.splitlines()[1:]]
    assert store.per_rcpt() == {a: 1 for a in subscribers}
    assert run("send", WEEK, env=env_for(smtp)).out == "0 sent, 6 already sent, 0 uncertain, 0 failed\n"
    assert store.per_rcpt() == {a: 1 for a in subscribers}


def test_a_changed_bulletin_is_not_mixed_with_the_one_half_sent(tmp_path, smtp):
    root = mail_station(tmp_path / "st", smtp["port"])
    run = runner_for(root)
    assert run("bulletin", WEEK).exit_code == 0
    marker = tmp_path / "fault"
    _kill_at(_send_process(root, smtp, "send-after-3", marker), marker)
    report = root / "episodes" / WEEK / "reports" / "warehouse-pickers-heat.md"
    report.write_text(report.read_text().replace("two extra ten-minute", "three extra ten-minute"))
    assert run("bulletin", WEEK).exit_code == 0
    r = run("send", WEEK, env=env_for(smtp))
    assert r.exit_code == 1 and "the bulletin changed after sending began" in r.err


def test_smtp_login_and_tls_failures_are_one_line(tmp_path, smtp):
    root = mail_station(tmp_path / "st", smtp["port"])
    run = runner_for(root)
    assert run("bulletin", WEEK).exit_code == 0
    smtp["store"].clear()
    r = run("send", WEEK, env={**env_for(smtp), "RADIO_SMTP_PASSWORD": "wrong-pw-x"})
    assert r.exit_code == 1 and r.err.startswith(f"error: smtp 127.0.0.1:{smtp['port']}: the SMTP server refused")
    assert "wrong-pw-x" not in r.err
    r = run("send", WEEK, env={**env_for(smtp), "SSL_CERT_FILE": "/nonexistent"})
    assert r.exit_code == 1 and "TLS with the SMTP server failed" in r.err
    assert smtp["store"].messages == []


def test_readme_bulletin_walkthrough(tmp_path, smtp):
    """The README's bulletin and send transcript, command by command, against the local SMTP server."""
    from tests.mail_util import walkthrough
    root = mail_station(tmp_path / "st", smtp["port"])
    from tests.conftest import demo_private
    (root / "private" / "subscribers.csv").write_bytes(demo_private("subscribers.csv"))
    run = runner_for(root)
    smtp["store"].clear()
    steps = walkthrough(REPO / "README.md", "bulletin")
    assert len(steps) == 4
    for argv, expected in steps:
        r = run(*argv, env=env_for(smtp))
        assert (r.exit_code, r.err) == (0, ""), argv
        assert r.out == expected, f"radio {' '.join(argv)}"
    assert len(smtp["store"].messages) == 4


def test_a_retracted_report_leaves_the_bulletin(tmp_path):
    from radio import history
    from radio.station import Station
    root = copy_station(tmp_path / "st")
    history.append(Station.open(root), WEEK, "warehouse-pickers-heat", "retraction", reason="Fictional: denied.")
    r = runner_for(root)("bulletin", WEEK)
    assert r.exit_code == 0 and r.out.splitlines()[-1] == "7 reports in the en bulletin"
    for name in ("bulletin.txt", "bulletin.html"):
        assert "Warehouse pickers win breaks" not in (root / "episodes" / WEEK / "out" / name).read_text()


def test_messages_are_dkim_signed_over_the_unsubscribe_headers(tmp_path, smtp):
    """RFC 8058 wants List-Unsubscribe and List-Unsubscribe-Post under a valid DKIM signature."""
    import dkim
    from tests.mail_util import dkim_key_pair
    root = mail_station(tmp_path / "st", smtp["port"])
    toml = root / "radio.toml"
    toml.write_text(toml.read_text().replace("[mail]\n", '[mail]\ndkim_selector = "bulletin"\n'))
    run = runner_for(root)
    assert run("bulletin", WEEK).exit_code == 0
    smtp["store"].clear()
    r = run("send", WEEK, env=env_for(smtp))
    assert r.exit_code == 1 and "there is no signing key" in r.err and smtp["store"].messages == []
    private_key, record = dkim_key_pair(tmp_path)
    (root / "private" / "dkim.pem").write_bytes(private_key)
    smtp["store"].clear()
    assert run("send", WEEK, env=env_for(smtp)).exit_code == 0
    dns = lambda name, timeout=5: record if name == b"bulletin._domainkey.radio.example.org." else None  # noqa: E731
    assert len(smtp["store"].messages) == 6
    for _, raw, _ in smtp["store"].messages:
        assert dkim.verify(raw, dnsfunc=dns)
        signed = email.message_from_bytes(raw, policy=policy.default)["DKIM-Signature"]
        signed_headers = re.sub(r"\s", "", signed).split("h=")[1].split(";")[0].lower().split(":")
        assert {"list-unsubscribe", "list-unsubscribe-post", "from", "to"} <= set(signed_headers)
        forged = raw.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                             b"List-Unsubscribe-Post: List-Unsubscribe=Two-Clicks")
        assert forged != raw and not dkim.verify(forged, dnsfunc=dns)


def test_each_edition_has_its_bulletin_and_each_subscriber_gets_their_language(tmp_path, smtp):
    from radio.publishable import publishable
    from radio.station import Station
    root = mail_station(tmp_path / "st", smtp["port"], editions=True)
    (root / "private" / "subscribers.csv").write_text(
        "address,organisation,language,format\n"
        "a@en.example.org,English Union (fictional),en,html\n"
        "b@fr.example.org,Syndicat (fictif),fr,html\n"
        "c@ru.example.org,Профсоюз (вымышленный),ru,text\n"
        "d@pt.example.org,Sindicato (fictício),pt-BR,pdf\n"
        "e@fr-ca.example.org,Syndicat du Québec (fictif),fr-CA,text\n")
    canaries = plant(root)
    run = runner_for(root)
    r = run("bulletin", WEEK)
    assert r.exit_code == 0, r.err
    assert [line for line in r.out.splitlines() if line.startswith("==")] == [
        "== edition en (en): Labour Week", "== edition ru (ru): Неделя труда", "== edition fr (fr): La Semaine du travail",
        "== edition es (es): La Semana del Trabajo"]
    station = Station.open(root)
    for ed in station.editions():
        text = (ed.out_dir(WEEK) / "bulletin.txt").read_text()
        ready = publishable(ed, WEEK)
        assert ready and any(line.startswith(f"{len(ready)} ") for line in text.splitlines()[2:4])  # after the header
        for report in ready:
            assert report.title in " ".join(text.split())
        assert max(len(line) for line in text.splitlines()) <= 72
        feed = feedparser.parse((root / "feeds" / ed.config.show.slug / "bulletin" / "feed.xml").read_bytes())
        assert feed.feed.language == ed.language and len(feed.entries) == 1
    fr = (root / "episodes" / WEEK / "fr" / "out" / "bulletin.txt").read_text()
    assert fr.startswith("BULLETIN DE LA SEMAINE DU TRAVAIL\n") and "20 novembre 2026" in fr
    assert "Nurses in the Lower Vale" not in fr, "no English text in the French bulletin"
    ru = (root / "episodes" / WEEK / "ru" / "out" / "bulletin.txt").read_text()
    assert "20 ноября 2026" in ru and ru.startswith("БЮЛЛЕТЕНЬ «НЕДЕЛЯ ТРУДА»\n") and "6 сообщений" in ru

    smtp["store"].clear()
    r = run("send", WEEK, env=env_for(smtp))
    assert r.exit_code == 0 and r.out == "5 sent, 0 already sent, 0 uncertain, 0 failed\n", r.err
    got = {}
    decoded = tmp_path / "decoded"
    decoded.mkdir()
    for n, (rcpts, raw, _) in enumerate(smtp["store"].messages):
        p = parts(raw)
        got[rcpts[0]] = (p["msg"]["Content-Language"], p["msg"]["Subject"])
        (decoded / f"{n}.txt").write_text(p["text/plain"])
        if "text/html" in p:
            (decoded / f"{n}.html").write_text(p["text/html"])
    assert got == {
        "a@en.example.org": ("en", "Labour Week bulletin, 20 November 2026"),
        "b@fr.example.org": ("fr", "Bulletin de La Semaine du travail, 20 novembre 2026"),
        "c@ru.example.org": ("ru", "Бюллетень «Неделя труда», 20 ноября 2026"),
        "d@pt.example.org": ("en", "Labour Week bulletin, 20 November 2026"),
        "e@fr-ca.example.org": ("fr", "Bulletin de La Semaine du travail, 20 novembre 2026"),
    }
    assert "Pour ne plus recevoir ce bulletin" in (decoded / "1.txt").read_text()
    outs = [ed.out_dir(WEEK) for ed in station.editions()]
    assert_clean([*outs, root / "feeds", decoded], canaries, min_files=15)


def test_the_bulletin_archive_is_paged_by_year_and_its_feed_stays_short(tmp_path):
    import shutil
    from html.parser import HTMLParser

    from tests.archive_util import week_after
    root = copy_station(tmp_path / "st")
    cfg = root / "radio.toml"
    cfg.write_text(re.sub(r"^\[podcast\]\n", "[podcast]\nfeed_items = 2\n", cfg.read_text(encoding="utf-8"), flags=re.M),
                   encoding="utf-8")
    later = [week_after(WEEK, k) for k in (8, 9)]  # both in 2027
    for week in later:
        shutil.copytree(root / "episodes" / WEEK / "reports", root / "episodes" / week / "reports")
    archive = root / "feeds" / "labour-week" / "bulletin"
    run = runner_for(root)
    assert run("bulletin", WEEK).exit_code == 0
    assert not (archive / "2026").exists()  # one year: the index is the archive
    assert run("bulletin", later[0]).exit_code == 0
    page_2026 = (archive / "2026" / "index.html").read_bytes()
    assert run("bulletin", later[1]).exit_code == 0
    assert (archive / "2026" / "index.html").read_bytes() == page_2026  # a year nothing was added to is left alone

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.hrefs: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag == "a":
                self.hrefs.append(dict(attrs)["href"])

    def links(rel: str) -> list[str]:
        p = Links()
        p.feed((archive / rel).read_text(encoding="utf-8"))
        base = (archive / rel).parent
        for href in p.hrefs:  # every link resolves to a page of the archive
            assert (base / href / "index.html").is_file() or (base / href).is_file(), (rel, href)
        return p.hrefs

    assert links("index.html") == ["feed.xml", "2027/", "2026/", f"{later[1]}/", f"{later[0]}/"]
    assert links("2027/index.html") == ["../feed.xml", "../2027/", "../2026/", f"../{later[1]}/", f"../{later[0]}/"]
    assert links("2026/index.html") == ["../feed.xml", "../2027/", "../2026/", f"../{WEEK}/"]
    assert 'aria-current="page">2026<' in page_2026.decode()
    feed = feedparser.parse((archive / "feed.xml").read_bytes())
    assert not feed.bozo and [e.link.rsplit("/", 2)[1] for e in feed.entries] == [later[1], later[0]]
