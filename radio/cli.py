"""The command line: parse options, call a stage, turn a RadioError into one clean line."""

from __future__ import annotations

import json
import re
import sys
import traceback
from pathlib import Path

import click

from radio import __version__
from radio.station import Station, Week
from radio.errors import RadioError


class Ctx:
    def __init__(self, station: str | None, verbose: int, quiet: bool):
        self.station_dir = station
        self.verbose = verbose
        self.quiet = quiet
        self._station: Station | None = None

    @property
    def station(self) -> Station:
        if self._station is None:
            self._station = Station.open(self.station_dir)
        return self._station

    def say(self, text: str = "") -> None:
        if not self.quiet:
            click.echo(text)


def hoist_globals(args: list[str]) -> list[str]:
    """-v, -q and --station work anywhere on the line (`radio status 2026-W47 -v`): they are moved in front of the
    subcommand, where click looks for them."""
    front, rest = [], []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest += args[i:]
            break
        if a in ("--verbose", "-q", "--quiet") or re.fullmatch(r"-v+", a) or a.startswith("--station="):
            front.append(a)
        elif a == "--station" and i + 1 < len(args):
            front += [a, args[i + 1]]
            i += 1
        else:
            rest.append(a)
        i += 1
    return front + rest


class RadioGroup(click.Group):
    """Maps every failure to one line; -v adds the traceback."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:
            args = hoist_globals(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, click.UsageError, KeyboardInterrupt):
            raise
        except RadioError:
            if _verbose(ctx):
                traceback.print_exc()
            raise
        except click.ClickException:
            raise
        except Exception as e:  # a bug, not bad input: say so, keep the trace behind -v
            if _verbose(ctx):
                traceback.print_exc()
            raise RadioError(f"internal error: {type(e).__name__}: {e}",
                             fix="run with -v for the traceback and report it") from e


def _verbose(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.obj and root.obj.verbose)


def week_arg(f):
    def check(ctx, param, value):
        return Week(value)
    return click.argument("week", callback=check)(f)


pass_ctx = click.make_pass_decorator(Ctx)


def say_dropped(c: Ctx, s: Station, week: str) -> None:
    """Items the next output leaves out because their report can no longer go on air, and why."""
    from radio.rundown import dropped_lines
    for line in dropped_lines(s, week):
        c.say(line)


def edition_option(f):
    return click.option("--edition", metavar="ID",
                        help="Only this edition (e.g. fr); default: every edition, each on its own.")(f)


def each_edition(c: Ctx, edition: str | None) -> list[Station]:
    """The editions a command works on: the one named, or every edition, the station's own first."""
    return c.station.for_edition(edition)


def announce(c: Ctx, s: Station) -> None:
    """With several editions, each one's lines come under its name."""
    if s.full_config.editions:
        c.say(f"== edition {s.edition_id} ({s.language}): {s.config.show.title}")


def audio_options(draft_help: str):
    """--draft, --allow-over, --allow-under, --allow-clipped and --allow-stale-take, shared by assemble and build."""
    def wrap(f):
        f = click.option("--allow-stale-take", is_flag=True,
                         help="Air recordings made before their item's public text changed (when the change does "
                              "not touch what was read).")(f)
        f = click.option("--allow-clipped", is_flag=True, help="Air takes that clip (each is named, with a count).")(f)
        f = click.option("--allow-under", is_flag=True,
                         help="Build even if filler would take more of the slot than show.max_fill.")(f)
        f = click.option("--allow-over", is_flag=True, help="Build even if the show runs over its slot.")(f)
        return click.option("--draft", is_flag=True, help=draft_help)(f)
    return wrap


@click.group(cls=RadioGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--station", envvar="RADIO_STATION", type=click.Path(file_okay=False),
              help="Station directory (default: $RADIO_STATION, else the nearest folder up from here with "
                   "a radio.toml).")
@click.option("-v", "--verbose", count=True, help="Show detail, and tracebacks on errors.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.version_option(__version__, prog_name="radio")
@click.pass_context
def cli(ctx: click.Context, station: str | None, verbose: int, quiet: bool) -> None:
    """Verified reports to a broadcast script, an on-air master and a podcast.

    \b
    Example:
      radio report list 2026-W47
      radio build 2026-W47 --draft
    """
    ctx.obj = Ctx(station, verbose, quiet)


# --- station ---------------------------------------------------------------------------------------

@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
@pass_ctx
def init(c: Ctx, directory: str) -> None:
    """Create a new, empty, valid station in DIRECTORY.

    \b
    Example:
      radio init ~/stations/labour-week
    """
    from radio.station import init_station
    root = init_station(Path(directory))
    c.say(f"created station {root}")
    c.say(f"next: edit {root / 'radio.toml'}, then `radio --station {root} report new WEEK --title ...`")


# --- reports ---------------------------------------------------------------------------------------

@cli.group(cls=RadioGroup)
def report() -> None:
    """Take in, verify, hold and list the week's reports.

    \b
    The life of a report:
      unverified  `report new` writes it; `verify` adds a check
      verified    once its checks meet [verification] in radio.toml
      held        `hold --reason`: off the air until `reopen`
      rejected    `reject --reason`: off the air until `reopen`
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
      radio report hold pit-strike-enters-second-week --reason "source asked us to wait"
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
    from radio.reports import new_report
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
    if thread:
        from radio.threads import render_list as render_thread
        click.echo(render_thread(c.station, thread))
        return
    if week is None:
        raise click.UsageError("name a WEEK (e.g. 2026-W47), or pass --thread NAME")
    week = Week(week)
    if quarantine:
        from radio.mail.intake import quarantine_list, render_quarantine
        qrows = quarantine_list(c.station, str(week))
        click.echo(json.dumps(qrows, ensure_ascii=False, indent=2) if as_json else render_quarantine(qrows, str(week)))
        return
    from radio.desk import list_rows, render_list
    rows, errors = list_rows(c.station, week, status, lang)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        click.echo(render_list(rows, week, lang))
    for e in errors:
        click.echo(f"error: {e.format_message()}", err=True)
    if errors:
        sys.exit(1)


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
    from radio.reports import translate
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
    from radio.desk import render_show
    click.echo(render_show(c.station, report_id, show_private))


@report.command("verify")
@click.argument("report_id")
@click.option("--by", "by", required=True, help="Who made the check.")
@click.option("--method", required=True, help="How: phone, visit, document, second-source ...")
@click.option("--note", help="An internal note (never published).")
@pass_ctx
def report_verify(c: Ctx, report_id: str, by: str, method: str, note: str | None) -> None:
    """Add a verification check; the report is verified once the station's policy holds.

    \b
    Example:
      radio report verify pit-strike --by maria --method phone --note "union office confirmed"
    """
    from radio.reports import add_check
    rf, done, need = add_check(c.station, report_id, by, method, note)
    c.say(f"{report_id}: {done}/{need} checks, status {rf.report.status}")


def _status_command(name: str, status: str, doc: str):
    @report.command(name, help=doc)
    @click.argument("report_id")
    @click.option("--reason", required=status != "unverified", help="Why (kept on the desk, never published).")
    @pass_ctx
    def command(c: Ctx, report_id: str, reason: str | None = None) -> None:
        from radio.reports import set_status
        rf = set_status(c.station, report_id, status, reason)  # type: ignore[arg-type]
        c.say(f"{report_id}: status {rf.report.status}")
    return command


_status_command("hold", "held", "Hold a report off the air.\n\n\b\nExample:\n  radio report hold pit-strike --reason "
                '"source asked us to wait"')
_status_command("reject", "rejected", "Reject a report.\n\n\b\nExample:\n  radio report reject pit-strike "
                '--reason "second source denies it"')
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
    from radio.history import render as render_history
    click.echo(render_history(c.station, report_id))


@report.command("correct")
@click.argument("report_id")
@click.option("--note", required=True, help="What was corrected (public: shown under the item and on the "
                                            "corrections page).")
@pass_ctx
def report_correct(c: Ctx, report_id: str, note: str) -> None:
    """Record a correction to a published report (edit its text as usual; the note says what changed).

    \b
    Example:
      radio report correct hospital-nurses-wage-arrears --note "Bonuses were cut for two months, not three."
    """
    from radio.history import correct, day
    week, event = correct(c.station, report_id, note)
    c.say(f"{report_id}: correction of {day(event['at'])} recorded; `radio publish {week}` shows it to listeners")


@report.command("retract")
@click.argument("report_id")
@click.option("--reason", required=True, help="Why (public: it replaces the item on the page and in the show "
                                              "notes; keep private reasons in the report's private block).")
@pass_ctx
def report_retract(c: Ctx, report_id: str, reason: str) -> None:
    """Retract a published report: it leaves the podcast, transcript, chapters and site at the next publish.

    The on-air master and its as-run are kept as they are: they record what was broadcast.

    \b
    Example:
      radio report retract warehouse-pickers-heat --reason "The company and the workers deny the petition."
    """
    from radio.history import day, retract
    week, event = retract(c.station, report_id, reason)
    c.say(f"{report_id}: retraction of {day(event['at'])} recorded; `radio publish {week}` takes it out of the "
          "podcast and the site")


# --- mail ------------------------------------------------------------------------------------------

@cli.command()
@week_arg
@click.option("--maildir", type=click.Path(file_okay=False), help="A Maildir folder (holding cur/ and new/).")
@click.option("--mbox", type=click.Path(dir_okay=False), help="An mbox file.")
@click.option("--imap", help="imaps://HOST[:PORT]/FOLDER (TLS) or imap://... (STARTTLS); credentials from "
                             "RADIO_IMAP_USER/RADIO_IMAP_PASSWORD or private/mail-credentials.toml.")
@pass_ctx
def intake(c: Ctx, week: str, maildir: str | None, mbox: str | None, imap: str | None) -> None:
    """Take correspondents' e-mail onto WEEK's desk as unverified reports; the rest goes to quarantine.

    \b
    Example:
      radio intake 2026-W47 --maildir ~/Maildir/reports
      RADIO_IMAP_USER=desk RADIO_IMAP_PASSWORD=... radio intake 2026-W47 --imap imaps://mail.example.org/INBOX
    """
    from radio.mail.intake import intake as run_intake
    for line in run_intake(c.station, week, maildir=maildir, mbox=mbox, imap=imap).lines():
        c.say(line)


@cli.command()
@week_arg
@edition_option
@pass_ctx
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
@week_arg
@click.option("--dry-run", is_flag=True, help="Write one .eml per subscriber into private/outbox/WEEK/ instead.")
@click.option("--uncertain", type=click.Choice(["resend", "sent"]),
              help="For messages a killed run may or may not have delivered, after checking the server's log.")
@pass_ctx
def send(c: Ctx, week: str, dry_run: bool, uncertain: str | None) -> None:
    """Send WEEK's bulletin to everyone in private/subscribers.csv, once each (a rerun resumes).

    \b
    Example:
      radio send 2026-W47 --dry-run
      RADIO_SMTP_USER=desk RADIO_SMTP_PASSWORD=... radio send 2026-W47
    """
    from radio.mail.send import send as run_send
    def progress(i: int, n: int) -> None:
        if c.verbose:
            click.echo(f"  sent {i}/{n}", err=True)
    result = run_send(c.station, week, dry_run=dry_run, uncertain=uncertain, progress=progress)
    for line in result.lines():
        c.say(line)
    if result.uncertain:
        raise RadioError(f"{len(result.uncertain)} message(s) may or may not have arrived",
                         fix=f"check the server's log, then `radio send {week} --uncertain resend` "
                             "(not delivered) or `--uncertain sent` (delivered)")
    if result.failed:
        raise RadioError(f"{len(result.failed)} message(s) were refused", fix=f"correct them and run `radio send {week}` again")


# --- the week's plan --------------------------------------------------------------------------------

@cli.command()
@week_arg
@click.option("--force", is_flag=True, help="Merge new reports into a hand-edited rundown, keeping the edits.")
@edition_option
@pass_ctx
def plan(c: Ctx, week: str, force: bool, edition: str | None) -> None:
    """Build WEEK's rundown.yaml from the show format and the verified reports.

    \b
    Example:
      radio plan 2026-W47
      radio plan 2026-W47 --edition fr
    """
    from radio.rundown import plan as make_plan
    for s in each_edition(c, edition):
        announce(c, s)
        path, changes = make_plan(s, week, force=force)
        for line in changes:
            c.say(line)
        c.say(f"wrote {path.relative_to(c.station.root)}")
    from radio.threads import follow_ups
    for line in follow_ups(c.station, week):
        c.say(line)


@cli.command()
@week_arg
@edition_option
@pass_ctx
def script(c: Ctx, week: str, edition: str | None) -> None:
    """Write the script and run sheet for WEEK (HTML, Markdown, CSV) into episodes/WEEK/out/.

    \b
    Example:
      radio script 2026-W47
      radio script 2026-W47 --edition ru
    """
    from radio.build import run_stage
    for s in each_edition(c, edition):
        announce(c, s)
        say_dropped(c, s, week)
        for path in [*run_stage(s, week, "script"), *run_stage(s, week, "runsheet")]:
            c.say(f"wrote {path.relative_to(c.station.root)}")


@cli.command()
@week_arg
@edition_option
@pass_ctx
def status(c: Ctx, week: str, edition: str | None) -> None:
    """Each item's state and times, the show against its slot, and what to do next.

    \b
    Example:
      radio status 2026-W47
    """
    from radio.build import status_text
    for s in each_edition(c, edition):
        announce(c, s)
        say_dropped(c, s, week)
        click.echo(status_text(s, week))


# --- audio -------------------------------------------------------------------------------------------

class ProgressView:
    """A bar per stage and per segment on a terminal; plain lines when not; nothing with -q (all on stderr)."""

    WIDTH = 24

    def __init__(self, c: Ctx):
        self.quiet = c.quiet
        self.tty = sys.stderr.isatty()
        self.open = False

    def _end_line(self) -> None:
        if self.open:
            click.echo("", err=True)
            self.open = False

    def stage(self, name: str, state: str) -> None:
        if self.quiet:
            return
        self._end_line()
        click.echo(f"{name}: {state}", err=True)

    def item(self, stage: str, i: int, n: int, label: str) -> None:
        if self.quiet:
            return
        if not self.tty:
            click.echo(f"  {stage} {i}/{n} {label}", err=True)
            return
        filled = self.WIDTH * i // max(n, 1)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        click.echo(f"\r  {stage:8} [{bar}] {i}/{n} {label[:40]:40}", err=True, nl=False)
        self.open = True
        if i == n:
            self._end_line()


@cli.command()
@week_arg
@audio_options("Fill missing recordings with espeak-ng read-throughs of the script.")
@edition_option
@pass_ctx
def assemble(c: Ctx, week: str, draft: bool, allow_over: bool, allow_under: bool, allow_clipped: bool,
             allow_stale_take: bool,
             edition: str | None) -> None:
    """Assemble WEEK's recordings into onair.wav (exactly the slot) and podcast.mp3.

    \b
    Example:
      radio assemble 2026-W47 --draft
      radio assemble 2026-W47 --draft --edition fr
    """
    from radio.asrun import read
    from radio.build import Options, run_stage
    from radio.summary import loudness_lines
    for s in each_edition(c, edition):
        announce(c, s)
        say_dropped(c, s, week)
        run_stage(s, week, "assemble", Options(draft=draft, allow_over=allow_over, allow_under=allow_under,
                                               allow_clipped=allow_clipped, allow_stale_take=allow_stale_take,
                                               progress=ProgressView(c).item))
        for line in loudness_lines(s, read(s, week)):  # type: ignore[arg-type]
            c.say(line)


@cli.command()
@week_arg
@edition_option
@pass_ctx
def tag(c: Ctx, week: str, edition: str | None) -> None:
    """Tag WEEK's masters: ID3v2.3 with chapters and cover on the MP3, BWF bext and INFO on the WAV.

    \b
    Example:
      radio tag 2026-W47
    """
    from radio.build import run_stage
    for s in each_edition(c, edition):
        announce(c, s)
        say_dropped(c, s, week)
        mp3, wav, ep = run_stage(s, week, "tag")
        c.say(f"tagged {mp3.relative_to(c.station.root)}: {ep.title}, {len(ep.chapters)} chapters")
        c.say(f"tagged {wav.relative_to(c.station.root)}: bext and LIST/INFO")


# --- the whole week ----------------------------------------------------------------------------------

@cli.command()
@week_arg
@audio_options("Fill missing recordings with read-throughs, and publish the draft.")
@edition_option
@pass_ctx
def build(c: Ctx, week: str, draft: bool, allow_over: bool, allow_under: bool, allow_clipped: bool,
          allow_stale_take: bool, edition: str | None) -> None:
    """Run WEEK's stages in order (script, assemble, run sheet, tag, publish), skipping what has not changed.

    Without --edition every edition is built, each on its own and each incremental.

    \b
    Example:
      radio build 2026-W47 --draft
      radio build 2026-W47 --draft --edition fr
    """
    from radio.build import Options
    from radio.build import build as run_build
    from radio.rundown import rundown_path
    for s in each_edition(c, edition):
        announce(c, s)
        say_dropped(c, s, week)
        view = ProgressView(c)
        result = run_build(s, week, Options(draft=draft, allow_over=allow_over, allow_under=allow_under,
                                            allow_clipped=allow_clipped, allow_stale_take=allow_stale_take,
                                            progress=view.item), view.stage)
        if result.planned:
            c.say(f"planned {rundown_path(s, week).relative_to(s.root)} from the verified reports")
        for line in result.summary:
            c.say(line)


# --- publish -----------------------------------------------------------------------------------------

@cli.command()
@week_arg
@click.option("--allow-draft", is_flag=True, help="Publish a draft build (synthesized voices).")
@click.option("--to", "to", multiple=True, metavar="TARGET",
              help="Then upload feeds/ there: a target named in [publish] or s3://bucket/prefix, sftp://host/path, "
                   "/a/directory (repeatable; default: every target in [publish], if any).")
@edition_option
@pass_ctx
def publish(c: Ctx, week: str, allow_draft: bool, to: tuple[str, ...], edition: str | None) -> None:
    """Publish WEEK into feeds/<show>/: media, transcript, chapters, episode page and the feed; then upload
    feeds/ to each hosting target (media first, feeds last, only what changed).

    \b
    Example:
      radio publish 2026-W47
      radio publish 2026-W47 --to s3://radio-feeds/podcast
    """
    from radio.build import Options, run_stage
    from radio.hosting.cli import upload_all
    for s in each_edition(c, edition):
        announce(c, s)
        say_dropped(c, s, week)
        result = run_stage(s, week, "publish", Options(draft=allow_draft))
        c.say(f"published {result.page.relative_to(c.station.root)}")
        c.say(f"feed {result.feed.relative_to(c.station.root)}: {s.feed_url}")
    if to or c.station.full_config.publish.targets:
        upload_all(c, c.station, to)


@cli.command()
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@pass_ctx
def serve(c: Ctx, port: int, bind: str) -> None:
    """Preview feeds/: byte ranges, CORS; on a loopback address, URLs name this server. Ctrl-C stops it.

    \b
    Example:
      radio serve --port 8000
    """
    from radio.publish.serve import server
    root = c.station.root / "feeds"
    root.mkdir(exist_ok=True)
    httpd = server(root, bind, port, quiet=not c.verbose, published=c.station.config.podcast.base_url)
    host = f"[{bind}]" if ":" in bind else bind
    c.say(f"serving {root} on http://{host}:{httpd.server_address[1]}/ (Ctrl-C to stop; addresses in feeds and "
          + ("pages name this address)" if httpd.served_base else f"pages stay {c.station.config.podcast.base_url})"))
    for s in c.station.editions():
        c.say(f"feed: http://{host}:{httpd.server_address[1]}/{s.config.show.slug}/feed.xml"
              + (f" ({s.language})" if s.full_config.editions else ""))
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


@cli.command()
@click.argument("week", required=False, callback=lambda ctx, param, v: Week(v) if v else None)
@click.option("--port", default=8300, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--certfile", type=click.Path(dir_okay=False), help="TLS certificate (PEM): needed off this machine.")
@click.option("--keyfile", type=click.Path(dir_okay=False), help="TLS private key (PEM) for --certfile.")
@click.option("--edition", metavar="ID", help="The edition to record (e.g. fr); default: the station's own.")
@pass_ctx
def studio(c: Ctx, week: str | None, port: int, bind: str, certfile: str | None, keyfile: str | None,
           edition: str | None) -> None:
    """The studio in the browser: prompter, recorder, takes and live timing for WEEK (default: the newest
    week with a rundown). Prints the address to open, with its access token.

    \b
    Example:
      radio studio 2026-W47
    """
    from radio.studio.serve import run
    station = c.station.for_edition(edition)[0] if edition else c.station
    run(station, week, bind=bind, port=port, certfile=certfile, keyfile=keyfile, say=click.echo)


@cli.command()
@click.option("--remote", is_flag=True, help="Check the live feed and every enclosure's first bytes at the "
              "public base URL instead of feeds/ on this disk.")
@pass_ctx
def check(c: Ctx, remote: bool) -> None:
    """Check the published feed and site as podcast directories do; exit 1 on any failure.

    \b
    Example:
      radio check
      radio check --remote
    """
    if remote:
        from radio.hosting.cli import check_remote
        return check_remote(c)
    from radio.publish.check import check as run_checks
    results = [r for s in c.station.editions() for r in run_checks(s)]
    for good, what in results:  # good is None for a warning: printed, but it does not fail
        if not (c.quiet and good):
            click.echo(f"{'ok  ' if good else 'warn' if good is None else 'FAIL'} {what}")
    failed = sum(g is False for g, _ in results)
    warned = sum(g is None for g, _ in results)
    c.say(f"{len(results) - failed - warned} passed, {failed} failed" + (f", {warned} warned" if warned else ""))
    if failed:
        sys.exit(1)


from radio.web.cli import desk, users  # noqa: E402  (the newsroom's commands live with the newsroom)

cli.add_command(users)
cli.add_command(desk)

from radio.hosting.cli import deliver  # noqa: E402 (the command group registers after the core commands)

cli.add_command(deliver)


def main() -> None:
    cli(prog_name="radio")


if __name__ == "__main__":
    main()
