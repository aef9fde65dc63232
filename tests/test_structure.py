"""The import order of radio/: no circles, and no module importing one of a later stage.

The stages are listed bottom up, as the week runs: foundations, the editors' keys, config, the station, the desk, the plan, the
takes, timing, the script, assembly (with its tags), publishing, the studio, the build, the newsroom, the command line. A module may
import its own stage or an earlier one. Imports inside functions count (a late import is still an arrow);
imports under `if TYPE_CHECKING:` do not (they are for the type checker only). A new module must be given a
stage here, which is the moment to ask where it belongs.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "radio"

STAGES: list[tuple[str, list[str]]] = [
    ("foundations", ["errors", "fsutil", "yamlio", "text", "i18n", "media", "matching", "sources", "withheld",
                     "mail.headers", "mail.stream"]),
    ("keys", ["keys"]),
    ("config", ["config", "hosting.settings"]),
    ("station", ["station"]),
    ("desk", ["reports", "history", "index", "publicid", "publishable", "threads", "desk", "mail.intake", "mail.message", "mail.mailbox", "mail.sender",
              "mail.quarantine", "mail.secrets",
              "keys.rotate", "keys.export"]),
    ("plan", ["rundown"]),
    ("takes", ["takes", "recorded", "asrun"]),
    ("stages", ["stages"]),
    ("timing", ["timing"]),
    ("script", ["render", "script"]),
    ("assemble", ["audio", "tags", "gates", "summary"]),
    ("publish", ["publish", "mail.archive", "mail.bulletin", "mail.send", "mail.unsubscribe", "mail.outgoing",
                 "mail.digest", "mail.subscribers", "subscriptions", "press", "subscriptions.bounces", "subscriptions.imports", "hosting", "keys.audit"]),
    ("studio", ["studio"]),
    ("build", ["build", "rename"]),
    ("newsroom", ["web", "subscriptions.web"]),
    ("cli", ["cli", "__main__", "keys.commands"]),
]
PACKAGES = {"", "audio", "mail", "hosting", "web"}  # namespaces only: their __init__ owns nothing


def modules() -> dict[str, Path]:
    out = {}
    for p in sorted(ROOT.rglob("*.py")):
        parts = p.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The radio modules `name` imports, anywhere in the file except under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}

    def resolve(dotted: str) -> str:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted

    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and \
                (node.module == "radio" or node.module.startswith("radio.")):
            base = node.module.removeprefix("radio").lstrip(".")
            for a in node.names:  # `from radio.x import y` imports the module radio.x.y when there is one
                full = f"{base}.{a.name}".lstrip(".")
                out.add(full if full in known else resolve(base))
        elif isinstance(node, ast.Import):
            out |= {resolve(a.name.removeprefix("radio").lstrip(".")) for a in node.names
                    if a.name == "radio" or a.name.startswith("radio.")}
    out.discard(name)
    out.discard("")  # `from radio import __version__`
    return out


def stage_of(name: str) -> int | None:
    best: tuple[int, int] | None = None  # (length of the matching prefix, stage)
    for i, (_, prefixes) in enumerate(STAGES):
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), i)
    return best[1] if best else None


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_stage():
    assert [n for n in modules() if n not in PACKAGES and stage_of(n) is None] == []


def test_no_import_circles():
    assert cycles(graph()) == []


def test_no_module_imports_a_later_stage():
    up = []
    for name, targets in graph().items():
        if name in PACKAGES:
            continue
        for t in sorted(targets):
            if t not in PACKAGES and stage_of(t) > stage_of(name):
                up.append(f"radio.{name} ({STAGES[stage_of(name)][0]}) imports radio.{t} ({STAGES[stage_of(t)][0]})")
    assert up == []


def test_the_check_sees_a_circle_and_an_arrow_up(tmp_path):
    """The checks above can fail: a late import inside a function is seen, TYPE_CHECKING is not."""
    (tmp_path / "a.py").write_text("def f():\n    from radio.b import g\n")
    (tmp_path / "b.py").write_text("from radio import a\nfrom typing import TYPE_CHECKING\n"
                                   "if TYPE_CHECKING:\n    from radio.c import x\n")
    (tmp_path / "c.py").write_text("")
    known = {"a": tmp_path / "a.py", "b": tmp_path / "b.py", "c": tmp_path / "c.py"}
    edges = {n: imports(n, p, known) for n, p in known.items()}
    assert edges == {"a": {"b"}, "b": {"a"}, "c": set()}
    assert cycles(edges) == [["a", "b"]]
    assert stage_of("rundown.model") < stage_of("timing") < stage_of("audio.mix")
