"""age encryption through pyrage: recipients, identities, ciphertext in binary or ASCII armor. No cryptography of
our own: this module only parses what the user gives and turns pyrage's failures into one line with a fix."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Callable

import pyrage
from pyrage import passphrase as age_passphrase
from pyrage import ssh, x25519

from radio.errors import RadioError

MAGIC = b"age-encryption.org/v1\n"
ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = "-----END AGE ENCRYPTED FILE-----"
IDENTITY_FIX = "pass --identity FILE or set RADIO_IDENTITY to an editor's age identity or SSH key"


class KeysError(RadioError):
    """A key, an identity or a ciphertext cannot be used."""


def recipient(text: str, where: str | Path | None = None):
    """An age X25519 (age1...) or ssh-ed25519 public key."""
    text = " ".join(text.split())
    try:
        if text.startswith("age1"):
            return x25519.Recipient.from_str(text)
        if text.startswith("ssh-ed25519 "):
            return ssh.Recipient.from_str(text)
    except pyrage.RecipientError:
        raise KeysError("not a valid public key", where=where,
                        fix="give an age public key (age1..., from age-keygen) or an ssh-ed25519 line") from None
    kind = text.split(" ")[0][:20] if text else "nothing"
    raise KeysError(f"{kind!r} is not a public key this station accepts", where=where,
                    fix="give an age public key (age1..., from age-keygen) or an ssh-ed25519 public key line "
                        "(RSA and ECDSA SSH keys are not supported)")


def encrypt(data: bytes, recipients: list[str]) -> bytes:
    return pyrage.encrypt(data, [recipient(r) for r in recipients])


def decrypt(data: bytes, identities: list, where: str | Path) -> bytes:
    """The plain text, or one line saying why not: no identity, encrypted to others, or damaged."""
    if not data.startswith(MAGIC):
        raise KeysError("not an age-encrypted file (damaged or replaced)", where=where,
                        fix="restore it from a backup or from git")
    try:
        return pyrage.decrypt(data, identities)
    except pyrage.DecryptError as e:
        if "No matching keys" in str(e):
            raise KeysError("encrypted to other editors' keys, not to this identity", where=where,
                            fix="use an identity of one of the editors in keys/editors.toml (radio keys list)") \
                from None
        raise KeysError("the encrypted data is truncated or has been tampered with", where=where,
                        fix="restore it from a backup or from git; nothing was changed") from None


def armor(ct: bytes) -> str:
    """age's ASCII armor (the format `age -a` writes and reads)."""
    b = base64.b64encode(ct).decode("ascii")
    return "\n".join([ARMOR_BEGIN, *(b[i:i + 64] for i in range(0, len(b), 64)), ARMOR_END]) + "\n"


def is_armored(text: object) -> bool:
    return isinstance(text, str) and text.lstrip().startswith(ARMOR_BEGIN)


def dearmor(text: str, where: str | Path) -> bytes:
    lines = [x.strip() for x in text.strip().splitlines()]
    if not lines or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise KeysError("the encrypted block is cut off", where=where, fix="restore it from a backup or from git")
    try:
        return base64.b64decode("".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        raise KeysError("the encrypted block is damaged", where=where,
                        fix="restore it from a backup or from git") from None


def parse_identities(data: bytes, where: str | Path, passphrase: Callable[[], str] | None = None) -> list:
    """The identities in an age identity file (AGE-SECRET-KEY-1 lines), an OpenSSH ed25519 private key (with or
    without a passphrase), or an age identity file encrypted under a passphrase (`age -p`, `radio keys
    passphrase`). `passphrase` is asked only when the file needs one."""
    stripped = data.lstrip()
    if stripped.startswith(MAGIC) or stripped.startswith(ARMOR_BEGIN.encode()):
        if passphrase is None:
            raise KeysError("this identity is protected by a passphrase", where=where,
                            fix="set RADIO_PASSPHRASE, or run the command in a terminal to be asked for it")
        ct = stripped if stripped.startswith(MAGIC) else dearmor(stripped.decode("ascii", "replace"), where)
        try:
            inner = age_passphrase.decrypt(ct, passphrase())
        except pyrage.DecryptError:
            raise KeysError("wrong passphrase (or the identity file is damaged)", where=where,
                            fix="try the passphrase again") from None
        return parse_identities(inner, where)
    if stripped.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
        try:
            return [ssh.Identity.from_buffer(stripped)]
        except pyrage.IdentityError as e:
            if "decrypted first" not in str(e):
                raise KeysError("an SSH private key that cannot be used (only ed25519 keys can)", where=where,
                                fix="make an age identity with age-keygen, or use an ssh-ed25519 key") from None
        return [ssh.Identity.from_buffer(_open_ssh_key(stripped, where, passphrase))]
    found = []
    for line in stripped.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("AGE-SECRET-KEY-1"):
            try:
                found.append(x25519.Identity.from_str(line))
            except pyrage.IdentityError:
                raise KeysError("an AGE-SECRET-KEY line is damaged", where=where,
                                fix="restore the identity file from your backup") from None
    if not found:
        raise KeysError("no identity in this file", where=where,
                        fix="give an age identity file (from age-keygen) or an OpenSSH ed25519 private key")
    return found


def _open_ssh_key(data: bytes, where: str | Path, passphrase: Callable[[], str] | None) -> bytes:
    """A passphrase-protected OpenSSH ed25519 key, opened in memory (cryptography reads OpenSSH's own format and
    bcrypt KDF) and written out unencrypted for pyrage, which takes only unencrypted keys. Nothing is written to
    disk."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    if passphrase is None:
        raise KeysError("this SSH key is protected by a passphrase", where=where,
                        fix="set RADIO_PASSPHRASE, or run the command in a terminal to be asked for it")
    secret = passphrase().encode("utf-8")
    try:
        key = serialization.load_ssh_private_key(data, password=secret)
    except (ValueError, TypeError):
        raise KeysError("wrong passphrase for the SSH key (or the key file is damaged)", where=where,
                        fix="try the passphrase again") from None
    except Exception:  # an unsupported cipher or KDF: the key cannot be opened here
        raise KeysError("an SSH private key that cannot be opened", where=where,
                        fix="use an ssh-ed25519 key made by ssh-keygen, or an age identity") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise KeysError("an SSH private key that cannot be used (only ed25519 keys can)", where=where,
                        fix="make an age identity with age-keygen, or use an ssh-ed25519 key")
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption())


def new_identity() -> tuple[str, str]:
    """(secret identity line, public recipient) of a fresh X25519 key."""
    ident = x25519.Identity.generate()
    return str(ident), str(ident.to_public())


def public_of(identity) -> str | None:
    try:
        return str(identity.to_public())
    except AttributeError:  # an SSH identity: pyrage does not derive its public line
        return None


def wrap_with_passphrase(secret: bytes, passphrase: str) -> bytes:
    """An identity encrypted under a passphrase (age's scrypt recipient)."""
    if len(passphrase) < 8:
        raise KeysError("the passphrase is shorter than 8 characters", fix="choose a longer passphrase")
    return age_passphrase.encrypt(secret, passphrase)
