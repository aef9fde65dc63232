"""The script and the run sheet on paper: printed to PDF by headless Chromium, read back page by page."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from radio.station import Station
from radio.script import paginate, paper, sentences
from tests.browser import chrome, needs_chromium, print_pdf
from tests.conftest import WEEK, copy_station, runner_for

CLAUSES = ["before the morning shift began", "and the committee wrote it down", "while the depot manager stayed in his office",
           "as the drivers had asked in their letter of the week before", "without a word from the company"]


def long_text() -> str:
    """Forty-two fictional sentences of uneven length: enough for an item to run over several pages."""
    out = []
    for i in range(42):
        extra = ", ".join(CLAUSES[: i % 6])
        out.append(f"Driver number {i + 1} counted {10 + i} buses at the gate{', ' + extra if extra else ''}.")
    return " ".join(out)


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    root = copy_station(tmp_path_factory.mktemp("print") / "station")
    run = runner_for(root)
    assert run("plan", WEEK).exit_code == 0
    rd = root / "episodes" / WEEK / "rundown.yaml"
    text = rd.read_text()
    text = re.sub(r"(  - id: welcome\n(?:    .*\n)*?    text: ).*\n", lambda m: m.group(1) + f"'{long_text()}'\n", text)
    rd.write_text(text)
    assert run("script", WEEK).exit_code == 0
    out = root / "episodes" / WEEK / "out"
    driver = chrome()
    try:
        script = print_pdf(driver, (out / "script.html").as_uri(), out / "script.pdf")
        sheet = print_pdf(driver, (out / "runsheet.html").as_uri(), out / "runsheet.pdf")
        driver.set_window_size(390, 844)
        driver.get((out / "runsheet.html").as_uri())
        phone = driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth,"
            " getComputedStyle(document.querySelector('td.hit')).fontSize,"
            " [...document.querySelectorAll('thead th')].filter(th => th.offsetWidth > 0).map(th => th.textContent)]")
    finally:
        driver.quit()
    return root, out, script, sheet, phone


def pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    return [" ".join(p.split()) for p in text.split("\f")][: -1 or None]


def page_size(pdf: Path) -> tuple[float, float]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    w, h = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups()
    return float(w), float(h)


@needs_chromium
def test_script_pages_keep_sentences_whole_and_mark_continuations(printed):
    root, out, pdf, _, _ = printed
    html = (out / "script.html").read_text()
    got = pages(pdf)
    n_items, n_more = html.count('<section class="item'), html.count('<section class="page')
    assert n_more >= 2, "the long item must run over at least three pages"
    # exactly the pages the script planned: the browser never had to break a page on its own
    assert len(got) == n_items + n_more
    w, h = page_size(pdf)
    assert (round(w), round(h)) == (595, 842)  # A4 portrait
    long_sentences = sentences(long_text())
    for s in long_sentences:
        assert sum(s in p for p in got) == 1, f"sentence split or lost: {s!r}"
    for i, p in enumerate(got):
        whole = [s for s in long_sentences if s in p]
        if "Driver number" in p:
            assert whole, f"page {i + 1} holds no full sentence: {p!r}"
            # nothing of the item on this page but whole sentences and the markers
            rest = re.sub(r"IN: “[^”]*” · OUT: “[^”]*”", "", p)
            for s in whole:
                rest = rest.replace(s, "")
            assert "Driver number" not in rest, f"a broken sentence on page {i + 1}: {rest!r}"
        if "(CONT'D)" in p:
            # the long welcome, or any item the page could not hold whole (the demo's longer reports)
            assert re.match(r"[A-Z0-9-]+ \(CONT'D\) · ", p), p[:80]
            assert "(MORE)" in got[i - 1] and got[i - 1].rstrip().endswith("(MORE)")
    assert sum("(CONT'D)" in p for p in got) == n_more
    assert sum(p.endswith("(MORE)") for p in got) == n_more
    # one item to a page otherwise: each of the other items starts its own page
    for r in ("pit-strike-second-week", "closing", "headlines"):
        assert sum(p.count(r.upper()) > 0 and not "(CONT'D)" in p for p in got) == 1


@needs_chromium
def test_runsheet_prints_landscape_inside_the_margins_with_hit_times(printed):
    root, out, _, pdf, _ = printed
    w, h = page_size(pdf)
    assert (round(w), round(h)) == (842, 595)  # A4 landscape
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    margin = 10 / 25.4 * 72
    words = [(float(a), float(b), t) for a, b, t in re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" '
                                                                 r'yMax="[\d.]+">([^<]*)</word>', bbox)]
    assert len(words) > 200
    outside = [t for a, b, t in words if a < margin - 1 or b > w - margin + 1]
    assert not outside, f"text outside the margins: {outside[:10]}"
    text = " ".join(pages(pdf))
    for col in ("on air", "front", "back", "media", "notes", "estimated", "actual", "status"):
        assert col in text
    # wall-clock hit times: the show starts at 18:00:00 Berlin time; every live item has one
    import csv
    import datetime as dt
    rows = [r for r in csv.DictReader((out / "runsheet.csv").open()) if r["#"].isdigit()]
    air = dt.datetime(2026, 11, 20, 18, 0)

    def secs(clock: str) -> int:
        m, s = clock.split(":")
        return int(m) * 60 + int(s)
    want = {(air + dt.timedelta(seconds=secs(r["front time"]))).strftime("%H:%M:%S") for r in rows}
    hits = set(re.findall(r"\b18:\d\d:\d\d\b", text))
    assert len(hits) == 15 and "18:00:00" in hits
    assert hits == want


@needs_chromium
def test_runsheet_on_a_phone_has_no_sideways_scrolling(printed):
    _, _, _, _, (scroll_w, inner_w, hit_font, shown) = printed
    assert scroll_w <= inner_w == 390
    assert float(hit_font.removesuffix("px")) >= 12
    assert shown == ["#", "on air", "slug", "host", "estimated", "actual", "back time", "status"]


def test_paper_follows_the_station_locale(station):
    st = Station.open(station)
    assert paper(st) == "A4"
    cfg = station / "radio.toml"
    cfg.write_text(cfg.read_text().replace('language = "en"\n', 'language = "en-US"\n', 1))
    assert paper(Station.open(station)) == "Letter"
    run = runner_for(station)
    run("plan", WEEK)
    assert run("script", WEEK).exit_code == 0
    out = station / "episodes" / WEEK / "out"
    assert "@page { size: Letter; " in (out / "script.html").read_text()
    assert "@page { size: Letter landscape; " in (out / "runsheet.html").read_text()


def test_paginate_splits_only_between_sentences():
    paras = ["One two three. " * 150, "Short one. Another one!", "Is this a question? Yes."]
    got = paginate([p.strip() for p in paras], "A4")
    assert len(got) >= 2
    flat = [s for page in got for para in page for s in sentences(para)]
    assert flat == [s for p in paras for s in sentences(p.strip())]
    assert paginate([], "A4") == [[]]
