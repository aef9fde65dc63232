"""Hosting: `radio publish --to s3://` against a bare boto3 upload of the same files, in the same run, to a real
S3 store (SeaweedFS) on the loopback; the no-change rerun; and `radio deliver` to a directory.

    .venv/bin/python -m benchmarks.hosting [--minutes 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tests.audio_util import WEEK, ebur128, tiny_station
from tests.conftest import runner_for
from tests.hosting_util import ACCESS_KEY, SECRET_KEY, seaweed
from tests.test_tags import publish_tones


def bare_upload(store, root: Path) -> float:
    import boto3
    c = boto3.client("s3", endpoint_url=store.endpoint, aws_access_key_id=ACCESS_KEY,
                     aws_secret_access_key=SECRET_KEY, region_name="us-east-1")
    t = time.perf_counter()
    for p in sorted(root.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts):
            c.upload_file(str(p), "radio", f"bare/{p.relative_to(root).as_posix()}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=int, default=10, help="length of the show (its slot)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with seaweed(tmp / "weed") as store:
            root = tiny_station(tmp / "st", slot=f"{args.minutes}:00")
            cfg = root / "radio.toml"
            text = cfg.read_text().replace('base_url = "https://example.org/podcast/"',
                                           f'base_url = "{store.endpoint}/radio/pod/"')
            # a few tones and a long bed: the bed may fill the slot
            cfg.write_text(text.replace('max_fill = "2:00"', f'max_fill = "{args.minutes}:00"', 1))
            publish_tones(root)
            run = runner_for(root)
            tree = root / "feeds"
            size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file() and ".hosting" not in p.parts)
            t = time.perf_counter()
            first = run("publish", WEEK, "--to", "s3://radio/pod", env=store.env())
            t_first = time.perf_counter() - t
            t = time.perf_counter()
            again = run("publish", WEEK, "--to", "s3://radio/pod", env=store.env())
            t_again = time.perf_counter() - t
            t = time.perf_counter()
            run("publish", WEEK)
            t_local = time.perf_counter() - t
            t_bare = bare_upload(store, tree / "st")
            box = tmp / "box"
            box.mkdir()
            t = time.perf_counter()
            d = run("deliver", WEEK, "--to", str(box))
            t_deliver = time.perf_counter() - t
            src = ebur128(root / "episodes" / WEEK / "out" / "onair.wav")
            out = ebur128(box / "ST_20261120.wav")
    print(f"| what | seconds |\n|---|---|\n| local publish alone | {t_local:.2f} |\n"
          f"| publish + first upload ({size / 1e6:.1f} MB) | {t_first:.2f} (upload ≈ {t_first - t_local:.2f}) |\n"
          f"| bare boto3 upload of the same files | {t_bare:.2f} |\n"
          f"| publish + no-change rerun | {t_again:.2f} (upload ≈ {t_again - t_local:.2f}) |\n"
          f"| deliver BWF dual mono to a directory | {t_deliver:.2f} |")
    print(first.out.strip().splitlines()[-1])
    print(again.out.strip().splitlines()[-1])
    print(d.out.strip())
    print(f"on-air master (mono, one channel): {src['I']:.1f} LUFS {src['TP']:.1f} dBTP; "
          f"delivered (two channels): {out['I']:.1f} LUFS {out['TP']:.1f} dBTP")


if __name__ == "__main__":
    main()
