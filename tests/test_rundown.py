from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radio.config import format_ms, parse_duration_ms
from radio.station import Station
from radio.timing import lay_out
from tests.canary import assert_clean, plant
from tests.conftest import WEEK, golden

GOLDEN = Path(__file__).parent / "golden"


def _rundown(station: Path) -> Path:
    return station / "episodes" / WEEK / "rundown.yaml"


def test_plan_takes_only_verified_unheld_reports(run, station):
    r = run("plan", WEEK)
    assert r.exit_code == 0, r.err
    assert r.out == f"wrote episodes/{WEEK}/rundown.yaml\n"
    text = _rundown(station).read_text()
    for rid in ("cement-works-arrest", "port-cranes-slowdown", "smelter-statement-held", "textile-strike-rumour"):
        assert rid not in text
    assert text.count("report: ") == 8
    # priority order in the news block: both priority-1 reports first
    news = [line.split(": ")[1] for line in text.splitlines() if line.strip().startswith("report: ")]
    assert news[:2] == ["teacher-dismissed-after-meeting", "pit-strike-second-week"]
    assert news[-1] == "miners-wives-interview"  # the feature goes to the features section


def test_demo_week_golden(run, station, update_golden):
    assert run("plan", WEEK).exit_code == 0
    r = run("script", WEEK)
    assert r.exit_code == 0, r.err
    out = station / "episodes" / WEEK / "out"
    golden(GOLDEN / "rundown.yaml", _rundown(station).read_text(), update_golden)
    for name in ("script.md", "script.html", "runsheet.csv", "runsheet.html"):
        golden(GOLDEN / name, (out / name).read_text(), update_golden)
    s = run("status", WEEK)
    assert s.exit_code == 0, s.err
    golden(GOLDEN / "status.txt", s.out, update_golden)


def test_runsheet_columns_and_foot(run, station):
    run("plan", WEEK)
    run("script", WEEK)
    rows = list(csv.reader(io.StringIO((station / "episodes" / WEEK / "out" / "runsheet.csv").read_text())))
    assert rows[0] == ["#", "id", "slug", "type", "host", "in words", "out words", "estimated", "actual", "front time",
                       "back time", "media file", "status", "notes"]
    assert rows[1][:5] == ["1", "open-theme", "Theme", "element", ""]
    assert rows[-2][1] == "TOTAL" and rows[-2][12] == "under by 0:13"
    assert rows[-1][:2] == ["", "SLOT"] and rows[-1][9] == "6:30"
    # every live row: front + duration + back = slot, to the second
    slot = parse_duration_ms("6:30")
    for r in rows[1:-2]:
        dur = parse_duration_ms(r[8] or r[7])
        assert abs(parse_duration_ms(r[9]) + dur + parse_duration_ms(r[10]) - slot) <= 1500


def test_hand_edits_survive_and_plan_refuses_without_force(run, station):
    run("plan", WEEK)
    path = _rundown(station)
    text = path.read_text()
    text = text.replace("  - id: warehouse-pickers-heat\n", "  # producer: keep this short\n  - id: warehouse-pickers-heat\n"
                        "    skip: true\n")
    path.write_text(text)
    r = run("plan", WEEK)
    assert r.exit_code == 1
    assert r.err == f"error: {path}: the rundown has been edited by hand (pass --force to merge new reports into " \
                    "it, keeping your edits)\n"
    assert path.read_text() == text  # nothing written
    # a report is held meanwhile, another verified: --force merges, keeping the edit and the comment
    assert run("report", "hold", "rail-workers-safety-walkout", "--private-note", "x").exit_code == 0
    run("report", "verify", "port-cranes-slowdown", "--by", "a", "--method", "phone")
    run("report", "verify", "port-cranes-slowdown", "--by", "b", "--method", "visit")
    r = run("plan", WEEK, "--force")
    assert r.out == ("removed rail-workers-safety-walkout: report rail-workers-safety-walkout is held\n"
                     "added port-cranes-slowdown\n"
                     f"wrote episodes/{WEEK}/rundown.yaml\n")
    merged = path.read_text()
    assert "  # producer: keep this short\n  - id: warehouse-pickers-heat\n" in merged
    assert "skip: true" in merged
    assert merged.index("id: port-cranes-slowdown") > merged.index("id: miners-wives-interview")


def _edit(station: Path, old: str, new: str) -> Path:
    run_path = _rundown(station)
    text = run_path.read_text()
    assert old in text
    run_path.write_text(text.replace(old, new, 1))
    return run_path


@pytest.mark.parametrize("old,new,message", [
    ("    host: tomas\n    report: pit-strike", "    host: nobody\n    report: pit-strike",
     "item pit-strike-second-week: unknown host 'nobody' (use one of: anna, tomas)"),
    ("  - id: welcome\n", "  - id: headlines\n", "item headlines: duplicate item id (give every item its own id)"),
    ("report: warehouse-pickers-heat", "report: no-such-report",
     "item warehouse-pickers-heat: unknown report 'no-such-report' (see `radio report list 2026-W47` for the ids)"),
    ("    element: theme\n", "    element: fanfare\n", "item open-theme: unknown element 'fanfare' (use one of: id, "
                                                       "newsbed, theme, or add it to radio.toml)"),
    ("    type: read\n    host: anna\n    title: Welcome", "    type: speech\n    host: anna\n    title: Welcome",
     "item welcome: field 'type': Input should be 'read', 'recorded', 'element' or 'bed' (correct the value)"),
    ("  - id: welcome\n", "  - id: welcome\n    hots: anna\n", "item welcome: unknown field 'hots' (did you mean 'host'?)"),
    ("  - id: welcome\n", "  - id: welcome\n    zzz: 3\n", "item welcome: unknown field 'zzz' (fields are: id, type, title"),
    ("  - id: welcome\n    type: read\n", "  - id: welcome\n    type: bed\n    duration: 1:xx\n    bed: newsbed\n",
     "item welcome: bad duration: '1:xx' is not a duration (write MM:SS or H:MM:SS, e.g. 28:30) (write it as M:SS, "
     "e.g. 0:30)"),
    ("  - id: welcome\n", "  - id: ../../etc\n", "item ../../etc: field 'id': '../../etc' is not a valid item id"),
])
def test_rundown_errors_name_the_item(run, station, old, new, message):
    run("plan", WEEK)
    path = _edit(station, old, new)
    r = run("script", WEEK)
    assert r.exit_code == 1
    assert r.err.startswith(f"error: {path}: {message}"), r.err
    assert r.err.count("\n") == 1
    assert not (station / "episodes" / WEEK / "out" / "script.html").exists()


def test_a_report_held_after_planning_is_dropped_with_a_line(run, station):
    run("plan", WEEK)
    run("report", "hold", "pit-strike-second-week", "--private-note", "lawyer")
    r = run("script", WEEK)
    assert r.exit_code == 0, r.err
    assert r.out.splitlines()[0] == "dropped pit-strike-second-week: report pit-strike-second-week is held"
    script = (station / "episodes" / WEEK / "out" / "script.md").read_text()
    assert "enter the second week" not in script and "Messages of solidarity" not in script
    assert "pit-strike-second-week" not in script


def test_no_rundown(run, station):
    r = run("status", WEEK)
    assert r.err == f"error: {_rundown(station)}: no rundown for {WEEK} (run `radio plan {WEEK}`)\n"


def test_over_run_names_cut_candidates(run, station):
    cfg = station / "radio.toml"
    cfg.write_text(cfg.read_text().replace('slot = "6:30"', 'slot = "5:00"'))
    run("plan", WEEK)
    r = run("status", WEEK)
    assert "total 6:17 of 5:00: over by 1:17" in r.out
    assert "cut candidates: warehouse-pickers-heat, miners-wives-interview, factory-assembly-elects-committee" in r.out
    run("script", WEEK)
    sheet = (station / "episodes" / WEEK / "out" / "runsheet.csv").read_text()
    assert "CUT CANDIDATE" in sheet and "over by 1:17" in sheet


def test_escaping_in_html_and_csv(run, station):
    p = station / "episodes" / WEEK / "reports" / "warehouse-pickers-heat.md"
    p.write_text(p.read_text().replace("title: Warehouse pickers win breaks after a petition",
                                       'title: "Pickers <script>alert(1)</script> & \\"friends\\", ]]> win"'))
    run("plan", WEEK)
    assert run("script", WEEK).exit_code == 0
    out = station / "episodes" / WEEK / "out"
    html = (out / "script.html").read_text() + (out / "runsheet.html").read_text()
    assert "<script>" not in html
    assert "Pickers &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;friends&#34;, ]]&gt; win" in html
    rows = list(csv.reader(io.StringIO((out / "runsheet.csv").read_text())))
    assert any(r[2] == 'Pickers <script>alert(1)</script> & "friends", ]]> win' for r in rows)


def test_station_template_override(run, station):
    (station / "templates").mkdir()
    (station / "templates" / "script.md").write_text("{{ title }}: {{ rows | length }} items\n")
    run("plan", WEEK)
    run("script", WEEK)
    assert (station / "episodes" / WEEK / "out" / "script.md").read_text() == "Labour Week, 20 November 2026: 15 items\n"
    (station / "templates" / "script.md").write_text("{{ private }}\n")
    r = run("script", WEEK)
    assert r.exit_code == 1 and r.err.startswith("error: template script.md: 'private' is undefined")


def test_no_private_data_in_script_or_runsheet(run, station):
    canaries = plant(station)
    run("plan", WEEK)
    run("script", WEEK)
    status = run("status", WEEK).out
    assert not [c for c in canaries if c in status]
    assert_clean([station / "episodes" / WEEK / "out", _rundown(station)], canaries, min_files=5)


def test_measured_rate_replaces_configured(run, station, tmp_path):
    import subprocess
    run("plan", WEEK)
    seg = station / "episodes" / WEEK / "segments"
    seg.mkdir(parents=True)
    # welcome has 18 words; record it as 9 seconds -> 120 wpm measured for anna
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=9", str(seg / "welcome.wav")], check=True)
    r = run("status", WEEK)
    assert "anna: 165 wpm configured, 120 wpm measured" in r.out
    line = next(x for x in r.out.splitlines() if " welcome " in x)
    assert line.split()[4:7] == ["recorded", "0:09", "0:09"]  # estimate at the measured rate, and the actual
    # anna's unrecorded items are now estimated at 120 wpm: 101 words -> 50.5 s
    line = next(x for x in r.out.splitlines() if "teacher-dismissed" in x)
    assert line.split()[5] == "0:51"


# --- properties ----------------------------------------------------------------------------------

@given(st.lists(st.tuples(st.integers(1, 600_000), st.integers(0, 3000)), min_size=1, max_size=40),
       st.integers(0, 2000))
def test_lay_out_matches_the_sum_of_items_gaps_and_overlaps(items, gap):
    """Each item starts where the one before ends, plus the gap, or minus its overlap (never more than the item
    before lasts); the total is counted independently, from the sums."""
    durations = [d for d, _ in items]
    overlaps = [0] + [o for _, o in items[1:]]
    starts, total = lay_out(durations, overlaps, gap)
    assert starts[0] == 0
    for i in range(1, len(items)):
        step = -min(overlaps[i], durations[i - 1]) if overlaps[i] else gap
        assert starts[i] == starts[i - 1] + durations[i - 1] + step
    n_gaps = sum(1 for o in overlaps[1:] if not o)
    shared = sum(min(o, durations[i - 1]) for i, o in enumerate(overlaps) if i and o)
    assert total == sum(durations) + n_gaps * gap - shared


def test_run_sheet_rows_follow_each_other(run, station):
    """In the run sheet as printed, each live row starts where the one before ends (plus the gap, or less a
    crossfade), to the rounding of the clock."""
    run("plan", WEEK)
    run("script", WEEK)
    rows = list(csv.reader(io.StringIO((station / "episodes" / WEEK / "out" / "runsheet.csv").read_text())))[1:-2]
    live = [r for r in rows if r[0] != "–"]
    assert len(live) == 15
    for a, b in zip(live, live[1:]):
        end = parse_duration_ms(a[9]) + parse_duration_ms(a[8] or a[7])
        assert abs(parse_duration_ms(b[9]) - end) <= 1500, (a[1], b[1])  # 0.3 s gap or a crossfade, rounded


@given(st.integers(0, 10 * 3600 * 1000))
def test_clock_round_trip(ms):
    assert abs(parse_duration_ms(format_ms(ms)) - ms) <= 500


def test_cut_candidates_make_it_fit():
    from hypothesis import given as g

    from radio.reports.model import PublicReport
    from radio.rundown.model import Entry, Item
    from radio.timing import ItemTime, cut_candidates

    @g(st.lists(st.tuples(st.integers(1000, 120_000), st.integers(1, 5), st.booleans(), st.integers(0, 150_000)),
                min_size=1, max_size=25),
       st.integers(0, 1000), st.integers(1000, 600_000))
    def prop(spec, gap, slot):
        live = []
        for n, (d, pri, is_report, _) in enumerate(spec, 1):
            rep = PublicReport(f"r{n}", "t", None, None, None, None, None, "other", "a", pri, None, "x") if is_report else None
            e = Entry(Item(id=f"i{n}", type="read", host="h", text="x"), rep, "x", "t")
            live.append(ItemTime(e, n, "missing", 1, d, None, None))
        overlaps = [o for *_, o in spec]  # crossfades too: a cut joins its neighbours with the later one's overlap

        def total(cut: list[str]) -> int:
            keep = [i for i, t in enumerate(live) if t.entry.id not in cut]
            return lay_out([live[i].duration_ms for i in keep], [overlaps[i] for i in keep], gap)[1]

        cut = cut_candidates(live, overlaps, gap, slot) if total([]) > slot else []
        all_reports_cut = set(cut) == {t.entry.id for t in live if t.entry.report}
        assert total(cut) <= slot or all_reports_cut
        assert not cut or total(cut[:-1]) > slot  # no more than it takes
        # lowest priority goes first
        pris = [next(t.entry.report.priority for t in live if t.entry.id == c) for c in cut]
        assert pris == sorted(pris, reverse=True)

    prop()


def test_script_of_200_reports_is_correct(tmp_path):
    """Scale check for behaviour (timing is in benchmarks/): 200 reports plan and script with exact counts."""
    from benchmarks.fixtures import station_with_reports
    from radio.build import run_stage
    from radio.rundown.plan import plan
    root = station_with_reports(tmp_path / "big", 200)
    st_ = Station.open(root)
    plan(st_, WEEK)
    paths = run_stage(st_, WEEK, "runsheet")
    rows = list(csv.reader(io.StringIO(paths[1].read_text())))
    assert len(rows) == 1 + 200 + 4 + 2  # header, reports, welcome/headlines/appeals/closing, foot
