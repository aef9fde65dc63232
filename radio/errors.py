"""One error root: every failure a user can cause is a RadioError that says where and what to do."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import click

if TYPE_CHECKING:
    from pydantic import ValidationError


class RadioError(click.ClickException):
    """A user-facing failure: one line naming the place (file, key, item) and the fix."""

    exit_code = 1

    def __init__(self, message: str, *, where: str | Path | None = None, fix: str | None = None):
        self.where = str(where) if where is not None else None
        self.fix = fix
        text = message
        if self.where:
            text = f"{self.where}: {text}"
        if fix:
            text = f"{text} ({fix})"
        super().__init__(" ".join(text.split()) if "\n" in text else text)

    def show(self, file=None) -> None:  # one line, no "Error:" noise beyond a prefix
        from radio.text import printable
        click.echo(f"error: {printable(self.format_message())}", err=True, file=file)


class ConfigError(RadioError):
    """radio.toml is missing, malformed or invalid."""


class ReportError(RadioError):
    """A report file is malformed or breaks the desk's rules."""


class RundownError(RadioError):
    """The rundown is malformed or refers to something that cannot go on air."""


class AudioError(RadioError):
    """A recording or element cannot be used, or the show does not fit."""


class PublishError(RadioError):
    """The publish tree cannot be written or checked."""


def from_validation(err: ValidationError, *, where: str | Path, cls: type[RadioError] = RadioError,
                    noun: str = "field", name: Callable[[tuple], str] | None = None,
                    where_at: Callable[[tuple], str | Path] | None = None,
                    known: Callable[[tuple], list[str]] | None = None, unknown_fix: str = "remove it",
                    missing_fix: str = "add it", fixes: dict[str, str] | None = None,
                    fix: str = "correct the value") -> RadioError:
    """The first problem pydantic found, as one RadioError: "unknown field 'x'" (with a did-you-mean from
    `known`), "missing field 'x'", or "field 'x': what is wrong". `name` turns a location into the name a user
    knows, `where_at` into the place (file and line, or item); `fixes` maps pydantic error types to fixes."""
    e = err.errors()[0]
    loc = tuple(e["loc"])
    what = name(loc) if name else ".".join(str(p) for p in loc)
    at = where_at(loc) if where_at else where
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        choices = known(loc) if known and loc else []
        close = difflib.get_close_matches(str(loc[-1]), choices, n=1)
        return cls(f"unknown {noun} {what!r}", where=at,
                   fix=f"did you mean {close[0]!r}?" if close else unknown_fix.format(known=", ".join(choices)))
    if e["type"] == "missing":
        return cls(f"missing {noun} {what!r}", where=at, fix=missing_fix.format(what=what))
    fix = (fixes or {}).get(e["type"], fix)
    if not loc or msg.split(":")[0].startswith(what):  # the message names its key itself
        return cls(msg, where=at, fix=fix)
    return cls(f"{noun} {what!r}: {msg}", where=at, fix=fix)


def warn(message: str) -> None:
    """A warning goes to stderr as one line; it never stops the run."""
    click.echo(f"warning: {message}", err=True)


def yaml_problem(e) -> str:
    """The parser's complaint without any value from the file: a report's YAML holds its private block, and
    the parser quotes values (a duplicate key names both). The key and the line are enough to fix it."""
    problem = str(e.problem or "")
    m = re.match(r'found duplicate key "(.*?)" with value', problem)
    if m:
        return f"duplicate key {m.group(1)!r}"
    # anything longer the parser quotes is cut rather than trusted: it may be a value
    return _QUOTED.sub("(...)", problem.split(" with value ")[0])


_QUOTED = re.compile(r"""(["'])(?:(?!\1).){12,}\1""")
