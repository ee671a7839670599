"""Reports opened in a real headless Chromium, as a reader would open them.

The main test trains the demo federation for a few rounds with the real
`fedcluster demo` command, which writes its report when the run ends, then
loads that page from disk with the network in its ordinary state. It records
every request the page makes, measures every chart and keeps a full-page
screenshot in the test's temporary folder (its path is printed; CI keeps it
as an artifact).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from browser import Browser, chromium, find_chromium
from fedcluster.report.compare import write_comparison
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

DEMO_CHARTS = [
    "Patients per hospital by label",
    "AUC per hospital, local against federated",
    "AUC per round",
    "Loss per round",
    "Contributors per round",
    "Seconds per round",
    "Bytes per round",
]


def open_and_measure(
    browser: Browser, report: Path, screenshot: Path
) -> tuple[list[dict[str, Any]], list[str]]:
    """Load `report`, save a screenshot; return its charts and other requests."""
    url = report.resolve().as_uri()
    browser.load(url)
    charts: list[dict[str, Any]] = json.loads(browser.evaluate(CHART_SIZES))
    browser.screenshot(screenshot)
    print(f"\nscreenshot of {report.parent.name}: {screenshot}")
    others = [
        request
        for request in browser.requested_urls()
        if request != url and not request.startswith("data:")
    ]
    return charts, others


def assert_drawn(charts: list[dict[str, Any]]) -> None:
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 40, chart
        assert chart["drawnWidth"] > 0 and chart["drawnHeight"] > 0, chart


def test_a_demo_runs_report_draws_every_chart_and_fetches_nothing(
    tmp_path: Path,
) -> None:
    fedcluster = Path(sys.executable).with_name("fedcluster")
    runs_dir = tmp_path / "runs"
    demo = subprocess.run(
        [
            str(fedcluster),
            "demo",
            "--rounds",
            "3",
            "--runs-dir",
            str(runs_dir),
            "--folder",
            str(tmp_path / "demo"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "FLWR_TELEMETRY_ENABLED": "0"},
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    (run_dir,) = runs_dir.iterdir()
    report = run_dir / "report.html"
    assert report.exists(), "the run did not write its report when it ended"

    with chromium(tmp_path / "browser") as browser:
        charts, requests = open_and_measure(browser, report, tmp_path / "demo.png")
        errors = [e for e in browser.log_entries() if e.get("level") == "error"]

    assert [chart["label"] for chart in charts] == DEMO_CHARTS
    assert_drawn(charts)
    assert requests == []
    assert errors == []
    assert (tmp_path / "demo.png").stat().st_size > 20_000


def test_a_failed_runs_report_still_draws_what_the_run_recorded(
    tmp_path: Path,
) -> None:
    run_dir = make_run(
        tmp_path / "runs",
        rounds=12,
        recorded_rounds=5,
        failures={3: {"Switzerland": "no reply"}, 4: {"Switzerland": "no reply"}},
        summary_changes={"status": "failed", "error": "quorum lost", "results": {}},
    )
    report = write_report(run_dir)

    with chromium(tmp_path / "browser") as browser:
        charts, requests = open_and_measure(browser, report, tmp_path / "failed.png")
        alert = browser.evaluate("document.querySelector('.alert').innerText")

    assert "quorum lost" in alert
    assert "AUC per round" in [chart["label"] for chart in charts]
    assert_drawn(charts)
    assert requests == []


def test_a_comparison_page_draws_every_chart_and_fetches_nothing(
    tmp_path: Path,
) -> None:
    runs_dir = tmp_path / "runs"
    fedavg = make_run(runs_dir, run_id="20261203-164000-heart-demo")
    fedprox = make_run(
        runs_dir,
        run_id="20261203-170000-heart-demo",
        summary_changes={"strategy": "fedprox"},
    )
    page = write_comparison([fedavg, fedprox], tmp_path / "compare.html")

    with chromium(tmp_path / "browser") as browser:
        charts, requests = open_and_measure(browser, page, tmp_path / "compare.png")

    assert len(charts) == 5
    assert_drawn(charts)
    assert requests == []


def test_the_request_check_notices_a_page_that_does_fetch(tmp_path: Path) -> None:
    # A page that asks for an image on a closed local port: if this request
    # went unseen, the tests above would prove nothing.
    page = tmp_path / "fetching.html"
    page.write_text('<img src="http://127.0.0.1:9/pixel.png">', encoding="utf-8")

    with chromium(tmp_path / "browser") as browser:
        browser.load(page.as_uri())
        requests = browser.requested_urls()

    assert "http://127.0.0.1:9/pixel.png" in requests
