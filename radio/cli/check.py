"""radio check: the published feed and site, as podcast directories read them."""

from __future__ import annotations

import sys

import click

from radio.cli.base import Ctx, cli, pass_ctx


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
        from radio.cli.hosting import check_remote
        return check_remote(c)
    from radio.publish.check import check as run_checks, verdict
    lines, failed = verdict([r for s in c.station.editions() for r in run_checks(s)], quiet=c.quiet)
    for line in lines:
        click.echo(line)
    if failed:
        sys.exit(1)
