"""`radio check` for data at rest: private plain text in the tree or in tracked git history, permissions,
the editors (one is a warning: a lost key loses the sources), an unfinished rotation. Also what to run to purge
old plain text from git history."""

from __future__ import annotations

import shlex
import stat
import subprocess
from pathlib import Path

from radio.keys import digests, editors, rotate, store

Result = tuple[bool | None, str]  # (True ok / False fail / None warning, what)


def _git(root: Path, *args: str, data: bytes | None = None) -> bytes | None:
    try:
        r = subprocess.run(["git", "-C", str(root), *args], input=data, capture_output=True, check=False)
    except FileNotFoundError:
        return None
    return r.stdout if r.returncode == 0 else None


def history(station) -> tuple[list[str], list[tuple[str, bytes]]]:
    """(private/ paths ever committed in plain text, [(report path, blob)] whose private block was plain),
    over every ref of the git repository the station is in. Empty when it is not in one."""
    root = editors.root_of(station).resolve()
    prefix = _git(root, "rev-parse", "--show-prefix")
    if prefix is None:
        return [], []
    prefix_s = prefix.decode().strip()
    listing = _git(root, "rev-list", "--all", "--objects", "--filter=object:type=blob",
                   "--filter-provided-objects", "--", f"{prefix_s}private", f"{prefix_s}episodes")
    if not listing:
        return [], []
    plain_paths: set[str] = set()
    blobs: list[tuple[str, str]] = []
    for line in listing.decode("utf-8", "replace").splitlines():
        sha, _, path = line.partition(" ")
        if not path.startswith(prefix_s):
            continue
        rel = path[len(prefix_s):]
        parts = rel.split("/")
        if parts[0] == "private" and len(parts) > 1 and not rel.endswith((store.SEALED_SUFFIX, store.LINES_SUFFIX)) \
                and not parts[-1].endswith(".lock"):
            plain_paths.add(path)
        elif parts[0] == "episodes" and len(parts) == 4 and parts[2] == "reports" and parts[3].count(".") == 1 \
                and parts[3].endswith(".md"):
            blobs.append((path, sha))
        elif parts[0] == "episodes" and len(parts) == 4 and parts[2] == "history" and parts[3].endswith(".jsonl"):
            blobs.append((path, sha))
    leaky: list[tuple[str, bytes]] = []
    if blobs:
        out = _git(root, "cat-file", "--batch", data="".join(f"{sha}\n" for _, sha in blobs).encode())
        pos = 0
        for path, _sha in blobs:
            header_end = out.index(b"\n", pos)
            size = int(out[pos:header_end].split()[2])
            content = out[header_end + 1: header_end + 1 + size]
            pos = header_end + 1 + size + 1
            text = content.decode("utf-8", "replace")
            if (rotate.history_text_is_plain(text) if path.endswith(".jsonl") else
                    rotate.has_plain_private_text(text)):
                leaky.append((path, content))
    return sorted(plain_paths), leaky


def purge_commands(paths: list[str], reports: list[tuple[str, bytes]]) -> list[str]:
    """What to run (in the repository, after a backup) to rewrite history without the plain text."""
    cmds = []
    if paths:
        cmds.append("git filter-repo --force --invert-paths " + " ".join(f"--path {shlex.quote(p)}" for p in paths))
    if reports:
        cmds.append("git filter-repo --force --replace-text <(radio keys purge-list)")
    if cmds:
        cmds.append("then push with --force to every remote, and ask everyone with a clone to clone again "
                    "(a clone made before still holds the old history)")
    return cmds


_JSON_STR = r'"(?:[^"\\]|\\.)*"'
PURGE_RULES = [
    # a report's private block written out in plain text (block style, then flow style), replaced by an empty one
    r"regex:(?m)^private:[ \t]*(?:#[^\n]*)?\n(?:[ \t]+[^\n]*\n|[ \t]*\n(?=[ \t]))+==>private: {}\n",
    r"regex:(?m)^private:[ \t]*\{[^\n]*\}[ \t]*$==>private: {}",
    # a hold or rejection reason and a check's note, written on their line in plain text
    r"regex:(?m)^reason:[ \t]+(?![|>\s])[^\n]*$==>reason: " + rotate.PURGED,
    r"regex:(?m)^([ \t]*-?[ \t]*)note:[ \t]+(?![|>\s])[^\n]*$==>\1note: purged",
    # the same confidences in a report's history (one JSON event a line, keys sorted)
    rf'regex:("event": "check", "method": {_JSON_STR}, "note": ){_JSON_STR}==>\1"purged"',
    rf'regex:("event": "status", "from": {_JSON_STR}, "reason": ){_JSON_STR}==>\1"purged"',
    rf'regex:("correspondent": ){_JSON_STR}(, "event": "released")==>\1"purged"\2',
    rf'regex:("event": "released", "quarantine": {_JSON_STR}, "reason": ){_JSON_STR}==>\1"purged"',
    rf'regex:("event": "renamed", "from": ){_JSON_STR}==>\1"purged"',
]


def purge_list(station) -> list[str]:
    """git filter-repo --replace-text rules that empty every plain private block in the history's reports. They
    hold no private value, so they may be kept in a file too."""
    return list(PURGE_RULES)


def _modes(station) -> list[str]:
    """Private paths whose permissions are wider than 0600 (files) or 0700 (folders)."""
    root = editors.root_of(station)
    bad = []
    for top in (root / "private", root / "keys"):
        if not top.exists():
            continue
        for p in [top, *sorted(top.rglob("*"))]:
            st = p.lstat()
            want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
            if stat.S_IMODE(st.st_mode) & ~want:
                bad.append(f"{p.relative_to(root)} ({oct(stat.S_IMODE(st.st_mode))[2:]})")
    return bad


def audit(station, *, with_history: bool = True) -> list[Result]:
    root = editors.root_of(station)
    results: list[Result] = []
    plain = [p.relative_to(root).as_posix() for p in rotate.plain_private_files(station)]
    plain += [p.relative_to(root).as_posix() for p in rotate.plain_histories(station)]
    reports = [p.relative_to(root).as_posix() for p in rotate.plain_reports(station)]
    if not editors.sealed(station):
        # a station that never chose to seal is told by `radio keys list`; check judges sealed stations
        return results
    eds = editors.load(station)
    results.append((True if len(eds) > 1 else None,
                    f"{len(eds)} editors hold the keys" if len(eds) > 1 else
                    "only one editor holds the key: if it is lost, the sources are lost (add a second with "
                    "`radio keys add NAME PUBLIC-KEY`)"))
    if rotate.unfinished(station):
        results.append((False, "a change of editors was interrupted: run `radio keys rotate` to finish it"))
    found = plain + reports
    results.append((not found, "nothing private in plain text in the station" if not found else
                    f"private data in plain text: {', '.join(found[:5])}" + (f" and {len(found) - 5} more"
                    if len(found) > 5 else "") + " (encrypt it: `radio keys seal`)"))
    armors = [a for p in rotate.report_files(station)
              if (a := digests.front_matter_armor(p.read_text(encoding="utf-8", errors="replace")))]
    behind = digests.stale(station, armors)
    results.append((None if behind else True, f"{behind} of {len(armors)} sealed private blocks have no up-to-date "
                    "leak-check digests: a build host with only the leak-check key refuses them (an editor runs "
                    "`radio --identity FILE keys digests`)" if behind else
                    f"leak-check digests are up to date for all {len(armors)} sealed private blocks"))
    modes = _modes(station)
    results.append((not modes, "private files are 0600 in 0700 folders" if not modes else
                    f"private paths others can read: {', '.join(modes[:5])}" + (f" and {len(modes) - 5} more"
                    if len(modes) > 5 else "") + " (fix: chmod -R go= private keys)"))
    if with_history:
        paths, leaky = history(station)
        if paths or leaky:
            what = (f"git history holds private data in plain text ({len(paths)} private/ files, "
                    f"{len(leaky)} versions of reports): purge it: " + "; ".join(purge_commands(paths, leaky)))
            results.append((None if editors.is_demo(station) else False,
                            what + (" (a demo station: its data is fictional)" if editors.is_demo(station) else "")))
        elif _git(root, "rev-parse", "--git-dir") is not None:
            results.append((True, "git history holds no private plain text"))
    return results
