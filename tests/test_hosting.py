"""Publishing to the internet: real S3 (SeaweedFS) and SFTP (OpenSSH) on the loopback, real clients reading
what they serve, kills in the middle of an upload, retention, mirrors, one-line errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from lxml import etree

from tests.audio_util import WEEK, tiny_station
from tests.canary import assert_clean, plant
from tests.conftest import runner_for
from tests.hosting_util import ACCESS_KEY, SECRET_KEY, free_ports, seaweed, sshd, wait_for
from tests.test_tags import publish_tones

PODCAST = "{https://podcastindex.org/namespace/1.0}"


def hosted_station(root: Path, base_url: str, extra: str = "", canaries: bool = False) -> tuple[Path, list]:
    tiny_station(root)
    cfg = root / "radio.toml"
    cfg.write_text(cfg.read_text().replace('base_url = "https://example.org/podcast/"', f'base_url = "{base_url}"')
                   + extra)
    found = plant(root) if canaries else []
    publish_tones(root)
    return root, found


def feed_urls(xml: bytes) -> list[str]:
    doc = etree.fromstring(xml)
    out = [e.get("url") for e in doc.iter("enclosure")]
    out += [e.get("url") for e in doc.iter(f"{PODCAST}transcript", f"{PODCAST}chapters")]
    return out


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    with seaweed(tmp_path_factory.mktemp("weed")) as store:
        yield store


@pytest.fixture(scope="module")
def s3_site(s3, tmp_path_factory):
    """The tiny station published to s3://radio/pod, served by the store at its public address."""
    root, canaries = hosted_station(tmp_path_factory.mktemp("s3") / "st", f"{s3.endpoint}/radio/pod/",
                                    canaries=True)
    r = runner_for(root)("publish", WEEK, "--to", "s3://radio/pod", env=s3.env())
    assert r.exit_code == 0, r.err
    return root, r, canaries


def test_s3_publish_is_live_and_clients_read_it(s3, s3_site, tmp_path):
    import feedparser
    import podcastparser
    root, first, canaries = s3_site
    assert re.search(r"s3://radio/pod: sent \d+ files", first.out), first.out
    for secret in (SECRET_KEY, ACCESS_KEY):
        assert secret not in first.out + first.err
    feed = s3.get("pod/st/feed.xml")
    assert feed.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert feed.headers["Cache-Control"] == "public, max-age=60"
    xml = feed.read()
    assert xml == (root / "feeds" / "st" / "feed.xml").read_bytes()
    parsed = feedparser.parse(xml)
    assert not parsed.bozo and len(parsed.entries) == 1
    (enc,) = parsed.entries[0].enclosures
    media = s3.get(enc.href.removeprefix(f"{s3.endpoint}/radio/"))
    assert media.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert media.headers["Content-Type"] == "audio/mpeg"
    (local,) = (root / "feeds" / "st" / "media").glob("*.mp3")
    assert media.read() == local.read_bytes() and int(enc.length) == local.stat().st_size
    podcastparser.Namespace.NAMESPACES["https://podcastindex.org/namespace/1.0"] = "podcast"
    pp = podcastparser.parse(f"{s3.endpoint}/radio/pod/st/feed.xml", urllib.request.urlopen(
        f"{s3.endpoint}/radio/pod/st/feed.xml"))
    assert pp["episodes"][0]["enclosures"][0]["file_size"] == local.stat().st_size
    for url in feed_urls(xml):  # every file the feed names is there, with its type
        assert urllib.request.urlopen(url).status == 200
    vtt = s3.get(f"pod/st/media/{WEEK}.vtt")
    assert vtt.headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert vtt.headers["Cache-Control"] == "public, max-age=300"
    # nothing private went up
    store_copy = tmp_path / "copy"
    for key in [k for k in _keys(s3) if k.startswith("pod/")]:
        p = store_copy / key
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(s3.get(key).read())
    assert_clean([store_copy], canaries)


def _keys(s3) -> list[str]:
    import boto3
    c = boto3.client("s3", endpoint_url=s3.endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                     region_name="us-east-1")
    return [o["Key"] for page in c.get_paginator("list_objects_v2").paginate(Bucket="radio")
            for o in page.get("Contents", [])]


def test_s3_rerun_sends_nothing_and_says_so(s3, s3_site):
    root, _, _ = s3_site
    r = runner_for(root)("publish", WEEK, "--to", "s3://radio/pod", env=s3.env())
    assert r.exit_code == 0, r.err
    assert re.search(r"s3://radio/pod: nothing changed, sent nothing \(\d+ files already there\)", r.out), r.out


@pytest.mark.skipif(not Path("/usr/bin/gpo").exists() and not os.environ.get("CI"),
                    reason="gPodder is installed by scripts/test (in CI a missing one fails)")
def test_gpodder_downloads_from_the_store(s3, s3_site, tmp_path):
    root, _, _ = s3_site
    env = {**os.environ, "GPODDER_HOME": str(tmp_path / "home"), "GPODDER_DOWNLOAD_DIR": str(tmp_path / "dl")}
    env.pop("PYTHONPATH", None)
    for cmd in (["subscribe", f"{s3.endpoint}/radio/pod/st/feed.xml"], ["update"], ["download"]):
        subprocess.run(["/usr/bin/gpo", *cmd], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    (media,) = (root / "feeds" / "st" / "media").glob("*.mp3")
    got = tmp_path / "dl" / "st" / media.name
    assert got.is_file(), list((tmp_path / "dl").rglob("*"))
    assert got.read_bytes() == media.read_bytes()
    db = sqlite3.connect(tmp_path / "home" / "Database")
    assert db.execute("select state, file_size from episode").fetchall() == [(1, got.stat().st_size)]


def test_bad_credentials_and_unknown_bucket_are_one_line(s3, s3_site):
    root, _, _ = s3_site
    before = s3.get("pod/st/feed.xml").read()
    run = runner_for(root)
    r = run("publish", WEEK, "--to", "s3://radio/pod", env=s3.env(secret="wrong-secret"))
    assert r.exit_code == 1
    assert r.err.strip().count("\n") == 0 and "Traceback" not in r.err
    assert r.err.startswith("error: s3://radio/pod: the store refused the credentials"), r.err
    assert "AWS_SECRET_ACCESS_KEY" in r.err and "wrong-secret" not in r.err
    r = run("publish", WEEK, "--to", "s3://no-such-bucket/pod", env=s3.env())
    assert r.exit_code == 1 and r.err.strip().count("\n") == 0
    assert "s3://no-such-bucket/pod: there is no bucket 'no-such-bucket'" in r.err, r.err
    assert s3.get("pod/st/feed.xml").read() == before


def test_check_remote_fetches_the_live_feed_and_first_bytes(s3, s3_site):
    root, _, _ = s3_site
    r = runner_for(root)("check", "--remote")
    assert r.exit_code == 0, r.out + r.err
    assert "ok   the live feed is the one in feeds/" in r.out
    assert re.search(r"ok   http://127\.0\.0\.1:\d+/radio/pod/st/media/st-2026-W47-[0-9a-f]{12}\.mp3: starts as an MP3",
                     r.out), r.out


def _consistent(feed_url: str) -> list[str]:
    """Every file the live feed names answers (what a listener's app would fetch next)."""
    xml = urllib.request.urlopen(feed_url).read()
    missing = []
    for url in feed_urls(xml):
        try:
            urllib.request.urlopen(url)
        except urllib.error.HTTPError:
            missing.append(url)
    return missing


def test_killed_uploads_never_leave_a_feed_naming_a_missing_file(s3, tmp_path):
    root, _ = hosted_station(tmp_path / "st", f"{s3.endpoint}/radio/kill/")
    run = runner_for(root)
    assert run("publish", WEEK, "--to", "s3://radio/kill", env=s3.env()).exit_code == 0
    feed_url = f"{s3.endpoint}/radio/kill/st/feed.xml"
    old = feed_urls(urllib.request.urlopen(feed_url).read())[0]
    r = run("report", "retract", "first-story", "--public-note", "Fictional: the meeting did not take place.")
    assert r.exit_code == 0, r.err
    env = {**os.environ, **s3.env(), "SOURCE_DATE_EPOCH": "1763740800"}
    for point in ("upload-tier-0", "upload-tier-1", "upload-tier-2", "upload-before-cleanup"):
        marker = tmp_path / f"{point}.mark"
        proc = subprocess.Popen([sys.executable, "-m", "radio", "--station", str(root), "publish", WEEK, "--to",
                                 "s3://radio/kill"], env={**env, "RADIO_FAULT": point, "RADIO_FAULT_FILE": str(marker)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for(lambda: marker.exists() or proc.poll() is not None, point, 120)
        proc.kill()
        _, err = proc.communicate(timeout=30)
        assert marker.exists(), (point, err)
        assert _consistent(feed_url) == [], point
    r = run("publish", WEEK, "--to", "s3://radio/kill", env=s3.env())
    assert r.exit_code == 0, r.err
    assert "finishing an upload that stopped after" in r.out, r.out
    new = feed_urls(urllib.request.urlopen(feed_url).read())[0]
    assert new != old and _consistent(feed_url) == []
    assert urllib.request.urlopen(old).status == 200  # the old master stays for the retention period
    assert re.search(r"kept st/media/st-2026-W47-[0-9a-f]{12}\.mp3 until \d{4}-\d\d-\d\d", r.out), r.out


def test_retraction_keeps_old_media_until_retention_then_removes_it(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    root, _ = hosted_station(tmp_path / "st", "https://example.org/podcast/",
                             f'\n[publish]\nretention = "2d"\n[[publish.targets]]\nname = "www"\nurl = "{www}"\n')
    run = runner_for(root)
    r = run("publish", WEEK)  # the configured target
    assert r.exit_code == 0, r.err
    (old,) = (www / "st" / "media").glob("*.mp3")
    assert sorted(p.relative_to(www / "st") for p in (www / "st").rglob("*") if p.is_file()) == \
        sorted(p.relative_to(root / "feeds" / "st") for p in (root / "feeds" / "st").rglob("*") if p.is_file())
    assert run("report", "retract", "first-story", "--public-note", "Fictional: it did not happen.").exit_code == 0
    r = run("publish", WEEK)
    assert r.exit_code == 0, r.err
    assert f"kept st/media/{old.name} until" in r.out, r.out
    assert old.is_file() and old.name not in (www / "st" / "feed.xml").read_text()
    state_path = root / "feeds" / ".hosting" / "www.json"
    state = json.loads(state_path.read_text())
    state["orphans"] = {k: v - 2 * 86400 for k, v in state["orphans"].items()}  # two days pass
    state_path.write_text(json.dumps(state))
    r = run("publish", WEEK)
    assert r.exit_code == 0, r.err
    assert f"removed st/media/{old.name} (no feed names it, retention over)" in r.out, r.out
    assert not old.exists()
    (new,) = (www / "st" / "media").glob("*.mp3")
    assert new.name in (www / "st" / "feed.xml").read_text()


class Hub:
    """A WebSub hub on the loopback that records the pings it gets."""

    def __init__(self):
        import http.server
        import threading
        self.pings: list[str] = []
        hub = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                hub.pings.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass
        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hub"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_mirrors_list_each_copy_with_integrity_and_the_hub_is_told(tmp_path):
    import base64
    import hashlib
    import urllib.parse
    hub = Hub()
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    root, _ = hosted_station(tmp_path / "st", "https://example.org/podcast/", f'''
[publish]
hub = "{hub.url}"
[[publish.targets]]
name = "main"
url = "{a}"
[[publish.targets]]
name = "abroad"
url = "file://{b}"
public_url = "https://mirror.example.net/radio/"
''')
    try:
        r = runner_for(root)("publish", WEEK)
    finally:
        hub.close()
    assert r.exit_code == 0, r.err
    assert (a / "st" / "feed.xml").read_bytes() == (b / "st" / "feed.xml").read_bytes()
    doc = etree.parse(str(b / "st" / "feed.xml"))
    (link,) = doc.findall("channel/{http://www.w3.org/2005/Atom}link[@rel='hub']")
    assert link.get("href") == hub.url
    (media,) = (b / "st" / "media").glob("*.mp3")
    (alt,) = doc.iter(f"{PODCAST}alternateEnclosure")
    assert alt.get("length") == str(media.stat().st_size) and alt.get("default") == "true"
    assert [s.get("uri") for s in alt.iter(f"{PODCAST}source")] == [
        f"https://example.org/podcast/st/media/{media.name}", f"https://mirror.example.net/radio/st/media/{media.name}"]
    (integrity,) = alt.iter(f"{PODCAST}integrity")
    assert integrity.get("type") == "sri"
    assert integrity.get("value") == "sha384-" + base64.b64encode(hashlib.sha384(media.read_bytes()).digest()).decode()
    assert [urllib.parse.parse_qs(p) for p in hub.pings] == [
        {"hub.mode": ["publish"], "hub.url": ["https://example.org/podcast/st/feed.xml"]}]
    # a hub that does not answer is a warning, never a failed publish
    text = (root / "radio.toml").read_text().replace(hub.url, f"http://127.0.0.1:{free_ports(1)[0]}/hub")
    (root / "radio.toml").write_text(text)
    r = runner_for(root)("publish", WEEK)
    assert r.exit_code == 0, r.err
    assert "warning: the hub http://127.0.0.1:" in r.err, r.err


@pytest.fixture(scope="module")
def ssh(tmp_path_factory):
    with sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def test_sftp_publish_readable_by_clients_and_host_key_checked(ssh, tmp_path):
    import feedparser
    from radio.publish.serve import server
    import threading
    www = tmp_path / "www"
    www.mkdir()
    (port,) = free_ports(1)
    root, _ = hosted_station(tmp_path / "st", f"http://127.0.0.1:{port}/")
    with open(root / "radio.toml", "a") as f:
        f.write(f'\n[publish]\n[[publish.targets]]\nname = "far"\nurl = "sftp://127.0.0.1:{ssh.port}{www}"\n'
                'key = "private/hosting_ed25519"\n')
    shutil.copy(ssh.client_key, root / "private" / "hosting_ed25519")
    (root / "private" / "known_hosts").write_text(ssh.known_hosts_line())
    run = runner_for(root)
    r = run("publish", WEEK)
    assert r.exit_code == 0, r.err
    label = f"sftp://127.0.0.1:{ssh.port}{www}"
    assert f"{label}: sent" in r.out, r.out
    local = root / "feeds" / "st"
    assert {p.relative_to(www / "st"): p.read_bytes() for p in (www / "st").rglob("*") if p.is_file()} == \
        {p.relative_to(local): p.read_bytes() for p in local.rglob("*") if p.is_file()}
    httpd = server(www, "127.0.0.1", port)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        parsed = feedparser.parse(urllib.request.urlopen(f"http://127.0.0.1:{port}/st/feed.xml").read())
        (enc,) = parsed.entries[0].enclosures
        (mp3,) = (local / "media").glob("*.mp3")
        assert urllib.request.urlopen(enc.href).read() == mp3.read_bytes()
    finally:
        httpd.shutdown()
        httpd.server_close()
    r = run("publish", WEEK)
    assert f"{label}: nothing changed, sent nothing" in r.out, r.out
    # the host's key changes (or someone else answers): refused, one line, nothing sent
    other = tmp_path / "other_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, key = Path(f"{other}.pub").read_text().split()[:2]
    (root / "private" / "known_hosts").write_text(f"[127.0.0.1]:{ssh.port} {kind} {key}\n")
    before = (www / "st" / "feed.xml").read_bytes()
    r = run("publish", WEEK)
    assert r.exit_code == 1 and r.err.strip().count("\n") == 0 and "Traceback" not in r.err
    assert r.err.startswith(f"error: {label}: the host's key does not match known_hosts"), r.err
    (root / "private" / "known_hosts").write_text("")
    r = run("publish", WEEK)
    assert r.exit_code == 1 and f"{label}: the host is not in known_hosts" in r.err, r.err
    assert (www / "st" / "feed.xml").read_bytes() == before


def _bext(path: Path) -> bytes:
    data = path.read_bytes()
    at = data.index(b"bext")
    size = int.from_bytes(data[at + 4:at + 8], "little")
    return data[at + 8:at + 8 + size]


def test_deliver_dual_mono_measured_as_delivered_verified_and_made_once(ssh, tmp_path):
    import hashlib
    from tests.audio_util import ebur128
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    root, _ = hosted_station(tmp_path / "st", "https://example.org/podcast/")
    shutil.copy(ssh.client_key, root / "private" / "playout_ed25519")
    (root / "private" / "known_hosts").write_text(ssh.known_hosts_line())
    with open(root / "radio.toml", "a") as f:
        f.write(f'\n[broadcaster]\ntarget = "sftp://127.0.0.1:{ssh.port}{inbox}"\nname = "{{SHOW}}_{{date:%Y%m%d}}.wav"\n'
                'format = "bwf"\nchannels = 2\nkey = "private/playout_ed25519"\n')
    onair = root / "episodes" / WEEK / "out" / "onair.wav"
    assert abs(ebur128(onair)["I"] - -23.0) <= 0.5  # mono, measured as one channel: 3 LU too loud on two
    run = runner_for(root)
    r = run("deliver", WEEK)
    assert r.exit_code == 0, r.err
    label = f"sftp://127.0.0.1:{ssh.port}{inbox}"
    assert r.out.startswith(f"delivered ST_20261120.wav to {label}: BWF 48 kHz 24-bit, 2 channels (dual-mono), "), r.out
    wav = inbox / "ST_20261120.wav"
    assert sorted(p.name for p in inbox.iterdir()) == ["ST_20261120.cue", "ST_20261120.wav", "ST_20261120.wav.sha256"]
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=channels,sample_rate,bits_per_sample",
                            "-of", "csv=p=0", str(wav)], capture_output=True, text=True).stdout.strip()
    assert probe == "48000,2,24"
    m = ebur128(wav)  # as the chain plays it: two channels
    assert abs(m["I"] - -23.0) <= 0.5 and m["TP"] <= -1.0, m
    bext = _bext(wav)
    assert int.from_bytes(bext[346:348], "little") == 2  # version 2: the loudness fields are meant
    loud = [int.from_bytes(bext[412 + 2 * i:414 + 2 * i], "little", signed=True) / 100 for i in range(5)]
    assert abs(loud[0] - m["I"]) <= 0.1 and abs(loud[2] - m["TP"]) <= 0.1
    assert b"M=dual-mono" in bext
    digest = hashlib.sha256(wav.read_bytes()).hexdigest()
    assert (inbox / "ST_20261120.wav.sha256").read_text() == f"{digest}  ST_20261120.wav\n"
    cue = (inbox / "ST_20261120.cue").read_text()
    items = json.loads((root / "episodes" / WEEK / "out" / "as-run.json").read_text())["onair"]["items"]
    assert cue.count("TRACK ") == len(items) and 'FILE "ST_20261120.wav" WAVE' in cue
    mtime = wav.stat().st_mtime_ns
    r = run("deliver", WEEK)
    assert r.exit_code == 0 and "ST_20261120.wav was delivered to" in r.out and "nothing sent" in r.out, r.out
    assert wav.stat().st_mtime_ns == mtime
    # MP2 to a directory, mono chain: measured as one channel
    box = tmp_path / "box"
    box.mkdir()
    text = (root / "radio.toml").read_text().replace('name = "{SHOW}_{date:%Y%m%d}.wav"\nformat = "bwf"\nchannels = 2',
                                                      'name = "{SHOW}_{date:%Y%m%d}.mp2"\nformat = "mp2"\nchannels = 1')
    (root / "radio.toml").write_text(text)
    r = run("deliver", WEEK, "--to", str(box))
    assert r.exit_code == 0, r.err
    m = ebur128(box / "ST_20261120.mp2")
    assert abs(m["I"] - -23.0) <= 0.5 and m["TP"] <= -1.0, m


def test_readme_publishing_walkthrough(s3, tmp_path):
    import shlex
    from tests.conftest import REPO
    from tests.test_readme import matches
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- walkthrough: hosting -->\n```\n", 1)[1].split("\n```", 1)[0]
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ radio "):
            steps.append((line[len("$ radio "):], []))
        else:
            steps[-1][1].append(line)
    assert [c.split()[0] for c, _ in steps] == ["publish", "publish", "check", "deliver"]
    root, _ = hosted_station(tmp_path / "st", f"{s3.endpoint}/radio/podcast/")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    run = runner_for(root)
    for cmd, expected in steps:
        argv = [str(inbox) if a == "/srv/playout/inbox" else a for a in shlex.split(cmd)]
        r = run(*argv, env=s3.env())
        assert r.exit_code == 0, (cmd, r.err)
        got = r.out.replace(str(inbox), "/srv/playout/inbox").splitlines()
        assert matches(expected, got), f"$ radio {cmd}\nexpected:\n" + "\n".join(expected) + "\ngot:\n" + "\n".join(got)
    assert (inbox / "ST_20261120.wav").is_file()


def test_the_delivery_name_rule_fills_in_only_what_it_names(tmp_path):
    from hypothesis import HealthCheck, given, settings, strategies as st
    from radio.errors import RadioError
    from radio.hosting.deliver import file_name
    from radio.hosting.settings import Broadcaster
    from radio.station import Station
    from tests.audio_util import tiny_station
    station = Station.open(tiny_station(tmp_path / "st"))
    assert file_name(station, Broadcaster(target="/x"), WEEK) == "ST_20261120.wav"
    assert file_name(station, Broadcaster(target="/x", name="{SHOW}-{week}.wav"), WEEK) == "ST-2026-W47.wav"

    parts = st.sampled_from(list("{}:%._-/aSHOWdatewk0Y") + ["{date.__class__}", "{SHOW}", "{date:%Y%m%d}", ".."])

    @settings(deadline=None, max_examples=200, suppress_health_check=list(HealthCheck))
    @given(st.lists(parts, max_size=12).map("".join))
    def check(rule: str):
        try:
            b = Broadcaster(target="/x", name=rule + ".wav")
        except ValueError:
            return
        try:
            name = file_name(station, b, WEEK)
        except RadioError:
            return
        assert "/" not in name and not name.startswith(".") and "class" not in name
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*\.wav", name)
    check()
