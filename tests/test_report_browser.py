"""A run's report opened in a real headless Chromium, as a reader would open it.

The page is loaded from disk with the network in its ordinary state; the test
records every request the page makes, measures every chart and keeps a
full-page screenshot in the test's temporary folder (its path is printed,
and CI keeps it as an artifact).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from browser import chromium, find_chromium
from fedcluster.report.html import write_report
from test_report_fixture import make_run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        find_chromium() is None and not os.environ.get("CI"),
        reason="no Chromium here; .ci/install-chromium installs it",
    ),
]

CHART_SIZES = """JSON.stringify(Array.from(document.querySelectorAll("svg.chart"))
  .map(chart => {
    const box = chart.getBoundingClientRect();
    const drawn = chart.getBBox();
    return {label: chart.getAttribute("aria-label"),
            width: box.width, height: box.height,
            drawnWidth: drawn.width, drawnHeight: drawn.height};
  }))"""


def report_run(runs_dir: Path) -> Path:
    """A run folder with a dropped hospital and a losing one, then its report."""
    run_dir = make_run(runs_dir, rounds=8, failures={3: {"Switzerland": "no reply"}})
    return write_report(run_dir)


def test_every_chart_renders_and_the_page_makes_no_network_request(
    tmp_path: Path,
) -> None:
    report = report_run(tmp_path / "runs")
    url = report.resolve().as_uri()

    with chromium(tmp_path / "browser") as browser:
        browser.load(url)
        charts = json.loads(browser.evaluate(CHART_SIZES))
        screenshot = browser.screenshot(tmp_path / "report.png")
        requests = browser.requested_urls()
        errors = [e for e in browser.log_entries() if e.get("level") == "error"]
    print(f"\nscreenshot of the report: {screenshot}")

    assert len(charts) >= 7
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 40, chart
        assert chart["drawnWidth"] > 0 and chart["drawnHeight"] > 0, chart
    assert [r for r in requests if r != url and not r.startswith("data:")] == []
    assert errors == []
    assert screenshot.stat().st_size > 20_000


def test_the_request_check_notices_a_page_that_does_fetch(tmp_path: Path) -> None:
    # A page that asks for an image on a closed local port: if this request
    # went unseen, the test above would prove nothing.
    page = tmp_path / "fetching.html"
    page.write_text('<img src="http://127.0.0.1:9/pixel.png">', encoding="utf-8")

    with chromium(tmp_path / "browser") as browser:
        browser.load(page.as_uri())
        requests = browser.requested_urls()

    assert "http://127.0.0.1:9/pixel.png" in requests
