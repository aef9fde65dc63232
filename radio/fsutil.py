"""Atomic writes (a temp file beside the target, fsync, rename: a crash leaves the old file whole) and locks."""

from __future__ import annotations

import fcntl
import os
import random
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterator


@contextmanager
def atomic_open(path: Path, mode: str = "wb", *, private: bool = False) -> Iterator[IO]:
    """Open a temp file beside `path`; on success it replaces `path`, on error it vanishes.

    A `private` file is 0600 in 0700 folders from its first byte, whatever the umask: the temp file's mode is
    set on its descriptor before anything is written, and folders are made private before they get their name.
    """
    if private:
        private_dirs(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600 if private else 0o644)
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes, *, private: bool = False) -> None:
    with atomic_open(path, "wb", private=private) as f:
        f.write(data)


def write_text(path: Path, text: str, *, private: bool = False) -> None:
    write_bytes(path, text.encode("utf-8"), private=private)


def private_dirs(folder: Path) -> None:
    """Make `folder` and any missing parents 0700, whatever the umask: each is made under a temp name, set to
    0700 while nobody can know it, then renamed into place (never visible with a wider mode)."""
    missing: list[Path] = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        tmp = tempfile.mkdtemp(prefix=f".{d.name}.", suffix=".new", dir=d.parent)
        os.chmod(tmp, 0o700)
        try:
            os.rename(tmp, d)
        except OSError:  # made by another process meanwhile: theirs stands
            os.rmdir(tmp)
            if not d.is_dir():
                raise


def append_private(path: Path, data: bytes) -> None:
    """Append to a private file (a journal), creating it 0600 whatever the umask; fsynced."""
    private_dirs(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != 0o600:
            os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(path: Path) -> Path:
    """A fresh temp name beside `path`, for tools (ffmpeg) that write files themselves."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # it becomes a published file by rename: readable like any other
    return Path(tmp)


@contextmanager
def locked(path: Path, error: Callable[[], Exception], wait: float = 0.0, *, private: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on `path` (made if missing, 0600) for the block; if another process holds it, try
    again for up to `wait` seconds, then raise `error()`. The kernel drops the lock when its holder dies, even by
    kill -9. A `private` lock's folders are 0700."""
    if private:
        private_dirs(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    if stat.S_IMODE(os.fstat(fd).st_mode) != 0o600:
        try:
            os.fchmod(fd, 0o600)
        except PermissionError:  # another user's lock: it still locks
            pass
    with os.fdopen(fd, "a+") as f:
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise error() from None
                time.sleep(0.01 + random.random() * 0.04)  # jitter, so waiting writers do not move in step
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def not_regular(root: Path, path: Path) -> str | None:
    """Why `path` may not be read as an input, or None: only regular files inside `root` are (no link out of it,
    no FIFO, device or folder; a FIFO would hang the reader, a link to /dev/zero would never end)."""
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            target = path.resolve(strict=True)
            if not target.is_relative_to(root):
                return "it is a link to a file outside the station"
            st = target.stat()
    except FileNotFoundError:
        return "it is a link to a file that does not exist"
    except (OSError, RuntimeError) as e:  # a loop of links, a permission problem
        return f"it cannot be read ({type(e).__name__})"
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file (a FIFO, a device or a folder)"
    return None


def fault_point(name: str) -> None:
    """For the kill tests: with RADIO_FAULT=name, stop here (mark RADIO_FAULT_FILE, then wait to be killed)."""
    if os.environ.get("RADIO_FAULT") == name:
        marker = os.environ.get("RADIO_FAULT_FILE")
        if marker:
            Path(marker).write_text(name)
        time.sleep(120)
