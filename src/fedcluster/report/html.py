"""The report of one run: `runs/<id>/report.html`, one file that needs no network.

It answers, in pictures, what a data scientist is asked after a run: who took
part and with how many patients, whether federation helped each hospital (and
which it hurt), how the global model converged, what crossed the network each
round, and which protections were on. A failed or unfinished run gets the same
page with whatever its folder holds and the error in red at the top.

`write_report` is what every run calls when it ends, and what
`fedcluster report RUN_ID` calls on an existing folder.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import fedcluster
from fedcluster.report import traffic
from fedcluster.report.bars import Bar, bar_groups, stacked_rows
from fedcluster.report.page import (
    FULL_WIDTH,
    HALF_WIDTH,
    auc_axis_start,
    auc_range,
    badge,
    document,
    facts,
    figure,
    gain_markup,
    gain_note,
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
    as_int,
    read_run,
)
from fedcluster.report.svg import (
    POOLED_COLOUR,
    Series,
    colour,
    esc,
    line_chart,
)

logger = logging.getLogger(__name__)

REPORT_NAME = "report.html"
LOCAL_COLOUR = "#9aa5b1"
FEDERATED_COLOUR = "#2f6db5"
CENTRALIZED_COLOUR = "#8a63b8"
POSITIVE_COLOUR = "#e0913a"
NEGATIVE_COLOUR = "#5b7fa6"


def write_report(run_dir: Path) -> Path:
    """Write `run_dir/report.html` from the folder's files; return its path."""
    run = read_run(run_dir)
    path = run_dir / REPORT_NAME

    # Write beside the target and rename, so a reader never sees half a page.
    partial = path.with_name(f".{REPORT_NAME}.partial")
    partial.write_text(render_report(run), encoding="utf-8")
    os.replace(partial, path)
    logger.info("report of run %s written to %s", run.run_id, path)
    return path


def render_report(run: RunView) -> str:
    """The whole page for one run, as HTML text."""
    body = [
        _header(run),
        _at_a_glance(run),
        _outcome(run),
        _curves(run),
        traffic.participation_section(run),
        _security(run),
        _footer(run),
    ]
    return document(f"fedcluster run {run.run_id}", "".join(body))


def _header(run: RunView) -> str:
    summary = run.summary
    when = " → ".join(
        _moment(summary[key])
        for key in ("started_at", "finished_at")
        if summary.get(key)
    )
    parts = [
        f"<header><h1>Run {esc(run.run_id)} {badge(run.status, run.status)}</h1>",
        f'<p class="muted">{esc(when)}</p>' if when else "",
    ]
    if run.status == "failed" or run.error:
        error = run.error or "the run recorded no reason"
        parts.append(
            '<div class="alert"><strong>This run failed.</strong> The page shows '
            "what it recorded before it stopped."
            f"<pre>{esc(error)}</pre></div>"
        )
    if run.problems:
        items = "".join(f"<li>{esc(problem)}</li>" for problem in run.problems)
        parts.append(f'<div class="note"><ul>{items}</ul></div>')
    parts.append("</header>")
    return "".join(parts)


def _moment(value: object) -> str:
    """An ISO time as `2026-12-03 16:40:00 UTC`; anything else unchanged."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _at_a_glance(run: RunView) -> str:
    summary = run.summary
    strategy = str(summary.get("strategy") or "n/a")
    params = as_dict(summary.get("strategy_params"))
    if params:
        strategy += " (" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"
    planned = run.planned_rounds
    rounds = f"{run.trained_rounds}" + (f" of {planned}" if planned else "")
    seconds = as_dict(summary.get("seconds"))
    tiles = facts(
        [
            ("Federation", _value(run, "federation")),
            ("Hospitals", len(run.hospitals)),
            ("Runtime", _value(run, "runtime")),
            ("Task and model", f"{_value(run, 'task')} / {_value(run, 'model')}"),
            ("Strategy", strategy),
            ("Rounds trained", rounds),
            ("Local epochs", _value(run, "local_epochs")),
            ("Minimum hospitals", _value(run, "min_hospitals")),
            ("Seed", _value(run, "seed")),
            ("Wall time", human_seconds(as_float(seconds.get("total")))),
            ("Per round", human_seconds(as_float(seconds.get("per_round")))),
        ]
    )
    versions = as_dict(summary.get("versions"))
    version_line = (
        '<p class="muted">Versions: '
        + esc(", ".join(f"{k} {v}" for k, v in versions.items()))
        + "</p>"
        if versions
        else ""
    )
    return section(
        "The federation at a glance",
        "Counts are aggregates each hospital reported; no patient row left a site.",
        tiles,
        _hospitals_block(run),
        version_line,
    )


def _value(run: RunView, key: str) -> object:
    value = run.summary.get(key)
    return "n/a" if value is None or value == "" else value


def _hospitals_block(run: RunView) -> str:
    """Patients per hospital as a table and as bars split by label."""
    hospitals = as_dict(run.summary.get("hospitals"))
    rows, balance = [], []
    for name in run.hospitals:
        info = as_dict(hospitals.get(name))
        patients = as_int(info.get("rows"))
        rate = as_float(info.get("positive_rate"))
        excluded = info.get("excluded")
        shown = esc(name)
        if excluded:
            shown += f' <span class="loss">excluded: {esc(excluded)}</span>'
        rows.append(
            [
                shown,
                _count(patients),
                _count(as_int(info.get("train"))),
                _count(as_int(info.get("test"))),
                "n/a" if rate is None else f"{rate:.0%}",
            ]
        )
        if patients is not None and rate is not None:
            positive = round(patients * rate)
            balance.append(
                (
                    name,
                    [
                        ("label 1 (positive)", positive, POSITIVE_COLOUR),
                        ("label 0 (negative)", patients - positive, NEGATIVE_COLOUR),
                    ],
                )
            )
    hospital_table = table(
        ["Hospital", "Patients", "Train", "Test", "Positive"], rows, {1, 2, 3, 4}
    )
    balance_chart = (
        figure(
            "Patients per hospital and label balance",
            stacked_rows(
                balance, label="Patients per hospital by label", width=HALF_WIDTH
            ),
            legend(
                [
                    ("label 1 (positive)", POSITIVE_COLOUR),
                    ("label 0 (negative)", NEGATIVE_COLOUR),
                ]
            ),
        )
        if balance
        else ""
    )
    return (
        f'<div class="two"><div>{hospital_table}</div><div>{balance_chart}</div></div>'
    )


def _count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _outcome(run: RunView) -> str:
    results = as_dict(run.summary.get("results"))
    lead = (
        "AUC of the model each hospital could train alone against the federated "
        "global model, on that hospital's own test set. The gain written on each "
        "federated bar is federated minus local; a red, negative gain means the "
        "hospital lost from federation."
    )
    if not results:
        return section(
            "What federation bought each hospital",
            lead,
            '<p class="muted">No final results were recorded: the run did not '
            "reach its final evaluation.</p>",
        )
    names = [n for n in run.hospitals if n in results]
    names += [POOLED] if POOLED in results else []
    has_centralized = any("centralized" in as_dict(results[n]) for n in names)

    groups, rows, values = [], [], []
    for name in names:
        result = as_dict(results[name])
        local = as_float(as_dict(result.get("local")).get("auc"))
        federated = as_float(as_dict(result.get("federated")).get("auc"))
        centralized = as_float(as_dict(result.get("centralized")).get("auc"))
        gain = as_dict(result.get("gain"))
        auc_gain = as_float(gain.get("auc"))
        if auc_gain is None and local is not None and federated is not None:
            auc_gain = federated - local
        shown = "all hospitals pooled" if name == POOLED else name

        bars = []
        if local is not None:
            bars.append(Bar("local only", local, LOCAL_COLOUR))
        if federated is not None:
            note, note_colour = gain_note(auc_gain)
            bars.append(
                Bar("federated", federated, FEDERATED_COLOUR, note, note_colour)
            )
        if centralized is not None:
            bars.append(Bar("centralized", centralized, CENTRALIZED_COLOUR))
        groups.append((shown, bars))
        values += [bar.value for bar in bars]

        row = [esc(shown), number(local), number(federated)]
        row += [number(centralized)] if has_centralized else []
        row += [
            gain_markup(auc_gain),
            number(as_float(as_dict(result.get("local")).get("accuracy"))),
            number(as_float(as_dict(result.get("federated")).get("accuracy"))),
            gain_markup(as_float(gain.get("accuracy"))),
        ]
        rows.append(row)

    low = auc_axis_start(values)
    keys = [("local only", LOCAL_COLOUR), ("federated", FEDERATED_COLOUR)]
    keys += [("centralized (all rows pooled)", CENTRALIZED_COLOUR)] * has_centralized
    header = ["Hospital", "Local AUC", "Federated AUC"]
    header += ["Centralized AUC"] if has_centralized else []
    header += ["AUC gain", "Local acc.", "Federated acc.", "Acc. gain"]
    chart = bar_groups(
        groups,
        label="AUC per hospital, local against federated",
        x_range=(low, 1.0),
        width=FULL_WIDTH,
    )
    return section(
        "What federation bought each hospital",
        lead,
        figure(f"Test AUC per hospital (axis from {low:g} to 1)", chart, legend(keys)),
        table(header, rows, set(range(1, len(header)))),
    )


def _curves(run: RunView) -> str:
    lead = (
        "The global model after each round, evaluated on each hospital's test "
        "set and on all test sets pooled (bold). Round 0 is the untrained model."
    )
    if not run.rounds:
        return section("Training curves", lead, '<p class="muted">No rounds.</p>')
    names = run.hospitals
    charts = []
    for metric, shown, caption in (
        ("auc", "AUC", "AUC per round"),
        ("loss", "loss", "Loss per round"),
    ):
        series = [
            Series(
                name,
                colour(index),
                {
                    r.round: r.hospitals[name][metric]
                    for r in run.rounds
                    if metric in r.hospitals.get(name, {})
                },
            )
            for index, name in enumerate(names)
        ]
        series.append(
            Series(
                "pooled",
                POOLED_COLOUR,
                {r.round: r.pooled[metric] for r in run.rounds if metric in r.pooled},
                bold=True,
            )
        )
        series = [s for s in series if s.values]
        if series:
            chart = line_chart(
                series,
                label=caption,
                y_name=shown,
                y_range=auc_range(series) if metric == "auc" else None,
                width=HALF_WIDTH,
            )
            charts.append(figure(caption, chart))
    keys = [(name, colour(i)) for i, name in enumerate(names)]
    keys.append(("pooled", POOLED_COLOUR))
    return section(
        "Training curves",
        lead,
        legend(keys),
        f'<div class="two">{"".join(charts)}</div>',
    )


SECURITY_MEANING = {
    "tls": "Traffic between the server and each hospital is encrypted.",
    "node_authentication": "Only hospitals whose key was registered may join.",
}


def _security(run: RunView) -> str:
    security = as_dict(run.summary.get("security"))
    if not security:
        return section(
            "Privacy and security",
            "",
            '<p class="muted">This run recorded no security settings.</p>',
        )
    rows = [
        [_setting_name(key), _setting_value(value), esc(SECURITY_MEANING.get(key, ""))]
        for key, value in security.items()
    ]
    return section(
        "Privacy and security",
        "The protections in force during this run, as the run recorded them.",
        table(["Setting", "Value", "What it means"], rows, set()),
    )


def _setting_name(key: str) -> str:
    special = {"tls": "TLS"}
    return esc(special.get(key, key.replace("_", " ").capitalize()))


def _setting_value(value: object) -> str:
    if isinstance(value, bool):
        return badge("on", "on") if value else badge("off", "off")
    if isinstance(value, dict):
        return "<br>".join(f"{esc(k)}: {_setting_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return esc(", ".join(str(item) for item in value))
    return "n/a" if value is None else esc(value)


def _footer(run: RunView) -> str:
    written = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<footer>Written by fedcluster {esc(fedcluster.__version__)} on "
        f"{esc(written)} from {esc(run.run_dir.name)}/. "
        "This page loads nothing from the network.</footer>"
    )
