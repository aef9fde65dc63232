from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radio.config import ID_RE, Verification
from radio.station import Station, gitignore
from radio.errors import RadioError
from radio.reports.files import read_report
from radio.reports.model import Check, PublicReport, Report, make_id, policy_holds, public
from tests.canary import leaks, plant
from tests.conftest import WEEK

REPORTS = Path("episodes") / WEEK / "reports"


def test_list_exact(run):
    r = run("report", "list", WEEK, "--status", "held")
    assert r.exit_code == 0
    assert r.out == (
        "ID                      STATUS  CHECKS  PRI  KIND       PLACE                TITLE\n"
        "smelter-statement-held  held    2/2     2    statement  Redcliff, Highlands  "
        "Smelter workers publish an open letter on air pollution\n"
        "1 reports: 1 held\n")


def test_list_shows_every_state_and_withholds_places(run):
    r = run("report", "list", WEEK)
    assert r.exit_code == 0, r.err
    assert r.out.splitlines()[-1] == "12 reports: 1 held, 1 rejected, 2 unverified, 8 verified"
    line = next(x for x in r.out.splitlines() if x.startswith("teacher-dismissed"))
    assert "(withheld)" in line and "Stonebridge" not in line and "Highlands" not in line
    line = next(x for x in r.out.splitlines() if x.startswith("hospital-nurses"))
    assert "Lower Vale" in line and "Millbrook" not in line


def test_list_json_has_public_fields_only(run, station):
    canaries = plant(station)
    r = run("report", "list", WEEK, "--json")
    rows = json.loads(r.out)
    assert len(rows) == 12
    assert rows[0] == {"id": "cement-works-arrest", "status": "unverified", "checks": 1, "needed": 2, "priority": 1,
                       "kind": "arrest", "exposure": "regional", "place": "Lower Vale",
                       "title": "Police detain a cement worker after a leaflet at the gate"}
    assert not [c for c in canaries if c in r.out]


def test_new_report_then_verify_to_verified(run, station):
    r = run("report", "new", WEEK, "--title", "Depot workers walk out!", "--place", "Chita", "--kind", "strike")
    assert r.exit_code == 0, r.err
    assert r.out == f"episodes/{WEEK}/reports/depot-workers-walk-out.md\n"
    r = run("report", "new", WEEK, "--title", "Depot workers walk out")
    assert r.out == f"episodes/{WEEK}/reports/depot-workers-walk-out-2.md\n"
    path = station / REPORTS / "depot-workers-walk-out.md"
    path.write_text(path.read_text().replace("The text the host reads, in plain sentences.", "Drivers walked out."))
    r = run("report", "verify", "depot-workers-walk-out", "--by", "maria", "--method", "phone")
    assert r.out == "depot-workers-walk-out: 1/2 checks, status unverified\n"
    # the same person with the same method counts once
    r = run("report", "verify", "depot-workers-walk-out", "--by", "Maria", "--method", "phone")
    assert r.out == "depot-workers-walk-out: 1/2 checks, status unverified\n"
    r = run("report", "verify", "depot-workers-walk-out", "--by", "maria", "--method", "visit", "--private-note", "seen")
    assert r.out == "depot-workers-walk-out: 2/2 checks, status verified\n"
    text = (station / REPORTS / "depot-workers-walk-out.md").read_text()
    assert "# FICTIONAL SAMPLE FIELDS" in text  # comments survive the rewrite
    assert "status: verified" in text


def test_edits_keep_the_producers_text(run, station):
    path = station / REPORTS / "port-cranes-slowdown.md"
    before = path.read_text()
    run("report", "verify", "port-cranes-slowdown", "--by", "elena", "--method", "phone")
    after = path.read_text()
    assert after.startswith("---\n# FICTIONAL demo report.\nid: port-cranes-slowdown\n")
    assert after.split("---\n", 2)[2] == before.split("---\n", 2)[2]  # body byte for byte
    keys = [line.split(":")[0] for line in after.split("---\n")[1].splitlines() if re.match(r"^[a-z_]+:", line)]
    assert keys[:12] == ["id", "title", "received", "event_date", "place", "workplace", "region", "sector", "kind",
                         "attribution", "priority", "status"]
    assert "  - by: elena\n" in after


@pytest.mark.parametrize("policy,checks,ok", [
    ({"min_checks": 2, "distinct": "either"}, [("a", "phone"), ("a", "phone")], False),
    ({"min_checks": 2, "distinct": "either"}, [("a", "phone"), ("a", "visit")], True),
    ({"min_checks": 2, "distinct": "either"}, [("a", "phone"), ("b", "phone")], True),
    ({"min_checks": 2, "distinct": "people"}, [("a", "phone"), ("a", "visit")], False),
    ({"min_checks": 2, "distinct": "methods"}, [("a", "phone"), ("b", "phone")], False),
    ({"min_checks": 2, "distinct": "both"}, [("a", "phone"), ("b", "visit")], True),
    ({"min_checks": 2, "distinct": "both"}, [("a", "phone"), ("b", "phone"), ("c", "phone")], False),
    ({"min_checks": 3, "distinct": "people"}, [("a", "x"), ("b", "x"), ("c", "y")], True),
])
def test_policy(policy, checks, ok):
    cs = [Check(by=b, on="2026-11-20", method=m) for b, m in checks]
    assert policy_holds(cs, Verification(**policy)) is ok


def test_hold_reject_reopen(run, station):
    assert run("report", "hold", "pit-strike-second-week", "--private-note", "wait").out == \
        "pit-strike-second-week: status held\n"
    r = run("report", "hold", "pit-strike-second-week")
    assert r.exit_code == 2 and "Missing option '--private-note'" in r.err
    assert run("report", "reopen", "pit-strike-second-week").out == "pit-strike-second-week: status verified\n"
    assert "reason:" not in (station / REPORTS / "pit-strike-second-week.md").read_text()
    assert run("report", "reject", "cement-works-arrest", "--private-note", "x").out == "cement-works-arrest: status rejected\n"
    assert run("report", "reopen", "cement-works-arrest").out == "cement-works-arrest: status unverified\n"


def test_show_public_and_private(run, station):
    canaries = plant(station)
    r = run("report", "show", "teacher-dismissed-after-meeting")
    assert r.exit_code == 0, r.err
    assert "published as: (no place) (exposure: none)" in r.out
    assert "attribution: Our correspondent\n" in r.out
    assert "Stonebridge" not in r.out and "PRIVATE" not in r.out
    assert not [c for c in canaries if c in r.out]
    r = run("report", "show", "teacher-dismissed-after-meeting", "--private")
    assert "-------- PRIVATE: NEVER TO BE PUBLISHED OR READ ON AIR --------" in r.out
    assert "workplace:   Stonebridge secondary school No. 4" in r.out
    assert sum(c in r.out for c in canaries) >= 4


def _write(station: Path, name: str, content: bytes | str) -> Path:
    p = station / REPORTS / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return p


GOOD = Path(__file__).parent.parent / REPORTS / "warehouse-pickers-heat.md"


@pytest.mark.parametrize("name,content,message", [
    ("empty.md", "", "empty.md: empty file (a report starts with '---', YAML front matter, '---', then the text; "
                     "`radio report new` writes one)"),
    ("latin.md", b"---\ntitle: caf\xe9\n---\n", "latin.md: not UTF-8 text (byte 15) (save the file as UTF-8)"),
    ("nofront.md", "just text\n", "nofront.md:1: no front matter (start the file with a line '---', then the YAML "
                                  "fields, then '---')"),
    ("bad-yaml.md", "---\ntitle: a\nreceived: [2026\n---\n", "bad-yaml.md:4: malformed YAML"),
    ("typo.md", "---\ntitle: a\nreceived: 2026-11-20\nprioirty: 2\n---\n",
     "typo.md:4: unknown field 'prioirty' (did you mean 'priority'?)"),
    ("bad-date.md", "---\ntitle: a\nreceived: 2026-13-40\n---\n",
     "bad-date.md:3: field 'received': not a date (month must be in 1..12) (write dates as YYYY-MM-DD)"),
    ("no-title.md", "---\nreceived: 2026-11-20\n---\n", "no-title.md: missing field 'title' (add 'title:' to the front matter)"),
    ("wrong-id.md", "---\nid: other\ntitle: a\nreceived: 2026-11-20\n---\n",
     "wrong-id.md:2: id 'other' does not match the file name (rename the file to other.md or set id: wrong-id)"),
    ("Bad_Name.md", "---\ntitle: a\nreceived: 2026-11-20\n---\n", "'Bad_Name' is not a valid report id"),
    ("fake-verified.md", "---\ntitle: a\nreceived: 2026-11-20\nstatus: verified\n---\n",
     "fake-verified.md:4: status is verified but it has 0 of 2 checks the policy needs (add checks with "
     "`radio report verify fake-verified` or set status: unverified)"),
])
def test_malformed_report_names_file_line_and_fix(run, station, name, content, message):
    _write(station, name, content)
    r = run("report", "list", WEEK)
    assert r.exit_code == 1
    errors = r.err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: ")
    assert message in errors[0]
    assert "Traceback" not in r.err
    assert r.out.splitlines()[-1] == "12 reports: 1 held, 1 rejected, 2 unverified, 8 verified"  # others still list


def test_exposure_conflict_is_caught(run, station):
    p = station / REPORTS / "hospital-nurses-wage-arrears.md"
    p.write_text(p.read_text().replace("a district hospital in the Lower Vale", "the Millbrook hospital"))
    r = run("report", "show", "hospital-nurses-wage-arrears")
    assert r.exit_code == 1
    assert r.err == (f"error: {p}: the text names the withheld place (exposure regional) (remove it from the "
                     "text, or set exposure: named if the editor allows it)\n")


@pytest.mark.parametrize("args,message", [
    (("report", "list", "2026-47"), "error: '2026-47' is not an ISO week (write it as YYYY-Www, e.g. 2026-W47)\n"),
    (("report", "list", "2025-W53"), "error: '2025-W53' is not an ISO week: 2025 has no week 53 (pick a week from 01 "
                                     "to 52 (53 in long years))\n"),
    (("report", "show", "../../etc/passwd"), "error: '../../etc/passwd' is not a valid report id"),
    (("report", "show", "/etc/passwd"), "error: '/etc/passwd' is not a valid report id"),
    (("report", "verify", "nope", "--by", "a", "--method", "b"), "error: no report 'nope' (see `radio report list "
                                                                  "WEEK` for the ids)\n"),
    (("report", "new", WEEK, "--title", "x", "--kind", "riot"), "error: --kind 'riot' is not a report kind"),
])
def test_bad_arguments(run, args, message):
    r = run(*args)
    assert r.exit_code == 1
    assert r.err.startswith(message)
    assert r.err.count("\n") == 1


def test_bad_config_names_key_and_suggests(run, station):
    cfg = station / "radio.toml"
    cfg.write_text(cfg.read_text().replace("slot = ", "slto = "))
    r = run("report", "list", WEEK)
    assert r.err == f"error: {cfg}: unknown key 'show.slto' (did you mean 'slot'?)\n"
    cfg.write_text(cfg.read_text().replace("slto = \"6:30\"", "slot = \"28:3x\""))
    r = run("report", "list", WEEK)
    assert r.err == (f"error: {cfg}: key 'show.slot': '28:3x' is not a duration (write MM:SS or H:MM:SS, e.g. 28:30) "
                     "(see the comments in radio.toml)\n")


def test_no_station(tmp_path):
    from click.testing import CliRunner

    from radio.cli import cli
    r = CliRunner().invoke(cli, ["--station", str(tmp_path), "report", "list", WEEK])
    assert r.exit_code == 1
    assert r.stderr == f"error: {tmp_path / 'radio.toml'}: no station config here (run `radio init DIR` or pass " \
                       "--station DIR)\n"


def test_init_makes_a_valid_empty_station(tmp_path):
    from click.testing import CliRunner

    from radio.cli import cli
    target = tmp_path / "My Station"
    r = CliRunner().invoke(cli, ["init", str(target)])
    assert r.exit_code == 0, r.output
    st_ = Station.open(target)
    assert st_.config.show.slug == "my-station"
    assert (target / ".gitignore").read_text() == gitignore()
    r = CliRunner().invoke(cli, ["--station", str(target), "report", "list", WEEK])
    assert r.exit_code == 0 and r.stdout == f"no reports in {WEEK}\n"
    r = CliRunner().invoke(cli, ["init", str(target)])
    assert r.exit_code == 1 and "a station already exists here" in r.stderr


def test_every_command_has_help_with_example():
    import click

    from radio.cli import cli

    def walk(cmd, path):
        yield path, cmd
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])

    for path, cmd in walk(cli, ["radio"]):
        assert cmd.help and "Example:" in cmd.help, f"{' '.join(path)} has no Example: in its help"


def test_verbose_shows_traceback(run):
    r = run("-v", "report", "show", "nope")
    assert "Traceback" in r.err and r.err.strip().endswith("(see `radio report list WEEK` for the ids)")


# --- properties ----------------------------------------------------------------------------------

@given(st.text(max_size=200))
def test_make_id_is_always_a_valid_unique_id(title):
    a = make_id(title)
    assert ID_RE.match(a)
    assert make_id(title, {a}) != a and ID_RE.match(make_id(title, {a}))


@given(st.text(alphabet=string.printable + "äöüжщ", max_size=80))
def test_id_rule_rejects_anything_that_could_leave_a_folder(s):
    if ID_RE.match(s):
        assert "/" not in s and ".." not in s and not s.startswith("-")


text_st = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(str.strip)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=text_st, place=text_st, body=st.text(max_size=300), appeal=st.one_of(st.none(), text_st),
       priority=st.integers(1, 5))
def test_front_matter_round_trip(tmp_path, title, place, body, appeal, priority):
    from radio.reports.files import ReportFile, _yaml
    from ruamel.yaml.comments import CommentedMap
    path = tmp_path / "a-report.md"
    data = CommentedMap(id="a-report", title=title, received="2026-11-20", place=place, priority=priority,
                        appeal=appeal)
    ReportFile(path, data, body, Report(id="a-report", title=title, received="2026-11-20")).save()
    rf = read_report(path, Verification())
    assert (rf.report.title, rf.report.place, rf.report.appeal, rf.report.priority) == (title, place, appeal, priority)
    assert rf.body == body.replace("\r\n", "\n")
    rf.save()
    assert read_report(path, Verification()).report == rf.report


@settings(max_examples=100)
@given(st.text(max_size=400))
def test_any_front_matter_gives_a_report_or_one_line_error(tmp_path_factory, front):
    folder = tmp_path_factory.mktemp("r")
    path = folder / "x.md"
    path.write_text(f"---\n{front}\n---\nbody\n", encoding="utf-8", errors="surrogatepass") if False else \
        path.write_bytes(f"---\n{front}\n---\nbody\n".encode("utf-8", "surrogatepass"))
    try:
        read_report(path, Verification())
    except RadioError as e:
        assert "\n" not in e.format_message()


def test_public_projection_has_no_private_fields():
    fields = set(public.__annotations__) | set(PublicReport.__dataclass_fields__)
    assert not fields & {"private", "checks", "reason", "correspondent", "contact", "notes"}


def test_canary_helper_finds_a_planted_leak(station, tmp_path):
    canaries = plant(station)
    f = tmp_path / "leak.bin"
    f.write_bytes(b"ID3..." + canaries[3].encode("utf-16-le"))
    assert leaks([f], canaries) == [(str(f), canaries[3])]


def test_private_and_public_notes_are_named_so_and_old_names_still_work(run, station):
    """The desk's own words are --private-note, what listeners read is --public-note; --note and --reason (which
    meant one or the other depending on the command) are still taken, with a warning, and no longer shown."""
    r = run("report", "hold", "pit-strike-second-week", "--reason", "wait")
    assert (r.exit_code, r.out) == (0, "pit-strike-second-week: status held\n")
    assert r.err == "warning: --reason is now --private-note; the old name will go\n"
    for argv in (["report", "hold"], ["report", "verify"], ["report", "correct"], ["report", "retract"]):
        text = run(*argv, "--help").out
        assert "--reason" not in text and "--note" not in text
        assert ("--public-note" if argv[1] in ("correct", "retract") else "--private-note") in text

