"""Transcript (WebVTT with speakers) and chapters (Podcast Index JSON 1.2), timed from as-run.json."""

from __future__ import annotations

import json
import re
import textwrap

from radio.rundown.model import Entry


def _ts(ms: int) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _vtt_text(text: str) -> str:
    # WebVTT cue text: &, < and > are escaped; a blank line or "-->" would end or break the cue
    text = " ".join(text.replace("-->", "→").split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# A full stop after these does not end a sentence, and a cue never ends on them ("No. 2" stays together).
ABBREVIATIONS = {"no", "nos", "mr", "mrs", "ms", "dr", "st", "mt", "vs", "etc", "e.g", "i.e", "co", "ltd", "inc",
                 "jr", "sr", "prof", "gen", "gov", "sgt", "capt", "lt", "col", "rev", "fig", "approx", "dept", "est",
                 "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "p", "pp"}
LINE = 65  # characters a cue line may hold (the Podcast Index transcript guidance)
LINES = 2  # lines a cue may hold
NBSP = "\u00a0"


def _is_abbreviation(word: str) -> bool:
    w = word.rstrip(".").lower()
    return word.endswith(".") and (w in ABBREVIATIONS or (len(w) == 1 and w.isalpha()))


def _glue(text: str) -> str:
    """Join an abbreviation to the word after it with a no-break space, so no split falls between them."""
    words = " ".join(text.split()).split(" ")
    out = []
    for i, w in enumerate(words):
        out.append(w + (NBSP if _is_abbreviation(w) and i + 1 < len(words) else " "))
    return "".join(out).rstrip(" ")


def sentences(text: str) -> list[str]:
    glued = _glue(text)
    parts = re.split(r"(?<=[.!?…])\s+(?=[^\s])", glued.replace(NBSP, "\x00"))
    return [p.replace("\x00", NBSP) for p in parts if p.strip()]


def lines_of(sentence: str) -> list[list[str]]:
    """A sentence as cues of at most LINES lines of at most LINE characters, broken only between words."""
    lines = textwrap.wrap(sentence, LINE, break_on_hyphens=False, break_long_words=True)
    lines = [ln.replace(NBSP, " ") for ln in lines]
    return [lines[i:i + LINES] for i in range(0, len(lines), LINES)]


def cues(items: list[dict], entries: dict[str, Entry], hosts: dict[str, str]) -> list[dict]:
    """Cues of at most two 65-character lines, spread across their item by length.

    Times are exact at each item's edges and approximate within it (they are shared out by characters)."""
    out = []
    for it in items:
        e = entries.get(it["id"])
        if e is None or not e.text:
            continue
        parts = [c for s in sentences(e.text) for c in lines_of(s)]
        total = sum(len(" ".join(p)) for p in parts) or 1
        start, span, done = it["start_ms"], it["end_ms"] - it["start_ms"], 0
        for p in parts:
            a = start + span * done // total
            done += len(" ".join(p))
            b = start + span * done // total
            out.append({"start_ms": a, "end_ms": b, "speaker": hosts.get(e.item.host or "", ""),
                        "text": " ".join(p), "lines": p,
                        "item": e.report.id if e.report is not None else it["id"]})  # a report by its public id
    previous = None
    for c in out:  # a speaker is named only where the speaker changes
        c["new_speaker"] = bool(c["speaker"]) and c["speaker"] != previous
        previous = c["speaker"]
    return out


def vtt(cue_list: list[dict]) -> str:
    lines = ["WEBVTT", "",
             "NOTE Cue times are exact at the start and end of each item; within an item, sentences are spread "
             "by their length, so those times are approximate.", ""]
    for n, c in enumerate(cue_list, 1):
        speaker = _vtt_text(c["speaker"]).replace(">", "")
        voice = f"<v {speaker}>" if speaker and c.get("new_speaker", True) else ""
        text = "\n".join(_vtt_text(ln) for ln in c.get("lines") or [c["text"]])
        lines += [str(n), f"{_ts(c['start_ms'])} --> {_ts(c['end_ms'])}", f"{voice}{text}", ""]
    return "\n".join(lines)


def chapters_json(chapters: list[dict], title: str) -> str:
    doc = {"version": "1.2.0", "title": title,
           "chapters": [{"startTime": round(c["start_ms"] / 1000, 3), "endTime": round(c["end_ms"] / 1000, 3),
                         "title": c["title"]} for c in chapters]}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
