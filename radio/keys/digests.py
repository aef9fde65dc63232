"""Keyed digests of withheld details, so that a build can check its outputs against what the desk knows about a
source without any editor's key and without the details in plain text.

The leak check's contract (radio.matching): a public text names a detail iff `text_candidates(text)` and
`detail_forms(detail, kind)` share a canonical form. Both sides are passed through HMAC-SHA256 under the
station's leak-check key, and the sets of digests are compared instead.

Whenever an editor seals a report's private block (report new, verify, hold, intake, keys init/seal/rotate),
the digests of every form of every detail it withholds (radio/sources.py: the block and its correspondent's
register entry) are written to keys/leak-check-digests.json, under the block's ciphertext's SHA-256. Each block
has its own key, HMAC(leak-check key, that SHA-256), so two reports from one source share no digest: the file
does not say which reports came from the same person. A block whose ciphertext has no entry, or whose entry was
made from another version of the register, is stale: the build refuses it rather than check less.

Why a copy of the station folder and its .git cannot cheaply brute-force the digests (a town name or a phone
number has few enough possibilities to enumerate): the key is 256 random bits, never in plain text in the
station. It is stored encrypted to the editors (keys/leak-check.key.age, re-encrypted with everything else on a
rotation), and the build host holds its own copy outside the station folder (RADIO_LEAK_CHECK_KEY names that
file, written by `radio keys leak-check-key FILE`). Without the key, a digest says nothing: testing one guess
needs the key. With it, someone could test guesses, which is why it is kept like an identity.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from radio import fsutil
from radio.keys import editors, keyring
from radio.keys.age import KeysError, decrypt, encrypt

KEY_FILE = "keys/leak-check.key.age"
DIGESTS_FILE = "keys/leak-check-digests.json"
DIGESTS_LOCK = "keys/.leak-check-digests.lock"
ENV = "RADIO_LEAK_CHECK_KEY"
LIMITED_ENV = "RADIO_LIMITED_LEAK_CHECK"
FORMAT = 1


def key_path(station) -> Path:
    return editors.root_of(station) / KEY_FILE


def ensure_key(station) -> bytes | None:
    """Make the station's leak-check key if it has none (needs only the editors' public keys); the new key, or
    None if there was one."""
    p = key_path(station)
    if p.is_file():
        return None
    k = os.urandom(32)
    fsutil.write_bytes(p, encrypt(k, editors.recipients(station)), private=True)
    return k


def _from_file(path: Path, station) -> bytes:
    root = editors.root_of(station).resolve()
    try:
        real = path.expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        raise KeysError("no such leak-check key file", where=path, fix=f"write it with `radio keys leak-check-key FILE`"
                                                                        f" or unset {ENV}") from None
    if real.is_relative_to(root):
        raise KeysError("the leak-check key may not be kept in the station folder", where=path,
                        fix="keep it on the build host, outside the station (a copy of the folder must not hold it)")
    try:
        key = bytes.fromhex(real.read_text(encoding="ascii").strip())
    except (ValueError, UnicodeDecodeError):
        raise KeysError("not a leak-check key", where=path, fix="write it again with `radio keys leak-check-key FILE`") \
            from None
    if len(key) != 32:
        raise KeysError("not a leak-check key (it must be 32 bytes)", where=path,
                        fix="write it again with `radio keys leak-check-key FILE`")
    return key


def key(station, what: str | None = None) -> bytes | None:
    """The leak-check key: the build host's copy ($RADIO_LEAK_CHECK_KEY), else opened with an unlocked editor's
    identity; None (or, when `what` is given, a one-line error) without either."""
    env = os.environ.get(ENV)
    if env:
        return _from_file(Path(env), station)
    p = key_path(station)
    if not p.is_file():
        if what:
            raise KeysError("the station has no leak-check key", where=p, fix="run `radio keys rotate`")
        return None
    ring = keyring.current(None)
    if ring is None:
        if what:
            raise KeysError(f"{what} needs the station's leak-check key", where=p,
                            fix=f"set {ENV} to the build host's copy, or unlock with an editor's identity")
        return None
    return decrypt(p.read_bytes(), ring.identities, p)


def export_key(station, path: Path) -> Path:
    """Write the leak-check key for a build host (hex, 0600), outside the station. Needs an editor's identity."""
    target = Path(path).expanduser()
    if target.resolve().is_relative_to(editors.root_of(station).resolve()):
        raise KeysError("the leak-check key may not be kept in the station folder", where=target,
                        fix="write it outside the station, on the build host")
    ring = keyring.current("writing the leak-check key")
    k = decrypt(key_path(station).read_bytes(), ring.identities, key_path(station))
    fsutil.write_text(target, k.hex() + "\n", private=True)
    return target


def digest(k: bytes, form: str) -> str:
    return hmac.new(k, form.encode("utf-8"), hashlib.sha256).hexdigest()


def digests(k: bytes, forms: set[str]) -> set[str]:
    return {digest(k, f) for f in forms}


def names_any(k: bytes, text_forms: set[str], detail_digests: set[str]) -> bool:
    """Whether a public text (its candidate forms) names any detail known only by its digests."""
    return not digests(k, text_forms).isdisjoint(detail_digests)


# --- the digest file ------------------------------------------------------------------------------------

MAC_BYTES = 16  # a digest is 128 bits of HMAC-SHA256: a chance collision is never


def key_id(k: bytes) -> str:
    """Which key the digests were made under (says nothing about the key itself)."""
    return hmac.new(k, b"radio leak-check key id", hashlib.sha256).hexdigest()[:16]


def fingerprint(armor: str) -> str:
    """A sealed block's name in the digest file: the SHA-256 of its ciphertext (armor lines, spaces trimmed)."""
    text = "\n".join(line.strip() for line in str(armor).strip().splitlines())
    return hashlib.sha256(text.encode("ascii", "replace")).hexdigest()


def register_fingerprint(station) -> str | None:
    """The register as stored (sealed, or plain before the station was sealed); None without one."""
    from radio.keys import store
    p = store.where(station, "correspondents.yaml")
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None


def _block_key(k: bytes, fp: str) -> bytes:
    return hmac.new(k, b"radio leak-check block " + fp.encode("ascii"), hashlib.sha256).digest()


def _macs(bk: bytes, forms) -> set[str]:
    base = hmac.new(bk, digestmod=hashlib.sha256)
    out = set()
    for f in forms:
        h = base.copy()
        h.update(f.encode("utf-8"))
        out.add(h.hexdigest()[:2 * MAC_BYTES])
    return out


def entry(k: bytes, fp: str, block: dict, register: dict | None, register_fp: str | None) -> dict:
    """The digests of a sealed block: every detail the desk withholds for it, in the desk's order."""
    from radio.matching import detail_forms
    from radio.sources import kind_of, marked_source_details
    who = block.get("correspondent") if isinstance(block, dict) else None
    reg = register.get(who) if isinstance(register, dict) and isinstance(who, str) and who else None
    bk = _block_key(k, fp)
    # in the order the desk's model lists the block (its own fields first), so the first detail a text names is
    # the one the desk would name
    block = dict(block or {})
    ordered = {key: block.pop(key) for key in ("correspondent", "contact", "notes") if key in block} | block
    seen: set = set()
    details = []
    for field, value, part in marked_source_details(ordered, reg if isinstance(reg, dict) else None):
        if (field, value, part) in seen:
            continue
        seen.add((field, value, part))
        details.append([field, int(part), sorted(_macs(bk, detail_forms(value, kind_of(field))))])
    # the register's version matters only to a block that names a correspondent
    return {"register": register_fp if who else None, "details": details}


def digests_path(station) -> Path:
    return editors.root_of(station) / DIGESTS_FILE


def _empty(k: bytes) -> dict:
    return {"format": FORMAT, "key": key_id(k), "blocks": {}}


def load(station) -> dict | None:
    p = digests_path(station)
    if not p.is_file():
        return None
    return _load(str(p), p.stat().st_mtime_ns, p.stat().st_size)


@lru_cache(maxsize=4)
def _load(path: str, mtime: int, size: int) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("blocks"), dict):
            raise ValueError
    except (ValueError, UnicodeDecodeError):
        raise KeysError("not a leak-check digest file", where=path,
                        fix="an editor writes it again: `radio --identity FILE keys digests`") from None
    return data


@contextmanager
def updating(station, k: bytes) -> Iterator[dict]:
    """The digest file, changed under its lock and written back atomically (sorted: same entries, same bytes).
    Made under another key, it is started again."""
    root = editors.root_of(station)
    busy = lambda: KeysError("another command is writing the leak-check digests",  # noqa: E731
                             where=root / DIGESTS_LOCK, fix="run the command again")
    with fsutil.locked(root / DIGESTS_LOCK, busy, wait=30.0, private=True):
        try:
            data = load(station)
        except KeysError:
            data = None
        data = dict(data) if data and data.get("key") == key_id(k) else _empty(k)
        data["blocks"] = dict(data["blocks"])
        yield data
        fsutil.write_text(digests_path(station), json.dumps(data, sort_keys=True, indent=1, ensure_ascii=True) + "\n",
                          private=True)


# Who can record digests right now: `radio keys init` holds the key it has just made and the register it is
# about to seal, so the first editor needs no identity to seal a station with its digests.
_given: ContextVar[tuple[bytes, dict | None] | None] = ContextVar("radio_leak_check_given", default=None)


@contextmanager
def given(k: bytes | None, register: dict | None) -> Iterator[None]:
    token = _given.set((k, register) if k else None)
    try:
        yield
    finally:
        _given.reset(token)


def recording_key(station) -> bytes | None:
    """The key to write digests with, if there is one at hand (never an error)."""
    g = _given.get()
    if g:
        return g[0]
    try:  # an editor's own copy first: a build host's copy in the environment may be another station's
        ring = keyring.current(None)
        p = key_path(station)
        if ring is not None and p.is_file():
            return decrypt(p.read_bytes(), ring.identities, p)
        return key(station)
    except KeysError:
        return None


def given_register() -> dict | None:
    g = _given.get()
    return g[1] if g else None


def record(station, old_armor: str | None, armor: str, block: dict, register: dict | None, *,
           register_known: bool) -> bool:
    """Write the digests of a block just sealed (and forget its previous ciphertext's). False when they cannot
    be made here (no key, or a correspondent whose register entry is sealed): the block is then stale until
    an editor runs `radio keys digests`."""
    k = recording_key(station)
    who = block.get("correspondent") if isinstance(block, dict) else None
    if k is None or (who and not register_known):
        return False
    fp = fingerprint(armor)
    e = entry(k, fp, block, register, register_fingerprint(station))
    with updating(station, k) as data:
        if old_armor:
            data["blocks"].pop(fingerprint(old_armor), None)
        data["blocks"][fp] = e
    return True


# --- the check, on a host without an editor's key -------------------------------------------------------

# How a command runs the check when a sealed block cannot be opened: "view" (the desk's lists and pages: a
# report looks as its public details make it look), "strict" (anything that makes a public output: without
# the digests it refuses), "limited" (the same, run with --limited-leak-check: one warning, then on).
MODE: ContextVar[str] = ContextVar("radio_leak_check_mode", default="view")
_warned: ContextVar[bool] = ContextVar("radio_leak_check_warned", default=False)

LIMITED = ("the leak check cannot see what the desk knows about the sources of sealed reports (no editor's key, "
           "no leak-check key)")
LIMITED_FIX = (f"set {ENV} to the build host's copy of the leak-check key (`radio keys leak-check-key FILE`), or "
               "pass --identity; --limited-leak-check goes on checking only the public details")


@contextmanager
def checking(limited: bool = False) -> Iterator[None]:
    """Run a command that makes public outputs: the leak check is complete, or refused (or, `limited`, said)."""
    token = MODE.set("limited" if limited else "strict")
    warned = _warned.set(False)
    try:
        yield
    finally:
        _warned.reset(warned)
        MODE.reset(token)


@contextmanager
def producing() -> Iterator[None]:
    """The build's own guard, for callers that are not a command (the desk's build jobs): strict unless the
    command that runs it said otherwise."""
    if MODE.get() != "view":
        yield
        return
    with checking():
        yield


def _limited(message: str, where=None, fix: str = "") -> list:
    mode = MODE.get()
    if mode == "strict":
        raise KeysError(message, where=where, fix=fix)
    if mode == "limited" and not _warned.get():
        _warned.set(True)
        fix = fix.split("; --limited-leak-check")[0]
        text = str(KeysError(f"{message}: checking the public details only", where=where, fix=fix))
        sys.stderr.write(f"warning: {text}\n")
    return []


@dataclass(frozen=True)
class Sealed:
    """A withheld detail known only by the keyed digests of its forms."""

    block_key: bytes
    macs: frozenset

    def named_by(self, text: str) -> bool:
        return bool(self.macs) and not _text_macs(self.block_key, text).isdisjoint(self.macs)

    def __repr__(self) -> str:  # never the value: it is not here to show
        return "Sealed(...)"


@lru_cache(maxsize=512)
def _text_macs(bk: bytes, text: str) -> frozenset:
    from radio.matching import text_candidates
    return frozenset(_macs(bk, text_candidates(text)))


def _check_key(station) -> bytes | None:
    env = os.environ.get(ENV)
    return _from_file(Path(env), station) if env else None


def sealed_details(station, where: Path, armor: str, public_names: frozenset) -> list[tuple[str, Sealed]]:
    """The withheld details of a sealed block no identity opened, as (field, Sealed), from the digest file under
    the build host's key. Without them: nothing on the desk's pages, a one-line refusal where an output is made
    (or, with --limited-leak-check, one warning)."""
    try:
        k = _check_key(station)
    except KeysError as e:
        return _limited(str(e))
    if k is None:
        return _limited(LIMITED, fix=LIMITED_FIX)
    data = load(station)
    if data is None:
        return _limited("the station has no leak-check digests", where=digests_path(station),
                        fix="an editor writes them: `radio --identity FILE keys digests`")
    if data.get("key") != key_id(k):
        return _limited("not the leak-check key this station's digests were made with", where=os.environ.get(ENV),
                        fix="write the build host's copy again: `radio keys leak-check-key FILE`")
    fp = fingerprint(armor)
    e = data["blocks"].get(fp)
    stale = e is None or (e.get("register") is not None and e.get("register") != register_fingerprint(station))
    if stale:
        return _limited("the private block changed since its leak-check digests were written" if e is None else
                        "the correspondents' register changed since this report's leak-check digests were written",
                        where=where, fix="an editor brings them up to date: `radio --identity FILE keys digests`")
    bk = _block_key(k, fp)
    published = _macs(bk, public_names) if public_names else set()
    out = []
    for field, part, macs in e.get("details", []):
        macs = frozenset(macs)
        if part and not macs.isdisjoint(published):
            continue  # a part of a name the station publishes itself (a host's)
        out.append((str(field), Sealed(bk, macs)))
    return out


def front_matter_armor(text: str) -> str | None:
    """A report's sealed private block as stored (its armor), read from the file's text; None if it has none."""
    front = text.split("\n---", 1)[0]
    at = front.find("\nprivate: |")
    if at < 0:
        return None
    lines = front[at:].split("\n")[2:]
    end = next((i for i, line in enumerate(lines) if line.strip() == "-----END AGE ENCRYPTED FILE-----"), None)
    if end is None or not lines or lines[0].strip() != "-----BEGIN AGE ENCRYPTED FILE-----":
        return None
    return "\n".join(lines[:end + 1])


def stale(station, armors: list[str]) -> int:
    """How many of these sealed blocks have no up-to-date digests (no key needed to tell)."""
    try:
        data = load(station)
    except KeysError:
        return len(armors)
    blocks = (data or {}).get("blocks", {})
    reg = register_fingerprint(station)
    n = 0
    for a in armors:
        e = blocks.get(fingerprint(a))
        if e is None or e.get("register") not in (None, reg):
            n += 1
    return n
