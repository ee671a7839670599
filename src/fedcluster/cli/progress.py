"""A live view of a run: round, per-hospital AUC and pooled AUC as they arrive.

It follows the run folder's metrics.jsonl from a background thread, so it
shows the same thing whatever the runtime: the simulation engine in this
process, or a ServerApp in another process or cluster writing the file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from fedcluster.report.store import read_metrics


class RunProgress:
    """Context manager that shows live progress of the run in `run_dir`."""

    def __init__(
        self,
        run_dir: Path,
        *,
        rounds: int,
        hospitals: list[str],
        console: Console,
        interval: float = 0.3,
    ) -> None:
        self.run_dir = run_dir
        self.rounds = rounds
        self.hospitals = hospitals
        self.console = console
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: Live | None = None

    def __enter__(self) -> RunProgress:
        self._live = Live(
            self._render([]),
            console=self.console,
            refresh_per_second=4,
            transient=False,
        )
        self._live.__enter__()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
        if self._live:
            self._live.update(self._render(read_metrics(self.run_dir)))
            self._live.__exit__(kind, error, trace)
            if not self.console.is_terminal:
                # Written to a file or pipe, the last view ends without a
                # line break, and whatever is printed next would follow it.
                self.console.line()

    def _follow(self) -> None:
        while not self._stop.wait(self.interval):
            if self._live:
                self._live.update(self._render(read_metrics(self.run_dir)))

    def _render(self, lines: list[dict[str, Any]]) -> Table:
        done = max((line["round"] for line in lines), default=None)
        title = (
            "waiting for hospitals..."
            if done is None
            else f"round {done}/{self.rounds}"
        )
        table = Table(title=title, title_justify="left", expand=False)
        table.add_column("round", justify="right")
        for hospital in self.hospitals:
            table.add_column(f"{hospital}\nAUC", justify="right")
        table.add_column("pooled\nAUC", justify="right", style="bold")
        table.add_column("took part", justify="right")
        for line in lines[-6:]:
            cells = [str(line["round"])]
            for hospital in self.hospitals:
                metrics = line.get("hospitals", {}).get(hospital)
                cells.append(_number(metrics.get("auc")) if metrics else "-")
            cells.append(_number(line.get("pooled", {}).get("auc")))
            contributors = line.get("contributors", [])
            cells.append(
                f"{len(contributors)}/{len(self.hospitals)}" if line["round"] else "-"
            )
            table.add_row(*cells)
        return table


def _number(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"
