"""The leak check on a build host without an editor's key: keyed digests of what the desk knows about each source
(radio/keys/digests.py) catch exactly what the check catches with the editor's identity unlocked; a stale digest
file, a wrong key and no key at all are each one line."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radio.keys import digests, keyring
from radio.keys.age import parse_identities
from radio.reports.files import find_report
from radio.station import Station
from radio.withheld import find_withheld, withheld_details
from tests.conftest import WEEK, copy_station, runner_for
from tests.test_adversary import REGISTER, SOFIA, disguised

REPORT = "cement-works-arrest"
# the report's source is the register's "lantern"; its private notes name a town and a person
NOTES = "Met her at the Greyhaven depot; Tomas Unreal vouches for her. Ring +00 555 0177 after six."


def _seal(tmp: Path) -> dict:
    root = copy_station(tmp / "station")
    (root / "private" / "correspondents.yaml").write_text(REGISTER, encoding="utf-8")
    path = root / "episodes" / WEEK / "reports" / f"{REPORT}.md"
    text = path.read_text(encoding="utf-8").replace("correspondent: birch", "correspondent: lantern")
    path.write_text(text.replace("notes: Family asked us to wait until the lawyer has seen him.",
                                 f"notes: \"{NOTES}\""), encoding="utf-8")
    run = runner_for(root)
    ident = tmp / "elena.key"
    assert run("keys", "new", str(ident)).exit_code == 0
    public = ident.read_text().split("public key: ")[1].split()[0]
    r = run("keys", "init", "elena", public)
    assert r.exit_code == 0 and r.err == "", r.err  # the first editor seals with the digests, no identity needed
    host_key = tmp / "build-host" / "leak-check.key"
    assert run("--identity", str(ident), "keys", "leak-check-key", str(host_key)).exit_code == 0
    return {"root": root, "run": run, "identity": ident, "key": host_key, "path": path}


@pytest.fixture(scope="module")
def sealed(tmp_path_factory) -> dict:
    return _seal(tmp_path_factory.mktemp("digests"))


@contextmanager
def build_host(key: Path | None):
    """No editor's identity; the leak-check key from the environment, as a build host has it."""
    saved = {k: os.environ.pop(k, None) for k in ("RADIO_IDENTITY", digests.ENV)}
    if key:
        os.environ[digests.ENV] = str(key)
    try:
        with keyring.unlocked(None), digests.checking():
            yield
    finally:
        os.environ.pop(digests.ENV, None)
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v


def details(s: dict, *, editor: bool) -> list:
    station = Station.open(s["root"])
    if editor:
        ring = keyring.Keyring(parse_identities(s["identity"].read_bytes(), s["identity"]))
        with keyring.unlocked(ring):
            report = find_report(station, REPORT).report
        assert not report.private.sealed and report.private.correspondent == "lantern"
        return withheld_details(report)
    with build_host(s["key"]):
        report = find_report(station, REPORT).report
    assert report.private.sealed and report.private.correspondent is None  # nothing in plain text
    return withheld_details(report)


@pytest.fixture(scope="module")
def both(sealed) -> tuple[list, list]:
    return details(sealed, editor=True), details(sealed, editor=False)


def field_of(hit) -> str | None:
    return hit[0] if hit else None


def test_the_key_alone_knows_every_detail_the_editor_knows_by_field(both):
    editor, host = both
    assert [f for f, _ in editor] == [f for f, _ in host]
    assert all(isinstance(v, digests.Sealed) for f, v in host[3:])  # past the exposure's own place and workplace
    assert "Sealed(...)" in repr(host) and "Sofia" not in repr(host)


NAMED = ["Stonebridge", "Sofia Imaginary", "Secondary School No 4", "Sonya", "Greyhaven", "Tomas Unreal",
         "Ashford Mills"]


@settings(deadline=None, max_examples=150)
@given(data=st.data(), name=st.sampled_from(NAMED))
def test_any_disguise_is_caught_alike_with_the_identity_and_with_the_key(both, data, name):
    editor, host = both
    text = data.draw(disguised(name))
    hit = field_of(find_withheld(text, editor))
    assert hit is not None, text
    assert field_of(find_withheld(text, host)) == hit, text


@settings(deadline=None, max_examples=60)
@given(digits=st.sampled_from(["0123456789", "０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩"]),
       number=st.sampled_from(["5550199", "5550177"]), sep=st.sampled_from([" ", "-", "", "\u00a0", "/"]),
       code=st.sampled_from(["+00 ", "00", ""]),
       address=st.sampled_from(["", SOFIA, "sofia.imaginary at example dot org",
                                "mailto:sofia.imaginary%40example.org", "SOFIA.IMAGINARY＠EXAMPLE.ORG"]))
def test_numbers_and_addresses_are_caught_alike(both, digits, number, sep, code, address):
    editor, host = both
    text = f"Ring {code}{''.join(digits[int(d)] for d in number[:3])}{sep}" \
           f"{''.join(digits[int(d)] for d in number[3:])} or write {address}."
    hit = field_of(find_withheld(text, editor))
    assert hit is not None and field_of(find_withheld(text, host)) == hit, text


@pytest.mark.parametrize("text", ["A kestrel flew over the ridge.", "Call 555 0198", "stone bridges",
                                  "so fiat", "Workers met on Friday.", "Ring 2026-11-16"])
def test_what_names_nobody_passes_alike(both, text):
    editor, host = both
    assert find_withheld(text, editor) is None and find_withheld(text, host) is None, text


def _plan_with_a_leak(s: dict, title: str) -> tuple:
    """`radio plan` with a public title naming a detail: as an editor, and as a build host with the key only."""
    path = s["path"]
    before = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^title: .*$", f"title: {title}", before).replace("status: unverified",
                    "status: verified"), encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace("    method: phone\n",
                    "    method: phone\n  - by: marek\n    on: 2026-11-21\n    method: documents\n"), encoding="utf-8")
    try:
        run = s["run"]
        editor = run("--identity", str(s["identity"]), "plan", WEEK, "--force")
        host = run("plan", WEEK, "--force", env={"RADIO_IDENTITY": "", digests.ENV: str(s["key"])})
        return editor, host
    finally:
        path.write_text(before, encoding="utf-8")


@pytest.mark.parametrize("title,field", [
    ("Police detain a worker; Sofia saw it", "correspondent's name"),
    ("Police detain a worker near Ѕtonebridge", "correspondent's town"),
    ("Police detain a worker, says Tomas Unreal", "private notes"),
])
def test_a_build_host_with_the_key_drops_the_same_report_for_the_same_reason(sealed, title, field):
    editor, host = _plan_with_a_leak(sealed, title)
    assert editor.exit_code == host.exit_code == 0, (editor.err, host.err)
    line = f"left out {REPORT}: report {REPORT} names the {field} in the title"
    assert line in editor.out.splitlines(), editor.out
    assert (host.out, host.err) == (editor.out, editor.err)


def test_stale_digests_wrong_key_and_no_key_are_each_one_line(tmp_path):
    s = _seal(tmp_path)
    run, root = s["run"], s["root"]
    host = {"RADIO_IDENTITY": "", digests.ENV: str(s["key"])}
    assert run("plan", WEEK, env=host).exit_code == 0
    # no key at all: refused, or (when asked) one warning and the public details only
    r = run("plan", WEEK, "--force", env={"RADIO_IDENTITY": ""})
    assert r.exit_code == 1 and r.err.count("\n") == 1 and r.err.startswith(
        "error: the leak check cannot see what the desk knows about the sources of sealed reports")
    assert "RADIO_LEAK_CHECK_KEY" in r.err and "--limited-leak-check" in r.err
    r = run("--limited-leak-check", "plan", WEEK, "--force", env={"RADIO_IDENTITY": ""})
    assert r.exit_code == 0 and r.err.count("\n") == 1 and r.err.startswith("warning: the leak check cannot see")
    assert run("report", "list", WEEK, env={"RADIO_IDENTITY": ""}).exit_code == 0  # the desk's lists go on
    # a key that is not the station's
    other = tmp_path / "other.key"
    other.write_text(os.urandom(32).hex() + "\n")
    other.chmod(0o600)
    r = run("plan", WEEK, "--force", env={**host, digests.ENV: str(other)})
    assert r.exit_code == 1 and r.err == (f"error: {other}: not the leak-check key this station's digests were made "
                                          "with (write the build host's copy again: `radio keys leak-check-key "
                                          "FILE`)\n")
    # a detail added to the register since the digests were written, sealed without an identity
    register = root / "private" / "correspondents.yaml"
    (root / "private" / "correspondents.yaml.age").unlink()
    register.write_text(REGISTER.replace('aliases: ["Sonya"]', 'aliases: ["Sonya", "Sunny"]'), encoding="utf-8")
    r = run("keys", "seal", env={"RADIO_IDENTITY": ""})
    assert r.exit_code == 0 and "have no leak-check digests yet" in r.err
    r = run("plan", WEEK, "--force", env=host)
    assert r.exit_code == 1 and r.err == (
        f"error: {s['path']}: the correspondents' register changed since this report's leak-check digests were "
        "written (an editor brings them up to date: `radio --identity FILE keys digests`)\n")
    r = run("--identity", str(s["identity"]), "keys", "digests")
    assert r.exit_code == 0 and r.out.startswith("leak-check digests: 12 reports' private blocks"), r.err
    assert run("plan", WEEK, "--force", env=host).exit_code == 0
    # a private block changed by hand and sealed without an identity: stale until an editor writes its digests
    path = s["path"]
    text = path.read_text(encoding="utf-8")
    block = text.split("private: |\n", 1)[1].split("\n---\n", 1)[0]
    path.write_text(text.replace(block, "  correspondent: lantern\n  notes: also Redcliff"), encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace("private: |\n", "private:\n"), encoding="utf-8")
    assert run("keys", "seal", env={"RADIO_IDENTITY": ""}).exit_code == 0
    r = run("plan", WEEK, "--force", env=host)
    assert r.exit_code == 1 and r.err == (
        f"error: {path}: the private block changed since its leak-check digests were written (an editor brings "
        "them up to date: `radio --identity FILE keys digests`)\n")


def test_the_producers_own_words_are_refused_alike(sealed):
    """Words in the rundown tied to no report may name no report's withheld detail: the same refusal from the
    editor's check and the build host's."""
    from ruamel.yaml import YAML
    run, root = sealed["run"], sealed["root"]
    assert run("--identity", str(sealed["identity"]), "plan", WEEK, "--force").exit_code == 0
    path = root / "episodes" / WEEK / "rundown.yaml"
    before = path.read_text(encoding="utf-8")
    yaml = YAML()
    data = yaml.load(before)
    data["items"].append({"id": "thanks", "type": "read", "host": "anna", "text": "Thanks to Ѕonya for the call."})
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(data, f)
    try:
        editor = run("--identity", str(sealed["identity"]), "script", WEEK)
        host = run("script", WEEK, env={"RADIO_IDENTITY": "", digests.ENV: str(sealed["key"])})
    finally:
        path.write_text(before, encoding="utf-8")
    assert editor.exit_code == host.exit_code == 1
    assert editor.err == host.err == (
        f"error: {path}: item thanks: the text names the withheld correspondent's alias of report {REPORT} "
        f"(rewrite the text without it (see `radio report show {REPORT}`), or remove it to use the report's own "
        "words)\n")


def test_when_an_editor_leaves_the_leak_check_key_is_new(tmp_path):
    s = _seal(tmp_path)
    run, root = s["run"], s["root"]
    marek = tmp_path / "marek.key"
    assert run("keys", "new", str(marek)).exit_code == 0
    public = marek.read_text().split("public key: ")[1].split()[0]
    assert run("--identity", str(s["identity"]), "keys", "add", "marek", public).exit_code == 0
    host = {"RADIO_IDENTITY": "", digests.ENV: str(s["key"])}
    assert run("plan", WEEK, env=host).exit_code == 0  # adding an editor keeps the key
    r = run("--identity", str(s["identity"]), "keys", "remove", "marek")
    assert r.exit_code == 0 and r.out.splitlines()[-1] == (
        "the leak-check key is new (they knew the old one): give each build host its new copy with `radio keys "
        "leak-check-key FILE`")
    r = run("plan", WEEK, "--force", env=host)
    assert r.exit_code == 1 and "not the leak-check key this station's digests were made with" in r.err
    assert r.err.count("\n") == 1
    fresh = tmp_path / "build-host" / "new.key"
    assert run("--identity", str(s["identity"]), "keys", "leak-check-key", str(fresh)).exit_code == 0
    assert fresh.read_text() != s["key"].read_text()
    assert run("plan", WEEK, "--force", env={**host, digests.ENV: str(fresh)}).exit_code == 0
    r = run("-v", "check")
    assert "ok   leak-check digests are up to date for all 12 sealed private blocks" in r.out, r.out


def test_the_digests_list_a_block_in_the_desks_order():
    """Whatever order an editor wrote the block in, the digests keep the desk's: the first detail a text names is
    the one both checks name."""
    import datetime as dt
    from radio.reports.model import Report
    block = {"notes": "Met Tomas Unreal at the depot.", "extra": "Greyhaven", "correspondent": "lantern",
             "sender_name": "Sofia Imaginary"}
    register = {"lantern": {"name": "Sofia Imaginary", "town": "Stonebridge"}}
    report = Report(id="x-y", title="A title", received=dt.date(2026, 11, 20), private=block)
    report._register = register["lantern"]
    k = os.urandom(32)
    e = digests.entry(k, "0" * 64, block, register, "r")
    assert [d[0] for d in e["details"]] == [f for f, _ in withheld_details(report)]
    assert e["register"] == "r" and not digests.entry(k, "0" * 64, {"notes": "x y z"}, register, "r")["register"]
