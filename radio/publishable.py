"""Which reports may be published: the one place that decides it.

A report may be published (aired, mailed, put on the site, listed on a thread page) when it is verified under
the station's current policy, this edition has a checked translation of it (or it is in the edition's language),
no public text names a detail its exposure withholds, and it was not retracted. Publishing code asks
`publishable` and holds only what it returns: PublicReport, which has no field for anything said in confidence.
"""

from __future__ import annotations

from typing import Collection

from radio import history, publicid
from radio.config import Verification
from radio.reports.model import PublicReport, Report, policy_counts, policy_holds, public
from radio.reports.translations import edition_reports
from radio.station import Station
from radio.withheld import exposure_conflict


def on_air_ready(report: Report, policy: Verification) -> str | None:
    """Why a report cannot go on air, or None when it can.

    Verified under the current policy (a stricter policy unverifies it), and no public text names a
    detail its exposure withholds. The reason names fields, never the withheld values.
    """
    if report.status != "verified":
        return {"unverified": "is not verified yet", "held": "is held", "rejected": "was rejected"}[report.status]
    if report._gap:  # this edition has no checked translation of it
        return report._gap
    if not policy_holds(report.checks, policy):
        done, need = policy_counts(report.checks, policy)
        return f"has {done} of the {need} checks the verification policy now needs"
    conflict = exposure_conflict(report)
    if conflict:
        name, field, _ = conflict
        from radio.sources import EXPOSURE_FIELDS
        if field in EXPOSURE_FIELDS:
            return f"names its withheld {field} in the {name} (exposure {report.exposure})"
        return f"names the {field} in the {name}"
    return None


def why_not(station: Station, report: Report, retracted: Collection[str] = ()) -> str | None:
    """Why a report may not be published now (the reason names fields, never withheld values), or None."""
    if report.id in retracted:
        return "was retracted"
    return on_air_ready(report, station.config.verification)


def verdicts(station: Station, week: str, *, retractions: bool = True) -> tuple[list[Report], dict[str, str]]:
    """The week's reports as this edition speaks them, and for each one that may not be published, why.

    `retractions=False` is for the on-air rundown only: a retraction takes a report out of everything published
    from then on, but the on-air master records what was broadcast."""
    reports = edition_reports(station, week)
    gone = history.retracted(station, week) if retractions else {}
    return reports, {r.id: w for r in reports
                     if (w := why_not(station, r, gone) or publicid.telling(station, week, r)) is not None}


def publishable(station: Station, week: str, *, retractions: bool = True, publishing: bool = False
                ) -> list[PublicReport]:
    """The week's reports this edition may publish, as their public projection under their public ids, sorted
    by desk id. `publishing` fixes those ids (radio/publicid.py): the caller is about to publish them."""
    return [p for _, p in pairs(station, week, retractions=retractions, publishing=publishing)]


def pairs(station: Station, week: str, *, retractions: bool = True, publishing: bool = False
          ) -> list[tuple[str, PublicReport]]:
    """(desk id, public projection) of what `publishable` returns: for code that joins what it publishes with
    the desk's own records (history), and names nothing by the desk id in what it writes."""
    reports, why = verdicts(station, week, retractions=retractions)
    pids = publicid.ids(station, week, reports)
    out = [(r.id, public(r, r._source or r.id, public_id=pids[r.id])) for r in reports if r.id not in why]
    if publishing:
        publicid.record(station, week, {rid: p.id for rid, p in out})
    return out


def by_id(station: Station, week: str, *, retractions: bool = True
          ) -> tuple[dict[str, PublicReport | None], dict[str, str]]:
    """Every report of the week by desk id: its public projection when it may be published, else None; and
    every report's public id by desk id (what published records name it by)."""
    reports, why = verdicts(station, week, retractions=retractions)
    pids = publicid.ids(station, week, reports)
    return {r.id: (public(r, r._source or r.id, public_id=pids[r.id]) if r.id not in why else None)
            for r in reports}, pids
