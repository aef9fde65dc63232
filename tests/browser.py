"""Headless Chromium for tests: Debian's chromium and chromedriver, never a downloaded browser."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import pytest

needs_chromium = pytest.mark.skipif(not Path("/usr/bin/chromedriver").exists() and not os.environ.get("CI"),
                                    reason="chromium is installed by scripts/test (in CI a missing one fails)")


def chrome(*extra: str, size: str = "1200,900"):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--disable-dev-shm-usage",
              "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", f"--window-size={size}", *extra):
        opts.add_argument(a)
    return webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))


def print_pdf(driver, url: str, dest: Path) -> Path:
    """Print a page as the browser's print dialog would, honouring the page's own @page size."""
    driver.get(url)
    data = driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})["data"]
    dest.write_bytes(base64.b64decode(data))
    return dest


def until(driver, script: str, timeout: float = 20.0):
    """Wait, within a bound, for a script to return something true in the page; returns it."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {script} (last {value!r})")
