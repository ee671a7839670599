"""The results table printed at the end of a run: baselines side by side."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_results(summary: dict[str, Any], console: Console) -> None:
    """Per hospital and pooled: local-only, federated, centralized and the gain."""
    results = summary.get("results", {})
    has_central = any("centralized" in entry for entry in results.values())
    has_personal = any("personalised" in entry for entry in results.values())
    table = Table(title="AUC on each hospital's own test set", title_justify="left")
    table.add_column("hospital")
    table.add_column("patients", justify="right")
    table.add_column("local only", justify="right")
    table.add_column("federated", justify="right", style="bold")
    table.add_column("gain", justify="right")
    if has_central:
        table.add_column("centralized*", justify="right")
    if has_personal:
        table.add_column("personalised", justify="right")
    hospitals = summary.get("hospitals", {})
    for name, entry in results.items():
        label = "all test sets" if name == "pooled" else name
        patients = hospitals.get(name, {}).get("rows") if name != "pooled" else None
        row = [
            label,
            "" if patients is None else str(patients),
            _auc(entry.get("local")),
            _auc(entry.get("federated")),
            _gain(entry.get("gain")),
        ]
        if has_central:
            row.append(_auc(entry.get("centralized")))
        if has_personal:
            row.append(_auc(entry.get("personalised")))
        if name == "pooled":
            table.add_section()
        table.add_row(*row)
    console.print(table)
    if has_central:
        console.print(
            "* centralized pools every hospital's rows: a reference that only a "
            "simulation can compute, never a real deployment."
        )
    losers = [
        name
        for name, entry in results.items()
        if name != "pooled"
        and (entry.get("gain") or {}).get("auc") is not None
        and entry["gain"]["auc"] < 0
    ]
    if losers:
        console.print(
            f"[yellow]{', '.join(losers)} scored lower with the federated model "
            "than training alone.[/]"
        )
    if "pooled" in results and results["pooled"].get("local"):
        console.print(
            "pooled 'local only' is the mean over hospitals of each one's own "
            "model scored on all test sets."
        )
    if has_personal:
        console.print(
            "personalised: the federated model fine-tuned at each hospital on its "
            "own rows; pooled, each test set is scored by its own hospital's model."
        )


def _auc(metrics: dict[str, Any] | None) -> str:
    if not metrics or metrics.get("auc") is None:
        return "-"
    return f"{metrics['auc']:.3f}"


def _gain(gain: dict[str, Any] | None) -> str:
    if not gain or gain.get("auc") is None:
        return "-"
    value = float(gain["auc"])
    colour = "green" if value >= 0 else "red"
    return f"[{colour}]{value:+.3f}[/]"
