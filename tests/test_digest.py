"""The monthly digest: a month of reports by region and thread, in three formats, with its archive and feed."""

from __future__ import annotations

import re
import subprocess

import feedparser

from tests.canary import assert_clean, plant
from tests.conftest import copy_station, runner_for

MONTH = "2026-11"


def test_digest_in_three_formats_with_corrections_archive_and_feed(tmp_path):
    root = copy_station(tmp_path / "demo", editions=True)
    canaries = plant(root)
    from radio import history
    from radio.station import Station
    history.append(Station.open(root), "2026-W47", "hospital-nurses-wage-arrears", "correction",
                   note="Bonuses were cut for two months, not three.")
    run = runner_for(root)
    r = run("digest", MONTH)
    assert r.exit_code == 0, r.err
    out = r.out.splitlines()
    assert "wrote digests/2026-11/en/digest.pdf" in out and "8 reports in the en digest" in out
    assert any(line.startswith("left out of the fr digest: hospital-nurses-wage-arrears has no checked fr") for line in out)
    folder = root / "digests" / MONTH / "en"
    text = (folder / "digest.txt").read_text()
    assert text.startswith("LABOUR WEEK: MONTHLY DIGEST\n")
    for line in text.splitlines():  # 72 columns, but for a link that cannot be broken
        assert len(line) <= 72 or re.fullmatch(r"\S+: https?://\S+|https?://\S+", line), line
    assert "Correction (" in text and "Bonuses were cut for two months, not three." in text
    assert "-- Kestrel Ridge Strike --" in text  # the thread, under its region
    html = (folder / "digest.html").read_text()
    assert "<style" not in html and 'style="' in html and "<script" not in html
    assert "Bonuses were cut for two months, not three." in html
    pdf = subprocess.run(["pdftotext", "-layout", str(folder / "digest.pdf"), "-"], capture_output=True, text=True,
                         check=True).stdout
    assert "Monthly digest" in pdf.title() or "MONTHLY DIGEST" in pdf.upper()
    assert "Bus drivers at Port Alder refuse unpaid overtime" in " ".join(pdf.split())
    archive = root / "feeds" / "labour-week" / "digest"
    assert (archive / MONTH / "digest.pdf").is_file() and "2026-11/" in (archive / "index.html").read_text()
    feed = feedparser.parse((archive / "feed.xml").read_bytes())
    assert not feed.bozo and [e.title for e in feed.entries] == ["Labour Week: monthly digest, November 2026"]
    assert_clean([root / "digests", root / "feeds"], canaries, min_files=9)


def test_a_month_with_no_reports_and_a_bad_month_are_one_line(tmp_path):
    root = copy_station(tmp_path / "demo")
    run = runner_for(root)
    r = run("digest", "2026-02")
    assert r.exit_code == 1 and len(r.err.splitlines()) == 1
    assert r.err.startswith("error: 2026-02 has no verified report to put in a digest")
    assert not (root / "digests").exists()
    r = run("digest", "2026-13")
    assert (r.exit_code, r.err) == (1, "error: '2026-13' is not a month (write it as YEAR-MM, e.g. 2026-11)\n")


def test_digest_and_press_message_ids_are_keyed(tmp_path):
    """A Message-ID made from a plain hash of the address could be checked against a guessed list of addresses
    by anyone who sees it: the digest's and the press's are keyed with the station's secret, as the bulletin's."""
    import hashlib
    from radio.mail.outgoing import message_id
    from radio.station import Station
    from tests.conftest import copy_station
    station = Station.open(copy_station(tmp_path / "st"))
    for kind, key in (("digest", "2026-11-en"), ("press", "2026-W47-en")):
        address = "reader@example.org"
        mid = message_id(station, kind, key, address)
        plain = hashlib.sha256(f"{kind}\n{key}\n{address}".encode()).hexdigest()[:20]
        assert mid.startswith(f"<{kind}.{key}.") and plain not in mid
        assert mid == message_id(station, kind, key, " Reader@Example.org ")  # stable for the person
