"""The README's command reference is the command line's own help: a changed option that is not written back
(scripts/cli-reference) fails here."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO


def check(readme_dir=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "scripts" / "cli-reference"), "--check"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_the_readme_command_reference_matches_help():
    r = check()
    assert (r.returncode, r.stderr) == (0, "")


def test_every_command_has_help_with_an_example():
    import click

    from radio.cli import cli

    def walk(group: click.Group, path: str):
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            if isinstance(cmd, click.Group):
                yield from walk(cmd, f"{path} {name}")
            else:
                yield f"{path} {name}", cmd

    missing = [p for p, cmd in walk(cli, "radio") if "Example:" not in (cmd.help or "")]
    assert missing == []
