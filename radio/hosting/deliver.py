"""`radio deliver WEEK`: the on-air master to the broadcaster, as its chain wants it and measured as delivered.

A mono programme on a stereo chain goes out as dual mono; its loudness is then what two speakers play (a mono
file at -23 LUFS is -20 LUFS as dual mono), so the gain is set for the delivered layout and the delivered file
is measured again: it must meet the on-air target (±tolerance) and true-peak ceiling in that layout, or
nothing is sent. The file goes up under a temporary name, is read back and checked (size, SHA-256), and only
then renamed to the name the playout system watches for; a checksum file and a cue sheet go beside it. A
delivery made is recorded and never made twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import struct
import subprocess
from pathlib import Path

from radio import asrun, fsutil
from radio.errors import RadioError
from radio.hosting.settings import Broadcaster, Target
from radio.hosting.targets import open_target
from radio.station import Station
from radio.tags import bext_chunk, info_chunk, written

RECORD = "deliveries.json"
SUFFIX = {"bwf": ".wav", "mp2": ".mp2", "mp3": ".mp3"}


FIELD_RE = re.compile(r"\{(SHOW|week|date)(?::([^{}]*))?\}")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,200}")


def file_name(station: Station, b: Broadcaster, week: str) -> str:
    """The name the playout system watches for: the rule in [broadcaster] name, e.g. LABOURWEEK_20261120.wav.

    Only {SHOW}, {week} and {date:FORMAT} are filled in (no attribute lookups as str.format would do), and the
    result must be a plain file name."""
    show = re.sub(r"[^A-Z0-9]", "", station.config.show.slug.upper())
    day = station.air_datetime(week).date()

    def fill(m: re.Match) -> str:
        field, spec = m.group(1), m.group(2)
        if field == "date":
            return day.strftime(spec) if spec else day.isoformat()
        if spec:
            raise ValueError(f"{{{field}}} takes no format")
        return show if field == "SHOW" else str(week)
    try:
        name = FIELD_RE.sub(fill, b.name)
    except ValueError as e:
        raise RadioError(f"broadcaster.name: {b.name!r} cannot be filled in ({e})", where="radio.toml",
                         fix="use {SHOW}, {week} and {date:%Y%m%d} only") from None
    if not NAME_RE.fullmatch(name):
        raise RadioError(f"broadcaster.name: {b.name!r} gives {name!r}, not a plain file name", where="radio.toml",
                         fix="use letters, digits, _ - . with {SHOW}, {week} and {date:%Y%m%d}")
    if not name.endswith(SUFFIX[b.format]):
        raise RadioError(f"broadcaster.name: {name!r} does not end in {SUFFIX[b.format]} (format {b.format})",
                         where="radio.toml", fix=f"end the name rule in {SUFFIX[b.format]}")
    return name


def measure(path: Path, *, dualmono: bool = False, raw: tuple[int, int] | None = None) -> dict:
    """EBU R128 with ffmpeg's ebur128: integrated, range, true peak, and the momentary and short-term maxima."""
    src = ["-f", "s24le", "-ar", str(raw[0]), "-ac", str(raw[1])] if raw else []
    r = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", *src, "-i", str(path), "-af",
                        f"ebur128=peak=true:framelog=verbose{':dualmono=true' if dualmono else ''}", "-f", "null",
                        "-"], capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        raise RadioError("ffmpeg could not measure the file", where=path, fix="check that ffmpeg is installed")
    text = r.stderr
    summary = text[text.rfind("Summary:"):]
    def num(label: str) -> float:
        m = re.search(rf"{label}:\s+(-?[\d.]+|-inf)", summary)
        return float(m.group(1)) if m and m.group(1) != "-inf" else float("-inf")
    ms = [float(v) for v in re.findall(r" M:\s*(-?[\d.]+)", text)]
    ss = [float(v) for v in re.findall(r" S:\s*(-?[\d.]+)", text)]
    return {"integrated": num("I"), "lra": num("LRA"), "true_peak": num("Peak"),
            "max_momentary": max(ms, default=None), "max_short_term": max(ss, default=None)}


def _channels(path: Path) -> int:
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=channels",
                        "-of", "csv=p=0", str(path)], capture_output=True, text=True, errors="replace")
    try:
        return int(r.stdout.strip())
    except ValueError:
        raise RadioError("not an audio file ffprobe can read", where=path, fix="run `radio build WEEK` again") from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _bwf(raw: Path, dst: Path, rate: int, channels: int, bext: bytes, info: bytes) -> None:
    data = raw.stat().st_size
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 3 * channels, 3 * channels, 24)
    riff = 4 + (8 + len(fmt)) + len(bext) + len(info) + 8 + data + (data & 1)
    with fsutil.atomic_open(dst) as out, open(raw, "rb") as src:
        out.write(b"RIFF" + struct.pack("<I", riff) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
                  + bext + info + b"data" + struct.pack("<I", data))
        while chunk := src.read(1 << 20):
            out.write(chunk)
        if data & 1:
            out.write(b"\0")


def cue_sheet(station: Station, built: asrun.Built, name: str) -> str:
    """A CUE sheet of the master as aired: one track per item, its start from the as-run (frames of 1/75 s)."""
    def clean(s: str) -> str:
        return s.replace('"', "'").replace("\n", " ")
    lines = [f'TITLE "{clean(built.as_run.title)}"', f'PERFORMER "{clean(station.config.station.name)}"',
             f'FILE "{name}" {"WAVE" if name.endswith(".wav") else "MP3"}']
    for n, item in enumerate(built.as_run.onair.items, 1):
        frames = round(item.start_ms * 75 / 1000)
        m, rest = divmod(frames, 75 * 60)
        s, f = divmod(rest, 75)
        lines += [f"  TRACK {n:02d} AUDIO", f'    TITLE "{clean(item.title)}"', f"    REM ID {item.id}",
                  f"    INDEX 01 {m:02d}:{s:02d}:{f:02d}"]
    return "\r\n".join(lines) + "\r\n"


def render(station: Station, week: str, b: Broadcaster, name: str) -> tuple[Path, dict, str]:
    """The file as delivered, in out/delivery/, and its measurement in the layout delivered."""
    built = asrun.read(station, week)
    if built is None or not built.onair.is_file():
        raise RadioError(f"no on-air master for {week} yet", where=station.out_dir(week),
                         fix=f"run `radio build {week}` first")
    L = station.config.loudness
    src = built.onair
    src_ch = _channels(src)
    dual = src_ch == 1 and b.channels == 2
    before = measure(src, dualmono=dual)
    gain = L.onair_lufs - before["integrated"]
    pan = "pan=stereo|c0=c0|c1=c0," if dual else ("pan=mono|c0=0.5*c0+0.5*c1," if src_ch == 2 and b.channels == 1
                                                 else "")
    folder = station.out_dir(week) / "delivery"
    folder.mkdir(exist_ok=True)
    dst = folder / name
    rate = station.config.audio.sample_rate
    af = f"{pan}volume={gain:.4f}dB"
    if b.format == "bwf":
        raw = folder / f".{name}.pcm"
        try:
            r = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-v", "error", "-y", "-i", str(src), "-af", af,
                                "-ar", str(rate), "-ac", str(b.channels), "-f", "s24le", "-c:a", "pcm_s24le",
                                str(raw)], capture_output=True, text=True, errors="replace")
            if r.returncode != 0:
                raise RadioError(f"ffmpeg failed ({r.stderr.strip()[-200:]})", where=src, fix="check the master")
            loud = measure(raw, raw=(rate, b.channels))
            _check(loud, L, dst, b)
            ep = written(station, week)
            layout = "dual-mono" if dual else ("stereo" if b.channels == 2 else "mono")
            chunk = bext_chunk(ep, loud, rate, f"{station.config.show.slug}-{week}")
            body = chunk[8:].rstrip(b"\0").replace(b"W=24,M=mono", f"W=24,M={layout}".encode())
            body += b"\0" * (len(body) & 1)
            _bwf(raw, dst, rate, b.channels, b"bext" + struct.pack("<I", len(body)) + body, info_chunk(ep))
        finally:
            raw.unlink(missing_ok=True)
        return dst, loud, layout
    codec = ["-c:a", "mp2"] if b.format == "mp2" else ["-c:a", "libmp3lame"]
    tmp = fsutil.temp_path(dst)
    try:
        r = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-v", "error", "-y", "-i", str(src), "-af", af,
                            "-ar", str(rate), "-ac", str(b.channels), *codec, "-b:a", f"{b.bitrate}k", "-map_metadata",
                            "-1", "-flags", "+bitexact", "-fflags", "+bitexact", "-f", b.format, str(tmp)],
                           capture_output=True, text=True, errors="replace")
        if r.returncode != 0:
            raise RadioError(f"ffmpeg failed ({r.stderr.strip()[-200:]})", where=src,
                             fix=f"check that ffmpeg can encode {b.format} at {b.bitrate} kbit/s")
        loud = measure(tmp)
        _check(loud, L, dst, b)
        tmp.replace(dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst, loud, "dual-mono" if dual else ("stereo" if b.channels == 2 else "mono")


def _check(loud: dict, L, dst: Path, b: Broadcaster) -> None:
    if abs(loud["integrated"] - L.onair_lufs) > L.onair_tolerance or loud["true_peak"] > L.onair_true_peak:
        raise RadioError(f"as delivered ({b.format}, {b.channels} channels) it measures {loud['integrated']:.1f} "
                         f"LUFS, {loud['true_peak']:.1f} dBTP; the target is {L.onair_lufs:.1f} "
                         f"±{L.onair_tolerance} LUFS, at most {L.onair_true_peak:.1f} dBTP", where=dst.name,
                         fix="nothing was sent; check the master with `radio status`, or deliver as bwf")


def deliver(station: Station, week: str, *, to: str | None = None, again: bool = False) -> list[str]:
    b = station.full_config.broadcaster
    if b is None and to is None:
        raise RadioError("no broadcaster to deliver to", where=station.root / "radio.toml",
                         fix='add [broadcaster] with target = "sftp://host/path" (or a directory), or pass --to')
    b = b or Broadcaster(target=to)
    url = to or b.target
    name = file_name(station, b, week)
    target = Target(name="broadcaster", url=url, user=b.user, key=b.key, known_hosts=b.known_hosts)
    record_path = station.out_dir(week) / "delivery" / RECORD
    with fsutil.locked(station.out_dir(week) / "delivery" / ".lock", lambda: RadioError(
            f"another delivery of {week} is running", fix="wait for it to finish")):
        dst, loud, layout = render(station, week, b, name)
        digest, size = _sha256(dst), dst.stat().st_size
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        from radio.hosting.targets import label_of
        label = label_of(url)
        done = record.get(label, {}).get(name)
        if done and not again:
            if done["sha256"] == digest:
                return [f"{name} was delivered to {label} on {done['at']} (sha256 {digest[:16]}…): nothing sent"]
            raise RadioError(f"a different {name} was delivered to {label} on {done['at']}",
                             fix="the master changed since: pass --again to replace it, and tell the broadcaster")
        conn = open_target(station, target)
        try:
            tmp_key = f".{name}.uploading"
            conn.put(tmp_key, dst, "application/octet-stream", "no-store")
            got_size, got_sha = conn.digest(tmp_key)
            if (got_size, got_sha) != (size, digest):
                conn.delete(tmp_key)
                raise RadioError(f"{label}: the copy read back is not the file sent ({got_size} bytes, sha256 "
                                 f"{got_sha[:16]}…)", fix="nothing was renamed into place; run this again")
            side = dst.parent / f"{name}.sha256"
            fsutil.write_text(side, f"{digest}  {name}\n")
            cue = dst.parent / f"{Path(name).stem}.cue"
            fsutil.write_text(cue, cue_sheet(station, asrun.read(station, week), name))
            conn.put(side.name, side, "text/plain", "no-store")  # the checksum is there before the file appears
            conn.put(cue.name, cue, "text/plain", "no-store")
            conn.rename(tmp_key, name)
        finally:
            conn.close()
        at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        record.setdefault(label, {})[name] = {"sha256": digest, "size": size, "at": at}
        fsutil.write_text(record_path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    kind = {"bwf": f"BWF {station.config.audio.sample_rate // 1000} kHz 24-bit", "mp2": f"MP2 {b.bitrate} kbit/s",
            "mp3": f"MP3 {b.bitrate} kbit/s"}[b.format]
    return [f"delivered {name} to {label}: {kind}, {b.channels} channel{'s' if b.channels > 1 else ''} ({layout}), "
            f"{loud['integrated']:.1f} LUFS, {loud['true_peak']:.1f} dBTP as delivered",
            f"  verified after upload: {size} bytes, sha256 {digest[:16]}…; beside it {name}.sha256 and "
            f"{Path(name).stem}.cue"]
