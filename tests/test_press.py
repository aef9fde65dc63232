"""The press service: ninjs items a newsroom's system can take, versioned, embargoed, and free of private data."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import feedparser
import pytest

from tests.audio_util import WEEK, tiny_station
from tests.canary import assert_clean, plant
from tests.conftest import copy_station, runner_for
from tests.test_tags import publish_tones

SCHEMA = Path(__file__).parent.parent / "radio" / "press" / "schema" / "ninjs-schema_2.2.json"
JS = Path(__file__).parent / "js"
PRESS = Path("feeds/st/press")
T0 = 1763740800  # 2025-11-21 16:00 UTC: the tests' SOURCE_DATE_EPOCH
TERMS = "Free to republish with credit to st (fictional)."


def add_field(report: Path, line: str) -> None:
    text = report.read_text()
    report.write_text(text.replace("\nprivate:", f"\n{line}\nprivate:", 1))


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, list[str]]:
    """A tiny station, aired and published, with canaries in every private place; its press not yet run."""
    root = tiny_station(tmp_path_factory.mktemp("press") / "st")
    cfg = root / "radio.toml"
    cfg.write_text(cfg.read_text() + f'\n[press]\nusage_terms = "{TERMS}"\ncopyright_notice = "(c) st, fictional"\n')
    add_field(root / "episodes" / WEEK / "reports" / "first-story.md", "thread: test-strike\nsector: Mining")
    canaries = plant(root)
    publish_tones(root)
    return root, canaries


@pytest.fixture
def station(published, tmp_path) -> tuple[Path, list[str]]:
    root, canaries = published
    copy = tmp_path / "st"
    shutil.copytree(root, copy)
    return copy, canaries


def press(root: Path, *args: str, at: int = T0):
    return runner_for(root)("press", WEEK, *args, env={"SOURCE_DATE_EPOCH": str(at)})


# the public ids the tiny station's reports are published under (from their titles), never their desk ids
PIDS = {"first-story": "first-fictional-story", "second-story": "second-fictional-story"}


def item(root: Path, rid: str) -> dict:
    return json.loads((root / PRESS / f"{PIDS.get(rid, rid)}.json").read_text())


def second_reader(files: list[Path]) -> dict:
    if not (JS / "node_modules" / "ajv").is_dir():
        raise AssertionError("tests/js/node_modules missing: scripts/test installs them")
    r = subprocess.run(["node", str(JS / "ninjs-read.js"), str(SCHEMA), *map(str, files)], capture_output=True,
                       text=True, check=True)
    return json.loads(r.stdout)


def test_items_are_valid_ninjs_that_a_second_reader_takes_whole(station):
    root, canaries = station
    r = press(root)
    assert r.exit_code == 0, r.err
    assert r.out.splitlines() == ["first-story: version 1 (new), usable, public",
                                  "second-story: version 1 (new), usable, public",
                                  "2 public, 0 embargoed item(s) in feeds/st/press/"]
    files = sorted(p for p in (root / PRESS).glob("*.json") if p.name != "index.json")
    assert [p.stem for p in files] == ["first-fictional-story", "second-fictional-story"]  # public ids
    import jsonschema
    schema = json.loads(SCHEMA.read_text())
    assert schema["title"] == "IPTC ninjs - News in JSON - version 2.2"
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for f in files:
        validator.validate(json.loads(f.read_text()))
    read = second_reader(files)
    for f in files:
        got = read[str(f)]
        assert got["valid"], got["errors"]
        assert got["roundtrip"] == json.loads(f.read_text())  # nothing lost or changed by another reader
    first = item(root, "first-story")
    assert first["uri"].startswith("urn:uuid:") and first["version"] == "1"
    assert first["standard"] == {"name": "ninjs", "version": "2.2",
                                 "schema": "https://www.iptc.org/std/ninjs/ninjs-schema_2.2.json"}
    assert first["pubstatus"] == "usable" and first["urgency"] == 1 and first["language"] == "en"
    assert first["firstcreated"] == first["versioncreated"] == "2025-11-21T16:00:00Z"
    assert first["headlines"] == [{"role": "main", "contenttype": "text/plain", "value": "First fictional story"}]
    assert [b["contenttype"] for b in first["bodies"]] == ["text/plain", "text/html"]
    assert first["bodies"][0]["value"] == "Workers held a meeting today."
    assert first["bodies"][1]["value"] == "<p>Workers held a meeting today.</p>"
    assert first["by"] == "Our correspondent in Test Region"
    # exposure: regional publishes the region, never a town or workplace
    assert first["located"] == "Test Region" and first["places"] == [{"name": "Test Region", "rel": "region"}]
    assert {(s["rel"], s["name"]) for s in first["subjects"]} == {("kind", "strike"), ("sector", "Mining"),
                                                                  ("thread", "test strike")}
    assert (first["usageterms"], first["copyrightholder"], first["copyrightnotice"]) == (TERMS, "st", "(c) st, fictional")
    assert item(root, "second-story")["urgency"] == 3
    # the clip: the item's stretch of the podcast master as aired, a real MP3 of the length it says
    (audio,) = first["renditions"]
    assert audio["contenttype"] == "audio/mpeg" and audio["href"].startswith("https://example.org/podcast/st/press/media/")
    clip = root / PRESS / "media" / audio["href"].rsplit("/", 1)[1]
    assert clip.stat().st_size == audio["sizeinbytes"]
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name",
                                       "-of", "json", str(clip)], capture_output=True, text=True, check=True).stdout)
    assert probe["streams"][0]["codec_name"] == "mp3"
    assert abs(float(probe["format"]["duration"]) - audio["duration"]) < 0.1 and 1.5 < audio["duration"] < 3.5
    # the index, the Atom feed (read by feedparser) and the pages
    index = json.loads((root / PRESS / "index.json").read_text())
    assert [(i["uri"], i["version"]) for i in index["items"]] == sorted(
        [(item(root, p)["uri"], "1") for p in ("first-story", "second-story")], reverse=True)
    feed = feedparser.parse((root / PRESS / "feed.atom").read_bytes())
    assert not feed.bozo and feed.version == "atom10"
    assert {e.id for e in feed.entries} == {first["uri"], item(root, "second-story")["uri"]}
    entry = next(e for e in feed.entries if e.id == first["uri"])
    assert entry.title == "First fictional story" and entry.enclosures[0].href == audio["href"]
    page = (root / PRESS / "first-fictional-story.html").read_text()
    assert "First fictional story" in page and TERMS in page and 'download' in page and "Test Region" in page
    assert '<a href="press/">' in (root / "feeds" / "st" / "index.html").read_text()  # linked from the show page
    # nothing private anywhere the press service writes
    assert_clean([root / PRESS, root / "episodes" / WEEK / "out" / "press"], canaries, min_files=8)
    # the same inputs make the same bytes, and no new version
    before = {p: p.read_bytes() for p in (root / PRESS).rglob("*") if p.is_file()}
    r = press(root, at=T0 + 3600)
    assert r.exit_code == 0 and "first-story: version 1 (unchanged), usable, public" in r.out
    assert {p: p.read_bytes() for p in (root / PRESS).rglob("*") if p.is_file()} == before


def test_correction_retraction_and_hold_are_new_versions_of_the_same_uri(station):
    root, canaries = station
    assert press(root).exit_code == 0
    uris = {p: item(root, p)["uri"] for p in ("first-story", "second-story")}
    run = runner_for(root)
    report = root / "episodes" / WEEK / "reports" / "first-story.md"
    report.write_text(report.read_text().replace("held a meeting today", "held a meeting on Monday"))
    assert run("report", "correct", "first-story", "--note", "The meeting was on Monday.").exit_code == 0
    assert run("report", "retract", "second-story", "--reason", "The second source withdrew.").exit_code == 0
    r = press(root, at=T0 + 86400)
    assert r.exit_code == 0, r.err
    assert "first-story: version 2 (new version), usable, public" in r.out
    assert "second-story: version 2 (new version), canceled, public" in r.out
    first, second = item(root, "first-story"), item(root, "second-story")
    assert (first["uri"], first["version"], first["firstcreated"], first["versioncreated"]) == (
        uris["first-story"], "2", "2025-11-21T16:00:00Z", "2025-11-22T16:00:00Z")
    assert "The meeting was on Monday." in first["ednote"]
    assert "held a meeting on Monday" in first["bodies"][0]["value"]
    assert "Correction (" in first["bodies"][0]["value"]
    assert (second["uri"], second["version"], second["pubstatus"]) == (uris["second-story"], "2", "canceled")
    assert "The second source withdrew." in second["ednote"]
    assert "Workers held" not in json.dumps(second)  # the retracted story's text is gone from the item
    assert "renditions" not in second
    index = {i["uri"]: i for i in json.loads((root / PRESS / "index.json").read_text())["items"]}
    assert index[uris["second-story"]]["pubstatus"] == "canceled" and index[uris["second-story"]]["version"] == "2"
    feed = feedparser.parse((root / PRESS / "feed.atom").read_bytes())
    assert next(e for e in feed.entries if e.id == uris["second-story"]).title.startswith("CANCELED: ")
    # held after publication: withheld, same uri, nothing of the story left, the desk's reason nowhere
    assert run("report", "hold", "first-story", "--reason", "source asked us to wait").exit_code == 0
    r = press(root, at=T0 + 2 * 86400)
    assert "first-story: version 3 (new version), withheld, public" in r.out
    held = item(root, "first-story")
    assert (held["uri"], held["pubstatus"]) == (uris["first-story"], "withheld")
    assert "meeting" not in json.dumps(held) and "source asked" not in json.dumps(held)
    read = second_reader([root / PRESS / "first-fictional-story.json", root / PRESS / "second-fictional-story.json"])
    assert all(v["valid"] for v in read.values()), read
    assert_clean([root / PRESS, root / "episodes" / WEEK / "out" / "press"], canaries)


def public_text(root: Path) -> str:
    """Everything the press service serves (the episode aired before its press items were made)."""
    return "\n".join(p.read_text(errors="replace") for p in (root / PRESS).rglob("*")
                     if p.is_file() and p.suffix in (".json", ".html", ".atom", ".xml"))


def test_an_embargoed_item_is_on_no_public_page_or_feed_before_its_time(station):
    root, _ = station
    add_field(root / "episodes" / WEEK / "reports" / "second-story.md", "embargo: 2025-11-22T18:00:00+00:00")
    r = press(root)
    assert r.exit_code == 0, r.err
    assert "second-story: version 1 (new), usable, embargoed until 2025-11-22T18:00:00Z" in r.out
    assert not (root / PRESS / "second-fictional-story.json").exists() and not (root / PRESS / "second-fictional-story.html").exists()
    assert "Second fictional story" not in public_text(root)
    uri = json.loads((root / "episodes" / WEEK / "out" / "press" / "second-fictional-story.json").read_text())
    assert uri["embargoed"] == "2025-11-22T18:00:00Z"  # the desk's copy (for the press list) carries it
    # a minute before: still nothing; a minute after: public, the same version
    assert press(root, at=T0 + 26 * 3600 - 60).exit_code == 0
    assert "Second fictional story" not in public_text(root)
    assert press(root, at=T0 + 26 * 3600 + 60).exit_code == 0
    second = item(root, "second-story")
    assert (second["version"], second["embargoed"]) == ("1", "2025-11-22T18:00:00Z")
    assert "Second fictional story" in (root / PRESS / "index.html").read_text()


def test_embargo_from_the_command_line_and_in_the_past(station):
    root, _ = station
    r = press(root, "--embargo", "2025-11-21 12:00")
    assert r.exit_code == 1 and r.out == ""
    assert r.err == ("error: --embargo 2025-11-21 12:00 is in the past (it is now 2025-11-21T16:00:00Z) (give a "
                     "time still to come, or leave --embargo out to publish now)\n")
    assert not (root / PRESS).exists()
    add_field(root / "episodes" / WEEK / "reports" / "first-story.md", "embargo: 2025-11-20 09:00")
    r = press(root)
    assert r.exit_code == 1 and r.err.startswith("error: ") and len(r.err.splitlines()) == 1
    assert "report first-story: embargo 2025-11-20T09:00:00Z is in the past" in r.err  # the show is on UTC
    assert not (root / PRESS).exists()


def test_a_missing_translation_is_left_out_with_a_line(tmp_path):
    root = copy_station(tmp_path / "demo", editions=True)
    r = runner_for(root)("press", "2026-W47", "--edition", "fr")
    assert r.exit_code == 0, r.err
    gaps = [line for line in r.out.splitlines() if line.startswith("left out of the fr press: ")]
    assert gaps and all("has no checked fr translation" in line for line in gaps)
    listed = [line.split(":")[0] for line in r.out.splitlines() if ": version 1 (new)" in line]
    assert listed and not set(listed) & {line.split()[6] for line in gaps}
    import tomllib
    pids = tomllib.loads((root / "public-ids.toml").read_text())  # the lines name the desk ids; files, public ids
    for rid in listed:
        pid = pids[f"{WEEK}/{rid}"]
        assert json.loads((root / "feeds" / "semaine-du-travail" / "press" / f"{pid}.json").read_text())["language"] == "fr"


def test_no_press_terms_is_one_line(tmp_path):
    root = tiny_station(tmp_path / "st")
    r = runner_for(root)("press", WEEK)
    assert r.exit_code == 1 and len(r.err.splitlines()) == 1
    assert "the press service has no terms" in r.err and "[press]" in r.err


def test_readme_press_walkthrough(tmp_path):
    """The README's "The press service" walkthrough, run as written in a copy of the demo station."""
    from tests.conftest import REPO
    from tests.mail_util import walkthrough
    root = copy_station(tmp_path / "demo", editions=True)
    run = runner_for(root)
    steps = walkthrough(REPO / "README.md", "press")
    assert [a[0] for a, _ in steps].count("press") == 3
    for argv, expected in steps:
        r = run(*argv)
        assert r.exit_code == 0, (argv, r.err)
        assert r.out == expected, argv


def test_the_press_page_is_paged_by_year(station):
    root, _ = station
    assert press(root).exit_code == 0
    assert not (root / PRESS / "2025").exists()  # one year: the index is the whole list
    reports = root / "episodes" / WEEK / "reports"
    (reports / "third-story.md").write_text((reports / "second-story.md").read_text()
                                            .replace("Second fictional story", "Third fictional story"))
    later = T0 + 400 * 86400  # the next year's clock
    assert press(root, at=later).exit_code == 0
    index, y2025, y2026 = ((root / PRESS / rel).read_text() for rel in ("index.html", "2025/index.html",
                                                                          "2026/index.html"))
    assert "Third fictional story" in index and "First fictional story" not in index  # the newest year only
    assert "Third fictional story" in y2026 and "First fictional story" not in y2026
    assert "First fictional story" in y2025 and "Second fictional story" in y2025 and "Third" not in y2025
    for rel, page in (("", index), ("2025/", y2025), ("2026/", y2026)):  # every item's link resolves from its page
        items = re.findall(r'href="([^"]+\.html)"', page)
        assert items and all((root / PRESS / rel / href).resolve().is_file() for href in items), (rel, items)
    assert all(href.startswith("../") for href in re.findall(r'href="([^"]+\.html)"', y2025))
    assert 'href="2025/"' in index and 'href="../2026/" aria-current' not in y2025
    assert 'href="../2025/" aria-current="page"' in y2025
    before = (root / PRESS / "2025" / "index.html").stat().st_mtime_ns
    assert press(root, at=later).exit_code == 0
    assert (root / PRESS / "2025" / "index.html").stat().st_mtime_ns == before  # nothing changed there: not rewritten
