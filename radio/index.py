"""The desk's index of every week's reports: what the desk needs from the past without reading every week.

The report files and history logs stay the source of truth. The index (SQLite, `episodes/.index.sqlite`) holds,
per report, only what the desk looks up across weeks: its week, id, thread, status (as the verification policy
counts it), priority and whether it was retracted; no text and nothing private. Before every lookup the index
compares the size and modification time of each report and history file with what it recorded and reads again
only the files that changed, appeared or went away; a missing or unreadable index, or a changed verification
policy, is rebuilt from the files. Looking up a thread then reads only that thread's own report files.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from radio.errors import RadioError
from radio.station import WEEK_RE, Station

INDEX_NAME = ".index.sqlite"
SCHEMA = 2  # bump when the tables change: an index of another schema is rebuilt
_TABLES = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files(path TEXT PRIMARY KEY, week TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL,
                   mtime_ns INTEGER NOT NULL);
CREATE TABLE reports(week TEXT NOT NULL, id TEXT NOT NULL, thread TEXT, status TEXT NOT NULL,
                     priority INTEGER NOT NULL, PRIMARY KEY(week, id));
CREATE INDEX reports_thread ON reports(thread, week);
CREATE TABLE retracted(week TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(week, id));
"""


@dataclass(frozen=True)
class Row:
    week: str
    id: str
    thread: str | None
    state: str  # the report's status, or "retracted"
    priority: int


def index_path(station: Station) -> Path:
    return station.root / "episodes" / INDEX_NAME


def _policy(station: Station) -> str:
    return json.dumps(station.config.verification.model_dump(mode="json"), sort_keys=True)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def _open(station: Station) -> sqlite3.Connection:
    """The index, new if missing, of another schema or policy, or unreadable."""
    path = index_path(station)
    path.parent.mkdir(parents=True, exist_ok=True)
    want = {"schema": str(SCHEMA), "policy": _policy(station)}
    try:
        db = _connect(path)
        have = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if have == want:
            return db
        db.close()
    except sqlite3.DatabaseError:
        pass
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = _connect(path)
    db.executescript(_TABLES)
    db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(want.items()))
    return db


def _scan(station: Station) -> dict[str, tuple[str, str, int, int]]:
    """path (relative to episodes/) -> (week, kind, size, mtime_ns) for every report and history file."""
    out = {}
    root = os.fspath(station.root / "episodes")  # plain strings: this runs over every week of the archive
    try:
        weeks = [e.name for e in os.scandir(root) if e.is_dir() and WEEK_RE.match(e.name)]
    except FileNotFoundError:
        return out
    for week in weeks:
        for kind, folder in (("report", "reports"), ("history", "history")):
            try:
                entries = list(os.scandir(f"{root}/{week}/{folder}"))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for e in entries:
                name = e.name
                if name.startswith(".") or not name.endswith(".md" if kind == "report" else ".jsonl"):
                    continue
                if kind == "report" and name.count(".") != 1:
                    continue  # a translation: status and thread are the original's
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                out[f"{week}/{folder}/{name}"] = (week, kind, st.st_size, st.st_mtime_ns)
    return out


def _read_report(station: Station, path: Path) -> tuple[str, str | None, str, int] | None:
    """(id, thread, status, priority) as the desk counts it, or None for a file the desk cannot read."""
    from radio.config import ID_RE
    from radio.reports.files import policy_error, read_report, readable
    if not ID_RE.match(path.stem):
        return None
    try:
        readable(station, path)
        rf = read_report(path, station.config.verification)
        if policy_error(rf, station.config.verification):
            return None
    except (RadioError, OSError, UnicodeDecodeError):
        return None
    r = rf.report
    return r.id, r.thread, r.status, r.priority


def _is_retracted(station: Station, week: str, rid: str) -> bool:
    from radio import history
    try:
        return history.retraction(history.read(station, week, rid)) is not None
    except (RadioError, OSError, UnicodeDecodeError):
        return False


_local = threading.local()  # per thread (a connection belongs to its thread): .batch, station root -> the index


def _batches() -> dict[Path, sqlite3.Connection | None]:
    if not hasattr(_local, "batch"):
        _local.batch = {}
    return _local.batch


@contextmanager
def batch(station: Station) -> Iterator[None]:
    """Several lookups that may share one look at the files (those of one command, which changes no report
    between them): the index is brought up to date once, at the first lookup (none, if nothing looks)."""
    batches = _batches()
    if station.root in batches:
        yield
        return
    batches[station.root] = None
    try:
        yield
    finally:
        db = batches.pop(station.root)
        if db is not None:
            db.close()


@contextmanager
def _looked_up(station: Station) -> Iterator[sqlite3.Connection]:
    """The index for one lookup: the batch's if one is open, else brought up to date now and closed after."""
    batches = _batches()
    if station.root in batches:
        if batches[station.root] is None:
            batches[station.root] = refresh(station)
        yield batches[station.root]  # type: ignore[misc]
        return
    with closing(refresh(station)) as db:
        yield db


def refresh(station: Station) -> sqlite3.Connection:
    """The index, brought up to date with the files: only what changed is read again."""
    db = _open(station)
    try:
        now = _scan(station)
        seen = {p: (s, m) for p, s, m in db.execute("SELECT path, size, mtime_ns FROM files")}
        changed = [p for p, v in now.items() if seen.get(p) != (v[2], v[3])]
        gone = [p for p in seen if p not in now]
        if not changed and not gone:
            return db
        root = station.root / "episodes"
        db.execute("BEGIN IMMEDIATE")
        for p in gone + changed:
            week, folder, name = p.split("/")
            rid = name.rsplit(".", 1)[0]
            table = "reports" if folder == "reports" else "retracted"
            db.execute(f"DELETE FROM {table} WHERE week = ? AND id = ?", (week, rid))
            db.execute("DELETE FROM files WHERE path = ?", (p,))
        for p in changed:
            week, kind, size, mtime = now[p]
            name = p.rsplit("/", 1)[1]
            rid = name.rsplit(".", 1)[0]
            if kind == "report":
                got = _read_report(station, root / p)
                if got is not None and got[0] == rid:
                    db.execute("INSERT INTO reports VALUES (?, ?, ?, ?, ?)", (week, *got))
            elif _is_retracted(station, week, rid):
                db.execute("INSERT INTO retracted VALUES (?, ?)", (week, rid))
            db.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?)", (p, week, kind, size, mtime))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()
        raise
    return db


_ROWS = """SELECT r.week, r.id, r.thread, CASE WHEN x.id IS NULL THEN r.status ELSE 'retracted' END, r.priority
           FROM reports r LEFT JOIN retracted x ON x.week = r.week AND x.id = r.id"""


def thread_rows(station: Station, thread: str) -> list[Row]:
    """Every report of a thread, oldest week first, then by id."""
    with _looked_up(station) as db:
        return [Row(*r) for r in db.execute(f"{_ROWS} WHERE r.thread = ? ORDER BY r.week, r.id", (thread,))]


def threads_in(station: Station, weeks: list[str]) -> list[str]:
    with _looked_up(station) as db:
        marks = ",".join("?" * len(weeks))
        return [t for (t,) in db.execute(
            f"SELECT DISTINCT thread FROM reports WHERE thread IS NOT NULL AND week IN ({marks}) ORDER BY thread",
            list(weeks))]


def latest_before(station: Station, thread: str, week: str) -> list[Row]:
    """A thread's verified, unretracted reports in the latest week before `week` that has any."""
    with _looked_up(station) as db:
        rows = [Row(*r) for r in db.execute(
            f"""{_ROWS} WHERE r.thread = ? AND r.week < ? AND r.status = 'verified' AND x.id IS NULL
                AND r.week = (SELECT MAX(r2.week) FROM reports r2 LEFT JOIN retracted x2
                              ON x2.week = r2.week AND x2.id = r2.id
                              WHERE r2.thread = ? AND r2.week < ? AND r2.status = 'verified' AND x2.id IS NULL)
                ORDER BY r.priority, r.id""", (thread, week, thread, week))]
    return rows
