"""Mail credentials: from the environment, else private/mail-credentials.toml; never argv, never printed."""

from __future__ import annotations

import os
import tomllib

from radio.station import Station
from radio.errors import RadioError

FILE = "mail-credentials.toml"


def credentials(station: Station, service: str, *, required: bool) -> tuple[str, str] | None:
    """(user, password) for 'imap' or 'smtp': RADIO_IMAP_USER/RADIO_IMAP_PASSWORD, else the file's [imap]."""
    prefix = f"RADIO_{service.upper()}_"
    user, password = os.environ.get(prefix + "USER"), os.environ.get(prefix + "PASSWORD")
    if user and password:
        return user, password
    from radio.keys import store  # encrypted to the editors on a sealed station
    path = store.where(station, FILE)
    text = store.read_text(station, FILE, f"reading the {service.upper()} credentials") \
        if store.exists(station, FILE) else None
    if text is not None:
        try:
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            # the parser's message may quote the file: say only where
            raise RadioError("cannot read the mail credentials", where=path,
                             fix=f"write [{service}] with user = \"...\" and password = \"...\"") from None
        sect = data.get(service)
        if isinstance(sect, dict) and isinstance(sect.get("user"), str) and isinstance(sect.get("password"), str):
            return sect["user"], sect["password"]
    if required:
        raise RadioError(f"no {service.upper()} credentials",
                         fix=f"set {prefix}USER and {prefix}PASSWORD, or write [{service}] user and password "
                             f"into private/{FILE}")
    return None
