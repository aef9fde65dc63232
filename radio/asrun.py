"""The as-run and the loudness record of an assembled week, as typed models, read through one function.

Assembly writes `out/as-run.json` (where every item starts and ends in each master) and `out/loudness.json`
(each master's measurement). The run sheet, status, tags, publish and the build summary all read them here, so
they agree: the same items, the same times, the same total, the same verdict on loudness.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from radio.config import format_ms
from radio.errors import RadioError, from_validation
from radio.station import Station


class _Model(BaseModel):
    # fields this module does not name are kept: model_dump() gives back the whole record
    model_config = ConfigDict(extra="allow", frozen=True)


class Placed(_Model):
    id: str
    title: str
    type: str  # read | recorded | element | bed | filler
    host: str | None = None
    source: str | None = None
    draft: bool = False
    start: int | None = None  # samples
    end: int | None = None
    start_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


class Master(_Model):
    file: str
    samples: int
    seconds: float
    items: list[Placed]


class AsRun(_Model):
    week: str
    title: str
    draft: bool
    rate: int
    onair: Master
    podcast: Master

    @property
    def filler_ms(self) -> int:
        return sum(i.duration_ms for i in self.onair.items if i.type == "filler")

    @property
    def content_ms(self) -> int:
        """What the show's items fill of the on-air master: the master less the filler."""
        return self.onair.samples * 1000 // self.rate - self.filler_ms

    def placed(self, master: str = "onair") -> dict[str, Placed]:
        return {i.id: i for i in getattr(self, master).items if i.type != "filler"}


class Measured(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    integrated: float | None
    true_peak: float | None
    lra: float | None = None
    seconds: float


class Loudness(_Model):
    onair: Measured
    podcast: Measured


@dataclass(frozen=True)
class Verdict:
    """A master's loudness against the targets and tolerances in [loudness] as they are now."""

    name: str  # on air | podcast
    key: str  # onair | podcast
    measured: Measured
    target: float
    tolerance: float
    true_peak_max: float

    @property
    def ok(self) -> bool:
        m = self.measured
        return (m.integrated is not None and abs(m.integrated - self.target) <= self.tolerance + 1e-9
                and (m.true_peak is None or m.true_peak <= self.true_peak_max + 1e-9))

    @property
    def problem(self) -> str:
        m = self.measured
        if m.integrated is None:
            return "it is silent"
        if abs(m.integrated - self.target) > self.tolerance + 1e-9:
            return f"{m.integrated:g} LUFS, outside {self.target:g} ±{self.tolerance:g}"
        return f"true peak {m.true_peak:g} dBTP, above {self.true_peak_max:g}"

    def line(self, station: Station, path: Path) -> str:
        m = self.measured
        mono = self.key == "podcast" and (m.model_extra or {}).get("channels") == "mono" and m.integrated is not None
        heard = f" mono, {m.integrated + 3.01:.1f} heard on two speakers" if mono else ""  # type: ignore[operator]
        return (f"{self.name:8} {path.relative_to(station.root)}: {format_ms(round(m.seconds * 1000))}, "
                f"{m.integrated} LUFS{heard} (target {self.target:g} ±{self.tolerance:g}), true peak {m.true_peak} dBTP, "
                f"LRA {m.lra} LU: {'ok' if self.ok else 'OUT OF TARGET'}")


@dataclass(frozen=True)
class Built:
    """What assembly made for a week."""

    as_run: AsRun
    loudness: Loudness
    out: Path

    @property
    def onair(self) -> Path:
        return self.out / self.as_run.onair.file

    @property
    def podcast(self) -> Path:
        return self.out / self.as_run.podcast.file

    def verdicts(self, station: Station) -> list[Verdict]:
        L = station.config.loudness
        return [Verdict("on air", "onair", self.loudness.onair, L.onair_lufs, L.onair_tolerance, L.onair_true_peak),
                Verdict("podcast", "podcast", self.loudness.podcast, L.podcast_lufs, L.podcast_tolerance,
                        L.podcast_true_peak)]


def _load(path: Path, model: type[BaseModel]) -> BaseModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise RadioError(f"not readable JSON ({e})", where=path, fix="assemble the week again") from None
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise from_validation(e, where=path, fix="assemble the week again") from None


def read(station: Station, week: str) -> Built | None:
    """The week's as-run and loudness record, or None before the first assembly."""
    out = station.out_dir(week)
    a, lo = out / "as-run.json", out / "loudness.json"
    if not a.is_file() or not lo.is_file():
        return None
    return Built(_load(a, AsRun), _load(lo, Loudness), out)  # type: ignore[arg-type]
