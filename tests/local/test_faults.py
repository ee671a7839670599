"""Faults on the deployed path: real SuperLink and SuperNodes over TLS.

One federation of three demo hospitals of different sizes (Cleveland,
Hungary, Switzerland) stays up for the whole module; each test submits its
own run with its own federation file and breaks something on the way.
Refusal of an unregistered key or of a SuperNode without the CA is tested in
`test_local_runtime.py`.
"""

from __future__ import annotations

import contextlib
import html
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fault_helpers import (
    MARKERS_VARIABLE,
    TASKS_FOR_TESTS,
    checkpoint_rounds,
    kill_and_restart_superlink,
    kill_supernode,
    load,
    metrics_lines,
    summary_of,
    wait_until,
    write_fault_federation,
)
from local_helpers import fedcluster, free_port_block, kill_everything_under

from fedcluster.app.payload_audit import AUDIT_FOLDER_VARIABLE
from fedcluster.federation.model import Federation
from fedcluster.runtime.launch import prepare_run
from fedcluster.runtime.local import (
    restart_supernode,
    run_status,
    start_federation,
    stop_federation,
    submit_run,
    wait_for_run,
)
from fedcluster.runtime.local.control import Control
from fedcluster.runtime.local.layout import LocalLayout
from fedcluster.security.pki import provision

# Each test drives real processes through rounds of several seconds on a
# 2-core machine; one rerun absorbs a round that a load spike pushed past its
# timeout. A real fault fails twice.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.flaky(reruns=1),
]


@dataclass(frozen=True)
class FaultBed:
    """The running federation and what a test needs to write its own files."""

    folder: Path
    data: Path
    port: int
    federation: Federation
    audit: Path
    markers: Path

    def federation_file(self, file_name: str, **settings: object) -> Path:
        return write_fault_federation(
            self.folder,
            file_name=file_name,
            data=self.data,
            superlink_port=self.port,
            **settings,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="module")
def bed(
    tmp_path_factory: pytest.TempPathFactory, demo_data: Path
) -> Iterator[FaultBed]:
    folder = tmp_path_factory.mktemp("faults")
    data = folder / "data"
    shutil.copytree(demo_data, data)
    port = free_port_block(5)
    audit = folder / "audit"
    markers = folder / "markers"
    markers.mkdir()
    base = write_fault_federation(
        folder, file_name="federation.toml", data=data, superlink_port=port
    )
    federation = load(base)
    provision(federation)

    # Every Flower process inherits this environment: the SuperExecs can then
    # import the misbehaving test task, and each ClientApp records what it sends.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(TASKS_FOR_TESTS))
        patch.setenv(AUDIT_FOLDER_VARIABLE, str(audit))
        patch.setenv(MARKERS_VARIABLE, str(markers))
        try:
            start_federation(federation)
            yield FaultBed(folder, data, port, federation, audit, markers)
        finally:
            try:
                stop_federation(federation)
            finally:
                leftovers = kill_everything_under(folder)
                assert not leftovers, f"processes left behind: {leftovers}"


@contextlib.contextmanager
def _submitted(
    bed: FaultBed, federation: Federation, name: str
) -> Iterator[tuple[Path, int]]:
    """Submit a run into a run folder of its own; stop it if the test fails.

    A rerun of a failed test must neither write into the first attempt's run
    folder nor share the federation with that attempt's run, still going.
    """
    run_dir = bed.folder / "runs" / f"{name}-{time.time_ns()}"
    run_id = submit_run(federation, run_dir)
    try:
        yield run_dir, run_id
    except BaseException:
        with contextlib.suppress(Exception):
            Control(LocalLayout.of(federation)).stop_run(run_id)
        raise


def _run(bed: FaultBed, path: Path, name: str, *, timeout: float = 400) -> Path:
    """Submit the federation at `path` and wait for it; returns its run folder."""
    run_dir = bed.folder / "runs" / name
    federation = load(path)
    run_id = submit_run(federation, run_dir)
    wait_for_run(federation, run_id, timeout=timeout)
    return run_dir


def test_an_update_with_nan_is_rejected_and_the_round_aggregates_the_others(
    bed: FaultBed,
) -> None:
    # Prepare: Switzerland's training diverges to NaN in every round.
    path = bed.federation_file(
        "nan.toml", rounds=2, task="faulty_tasks:NaNFromSwitzerland"
    )

    # Act
    run_dir = _run(bed, path, "nan")

    # Assert
    summary = summary_of(run_dir)
    assert summary["status"] == "completed"
    lines = metrics_lines(run_dir)
    assert [line["round"] for line in lines] == [0, 1, 2]
    for line in lines[1:]:
        assert line["contributors"] == ["Cleveland", "Hungary"]
        assert "update rejected" in line["failures"]["Switzerland"]
        assert "NaN" in line["failures"]["Switzerland"]
    assert summary["results"]["pooled"]["federated"]["auc"] > 0.7


def test_no_hospital_sends_anything_that_grows_with_its_patients(
    bed: FaultBed,
) -> None:
    # Prepare: a plain run; every ClientApp appends what it sends to its audit.
    shutil.rmtree(bed.audit, ignore_errors=True)
    path = bed.federation_file("audit.toml", rounds=2)

    # Act
    run_dir = _run(bed, path, "audit")

    # Assert
    assert summary_of(run_dir)["status"] == "completed"
    sites = json.loads((run_dir / "sites.json").read_text())
    profiles = {name: site["profile"] for name, site in sites.items()}
    shapes_by_record: dict[str, set[tuple[tuple[str, tuple[int, ...]], ...]]] = {}
    for hospital in ("Cleveland", "Hungary", "Switzerland"):
        audit_file = bed.audit / f"{hospital.lower()}.jsonl"
        entries = [json.loads(x) for x in audit_file.read_text().splitlines()]
        profile = profiles[hospital]
        row_counts = {profile["rows"], profile["train"], profile["test"]}
        assert {e["action"] for e in entries} >= {"statistics", "round", "evaluate"}
        for entry in entries:
            assert not entry["error"]
            assert set(entry["arrays"]) <= {
                "updated-model",
                "evaluation",
                "site-statistics",
            }
            assert set(entry["metrics"]) <= {"training"}
            for keys in entry["metrics"].values():
                assert set(keys) <= {"num-examples", "train-loss"}
            for record_name, arrays in entry["arrays"].items():
                for array_name, described in arrays.items():
                    shape = tuple(described["shape"])
                    assert not row_counts & set(shape), (
                        f"{hospital} sent {record_name}/{array_name} with shape "
                        f"{shape}: one entry per patient"
                    )
                shapes_by_record.setdefault(record_name, set()).add(
                    tuple(sorted((n, tuple(d["shape"])) for n, d in arrays.items()))
                )
    # Hospitals of 304, 293 and 123 patients send arrays of the same shapes.
    assert profiles["Cleveland"]["rows"] != profiles["Switzerland"]["rows"]
    for record_name, shapes in shapes_by_record.items():
        assert len(shapes) == 1, f"{record_name} differs in shape between hospitals"


def test_a_hospital_with_a_malformed_file_is_named_and_the_run_goes_on(
    bed: FaultBed,
) -> None:
    # Prepare: Hungary's file no longer has the columns the task needs.
    hungary = bed.data / "hungary.csv"
    original = hungary.read_bytes()
    hungary.write_text("patient;note\n1;broken export\n")
    path = bed.federation_file("malformed.toml", rounds=2)

    # Act
    try:
        run_dir = _run(bed, path, "malformed")
    finally:
        hungary.write_bytes(original)

    # Assert
    summary = summary_of(run_dir)
    assert summary["status"] == "completed"
    reason = summary["hospitals"]["Hungary"]["excluded"]
    assert "hungary.csv" in reason and "missing" in reason, reason
    assert summary["hospitals"]["Cleveland"]["excluded"] is None
    for line in metrics_lines(run_dir)[1:]:
        assert line["contributors"] == ["Cleveland", "Switzerland"]
    report = (run_dir / "report.html").read_text()
    assert html.escape(reason) in report


def test_too_few_hospitals_online_stops_the_run_with_one_clear_line(
    bed: FaultBed,
) -> None:
    # Prepare: the file lists a fourth hospital whose SuperNode never started,
    # and needs all four.
    path = bed.federation_file(
        "quorum.toml",
        hospitals=("Cleveland", "Hungary", "Switzerland", "VA Long Beach"),
        min_hospitals=4,
        quorum_deadline=5,
    )

    # Act
    done = fedcluster("run", "-f", str(path), cwd=bed.folder, timeout=300)

    # Assert
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert "only 3 of 4 hospitals online" in last_line, done.stderr
    run_dirs = [p for p in (bed.folder / "runs").iterdir() if p.name[:1].isdigit()]
    summaries = [summary_of(p) for p in run_dirs if (p / "summary.json").exists()]
    assert any(
        s["status"] == "failed" and "hospitals online" in s["error"] for s in summaries
    )


def test_a_hospital_killed_mid_round_is_left_out_and_contributes_again(
    bed: FaultBed,
) -> None:
    # Prepare: Switzerland's training in round 2 takes 6 s longer, and notes
    # when it starts; the run is long enough for the SuperLink to notice the
    # loss (about a minute) and for the restarted SuperNode to come back.
    trainings = bed.markers / "switzerland-trainings"
    trainings.unlink(missing_ok=True)
    path = bed.federation_file(
        "kill-node.toml",
        rounds=12,
        round_timeout=90,
        task="faulty_tasks:SlowSwitzerlandOnce",
    )
    federation = load(path)
    with _submitted(bed, federation, "kill-node") as (run_dir, run_id):
        wait_until(
            lambda: trainings.exists() and len(trainings.read_text().split()) >= 2,
            timeout=300,
            what="Switzerland to start training in round 2",
            every=0.1,
        )

        # Act: Switzerland's SuperNode dies while it trains, then comes back.
        kill_supernode(federation, "Switzerland")
        restart_supernode(federation, federation.hospital("Switzerland"))
        outcome = wait_for_run(federation, run_id, timeout=600)

    # Assert: round 2 went on without Switzerland, which is back later on.
    assert outcome.completed, outcome
    assert summary_of(run_dir)["status"] == "completed"
    lines = metrics_lines(run_dir)
    assert [line["round"] for line in lines] == list(range(13))
    assert "Switzerland" in lines[2]["failures"], lines[2]
    missed = [
        line["round"]
        for line in lines
        if "Switzerland" in line["failures"] or "Switzerland" in line["offline"]
    ]
    for line in lines[1:]:
        if line["round"] in missed:
            assert line["contributors"] == ["Cleveland", "Hungary"], line
        else:
            assert line["contributors"] == ["Cleveland", "Hungary", "Switzerland"]
    assert missed[-1] < 12, "Switzerland never contributed again"
    assert missed == list(range(2, missed[-1] + 1)), missed


def test_a_superlink_killed_mid_run_and_restarted_loses_no_round(
    bed: FaultBed,
) -> None:
    # Prepare
    path = bed.federation_file("kill-link.toml", rounds=4)
    federation = load(path)
    run_dir = bed.folder / "runs" / "kill-link"
    run_id = submit_run(federation, run_dir)
    wait_until(lambda: 1 in checkpoint_rounds(run_dir), timeout=300, what="round 1")

    # Act
    old_pid, new_pid = kill_and_restart_superlink(federation)
    outcome = wait_for_run(federation, run_id, timeout=600)

    # Assert
    assert new_pid != old_pid
    assert outcome.completed, outcome
    summary = summary_of(run_dir)
    assert summary["status"] == "completed"
    assert summary["rounds_completed"] == 4
    assert [line["round"] for line in metrics_lines(run_dir)] == [0, 1, 2, 3, 4]


def test_a_lost_serverapp_is_continued_by_run_resume_from_its_checkpoint(
    bed: FaultBed,
) -> None:
    # Prepare: a run in the federation's run store, stopped after round 1.
    path = bed.federation_file("resume.toml", rounds=4)
    federation = load(path)
    run_dir = prepare_run(federation)
    run_id = submit_run(federation, run_dir)
    wait_until(lambda: 1 in checkpoint_rounds(run_dir), timeout=300, what="round 1")
    Control(LocalLayout.of(federation)).stop_run(run_id)
    wait_until(
        lambda: run_status(federation, run_id).finished,
        timeout=120,
        what="the stopped run to finish",
    )
    stopped_at = max(checkpoint_rounds(run_dir))
    assert stopped_at < 4

    # Act
    done = fedcluster(
        "run", "-f", str(path), "--resume", run_dir.name, cwd=bed.folder, timeout=600
    )

    # Assert
    assert done.returncode == 0, done.stderr[-2000:]
    summary = summary_of(run_dir)
    assert summary["status"] == "completed"
    assert summary["rounds_completed"] == 4
    rounds = [line["round"] for line in metrics_lines(run_dir)]
    assert sorted(set(rounds)) == [0, 1, 2, 3, 4]
    assert max(checkpoint_rounds(run_dir)) == 4
    assert (run_dir / "model.pt").exists()
