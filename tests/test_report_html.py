"""The run report, read as its reader would: what the page says and shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fedcluster.errors import RunError
from fedcluster.report.html import render_report, write_report
from fedcluster.report.run_view import read_run
from fedcluster.report.svg import LOSS_COLOUR
from test_report_fixture import make_run


def report_of(run_dir: Path) -> str:
    return write_report(run_dir).read_text(encoding="utf-8")


def test_a_run_writes_one_report_file_into_its_own_folder(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)

    path = write_report(run_dir)

    assert path == run_dir / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in run_dir.iterdir() if p.name.startswith(".")] == []


def test_the_page_references_nothing_to_load_from_a_network(tmp_path: Path) -> None:
    page = report_of(make_run(tmp_path))

    assert not re.search(r"https?://", page)
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", page)
    assert not re.search(r"\b(src|href)\s*=", page)
    assert "url(" not in page
    assert "@import" not in page
    assert "default-src 'none'" in page


def test_a_losing_hospital_is_labelled_with_a_negative_gain_in_red(
    tmp_path: Path,
) -> None:
    page = report_of(make_run(tmp_path))

    assert f'fill="{LOSS_COLOUR}" font-weight="700">-0.070 vs local' in page
    assert '<span class="loss">-0.070</span>' in page


def test_a_winning_hospital_is_labelled_with_a_positive_gain(tmp_path: Path) -> None:
    page = report_of(make_run(tmp_path))

    assert "+0.070 vs local" in page
    assert '<span class="gain">+0.080</span>' in page


def test_every_chart_the_reader_expects_is_on_the_page(tmp_path: Path) -> None:
    page = report_of(make_run(tmp_path))

    labels = re.findall(r'<svg class="chart" role="img" aria-label="([^"]+)"', page)
    assert labels == [
        "Patients per hospital by label",
        "AUC per hospital, local against federated",
        "AUC per round",
        "Loss per round",
        "Contributors per round",
        "Seconds per round",
        "Bytes per round",
    ]


def test_the_federation_at_a_glance_gives_counts_settings_and_versions(
    tmp_path: Path,
) -> None:
    page = report_of(make_run(tmp_path))

    for expected in (
        "VA Long Beach",
        '<td class="num">200</td>',
        "93%",
        "fedavg",
        "simulation",
        "flwr 1.42.0",
        "torch 2.13.0",
        "<dt>Seed</dt><dd>0</dd>",
    ):
        assert expected in page


def test_user_typed_hospital_names_are_shown_as_text_not_markup(
    tmp_path: Path,
) -> None:
    name = '<script>alert("x")</script> & Co'
    page = report_of(make_run(tmp_path, hospitals=["Cleveland", name]))

    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page


def test_a_failed_run_still_renders_with_its_error_and_its_rounds(
    tmp_path: Path,
) -> None:
    run_dir = make_run(
        tmp_path,
        rounds=10,
        recorded_rounds=2,
        summary_changes={
            "status": "failed",
            "error": "only 1 hospital online, 2 needed <quorum>",
            "results": {},
        },
    )

    page = report_of(run_dir)

    assert "This run failed." in page
    assert "only 1 hospital online, 2 needed &lt;quorum&gt;" in page
    assert "Only 2 of 10 rounds were recorded" in page
    assert 'aria-label="AUC per round"' in page
    assert "No final results were recorded" in page


def test_a_run_without_a_summary_renders_what_its_metrics_hold(
    tmp_path: Path,
) -> None:
    run_dir = make_run(tmp_path, write_summary=False)

    page = report_of(run_dir)

    assert "summary.json is missing" in page
    assert 'aria-label="AUC per round"' in page
    assert "Cleveland" in page


def test_a_line_cut_short_by_a_crash_is_skipped_and_mentioned(
    tmp_path: Path,
) -> None:
    run_dir = make_run(tmp_path, rounds=3)
    with (run_dir / "metrics.jsonl").open("a", encoding="utf-8") as metrics:
        metrics.write('{"round": 4, "hospitals": {"Clev')

    run = read_run(run_dir)

    assert run.trained_rounds == 3
    assert any("Line 5 of metrics.jsonl" in problem for problem in run.problems)
    assert "Line 5 of metrics.jsonl" in render_report(run)


def test_a_hospital_that_missed_a_round_is_marked_with_its_reason(
    tmp_path: Path,
) -> None:
    run_dir = make_run(tmp_path, failures={2: {"Switzerland": "no reply"}})

    page = report_of(run_dir)

    assert "<title>Switzerland, round 2: no reply</title>" in page
    assert "<td>Switzerland</td><td>no reply</td>" in page
    assert '<td>Switzerland</td><td class="num">4 of 5</td>' in page


def test_security_settings_added_later_show_up_without_a_report_change(
    tmp_path: Path,
) -> None:
    security = {
        "tls": True,
        "node_authentication": True,
        "differential_privacy": {"epsilon": 3.0, "clipping_norm": 1.0},
        "secure_aggregation": False,
    }
    run_dir = make_run(tmp_path, summary_changes={"security": security})

    page = report_of(run_dir)

    assert "<td>TLS</td>" in page
    assert "<td>Node authentication</td>" in page
    assert "<td>Differential privacy</td><td>epsilon: 3.0<br>clipping_norm: 1.0" in page
    assert '<td>Secure aggregation</td><td><span class="badge off">off</span>' in page


def test_centralized_results_are_shown_only_when_the_run_computed_them(
    tmp_path: Path,
) -> None:
    run_dir = make_run(tmp_path)
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text())
    for result in summary["results"].values():
        result.pop("centralized")
    summary_path.write_text(json.dumps(summary))

    page = report_of(run_dir)

    assert "Centralized AUC" not in page
    assert "Local AUC" in page


def test_reading_a_run_folder_that_does_not_exist_is_a_one_line_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(RunError, match="does not exist"):
        read_run(tmp_path / "20260101-000000-nothing")


def test_a_hospital_federation_left_unchanged_shows_no_coloured_gain(
    tmp_path: Path,
) -> None:
    run_dir = make_run(tmp_path)
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text())
    hungary = summary["results"]["Hungary"]
    hungary["federated"]["auc"] = hungary["local"]["auc"]
    hungary["gain"]["auc"] = 1e-12
    summary_path.write_text(json.dumps(summary))

    page = report_of(run_dir)

    assert "same as local" in page
    assert (
        '<td>Hungary</td><td class="num">0.820</td><td class="num">0.820</td>'
        '<td class="num">0.900</td><td class="num">0.000</td>' in page
    )


def test_a_hospital_left_out_of_the_run_says_why_beside_its_name(
    tmp_path: Path,
) -> None:
    run_dir = make_run(tmp_path)
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["hospitals"]["Switzerland"]["excluded"] = "column 'age' is missing"
    summary_path.write_text(json.dumps(summary))

    page = report_of(run_dir)

    assert (
        '<td>Switzerland <span class="loss">excluded: column &#x27;age&#x27; '
        "is missing</span></td>" in page
    )
