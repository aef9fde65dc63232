"""Plain-text tables for the terminal: fixed columns, truncated cells, no colour codes."""

from __future__ import annotations

import re
import unicodedata

# What a terminal acts on instead of showing: C0 and C1 controls (escape sequences start with ESC or CSI), DEL,
# and the bidirectional overrides and isolates that reorder what is shown around them.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` safe to print: every control character written as an escape (ESC as \\x1b), tabs and newlines kept."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(text))


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _fit(s: str, n: int) -> str:
    if _width(s) <= n:
        return s
    out = ""
    for ch in s:
        if _width(out + ch) > n - 1:
            break
        out += ch
    return out + "…"


def table(headers: list[str], rows: list[list[str]], *, widths: dict[int, int] | None = None,
          right: set[int] = frozenset()) -> str:
    """Columns as wide as their widest cell (capped by `widths`), two spaces apart."""
    cells = [[" ".join(printable(c).split()) for c in r] for r in rows]
    cells = [[_fit(c, (widths or {}).get(i, 10_000)) for i, c in enumerate(r)] for r in cells]
    w = [max([_width(headers[i])] + [_width(r[i]) for r in cells]) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        parts = [(" " * (w[i] - _width(c)) + c) if i in right else (c + " " * (w[i] - _width(c)))
                 for i, c in enumerate(r)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers)] + [line(r) for r in cells])
