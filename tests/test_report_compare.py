"""Comparing runs on one page, and the two commands that write the pages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fedcluster.cli.compare import compare_command
from fedcluster.cli.report import report_command
from fedcluster.errors import RunError
from fedcluster.report.compare import write_comparison
from test_report_fixture import make_run


def two_runs(runs_dir: Path) -> tuple[Path, Path]:
    fedavg = make_run(runs_dir, run_id="20261203-164000-heart-demo")
    fedprox = make_run(
        runs_dir,
        run_id="20261203-170000-heart-demo",
        rounds=3,
        summary_changes={
            "strategy": "fedprox",
            "strategy_params": {"proximal_mu": 0.1},
        },
    )
    return fedavg, fedprox


def cli() -> typer.Typer:
    """The two commands on their own, as `fedcluster` registers them."""
    app = typer.Typer()
    app.command("report")(report_command)
    app.command("compare")(compare_command)
    return app


def test_a_comparison_overlays_the_pooled_auc_of_every_run(tmp_path: Path) -> None:
    fedavg, fedprox = two_runs(tmp_path)

    page = write_comparison([fedavg, fedprox], tmp_path / "c.html").read_text()

    assert "Comparing 2 runs" in page
    assert 'aria-label="Pooled AUC per round"' in page
    assert "<title>A: fedavg, simulation</title>" in page
    assert "<title>B: fedprox, simulation</title>" in page
    assert "fedprox (proximal_mu=0.1)" in page


def test_a_comparison_puts_each_hospitals_result_side_by_side(
    tmp_path: Path,
) -> None:
    fedavg, fedprox = two_runs(tmp_path)

    page = write_comparison([fedavg, fedprox], tmp_path / "c.html").read_text()

    row = re.search(r"<tr><td>Switzerland</td>(.*?)</tr>", page)
    assert row is not None
    assert row.group(1).count('<span class="loss">-0.070</span>') == 2
    assert 'aria-label="Seconds per round"' in page
    assert 'aria-label="Bytes exchanged"' in page
    assert not re.search(r"https?://", page)


def test_a_failed_run_in_a_comparison_shows_its_error(tmp_path: Path) -> None:
    fedavg, _ = two_runs(tmp_path)
    failed = make_run(
        tmp_path,
        run_id="20261203-180000-heart-demo",
        recorded_rounds=1,
        summary_changes={"status": "failed", "error": "SuperLink lost", "results": {}},
    )

    page = write_comparison([fedavg, failed], tmp_path / "c.html").read_text()

    assert "Run B failed." in page
    assert "SuperLink lost" in page


def test_the_report_command_writes_the_page_and_says_where(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)

    result = CliRunner().invoke(
        cli(), ["report", "20261203-164000", "--runs-dir", str(tmp_path)]
    )

    assert result.exit_code == 0, result.output
    assert "report.html" in result.output
    assert (run_dir / "report.html").exists()


def test_the_compare_command_writes_one_page_where_it_was_asked(
    tmp_path: Path,
) -> None:
    two_runs(tmp_path)
    output = tmp_path / "out" / "fedavg-vs-fedprox.html"

    result = CliRunner().invoke(
        cli(),
        [
            "compare",
            "20261203-164000-heart-demo",
            "20261203-170000-heart-demo",
            "--runs-dir",
            str(tmp_path),
            "-o",
            str(output),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "Comparing 2 runs" in output.read_text()


def test_comparing_a_single_run_is_refused_with_a_hint(tmp_path: Path) -> None:
    make_run(tmp_path)

    result = CliRunner().invoke(
        cli(), ["compare", "20261203-164000", "--runs-dir", str(tmp_path)]
    )

    assert result.exit_code != 0
    assert isinstance(result.exception, RunError)
    assert "at least two runs" in str(result.exception)


def test_runs_compare_uses_the_runs_folder_given_to_runs(tmp_path: Path) -> None:
    two_runs(tmp_path)
    output = tmp_path / "c.html"
    fedcluster = Path(sys.executable).with_name("fedcluster")

    command = ["runs", "--runs-dir", str(tmp_path), "compare", "-o", str(output)]

    finished = subprocess.run(
        [str(fedcluster), *command, "20261203-16", "20261203-17"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 0, finished.stderr
    assert "comparison written to" in finished.stdout
    assert "Comparing 2 runs" in output.read_text()


def test_an_unknown_run_id_names_the_runs_folder_and_how_to_list_runs(
    tmp_path: Path,
) -> None:
    make_run(tmp_path)

    with pytest.raises(RunError) as refused:
        report_command("20990101-nothing", tmp_path)

    assert str(tmp_path) in str(refused.value)
    assert "fedcluster runs" in str(refused.value)


def test_the_report_commands_start_without_importing_torch_or_flower() -> None:
    probe = (
        "import sys, json; "
        "import fedcluster.cli.report, fedcluster.cli.compare; "
        "print(json.dumps([m for m in ('torch', 'flwr') if m in sys.modules]))"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )

    assert json.loads(loaded.stdout) == []
