"""The hosting commands: `radio publish WEEK --to TARGET` (the upload half), `radio deliver`, `radio check
--remote`. Thin: each parses, calls radio/hosting, prints what happened."""

from __future__ import annotations

import sys

import click

from radio.cli.base import Ctx, leak_checked, pass_ctx, week_arg
from radio.errors import RadioError
from radio.station import Station


def targets_for(station: Station, to: tuple[str, ...]) -> list:
    from radio.hosting.targets import resolve
    if to:
        return [resolve(station, t) for t in to]
    return list(station.full_config.publish.targets)


def upload_all(c: Ctx, station: Station, to: tuple[str, ...]) -> None:
    """After a local publish: send feeds/ to each target named (or every configured one), then ping the hub."""
    from radio.hosting.sync import ping_hub, upload
    targets = targets_for(station, to)
    changed: list[str] = []
    for t in targets:
        out = upload(station, t, say=(lambda line: click.echo(line)) if c.verbose else (lambda line: None))
        for line in out.lines():
            c.say(line)
        changed += [k for k in out.feeds_changed if k not in changed and k.count("/") == 1]
    hub = station.full_config.publish.hub
    if hub and changed:
        base = station.config.podcast.base_url
        warnings = ping_hub(hub, [f"{base}{k}" for k in changed])
        for w in warnings:
            click.echo(f"warning: {w}", err=True)
        if not warnings:
            c.say(f"told the hub {hub} about {len(changed)} changed feed(s)")


@click.command()
@week_arg
@click.option("--to", "to", metavar="TARGET", help="A target named in [broadcaster] (default) or a directory / "
              "sftp:// URL.")
@click.option("--again", is_flag=True, help="Deliver again even though this master was delivered already.")
@pass_ctx
@leak_checked
def deliver(c: Ctx, week: str, to: str | None, again: bool) -> None:
    """Deliver WEEK's on-air master to the broadcaster: in the format and channel layout [broadcaster] names,
    measured as delivered, uploaded under a temporary name, verified, renamed; a checksum and a cue sheet beside it.

    \b
    Example:
      radio deliver 2026-W47
    """
    from radio.hosting.deliver import deliver as run
    for line in run(c.station, week, to=to, again=again):
        c.say(line)


def check_remote(c: Ctx) -> None:
    from radio.hosting.remote import check_remote as run
    results = [r for s in c.station.editions() for r in run(s)]
    for good, what in results:
        if not (c.quiet and good):
            click.echo(f"{'ok  ' if good else 'warn' if good is None else 'FAIL'} {what}")
    failed = sum(g is False for g, _ in results)
    c.say(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        sys.exit(1)


__all__ = ["deliver", "upload_all", "check_remote", "RadioError"]
