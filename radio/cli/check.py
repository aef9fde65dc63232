"""radio check: the published feed and site, as podcast directories read them."""

from __future__ import annotations

import sys

import click

from radio.cli.base import Ctx, cli, pass_ctx


@cli.command()
@pass_ctx
def check(c: Ctx) -> None:
    """Check the published feed and site as podcast directories do; exit 1 on any failure.

    \b
    Example:
      radio check
    """
    from radio.publish.check import check as run_checks, verdict
    lines, failed = verdict([r for s in c.station.editions() for r in run_checks(s)], quiet=c.quiet)
    for line in lines:
        click.echo(line)
    if failed:
        sys.exit(1)
