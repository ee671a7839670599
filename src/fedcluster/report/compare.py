"""One page that sets runs side by side: FedAvg against FedProx, simulated
against deployed, one seed against another.

Runs are lettered A, B, C in the order given, and every chart uses the same
colour and letter for a run. The page overlays the pooled AUC per round, puts
each hospital's final federated AUC (with its gain over local training) side
by side, and compares what the runs cost in seconds and bytes. Like the run
report, it is one file that loads nothing from the network.
"""

from __future__ import annotations

import logging
import os
import string
from dataclasses import replace
from pathlib import Path

from fedcluster.report.bars import Bar, bar_groups
from fedcluster.report.page import (
    FULL_WIDTH,
    HALF_WIDTH,
    auc_axis_start,
    auc_range,
    badge,
    byte_unit,
    document,
    figure,
    gain_markup,
    gain_note,
    human_bytes,
    human_seconds,
    legend,
    number,
    section,
    table,
)
from fedcluster.report.run_view import (
    POOLED,
    RunView,
    as_dict,
    as_float,
    read_run,
)
from fedcluster.report.svg import (
    Series,
    colour,
    esc,
    line_chart,
)

logger = logging.getLogger(__name__)


def write_comparison(run_dirs: list[Path], output: Path) -> Path:
    """Write the comparison page of the runs in `run_dirs` to `output`."""
    runs = [read_run(run_dir) for run_dir in run_dirs]
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    partial.write_text(render_comparison(runs), encoding="utf-8")
    os.replace(partial, output)
    logger.info("comparison of %d runs written to %s", len(runs), output)
    return output


def render_comparison(runs: list[RunView]) -> str:
    """The whole comparison page, as HTML text."""
    letters = [_letter(index) for index in range(len(runs))]
    body = [
        f"<header><h1>Comparing {len(runs)} runs</h1></header>",
        _runs_table(runs, letters),
        _curves(runs, letters),
        _hospitals(runs, letters),
        _cost(runs, letters),
        "<footer>Written by fedcluster. This page loads nothing from the network."
        "</footer>",
    ]
    return document("fedcluster: " + " vs ".join(r.run_id for r in runs), "".join(body))


def _letter(index: int) -> str:
    letters = string.ascii_uppercase
    return letters[index] if index < len(letters) else f"Z{index}"


def _short_label(run: RunView, letter: str) -> str:
    strategy = run.summary.get("strategy") or "?"
    runtime = run.summary.get("runtime") or "?"
    return f"{letter}: {strategy}, {runtime}"


def _keys(runs: list[RunView], letters: list[str]) -> str:
    return legend(
        (_short_label(run, letter), colour(index))
        for index, (run, letter) in enumerate(zip(runs, letters, strict=True))
    )


def _runs_table(runs: list[RunView], letters: list[str]) -> str:
    rows = []
    for index, (run, letter) in enumerate(zip(runs, letters, strict=True)):
        summary = run.summary
        params = as_dict(summary.get("strategy_params"))
        strategy = str(summary.get("strategy") or "n/a")
        if params:
            strategy += " (" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"
        pooled = as_dict(as_dict(summary.get("results")).get(POOLED))
        planned = run.planned_rounds
        rows.append(
            [
                f'<span style="color:{colour(index)}">&#9632;</span> {esc(letter)}',
                esc(run.run_id),
                badge(run.status, run.status),
                esc(strategy),
                esc(summary.get("runtime") or "n/a"),
                f"{run.trained_rounds}" + (f" of {planned}" if planned else ""),
                esc(summary.get("seed", "n/a")),
                number(as_float(as_dict(pooled.get("federated")).get("auc"))),
                gain_markup(as_float(as_dict(pooled.get("gain")).get("auc"))),
            ]
        )
    header = ["", "Run", "Status", "Strategy", "Runtime", "Rounds", "Seed"]
    header += ["Pooled AUC", "Gain over local"]
    errors = "".join(
        f'<div class="alert"><strong>Run {esc(letter)} failed.</strong>'
        f"<pre>{esc(run.error or 'no reason recorded')}</pre></div>"
        for run, letter in zip(runs, letters, strict=True)
        if run.status == "failed" or run.error
    )
    return section(
        "The runs",
        "Gain is federated minus local-only AUC on all test sets pooled.",
        table(header, rows, {5, 6, 7, 8}),
        errors,
    )


def _curves(runs: list[RunView], letters: list[str]) -> str:
    charts = []
    for metric, shown in (("auc", "AUC"), ("loss", "loss")):
        series = [
            Series(
                _short_label(run, letter),
                colour(index),
                {r.round: r.pooled[metric] for r in run.rounds if metric in r.pooled},
            )
            for index, (run, letter) in enumerate(zip(runs, letters, strict=True))
        ]
        series = [s for s in series if s.values]
        if series:
            caption = f"Pooled {shown} per round"
            chart = line_chart(
                series,
                label=caption,
                y_name=shown,
                y_range=auc_range(series) if metric == "auc" else None,
                width=HALF_WIDTH,
            )
            charts.append(figure(caption, chart))
    return section(
        "Convergence",
        "The global model of each run on all test sets pooled, after each round.",
        _keys(runs, letters),
        f'<div class="two">{"".join(charts)}</div>'
        if charts
        else '<p class="muted">No run recorded a round.</p>',
    )


def _hospitals(runs: list[RunView], letters: list[str]) -> str:
    names = list(dict.fromkeys(name for run in runs for name in run.hospitals))
    names.append(POOLED)
    groups, rows, values = [], [], []
    for name in names:
        bars, row = [], [esc("all hospitals pooled" if name == POOLED else name)]
        for index, (run, letter) in enumerate(zip(runs, letters, strict=True)):
            result = as_dict(as_dict(run.summary.get("results")).get(name))
            federated = as_float(as_dict(result.get("federated")).get("auc"))
            gain = as_float(as_dict(result.get("gain")).get("auc"))
            row.append(
                "n/a" if federated is None else f"{federated:.3f} ({gain_markup(gain)})"
            )
            if federated is None:
                continue
            note, note_colour = gain_note(gain)
            bars.append(Bar(letter, federated, colour(index), note, note_colour))
            values.append(federated)
        rows.append(row)
        if bars:
            groups.append(("all hospitals pooled" if name == POOLED else name, bars))

    lead = (
        "Final federated AUC on each hospital's test set; the gain over that "
        "hospital training alone is written beside each bar, losses in red."
    )
    if not groups:
        return section(
            "Per hospital", lead, '<p class="muted">No run recorded final results.</p>'
        )
    low = auc_axis_start(values)
    chart = bar_groups(
        groups, label="Final AUC per hospital", x_range=(low, 1.0), width=FULL_WIDTH
    )
    header = ["Hospital", *(f"{letter}: AUC (gain)" for letter in letters)]
    return section(
        "Per hospital",
        lead,
        figure(f"Final AUC (axis from {low:g} to 1)", chart, _keys(runs, letters)),
        table(header, rows, set(range(1, len(header)))),
    )


def _cost(runs: list[RunView], letters: list[str]) -> str:
    rows, seconds_bars, bytes_bars = [], [], []
    for index, (run, letter) in enumerate(zip(runs, letters, strict=True)):
        trained = [r for r in run.rounds if r.round >= 1]
        timed = [r.seconds for r in trained if r.seconds is not None]
        per_round = sum(timed) / len(timed) if timed else None
        total = as_float(as_dict(run.summary.get("seconds")).get("total"))
        sent = sum(r.bytes_sent or 0 for r in trained)
        received = sum(r.bytes_received or 0 for r in trained)
        label = _short_label(run, letter)
        if per_round is not None:
            seconds_bars.append(
                (
                    label,
                    [
                        Bar(
                            "seconds",
                            per_round,
                            colour(index),
                            text=f"{per_round:.2f} s",
                        )
                    ],
                )
            )
        if trained:
            bytes_bars.append(
                (
                    label,
                    [
                        Bar(
                            "bytes",
                            sent + received,
                            colour(index),
                            text=human_bytes(sent + received),
                        )
                    ],
                )
            )
        rows.append(
            [
                esc(letter),
                human_seconds(total),
                human_seconds(per_round),
                human_bytes(sent),
                human_bytes(received),
            ]
        )
    charts = []
    if seconds_bars:
        top = max(bars[0].value for _, bars in seconds_bars) * 1.05 or 1.0
        chart = bar_groups(
            seconds_bars,
            label="Seconds per round",
            x_range=(0, top),
            width=HALF_WIDTH,
            tick_format=lambda value: f"{value:g} s",
        )
        charts.append(figure("Mean seconds per round", chart))
    if bytes_bars:
        unit, size = byte_unit(max(bars[0].value for _, bars in bytes_bars))
        in_unit = [
            (label, [replace(bar, value=bar.value / size) for bar in bars])
            for label, bars in bytes_bars
        ]
        top = max(bars[0].value for _, bars in in_unit) * 1.05 or 1.0
        chart = bar_groups(
            in_unit,
            label="Bytes exchanged",
            x_range=(0, top),
            width=HALF_WIDTH,
            tick_format=lambda value: f"{value:g} {unit}",
        )
        charts.append(figure("Bytes exchanged in total", chart))
    header = ["Run", "Wall time", "Per round", "Sent", "Received"]
    return section(
        "Cost",
        "Time and traffic of each run, over all its training rounds.",
        f'<div class="two">{"".join(charts)}</div>',
        table(header, rows, {1, 2, 3, 4}),
    )
