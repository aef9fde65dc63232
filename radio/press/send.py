"""`radio send WEEK --to press`: each new or changed press item to the newsrooms in private/press.csv.

Every row gets the items of its language's edition (the station's own when there is none): the text in the
message, the ninjs item attached, the clip linked (and the embargo, when there is one, in the subject and the
first line). Each item version is its own journal (private/send/press-WEEK-EDITION-ID-vN.jsonl): a rerun sends
only the versions a newsroom has not had, and a new version of an item goes to everyone again.
"""

from __future__ import annotations

import json

from radio.errors import RadioError
from radio.mail import subscribers as subs
from radio.mail.outgoing import as_bytes, list_headers, message_id, new_message, send_all
from radio.mail.send import Outgoing, SendResult
from radio.station import Station

FILE = "press.csv"


def edition_for(station: Station, language: str) -> Station:
    eds = station.editions()
    want = language.lower()
    return next((e for e in eds if e.language.lower() == want), None) or \
        next((e for e in eds if e.language.lower().split("-")[0] == want.split("-")[0]), eds[0])


def items(station: Station, week: str) -> list[dict]:
    """The week's items in this edition as `radio press` last made them (embargoed ones included)."""
    from radio.press.site import desk_dir
    folder = desk_dir(station, week)
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def text_of(item: dict) -> str:
    lines = []
    if item.get("embargoed"):
        lines += [f"EMBARGOED until {item['embargoed']}: do not publish before then.", ""]
    if item.get("ednote"):
        lines += [f"Editors' note: {item['ednote']}", ""]
    lines += [item["headlines"][0]["value"], ""]
    if item.get("located") or item.get("by"):
        lines += [" - ".join(x for x in (item.get("located"), item.get("by")) if x), ""]
    lines += [next((b["value"] for b in item.get("bodies", []) if b.get("contenttype") == "text/plain"), ""), ""]
    for r in item.get("renditions", []):
        lines.append(f"Audio ({r['duration']:.0f} s, MP3): {r['href']}")
    lines += ["", item["usageterms"], f"ninjs item attached (uri {item['uri']}, version {item['version']})."]
    return "\n".join(lines) + "\n"


def build(station: Station, week: str, item: dict, sub: subs.Subscriber) -> Outgoing:
    from radio.mail.bulletin import wrap
    key = f"{week}.{item['slugline']}.v{item['version']}"
    mid = message_id(station, "press", key, sub.address)
    status = {"usable": "", "canceled": "CANCELED: ", "withheld": "WITHHELD: "}[item["pubstatus"]]
    embargo = f"[embargoed until {item['embargoed']}] " if item.get("embargoed") else ""
    subject = f"{embargo}{status}{item['headlines'][0]['value']}"
    msg = new_message(station, f"{sub.organisation} <{sub.address}>", subject, mid, station.air_datetime(week))
    url = list_headers(station, msg, "press", sub.address)
    body = "\n".join(wrap(p) if len(p) > 72 and "://" not in p else p for p in text_of(item).split("\n"))
    msg.set_content(body + f"\n-- \nSent to {sub.organisation}. To stop receiving press items: {url}\n",
                    charset="utf-8", cte="quoted-printable")
    msg.add_attachment(json.dumps(item, ensure_ascii=False, indent=2).encode(), maintype="application",
                       subtype="json", filename=f"{item['slugline']}.v{item['version']}.ninjs.json")
    msg["Content-Language"] = item["language"]
    return Outgoing(sub, mid, as_bytes(msg, mid))


def send(station: Station, week: str, *, dry_run: bool = False, uncertain: str | None = None) -> SendResult:
    people = subs.load(station, FILE)  # a bad row stops everything before any message is made
    total = SendResult()
    groups: dict[str, tuple[Station, list[subs.Subscriber]]] = {}
    for p in people:
        ed = edition_for(station, p.language)
        groups.setdefault(ed.edition_id, (ed, []))[1].append(p)
    plan = [(ed, item, who) for ed, who in groups.values() for item in items(ed, week)]
    if not plan:
        raise RadioError(f"no press items for {week} yet", fix=f"run `radio press {week}` first")
    for ed, item, who in plan:
        key = f"press-{week}-{ed.edition_id}-{item['slugline']}-v{item['version']}"
        r = send_all(station, key, f"{item['uri']}#{item['version']}", who,
                     lambda s, item=item, ed=ed: build(ed, week, item, s), uncertain=uncertain, dry_run=dry_run)
        for name in ("sent", "already", "uncertain", "failed", "written"):
            getattr(total, name).extend(getattr(r, name))
    return total
