"""Benchmark: `radio intake` of one message with a 200 MB attachment (base64, as a mailbox holds it), against
reading the same file once with `cat`. Reports wall and CPU seconds and the peak RSS of the whole process tree.

    .venv/bin/python -m benchmarks.intake [--mb 200] [--imap]

The message is over the station's attachment limit, so it is quarantined with its headers and first bytes;
the attachment is streamed and counted, never held in memory. With --imap the message is on a local Dovecot
(as the tests run it) and `radio intake --imap` reads it from there, a piece at a time. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.run import RADIO, ROOT, measure


def big_message(path: Path, mb: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = b"QUFB" * 19 + b"\r\n"  # 76 base64 characters: 57 bytes
    lines = mb * 1_000_000 // 57 + 1
    with open(path, "wb") as f:
        f.write(b"From: Sofia Imaginary <sofia.imaginary@example.org>\r\nTo: desk@radio.example.org\r\n"
                b"Subject: The whole meeting (fictional)\r\nDate: Tue, 17 Nov 2026 09:00:00 +0000\r\n"
                b"Message-ID: <bench-big@example.org>\r\nMIME-Version: 1.0\r\n"
                b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
                b"The whole meeting, filmed.\r\n--b\r\nContent-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\n"
                b'Content-Disposition: attachment; filename="meeting.mp4"\r\n\r\n')
        block = line * 10_000
        for _ in range(lines // 10_000):
            f.write(block)
        f.write(line * (lines % 10_000) + b"--b--\r\n")
    return path


def _over_imap(work: Path, station: Path, msg: Path) -> dict:
    """The message put straight into a local Dovecot's Maildir, then taken in over IMAPS."""
    import os
    from tests.mail_util import Dovecot, make_ca
    cert, key = make_ca(work / "ca")
    server = Dovecot(work / "dovecot", cert, key)
    try:
        home = server.mail_root / server.user
        for sub in ("cur", "new", "tmp"):
            (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy2(msg, home / "Maildir" / "new" / msg.name)
        owner = home.stat()
        for p in [home / "Maildir", *(home / "Maildir").rglob("*")]:  # the server's user reads it (nobody, as root)
            os.chown(p, owner.st_uid, owner.st_gid)
        return measure([*RADIO, "--station", str(station), "intake", "2026-W48", "--imap", server.url()],
                       env={**os.environ, "SSL_CERT_FILE": str(cert), "RADIO_IMAP_USER": server.user,
                            "RADIO_IMAP_PASSWORD": server.password})
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=int, default=200, help="attachment size in MB")
    ap.add_argument("--imap", action="store_true", help="read the message from a local IMAP server")
    args = ap.parse_args()
    import os
    os.environ.setdefault("RADIO_IDENTITY", str(ROOT / "keys" / "demo-only" / "elena.key"))  # the demo is sealed
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        station = work / "station"
        station.mkdir()
        shutil.copy2(ROOT / "radio.toml", station / "radio.toml")
        shutil.copytree(ROOT / "private", station / "private")
        shutil.copytree(ROOT / "elements", station / "elements")
        box = work / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True)
        msg = big_message(box / "new" / "1763370000.bench.example", args.mb)
        size = msg.stat().st_size
        bare = measure(["cat", str(msg)])
        if args.imap:
            radio = _over_imap(work, station, msg)
        else:
            radio = measure([*RADIO, "--station", str(station), "intake", "2026-W48", "--maildir", str(box)])
        rows = [("cat (read the file once)", bare), ("radio intake" + (" --imap" if args.imap else ""), radio)]
        print(f"one message of {size / 1e6:.0f} MB ({args.mb} MB attachment, base64)")
        print(f"{'':28} {'wall s':>8} {'cpu s':>8} {'peak RSS MiB':>13}")
        for name, m in rows:
            print(f"{name:28} {m['wall']:8.2f} {m['cpu']:8.2f} {m['rss']:13d}")
        print(f"ratio (radio / cat)          {radio['wall'] / max(bare['wall'], 1e-3):8.1f} "
              f"{radio['cpu'] / max(bare['cpu'], 1e-3):8.1f}")


if __name__ == "__main__":
    sys.exit(main())
