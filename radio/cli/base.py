"""What every command group shares: the root group, the context, one-line errors, the shared options."""

from __future__ import annotations

import functools
import re
import sys
import traceback

import click

from radio import __version__
from radio.errors import RadioError
from radio.station import Station, Week


class Ctx:
    def __init__(self, station: str | None, verbose: int, quiet: bool, limited_leak_check: bool = False):
        self.station_dir = station
        self.verbose = verbose
        self.quiet = quiet
        self.limited_leak_check = limited_leak_check
        self._station: Station | None = None

    @property
    def station(self) -> Station:
        if self._station is None:
            self._station = Station.open(self.station_dir)
        return self._station

    def say(self, text: str = "") -> None:
        if not self.quiet:
            from radio.text import printable
            click.echo(printable(text))


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
        if a in ("--verbose", "-q", "--quiet", "--limited-leak-check") or re.fullmatch(r"-v+", a) or \
                a.startswith(("--station=", "--identity=")):
            front.append(a)
        elif a in ("--station", "--identity") and i + 1 < len(args):
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


def leak_checked(f):
    """A command that makes public outputs: on a sealed station without an editor's key, its leak check uses the
    leak-check digests, and without those it refuses (or, with --limited-leak-check, says so and goes on)."""
    @functools.wraps(f)
    def run(*args, **kwargs):
        from radio.keys import digests
        with digests.checking(click.get_current_context().find_root().obj.limited_leak_check):
            return f(*args, **kwargs)
    return run


def week_arg(f):
    def check(ctx, param, value):
        return Week(value)
    return click.argument("week", callback=check)(f)


pass_ctx = click.make_pass_decorator(Ctx)


def say_dropped(c: Ctx, s: Station, week: str) -> None:
    """Items the next output leaves out because their report can no longer go on air, and why."""
    from radio.rundown.model import dropped_lines
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


def renamed(old: str, dest: str, new: str, *, flag: bool = False):
    """The old spelling of an option, still taken for a while: hidden from the help, and it says the new one."""
    hidden = f"old_{dest}"

    def wrap(f):
        @functools.wraps(f)
        def command(*args, **kwargs):
            value = kwargs.pop(hidden)
            if value not in (None, False):
                click.echo(f"warning: {old} is now {new}; the old name will go", err=True)
                if kwargs.get(dest) in (None, False):
                    kwargs[dest] = value
            return f(*args, **kwargs)
        return click.option(old, hidden, hidden=True, is_flag=flag, default=False if flag else None)(command)
    return wrap


def required(value: str | None, name: str) -> str:
    """An option that is required, checked once its old spelling has been taken into account."""
    if value is None:
        raise click.UsageError(f"Missing option '{name}'.")
    return value


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



@click.group(cls=RadioGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--station", envvar="RADIO_STATION", type=click.Path(file_okay=False),
              help="Station directory (default: $RADIO_STATION, else the nearest folder up from here with "
                   "a radio.toml).")
@click.option("--identity", metavar="FILE",
              help="An editor's age identity or SSH key, to unlock private data (default: $RADIO_IDENTITY). "
                   "Read only when something private is needed; never copied.")
@click.option("--limited-leak-check", is_flag=True, envvar="RADIO_LIMITED_LEAK_CHECK",
              help="On a sealed station with neither an editor's key nor the leak-check key "
                   "($RADIO_LEAK_CHECK_KEY), make outputs anyway, checked against the public details only (one "
                   "warning). Without it such a build refuses.")
@click.option("-v", "--verbose", count=True, help="Show detail, and tracebacks on errors.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.version_option(__version__, prog_name="radio")
@click.pass_context
def cli(ctx: click.Context, station: str | None, identity: str | None, limited_leak_check: bool, verbose: int,
        quiet: bool) -> None:
    """Verified reports to a broadcast script, an on-air master and a podcast.

    \b
    Example:
      radio report list 2026-W47
      radio build 2026-W47 --draft
    """
    ctx.obj = Ctx(station, verbose, quiet, limited_leak_check)
    from radio.keys import keyring
    keyring.use_file(identity)  # RADIO_IDENTITY is read by the keyring itself, when something private is needed

