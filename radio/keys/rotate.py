"""Sealing a station and changing its editors: `radio keys init`, `seal`, `add`, `remove`, `rotate`.

Rotation writes the new set of editors first (with a journal, keys/rotate.journal, saying a rotation is under
way), then re-encrypts each sealed thing on its own, atomically: a kill at any moment leaves every file
readable by the old set or the new one, never neither; running `radio keys rotate` again finishes the job.
Reports are re-sealed under the desk's own per-report lock.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from radio import fsutil
from radio.keys import digests, editors, keyring, store
from radio.keys.age import KeysError, decrypt, encrypt, is_armored, recipient

JOURNAL = "keys/rotate.journal"
LOCK = "keys/.lock"
PLAIN_SKIP = (".lock",)  # lock files hold nothing
# The desk's own files (accounts, the session key, the audit log, replies to codenames) are read by the server
# before anyone logs in, with no editor's key: they stay plain, 0600 (the README's "The desk's own files" says
# why, file by file). Sealing them would lock everyone out of the desk.
KEPT_PLAIN = ("desk",)
# Written by the desk's public routes on a sealed station, with no editor's key, and holding no address: the
# readers' list (entries with hashes; each address sealed apart in readers.jsonl.ages, radio.subscriptions.store
# says why), and the one-click unsubscribes of the sealed bulletin list (tokens, HMACs under the sealed
# unsubscribe key, and their SHA-256: radio.mail.unsubscribe).
KEPT_PLAIN_FILES = ("readers.json", "unsubscribe-pending.txt", "unsubscribed.txt")


@dataclass
class Sealed:
    files: list[Path] = field(default_factory=list)
    journals: list[Path] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)
    without_digests: int = 0  # sealed blocks left without leak-check digests (no key at hand)
    new_leak_key: bool = False  # the leak-check key was replaced: build hosts need the new copy

    @property
    def count(self) -> int:
        return len(self.files) + len(self.journals) + len(self.reports)


def _lock(station):
    root = editors.root_of(station)
    return fsutil.locked(root / LOCK, lambda: KeysError("another keys command is running", where=root / LOCK,
                                                        fix="wait for it to finish"), wait=5.0, private=True)


def report_files(station) -> list[Path]:
    root = editors.root_of(station)
    return sorted(p for p in root.glob("episodes/*/reports/*.md") if p.name.count(".") == 1)


def plain_private_files(station) -> list[Path]:
    """Files under private/ stored in plain text (anything that is not sealed, nor a lock)."""
    base = store.folder(station)
    return sorted(p for p in base.rglob("*") if p.is_file() and not p.name.endswith((store.SEALED_SUFFIX,
                  store.LINES_SUFFIX)) and not p.name.endswith(PLAIN_SKIP)
                  and p.relative_to(base).parts[0] not in KEPT_PLAIN
                  and p.relative_to(base).as_posix() not in KEPT_PLAIN_FILES)


def _has_plain_block(path: Path) -> bool:
    return has_plain_block_text(path.read_text(encoding="utf-8", errors="replace"))


def has_plain_block_text(text: str) -> bool:
    """Whether a report's front matter holds a private block in plain text with anything in it."""
    front = text.split("\n---", 1)[0]
    m = re.search(r"(?m)^private:(.*)$", front)
    if not m:
        return False
    rest = m.group(1).strip()
    if rest.startswith("|") or rest.startswith(">"):
        after = front[m.end():].lstrip("\n")
        return not after.lstrip().startswith("-----BEGIN AGE ENCRYPTED FILE-----")
    if rest in ("", "{}", "null", "~"):
        # a block mapping follows: plain if any of its values is not empty
        body = front[m.end():].split("\n")
        for line in body[1:]:
            if not line.startswith((" ", "\t")):
                break
            if line.strip().startswith("#"):
                continue
            if ":" in line and line.split(":", 1)[1].split("#")[0].strip() not in ("", "{}", "[]", "null", "~"):
                return True
            if line.strip().startswith("- "):
                return True
        return False
    return True


PURGED = "purged"  # what the purge rules (radio keys purge-list) leave of a confidence in git history


def has_plain_notes_text(text: str) -> bool:
    """Whether a report's front matter holds a hold or rejection reason, or a check's note, in plain text."""
    front = text.split("\n---", 1)[0]
    for m in re.finditer(r"(?m)^(?:reason|[ \t-]+note):[ \t]*(.*)$", front):
        rest = m.group(1).split(" #")[0].strip()
        if rest.startswith(("|", ">")):
            if not front[m.end():].lstrip().startswith("-----BEGIN AGE ENCRYPTED FILE-----"):
                return True
        elif rest and rest not in ("null", "~", "''", '""', PURGED):
            return True
    return False


def has_plain_private_text(text: str) -> bool:
    return has_plain_block_text(text) or has_plain_notes_text(text)


def plain_reports(station) -> list[Path]:
    return [p for p in report_files(station)
            if has_plain_private_text(p.read_text(encoding="utf-8", errors="replace"))]


def seal(station, leak_key: bytes | None = None, prepare=None) -> Sealed:
    """Encrypt to the editors everything private that is still plain text: private/ files, journals (a line at
    a time), reports' private blocks. Needs only the editors' public keys. The leak-check digests follow where
    a key is at hand (`leak_key`: the one `init` has just made)."""
    if prepare is not None:  # what must be converted before it is sealed (the readers' list)
        prepare(station)
    register = _register(station)
    k = leak_key or digests.recording_key(station)
    with digests.given(k, register):
        out = _seal(station)
        out.without_digests = digest_all(station)
    return out


def _register(station) -> dict | None:
    """The correspondents' register if it can be read here (plain, or sealed and an identity unlocked)."""
    from radio.errors import RadioError
    from radio.station import correspondents
    try:
        return correspondents(station)
    except RadioError:
        return None


def digest_all(station) -> int:
    """Bring the leak-check digests up to date for every sealed private block (and forget those of blocks no
    longer there); the number of blocks left without them (no key here, or a block no identity opens)."""
    from radio.errors import RadioError
    from radio.reports.files import read_report
    from radio.station import Station
    s = station if isinstance(station, Station) else Station.open(editors.root_of(station))
    k = digests.recording_key(station)
    register = digests.given_register()
    if register is None:
        register = _register(station)
    reg_fp = digests.register_fingerprint(station)
    reports = [p for p in report_files(station)
               if "-----BEGIN AGE ENCRYPTED FILE-----" in p.read_text(encoding="utf-8", errors="replace")]
    if k is None:
        return len(reports)
    missing = 0
    with digests.updating(station, k) as data:
        keep = {}
        for p in reports:
            try:
                rf = read_report(p, s.config.verification)
            except RadioError:
                missing += 1
                continue
            armor = rf.sealed_as[0] if rf.sealed_as else rf.report.private._armor
            if not armor:
                continue
            fp = digests.fingerprint(armor)
            e = data["blocks"].get(fp)
            if e is None or e.get("register") not in (None, reg_fp):
                block = rf.data.get("private") if rf.sealed_as else None
                if not isinstance(block, dict) or (block.get("correspondent") and register is None):
                    missing += 1
                    continue
                e = digests.entry(k, fp, block, register, reg_fp)
            keep[fp] = e
        data["blocks"] = keep
    return missing


def _seal(station) -> Sealed:
    recips = editors.recipients(station)
    out = Sealed()
    base = store.folder(station)
    for p in plain_private_files(station):
        name = p.relative_to(base).as_posix()
        if p.suffix == ".jsonl":  # an append-only journal: sealed a line at a time
            lines = p.read_text(encoding="utf-8").splitlines()
            data = b"".join(base64.b64encode(encrypt(x.encode("utf-8"), recips)) + b"\n" for x in lines if x)
            target = store.lines_path(station, name)
            existing = target.read_bytes() if target.is_file() else b""
            fsutil.write_bytes(target, data + existing, private=True)  # older lines first
            p.unlink()
            out.journals.append(target)
        else:
            out.files.append(store.write_bytes(station, name, p.read_bytes()))
    # folders under private/ become 0700 (they were made before the station was sealed)
    for d in [base, *sorted(x for x in base.rglob("*") if x.is_dir())]:
        d.chmod(0o700)
    for p in plain_reports(station):
        _reseal_report(station, p)
        out.reports.append(p)
    for p in history_files(station):
        if _reseal_history(station, p, None):
            out.journals.append(p)
    return out


def history_files(station) -> list[Path]:
    return sorted(editors.root_of(station).glob("episodes/*/history/*.jsonl"))


def _history_private(entry: dict) -> bool:
    from radio.history import PRIVATE_FIELDS
    return any(entry.get(k) is not None for k in PRIVATE_FIELDS.get(entry.get("event"), ()))


def plain_histories(station) -> list[Path]:
    """Report histories with a confidence (a check's note, a reason, a release) in plain text."""
    return [p for p in history_files(station) if history_text_is_plain(p.read_text(encoding="utf-8", errors="replace"))]


def history_text_is_plain(text: str) -> bool:
    """Whether a report history (its text) holds a confidence in plain text."""
    for line in text.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if isinstance(e, dict) and _history_private({k: v for k, v in e.items() if v != PURGED}):
            return True
    return False


def _reseal_history(station, path: Path, ring) -> bool:
    """Seal a report history's private fields for the editors as they are now (opening those sealed before,
    with `ring`), the whole file replaced at once under the report's desk lock. Whether anything changed."""
    from radio.errors import ReportError
    from radio.history import SEALED, open_event, seal_event
    report = path.parent.parent / "reports" / f"{path.stem}.md"
    busy = lambda: ReportError("a desk command is changing this report", where=report, fix="run it again")  # noqa: E731
    with fsutil.locked(report.with_name(f".{path.stem}.lock"), busy, wait=10.0):
        lines = path.read_text(encoding="utf-8").splitlines()
        out = []
        for n, line in enumerate(lines, start=1):
            try:
                e = json.loads(line)
            except ValueError:
                out.append(line)  # not ours to judge here: `radio report history` names it
                continue
            if not isinstance(e, dict) or not (_history_private(e) or (ring is not None and SEALED in e)):
                out.append(line)
                continue
            if SEALED in e:
                e = open_event(f"{path}:{n}", e, ring)
            out.append(json.dumps(seal_event(station, e), ensure_ascii=False, sort_keys=True))
        if out == lines:
            return False
        fsutil.write_text(path, "".join(x + "\n" for x in out), private=True)
        return True


def _reseal_report(station, path: Path) -> None:
    """Read a report under its desk lock and save it: saving seals its block for the current editors."""
    from radio.errors import ReportError
    from radio.reports.files import read_report
    from radio.station import Station
    s = station if isinstance(station, Station) else Station.open(editors.root_of(station))
    busy = lambda: ReportError("a desk command is changing this report", where=path, fix="run it again")  # noqa: E731
    with fsutil.locked(path.with_name(f".{path.stem}.lock"), busy, wait=10.0):
        rf = read_report(path, s.config.verification, editable=True)
        rf.sealed_as = None  # sealed again, for whoever the editors are now
        rf.sealed_values = {}
        if is_armored(rf.data.get("private")):
            raise KeysError("the private block cannot be opened", where=path,
                            fix="unlock with an identity of one of the editors who sealed it")
        rf.save()


def init(station, name: str, public_key: str, *, demo: bool = False, prepare=None) -> Sealed:
    """Seal a station: its first editor, then everything private encrypted in place."""
    editors.check_name(name)
    recipient(public_key)
    if editors.sealed(station):
        raise KeysError("the station is sealed already", where=editors.path(station),
                        fix="add editors with `radio keys add NAME PUBLIC-KEY`")
    with _lock(station):
        editors.save(station, [editors.Editor(name, " ".join(public_key.split()))], demo=demo)
        return seal(station, digests.ensure_key(station), prepare)


def add(station, name: str, public_key: str) -> Sealed:
    editors.check_name(name)
    recipient(public_key)
    current = _need_sealed(station)
    if any(e.name == name for e in current):
        raise KeysError(f"{name!r} is an editor already", where=editors.path(station),
                        fix=f"remove them first (`radio keys remove {name}`) to change their key")
    keyring.current("adding an editor (everything is re-encrypted to include them)")
    return rotate(station, [*current, editors.Editor(name, " ".join(public_key.split()))])


def remove(station, name: str) -> Sealed:
    current = _need_sealed(station)
    if not any(e.name == name for e in current):
        raise KeysError(f"{name!r} is not an editor", where=editors.path(station), fix="see `radio keys list`")
    rest = [e for e in current if e.name != name]
    if not rest:
        raise KeysError(f"{name!r} is the last editor", where=editors.path(station),
                        fix="add another editor first: with nobody's key, the sources would be lost")
    keyring.current("removing an editor (everything is re-encrypted to those who remain)")
    # they knew the leak-check key: a new one, so they cannot test guesses against the digests made from now on
    return rotate(station, rest, new_leak_key=True)


def _need_sealed(station) -> list[editors.Editor]:
    current = editors.load(station)
    if not current:
        raise KeysError("the station is not sealed", where=editors.path(station),
                        fix="run `radio keys init NAME PUBLIC-KEY` first")
    return current


def unfinished(station) -> bool:
    return (editors.root_of(station) / JOURNAL).is_file()


def rotate(station, new: list[editors.Editor] | None = None, *, new_leak_key: bool = False) -> Sealed:
    """Re-encrypt every sealed thing to `new` (default: the editors as they are, finishing a rotation a kill
    interrupted). The editor running it must be able to read what is there. `new_leak_key`: the leak-check key
    is replaced (an editor left), and every digest made again under the new one."""
    ring = keyring.current("re-encrypting the station")
    root = editors.root_of(station)
    with _lock(station):
        old = editors.load(station)
        target = new if new is not None else old
        if not target:
            _need_sealed(station)
        journal = root / JOURNAL
        if journal.is_file():  # finishing one a kill interrupted: it keeps its promise of a new key
            try:
                new_leak_key = new_leak_key or bool(json.loads(journal.read_text(encoding="utf-8"))
                                                    .get("new_leak_key"))
            except (ValueError, AttributeError):
                pass
        fsutil.write_text(journal, json.dumps({"from": [e.recipient for e in old],
                                               "to": [e.recipient for e in target],
                                               "new_leak_key": new_leak_key}) + "\n", private=True)
        editors.save(station, target, demo=editors.is_demo(station))
        recips = [e.recipient for e in target]
        out = Sealed()
        base = store.folder(station)
        leak_key = root / digests.KEY_FILE
        if leak_key.is_file():
            k = os.urandom(32) if new_leak_key else decrypt(leak_key.read_bytes(), ring.identities, leak_key)
            fsutil.write_bytes(leak_key, encrypt(k, recips), private=True)
            out.new_leak_key = new_leak_key
        for p in sorted(base.rglob("*" + store.SEALED_SUFFIX)):
            fsutil.write_bytes(p, encrypt(decrypt(p.read_bytes(), ring.identities, p), recips), private=True)
            out.files.append(p)
            fsutil.fault_point(f"rotate-after-{out.count}")
        for p in sorted(base.rglob("*" + store.LINES_SUFFIX)):
            lines = [x for x in p.read_bytes().splitlines() if x.strip()]
            again = b"".join(base64.b64encode(encrypt(decrypt(base64.b64decode(x), ring.identities, p), recips))
                             + b"\n" for x in lines)
            fsutil.write_bytes(p, again, private=True)
            out.journals.append(p)
            fsutil.fault_point(f"rotate-after-{out.count}")
        for p in report_files(station):
            if "-----BEGIN AGE ENCRYPTED FILE-----" not in p.read_text(encoding="utf-8", errors="replace"):
                continue
            _reseal_report(station, p)
            out.reports.append(p)
            fsutil.fault_point(f"rotate-after-{out.count}")
        for p in history_files(station):
            if _reseal_history(station, p, ring):
                out.journals.append(p)
                fsutil.fault_point(f"rotate-after-{out.count}")
        digests.ensure_key(station)
        out.without_digests = digest_all(station)
        journal.unlink()
        return out
