"""Public ids: what is published names a report by an id made from its public title when it first went out (or an
opaque one), never by its desk id; once published it never changes, whatever happens to the title or the desk id.

Hostile first: desk ids made of a correspondent's town and name (and a look-alike of them), on a station whose
register is sealed, so the withheld-detail check cannot see them; the whole published tree and the outgoing mail
are scanned for them."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from pathlib import Path

import pyrage
import pytest
from hypothesis import given, settings, strategies as st

from radio import publicid
from radio.config import ID_RE
from radio.reports.model import Report
from radio.station import Station
from radio.withheld import find_withheld, withheld_details
from tests.conftest import WEEK, runner_for
from tests.test_adversary import _confusables, _skeleton_leaks
from tests.audio_util import tiny_station
from tests.test_build import built_station

TOWN, NAME = "Wolfsgrund", "Oksana Teststein"
TELLING = "wolfsgrund-oksana-picket"  # the town and the correspondent's name
LOOKALIKE = "wo1fsgrund-0ksana-pickets"  # the same, with 1 for l and 0 for O
REGISTER = (f"# PRIVATE, FICTIONAL\nx: {{name: \"{NAME}\", town: \"{TOWN}\", phone: \"+00 555 0177\"}}\n")


def _sealed_register(root: Path) -> None:
    """The register encrypted to an editor whose key this machine does not have: the build cannot read it."""
    editor = pyrage.x25519.Identity.generate()
    (root / "private").mkdir(exist_ok=True)
    (root / "private" / "correspondents.yaml.age").write_bytes(
        pyrage.encrypt(REGISTER.encode(), [editor.to_public()]))
    (root / "private" / "correspondents.yaml").unlink(missing_ok=True)


def _public_files(root: Path) -> list[Path]:
    return [root / "feeds", root / "private" / "outbox", *root.glob("digests")]


def _episode(root: Path) -> dict:
    return json.loads(next((root / "feeds").glob("*/episodes/2026-W47/episode.json")).read_text())


def _ids(root: Path) -> dict:
    """Every id the published tree names a report by: in the episode record, the press files and the bulletin."""
    rec = _episode(root)
    press = sorted(p.stem for p in next((root / "feeds").glob("*/press")).glob("*.json") if p.stem != "index")
    uris = sorted(json.loads(p.read_text())["uri"] for p in next((root / "feeds").glob("*/press")).glob("*.json")
                  if p.stem != "index")
    bulletin = sorted(set(re.findall(r'class="story" id="([^"]+)"', next(
        (root / "feeds").glob("*/bulletin/2026-W47/index.html")).read_text())))
    return {"reports": rec["reports"], "starts": sorted(rec["report_starts"]),
            "cues": sorted({c["item"] for c in rec["cues"]}), "press": press, "uris": uris, "bulletin": bulletin}


def test_telling_desk_ids_never_reach_anything_published_and_published_ids_never_move(tmp_path):
    root, _ = built_station(tmp_path / "st")
    run = runner_for(root)
    assert run("report", "rename", "first-story", TELLING).exit_code == 0
    assert run("report", "rename", "second-story", LOOKALIKE).exit_code == 0
    _sealed_register(root)
    cfg = root / "radio.toml"
    cfg.write_text(cfg.read_text() + '\n[press]\nusage_terms = "Free to republish (fictional)."\n'
                   'copyright_notice = "(c) st, fictional"\n')
    (root / "private" / "subscribers.csv").write_text(
        "address,organisation,language,format\noffice@dockers-union.example.org,Dockers (fictional),en,html\n"
        "desk@miners.example.org,Miners (fictional),en,text\n", encoding="utf-8")
    env = {"RADIO_UNSUBSCRIBE_SECRET": "fictional-secret"}
    for args in (("build", WEEK), ("bulletin", WEEK), ("press", WEEK), ("digest", "2026-11"),
                 ("send", WEEK, "--dry-run")):
        r = run(*args, env=env)
        assert r.exit_code == 0, (args, r.err)
    # the check could not see the register, so it did not stop them: the public ids kept the desk ids out
    assert "First fictional story" in (next((root / "feeds").glob("*/feed.xml"))).read_text()
    assert not _skeleton_leaks(_public_files(root), [TOWN, "Oksana", "Teststein"])
    published = "\n".join(p.read_text(errors="ignore").lower() for d in _public_files(root)
                          for p in d.rglob("*") if p.is_file())
    for word in ("wolfsgrund", "wo1fsgrund", "oksana", "0ksana", "picket"):
        assert word not in published
    first = _ids(root)
    assert first["reports"] == ["first-fictional-story", "second-fictional-story"]
    assert first["press"] == first["reports"] == first["bulletin"] and first["starts"] == first["reports"]
    assert set(first["reports"]) < set(first["cues"])
    record = (root / "public-ids.toml").read_text()
    assert f'"{WEEK}/{TELLING}" = "first-fictional-story"' in record

    assert run("report", "correct", TELLING, "--public-note", "It was on Monday.").exit_code == 0
    assert run("publish", WEEK).exit_code == 0
    fixes = (root / "feeds" / "st" / "corrections" / "feed.xml").read_text()
    fixed = re.findall(r"<guid[^>]*>([^<]+)</guid>", fixes)
    assert len(fixed) == 1

    # a new title after publication, and a rename: every URL, GUID and anchor stays where it was
    rpath = root / "episodes" / WEEK / "reports" / f"{TELLING}.md"
    rpath.write_text(rpath.read_text().replace("title: First fictional story", "title: A wholly new headline"))
    assert run("report", "rename", TELLING, "plain-desk-id").exit_code == 0
    guids = sorted(re.findall(r"<guid[^>]*>([^<]+)</guid>", next((root / "feeds").glob("*/feed.xml")).read_text()))
    for args in (("build", WEEK), ("bulletin", WEEK), ("press", WEEK)):
        r = run(*args, env=env)
        assert r.exit_code == 0, (args, r.err)
    assert "A wholly new headline" in next((root / "feeds").glob("*/feed.xml")).read_text()
    assert _ids(root) == first
    assert re.findall(r"<guid[^>]*>([^<]+)</guid>", (root / "feeds" / "st" / "corrections" / "feed.xml").read_text()) \
        == fixed
    assert sorted(re.findall(r"<guid[^>]*>([^<]+)</guid>",
                             next((root / "feeds").glob("*/feed.xml")).read_text())) == guids
    assert f'"{WEEK}/plain-desk-id" = "first-fictional-story"' in (root / "public-ids.toml").read_text()
    assert TELLING not in (root / "public-ids.toml").read_text()
    published = "\n".join(p.read_text(errors="ignore").lower() for d in _public_files(root)
                          for p in d.rglob("*") if p.is_file())
    assert "wolfsgrund" not in published and "picket" not in published and "plain-desk-id" not in published


# --- the ids themselves -----------------------------------------------------------------------------------

def _report(rid: str, title: str, **kw) -> Report:
    return Report(id=rid, title=title, received=dt.date(2026, 11, 16), **kw)


def test_two_titles_that_make_the_same_slug_get_distinct_ids_that_stay(tmp_path):
    root = tiny_station(tmp_path / "st")
    station = Station.open(root)
    a, b = _report("a-desk", "Strike at the depot!"), _report("b-desk", "Strike at the depot?")
    assert publicid.ids(station, WEEK, [a, b]) == {"a-desk": "strike-at-the-depot", "b-desk": "strike-at-the-depot-2"}
    publicid.record(station, WEEK, {"b-desk": publicid.ids(station, WEEK, [b])["b-desk"]})  # b goes out first
    assert publicid.ids(station, WEEK, [a, b]) == {"b-desk": "strike-at-the-depot", "a-desk": "strike-at-the-depot-2"}
    # the same slug in another week is another report: still distinct across the station
    assert publicid.ids(station, "2026-W48", [_report("c", "Strike at the depot")]) == {"c": "strike-at-the-depot-2"}
    # a title made of nothing a URL can hold, or of a name the published tree uses itself
    got = publicid.ids(station, WEEK, [_report("e", "!!! 🙂 ?"), _report("f", "Index"), _report("g", "—")])
    assert got == {"e": "2026-w47-1", "f": "index-2", "g": "2026-w47-2"}


def test_a_broken_record_is_refused_by_name(tmp_path):
    root = tiny_station(tmp_path / "st")
    (root / "public-ids.toml").write_text('"2026-W47/a" = "Not An Id"\n')
    r = runner_for(root)("plan", WEEK, "--force")
    assert r.exit_code == 1
    assert r.err == (f"error: {root / 'public-ids.toml'}: '2026-W47/a' = 'Not An Id' is not a week/report and a "
                     "public id (restore the file from version control (git checkout -- public-ids.toml))\n")


PLACE = "Stonebridge"


@st.composite
def disguised_titles(draw) -> str:
    """A title naming the withheld town in some disguise: look-alike letters, case, spacing, another script."""
    table = _confusables()
    letters = [draw(st.sampled_from([c, *table.get(c, [])[:6]])) for c in PLACE]
    if draw(st.booleans()):
        letters[0] = letters[0].upper()
    cut = draw(st.integers(1, len(letters) - 1))
    joiner = draw(st.sampled_from(["", " ", "-", "\u00ad", "\u200b"]))
    name = "".join(letters[:cut]) + joiner + "".join(letters[cut:])
    return draw(st.text(max_size=20)) + " " + name + " " + draw(st.text(max_size=20))


@settings(deadline=None, max_examples=50)
@given(title=st.one_of(st.text(max_size=80), disguised_titles()))
def test_any_title_gives_a_valid_id_that_names_no_withheld_detail(title):
    r = _report("desk-id", title or "x", place=PLACE, region="Highlands", exposure="none",
                aliases={"place": ["Стоунбридж"]})
    taken = {"strike", "2026-w47-1"}
    pid = publicid.fresh(WEEK, r, set(taken))
    assert ID_RE.match(pid) and len(pid) <= publicid.MAX_SLUG and pid not in taken | publicid.RESERVED
    assert find_withheld(pid.replace("-", " "), withheld_details(r)) is None
    slug = publicid.slug(title or "x")
    if slug and find_withheld(slug.replace("-", " "), withheld_details(r)) is None and slug not in taken \
            and slug not in publicid.RESERVED:
        assert pid == slug  # a title that tells nothing keeps its words
    if not slug:
        assert pid == "2026-w47-2"  # nothing left after slugifying: opaque
    assert publicid.slug(unicodedata.normalize("NFD", title)) == publicid.slug(unicodedata.normalize("NFC", title))


def test_a_published_id_that_comes_to_tell_keeps_the_report_off_the_air_until_it_is_replaced(tmp_path):
    root = tiny_station(tmp_path / "st")
    run = runner_for(root)
    report = root / "episodes" / WEEK / "reports" / "first-story.md"
    report.write_text(report.read_text().replace("title: First fictional story", "title: Strike at the Kestrel depot")
                      .replace("region: Test Region", "region: Test Region\nplace: Kestrel")
                      .replace("exposure: regional", "exposure: named"))
    station = Station.open(root)
    publicid.record(station, WEEK, {"first-story": "strike-at-the-kestrel-depot"})  # it went out so
    assert run("report", "public-id", "first-story").out == "first-story: public id strike-at-the-kestrel-depot\n"
    # the source is in danger: the town is withheld now, and the title no longer names it; the id still does
    report.write_text(report.read_text().replace("exposure: named", "exposure: regional")
                      .replace("title: Strike at the Kestrel depot", "title: Strike at a depot"))
    r = run("plan", WEEK, "--force")
    assert r.exit_code == 0, r.err
    assert ("left out first-story: report first-story is published under a public id that names a detail it now "
            "withholds (give it a new one: radio report public-id first-story --new)") in r.out.splitlines()
    shown = run("report", "show", "first-story").out + run("report", "public-id", "first-story").out
    assert "kestrel" not in shown.lower() and "radio report public-id first-story --new" in shown
    r = run("report", "public-id", "first-story", "--new")
    assert r.exit_code == 0, r.err
    assert r.out == ("first-story: public id strike-at-a-depot (what went out under the old one stays as it went "
                     "out; publish again to use the new one)\n")
    r = run("plan", WEEK, "--force")
    assert "left out first-story" not in r.out and "report: first-story" in \
        (root / "episodes" / WEEK / "rundown.yaml").read_text()
    r = run("report", "public-id", "second-story", "--new")
    assert r.exit_code == 1 and r.err == ("error: report second-story has not been published: it has no public id "
                                          "to change (nothing to do: it gets one, made from its title, when it is "
                                          "first published)\n")


def test_an_item_id_the_episode_publishes_may_not_name_a_withheld_detail(tmp_path):
    root = tiny_station(tmp_path / "st")
    report = root / "episodes" / WEEK / "reports" / "first-story.md"
    report.write_text(report.read_text().replace("region: Test Region", f"region: Test Region\nplace: {TOWN}"))
    rundown = root / "episodes" / WEEK / "rundown.yaml"
    rundown.write_text(rundown.read_text().replace("id: welcome", "id: wo1fsgrund-welcome"))
    r = runner_for(root)("script", WEEK)
    assert r.exit_code == 1
    assert r.err == (f"error: {rundown}: the id of item #2 names the withheld place of report first-story "
                     "(give the item another id)\n")


def test_a_report_published_before_public_ids_were_recorded_keeps_the_id_it_went_out_under(tmp_path):
    root = tiny_station(tmp_path / "st")
    station = Station.open(root)
    reports = [_report("first-story", "First fictional story"), _report("second-story", "Second fictional story"),
               _report("third-story", "Third fictional story")]
    # as a station published before: its episode record named reports by their desk ids, and so did its press
    record = root / "feeds" / "st" / "episodes" / WEEK / "episode.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"reports": ["first-story"]}))
    (root / "episodes" / WEEK / "press.json").write_text(json.dumps({"second-story": {"version": 1}}))
    assert publicid.ids(station, WEEK, reports) == {
        "first-story": "first-story", "second-story": "second-story", "third-story": "third-fictional-story"}
