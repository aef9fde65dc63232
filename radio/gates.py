"""Gates: what must hold before a week is assembled, and before its masters are published.

Each failure is one line naming the item (or the master) and the fix, and nothing is published. Where a
producer may knowingly go ahead, a flag says so (--allow-over, --allow-under); a silent or cut-short take and a
master off its loudness target have none: they are fixed, not aired.
"""

from __future__ import annotations

from radio.rundown import model as rd
from radio import timing
from radio.asrun import Built
from radio.config import format_ms
from radio.errors import AudioError, RundownError
from radio.station import Station


def before_assembly(station: Station, rundown: rd.Rundown, show: timing.ShowTime, draft: bool, allow_over: bool) -> None:
    """An empty rundown, a take that cannot air, and (when drafts are to be made) a show that runs over on its
    estimates are refused before any audio work starts."""
    live = [t for t in show.items if t.number]
    if not any(t.entry.item.type in rd.SPEECH for t in live):
        raise RundownError("the rundown has nothing to air: no live read or recorded item", where=rundown.path,
                           fix=f"verify reports and run `radio plan {rundown.week} --force`, or add items")
    bad = [t for t in live if t.state == "rejected"]
    if bad:
        more = f"; {len(bad) - 1} more cannot air: {', '.join(t.entry.id for t in bad[1:])}" if bad[1:] else ""
        raise AudioError(f"{bad[0].problem}{more}")
    missing = [t for t in live if t.state == "missing"]
    if draft and missing and show.over_ms > 0 and not allow_over:
        cut = f"; cut candidates: {', '.join(show.cut)}" if show.cut else ""
        raise AudioError(f"the show runs over its {format_ms(show.slot_ms)} slot by {format_ms(show.over_ms)} on its "
                         f"estimates, before drafting {len(missing)} items{cut}",
                         fix="cut or shorten items, mark them skip: true, or pass --allow-over")


def masters(station: Station, week: str, built: Built | None, *, allow_under: bool) -> None:
    """The masters as assembled: each on its loudness target within the tolerance in [loudness], and the show
    not so short that filler takes more of the slot than show.max_fill allows (that first: a show that is mostly
    filler is not fixed by its loudness)."""
    if built is None:
        raise AudioError(f"no masters for {week} yet", where=station.out_dir(week), fix=f"run `radio build {week}`")
    show = station.config.show
    under = show.slot_ms - built.as_run.content_ms
    if under > show.max_fill_ms and not allow_under and station.on_air:  # a podcast-only edition fills no slot
        filler = station.config.audio.filler or "silence"
        raise AudioError(f"the show is {format_ms(built.as_run.content_ms)} in a {format_ms(show.slot_ms)} slot: "
                         f"{filler} would fill {format_ms(under)}, more than show.max_fill ({show.max_fill})",
                         fix="add items or record them, or pass --allow-under to air it short anyway")
    for v in built.verdicts(station):
        if not v.ok:
            path = built.out / getattr(built.as_run, v.key).file
            raise AudioError(f"the {v.name} master measures {v.problem}", where=path.relative_to(station.root),
                             fix=f"check the takes for silence or clipping and build again (the tolerance is "
                                 f"[loudness] {v.key}_tolerance in radio.toml)")
