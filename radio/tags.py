"""Tags: ID3v2.3 with chapters for the podcast MP3, BWF bext and LIST/INFO for the on-air WAV.

Only public data reaches a tag: titles and text come from the rundown's public entries, never a report.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from babel.dates import format_date
from mutagen.id3 import (APIC, CHAP, COMM, CTOC, ID3, TALB, TCON, TDRC, TIT2, TLEN, TPE1, TXXX, WXXX, CTOCFlags,
                         ID3NoHeaderError)

from radio import __version__
from radio.rundown import model as rd
from radio.i18n import day_month_year, gettext, locale
from radio.station import Station, published_path
from radio.errors import RadioError

class ChapterID3(ID3):
    """ID3 whose chapters are stored in time order.

    mutagen orders frames by size; players built on ffmpeg list CHAP frames in file order and ignore the CTOC,
    so we write the table of contents, then the chapters by start time, then the cover. (mutagen's _write is the
    hook for frame order; the pinned version range and the ffprobe tests keep it honest.)
    """

    def _write(self, config):
        from mutagen.id3._tags import save_frame

        def key(f):
            rank = {"CTOC": 1, "CHAP": 2, "APIC": 3}.get(f.FrameID, 0)
            return (rank, getattr(f, "start_time", 0), f.HashKey)

        return bytearray().join(save_frame(f, config=config) for f in sorted(self.values(), key=key))


MAX_CHAPTERS = 255  # a CTOC frame counts its children in one byte
ID3_PADDING = 2048


@dataclass(frozen=True)
class Episode:
    """What tags say about the week's show: all public."""

    title: str  # the rundown's title (ID3 and BWF)
    feed_title: str  # the title in the feed and on the page: never repeats the show's title (Apple's rule)
    bare_title: str  # itunes:title: the feed title without the date
    show: str
    hosts: str
    date: str  # YYYY-MM-DD, the air date
    time: str  # HH:MM:SS, the air time
    summary: str
    link: str
    guid: str
    chapters: list[tuple[str, int, int]]  # (title, start ms, end ms) in the podcast master
    station: str


def cover_image(station: Station) -> tuple[bytes, str]:
    """The station's cover, checked as Apple checks it: JPEG or PNG, square, 1400 to 3000 px."""
    rel = station.config.podcast.cover
    path = published_path(station, rel, what="podcast.cover")
    fix = "make it a square JPEG or PNG of 1400 to 3000 px"
    if not path.is_file():
        raise RadioError("the cover image does not exist", where=path, fix=f"{fix}, or fix podcast.cover in radio.toml")
    data = path.read_bytes()
    size = image_size(data)
    if size is None:
        raise RadioError("the cover is not a JPEG or PNG image", where=path, fix=fix)
    (w, h), mime = size
    if w != h:
        raise RadioError(f"the cover is {w}x{h} px, not square", where=path, fix=fix)
    if not 1400 <= w <= 3000:
        raise RadioError(f"the cover is {w}x{h} px; podcast apps need 1400 to 3000 px", where=path, fix=fix)
    return data, mime


def cover_if_any(station: Station) -> tuple[bytes, str] | None:
    """The cover to embed in the masters: none yet is fine for assembling (a producer hears the show before the
    artwork is done; publish asks for it), a cover that is there but wrong is not."""
    path = published_path(station, station.config.podcast.cover, what="podcast.cover")
    return cover_image(station) if path.exists() else None


def image_size(data: bytes) -> tuple[tuple[int, int], str] | None:
    """(width, height) and MIME type from a PNG's IHDR or a JPEG's SOF marker."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24]), "image/png"
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            length = struct.unpack(">H", data[i + 2: i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", data[i + 5: i + 9])
                return (w, h), "image/jpeg"
            i += 2 + length
    return None


def repeats_show(title: str, show: str) -> bool:
    """Whether a title contains the show's title as words of its own."""
    return re.search(rf"(?<!\w){re.escape(show.strip())}(?!\w)", title, re.IGNORECASE) is not None


def episode_titles(show: str, rundown_title: str, stories: list[str], day: str) -> tuple[str, str]:
    """(title, bare title). Apple's rule: an episode title does not repeat the show's title.

    The rundown's title is used when the producer has written one that does not; otherwise the week's lead
    story, after the air date ("20 November: Miners ... strike"). The bare title (itunes:title) has no date."""
    if rundown_title.strip() and not repeats_show(rundown_title, show):
        return rundown_title, rundown_title
    bare = stories[0] if stories else day
    return (f"{day}: {bare}" if stories else bare), bare


def covering(items: list[dict], kinds: set[str], titles: dict[str, str], total_ms: int) -> list[dict]:
    """Chapters that cover the whole file: the first starts at 0, each runs to the next, the last to the end.

    A chapter is an item of one of `kinds`; what lies between (the opening theme, a station ID, a bed) joins
    the chapter before it, or the first chapter when it comes before any."""
    marks = [(i["start_ms"], titles.get(i["id"], i["title"])) for i in items if i["type"] in kinds]
    if not marks:
        return [{"title": "Full episode", "start_ms": 0, "end_ms": total_ms}] if total_ms > 0 else []
    marks[0] = (0, marks[0][1])
    ends = [m[0] for m in marks[1:]] + [total_ms]
    return [{"title": t, "start_ms": s, "end_ms": e} for (s, t), e in zip(marks, ends)]


def episode(station: Station, rundown: rd.Rundown, as_run: dict) -> Episode:
    """What the week's masters say about themselves, from the rundown and the as-run assembly has just made."""
    week = rundown.week
    cfg = station.config
    kinds = set(cfg.podcast.chapter_types)
    titles = {e.id: e.title for e in rundown.entries}
    total_ms = as_run["podcast"]["samples"] * 1000 // as_run["rate"]
    chapters = [(c["title"], c["start_ms"], c["end_ms"])
                for c in covering(as_run["podcast"]["items"], kinds, titles, total_ms)]
    _refuse_chapters(len(chapters), rundown)
    air = station.air_datetime(week)
    stories = [e.title for e in rundown.live if e.report is not None]
    lang = station.language
    summary = gettext(lang, "{show} for {date}.").format(show=cfg.show.title, date=day_month_year(lang, air.date())) \
        + ((" " + gettext(lang, "This week: {stories}.").format(stories="; ".join(stories))) if stories else "")
    hosts = sorted({e.item.host for e in rundown.live if e.item.host})
    day = format_date(air.date(), "d MMMM", locale=locale(lang))  # "20 November", "20 ноября"
    feed_title, bare = episode_titles(cfg.show.title, rundown.title, stories, day)
    return Episode(title=rundown.title, feed_title=feed_title, bare_title=bare, show=cfg.show.title,
                   hosts=", ".join(cfg.host(h).name for h in hosts),
                   date=air.date().isoformat(), time=air.strftime("%H:%M:%S"), summary=summary,
                   link=station.episode_url(week), guid=station.episode_guid(week), chapters=chapters,
                   station=cfg.station.name)


def check_chapters(station: Station, rundown: rd.Rundown) -> None:
    """Before any mixing: more chapters than an ID3 table of contents holds is the producer's to fix."""
    kinds = set(station.config.podcast.chapter_types)
    _refuse_chapters(sum(1 for e in rundown.live if e.item.type in kinds), rundown)


def _refuse_chapters(n: int, rundown: rd.Rundown) -> None:
    if n > MAX_CHAPTERS:
        raise RadioError(f"{n} chapters: an ID3 table of contents holds at most {MAX_CHAPTERS}",
                         where=rundown.path, fix="set podcast.chapter_types to fewer item types, or merge items")


def tag_mp3(path: Path, ep: Episode, cover: tuple[bytes, str] | None, duration_ms: int) -> None:
    """Write ID3v2.3 in place of any old tag; the audio frames are not touched."""
    try:
        tags = ID3(path)
        tags.delete(path)
    except ID3NoHeaderError:
        pass
    tags = ChapterID3()
    tags.add(TIT2(encoding=1, text=ep.title))
    tags.add(TPE1(encoding=1, text=ep.hosts))
    tags.add(TALB(encoding=1, text=ep.show))
    tags.add(TDRC(encoding=1, text=ep.date))
    tags.add(TCON(encoding=1, text="Podcast"))
    tags.add(COMM(encoding=1, lang="eng", desc="", text=ep.summary))
    tags.add(WXXX(encoding=1, desc="episode", url=ep.link))
    tags.add(TXXX(encoding=1, desc="PODCAST_GUID", text=ep.guid))
    tags.add(TLEN(encoding=1, text=str(duration_ms)))
    if cover is not None:
        data, mime = cover
        tags.add(APIC(encoding=1, mime=mime, type=3, desc="Cover", data=data))
    ids = [f"chp{i:03d}" for i in range(1, len(ep.chapters) + 1)]  # zero-padded: frames are stored in key order
    if ids:
        tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED, child_element_ids=ids,
                      sub_frames=[TIT2(encoding=1, text="Chapters")]))
    for cid, (title, start, end) in zip(ids, ep.chapters):
        tags.add(CHAP(element_id=cid, start_time=start, end_time=end, start_offset=0xFFFFFFFF, end_offset=0xFFFFFFFF,
                      sub_frames=[TIT2(encoding=1, text=title)]))
    tags.update_to_v23()
    tags.save(path, v2_version=3, v23_sep="/", padding=lambda info: ID3_PADDING)


# --- BWF ------------------------------------------------------------------------------------------

def _ascii(text: str, n: int) -> bytes:
    """EBU Tech 3285 text fields are ASCII: accents are dropped, not mangled."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore")
    return plain[:n].ljust(n, b"\0")


def _centi(v: float | None) -> int:
    return 0x7FFF if v is None else max(-32768, min(32767, round(v * 100)))


def bext_chunk(ep: Episode, loud: dict, rate: int, reference: str) -> bytes:
    history = f"A=PCM,F={rate},W=24,M=mono,T=radio {__version__}\r\n".encode("ascii")
    body = (_ascii(ep.title + (f": {ep.summary}" if ep.summary else ""), 256) + _ascii(ep.station, 32)
            + _ascii(reference, 32) + ep.date.encode() + ep.time.encode()
            + struct.pack("<IIH", 0, 0, 2) + bytes(64)
            + struct.pack("<hhhhh", _centi(loud.get("integrated")), _centi(loud.get("lra")),
                          _centi(loud.get("true_peak")), _centi(loud.get("max_momentary")),
                          _centi(loud.get("max_short_term")))
            + bytes(180) + history)
    if len(body) & 1:
        body += b"\0"
    return b"bext" + struct.pack("<I", len(body)) + body


def info_chunk(ep: Episode) -> bytes:
    parts = b""
    for key, value in (("INAM", ep.title), ("IART", ep.hosts), ("IPRD", ep.show), ("ICMT", ep.summary),
                       ("ICRD", ep.date), ("ISFT", f"radio {__version__}")):
        data = value.encode("utf-8") + b"\0"
        parts += key.encode() + struct.pack("<I", len(data)) + data + (b"\0" if len(data) & 1 else b"")
    return b"LIST" + struct.pack("<I", 4 + len(parts)) + b"INFO" + parts


def _chunks(f) -> list[tuple[bytes, int, int]]:
    """(id, offset of the chunk header, body size) up to and including 'data'."""
    f.seek(0)
    head = f.read(12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise RadioError("not a WAV file", where=getattr(f, "name", "?"), fix="run `radio assemble` again")
    out, pos = [], 12
    while True:
        f.seek(pos)
        h = f.read(8)
        if len(h) < 8:
            break
        cid, size = h[:4], struct.unpack("<I", h[4:])[0]
        out.append((cid, pos, size))
        if cid == b"data":
            break
        pos += 8 + size + (size & 1)
    return out


def tag_wav(path: Path, ep: Episode, loud: dict, rate: int, reference: str) -> None:
    """Replace the metadata between 'fmt ' and 'data' in place, padding with JUNK: the audio is never rewritten."""
    with open(path, "r+b") as f:
        chunks = _chunks(f)
        ids = [c[0] for c in chunks]
        if b"fmt " not in ids or b"data" not in ids:
            raise RadioError("the WAV has no fmt or data chunk", where=path, fix="run `radio assemble` again")
        fmt = chunks[ids.index(b"fmt ")]
        start = fmt[1] + 8 + fmt[2] + (fmt[2] & 1)
        end = chunks[ids.index(b"data")][1]
        meta = bext_chunk(ep, loud, rate, reference) + info_chunk(ep)
        room = end - start
        if len(meta) + 8 > room:
            raise RadioError(f"no room for broadcast metadata ({len(meta)} bytes, {room} reserved)", where=path,
                             fix="run `radio assemble` again, which reserves room")
        junk = room - len(meta) - 8
        f.seek(start)
        f.write(meta + b"JUNK" + struct.pack("<I", junk) + bytes(junk))
        f.flush()
        os.fsync(f.fileno())


def tag(station: Station, rundown: rd.Rundown, as_run: dict, loudness: dict, wav: Path, mp3: Path,
        cover: tuple[bytes, str] | None) -> Episode:
    """Tag the masters assembly has just written, before they take their names: the last step of assembly, so no
    other stage ever rewrites them. `wav` and `mp3` are the temporary files; `loudness` the on-air master's."""
    ep = episode(station, rundown, as_run)
    tag_mp3(mp3, ep, cover, round(as_run["podcast"]["seconds"] * 1000))
    tag_wav(wav, ep, loudness, station.config.audio.sample_rate, f"{station.config.show.slug}-{rundown.week}")
    return ep


def record(ep: Episode) -> str:
    """tags.json: what was written into the masters, as it was written."""
    return json.dumps(dataclasses.asdict(ep), ensure_ascii=False, indent=2) + "\n"


def written(station: Station, week: str) -> Episode:
    """What `tag` wrote into the masters, as it wrote it (publish reads this instead of working it out again)."""
    path = station.out_dir(week) / "tags.json"
    if not path.is_file():
        raise RadioError(f"{week}'s masters are not tagged", where=path, fix=f"run `radio assemble {week}` first")
    data = json.loads(path.read_text(encoding="utf-8"))
    return Episode(**{**data, "chapters": [tuple(c) for c in data["chapters"]]})
