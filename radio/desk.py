"""The reports desk on the terminal: the week's list and one report, public view first."""

from __future__ import annotations

from radio.station import Station
from radio.errors import RadioError
from radio.reports import find_report, load_week, policy_counts, public
from radio.text import table


def list_rows(station: Station, week: str, status: str | None) -> tuple[list[dict], list[RadioError]]:
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
        rows.append({"id": r.id, "status": "retracted" if r.id in gone else r.status, "checks": done, "needed": need, "priority": r.priority,
                     "kind": r.kind, "exposure": r.exposure, "place": shown, "title": r.title})
    return rows, errors


def render_list(rows: list[dict], week: str) -> str:
    if not rows:
        return f"no reports in {week}"
    body = [[r["id"], r["status"], f"{r['checks']}/{r['needed']}", str(r["priority"]), r["kind"], r["place"],
             r["title"]] for r in rows]
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
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
    if pub.event_date:
        lines.append(f"event date:  {pub.event_date.isoformat()}")
    if pub.appeal:
        lines.append(f"appeal:      {pub.appeal}")
    lines += ["", pub.text]
    if show_private:
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
