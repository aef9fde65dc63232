"""The reports desk on the terminal: the week's list and one report, public view first."""

from __future__ import annotations

import json

from radio import history, publicid
from radio.keys import block as keys_block
from radio.station import Station
from radio.errors import RadioError
from radio.reports.files import find_report, load_week
from radio.publishable import on_air_ready
from radio.reports.model import policy_counts, public
from radio.reports.translations import read_translation, report_language, translation_path
from radio.text import printable, table


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
            pub = public(r, rf.path, public_id="")  # a check: nothing is published here
            shown = ", ".join(x for x in (pub.place, pub.region) if x) or "(withheld)"
        except RadioError as e:  # a leak in the public text is listed, not hidden
            errors.append(e)
            shown = "(exposure conflict)"
        row = {"id": r.id, "status": "retracted" if r.id in gone else r.status, "checks": done, "needed": need,
               "priority": r.priority, "kind": r.kind, "exposure": r.exposure, "place": shown, "title": r.title}
        unverified = sender_unverified(r)
        if unverified:
            row["sender"] = f"not verified: {unverified}"
        mixed = mixed_scripts(r)
        if mixed:
            row["warnings"] = mixed
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
                                    "body": t.body, "lang": lang}), path, public_id="")
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
    marks = [f"{r['id']}: sender {r['sender']}" for r in rows if r.get("sender")]
    marks += [f"{r['id']}: warning: {w}" for r in rows for w in r.get("warnings", [])]
    return table(["ID", "STATUS", "CHECKS", "PRI", "KIND", "PLACE", "TITLE"], body,
                 widths={0: 36, 5: 32, 6: 60}) + f"\n{len(rows)} reports: {summary}" + \
        "".join(f"\n{printable(m)}" for m in marks)


def mixed_scripts(r) -> list[str]:
    """A warning for each public text with a word in mixed scripts ('Ѕtonebridge' with a Cyrillic Ѕ): a reader
    sees one word, a search sees another."""
    from radio.matching import mixed_script_words
    from radio.withheld import public_texts
    out = []
    for name, text in public_texts(r).items():
        words = mixed_script_words(text)
        if words:
            out.append(f"the {name} has {'a word' if len(words) == 1 else 'words'} mixed from several scripts: "
                       + ", ".join(words[:5]))
    return out


def sender_unverified(r) -> str | None:
    """Why intake could not verify who sent a report (radio/mail/sender.py), or None."""
    sender = (r.private.model_extra or {}).get("sender")
    if isinstance(sender, dict) and not sender.get("verified", True):
        return str(sender.get("why") or "unknown")
    return None


def listing(station: Station, week: str | None, *, status: str | None = None, as_json: bool = False,
            thread: str | None = None, quarantine: bool = False, lang: str | None = None) -> tuple[str, list[RadioError]]:
    """What `radio report list` prints, in its one mode: a thread across weeks, the week's quarantine, or the
    week's desk (as a table or JSON); with the broken files it found, which make the command exit 1."""
    if thread:
        from radio.threads import render_list as render_thread
        return render_thread(station, thread), []
    assert week is not None
    if quarantine:
        from radio.mail.quarantine import quarantine_list, render_quarantine
        qrows = quarantine_list(station, week)
        return (json.dumps(qrows, ensure_ascii=False, indent=2) if as_json else render_quarantine(qrows, week)), []
    rows, errors = list_rows(station, week, status, lang)
    return (json.dumps(rows, ensure_ascii=False, indent=2) if as_json else render_list(rows, week, lang)), errors


def render_show(station: Station, report_id: str, show_private: bool) -> str:
    rf = find_report(station, report_id)
    r = rf.report
    pub = public(r, rf.path, public_id="")
    pid = _public_id_text(station, rf.path.parent.parent.name, r)
    done, need = policy_counts(r.checks, station.config.verification)
    lines = [
        pub.title,
        "=" * min(len(pub.title), 72),
        f"id:          {r.id}",
        f"public id:   {pid}",
        f"status:      {r.status} ({done}/{need} checks)" + (f" — {r.reason}" if r.reason else ""),
        f"kind:        {pub.kind}, priority {pub.priority}",
        f"published as: {pub.dateline or '(no place)'} (exposure: {r.exposure})",
        f"attribution: {pub.attribution}",
    ]
    unverified = sender_unverified(r)
    if unverified:
        lines.insert(5, f"sender:      not verified: {unverified}")
    for w in mixed_scripts(r):
        lines.insert(5, f"warning:     {w}")
    why = on_air_ready(r, station.config.verification)
    if r.status == "verified" and why:  # verified, and still kept off the air: say why
        lines.insert(5, f"on air:      no: it {why}")
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
    return printable("\n".join(lines))


def _public_id_text(station: Station, week: str, r) -> str:
    """A report's public id for the desk, or why it is not shown: one that names a withheld detail is never
    printed (a terminal is no place for it either)."""
    if publicid.telling(station, week, r):
        return f"(it names a detail the report now withholds: radio report public-id {r.id} --new)"
    pid, fixed = publicid.of(station, week, r)
    return pid + ("" if fixed else " (not published yet: fixed when it first is)")


def public_id_line(station: Station, report_id: str) -> str:
    rf = find_report(station, report_id)
    return f"{report_id}: public id {_public_id_text(station, rf.path.parent.parent.name, rf.report)}"


def reissue_public_id(station: Station, report_id: str) -> str:
    """Replace a published report's public id (radio/publicid.py), under the report's own lock."""
    from radio.reports.files import editing
    with editing(station, report_id) as rf:
        _, new = publicid.reissue(station, rf.path.parent.parent.name, rf.report)
    return (f"{report_id}: public id {new} (what went out under the old one stays as it went out; publish again "
            "to use the new one)")


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


def render_history(station: Station, report_id: str) -> str:
    """The desk's view of a report's whole history, oldest first (the desk's own notes included)."""
    rf = find_report(station, report_id)
    week = rf.path.parent.parent.name
    events = history.read(station, week, report_id, private=True)
    sealed = keys_block.SEALED_MARK  # a confidence no identity opened: there is one, and that is all it says
    events = [{**e, **{k: sealed for k in history.PRIVATE_FIELDS.get(e["event"], ())}} if history.SEALED in e else e
              for e in events]
    logged = {(e.get("by"), e.get("method"), e["at"][:10]) for e in events if e["event"] == "check"}
    rows: list[tuple[str, str]] = [(rf.report.received.isoformat(), "received")]
    for c in rf.report.checks:  # checks made before the log existed live only in the report
        if (c.by, c.method, c.on.isoformat()) not in logged:
            rows.append((c.on.isoformat(), f"check by {c.by} ({c.method})" + (f": {c.note}" if c.note else "")))
    for e in events:
        kind = e["event"]
        if kind == "check":
            text = f"check by {e.get('by')} ({e.get('method')})" + (f": {e['note']}" if e.get("note") else "")
        elif kind == "status":
            text = f"status {e.get('from')} -> {e.get('to')}" + (f": {e['reason']}" if e.get("reason") else "")
        elif kind == "correction":
            text = f"correction (public): {e.get('note')}"
        elif kind == "retraction":
            text = f"retraction (public): {e.get('reason')}"
        elif kind == "renamed":
            text = f"renamed from {e.get('from')}"
        elif kind == "released":
            text = (f"released from quarantine ({e.get('reason')}) as from {e.get('correspondent')}"
                    + (f" by {e['by']}" if e.get("by") else ""))
        else:
            text = kind
        rows.append((history.when(station, e["at"]), text))
    rows.sort(key=lambda r: r[0][:10])  # by date; the log's own order is kept within a day
    width = max(len(r[0]) for r in rows)
    state = "retracted" if history.retraction(events) else rf.report.status
    lines = [f"{report_id} ({week}): {state}"] + [f"  {when:<{width}}  {text}" for when, text in rows]
    return "\n".join(lines)
