"""Seconds per round of the deployed demo, before and after trimming the waits.

Four demo hospitals, each behind its own real SuperNode, over TLS with node
authentication (`fedcluster up --runtime local`), against the same rounds in
simulation and against the compute floor (the same work in one process, see
`simulation_overhead.py`). All of it is measured in one run and printed side
by side, as seconds per round and as ratios:

- before: Flower's own processes and cadence (`[local] quick_start = false`).
  Each hospital runs `flower-supernode`, which sleeps 3 s whenever it finds no
  message, and `flower-superexec`, which looks for work once a second and
  starts a fresh `flwr-clientapp` process (importing flwr and torch) for every
  message; the ServerApp waits for replies polling every 3 s, as Flower's
  `send_and_receive` does.
- after: the defaults. fedcluster's launchers around the same Flower
  commands fork each ClientApp from a SuperExec that has flwr, torch and the
  task imported already; the SuperNode looks for the next message within
  0.25 s of its last one and the SuperExec for the next task within 0.05 s
  (both waiting longer the longer they are idle); missing message contents
  are retried after 50 ms instead of 1 s; our own push/pull loop starts
  polling at 0.1 s; and each message's arrays travel packed and bundled into
  one config record (`fedcluster.app.packing`): 4 objects for an
  instruction and 5 for a reply, where before sends 17 and 20, each one a
  request the SuperLink serves.

Both use our ServerApp, which retries a reply's missing contents after 50 ms
(Flower waits 1 s, then 2 s, ...); "before" is therefore a little faster
than Flower's stock path, not slower.

The deployed run's pooled AUC is printed beside the simulated run's, for the
same seed: they should agree within 0.01.

    .venv/bin/python bench/deployed_overhead.py [--rounds 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from simulation_overhead import compute_floor

SUPEREXEC_POLL = "FLWR_SUPEREXEC_TASK_POLL_INTERVAL"


@dataclass(frozen=True)
class Cadence:
    """Which hospital processes run, and how often the ServerApp polls."""

    label: str
    quick_start: bool
    pack_records: bool
    serverapp_poll: float
    superexec_poll: float | None  # None: fedcluster's default (0.1 s)


BEFORE = Cadence("deployed, before (Flower's processes, polls)", False, False, 3.0, 1.0)
AFTER = Cadence("deployed, after (defaults)", True, True, 0.1, None)


@dataclass(frozen=True)
class Measured:
    per_round: float  # median seconds of a round inside the round loop
    whole: float  # seconds of the whole run divided by the rounds
    auc: float | None
    hospital_mib: float | None = None  # PSS of one hospital's processes
    idle_cpu: float | None = None  # % of one core the idle federation uses


@dataclass(frozen=True)
class Footprint:
    hospital_mib: float
    idle_cpu: float


def footprint(
    federation: Any, *, settle_seconds: float = 30.0, idle_seconds: float = 20.0
) -> Footprint:
    """Memory per hospital after a run, and the CPU the federation burns idle.

    Memory is the proportional set size (shared pages split between the
    processes sharing them) of each hospital's SuperNode and SuperExec,
    with their children, averaged over hospitals. Idle CPU is the CPU time
    of every process of the federation over `idle_seconds`, from
    `settle_seconds` after the run (the launchers poll less the longer they
    are idle), as a percentage of one core.
    """
    from fedcluster.runtime.local.layout import LocalLayout
    from fedcluster.runtime.local.state import read_state

    state = read_state(LocalLayout.of(federation).state_file)
    assert state is not None
    groups_by_hospital: dict[str, set[int]] = {}
    for record in state.processes:
        if record.hospital is not None:
            groups_by_hospital.setdefault(record.hospital, set()).add(record.pgid)
    all_groups = {record.pgid for record in state.processes}

    per_hospital = [
        sum(_pss_kib(pid) for pid in _members(groups)) / 1024
        for groups in groups_by_hospital.values()
    ]
    time.sleep(settle_seconds)
    before = sum(_cpu_ticks(pid) for pid in _members(all_groups))
    time.sleep(idle_seconds)
    after = sum(_cpu_ticks(pid) for pid in _members(all_groups))
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    idle = (after - before) / ticks_per_second / idle_seconds * 100
    return Footprint(statistics.mean(per_hospital), idle)


def _members(groups: set[int]) -> list[int]:
    """Live processes whose process group is one of `groups`."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields and int(fields[2]) in groups and fields[0] != "Z":
            members.append(int(entry))
    return members


def _stat_fields(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return []
    # The command name may hold spaces; the other fields follow its ')'.
    return stat.rsplit(")", 1)[1].split()


def _cpu_ticks(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12]) if fields else 0  # utime + stime


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def simulated(federation_file: Path) -> Measured:
    from fedcluster.cli.common import quiet_flower
    from fedcluster.federation.load import load_federation
    from fedcluster.runtime.launch import execute, prepare_run

    quiet_flower()
    federation = load_federation(federation_file)
    run_dir = prepare_run(federation)
    started = time.perf_counter()
    summary = execute(federation, run_dir)
    return _measured(run_dir, summary, time.perf_counter() - started)


def deployed(federation_file: Path, cadence: Cadence) -> Measured:
    """Up, one run, down, with the SuperExecs started under `cadence`."""
    from fedcluster.federation.load import load_federation
    from fedcluster.report.store import read_summary
    from fedcluster.runtime.launch import prepare_run
    from fedcluster.runtime.local import (
        start_federation,
        stop_federation,
        submit_run,
        wait_for_run,
    )

    federation = load_federation(federation_file)
    federation = federation.model_copy(
        update={
            "local": federation.local.model_copy(
                update={"quick_start": cadence.quick_start}
            )
        }
    )
    saved = os.environ.pop(SUPEREXEC_POLL, None)
    if cadence.superexec_poll is not None:
        os.environ[SUPEREXEC_POLL] = str(cadence.superexec_poll)
    try:
        start_federation(federation)
        try:
            run_dir = prepare_run(federation)
            started = time.perf_counter()
            run_id = submit_run(
                federation,
                run_dir,
                extra_config={
                    "poll-interval": cadence.serverapp_poll,
                    "pack-records": cadence.pack_records,
                },
            )
            outcome = wait_for_run(federation, run_id, timeout=7200)
            total = time.perf_counter() - started
            measured_footprint = footprint(federation)
        finally:
            stop_federation(federation)
    finally:
        os.environ.pop(SUPEREXEC_POLL, None)
        if saved is not None:
            os.environ[SUPEREXEC_POLL] = saved
    if not outcome.completed:
        raise SystemExit(f"{cadence.label}: run ended {outcome.status}")
    measured = _measured(run_dir, read_summary(run_dir), total)
    return Measured(
        measured.per_round,
        measured.whole,
        measured.auc,
        measured_footprint.hospital_mib,
        measured_footprint.idle_cpu,
    )


def _measured(run_dir: Path, summary: Any, total: float) -> Measured:
    from fedcluster.report.store import read_metrics

    lines = [line for line in read_metrics(run_dir) if line["round"] > 0]
    # The median, because simulation's first round also starts its workers.
    per_round = statistics.median(line["seconds"] for line in lines)
    pooled = (summary or {}).get("results", {}).get("pooled", {})
    auc = pooled.get("federated", {}).get("auc")
    return Measured(per_round, total / len(lines), auc)


def write_federation(folder: Path, *, rounds: int, seed: int) -> Path:
    from fedcluster.data.demo import write_demo_data
    from fedcluster.federation.templates import demo_federation

    hospitals = write_demo_data(folder)
    text = demo_federation(
        [(h.name, h.path) for h in hospitals],
        rounds=rounds,
        seed=seed,
        runs_dir=Path("runs"),
    )
    port = _free_port_block(len(hospitals) + 1)
    text = text.replace(
        "\n[task]",
        f"round_timeout = 600\n\n[local]\nsuperlink_port = {port}\n"
        f"supernode_base_port = {port + 1}\nstartup_timeout = 180\n\n[task]",
        1,
    )
    path = folder / "federation.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _free_port_block(count: int) -> int:
    import random
    import socket

    for _ in range(200):
        base = random.randint(20_000, 60_000 - count)
        try:
            for offset in range(count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return base
    raise SystemExit("no block of free ports found")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from fedcluster.federation.load import load_federation
    from fedcluster.security.pki import provision

    with tempfile.TemporaryDirectory() as folder:
        federation_file = write_federation(
            Path(folder), rounds=args.rounds, seed=args.seed
        )
        provision(load_federation(federation_file))
        floor = compute_floor(federation_file)
        simulation = simulated(federation_file)
        rows = [("simulation (Flower's engine)", simulation)]
        for cadence in (BEFORE, AFTER):
            rows.append((cadence.label, deployed(federation_file, cadence)))

    print(f"demo, 4 hospitals, {args.rounds} rounds, seed {args.seed}")
    header = f"{'':44}{'s/round':>9}{'x floor':>9}{'x sim':>7}"
    print(
        header + f"{'overhead s':>12}{'whole s/rd':>12}{'pooled AUC':>12}"
        f"{'MiB/hosp':>10}{'idle CPU':>10}"
    )
    print(f"{'compute floor (no Flower, one process)':44}{floor:9.3f}{1.0:9.1f}")
    for label, measured in rows:
        auc = "" if measured.auc is None else f"{measured.auc:.4f}"
        memory = "" if measured.hospital_mib is None else f"{measured.hospital_mib:.0f}"
        idle = "" if measured.idle_cpu is None else f"{measured.idle_cpu:.1f}%"
        print(
            f"{label:44}{measured.per_round:9.3f}"
            f"{measured.per_round / floor:9.1f}"
            f"{measured.per_round / simulation.per_round:7.1f}"
            f"{measured.per_round - floor:12.2f}"
            f"{measured.whole:12.2f}{auc:>12}{memory:>10}{idle:>10}"
        )
    before, after = rows[1][1], rows[2][1]
    print(
        f"after / before: {after.per_round / before.per_round:.2f} of the round "
        f"time, {(after.per_round - floor) / (before.per_round - floor):.2f} of "
        "the overhead"
    )
    if simulation.auc is not None and after.auc is not None:
        print(
            f"pooled AUC, deployed minus simulated: {after.auc - simulation.auc:+.4f}"
        )
    print(
        "overhead s: s/round minus the compute floor; MiB/hosp: PSS of one "
        "hospital's SuperNode and SuperExec after the run; idle CPU: the whole "
        "federation 30 to 50 s after the run, % of one core"
    )


if __name__ == "__main__":
    main()
