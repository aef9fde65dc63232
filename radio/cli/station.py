"""radio init: a new, empty station."""

from __future__ import annotations

from pathlib import Path

import click

from radio.cli.base import Ctx, cli, pass_ctx


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
