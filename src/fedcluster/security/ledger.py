"""The privacy ledger: epsilon each hospital has spent, across every run.

One JSON file per federation, `<state_dir>/privacy-ledger.json`, holds one
entry per run that used differential privacy: how many rounds each hospital
took part in, at which noise multiplier, and the resulting RDP cost `rho`
(see `fedcluster.security.accounting`). A hospital's spending is the sum of
its `rho` over all entries, turned into epsilon at the federation's delta;
adding RDP costs composes runs exactly as rounds within a run compose.

A run is booked in two steps:

1. before it starts, `reserve` books every hospital for all planned rounds,
   and refuses the run with a one-line `PrivacyBudgetError` when that would
   take any hospital past its budget. Booking the whole plan up front means
   two runs started together cannot both squeeze under the cap;
2. when it ends, `settle` replaces the booking with what the run spent: the
   rounds in which each hospital was sent the global model to train, read
   from `metrics.jsonl`. A run that failed is charged one round more than
   its metrics show, because the last round's line is written only after
   the next round's replies arrive.

Runs without `[privacy]` are not booked: they carry no formal guarantee, and
the summary says so.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fedcluster.errors import PrivacyBudgetError
from fedcluster.federation.model import Federation
from fedcluster.federation.options import DifferentialPrivacySettings
from fedcluster.security.accounting import epsilon_from_rho, rho_per_round

log = logging.getLogger(__name__)

LEDGER_FILE = "privacy-ledger.json"


class PrivacyLedger:
    """The ledger file of one federation's state folder."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / LEDGER_FILE

    # --- reading -------------------------------------------------------------

    def runs(self) -> dict[str, dict[str, Any]]:
        """Every booked run by run id."""
        runs: dict[str, dict[str, Any]] = self._read().get("runs", {})
        return runs

    def rho_spent(self, hospital: str, *, excluding: str | None = None) -> float:
        """The hospital's RDP cost over all booked runs but `excluding`."""
        return sum(
            float(entry.get("rho", {}).get(hospital, 0.0))
            for run_id, entry in self.runs().items()
            if run_id != excluding
        )

    def epsilon_spent(self, hospital: str, delta: float) -> float:
        return epsilon_from_rho(self.rho_spent(hospital), delta)

    # --- booking -------------------------------------------------------------

    def check(
        self,
        *,
        run_id: str | None,
        hospitals: Iterable[str],
        rounds: int,
        privacy: DifferentialPrivacySettings,
    ) -> None:
        """Raise PrivacyBudgetError if `rounds` more would pass any budget."""
        cost = rounds * rho_per_round(privacy.noise_multiplier)
        for hospital in hospitals:
            budget = privacy.budget_of(hospital)
            if budget is None:
                continue
            before = self.rho_spent(hospital, excluding=run_id)
            after = epsilon_from_rho(before + cost, privacy.delta)
            if after > budget:
                spent = epsilon_from_rho(before, privacy.delta)
                raise PrivacyBudgetError(
                    f"hospital {hospital!r} has spent epsilon {spent:.2f} of its "
                    f"budget {budget:g} (delta {privacy.delta:g}, ledger "
                    f"{self.path}) and {rounds} round(s) at noise multiplier "
                    f"{privacy.noise_multiplier:g} would take it to {after:.2f}; "
                    "run fewer rounds, raise privacy.noise_multiplier or "
                    "privacy.budget"
                )

    def reserve(
        self,
        *,
        run_id: str,
        hospitals: Iterable[str],
        rounds: int,
        privacy: DifferentialPrivacySettings,
    ) -> None:
        """Book every hospital for `rounds`, or refuse (see module docstring)."""
        names = list(hospitals)
        with self._locked():
            self.check(run_id=run_id, hospitals=names, rounds=rounds, privacy=privacy)
            self._book(
                run_id,
                {name: rounds for name in names},
                privacy.noise_multiplier,
                status="reserved",
            )
        log.info("privacy ledger: %s booked for %d round(s)", run_id, rounds)

    def settle(
        self, *, run_id: str, rounds_by_hospital: Mapping[str, int], noise: float
    ) -> None:
        """Replace a run's booking with the rounds it really spent."""
        with self._locked():
            self._book(run_id, dict(rounds_by_hospital), noise, status="settled")
        log.info("privacy ledger: %s settled: %s", run_id, dict(rounds_by_hospital))

    # --- file ----------------------------------------------------------------

    def _book(
        self, run_id: str, rounds: dict[str, int], noise: float, *, status: str
    ) -> None:
        document = self._read()
        per_round = rho_per_round(noise)
        document.setdefault("runs", {})[run_id] = {
            "status": status,
            "noise_multiplier": noise,
            "rounds": rounds,
            "rho": {name: count * per_round for name, count in rounds.items()},
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._write(document)

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"accountant": _ACCOUNTANT, "runs": {}}
        try:
            document: dict[str, Any] = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError) as error:
            raise PrivacyBudgetError(
                f"{self.path}: the privacy ledger cannot be read ({error}); "
                "restore it from a backup, never delete it"
            ) from error
        return document

    def _write(self, document: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(temporary, self.path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an exclusive lock so concurrent runs book one after the other."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_suffix(".lock")
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


_ACCOUNTANT = (
    "RDP of the Gaussian mechanism, client-level (add or remove one hospital's "
    "clipped update), no sampling amplification; rho adds up over rounds and runs"
)


def rounds_spent(
    metrics: Iterable[Mapping[str, Any]],
    hospitals: Iterable[str],
    *,
    completed: bool,
    planned: int,
) -> dict[str, int]:
    """Rounds each hospital was asked to train, from a run's metrics lines.

    Line r names round r's contributors and failures; a hospital in either was
    sent the model and may have released a noised update.
    """
    names = list(hospitals)
    counts = dict.fromkeys(names, 0)
    last_round = -1
    for line in metrics:
        server_round = int(line.get("round", 0))
        last_round = max(last_round, server_round)
        if server_round == 0:
            continue
        asked = set(line.get("contributors", [])) | set(line.get("failures", {}))
        for name in names:
            counts[name] += name in asked
    if not completed:
        # Rounds after the last written line may have trained: charge them.
        unseen = max(0, min(planned, last_round + 2) - max(last_round, 0))
        counts = {name: min(planned, count + unseen) for name, count in counts.items()}
    return counts


def check_budget(federation: Federation) -> None:
    """Refuse a run the ledger cannot afford; nothing is written."""
    privacy = federation.privacy
    if privacy is None:
        return
    PrivacyLedger(federation.state_dir).check(
        run_id=None,
        hospitals=[h.name for h in federation.hospitals],
        rounds=federation.rounds,
        privacy=privacy,
    )


def book_run(federation: Federation, run_id: str) -> None:
    """Reserve the run's planned rounds, or refuse it; see the module docstring."""
    privacy = federation.privacy
    if privacy is None:
        return
    PrivacyLedger(federation.state_dir).reserve(
        run_id=run_id,
        hospitals=[h.name for h in federation.hospitals],
        rounds=federation.rounds,
        privacy=privacy,
    )


def settle_run(federation: Federation, run_dir: Path) -> None:
    """Book what a finished (or failed) run spent, from its run folder."""
    from fedcluster.report import store

    privacy = federation.privacy
    if privacy is None:
        return
    summary = store.read_summary(run_dir)
    if summary is None:
        # Nothing says what ran here (a run folder on another machine, say):
        # the booking of every planned round stands.
        log.warning("privacy ledger: %s keeps its full booking", run_dir.name)
        return
    spent = rounds_spent(
        store.read_metrics(run_dir),
        [h.name for h in federation.hospitals],
        completed=summary.get("status") == "completed",
        planned=federation.rounds,
    )
    PrivacyLedger(federation.state_dir).settle(
        run_id=run_dir.name, rounds_by_hospital=spent, noise=privacy.noise_multiplier
    )
