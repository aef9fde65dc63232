"""radio report ...: the desk's commands, one report at a time."""

from __future__ import annotations

import sys

import click

from radio.cli.base import Ctx, RadioGroup, cli, pass_ctx, renamed, required, week_arg
from radio.station import Week


@cli.group(cls=RadioGroup)
def report() -> None:
    """Take in, verify, hold and list the week's reports.

    \b
    The life of a report:
      unverified  `report new` writes it; `verify` adds a check
      verified    once its checks meet [verification] in radio.toml
      held        `hold --private-note`: off the air until `reopen`
      rejected    `reject --private-note`: off the air until `reopen`
      (reopen)    back to verified or unverified, as its checks allow

    \b
    Only a verified report whose public text names nothing its exposure
    withholds can go on air. The rundown names reports, it does not copy
    them: every script, master, tag and feed is made from the report as it
    is at that moment. Hold it, reject it, lower its exposure or let a
    stricter policy unverify it, and the next plan, script or build drops its
    item, its headline and its appeal, saying so. Two editors may work at
    once: each change is saved under a lock on that report, or fails and
    says so.

    \b
    Example:
      radio report new 2026-W47 --title "Pit strike enters second week" --region Komi
      radio report verify pit-strike-enters-second-week --by maria --method phone
      radio report hold pit-strike-enters-second-week --private-note "source asked us to wait"
    """


@report.command("new")
@week_arg
@click.option("--title", required=True, help="The report's headline.")
@click.option("--place", help="Town or city (published only with exposure: named).")
@click.option("--region", help="Region (published unless exposure: none).")
@click.option("--sector", help="Mining, rail, health, education ...")
@click.option("--kind", default="other", show_default=True, help="strike, assembly, arrest, dismissal ...")
@pass_ctx
def report_new(c: Ctx, week: str, title: str, place, region, sector, kind) -> None:
    """Write a new report for WEEK from the template and print its path.

    \b
    Example:
      radio report new 2026-W47 --title "Depot workers walk out" --place Chita --kind strike
    """
    from radio.desk.commands import new_report
    path = new_report(c.station, week, title, place=place, region=region, sector=sector, kind=kind)
    click.echo(path.relative_to(c.station.root))


@report.command("list")
@click.argument("week", required=False)
@click.option("--status", type=click.Choice(["unverified", "verified", "held", "rejected"]), help="Only this status.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (public fields only).")
@click.option("--thread", help="A story thread across all weeks, instead of one week's desk.")
@click.option("--quarantine", is_flag=True, help="The messages intake set aside, each with its reason.")
@click.option("--lang", help="Show each report's translation into LANG: checked, draft or missing.")
@pass_ctx
def report_list(c: Ctx, week: str | None, status: str | None, as_json: bool, thread: str | None,
                quarantine: bool, lang: str | None) -> None:
    """List WEEK's reports: id, status, checks done/needed, priority, kind, place as published, title.

    \b
    Example:
      radio report list 2026-W47 --status verified
      radio report list 2026-W47 --lang fr
      radio report list --thread kestrel-ridge-strike
      radio report list 2026-W47 --quarantine
    """
    from radio.desk.views import listing
    if week is None and not thread:
        raise click.UsageError("name a WEEK (e.g. 2026-W47), or pass --thread NAME")
    text, errors = listing(c.station, str(Week(week)) if week else None, status=status, as_json=as_json,
                           thread=thread, quarantine=quarantine, lang=lang)
    click.echo(text)
    from radio.text import printable
    for e in errors:
        click.echo(f"error: {printable(e.format_message())}", err=True)
    if errors:
        sys.exit(1)


@report.command("rename")
@click.argument("report_id")
@click.argument("new_id")
@pass_ctx
def report_rename(c: Ctx, report_id: str, new_id: str) -> None:
    """Change a report's desk id everywhere on the desk: report, translations, history, rundowns, takes.

    An id is made from the title the report was filed under; one that names what the report withholds is
    refused like any public text, and this is how it is fixed. Nothing published moves: feeds, pages, mail and
    press name a report by its public id (see `radio report show`), which keeps its place in public-ids.toml.

    \b
    Example:
      radio report rename second-teacher-sacked-at-stonebridge second-teacher-sacked
    """
    from radio.rename import rename
    for line in rename(c.station, report_id, new_id):
        c.say(line)


@report.command("translate")
@click.argument("report_id")
@click.option("--lang", required=True, help="The language to translate into (BCP 47: fr, ru, es ...).")
@pass_ctx
def report_translate(c: Ctx, report_id: str, lang: str) -> None:
    """Start a translation: REPORT_ID.LANG.md beside the report, the original's public text as comments.

    \b
    Example:
      radio report translate pit-strike-second-week --lang fr
    """
    from radio.desk.commands import translate
    path = translate(c.station, report_id, lang)
    click.echo(path.relative_to(c.station.root))


@report.command("show")
@click.argument("report_id")
@click.option("--private", "show_private", is_flag=True, help="Add the private block, clearly marked.")
@pass_ctx
def report_show(c: Ctx, report_id: str, show_private: bool) -> None:
    """Show a report as it will be published; --private adds what was said in confidence.

    \b
    Example:
      radio report show pit-strike-enters-second-week --private
    """
    from radio.desk.views import render_show
    click.echo(render_show(c.station, report_id, show_private))


@report.command("public-id")
@click.argument("report_id")
@click.option("--new", "new", is_flag=True,
              help="Give a published report a new public id, when the one it went out under names a detail it "
                   "now withholds.")
@pass_ctx
def report_public_id(c: Ctx, report_id: str, new: bool) -> None:
    """Say the public id a report is published under (feeds, pages, mail and press name it by that, never by
    its desk id); --new replaces it, from the current title, once the old one would name what is withheld.

    \b
    Example:
      radio report public-id pit-strike-second-week
    """
    from radio.desk.views import public_id_line, reissue_public_id
    c.say(reissue_public_id(c.station, report_id) if new else public_id_line(c.station, report_id))


@report.command("verify")
@click.argument("report_id")
@click.option("--by", "by", required=True, help="Who made the check.")
@click.option("--method", required=True, help="How: phone, visit, document, second-source ...")
@click.option("--private-note", "note", help="A note for the desk (never published).")
@renamed("--note", "note", "--private-note")
@pass_ctx
def report_verify(c: Ctx, report_id: str, by: str, method: str, note: str | None) -> None:
    """Add a verification check; the report is verified once the station's policy holds.

    \b
    Example:
      radio report verify pit-strike --by maria --method phone --private-note "union office confirmed"
    """
    from radio.desk.commands import add_check
    rf, done, need = add_check(c.station, report_id, by, method, note)
    c.say(f"{report_id}: {done}/{need} checks, status {rf.report.status}")


def _status_command(name: str, status: str, doc: str):
    @report.command(name, help=doc)
    @click.argument("report_id")
    @click.option("--private-note", "reason", help="Why (kept on the desk, never published)."
                  + (" Required." if status != "unverified" else ""))
    @renamed("--reason", "reason", "--private-note")
    @pass_ctx
    def command(c: Ctx, report_id: str, reason: str | None = None) -> None:
        from radio.desk.commands import set_status
        if status != "unverified":
            required(reason, "--private-note")
        rf = set_status(c.station, report_id, status, reason)  # type: ignore[arg-type]
        c.say(f"{report_id}: status {rf.report.status}")
    return command


_status_command("hold", "held", "Hold a report off the air.\n\n\b\nExample:\n  radio report hold pit-strike --private-note "
                '"source asked us to wait"')
_status_command("reject", "rejected", "Reject a report.\n\n\b\nExample:\n  radio report reject pit-strike "
                '--private-note "second source denies it"')
_status_command("reopen", "unverified", "Take a held or rejected report back onto the desk.\n\n\b\nExample:\n"
                "  radio report reopen pit-strike")


@report.command("history")
@click.argument("report_id")
@pass_ctx
def report_history(c: Ctx, report_id: str) -> None:
    """Every status change, check, correction and retraction of a report, with dates (append-only).

    \b
    Example:
      radio report history pit-strike-second-week
    """
    from radio.desk.views import render_history
    click.echo(render_history(c.station, report_id))


@report.command("correct")
@click.argument("report_id")
@click.option("--public-note", "note", help="What was corrected (public: shown under the item and on the "
                                             "corrections page). Required.")
@renamed("--note", "note", "--public-note")
@pass_ctx
def report_correct(c: Ctx, report_id: str, note: str | None) -> None:
    """Record a correction to a published report (edit its text as usual; the note says what changed).

    \b
    Example:
      radio report correct hospital-nurses-wage-arrears --public-note "Bonuses were cut for two months, not three."
    """
    from radio.desk.commands import correct
    from radio.history import day
    week, event = correct(c.station, report_id, required(note, "--public-note"))
    c.say(f"{report_id}: correction of {day(event['at'])} recorded; `radio publish {week}` shows it to listeners")


@report.command("retract")
@click.argument("report_id")
@click.option("--public-note", "reason", help="Why (public: it replaces the item on the page and in the show "
                                               "notes; keep private reasons in the report's private block). Required.")
@renamed("--reason", "reason", "--public-note")
@pass_ctx
def report_retract(c: Ctx, report_id: str, reason: str | None) -> None:
    """Retract a published report: it leaves the podcast, transcript, chapters and site at the next publish.

    The on-air master and its as-run are kept as they are: they record what was broadcast.

    \b
    Example:
      radio report retract warehouse-pickers-heat --public-note "The company and the workers deny the petition."
    """
    from radio.desk.commands import retract
    from radio.history import day
    week, event = retract(c.station, report_id, required(reason, "--public-note"))
    c.say(f"{report_id}: retraction of {day(event['at'])} recorded; `radio publish {week}` takes it out of the "
          "podcast and the site")
