"""Generated stations for benchmarks and scale tests: fictional, deterministic, made on the fly."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path

from radio.station import init_station

WEEK = "2026-W47"
ROOT = Path(__file__).resolve().parent.parent
WORDS = ("workers assembly strike wages depot shift committee union pay arrears mine plant school hospital "
         "night crew safety meeting vote gate canteen letter director demand solidarity").split()
FORMATS = ("wav", "flac", "mp3", "ogg")


def station_with_reports(root: Path, n: int, *, slot: str = "28:30", features: int = 0) -> Path:
    """A new station with `n` verified reports in WEEK, each 60-120 words of fictional text; the last
    `features` of them are features (recorded)."""
    init_station(root)
    cfg = root / "radio.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('slot = "28:30"', f'slot = "{slot}"')
                   .replace('format = ["welcome", "headlines", "news", "features", "appeals", "closing"]',
                            'format = ["welcome", "headlines", "news", "appeals", "closing"]'), encoding="utf-8")
    folder = root / "episodes" / WEEK / "reports"
    folder.mkdir(parents=True)
    rnd = random.Random(47)
    for i in range(n):
        body = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(60, 120))).capitalize() + "."
        appeal = "appeal: Messages can go to the committee.\n" if i % 10 == 0 else ""
        kind = "feature" if i >= n - features else "strike"
        (folder / f"report-{i:04d}.md").write_text(
            f"---\n# FICTIONAL generated report\ntitle: Fictional report number {i}\nreceived: 2026-11-16\n"
            f"region: Region {i % 7}\nkind: {kind}\npriority: {1 + i % 5}\nstatus: verified\n"
            f"checks:\n  - {{by: a, on: 2026-11-17, method: phone}}\n  - {{by: b, on: 2026-11-17, method: visit}}\n"
            f"{appeal}exposure: regional\nprivate:\n  correspondent: none-{i}\n---\n{body}\n", encoding="utf-8")
    return root


def ff(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


EDITIONS = (("fr", "fr-fr", "La Semaine du travail"), ("es", "es", "La Semana del Trabajo"))


def demo_format_station(root: Path, minutes: int, *, filler: float = 0.1, rate: int = 44100, reports: int | None = None,
                        long_take: float | None = None, formats: tuple[str, ...] = FORMATS, editions: int = 1) -> Path:
    """The demo station's own show format at `minutes`: theme, welcome, headlines over the ducked news bed,
    station ID (crossfaded), reports and features, appeals over the bed, closing, theme, with the demo's own
    elements and the news bed as filler. Every speech item has a recording at `rate` in wav, flac, mp3 or ogg in
    turn: pink noise gated at syllable rate and low-passed like a voice, with room noise and digital silence to
    trim, a click in some lead-ins. About `filler` of the slot is left for the filler. With `reports`, that many
    reports (the demo's format then has four more speech items); with `long_take` (minutes), the first report
    is one take that long and every other speech item 20 s. With `editions` (up to 3), as many on-air editions of
    the same week, each with every report translated (checked) and the same recordings in its own segments/."""
    n = reports or max(4, round(minutes * 0.4))
    slot = f"{minutes // 60}:{minutes % 60:02d}:00"
    station_with_reports(root, n, slot=slot, features=max(1, n // 6))
    cfg = root / "radio.toml"
    demo = (ROOT / "radio.toml").read_text(encoding="utf-8")
    fill = int(minutes * filler * 1.5) + 2 if long_take is None else minutes  # meant: the build must not refuse it
    text = re.sub(r'^max_fill = "[^"]*"', f'max_fill = "{fill // 60}:{fill % 60:02d}:00"',
                  cfg.read_text(encoding="utf-8"), flags=re.M)
    fmt = re.search(r"^format = .*$", demo, re.M).group(0)  # type: ignore[union-attr]
    text = re.sub(r"^format = .*$", fmt, text, flags=re.M)
    text = text.replace('# bed = "newsbed"', 'bed = "newsbed"').replace('# filler = "newsbed"', 'filler = "newsbed"')
    section = re.compile(r"^\[elements\]\n(?:(?!\[).*\n?)*", re.M)  # the [elements] table, to the next one
    elements = section.search(demo).group(0).replace("crossfade = 0.0", "crossfade = 0.5")  # type: ignore[union-attr]
    text = section.sub(lambda _: elements, text) if section.search(text) else text + "\n" + elements
    for ed, voice, title in EDITIONS[: editions - 1]:
        text += (f'\n[[editions]]\nid = "{ed}"\nlanguage = "{ed}"\nslug = "bench-{ed}"\ntitle = "{title}"\n'
                 f'description = "A fictional benchmark edition."\non_air = true\nslot = "{slot}"\n'
                 f'hosts = [{{ id = "host-{ed}", name = "Host {ed.upper()}", voice = "{voice}", rate_wpm = 150 }}]\n')
        for report in sorted((root / "episodes" / WEEK / "reports").glob("report-*.md")):
            if report.name.count(".") == 1:  # an original, not a translation
                _, front, body = report.read_text(encoding="utf-8").split("---\n", 2)
                appeal = "".join(line + "\n" for line in front.splitlines() if line.startswith("appeal:"))
                report.with_name(f"{report.stem}.{ed}.md").write_text(
                    f"---\n# FICTIONAL generated translation\ntitle: {ed} {report.stem}\n{appeal}translator: bench\n"
                    f"state: checked\n---\n{body}", encoding="utf-8")
    cfg.write_text(text, encoding="utf-8")
    for name in ("theme.flac", "id.flac", "newsbed.flac", "cover.png"):
        shutil.copy2(ROOT / "elements" / name, root / "elements" / name)
    from radio.station import Station
    from radio.rundown.model import load
    from radio.rundown.plan import plan
    station = Station.open(root)
    for s in station.editions():
        plan(s, WEEK)
    rundown = load(station, WEEK)
    speech = [e for e in rundown.live if e.item.type in ("read", "recorded")]
    seg = root / "episodes" / WEEK / "segments"
    seg.mkdir(parents=True)
    elements_s = 2 * 16.0 + 3.6  # theme twice, the ID
    each = (minutes * 60 * (1 - filler) - elements_s - len(speech) * 0.3) / len(speech)
    first_report = next((i for i, e in enumerate(speech) if e.report is not None), 0)
    for i, e in enumerate(speech):
        ext = formats[i % len(formats)]
        voice = max(2.0, each - 1.6)
        if long_take is not None:
            voice = long_take * 60 - 1.6 if i == first_report else 20.0
        click = "+between(t\\,0.3\\,0.3005)*0.8" if i % 3 == 0 else ""
        # 0.5 s of digital silence, 0.5 s of room noise (with a click in some), the voice, 0.6 s of room noise
        ff("-f", "lavfi", "-i", f"anoisesrc=c=pink:r={rate}:a=0.25:seed={i + 1}:d={voice:.3f}",
           "-f", "lavfi", "-i", f"anoisesrc=c=white:r={rate}:a=0.0008:seed={i + 101}:d={voice + 1.1:.3f}",
           "-filter_complex",
           "[0]lowpass=f=4000,volume='if(lt(mod(t\\,0.27)\\,0.17)\\,1\\,0.04)':eval=frame,adelay=500,apad=pad_dur=0.6[v];"
           f"[1]aeval='val(0){click}':c=same[r];[v][r]amix=inputs=2:normalize=0:duration=first,adelay=500,"
           "aformat=channel_layouts=mono",
           "-ar", str(rate), *(("-b:a", "192k") if ext == "mp3" else ()), str(seg / f"{e.id}.{ext}"))
    for s in station.editions()[1:]:  # the same recordings, each edition its own copy
        shutil.copytree(seg, s.edition_dir(WEEK) / "segments")
    return root
