"""The command line: thin command groups that parse options, call the module that owns the work, and turn a
RadioError into one clean line. One module per group; `base` holds the root group and the shared options."""

from __future__ import annotations

from radio.cli.base import cli
from radio.cli import check, mail, press, report, serve, stages, station  # noqa: F401  (each registers its commands)
from radio.cli.hosting import deliver
from radio.web.cli import desk, users  # the newsroom's commands live with the newsroom

from radio.keys.commands import keys, report_attachment  # noqa: E402 (defined with the commands they hold)

cli.add_command(keys)
report.report.add_command(report_attachment)
cli.add_command(users)
cli.add_command(desk)
cli.add_command(deliver)

__all__ = ["cli", "main"]


def main() -> None:
    cli(prog_name="radio")
