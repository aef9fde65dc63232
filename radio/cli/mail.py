"""radio intake, bulletin and send: mail in from correspondents, mail out to members."""

from __future__ import annotations

import click

from radio.errors import RadioError
from radio.station import Week
from radio.cli.base import (Ctx, RadioGroup, announce, cli, each_edition, edition_option, leak_checked, pass_ctx,
                            week_arg)


class IntakeGroup(RadioGroup):
    """`radio intake WEEK --maildir DIR` takes mail in; `radio intake release ID --as CODENAME` is its one
    subcommand. A first word that is no subcommand is the week of a plain intake."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["take", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=IntakeGroup)
def intake() -> None:
    """Take correspondents' e-mail onto a week's desk, or release a quarantined message.

    \b
    Example:
      radio intake 2026-W47 --maildir ~/Maildir/reports
      radio intake release 0035c1b64291 --as lantern
    """


@intake.command("take", hidden=True)
@week_arg
@click.option("--maildir", type=click.Path(file_okay=False), help="A Maildir folder (holding cur/ and new/).")
@click.option("--mbox", type=click.Path(dir_okay=False), help="An mbox file.")
@click.option("--imap", help="imaps://HOST[:PORT]/FOLDER (TLS) or imap://... (STARTTLS); credentials from "
                             "RADIO_IMAP_USER/RADIO_IMAP_PASSWORD or private/mail-credentials.toml.")
@pass_ctx
def intake_take(c: Ctx, week: str, maildir: str | None, mbox: str | None, imap: str | None) -> None:
    """Take correspondents' e-mail onto WEEK's desk as unverified reports; the rest goes to quarantine.

    \b
    Example:
      radio intake 2026-W47 --maildir ~/Maildir/reports
      RADIO_IMAP_USER=desk RADIO_IMAP_PASSWORD=... radio intake 2026-W47 --imap imaps://mail.example.org/INBOX
    """
    from radio.mail.intake import intake as run_intake
    from radio.subscriptions import bounces
    # a delivery failure report for a list's message is counted against the list, not taken in as a report
    counted = run_intake(c.station, week, maildir=maildir, mbox=mbox, imap=imap,
                         bounces=lambda msg, mid: bounces.count(c.station, msg, mid))
    for line in counted.lines():
        c.say(line)


@intake.command("release")
@click.argument("qid", metavar="ID")
@click.option("--as", "codename", required=True, help="The correspondent (codename in the register) it is from.")
@click.option("--by", help="Who checked it (recorded in the report's history).")
@pass_ctx
def intake_release(c: Ctx, qid: str, codename: str, by: str | None) -> None:
    """Take a quarantined message in as a report from CODENAME, after checking it by hand.

    \b
    Example:
      radio intake release 0035c1b64291 --as lantern --by maria
    """
    from radio.mail.intake import release
    rid, week = release(c.station, qid, codename, by=by)
    c.say(f"released {qid} as {rid} in {week} (from {codename})")


@cli.command()
@week_arg
@edition_option
@pass_ctx
@leak_checked
def bulletin(c: Ctx, week: str, edition: str | None) -> None:
    """Write WEEK's bulletin for member organisations: out/bulletin.html, .txt and .pdf, and its site page.

    \b
    Example:
      radio bulletin 2026-W47
      radio bulletin 2026-W47 --edition fr
    """
    from radio.mail.bulletin import make
    for s in each_edition(c, edition):
        announce(c, s)
        b = make(s, week, required=edition is not None or not s.edition)
        if b is None:
            c.say(f"no verified report in {s.language} yet: no {s.edition_id} bulletin")
            continue
        for p in (b.html, b.text, b.pdf):
            c.say(f"wrote {p.relative_to(c.station.root)}")
        c.say(f"{b.count} reports in the {b.language} bulletin")


@cli.command()
@click.argument("week")
@click.option("--dry-run", is_flag=True, help="Write one .eml per subscriber into private/outbox/ instead.")
@click.option("--uncertain", type=click.Choice(["resend", "sent"]),
              help="For messages a killed run may or may not have delivered, after checking the server's log.")
@click.option("--to", "to", type=click.Choice(["bulletin", "press"]), default="bulletin", show_default=True,
              help="bulletin: private/subscribers.csv; press: WEEK's new and changed press items to private/press.csv.")
@click.option("--digest", is_flag=True, help="Send the digest of the month WEEK names (e.g. 2026-11) to its readers.")
@pass_ctx
@leak_checked
def send(c: Ctx, week: str, dry_run: bool, uncertain: str | None, to: str, digest: bool) -> None:
    """Send WEEK's bulletin to everyone in private/subscribers.csv, once each (a rerun resumes); with --to press
    the week's press items to private/press.csv; with --digest a month's digest to those who subscribed to it.

    \b
    Example:
      radio send 2026-W47 --dry-run
      RADIO_SMTP_USER=desk RADIO_SMTP_PASSWORD=... radio send 2026-W47
      radio send 2026-W47 --to press
      radio send 2026-11 --digest
    """
    def progress(i: int, n: int) -> None:
        if c.verbose:
            click.echo(f"  sent {i}/{n}", err=True)
    if digest:
        from radio.mail.digest import check_month, send as send_digest
        result = send_digest(c.station, check_month(week), dry_run=dry_run, uncertain=uncertain)
        again = f"radio send {week} --digest"
    elif to == "press":
        from radio.press.send import send as send_press
        week = Week(week)
        result = send_press(c.station, week, dry_run=dry_run, uncertain=uncertain)
        again = f"radio send {week} --to press"
    else:
        from radio.mail.send import send as run_send
        week = Week(week)
        result = run_send(c.station, week, dry_run=dry_run, uncertain=uncertain, progress=progress)
        again = f"radio send {week}"
    for line in result.lines():
        c.say(line)
    if result.uncertain:
        raise RadioError(f"{len(result.uncertain)} message(s) may or may not have arrived",
                         fix=f"check the server's log, then `{again} --uncertain resend` "
                             "(not delivered) or `--uncertain sent` (delivered)")
    if result.failed:
        raise RadioError(f"{len(result.failed)} message(s) were refused", fix=f"correct them and run `{again}` again")
