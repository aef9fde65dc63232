"""The command line: thin command groups that parse options, call the module that owns the work, and turn a
RadioError into one clean line. One module per group; `base` holds the root group and the shared options."""

from __future__ import annotations

from radio.cli.base import cli
from radio.cli import check, mail, report, serve, stages, station  # noqa: F401  (each registers its commands)
from radio.cli.hosting import deliver
from radio.web.cli import desk, users  # the newsroom's commands live with the newsroom

cli.add_command(users)
cli.add_command(desk)
cli.add_command(deliver)

__all__ = ["cli", "main"]


def main() -> None:
    cli(prog_name="radio")
