"""Transcript (WebVTT with speakers) and chapters (Podcast Index JSON 1.2), timed from as-run.json."""

from __future__ import annotations

import json
import re

from radio.rundown import Entry


def _ts(ms: int) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _vtt_text(text: str) -> str:
    # WebVTT cue text: &, < and > are escaped; a blank line or "-->" would end or break the cue
    text = " ".join(text.replace("-->", "→").split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?…])\s+", " ".join(text.split()))
    return [p for p in parts if p.strip()]


def cues(items: list[dict], entries: dict[str, Entry], hosts: dict[str, str]) -> list[dict]:
    """One cue per sentence, spread across its item by length (approximate within an item, exact at its edges)."""
    out = []
    for it in items:
        e = entries.get(it["id"])
        if e is None or not e.text:
            continue
        parts = sentences(e.text)
        total = sum(len(p) for p in parts) or 1
        start, span, done = it["start_ms"], it["end_ms"] - it["start_ms"], 0
        for p in parts:
            a = start + span * done // total
            done += len(p)
            b = start + span * done // total
            out.append({"start_ms": a, "end_ms": b, "speaker": hosts.get(e.item.host or "", ""), "text": p,
                        "item": it["id"]})
    return out


def vtt(cue_list: list[dict]) -> str:
    lines = ["WEBVTT", "",
             "NOTE Cue times are exact at the start and end of each item; within an item, sentences are spread "
             "by their length, so those times are approximate.", ""]
    for n, c in enumerate(cue_list, 1):
        speaker = _vtt_text(c["speaker"]).replace(">", "")
        voice = f"<v {speaker}>" if speaker else ""
        lines += [str(n), f"{_ts(c['start_ms'])} --> {_ts(c['end_ms'])}", f"{voice}{_vtt_text(c['text'])}", ""]
    return "\n".join(lines)


def chapters_json(chapters: list[dict], title: str) -> str:
    doc = {"version": "1.2.0", "title": title,
           "chapters": [{"startTime": round(c["start_ms"] / 1000, 3), "endTime": round(c["end_ms"] / 1000, 3),
                         "title": c["title"]} for c in chapters]}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
