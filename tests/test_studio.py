"""The studio in a real browser: headless Chromium with a fake microphone playing espeak-ng speech records an
item, keeps the take, sees the show re-timed, and the build uses the take. Plus the guard (token, origin, host,
limits), reorder by keyboard with comments kept, edits on disk never overwritten, concurrent takes, crashes."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.audio_util import WEEK, ff, speech, tiny_station
from tests.browser import chrome, needs_chromium
from tests.canary import assert_clean, plant
from tests.conftest import runner_for
from tests.test_tags import make_cover

RADIO = [sys.executable, "-m", "radio"]


def ffprobe_ms(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return round(float(out) * 1000)


class Studio:
    """`radio studio` running as a user runs it, on a free port; every response body is kept for the canary scan."""

    def __init__(self, root: Path, log: Path, *args: str):
        self.root, self.seen = root, log
        self.seen.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([*RADIO, "--station", str(root), "studio", WEEK, "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        while True:
            line = self.proc.stdout.readline()
            assert line, f"the studio did not start: {self.lines}"
            self.lines.append(line.rstrip("\n"))
            m = re.search(r"(http://127\.0\.0\.1:(\d+))/\?token=(\S+)$", line)
            if m:
                self.base, self.port, self.token = m[1], int(m[2]), m[3]
                self.url = m[0]
                break
        self.n = 0

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                *, auth: bool = True) -> tuple[int, dict, bytes]:
        h = {"Origin": self.base, **(headers or {})}
        if auth:
            h["Cookie"] = f"radio-studio={self.token}"
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        self.n += 1
        (self.seen / f"{self.n:03d}.body").write_bytes(data)
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def json(self, method: str, path: str, payload=None, **kw):
        status, _, data = self.request(method, path, json.dumps(payload).encode() if payload is not None else None,
                                       {"Content-Type": "application/json"}, **kw)
        return status, json.loads(data)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def voice(tmp_path_factory) -> Path:
    """What the fake microphone hears: fictional espeak-ng speech as 16-bit WAV, looped by Chromium."""
    d = tmp_path_factory.mktemp("voice")
    raw = speech(d / "raw.wav", "This is a fictional test read. The workers met at the gate this morning. "
                                "They counted the buses and wrote it all down.")
    out = d / "speech.wav"
    ff("-i", str(raw), "-af", "volume=-8dB", "-ar", "48000", "-ac", "1", "-c:a", "pcm_s16le", str(out))
    return out


@pytest.fixture(scope="module")
def upload_file(voice, tmp_path_factory) -> Path:
    """A browser-like upload made without a browser: Opus in WebM, 3 s of speech."""
    out = tmp_path_factory.mktemp("upload") / "take.webm"
    ff("-i", str(voice), "-t", "3", "-c:a", "libopus", "-b:a", "64k", str(out))
    return out


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    root = tiny_station(tmp_path_factory.mktemp("studio") / "st", slot="1:00")
    canaries = plant(root)
    make_cover(root / "elements" / "cover.png")
    rd = root / "episodes" / WEEK / "rundown.yaml"
    rd.write_text(rd.read_text().replace("  # news\n", "  # news: the producer's own note, kept by every edit\n"))
    seg = root / "episodes" / WEEK / "segments"
    seg.mkdir(parents=True)
    (seg / ".closing.abc123.upload-part").write_bytes(b"half an upload from a studio that was killed")
    return root, canaries


@pytest.fixture(scope="module")
def studio(station, tmp_path_factory):
    root, _ = station
    s = Studio(root, tmp_path_factory.mktemp("responses"))
    yield s
    s.stop()


def test_studio_starts_sweeping_uploads_cut_short(studio, station):
    root, _ = station
    assert studio.lines[0] == "removed 1 upload cut short when the studio last stopped"
    assert not list((root / "episodes" / WEEK / "segments").glob(".*"))
    assert studio.lines[-1].startswith(f"studio for {WEEK}: http://127.0.0.1:")


def test_every_request_needs_the_token(studio):
    assert studio.request("GET", "/", auth=False)[0] == 401
    assert studio.request("GET", "/api/state", auth=False)[0] == 401
    assert studio.request("GET", "/static/booth.js", auth=False)[0] == 401
    assert studio.request("GET", f"/takes/welcome/1", auth=False)[0] == 401
    assert studio.request("GET", "/?token=not-the-token", auth=False)[0] == 403
    assert studio.request("GET", "/", headers={"Cookie": "radio-studio=guess"}, auth=False)[0] == 403
    status, headers, _ = studio.request("GET", f"/?token={studio.token}", auth=False)
    assert status == 303 and headers["location"] == "/"
    assert headers["set-cookie"].startswith(f"radio-studio={studio.token};")
    assert "httponly" in headers["set-cookie"].lower() and "samesite=strict" in headers["set-cookie"].lower()
    status, headers, body = studio.request("GET", "/")
    assert status == 200 and b'<main id="rundown"' in body
    assert "script-src 'self'" in headers["content-security-policy"]
    # a page on another site cannot change anything, nor can a DNS-rebound name reach the studio
    assert studio.json("POST", "/api/rundown", {"op": "skip", "id": "welcome", "skip": True},
                       )[0] == 409  # (own origin: reaches the editor, refused for its stale digest)
    assert studio.request("POST", "/api/rundown", b"{}", {"Origin": "http://evil.example"})[0] == 403
    assert studio.request("POST", "/api/rundown", b"{}", {"Origin": ""})[0] == 403
    assert studio.request("GET", "/api/state", headers={"Host": f"evil.example:{studio.port}"})[0] == 403


def test_uploads_are_limited_to_rundown_items_audio_and_size(studio, station, upload_file):
    root, _ = station
    seg = root / "episodes" / WEEK / "segments"
    before = sorted(p.name for p in seg.iterdir())
    data = upload_file.read_bytes()
    webm = {"Content-Type": "audio/webm"}
    assert studio.request("POST", "/api/items/no-such-item/takes", data, webm)[0] == 404
    assert studio.request("POST", "/api/items/open-theme/takes", data, webm)[0] == 404  # an element: nothing to record
    assert studio.request("POST", "/api/items/..%2Fprivate%2Fx/takes", data, webm)[0] == 404
    assert studio.request("POST", "/api/items/welcome/takes", data, {"Content-Type": "text/plain"})[0] == 415
    status, body = studio.request("POST", "/api/items/welcome/takes", b"not audio at all", webm)[::2]
    assert status == 422 and b"not audio ffmpeg can read" in body
    long = upload_file.with_name("long.webm")  # longer than the whole 1:00 slot
    ff("-f", "lavfi", "-i", "sine=f=300:d=61", "-c:a", "libopus", "-b:a", "16k", str(long))
    status, body = studio.request("POST", "/api/items/welcome/takes", long.read_bytes(), webm)[::2]
    assert status == 422 and json.loads(body)["error"].startswith(
        "item welcome: the take is 1:01, longer than the 1:00 a take may be")
    c = http.client.HTTPConnection("127.0.0.1", studio.port, timeout=30)
    c.putrequest("POST", "/api/items/welcome/takes")
    for k, v in {"Origin": studio.base, "Cookie": f"radio-studio={studio.token}", "Content-Type": "audio/webm",
                 "Content-Length": str(200 * 1024 * 1024)}.items():
        c.putheader(k, v)
    c.endheaders()
    assert c.getresponse().status == 413
    c.close()
    assert sorted(p.name for p in seg.iterdir()) == before


def test_a_crash_during_upload_leaves_no_partial_take(studio, station, upload_file):
    root, _ = station
    seg = root / "episodes" / WEEK / "segments"
    before = sorted(p.name for p in seg.iterdir())
    s = socket.create_connection(("127.0.0.1", studio.port))
    s.sendall((f"POST /api/items/closing/takes HTTP/1.1\r\nHost: 127.0.0.1:{studio.port}\r\nOrigin: {studio.base}\r\n"
               f"Cookie: radio-studio={studio.token}\r\nContent-Type: audio/webm\r\n"
               f"Content-Length: {upload_file.stat().st_size}\r\n\r\n").encode() + upload_file.read_bytes()[:5000])
    time.sleep(0.5)
    s.close()  # the host's laptop dies mid-upload
    deadline = time.time() + 10
    while time.time() < deadline and sorted(p.name for p in seg.iterdir()) != before:
        time.sleep(0.1)
    assert sorted(p.name for p in seg.iterdir()) == before
    assert not list(seg.glob("closing.take-*"))


def test_two_sessions_at_once_get_distinct_whole_takes(studio, station, upload_file):
    root, _ = station
    seg = root / "episodes" / WEEK / "segments"
    data = upload_file.read_bytes()
    results = []

    def session():
        results.append(studio.request("POST", "/api/items/second-story/takes", data, {"Content-Type": "audio/webm"}))

    threads = [threading.Thread(target=session) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r[0] for r in results] == [200] * 4
    numbers = sorted(json.loads(r[2])["take"] for r in results)
    assert numbers == [1, 2, 3, 4]
    for n in numbers:
        take = seg / f"second-story.take-{n}.ogg"
        assert abs(ffprobe_ms(take) - 3000) <= 60
    # both sessions keep at once: the recording is whole, and is one of the takes
    keeps = []
    threads = [threading.Thread(target=lambda n=n: keeps.append(studio.json("POST", "/api/items/second-story/keep",
                                                                           {"take": n}))) for n in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(k[0] for k in keeps) == [200, 200]
    rec = (seg / "second-story.ogg").read_bytes()
    assert rec in ((seg / "second-story.take-2.ogg").read_bytes(), (seg / "second-story.take-3.ogg").read_bytes())
    assert sorted(p.name for p in seg.glob("second-story*")) == [
        "second-story.ogg", *[f"second-story.take-{n}.ogg" for n in range(1, 5)]]
    assert not [p for p in seg.glob(".*") if p.name != ".recorded.json"]  # no temp file left (the record of
    # what each recording was read against stays: radio/recorded.py)


def test_keeping_over_a_hand_dropped_file_keeps_it_as_a_take(studio, station, upload_file):
    root, _ = station
    seg = root / "episodes" / WEEK / "segments"
    ff("-f", "lavfi", "-i", "sine=f=330:d=2", str(seg / "first-story.wav"))
    hand = (seg / "first-story.wav").read_bytes()
    status, st = studio.json("GET", "/api/state")
    assert next(i for i in st["items"] if i["id"] == "first-story")["state"] == "recorded"  # dropped in by hand: live
    status, _, body = studio.request("POST", "/api/items/first-story/takes", upload_file.read_bytes(),
                                     {"Content-Type": "audio/webm"})
    assert status == 200 and json.loads(body)["take"] == 1
    assert studio.json("POST", "/api/items/first-story/keep", {"take": 1})[0] == 200
    assert not (seg / "first-story.wav").exists()
    assert (seg / "first-story.take-2.wav").read_bytes() == hand
    assert (seg / "first-story.ogg").read_bytes() == (seg / "first-story.take-1.ogg").read_bytes()


def test_an_edit_with_a_stale_digest_is_refused_and_writes_nothing(studio, station):
    root, _ = station
    rd = root / "episodes" / WEEK / "rundown.yaml"
    _, st = studio.json("GET", "/api/state")
    rd.write_text(rd.read_text() + "# a note typed in an editor meanwhile\n")
    text = rd.read_text()
    status, body = studio.json("POST", "/api/rundown", {"op": "move", "id": "closing", "by": -1,
                                                         "digest": st["digest"]})
    assert status == 409 and body["conflict"] and "changed on disk since this page loaded" in body["error"]
    assert rd.read_text() == text
    assert body["state"]["digest"] != st["digest"]


def _wait(cond, timeout: float = 30, what: str = ""):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:  # the page re-renders as it polls: an element read mid-render is simply read again
            v = cond()
        except (StaleElementReferenceException, NoSuchElementException):
            v = None
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or cond}")


@pytest.fixture(scope="module")
def browser(voice, studio):
    driver = chrome("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-audio-capture={voice}")
    driver.get(studio.url)
    yield driver
    driver.quit()


def _press(browser, key: str, modifier: str | None = None) -> None:
    """Type into whatever has the focus (an element reference could go stale as the page re-renders)."""
    from selenium.webdriver.common.action_chains import ActionChains
    chain = ActionChains(browser)
    if modifier:
        chain = chain.key_down(modifier)
    chain = chain.send_keys(key)
    if modifier:
        chain = chain.key_up(modifier)
    chain.perform()


def _items(root: Path) -> list[str]:
    return re.findall(r"^  - id: (\S+)$", (root / "episodes" / WEEK / "rundown.yaml").read_text(), re.M)


@needs_chromium
def test_record_keep_retime_and_build(browser, studio, station):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    root, canaries = station
    seg = root / "episodes" / WEEK / "segments"
    assert browser.current_url == f"{studio.base}/"  # the token went into a cookie, out of the address
    before = _wait(lambda: browser.find_element(By.ID, "timing").text if "total" in
                   browser.find_element(By.ID, "timing").text else None, what="timing")
    _wait(lambda: "missing" in browser.find_element(By.CSS_SELECTOR, 'tr[data-id="welcome"] td.state').text,
          what="welcome missing")
    browser.get(f"{studio.base}/booth/welcome")
    _wait(lambda: browser.find_element(By.ID, "title").text, what="item")
    assert "This is" in browser.find_element(By.ID, "text").text  # the item's own words on the prompter
    _press(browser, "r")
    _wait(lambda: browser.execute_script("return document.getElementById('booth').dataset.recording"),
          what="recording after the count-in")
    time.sleep(4)
    level = browser.execute_script("return document.getElementById('level').value")
    assert level > 0.01  # the meter shows the microphone's signal
    _press(browser, "r")
    verdict = _wait(lambda: browser.find_element(By.ID, "verdict").text if "Take 1" in
                    browser.find_element(By.ID, "verdict").text else None, what="verdict")
    assert "LUFS: usable." in verdict and "If kept, the show is" in verdict, verdict
    recorded = int(browser.execute_script("return document.getElementById('booth').dataset.recordedMs"))
    take = seg / "welcome.take-1.ogg"
    assert abs(ffprobe_ms(take) - recorded) <= 700, (ffprobe_ms(take), recorded)  # the recorder starts a moment late
    assert 3500 <= recorded <= 8000
    _press(browser, "k")
    kept = _wait(lambda: browser.find_element(By.ID, "verdict").text if "Kept take 1" in
                 browser.find_element(By.ID, "verdict").text else None, what="kept")
    assert (seg / "welcome.ogg").read_bytes() == take.read_bytes()
    # back in the rundown: recorded, with its actual length, and the show re-timed
    browser.get(f"{studio.base}/")
    row = _wait(lambda: [r.text for r in browser.find_elements(By.CSS_SELECTOR, 'tr[data-id="welcome"]')
                         if "recorded" in r.text], what="recorded row")[0]
    secs = round(ffprobe_ms(take) / 1000)
    assert f"0:{secs:02d}" in row
    after = browser.find_element(By.ID, "timing").text
    assert after != before and re.match(r"total \d:\d\d of 1:00: under by \d:\d\d", after), (before, after)
    total, over_under = re.match(r"total (\S+) of 1:00: (.*)", after).groups()
    assert f"The show is now {total}, {over_under}." in kept  # the booth said the same
    # the build takes the kept take
    r = runner_for(root)("build", WEEK, "--draft")
    assert r.exit_code == 0, r.err
    as_run = json.loads((root / "episodes" / WEEK / "out" / "as-run.json").read_text())
    src = {i["id"]: i["source"] for i in as_run["onair"]["items"]}
    assert src["welcome"] == f"episodes/{WEEK}/segments/welcome.ogg"
    (studio.seen / "rundown-page.html").write_text(browser.page_source)


@needs_chromium
def test_keyboard_reorder_keeps_comments_and_disk_edits_win(browser, studio, station):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    root, _ = station
    rd = root / "episodes" / WEEK / "rundown.yaml"
    browser.get(f"{studio.base}/")
    comments = [line for line in rd.read_text().splitlines() if line.lstrip().startswith("#")]
    order = _items(root)
    _wait(lambda: browser.find_element(By.CSS_SELECTOR, 'tr[data-id="first-story"]'), what="rows")
    time.sleep(0.5)  # the first poll has rendered
    _wait(lambda: browser.find_element(By.CSS_SELECTOR, 'tr[data-id="first-story"] td.state').click() or True,
          what="clicking the first-story row")
    _press(browser, Keys.ARROW_DOWN, Keys.SHIFT)
    want = order[:]
    i = want.index("first-story")
    want[i], want[i + 1] = want[i + 1], want[i]
    _wait(lambda: _items(root) == want, what="the reorder in rundown.yaml")
    assert [line for line in rd.read_text().splitlines() if line.lstrip().startswith("#")] == comments
    shown = "return [...document.querySelectorAll('tr[data-id]')].map(t => t.dataset.id)"
    _wait(lambda: browser.execute_script(shown) == want, what="the new order on the page")
    _wait(lambda: browser.switch_to.active_element.get_attribute("data-id") == "first-story",
          what="the focus following the item")
    # set aside and restore by keyboard
    _press(browser, "s")
    _wait(lambda: "    skip: true\n" in rd.read_text(), what="skip")
    _wait(lambda: browser.find_element(By.CSS_SELECTOR, 'tr[data-id="first-story"] td.state').text == "set aside",
          what="set aside on the page")
    _press(browser, "s")
    _wait(lambda: "    skip: true\n" not in rd.read_text(), what="restore")
    # someone edits rundown.yaml by hand while the page is open: their edit is never overwritten
    time.sleep(0.5)
    edited = rd.read_text().replace("title: Closing", "title: Closing words")
    rd.write_text(edited)
    _wait(lambda: browser.find_element(By.CSS_SELECTOR, 'tr[data-id="closing"] td.state').click() or True,
          what="clicking the closing row")
    _press(browser, Keys.ARROW_UP, Keys.ALT)
    notice = _wait(lambda: browser.find_element(By.ID, "notice").text, what="notice")
    assert "changed on disk" in notice
    assert "title: Closing words" in rd.read_text()
    assert [line for line in rd.read_text().splitlines() if line.lstrip().startswith("#")] == comments
    (studio.seen / "rundown-page-2.html").write_text(browser.page_source)


@needs_chromium
def test_nothing_private_in_any_page_or_response(browser, studio, station):
    root, canaries = station
    for path in ("/", "/api/state", "/static/booth.js", "/static/rundown.js", "/static/api.js",
                 "/static/studio.css"):
        assert studio.request("GET", path)[0] == 200
    _, st = studio.json("GET", "/api/state")
    for item in [i for i in st["items"] if i["speech"]]:
        assert studio.request("GET", f"/booth/{item['id']}")[0] == 200
        assert studio.request("GET", f"/api/items/{item['id']}")[0] == 200
        for n in item["takes"]:
            assert studio.request("GET", f"/takes/{item['id']}/{n}")[0] == 200
    for path in ("/static/../private/correspondents.yaml", "/static/%2e%2e/%2e%2e/private/notes.txt",
                 "/takes/welcome/../../private/notes.txt", "/private/notes.txt"):
        status, _, body = studio.request("GET", path)
        assert status == 404, path
    assert_clean([studio.seen, root / "episodes" / WEEK / "segments"], canaries, min_files=10)


def test_off_this_machine_without_tls_is_refused(station):
    root, _ = station
    run = runner_for(root)
    r = run("studio", WEEK, "--bind", "0.0.0.0")
    assert r.exit_code == 1
    assert r.err.strip() == ("error: the studio will not listen on 0.0.0.0 without TLS (browsers allow the microphone "
                             "only over https or on this machine: pass --certfile and --keyfile (a certificate for "
                             "this machine's name), or use --bind 127.0.0.1)")
    r = run("studio", WEEK, "--bind", "0.0.0.0", "--certfile", str(root / "radio.toml"))
    assert r.exit_code == 1 and "pass both --certfile and --keyfile" in r.err


def test_an_edition_records_into_its_own_segments(tmp_path, upload_file):
    from tests.conftest import copy_station
    root = copy_station(tmp_path / "demo", editions=True)
    run = runner_for(root)
    assert run("plan", WEEK, "--edition", "ru").exit_code == 0
    s = Studio(root, tmp_path / "responses", "--edition", "ru")
    try:
        assert ", edition ru: http://127.0.0.1:" in s.lines[-1]
        status, st = s.json("GET", "/api/state")
        item = next(i for i in st["items"] if i["speech"])
        status, _, body = s.request("POST", f"/api/items/{item['id']}/takes", upload_file.read_bytes(),
                                    {"Content-Type": "audio/webm"})
        assert status == 200, body
        assert s.json("POST", f"/api/items/{item['id']}/keep", {"take": 1})[0] == 200
    finally:
        s.stop()
    seg = root / "episodes" / WEEK / "ru" / "segments"
    assert sorted(p.name for p in seg.iterdir() if not p.name.startswith(".")) == [f"{item['id']}.ogg",
                                                                                    f"{item['id']}.take-1.ogg"]
    assert (seg / ".recorded.json").is_file()  # the kept take, registered against the words it was read from
    assert not (root / "episodes" / WEEK / "segments").exists()


def test_a_silent_take_is_saved_but_said_to_be_unusable(studio, station, tmp_path):
    root, _ = station
    quiet = tmp_path / "quiet.webm"
    ff("-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "4", "-c:a", "libopus", str(quiet))
    status, _, body = studio.request("POST", "/api/items/closing/takes", quiet.read_bytes(),
                                     {"Content-Type": "audio/webm"})
    verdict = json.loads(body)
    assert status == 200 and verdict["usable"] is False
    assert "silent" in verdict["problems"][0]
    assert (root / "episodes" / WEEK / "segments" / f"closing.take-{verdict['take']}.ogg").is_file()
