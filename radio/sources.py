"""What the desk knows about a source, as withheld details: (field, value) pairs whose field says what kind
of detail it is. The values never leave the desk; the fields are what errors name.

Everything is withheld whatever the report's exposure: the private block's values (the correspondent's
codename, the contact, the sender's name and address, the names in the notes and the signature) and the
correspondent's entry in private/correspondents.yaml (name, aliases, e-mail addresses, phone, contact, town,
workplace). The exposure's own place, workplace and region are added by `radio.reports.withheld_details`.
"""

from __future__ import annotations

import re

EXPOSURE_FIELDS = ("place", "workplace", "region")

# field -> how it is matched (radio/matching.py KINDS)
_KINDS = {
    "place": "place", "workplace": "place", "region": "place",
    "correspondent's codename": "place",
    "correspondent's name": "name", "correspondent's alias": "name",
    "correspondent's e-mail address": "email", "correspondent's phone number": "phone",
    "correspondent's contact": "text", "correspondent's town": "place", "correspondent's workplace": "place",
    "sender's name": "name", "sender's address": "email", "private contact": "text", "private notes": "text",
    "sender's signature": "text",
}
# register keys -> field
_REGISTER = {"name": "correspondent's name", "aliases": "correspondent's alias", "alias": "correspondent's alias",
             "email": "correspondent's e-mail address", "phone": "correspondent's phone number",
             "contact": "correspondent's contact", "town": "correspondent's town", "place": "correspondent's town",
             "workplace": "correspondent's workplace"}
# private keys that are records of how a message came in, not things the desk was told
_BOOKKEEPING = {"message_id", "headers", "authentication", "intake", "sender", "content_digest", "released"}


def kind_of(field: str) -> str:
    return _KINDS.get(field, "text")


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _strings(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _strings(v)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [str(value)]
    return []


_NAMES = ("correspondent's name", "correspondent's alias", "sender's name")


def _with_parts(details: list[tuple[str, str]], public_names: frozenset[str]) -> list[tuple[str, str]]:
    """Each part of a person's name is a detail of its own ("Thanks, Sofia"), unless it is part of a name the
    station publishes anyway (a host called Pavel does not name a correspondent called Pavel)."""
    from radio.matching import detail_forms
    return [(f, v) for f, v, part in _marked_parts(details)
            if not part or detail_forms(v, "name").isdisjoint(public_names)]


def _marked_parts(details: list[tuple[str, str]]) -> list[tuple[str, str, bool]]:
    """(field, value, is a part of a name) for every detail and, after each person's name, its parts."""
    out = []
    for field, value in details:
        out.append((field, value, False))
        if field in _NAMES:
            parts = re.findall(r"[^\W\d_]{3,}", value)
            if len(parts) > 1:  # compared as the matcher compares them: Павел is Pavel
                out += [(field, p, True) for p in parts]
    return out


def public_names(config) -> frozenset[str]:
    """The matcher's forms of every part of the names the station publishes itself: its hosts', in every
    edition."""
    from radio.matching import detail_forms
    names = [h.name for h in config.hosts] + [h.name for ed in getattr(config, "editions", []) for h in ed.hosts]
    return frozenset(f for n in names for p in re.findall(r"[^\W\d_]{3,}", n) for f in detail_forms(p, "name"))


def source_details(private: dict, register: dict | None,
                   published: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """Every (field, value) the desk knows about the report's source: its register entry first (what a refusal
    names is then the plainest field), then the private block. `published`: public_names()."""
    return _with_parts(_own_details(private, register), published)


def marked_source_details(private: dict, register: dict | None) -> list[tuple[str, str, bool]]:
    """source_details() before the station's published names are taken out: (field, value, is a part of a
    name). The leak-check digests keep the mark, so a build drops the same parts the desk would."""
    return _marked_parts(_own_details(private, register))


def _own_details(private: dict, register: dict | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in (register or {}).items():
        field = _REGISTER.get(str(key))
        if field:
            out += [(field, v) for v in _strings(value)]
    for key, value in (private or {}).items():
        if key in _BOOKKEEPING or value is None:
            continue
        if key == "correspondent":
            field = "correspondent's codename"
        elif key == "contact":
            field = "private contact"
        elif key == "sender_name":
            field = "sender's name"
        elif key == "signature":
            # a signature is a name on a line of its own, then numbers and addresses
            for line in _strings(value)[0].splitlines() if _strings(value) else []:
                if line.strip() and not re.search(r"\d|@", line) and len(line.split()) <= 4:
                    out.append(("sender's name", line.strip()))
            field = "sender's signature"
        elif key == "notes":
            field = "private notes"
        else:
            field = f"private {key}"
        out += [(field, v) for v in _strings(value)]
    # a value of one or two letters ("x" as a codename) is no detail a reader could recognise
    return [(f, v) for f, v in out if len(re.sub(r"[\W_]", "", v)) >= 3]


def refusal(report, text: str, field: str) -> tuple[str, str]:
    """(what the text names, the fix) for a public text naming a withheld detail; never the value."""
    if text == "id":
        what = f"the withheld {field} (exposure {report.exposure})" if field in EXPOSURE_FIELDS else f"the {field}"
        return what, f"rename the report: radio report rename {report.id} NEW-ID"
    if field in EXPOSURE_FIELDS:
        return (f"the withheld {field} (exposure {report.exposure})",
                f"remove it from the {text}, or set exposure: named if the editor allows it")
    who = report.private.correspondent
    where = f" (register: {who})" if field.startswith("correspondent's") and who else ""
    return (f"the {field}{where}",
            f"remove it from the {text}: what the desk knows about a source is never published")
