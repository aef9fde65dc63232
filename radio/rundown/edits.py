"""Edits to rundown.yaml through the round-trip editor (the studio's reorder, skip and restore): comments, order
and formatting kept; refused when the file is not the one the page saw."""

from __future__ import annotations

import copy
import hashlib

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from radio import fsutil
from radio.errors import RundownError
from radio.rundown.model import _load_doc, rundown_path
from radio.rundown.plan import _dump
from radio.station import Station


def digest(data: bytes) -> str:
    """What a page holds to prove it saw the rundown as it is on disk now."""
    return hashlib.sha256(data).hexdigest()[:16]


def _detach_gaps(items: CommentedSeq) -> list:
    """Lift the comment lines between items (held by each item's last key) so they stay between the same
    positions when items move: a "# news" heading stays where the news starts. Same-line comments stay put."""
    gaps = []
    for m in items:
        tok = None
        if isinstance(m, CommentedMap) and m:
            entry = m.ca.items.get(list(m.keys())[-1])
            if entry and len(entry) > 2 and entry[2] is not None:
                tok = entry[2]
                value = tok.value
                if value.lstrip(" ").startswith("#"):  # a comment on the item's own last line
                    eol, _, rest = value.partition("\n")
                    tok.value = eol + "\n"
                    if rest.strip():
                        gap = copy.copy(tok)
                        gap.value = "\n" + rest if not rest.startswith("\n") else rest
                        gaps.append(gap)
                        continue
                    gaps.append(None)
                    continue
                entry[2] = None
        gaps.append(tok)
    return gaps


def _attach_gaps(items: CommentedSeq, gaps: list) -> None:
    for m, tok in zip(items, gaps):
        if tok is None or not isinstance(m, CommentedMap) or not m:
            continue
        entry = m.ca.items.setdefault(list(m.keys())[-1], [None, None, None, None])
        if entry[2] is not None and entry[2].value.lstrip(" ").startswith("#"):
            entry[2].value = entry[2].value.rstrip("\n") + ("\n" if not tok.value.startswith("\n") else "") + tok.value
        else:
            entry[2] = tok


def edit(station: Station, week: str, change, *, expect: str) -> str:
    """Apply `change(items)` to rundown.yaml's items through the round-trip editor (comments, order and
    formatting kept) and write it atomically. Refused if the file is not the one the caller saw (`expect`,
    its digest). Returns the new digest."""
    path = rundown_path(station, week)
    if not path.is_file():
        raise RundownError(f"no rundown for {week}", where=path, fix=f"run `radio plan {week}`")
    data = path.read_bytes()
    if digest(data) != expect:
        raise RundownError("rundown.yaml changed on disk since this page loaded", where=path,
                           fix="nothing was written; the page shows it as it is now: make the change again")
    doc = _load_doc(path, data.decode("utf-8"), editable=True)
    items = doc.get("items")
    if not isinstance(items, CommentedSeq):
        raise RundownError("'items' is not a list", where=path, fix="restore the items: list")
    gaps = _detach_gaps(items)
    change(items)
    _attach_gaps(items, gaps)
    text = _dump(doc)
    fsutil.write_text(path, text)
    return digest(text.encode("utf-8"))


def move_item(items: CommentedSeq, item_id: str, by: int) -> None:
    i = _index(items, item_id)
    j = max(0, min(len(items) - 1, i + by))
    if i != j:
        items.insert(j, items.pop(i))


def set_skip(items: CommentedSeq, item_id: str, skip: bool) -> None:
    m = items[_index(items, item_id)]
    if skip:
        m["skip"] = True
    elif "skip" in m:
        del m["skip"]


def _index(items: CommentedSeq, item_id: str) -> int:
    for i, m in enumerate(items):
        if isinstance(m, dict) and m.get("id") == item_id:
            return i
    raise RundownError(f"no item {item_id!r} in the rundown", fix="reload the page")
