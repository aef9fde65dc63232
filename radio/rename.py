"""`radio report rename OLD NEW`: a report's desk id changed everywhere on the desk, in one locked step.

A desk id is made from the title it was filed under, so it can name what the report withholds ("…-at-
stonebridge-school"); the withheld-detail check refuses such an id like any public text. Renaming moves, for
every edition of the report's week: the report and its translations, its history (with a `renamed` event),
the rundown items that name it (and an item whose id was the report's, with its recordings, takes and draft),
its intake folder under private/, and its entry in the record of public ids (so nothing published moves). It
runs under the build lock and the report's own lock, checks every target first, and moves nothing if any target
is taken.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from radio import fsutil
from radio.errors import ReportError
from radio.station import Station


def _rename_in_rundown(path: Path, old: str, new: str) -> str | None:
    """The rundown's text with OLD as an item id or report reference replaced, or None if it names neither."""
    text = path.read_text(encoding="utf-8")
    pat = re.compile(rf"(?m)^(\s*(?:-\s+)?(?:id|report):\s*)(['\"]?){re.escape(old)}\2(\s*(?:#.*)?)$")
    changed = pat.sub(lambda m: f"{m.group(1)}{m.group(2)}{new}{m.group(2)}{m.group(3)}", text)
    return changed if changed != text else None


def rename(station: Station, old: str, new: str) -> list[str]:
    """Rename report OLD to NEW; returns what was moved, as lines for the desk."""
    from radio.build import build_lock
    from radio.reports.model import check_id
    from radio.reports.files import editing, report_path, translation_name
    try:
        check_id(new, "report id")
    except ValueError as e:
        raise ReportError(str(e), fix="choose another id for the report") from None
    if new == old:
        raise ReportError(f"the report is already called {old!r}", fix="name a new id")
    src = report_path(station, old)
    week = src.parent.parent.name
    folder = src.parent
    with build_lock(station), editing(station, old, week) as rf:
        moves: list[tuple[Path, Path]] = [(src, folder / f"{new}.md")]
        for p in sorted(folder.glob(f"{old}.*.md")):
            m = translation_name(p)
            if m and m["id"] == old:
                moves.append((p, folder / f"{new}.{m['lang']}.md"))
        hist = station.week_dir(week) / "history" / f"{old}.jsonl"
        if hist.is_file():
            moves.append((hist, hist.with_name(f"{new}.jsonl")))
        rundowns: list[tuple[Path, str]] = []
        for ed in station.editions():
            rd = ed.edition_dir(week) / "rundown.yaml"
            if rd.is_file():
                text = _rename_in_rundown(rd, old, new)
                if text is not None:
                    rundowns.append((rd, text))
            seg = ed.edition_dir(week) / "segments"
            if seg.is_dir():
                for p in sorted(seg.iterdir()):
                    if p.name.startswith(f"{old}.") and not p.name.startswith("."):
                        moves.append((p, p.with_name(new + p.name[len(old):])))
            draft = ed.out_dir(week) / "drafts" / f"{old}.wav"
            if draft.is_file():
                moves.append((draft, draft.with_name(f"{new}.wav")))
        intake = station.private_dir / "intake" / old
        if intake.is_dir():
            moves.append((intake, intake.with_name(new)))
        taken = [str(dst) for _, dst in moves if dst.exists() or dst.is_symlink()]
        if taken:
            raise ReportError(f"{taken[0]} already exists", fix="choose an id no other report, take or file has")

        rf.data["id"] = new
        private = rf.data.get("private") or {}
        if isinstance(private.get("intake"), dict) and intake.is_dir():
            private["intake"]["folder"] = f"private/intake/{new}"
        rf.save()  # the report names its new id, then moves under it
        for a, b in moves:
            os.replace(a, b)
        for rd, text in rundowns:
            fsutil.write_text(rd, text)
        from radio import history, publicid
        history.append(station, week, new, "renamed", **{"from": old})
        published = publicid.renamed(station, week, old, new)  # what went out keeps its public id
    return [f"renamed {old} to {new} in {week}: " + ", ".join(
        sorted({_what(a, old) for a, _ in moves} | ({"rundown"} if rundowns else set())
               | ({"public id record"} if published else set())))]


def _what(path: Path, old: str) -> str:
    if path.parent.name == "reports":
        return "report" if path.name == f"{old}.md" else "translations"
    if path.parent.name == "history":
        return "history"
    if path.parent.name == "segments":
        return "recordings"
    if path.parent.name == "drafts":
        return "draft"
    return "intake folder"
