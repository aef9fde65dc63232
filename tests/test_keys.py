"""Sources safe at rest: the station's private data encrypted to its editors (age), keys added, removed and rotated,
wrong keys refused in one line, a kill during rotation harmless, permissions whatever the umask, plain text found
in the tree and in git history."""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.canary import leaks, plant
from tests.conftest import WEEK, copy_station, runner_for

REPORT = "cement-works-arrest"


def new_key(tmp: Path, name: str) -> tuple[Path, str]:
    path = tmp / f"{name}.key"
    r = runner_for(tmp)("keys", "new", str(path))
    assert r.exit_code == 0, r.err
    return path, r.out.strip()


@pytest.fixture
def keys(tmp_path):
    a, pa = new_key(tmp_path, "elena")
    b, pb = new_key(tmp_path, "marek")
    c, pc = new_key(tmp_path, "outsider")
    return {"elena": (a, pa), "marek": (b, pb), "outsider": (c, pc)}


# What is sealed at rest: the private block, everything under private/, each check's note and the hold or
# rejection reason. Who checked and how stay plain text in the report (the build counts the checks for the
# policy).
SEALED_KINDS = ("CONTACT", "CORRESPONDENT", "NOTES", "EXTRA", "PSEUD", "NAME", "PHONE", "PRIVFILE", "CHECKNOTE",
                "REASON")


def sealed_canaries(root: Path) -> list[str]:
    return [c for c in plant(root) if c.removeprefix("CANARY").rstrip("X0123456789") in SEALED_KINDS]


def sealed_station(tmp_path, keys, editors=("elena",)):
    root = copy_station(tmp_path / "station")
    canaries = sealed_canaries(root)
    run = runner_for(root)
    name = editors[0]
    r = run("keys", "init", name, keys[name][1])
    assert r.exit_code == 0, r.err
    for other in editors[1:]:
        r = run("--identity", str(keys[name][0]), "keys", "add", other, keys[other][1])
        assert r.exit_code == 0, r.err
    return root, run, canaries


def test_init_seals_everything_and_no_canary_is_left_in_plain_text(tmp_path, keys):
    root = copy_station(tmp_path / "station")
    canaries = sealed_canaries(root)
    # a history kept before the station was sealed: its confidences are sealed in place, the rest stays plain
    log = root / "episodes" / WEEK / "history" / f"{REPORT}.jsonl"
    log.parent.mkdir()
    events = [{"at": "2026-11-20T10:00:00+01:00", "by": "elena", "event": "check", "method": "phone",
               "note": "CANARYHISTNOTE"},
              {"at": "2026-11-20T11:00:00+01:00", "event": "status", "from": "unverified", "reason": "CANARYHISTREASON",
               "to": "held"}]
    log.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    canaries += ["CANARYHISTNOTE", "CANARYHISTREASON"]
    run = runner_for(root)
    r = run("keys", "init", "elena", keys["elena"][1])
    assert r.exit_code == 0, r.err
    stored = [json.loads(line) for line in log.read_text().splitlines()]
    assert [sorted(e) for e in stored] == [["at", "by", "event", "method", "sealed"],
                                           ["at", "event", "from", "sealed", "to"]]
    shown = run("--identity", str(keys["elena"][0]), "report", "history", REPORT).out
    assert "check by elena (phone): CANARYHISTNOTE" in shown and "status unverified -> held: CANARYHISTREASON" in shown
    shown = run("report", "history", REPORT, env={"RADIO_IDENTITY": ""}).out
    assert "check by elena (phone): [sealed]" in shown and "CANARYHIST" not in shown and "CHECKNOTE" not in shown
    assert sorted(p.name for p in (root / "private").iterdir()) == \
        ["correspondents.yaml.age", "notes.txt.age", "readers.csv.age", "subscribers.csv.age"]
    assert leaks([root], canaries) == []
    text = (root / "episodes" / WEEK / "reports" / f"{REPORT}.md").read_text()
    assert "private: |\n  -----BEGIN AGE ENCRYPTED FILE-----\n" in text
    assert "title: Police detain a cement worker after a leaflet at the gate" in text  # public fields stay plain
    # the block is age's own armor: the age tool opens it with the editor's identity
    block = text.split("private: |\n", 1)[1].split("\n---\n", 1)[0]
    armored = "\n".join(line.strip() for line in block.splitlines()) + "\n"
    out = subprocess.run(["age", "-d", "-i", str(keys["elena"][0])], input=armored.encode(), capture_output=True)
    assert out.returncode == 0 and b"CANARYCONTACT" in out.stdout


def test_public_work_needs_no_key_and_private_work_says_what_it_needs(tmp_path, keys):
    root, run, canaries = sealed_station(tmp_path, keys)
    env = {"RADIO_IDENTITY": ""}
    r = run("report", "list", WEEK, env=env)
    assert r.exit_code == 0, r.err
    # what makes a public output checks it against the sources' details: a build host holds the leak-check key
    # (tests/test_leak_digests.py), not an editor's
    host = tmp_path / "build-host.key"
    assert run("--identity", str(keys["elena"][0]), "keys", "leak-check-key", str(host)).exit_code == 0
    assert run("plan", WEEK, env={**env, "RADIO_LEAK_CHECK_KEY": str(host)}).exit_code == 0
    assert run("script", WEEK, env={**env, "RADIO_LEAK_CHECK_KEY": str(host)}).exit_code == 0
    assert run("script", WEEK, env=env).exit_code == 1
    r = run("report", "show", REPORT, "--private", env=env)
    assert r.exit_code == 1 and r.err == ("error: `report show --private` needs an editor's key (pass --identity "
                                         "FILE or set RADIO_IDENTITY to an editor's age identity or SSH key)\n")
    r = run("report", "show", REPORT, "--private", env={"RADIO_IDENTITY": str(keys["elena"][0])})
    assert r.exit_code == 0 and "CANARYCONTACT" in r.out and "CANARYNOTES" in r.out
    # the desk changes a report without a key: its sealed block is kept byte for byte
    path = root / "episodes" / WEEK / "reports" / f"{REPORT}.md"
    block = path.read_text().split("private: |")[1]
    assert run("report", "hold", REPORT, "--reason", "waiting for the lawyer", env=env).exit_code == 0
    assert path.read_text().split("private: |")[1] == block
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert leaks([root], canaries) == []


def test_two_editors_add_remove_and_a_wrong_key(tmp_path, keys):
    root, run, _ = sealed_station(tmp_path, keys, editors=("elena", "marek"))
    elena, marek, outsider = (str(keys[n][0]) for n in ("elena", "marek", "outsider"))
    r = run("keys", "list")
    assert r.out.splitlines() == [f"elena            age          {keys['elena'][1]}",
                                  f"marek            age          {keys['marek'][1]}"]
    for who in (elena, marek):
        assert "CANARYCONTACT" in run("--identity", who, "report", "show", REPORT, "--private").out
    path = root / "episodes" / WEEK / "reports" / f"{REPORT}.md"
    r = run("--identity", outsider, "report", "show", REPORT, "--private")
    assert r.exit_code == 1 and r.err == (f"error: {path}: encrypted to other editors' keys, not to this identity "
                                         "(use an identity of one of the editors in keys/editors.toml "
                                         "(radio keys list))\n")
    before = path.read_bytes()
    r = run("--identity", marek, "keys", "remove", "elena")
    assert r.exit_code == 0, r.err
    assert "What cannot be revoked: copies they already had" in r.out
    assert path.read_bytes() != before  # re-encrypted
    assert run("--identity", elena, "report", "show", REPORT, "--private").exit_code == 1
    assert "CANARYCONTACT" in run("--identity", marek, "report", "show", REPORT, "--private").out
    r = run("--identity", marek, "keys", "remove", "marek")
    assert r.exit_code == 1 and "is the last editor" in r.err
    r = run("--identity", marek, "keys", "add", "bad", "ssh-rsa AAAAB3Nza")
    assert r.exit_code == 1 and r.err.startswith("error: 'ssh-rsa' is not a public key this station accepts")


def test_ssh_ed25519_editors(tmp_path, keys):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "olga@laptop", "-f",
                    str(tmp_path / "olga")], check=True)
    root, run, _ = sealed_station(tmp_path, keys)
    pub = (tmp_path / "olga.pub").read_text().strip()
    assert run("--identity", str(keys["elena"][0]), "keys", "add", "olga", pub).exit_code == 0
    r = run("--identity", str(tmp_path / "olga"), "report", "show", REPORT, "--private")
    assert r.exit_code == 0 and "CANARYCONTACT" in r.out


def test_a_passphrase_protected_ssh_key_opens_in_memory(tmp_path, keys):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "correct horse battery", "-C", "olga@laptop", "-f",
                    str(tmp_path / "olga")], check=True)
    root, run, _ = sealed_station(tmp_path, keys)
    pub = (tmp_path / "olga.pub").read_text().strip()
    assert run("--identity", str(keys["elena"][0]), "keys", "add", "olga", pub).exit_code == 0
    olga = str(tmp_path / "olga")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    r = run("--identity", olga, "report", "show", REPORT, "--private",
            env={"RADIO_PASSPHRASE": "correct horse battery"})
    assert r.exit_code == 0 and "CANARYCONTACT" in r.out, r.err
    r = run("--identity", olga, "report", "show", REPORT, "--private", env={"RADIO_PASSPHRASE": "wrong horse"})
    assert r.exit_code == 1 and r.err == (f"error: {olga}: wrong passphrase for the SSH key (or the key file is "
                                         "damaged) (try the passphrase again)\n")
    r = run("--identity", olga, "report", "show", REPORT, "--private", env={"RADIO_PASSPHRASE": ""})
    assert r.exit_code == 1 and r.err == ("error: this identity is protected by a passphrase (set RADIO_PASSPHRASE "
                                         "or run in a terminal)\n")
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before  # nothing opened was written
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "x" * 10, "-f", str(tmp_path / "rsa")],
                   check=True)
    r = run("--identity", str(tmp_path / "rsa"), "report", "show", REPORT, "--private",
            env={"RADIO_PASSPHRASE": "x" * 10})
    assert r.exit_code == 1 and "only ed25519 keys can" in r.err


def test_damaged_ciphertext_is_one_line_and_nothing_is_rewritten(tmp_path, keys):
    root, run, _ = sealed_station(tmp_path, keys)
    reg = root / "private" / "subscribers.csv.age"
    data = reg.read_bytes()
    for bad, why in ((data[:-20], "truncated or has been tampered with"),
                     (data[:-40] + bytes(b ^ 1 for b in data[-40:]), "truncated or has been tampered with"),
                     (b"hello", "not an age-encrypted file")):
        reg.write_bytes(bad)
        r = run("--identity", str(keys["elena"][0]), "send", WEEK, "--dry-run")
        assert r.exit_code == 1 and r.err.startswith(f"error: {reg}: ") and why in r.err, r.err
        assert reg.read_bytes() == bad
    r = run("--identity", str(tmp_path / "missing.key"), "report", "show", REPORT, "--private")
    assert r.exit_code == 1 and r.err.startswith(f"error: {tmp_path / 'missing.key'}: no such identity file")


def test_rotation_killed_midway_leaves_every_file_readable_by_old_or_new(tmp_path, keys):
    root, run, _ = sealed_station(tmp_path, keys)
    elena, marek = keys["elena"], keys["marek"]
    # elena is replaced by marek: add marek, killed in the middle of re-encrypting
    marker = tmp_path / "fault"
    env = {**os.environ, "RADIO_FAULT": "rotate-after-5", "RADIO_FAULT_FILE": str(marker),
           "RADIO_IDENTITY": str(elena[0])}
    proc = subprocess.Popen([sys.executable, "-m", "radio", "--station", str(root), "keys", "add", "marek", marek[1]],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline_polls = 0
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()
        deadline_polls += 1
        assert deadline_polls < 60000
        subprocess.run(["sleep", "0.01"])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    import pyrage
    from radio.keys.age import dearmor, parse_identities
    ids = {n: parse_identities(keys[n][0].read_bytes(), n) for n in ("elena", "marek")}
    sealed = sorted((root / "private").rglob("*.age"))
    blocks = []
    for p in sorted((root / "episodes" / WEEK / "reports").glob("*.md")):
        t = p.read_text()
        if "BEGIN AGE" in t:
            blocks.append(dearmor(t.split("private: |\n")[1].split("\n---\n")[0], p))
    readers = []
    for ct in [p.read_bytes() for p in sealed] + blocks:
        readers.append(tuple(n for n in ("elena", "marek") if _opens(pyrage, ct, ids[n])))
    assert all(readers), "a file nobody can read"
    assert ("elena", "marek") in readers and ("elena",) in readers  # really interrupted midway
    assert "interrupted" in run("keys", "list").err
    r = run("-v", "check")
    assert r.exit_code == 1 and "FAIL a change of editors was interrupted: run `radio keys rotate`" in r.out
    assert run("--identity", str(elena[0]), "keys", "rotate").exit_code == 0
    for ct in [p.read_bytes() for p in sealed]:
        assert _opens(pyrage, ct, ids["marek"]) and _opens(pyrage, ct, ids["elena"])


def _opens(pyrage, ct, ids) -> bool:
    try:
        pyrage.decrypt(ct, ids)
        return True
    except pyrage.DecryptError:
        return False


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277])
def test_private_files_are_0600_in_0700_folders_whatever_the_umask(tmp_path, umask):
    from radio import fsutil
    old = os.umask(umask)
    try:
        fsutil.write_text(tmp_path / "private" / "a" / "b" / "x.txt", "secret", private=True)
        fsutil.append_private(tmp_path / "private" / "j" / "log.jsonl", b"{}\n")
        with fsutil.locked(tmp_path / "private" / "l" / ".x.lock", lambda: RuntimeError(), private=True):
            pass
    finally:
        os.umask(old)
    for p in [tmp_path / "private", *(tmp_path / "private").rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), (p, oct(mode))


def test_check_fails_on_plain_text_and_wide_permissions(tmp_path, keys):
    root, run, _ = sealed_station(tmp_path, keys, editors=("elena", "marek"))
    assert run("-v", "check").out.count("ok   nothing private in plain text in the station") == 1
    (root / "private" / "dkim.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    path = root / "episodes" / WEEK / "reports" / "textile-strike-rumour.md"
    t = path.read_text()
    head, block = t.split("private: |\n", 1)
    block_end = block.index("\n---\n")
    path.write_text(head + "private:\n  contact: CANARYHANDWRITTEN\n" + block[block_end + 1:])
    (root / "private").chmod(0o755)
    r = run("-v", "check")
    assert r.exit_code == 1
    assert ("FAIL private data in plain text: private/dkim.pem, episodes/2026-W47/reports/textile-strike-rumour.md "
            "(encrypt it: `radio keys seal`)") in r.out
    assert "FAIL private paths others can read: private (755), private/dkim.pem (644) (fix: chmod -R go= private keys)" in r.out
    assert run("keys", "seal").out == "encrypted: 1 private files, 0 journals, 1 reports' private blocks\n"
    assert "CANARYHANDWRITTEN" in run("--identity", str(keys["marek"][0]), "report", "show",
                                      "textile-strike-rumour", "--private").out
    r = run("-v", "check")
    assert "ok   nothing private in plain text in the station" in r.out and "FAIL private" not in r.out


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "Desk", "GIT_AUTHOR_EMAIL": "desk@example.org",
                               "GIT_COMMITTER_NAME": "Desk", "GIT_COMMITTER_EMAIL": "desk@example.org"}).stdout


def all_blobs(root: Path) -> list[bytes]:
    out = subprocess.run(["git", "-C", str(root), "cat-file", "--batch-all-objects", "--batch"], check=True,
                         capture_output=True).stdout
    return [out]


def test_migration_says_history_is_not_clean_until_it_is_purged(tmp_path, keys):
    root = copy_station(tmp_path / "station")
    canaries = sealed_canaries(root)
    git(root, "init", "-q")
    git(root, "add", "-A", "-f")
    git(root, "commit", "-qm", "the station before it was sealed")
    run = runner_for(root)
    r = run("keys", "init", "elena", keys["elena"][1])
    assert r.exit_code == 0
    assert "git history still holds the old plain text (4 private/ files, 12 versions of reports): it is NOT clean" \
        in r.out
    assert "git filter-repo --force --invert-paths --path private/correspondents.yaml --path private/notes.txt " \
           "--path private/readers.csv --path private/subscribers.csv" in r.out
    git(root, "add", "-A", "-f")
    git(root, "commit", "-qm", "sealed")
    assert run("keys", "add", "marek", keys["marek"][1], "--identity", str(keys["elena"][0])).exit_code == 0
    git(root, "add", "-A", "-f")
    git(root, "commit", "-qm", "a second editor")
    r = run("-v", "check")
    assert r.exit_code == 1 and "FAIL git history holds private data in plain text (4 private/ files, 12 versions " \
                                "of reports): purge it:" in r.out
    # the purge as printed (the report values through a pipe, never a file)
    purge = subprocess.run(["bash", "-c", f"cd {root} && git filter-repo --force --invert-paths "
                            "--path private/correspondents.yaml --path private/notes.txt --path private/readers.csv --path private/subscribers.csv"
                            f" && git filter-repo --force --replace-text <({sys.executable} -m radio keys purge-list)"],
                           capture_output=True, text=True)
    assert purge.returncode == 0, purge.stderr
    git(root, "reflog", "expire", "--expire=now", "--all")
    git(root, "gc", "-q", "--prune=now")
    r = run("-v", "check")
    assert "ok   git history holds no private plain text" in r.out, r.out
    files = [p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts]
    assert leaks(files, canaries) == []
    blobs = tmp_path / "blobs.bin"
    blobs.write_bytes(all_blobs(root)[0])
    assert leaks([blobs], canaries) == []


def test_the_leak_check_key_is_never_plain_in_the_station(tmp_path, keys):
    from radio.keys import digests
    from radio.keys.age import KeysError
    root, run, _ = sealed_station(tmp_path, keys)
    sealed_key = (root / "keys" / "leak-check.key.age").read_bytes()
    assert sealed_key.startswith(b"age-encryption.org/v1\n")
    inside = root / "leak.key"
    r = run("--identity", str(keys["elena"][0]), "keys", "leak-check-key", str(inside))
    assert r.exit_code == 1 and "may not be kept in the station folder" in r.err and not inside.exists()
    host = tmp_path / "build-host" / "leak-check.key"
    r = run("--identity", str(keys["elena"][0]), "keys", "leak-check-key", str(host))
    assert r.exit_code == 0 and stat.S_IMODE(host.stat().st_mode) == 0o600
    k = bytes.fromhex(host.read_text().strip())
    assert len(k) == 32 and k.hex().encode() not in b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())
    # the build host's copy and an editor's identity give the same key; without either there is none
    os.environ[digests.ENV] = str(host)
    try:
        assert digests.key(root) == k
    finally:
        del os.environ[digests.ENV]
    from radio.keys import keyring
    keyring.use_file(str(keys["elena"][0]))
    assert digests.key(root) == k
    keyring.use_file(None)
    saved = os.environ.pop("RADIO_IDENTITY", None)
    try:
        assert digests.key(root) is None
        with pytest.raises(KeysError, match="the build needs the station's leak-check key"):
            digests.key(root, "the build")
    finally:
        if saved is not None:
            os.environ["RADIO_IDENTITY"] = saved
    # a detail is found by its digests alone: the same canonical form under the same key
    stored = digests.digests(k, {"w:ashford mills", "t:005550199"})
    assert digests.names_any(k, {"w:a worker", "w:ashford mills"}, stored)
    assert not digests.names_any(k, {"w:lower vale"}, stored)
    assert not digests.names_any(os.urandom(32), {"w:ashford mills"}, stored)
    # the key is re-encrypted with everything else when the editors change
    assert run("--identity", str(keys["elena"][0]), "keys", "add", "marek", keys["marek"][1]).exit_code == 0
    assert (root / "keys" / "leak-check.key.age").read_bytes() != sealed_key
    keyring.use_file(str(keys["marek"][0]))
    assert digests.key(root) == k
    keyring.use_file(None)
