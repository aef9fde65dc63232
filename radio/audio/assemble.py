"""Assembling the show: recordings and station sounds into an on-air master that fills its slot to the sample,
and a podcast master, each at its own loudness target, with speech as the anchor of both.

The stage in order: find every input (`gather`), then mix both timelines in one pass over the takes (`mix`),
each streamed into its master as it is made: gained, limited, written or encoded, and measured
(`master`, with `encode`), then tagged (`radio/tags.py`) before they take their names: no later stage rewrites
them. `as-run.json` says where every item lies in each master, `loudness.json` what each master and each item
measure in the files themselves, and `tags.json` what the tags say.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from radio import fsutil, media, tags, takes
from radio.rundown import model as rd
from radio import timing
from radio.audio import report, take, tts
from radio.audio.report import Painter
from radio.audio.master import PROBE_S, Discard, OnAir, Podcast, behind_encoder, ceilings, finish
from radio.audio.mix import Ahead, Elements, Progress, Source, balance, mix, podcast_mix_lufs
from radio.config import format_ms
from radio.station import Station
from radio.errors import AudioError, warn


@dataclass
class Result:
    onair: Path
    podcast: Path
    as_run: Path
    loudness: Path
    report: dict
    warnings: list[str] = field(default_factory=list)
    painter: Painter | None = None  # the audio report's images, still being drawn

    def wait(self) -> None:
        """Until the audio report's images are drawn (the stages after assembly run meanwhile)."""
        if self.painter is not None:
            self.painter.wait()


def gather(station: Station, rundown: rd.Rundown, draft: bool, progress: Progress) -> list[Source]:
    """Find every input before any work starts: all missing recordings are named at once."""
    cfg = station.config
    week = rundown.week
    sources: list[Source] = []
    missing: list[rd.Entry] = []
    found = takes.scan(station, week, [e.id for e in rundown.live if e.item.type in rd.SPEECH]).recordings
    for e in rundown.live:
        it = e.item
        if it.type in rd.SPEECH:
            p = found.get(it.id)
            if p is None and not draft:
                missing.append(e)
            sources.append(Source(e, p, p is None, "speech"))
        else:
            sources.append(Source(e, None, False, "element" if it.type == "element" else "bed"))
    if missing:
        paths = ", ".join(f"{station.edition_dir(week).relative_to(station.root)}/segments/{e.id}.wav" for e in missing)
        raise AudioError(f"{len(missing)} recording{'s' if len(missing) > 1 else ''} missing: {paths}",
                         fix="record them (any format ffmpeg reads), or pass --draft to fill them with read-throughs")
    names = {cfg.audio.filler} if cfg.audio.filler else set()
    for s in sources:
        names |= {n for n in (s.entry.item.element, s.entry.item.bed) if n}
    for name in sorted(names):
        p = station.element_path(name)
        if not p.is_file():
            raise AudioError(f"element {name!r}: {cfg.elements[name].file} does not exist",
                             where=station.root / "radio.toml", fix="fix its file = in [elements], or add the file")
    slot = cfg.show.slot_ms
    for s in sources:
        if s.path is not None:
            ms = media.duration_ms(s.path)
            if ms > slot:
                raise AudioError(f"item {s.entry.id}: the recording is {format_ms(ms)}, longer than the whole "
                                 f"{format_ms(slot)} slot", where=s.path, fix="check it is the right file, or edit it")
    todo = [s for s in sources if s.kind == "speech" and s.path is None]
    for i, s in enumerate(todo):
        host = cfg.host(s.entry.item.host or cfg.hosts[0].id)
        progress("draft", i + 1, len(todo), s.entry.id)
        s.path = tts.draft(s.entry.text, host.voice, host.rate_wpm, timing.draft_path(station, week, s.entry.id),
                             timing.estimate_ms(station, s.entry))
    return sources


def _speech_summary(items: dict, ids: list[str], key: str, target: float) -> dict | None:
    got = [items[i][key]["integrated"] for i in ids if items.get(i, {}).get(key) and
           items[i][key]["integrated"] is not None]
    if not got:
        return None
    return {"min": min(got), "max": max(got), "spread": round(max(got) - min(got), 2),
            "worst_offset": round(max(got, key=lambda v: abs(v - target)) - target, 2)}


def assemble(station: Station, week: str, *, draft: bool = False, allow_over: bool = False,
             allow_clipped: bool = False, progress: Progress | None = None) -> Result:
    progress = progress or (lambda *a: None)
    cfg = station.config
    rate = cfg.audio.sample_rate
    L = cfg.loudness
    rundown = rd.load(station, week)
    cover = tags.cover_if_any(station)  # what tagging needs is checked before any mixing
    tags.check_chapters(station, rundown)
    sources = gather(station, rundown, draft, progress)
    out = station.out_dir(week)
    out.mkdir(parents=True, exist_ok=True)
    wav_tmp, mp3_tmp = fsutil.temp_path(out / "onair.wav"), fsutil.temp_path(out / "podcast.mp3")
    temps = [wav_tmp, mp3_tmp]
    ceil_on, ceil_pod = ceilings(L)
    painter = Painter(station)  # before the encoder and its pipes
    try:
        # speech is mixed at the on-air target: the on-air master needs no gain, the podcast the targets'
        # difference; the encoder starts now, and the rest of the stage runs behind it
        pod = Podcast(station, mp3_tmp, None, ceil_pod)  # its gain is set on the first speech take

        def remix(gain_db: float, ceiling_db: float) -> dict:
            again = Podcast(station, mp3_tmp, gain_db, ceiling_db)
            again.follow()
            try:
                mix(station, rundown, sources, Discard(), again.chain, allow_over=allow_over,
                    allow_clipped=allow_clipped, progress=progress)
            except BaseException:
                again.abort()
                raise
            return again.close()

        elements = Elements(station, rate)
        ahead = Ahead(station, week, sources, rate, elements, allow_clipped)  # the first takes decode from now
        probe = ThreadPoolExecutor(1)  # the podcast's gain, worked out meanwhile: the encoder waits for it
        try:
            voice = next((s for s in sources if s.kind == "speech" and s.path is not None
                          and not s.entry.item.onair_only), None)
            sample = probe.submit(take.excerpt, voice.path, rate, PROBE_S, media.duration_ms(voice.path),
                                  L.onair_lufs, cfg.mix) if voice is not None else None
            # the podcast is the on-air mix without the filler: where its station sounds put its loudness against
            # speech is worked out from the rundown, so its gain is right the first time
            nominal = podcast_mix_lufs(cfg) - L.onair_lufs - balance(station, sources, rate, elements, podcast=True)
            gain = probe.submit(lambda: pod.gain(nominal, sample.result() if sample is not None else None))
        except BaseException:
            ahead.close()
            pod.abort()
            raise
        finally:
            probe.shutdown(wait=False)

        def work():
            pod.follow()
            on = OnAir(station, wav_tmp, 0.0, ceil_on)
            try:
                mixed = mix(station, rundown, sources, on.chain, pod.chain, allow_over=allow_over,
                            allow_clipped=allow_clipped, progress=progress, elements=elements, ahead=ahead,
                            first_speech=lambda: pod.settle(gain.result()))
            except BaseException:
                on.abort()
                pod.abort()
                raise
            for w in mixed.warnings:
                warn(w)
            progress("master", 1, 2, "on-air WAV and podcast MP3")
            spans_on = [(p.id, p.start, p.end) for p in mixed.on.placed]
            speech_ids = frozenset(s.entry.id for s in sources if s.kind == "speech")
            return mixed, finish(station, out, temps, on, pod, spans_on, remix, speech_ids)
        mixed, m = behind_encoder(work, stop=pod.encoder.abort)
        progress("master", 2, 2, "measured")
        speech = {s.entry.id for s in sources if s.kind == "speech"}
        on_, pod_ = mixed.on, mixed.pod
        items_on, items_pod = m.onair.pop("items"), m.podcast.pop("items")
        lim_on, lim_pod = m.onair["limiter"].pop("items"), m.podcast["limiter"].pop("items")
        items = {p.id: {"type": p.type, "onair": items_on.get(p.id), "podcast": items_pod.get(p.id),
                        **({"take": mixed.takes[p.id]} if p.id in mixed.takes else {}),
                        **({"limiter": {"onair": lim_on.get(p.id), "podcast": lim_pod.get(p.id)}}
                           if p.id in lim_on or p.id in lim_pod else {}),
                        **({"podcast_dynamics": mixed.dynamics[p.id]} if p.id in mixed.dynamics else {})}
                 for p in on_.placed}
        traces = {"onair": m.onair.pop("trace"), "podcast": m.podcast.pop("trace")}
        ids = [p.id for p in on_.placed if p.id in speech]
        m.onair["speech"] = _speech_summary(items, ids, "onair", L.onair_lufs)
        m.podcast["speech"] = _speech_summary(items, ids, "podcast", L.podcast_lufs)
        for i in ids:
            got = items[i]["onair"]["integrated"]
            if got is not None and abs(got - L.onair_lufs) > L.speech_tolerance:
                warn(f"item {i} measures {got} LUFS in the on-air master, more than {L.speech_tolerance:g} LU "
                     f"from the {L.onair_lufs:g} target")
        if abs(m.onair["gain_db"]) > L.master_gain_max:
            warn(f"the on-air mix needed {m.onair['gain_db']:+.1f} dB to reach its target: the station sounds are "
                 f"out of balance with speech (check their level in [elements] and [mix] filler_level)")
        as_run = {
            "week": week, "title": rundown.title, "draft": any(s.draft for s in sources), "rate": rate,
            "onair": {"file": "onair.wav", "samples": mixed.total_on, "seconds": round(mixed.total_on / rate, 3),
                      "items": [p.as_dict(rate) for p in on_.placed]},
            "podcast": {"file": "podcast.mp3", "samples": mixed.total_pod,
                        "seconds": round(mixed.total_pod / rate, 3), "items": [p.as_dict(rate) for p in pod_.placed]},
        }
        loud = {"onair": m.onair, "podcast": m.podcast, "items": items}
        painter.draw(as_run, traces)  # drawn while the masters are tagged, and the stages after run
        progress("tag", 1, 1, "ID3 chapters and cover, BWF bext")
        ep = tags.tag(station, rundown, as_run, m.onair, m.onair_tmp, m.podcast_tmp, cover)
        onair, podcast = out / "onair.wav", out / "podcast.mp3"
        os.replace(m.onair_tmp, onair)
        os.replace(m.podcast_tmp, podcast)
        fsutil.write_text(out / "loudness.json", json.dumps(loud, indent=2, ensure_ascii=False) + "\n")
        fsutil.write_text(out / "as-run.json", json.dumps(as_run, indent=2, ensure_ascii=False) + "\n")
        fsutil.write_text(out / "tags.json", tags.record(ep))
        report.page(station, as_run, loud)
        return Result(onair, podcast, out / "as-run.json", out / "loudness.json", loud, mixed.warnings, painter)
    except BaseException:
        painter.wait()  # with nothing handed over, the drawer is kept for the next assembly
        raise
    finally:
        for t in temps:
            t.unlink(missing_ok=True)
