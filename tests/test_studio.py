"""The studio in a real browser: headless Chromium with a fake microphone playing espeak-ng speech records an
item, keeps the take, sees the show re-timed, and the build uses the take. `radio studio` is the desk opened at its
/studio page: the host and the producer log in with desk accounts. Plus uploads limited, reorder by keyboard with
comments kept, edits on disk never overwritten, concurrent takes, crashes."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.audio_util import WEEK, ff, speech, tiny_station
from tests.browser import chrome, needs_chromium
from tests.canary import assert_clean, plant
from tests.conftest import runner_for
from tests.desk_util import PASSWORD, Client, Desk, add_accounts, otp_now
from tests.test_tags import make_cover

STAFF = {"hana": "host", "pat": "producer"}


def ffprobe_ms(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return round(float(out) * 1000)


def wait_for(cond, timeout: float = 30, what: str = ""):
    """Poll `cond` until it gives something true, for at most `timeout` seconds."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # the page re-renders as it polls: an element read mid-render is simply read again
            v = cond()
        except (StaleElementReferenceException, NoSuchElementException):
            v = None
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or cond}")


def logged_in(studio: Desk, name: str) -> Client:
    c = Client(studio)
    assert c.login(name) == 303, name
    return c


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
    add_accounts(root, STAFF)
    s = Desk(root, tmp_path_factory.mktemp("responses"), "studio", WEEK)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def host(studio) -> Client:
    return logged_in(studio, "hana")


@pytest.fixture(scope="module")
def producer(studio) -> Client:
    return logged_in(studio, "pat")


def test_studio_starts_sweeping_uploads_cut_short(studio, station):
    root, _ = station
    assert studio.lines[0] == "removed 1 upload cut short when the studio last stopped"
    assert not list((root / "episodes" / WEEK / "segments").glob(".*"))
    assert studio.lines[-1] == f"studio for {WEEK}: {studio.base}/studio"


def test_the_studio_is_the_desk_behind_its_login(studio, host, producer):
    anyone = Client(studio)
    status, headers, _ = anyone.get("/studio")
    assert (status, headers["location"]) == (303, ["/login?next=%2Fstudio"])
    assert anyone.get("/api/state")[0] == 401
    assert anyone.get("/takes/welcome/1")[0] == 303  # a page: to the login form
    # a host logging in from that page lands back in the studio
    anyone.get("/login?next=/studio")
    status, headers, _ = anyone.post("/login", {"username": "hana", "password": PASSWORD, "otp": "",
                                                "next": "/studio"})
    assert (status, headers["location"]) == (303, ["/studio"])
    status, headers, body = host.get("/studio")
    assert status == 200 and '<div id="rundown"' in body and 'href="/assets/desk.css"' in body
    assert "hana (host)" in body  # the desk's own header: who is logged in, and the log-out button
    assert "script-src 'self'" in headers["content-security-policy"][0]
    # reordering is the producer's; a page on another site, or a DNS-rebound name, reaches nothing
    assert host.send("POST", "/api/rundown", b'{"op": "skip", "id": "welcome", "skip": true}',
                     "application/json")[0] == 403
    assert producer.json("POST", "/api/rundown", {"op": "skip", "id": "welcome", "skip": True},
                         )[0] == 409  # (own origin: reaches the editor, refused for its stale digest)
    assert producer.send("POST", "/api/rundown", b"{}", "application/json", origin="http://evil.example")[0] == 403
    assert producer.send("POST", "/api/rundown", b"{}", "application/json", origin="")[0] == 403
    assert producer.send("POST", "/api/rundown", b"{}", "application/json", csrf=False)[0] == 403
    status, _, _ = studio.request("GET", "/api/state", headers={"Host": f"evil.example:{studio.port}"},
                                  cookies=host.cookies)
    assert status == 421


def test_uploads_are_limited_to_rundown_items_audio_and_size(studio, host, station, upload_file):
    root, _ = station
    seg = root / "episodes" / WEEK / "segments"
    before = sorted(p.name for p in seg.iterdir())
    data = upload_file.read_bytes()
    webm = "audio/webm"
    assert host.send("POST", "/api/items/no-such-item/takes", data, webm)[0] == 404
    assert host.send("POST", "/api/items/open-theme/takes", data, webm)[0] == 404  # an element: nothing to record
    assert host.send("POST", "/api/items/..%2Fprivate%2Fx/takes", data, webm)[0] == 404
    assert host.send("POST", "/api/items/welcome/takes", data, "text/plain")[0] == 415
    status, _, body = host.send("POST", "/api/items/welcome/takes", b"not audio at all", webm)
    assert status == 422 and b"not audio ffmpeg can read" in body
    long = upload_file.with_name("long.webm")  # longer than the whole 1:00 slot
    ff("-f", "lavfi", "-i", "sine=f=300:d=61", "-c:a", "libopus", "-b:a", "16k", str(long))
    status, _, body = host.send("POST", "/api/items/welcome/takes", long.read_bytes(), webm)
    assert status == 422 and json.loads(body)["error"].startswith(
        "item welcome: the take is 1:01, longer than the 1:00 a take may be")
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", studio.port, timeout=30)
    c.putrequest("POST", "/api/items/welcome/takes")
    cookie = "; ".join(f"{k}={v}" for k, v in host.cookies.items())
    for k, v in {"Origin": studio.base, "Cookie": cookie, "X-CSRF-Token": host.cookies["radio-csrf"],
                 "Content-Type": "audio/webm", "Content-Length": str(200 * 1024 * 1024)}.items():
        c.putheader(k, v)
    c.endheaders()
    assert c.getresponse().status == 413
    c.close()
    assert sorted(p.name for p in seg.iterdir()) == before


def test_a_crash_during_upload_leaves_no_partial_take(studio, host, station, upload_file):
    root, _ = station
    seg = root / "episodes" / WEEK / "segments"
    before = sorted(p.name for p in seg.iterdir())
    cookie = "; ".join(f"{k}={v}" for k, v in host.cookies.items())
    s = socket.create_connection(("127.0.0.1", studio.port))
    s.sendall((f"POST /api/items/closing/takes HTTP/1.1\r\nHost: 127.0.0.1:{studio.port}\r\nOrigin: {studio.base}\r\n"
               f"Cookie: {cookie}\r\nX-CSRF-Token: {host.cookies['radio-csrf']}\r\nContent-Type: audio/webm\r\n"
               f"Content-Length: {upload_file.stat().st_size}\r\n\r\n").encode() + upload_file.read_bytes()[:5000])
    wait_for(lambda: [p for p in seg.glob(".closing.*")], what="the upload under way")
    s.close()  # the host's laptop dies mid-upload
    wait_for(lambda: sorted(p.name for p in seg.iterdir()) == before, what="the partial upload removed")
    assert not list(seg.glob("closing.take-*"))


def test_two_sessions_at_once_get_distinct_whole_takes(studio, host, station, upload_file):
    root, _ = station
    seg = root / "episodes" / WEEK / "segments"
    data = upload_file.read_bytes()
    results = []
    hosts = [host] + [logged_in(studio, "hana") for _ in range(3)]

    def session(c):
        results.append(c.send("POST", "/api/items/second-story/takes", data, "audio/webm"))

    threads = [threading.Thread(target=session, args=(c,)) for c in hosts]
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
    threads = [threading.Thread(target=lambda c=c, n=n: keeps.append(c.json("POST", "/api/items/second-story/keep",
                                                                             {"take": n})))
               for c, n in ((hosts[0], 2), (hosts[1], 3))]
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


def test_keeping_over_a_hand_dropped_file_keeps_it_as_a_take(host, station, upload_file):
    root, _ = station
    seg = root / "episodes" / WEEK / "segments"
    ff("-f", "lavfi", "-i", "sine=f=330:d=2", str(seg / "first-story.wav"))
    hand = (seg / "first-story.wav").read_bytes()
    status, st = host.json("GET", "/api/state")
    assert next(i for i in st["items"] if i["id"] == "first-story")["state"] == "recorded"  # dropped in by hand: live
    status, _, body = host.send("POST", "/api/items/first-story/takes", upload_file.read_bytes(), "audio/webm")
    assert status == 200 and json.loads(body)["take"] == 1
    assert host.json("POST", "/api/items/first-story/keep", {"take": 1})[0] == 200
    assert not (seg / "first-story.wav").exists()
    assert (seg / "first-story.take-2.wav").read_bytes() == hand
    assert (seg / "first-story.ogg").read_bytes() == (seg / "first-story.take-1.ogg").read_bytes()


def test_an_edit_with_a_stale_digest_is_refused_and_writes_nothing(producer, station):
    root, _ = station
    rd = root / "episodes" / WEEK / "rundown.yaml"
    _, st = producer.json("GET", "/api/state")
    rd.write_text(rd.read_text() + "# a note typed in an editor meanwhile\n")
    text = rd.read_text()
    status, body = producer.json("POST", "/api/rundown", {"op": "move", "id": "closing", "by": -1,
                                                           "digest": st["digest"]})
    assert status == 409 and body["conflict"] and "changed on disk since this page loaded" in body["error"]
    assert str(root) not in json.dumps(body)  # errors name no file-system path
    assert rd.read_text() == text
    assert body["state"]["digest"] != st["digest"]


def browser_login(driver, studio: Desk, name: str) -> None:
    """Log in through the desk's form (from the studio's address), as a person does."""
    from selenium.webdriver.common.by import By
    driver.delete_all_cookies()
    driver.get(studio.url)
    wait_for(lambda: "/login" in driver.current_url, what="the login page")
    driver.find_element(By.NAME, "username").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    code = otp_now(studio.root, name)
    if code:
        driver.find_element(By.NAME, "otp").send_keys(code)
    driver.find_element(By.CSS_SELECTOR, 'form[action="/login"] button[type=submit]').click()
    wait_for(lambda: driver.current_url == studio.url, what="the studio after logging in")


@pytest.fixture(scope="module")
def browser(voice, studio):
    driver = chrome("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-audio-capture={voice}")
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


def _seconds(clock: str) -> float:
    m = re.fullmatch(r"(\d+):(\d\d)(?:\.(\d))?", clock.strip())
    return int(m[1]) * 60 + int(m[2]) + (int(m[3]) / 10 if m[3] else 0) if m else 0


@needs_chromium
def test_record_keep_retime_and_build(browser, studio, station):
    from selenium.webdriver.common.by import By
    root, canaries = station
    seg = root / "episodes" / WEEK / "segments"
    browser_login(browser, studio, "hana")
    before = wait_for(lambda: browser.find_element(By.ID, "timing").text if "total" in
                      browser.find_element(By.ID, "timing").text else None, what="timing")
    wait_for(lambda: "missing" in browser.find_element(By.CSS_SELECTOR, 'tr[data-id="welcome"] td.state').text,
             what="welcome missing")
    browser.get(f"{studio.base}/booth/welcome")
    wait_for(lambda: browser.find_element(By.ID, "title").text, what="item")
    assert "This is" in browser.find_element(By.ID, "text").text  # the item's own words on the prompter
    _press(browser, "r")
    wait_for(lambda: browser.execute_script("return document.getElementById('booth').dataset.recording"),
             what="recording after the count-in")
    level = "return document.getElementById('level').value"
    wait_for(lambda: browser.execute_script(level) > 0.01, what="the meter showing the microphone's signal")
    # well past the welcome's estimate, so keeping the take moves the show's total whatever the rounding (the
    # host's measured reading rate then re-times her other items too)
    wait_for(lambda: _seconds(browser.find_element(By.ID, "clock").text) >= 8, what="eight seconds recorded")
    _press(browser, "r")
    verdict = wait_for(lambda: browser.find_element(By.ID, "verdict").text if "Take 1" in
                       browser.find_element(By.ID, "verdict").text else None, what="verdict")
    assert "LUFS: usable." in verdict and "If kept, the show is" in verdict, verdict
    recorded = int(browser.execute_script("return document.getElementById('booth').dataset.recordedMs"))
    take = seg / "welcome.take-1.ogg"
    assert abs(ffprobe_ms(take) - recorded) <= 700, (ffprobe_ms(take), recorded)  # the recorder starts a moment late
    assert 6500 <= recorded <= 16000
    _press(browser, "k")
    kept = wait_for(lambda: browser.find_element(By.ID, "verdict").text if "Kept take 1" in
                    browser.find_element(By.ID, "verdict").text else None, what="kept")
    assert (seg / "welcome.ogg").read_bytes() == take.read_bytes()
    # back in the rundown (the booth's own link): recorded, with its actual length, and the show re-timed
    browser.find_element(By.ID, "back").click()
    row = wait_for(lambda: [r.text for r in browser.find_elements(By.CSS_SELECTOR, 'tr[data-id="welcome"]')
                            if "recorded" in r.text], what="recorded row")[0]
    secs = round(ffprobe_ms(take) / 1000)
    assert f"0:{secs:02d}" in row
    after = browser.find_element(By.ID, "timing").text
    assert after != before and re.match(r"total \d:\d\d of 1:00: (under|over) by \d:\d\d", after), (before, after)
    total, over_under = re.match(r"total (\S+) of 1:00: (.*)", after).groups()
    assert f"The show is now {total}, {over_under}." in kept  # the booth said the same
    # the build takes the kept take (a slow reading may have put the show over: the producer knows)
    r = runner_for(root)("build", WEEK, "--draft", "--allow-over")
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
    browser_login(browser, studio, "pat")  # reordering is the producer's
    comments = [line for line in rd.read_text().splitlines() if line.lstrip().startswith("#")]
    order = _items(root)
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, 'tr[data-id="first-story"]'), what="rows")
    wait_for(lambda: browser.execute_script("return document.body.dataset.digest"), what="the first poll rendered")
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, 'tr[data-id="first-story"] td.state').click() or True,
             what="clicking the first-story row")
    _press(browser, Keys.ARROW_DOWN, Keys.SHIFT)
    want = order[:]
    i = want.index("first-story")
    want[i], want[i + 1] = want[i + 1], want[i]
    wait_for(lambda: _items(root) == want, what="the reorder in rundown.yaml")
    assert [line for line in rd.read_text().splitlines() if line.lstrip().startswith("#")] == comments
    shown = "return [...document.querySelectorAll('tr[data-id]')].map(t => t.dataset.id)"
    wait_for(lambda: browser.execute_script(shown) == want, what="the new order on the page")
    wait_for(lambda: browser.switch_to.active_element.get_attribute("data-id") == "first-story",
             what="the focus following the item")
    # set aside and restore by keyboard
    _press(browser, "s")
    wait_for(lambda: "    skip: true\n" in rd.read_text(), what="skip")
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, 'tr[data-id="first-story"] td.state').text == "set aside",
             what="set aside on the page")
    _press(browser, "s")
    wait_for(lambda: "    skip: true\n" not in rd.read_text(), what="restore")
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, 'tr[data-id="first-story"] td.state').text != "set aside",
             what="restored on the page")
    # someone edits rundown.yaml by hand while the page is open: their edit is never overwritten
    edited = rd.read_text().replace("title: Closing", "title: Closing words")
    rd.write_text(edited)
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, 'tr[data-id="closing"] td.state').click() or True,
             what="clicking the closing row")
    _press(browser, Keys.ARROW_UP, Keys.ALT)
    notice = wait_for(lambda: browser.find_element(By.ID, "notice").text, what="notice")
    assert "changed on disk" in notice
    assert "title: Closing words" in rd.read_text()
    assert [line for line in rd.read_text().splitlines() if line.lstrip().startswith("#")] == comments
    (studio.seen / "rundown-page-2.html").write_text(browser.page_source)


@needs_chromium
def test_nothing_private_in_any_page_or_response(browser, studio, host, station):
    root, canaries = station
    for path in ("/studio", "/api/state", "/static/booth.js", "/static/rundown.js", "/static/api.js",
                 "/static/studio.css"):
        assert host.get(path)[0] == 200, path
    _, st = host.json("GET", "/api/state")
    for item in [i for i in st["items"] if i["speech"]]:
        assert host.get(f"/booth/{item['id']}")[0] == 200
        assert host.get(f"/api/items/{item['id']}")[0] == 200
        for n in item["takes"]:
            assert host.get(f"/takes/{item['id']}/{n}")[0] == 200
    for path in ("/static/../private/correspondents.yaml", "/static/%2e%2e/%2e%2e/private/notes.txt",
                 "/takes/welcome/../../private/notes.txt", "/private/notes.txt"):
        status, _, body = host.get(path)
        assert status == 404, path
    assert_clean([studio.seen, root / "episodes" / WEEK / "segments"], canaries, min_files=10)


def test_off_this_machine_without_tls_is_refused(station):
    root, _ = station
    run = runner_for(root)
    r = run("studio", WEEK, "--bind", "0.0.0.0")
    assert r.exit_code == 1
    assert r.err.strip() == ("error: the desk will not listen on 0.0.0.0 without TLS (browsers keep sessions and the "
                             "microphone to https or this machine: pass --certfile and --keyfile (a certificate for "
                             "this machine's name), or use --bind 127.0.0.1)")
    r = run("studio", WEEK, "--bind", "0.0.0.0", "--certfile", str(root / "radio.toml"))
    assert r.exit_code == 1 and "pass both --certfile and --keyfile" in r.err


def test_an_edition_records_into_its_own_segments(tmp_path, upload_file):
    from tests.conftest import copy_station
    root = copy_station(tmp_path / "demo", editions=True)
    run = runner_for(root)
    assert run("plan", WEEK, "--edition", "ru").exit_code == 0
    add_accounts(root, {"hana": "host"})
    s = Desk(root, tmp_path / "responses", "studio", WEEK, "--edition", "ru")
    try:
        assert s.lines[-1] == f"studio for {WEEK}, edition ru: {s.base}/studio"
        host = logged_in(s, "hana")
        status, st = host.json("GET", "/api/state")
        item = next(i for i in st["items"] if i["speech"])
        status, _, body = host.send("POST", f"/api/items/{item['id']}/takes", upload_file.read_bytes(), "audio/webm")
        assert status == 200, body
        assert host.json("POST", f"/api/items/{item['id']}/keep", {"take": 1})[0] == 200
    finally:
        s.stop()
    seg = root / "episodes" / WEEK / "ru" / "segments"
    assert sorted(p.name for p in seg.iterdir() if not p.name.startswith(".")) == [f"{item['id']}.ogg",
                                                                                    f"{item['id']}.take-1.ogg"]
    assert (seg / ".recorded.json").is_file()  # the kept take, registered against the words it was read from
    assert not (root / "episodes" / WEEK / "segments").exists()


def test_a_silent_take_is_saved_but_said_to_be_unusable(host, station, tmp_path):
    root, _ = station
    quiet = tmp_path / "quiet.webm"
    ff("-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "4", "-c:a", "libopus", str(quiet))
    status, _, body = host.send("POST", "/api/items/closing/takes", quiet.read_bytes(), "audio/webm")
    verdict = json.loads(body)
    assert status == 200 and verdict["usable"] is False
    assert "silent" in verdict["problems"][0]
    assert (root / "episodes" / WEEK / "segments" / f"closing.take-{verdict['take']}.ogg").is_file()
