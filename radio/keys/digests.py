"""Keyed digests of withheld details, so that a build can check its outputs against what the desk knows about a
source without any editor's key and without the details in plain text.

The leak check's contract (radio.matching): a public text names a detail iff `text_candidates(text)` and
`detail_forms(detail, kind)` share a canonical form. Both sides are passed through HMAC-SHA256 under the
station's leak-check key, and the sets of digests are compared instead.

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
import os
from pathlib import Path

from radio import fsutil
from radio.keys import editors, keyring
from radio.keys.age import KeysError, decrypt, encrypt

KEY_FILE = "keys/leak-check.key.age"
ENV = "RADIO_LEAK_CHECK_KEY"


def key_path(station) -> Path:
    return editors.root_of(station) / KEY_FILE


def ensure_key(station) -> bool:
    """Make the station's leak-check key if it has none (needs only the editors' public keys)."""
    p = key_path(station)
    if p.is_file():
        return False
    fsutil.write_bytes(p, encrypt(os.urandom(32), editors.recipients(station)), private=True)
    return True


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
