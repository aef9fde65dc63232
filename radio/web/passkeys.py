"""Passkeys (WebAuthn, with py_webauthn): a second factor in place of the authenticator app's code.

An account adds a passkey from its /passkeys page; the station keeps only the credential's id, public key and
signature count (private/desk/users.json). Logging in with one takes the password first (argon2, rate-limited
as every login), then the passkey's signature over a fresh challenge that works once, within CHALLENGE_S, for
the origin the desk was started for. Between the two steps the waiting login (Pending) holds, in memory only,
the passphrase that unlocks an editor's kept key at login; it is dropped when used or expired. A passkey is
bound to the desk's host name (its RP ID), so the desk must be opened by name (`localhost` on this machine),
never by an IP address.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import threading
import time

from radio.errors import RadioError
from radio.station import Station
from radio.web import accounts

CHALLENGE_S = 120
MAX_PENDING = 1000  # logins waiting for their passkey, at most: older ones are dropped


def rp_of(host: str, secure: bool) -> tuple[str, str]:
    """The RP ID and origin for a request whose Host the desk's guard has already accepted."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return name.lower(), f"{'https' if secure else 'http'}://{host.lower()}"
    raise RadioError("passkeys need the desk's name in the address bar, not an IP address",
                     fix="open the desk at http://localhost:PORT/ on this machine, or at its --host name")


def _descriptor(entry: dict):
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(entry["id"]))


def registration_options(account: accounts.Account, rp_id: str, station_name: str) -> tuple[bytes, dict]:
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import AuthenticatorSelectionCriteria, UserVerificationRequirement
    opts = generate_registration_options(
        rp_id=rp_id, rp_name=f"{station_name} desk", user_name=account.name, user_display_name=account.name,
        user_id=account.name.encode(), exclude_credentials=[_descriptor(e) for e in account.passkeys],
        authenticator_selection=AuthenticatorSelectionCriteria(user_verification=UserVerificationRequirement.PREFERRED),
        timeout=CHALLENGE_S * 1000)
    return opts.challenge, json.loads(options_to_json(opts))


def add(station: Station, name: str, credential, challenge: bytes, rp_id: str, origin: str) -> dict:
    from webauthn import verify_registration_response
    from webauthn.helpers import bytes_to_base64url
    try:
        v = verify_registration_response(credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
                                         expected_origin=origin)
    except Exception:  # the library raises several kinds for a bad or hostile answer: all are a refusal
        raise RadioError("the passkey could not be checked", fix="add it again") from None
    entry = {"id": bytes_to_base64url(v.credential_id), "key": bytes_to_base64url(v.credential_public_key),
             "count": v.sign_count, "added": dt.date.today().isoformat()}

    def change(keys: list[dict]) -> None:
        if any(k["id"] == entry["id"] for k in keys):
            raise RadioError("this passkey is already added", fix="use it to log in")
        keys.append(entry)

    accounts.change_passkeys(station, name, change)
    return entry


def authentication_options(account: accounts.Account, rp_id: str) -> tuple[bytes, dict]:
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement
    opts = generate_authentication_options(rp_id=rp_id, allow_credentials=[_descriptor(e) for e in account.passkeys],
                                           user_verification=UserVerificationRequirement.PREFERRED,
                                           timeout=CHALLENGE_S * 1000)
    return opts.challenge, json.loads(options_to_json(opts))


def verify(station: Station, account: accounts.Account, credential, challenge: bytes, rp_id: str,
           origin: str) -> bool:
    """Whether the passkey's answer is one of the account's passkeys signing this challenge (and its count moved
    on, so a copied authenticator shows)."""
    from webauthn import verify_authentication_response
    from webauthn.helpers import base64url_to_bytes
    cid = credential.get("id") if isinstance(credential, dict) else None
    entry = next((e for e in account.passkeys if isinstance(cid, str) and secrets.compare_digest(e["id"], cid)), None)
    if entry is None:
        return False
    try:
        v = verify_authentication_response(credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
                                           expected_origin=origin,
                                           credential_public_key=base64url_to_bytes(entry["key"]),
                                           credential_current_sign_count=entry["count"])
    except Exception:  # a bad signature, origin, challenge or count, or a malformed answer
        return False

    def change(keys: list[dict]) -> None:
        for k in keys:
            if k["id"] == entry["id"]:
                k["count"] = v.new_sign_count

    accounts.change_passkeys(station, account.name, change)
    return True


class Pending:
    """Logins whose password was right, waiting for the passkey: each works once, within CHALLENGE_S."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._by_nonce: dict[str, tuple[str, bytes, float, str]] = {}
        self._lock = threading.Lock()

    def put(self, name: str, challenge: bytes, phrase: str) -> str:
        nonce = secrets.token_urlsafe(24)
        now = self.clock()
        with self._lock:
            for k in [k for k, v in self._by_nonce.items() if v[2] <= now]:
                del self._by_nonce[k]
            while len(self._by_nonce) >= MAX_PENDING:
                del self._by_nonce[next(iter(self._by_nonce))]
            self._by_nonce[nonce] = (name, challenge, now + CHALLENGE_S, phrase)
        return nonce

    def take(self, nonce: str) -> tuple[str, bytes, str] | None:
        with self._lock:
            got = self._by_nonce.pop(nonce, None) if isinstance(nonce, str) else None
        if got is None or got[2] <= self.clock():
            return None
        return got[0], got[1], got[3]
