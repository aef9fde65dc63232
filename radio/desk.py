"""The reports desk on the terminal: the week's list and one report, public view first."""

from __future__ import annotations

from radio.station import Station
from radio.errors import RadioError
from radio.reports import (find_report, load_week, on_air_ready, policy_counts, public, read_translation,
                           report_language, translation_path)
from radio.text import table


def list_rows(station: Station, week: str, status: str | None,
              lang: str | None = None) -> tuple[list[dict], list[RadioError]]:
    files, errors = load_week(station, week)
    rows = []
    policy = station.config.verification
    from radio.history import retracted
    gone = retracted(station, week)
    for rf in files:
        r = rf.report
        if status and r.status != status:
            continue
        done, need = policy_counts(r.checks, policy)
        try:
            pub = public(r, rf.path)
            shown = ", ".join(x for x in (pub.place, pub.region) if x) or "(withheld)"
        except RadioError as e:  # a leak in the public text is listed, not hidden
            errors.append(e)
            shown = "(exposure conflict)"
        row = {"id": r.id, "status": "retracted" if r.id in gone else r.status, "checks": done, "needed": need,
               "priority": r.priority, "kind": r.kind, "exposure": r.exposure, "place": shown, "title": r.title}
        if lang:
            row["translation"] = _translation_state(station, week, r, lang, errors)
        rows.append(row)
    return rows, errors


def _translation_state(station: Station, week: str, r, lang: str, errors: list[RadioError]) -> str:
    """original | checked | draft | missing | error: how far the report is from airing in `lang`."""
    if report_language(station, r) == lang:
        return "original"
    path = translation_path(station, week, r.id, lang)
    if not path.is_file():
        return "missing"
    try:
        t = read_translation(path)
        public(r.model_copy(update={"title": t.title or r.title, "attribution": t.attribution, "appeal": t.appeal,
                                    "body": t.body, "lang": lang}), path)
    except RadioError as e:
        errors.append(e)
        return "error"
    return t.state


def render_list(rows: list[dict], week: str, lang: str | None = None) -> str:
    if not rows:
        return f"no reports in {week}"
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    if lang:
        body = [[r["id"], r["status"], r["translation"], r["title"]] for r in rows]
        gap = [r for r in rows if r["status"] == "verified" and r["translation"] not in ("original", "checked")]
        return table(["ID", "STATUS", lang.upper(), "TITLE"], body, widths={0: 36, 3: 60}) + \
            f"\n{len(rows)} reports: {summary}; {len(gap)} verified without a checked {lang} translation" + \
            (f": {', '.join(r['id'] for r in gap)}" if gap else "")
    body = [[r["id"], r["status"], f"{r['checks']}/{r['needed']}", str(r["priority"]), r["kind"], r["place"],
             r["title"]] for r in rows]
    return table(["ID", "STATUS", "CHECKS", "PRI", "KIND", "PLACE", "TITLE"], body,
                 widths={0: 36, 5: 32, 6: 60}) + f"\n{len(rows)} reports: {summary}"


def render_show(station: Station, report_id: str, show_private: bool) -> str:
    rf = find_report(station, report_id)
    r = rf.report
    pub = public(r, rf.path)
    done, need = policy_counts(r.checks, station.config.verification)
    lines = [
        pub.title,
        "=" * min(len(pub.title), 72),
        f"id:          {pub.id}",
        f"status:      {r.status} ({done}/{need} checks)" + (f" — {r.reason}" if r.reason else ""),
        f"kind:        {pub.kind}, priority {pub.priority}",
        f"published as: {pub.dateline or '(no place)'} (exposure: {r.exposure})",
        f"attribution: {pub.attribution}",
    ]
    why = on_air_ready(r, station.config.verification)
    if r.status == "verified" and why:  # verified, and still kept off the air: say why
        lines.insert(4, f"on air:      no: it {why}")
    if pub.event_date:
        lines.append(f"event date:  {pub.event_date.isoformat()}")
    if pub.appeal:
        lines.append(f"appeal:      {pub.appeal}")
    lines += ["", pub.text]
    if show_private:
        if r.private.sealed:  # no editor's key unlocked: say what is needed, show nothing
            from radio.keys import keyring
            keyring.current("`report show --private`")
        p = r.private.model_dump(exclude_none=True)
        lines += ["", "-------- PRIVATE: NEVER TO BE PUBLISHED OR READ ON AIR --------"]
        lines += [f"place:       {r.place or ''}", f"workplace:   {r.workplace or ''}"]
        for k, v in p.items():
            lines += _private_lines(k, v)
        from radio.station import correspondent
        who = correspondent(station, r.private.correspondent)
        if who:
            lines += [f"{'identity:':<12} {who}"]
        for c in r.checks:
            lines.append(f"check:       {c.on.isoformat()} {c.by} by {c.method}" + (f": {c.note}" if c.note else ""))
        lines.append("-------- END PRIVATE --------")
    return "\n".join(lines)


def _private_lines(key: str, value, indent: str = "") -> list[str]:
    """A private field as lines; what intake records (headers, DKIM/SPF results, attachments) is nested."""
    if isinstance(value, dict):
        out = [f"{indent}{key}:"]
        for k, v in value.items():
            out += _private_lines(str(k), v, indent + "  ")
        return out
    if isinstance(value, list):
        out = [f"{indent}{key}:"]
        for v in value:
            out += _private_lines("-", v, indent + "  ") if isinstance(v, (dict, list)) else [f"{indent}  - {v}"]
        return out
    text = " / ".join(str(value).splitlines())
    return [f"{indent}{key + ':':<12} {text}" if not indent else f"{indent}{key}: {text}"]
