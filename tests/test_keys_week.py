"""A whole week on a sealed station, and then a copy of it taken as a thief would: every file, every git blob and
the temp folder scanned in UTF-8, UTF-16 and Latin-1 for every private value: none is there in plain text.
Also: the sealed demo, the README's keys walkthrough, a desk session unlocked by passphrase, attachments exported
without their metadata."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.canary import leaks
from tests.conftest import REPO, WEEK, copy_station, runner_for
from tests.mail_util import SENDER_VALUES, messages, write_maildir
from tests.test_keys import new_key, sealed_canaries
from tests.test_mail_send import PASSWORD, USER, smtp  # noqa: F401 (the local SMTP server fixture)

IN_WEEK = "2026-W49"


def found(files: list[Path], canaries: list[str]) -> list[tuple[str, str]]:
    """(file, canary) for every canary in any file, in UTF-8, UTF-16 (either order) or Latin-1: one pass a file."""
    import re
    forms = {}
    for c in canaries:
        for enc in ("utf-8", "utf-16-le", "utf-16-be", "latin-1"):
            try:
                forms[c.encode(enc)] = c
            except UnicodeEncodeError:
                pass
    pattern = re.compile(b"|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
    hits = []
    for f in files:
        for m in pattern.finditer(f.read_bytes()):
            hits.append((str(f), forms[m.group(0)]))
    return sorted(set(hits))


def radio_in(root: Path, tmp: Path, env: dict):
    """`radio` in a process of its own, with its temp folder `tmp`: whatever it puts there is scanned too."""
    def go(*args: str) -> subprocess.CompletedProcess:
        r = subprocess.run([sys.executable, "-m", "radio", "--station", str(root), *args], capture_output=True,
                           text=True, env={**os.environ, "TMPDIR": str(tmp), "SOURCE_DATE_EPOCH": "1763740800",
                                           **env})
        assert r.returncode == 0, f"radio {' '.join(args)}\n{r.stderr}"
        return r
    return go


def git(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "Desk", "GIT_AUTHOR_EMAIL": "desk@example.org",
                               "GIT_COMMITTER_NAME": "Desk", "GIT_COMMITTER_EMAIL": "desk@example.org"}).stdout


def commit(root: Path, what: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", what, "--allow-empty")


def test_a_sealed_week_leaves_no_private_value_readable(tmp_path, smtp):  # noqa: F811
    root = copy_station(tmp_path / "station")
    register = (root / "private" / "correspondents.yaml").read_text(encoding="utf-8")
    canaries = sealed_canaries(root) + SENDER_VALUES + ["Oleg Notreal", "night nurse", "signal: heron-demo",
                                                        "CANARYVERIFYNOTE", "CANARYHOLDREASON"]
    with (root / "private" / "correspondents.yaml").open("a", encoding="utf-8") as f:
        f.write(register)  # the demo's correspondents again, so their mail is taken in
    toml = root / "radio.toml"
    toml.write_text(toml.read_text().replace("smtp_port = 587", f"smtp_port = {smtp['port']}")
                    .replace("rate_per_minute = 30", "rate_per_minute = 6000")
                    )  # a short show: the week, not the audio, is tested
    toml.write_text(re.sub(r'(?m)^slot = "[^"]*"', 'slot = "2:00"', toml.read_text(), count=1))
    # as a station keeps itself in git: the sealed private data committed, generated outputs not
    (root / ".gitignore").write_text("episodes/*/out/\nepisodes/*/segments/\nfeeds/\n")
    elena, pe = new_key(tmp_path, "elena")
    marek, pm = new_key(tmp_path, "marek")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    run = radio_in(root, tmp, {"RADIO_IDENTITY": str(elena), "SSL_CERT_FILE": str(smtp["cert"]),
                               "RADIO_SMTP_USER": USER, "RADIO_SMTP_PASSWORD": PASSWORD})
    run("keys", "init", "elena", pe)
    run("keys", "add", "marek", pm)
    git(root, "init", "-q")
    commit(root, "sealed station")

    maildir = str(write_maildir(tmp_path / "Maildir", messages()))
    assert run("intake", IN_WEEK, "--maildir", maildir).stdout.endswith("4 taken in, 5 quarantined, 1 already taken in\n")
    # a message is taken in once, though what says it was is sealed
    assert run("intake", IN_WEEK, "--maildir", maildir).stdout == "0 taken in, 0 quarantined, 10 already taken in\n"
    commit(root, "intake")
    run("report", "verify", "teacher-dismissed-after-meeting", "--by", "ana", "--method", "phone",
        "--private-note", "CANARYVERIFYNOTE: the head teacher's sister confirmed it")
    run("report", "hold", "cement-works-arrest", "--private-note", "CANARYHOLDREASON: family asked us to wait")
    run("report", "translate", "cement-works-arrest", "--lang", "fr")
    commit(root, "the desk's week")
    # what the desk sealed this week (intake, checks, a hold) has its leak-check digests: a build host with only
    # the leak-check key plans the week without asking for an editor
    host_key = tmp_path / "build-host" / "leak-check.key"
    run("keys", "leak-check-key", str(host_key))
    host = radio_in(root, tmp, {"RADIO_IDENTITY": "", "RADIO_LEAK_CHECK_KEY": str(host_key)})
    host("plan", IN_WEEK)
    host("plan", WEEK, "--force")
    run("build", WEEK, "--draft", "--allow-under", "--allow-over")
    commit(root, "built")
    run("bulletin", WEEK)
    smtp["store"].clear()
    out = run("send", WEEK).stdout
    assert out.endswith("4 sent, 0 already sent, 0 uncertain, 0 failed\n")
    assert len(smtp["store"].messages) == 4
    commit(root, "sent")
    run("keys", "remove", "marek")
    commit(root, "marek left")

    # what a thief gets: the folder with its .git, every object git holds, the temp folder
    assert (root / "private" / "send" / f"{WEEK}.jsonl.ages").is_file()
    assert (root / "private" / "unsubscribe.key.age").is_file()
    assert list((root / "private" / "quarantine" / IN_WEEK).glob("*.eml.age"))
    assert list((root / "private" / "intake").rglob("*.age"))
    blobs = tmp_path / "all-git-objects.bin"
    blobs.write_bytes(git(root, "cat-file", "--batch-all-objects", "--batch"))
    files = [p for p in root.rglob("*") if p.is_file()] + [blobs] + [p for p in tmp.rglob("*") if p.is_file()]
    assert len(files) > 100
    assert found(files, canaries) == []
    planted = tmp_path / "planted.txt"  # the scan can fail: a canary written as UTF-16 is found
    planted.write_bytes(canaries[0].encode("utf-16-le"))
    assert found([planted], canaries) == [(str(planted), canaries[0])]
    # and the desk still works for the editor who stayed
    shown = runner_for(root)("--identity", str(elena), "report", "show", "cement-works-arrest", "--private")
    assert shown.exit_code == 0 and "CANARYCONTACT" in shown.out and "CANARYHOLDREASON" in shown.out
    history = runner_for(root)("--identity", str(elena), "report", "history", "teacher-dismissed-after-meeting")
    assert "CANARYVERIFYNOTE" in history.out, history.out
    history = runner_for(root)("report", "history", "cement-works-arrest", env={"RADIO_IDENTITY": ""})
    assert history.exit_code == 0 and "-> held: [sealed]" in history.out, history.out
    r = runner_for(root)("-v", "check")
    assert "ok   nothing private in plain text in the station" in r.out
    assert "ok   git history holds no private plain text" in r.out


def test_the_demo_ships_sealed_and_its_identity_opens_it(tmp_path):
    root = copy_station(tmp_path / "demo", sealed=True)
    assert sorted(p.name for p in (root / "private").iterdir()) == ["correspondents.yaml.age", "readers.csv.age",
                                                                    "subscribers.csv.age"]
    assert "DEMO ONLY" in (REPO / "keys" / "demo-only" / "elena.key").read_text()
    run = runner_for(root)
    assert run("report", "list", WEEK, env={"RADIO_IDENTITY": ""}).exit_code == 0
    r = run("--identity", str(REPO / "keys" / "demo-only" / "elena.key"), "report", "show", "cement-works-arrest",
            "--private")
    assert r.exit_code == 0 and "leave word with the night nurse" in r.out
    r = run("-v", "check")
    assert "ok   2 editors hold the keys" in r.out and "FAIL private" not in r.out


def test_readme_keys_walkthrough(tmp_path):
    """The README's keys transcript, command by command ("..." in it stands for a key)."""
    import re
    import shlex
    from tests.test_readme import matches
    text = (REPO / "README.md").read_text(encoding="utf-8").split("<!-- walkthrough: keys -->\n```console\n", 1)[1]
    text = text.split("\n```", 1)[0]
    steps: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    assert sum(" keys " in c for c, _ in steps) >= 5
    root = copy_station(tmp_path / "station")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "marek@laptop", "-f",
                    str(home / ".ssh" / "id_ed25519")], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("RADIO_STATION", "RADIO_IDENTITY")}
    env.update(HOME=str(home), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    for cmd, expected in steps:
        r = subprocess.run(cmd, shell=True, cwd=root, env=env, capture_output=True, text=True)
        assert r.returncode == 0, f"$ {cmd}\n{r.stderr}"
        assert matches(expected, r.stdout.splitlines()), f"$ {cmd}\nexpected:\n" + "\n".join(expected) + \
            "\ngot:\n" + r.stdout
    assert not re.search(r"leave word with the night nurse", (root / "episodes" / WEEK / "reports" /
                                                             "cement-works-arrest.md").read_text())


def test_a_desk_session_unlocks_by_passphrase_and_forgets_at_logout(tmp_path):
    from radio.keys import keyring
    from radio.keys.age import KeysError
    from radio.reports.files import find_report
    from radio.station import Station
    root = copy_station(tmp_path / "demo", sealed=True)
    run = runner_for(root)
    ident = str(REPO / "keys" / "demo-only" / "elena.key")
    r = run("--identity", ident, "keys", "passphrase", "elena", env={"RADIO_PASSPHRASE": "a long passphrase"})
    assert r.exit_code == 0 and r.out == "kept elena's identity under their passphrase in keys/identities/elena.age\n"
    kept = (root / "keys" / "identities" / "elena.age").read_bytes()
    assert b"AGE-SECRET-KEY" not in kept and b"scrypt" in kept
    station = Station.open(root)
    with pytest.raises(KeysError, match="wrong passphrase"):
        keyring.unlock(station, "elena", "not the passphrase")
    session = keyring.unlock(station, "elena", "a long passphrase")  # login: in this session's memory only
    keyring.use_file(None)
    with keyring.unlocked(session):
        assert find_report(station, "cement-works-arrest").report.private.contact == "leave word with the night nurse"
    session = None  # logout
    assert find_report(station, "cement-works-arrest").report.private.sealed


def test_an_exported_attachment_loses_its_metadata(tmp_path):
    if not shutil.which("exiftool"):
        pytest.skip("exiftool makes the fixture's metadata")
    root = copy_station(tmp_path / "demo", sealed=True)
    photo = tmp_path / "photo.jpg"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "color=red:s=16x16", "-frames:v", "1",
                    str(photo)], check=True)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-GPSLatitude=51.5", "-GPSLatitudeRef=N",
                    "-SerialNumber=CANARYSERIAL", "-Artist=CANARYARTIST", str(photo)], check=True)
    from radio.keys import store
    from radio.station import Station
    station = Station.open(root)
    store.write_bytes(station, "intake/cement-works-arrest/photo.jpg", photo.read_bytes())
    assert (root / "private" / "intake" / "cement-works-arrest" / "photo.jpg.age").is_file()
    out = tmp_path / "export"
    out.mkdir()
    r = runner_for(root)("--identity", str(REPO / "keys" / "demo-only" / "elena.key"), "report", "attachment",
                         "cement-works-arrest", "photo.jpg", "--to", str(out))
    assert r.exit_code == 0, r.err
    assert r.out.startswith(f"wrote {out / 'photo.jpg'} without its metadata; removed: ")
    assert "Artist" in r.out and "GPSLatitude" in r.out and "SerialNumber" in r.out and "CANARY" not in r.out
    assert leaks([out], ["CANARYSERIAL", "CANARYARTIST"]) == []
    assert not list(Path("/dev/shm").glob("radio-export-*"))


def test_one_click_unsubscribe_works_on_a_sealed_list_without_a_key(tmp_path):
    from radio.keys import keyring
    from radio.mail import subscribers
    from radio.mail.send import unsubscribe_token
    from radio.mail.unsubscribe import unsubscribe
    from radio.station import Station
    root = copy_station(tmp_path / "demo", sealed=True)
    station = Station.open(root)
    keyring.use_file(str(REPO / "keys" / "demo-only" / "elena.key"))
    before = subscribers.load(station)
    token = unsubscribe_token(station, before[1].address)
    sealed = (root / "private" / "subscribers.csv.age").read_bytes()
    keyring.use_file(None)
    saved = os.environ.pop("RADIO_IDENTITY", None)
    try:
        assert unsubscribe(station, token).done == "removed"  # the desk's server: no editor's key
        assert unsubscribe(station, token).done == "already"
    finally:
        if saved is not None:
            os.environ["RADIO_IDENTITY"] = saved
    assert (root / "private" / "subscribers.csv.age").read_bytes() == sealed
    assert before[1].address.encode() not in (root / "private" / "unsubscribe-pending.txt").read_bytes()
    keyring.use_file(str(REPO / "keys" / "demo-only" / "elena.key"))
    after = subscribers.load(station)  # opened by an editor: the subscriber is gone, so no send reaches them
    keyring.use_file(None)
    assert [s.address for s in after] == [s.address for s in before if s is not before[1]]
