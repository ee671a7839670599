"""The report's participation section: who took part each round, and the cost.

A grid shows, per round, which hospitals' updates were aggregated and which
were asked but did not answer (with their reason on hover and in a table).
Two bar charts show the seconds each round took and the bytes that crossed the
network, and a table sums the traffic per hospital.
"""

from __future__ import annotations

from fedcluster.report.bars import round_columns
from fedcluster.report.page import (
    FULL_WIDTH,
    HALF_WIDTH,
    byte_unit,
    figure,
    human_bytes,
    legend,
    section,
    table,
)
from fedcluster.report.run_view import RoundRecord, RunView
from fedcluster.report.svg import (
    GAIN_COLOUR,
    LOSS_COLOUR,
    Cell,
    esc,
    grid,
)

NOT_ASKED = "#e5e9ee"
OFFLINE_COLOUR = "#9aa5b1"
SENT_COLOUR = "#4e79a7"
RECEIVED_COLOUR = "#f28e2b"
SECONDS_COLOUR = "#76b7b2"


def participation_section(run: RunView) -> str:
    """Contributors grid, seconds and bytes per round, traffic per hospital."""
    trained = [record for record in run.rounds if record.round >= 1]
    lead = (
        "Which hospitals' updates were aggregated in each round, how long each "
        "round took and how many bytes crossed the network."
    )
    if not trained:
        return section(
            "Participation and traffic",
            lead,
            '<p class="muted">No training round was recorded.</p>',
        )
    blocks = [
        figure(
            "Contributors per round",
            _contributors_grid(run.hospitals, trained),
            legend(
                [
                    ("update aggregated", GAIN_COLOUR),
                    ("asked, no update (hover for why)", LOSS_COLOUR),
                    ("not online, so not asked", OFFLINE_COLOUR),
                    ("not asked or not recorded", NOT_ASKED),
                ]
            ),
        )
    ]
    cost = [_seconds_chart(trained), _bytes_chart(trained)]
    blocks.append(f'<div class="two">{"".join(c for c in cost if c)}</div>')
    blocks.append(_hospital_table(run.hospitals, trained))
    blocks.append(_failure_table(trained))
    return section("Participation and traffic", lead, *blocks)


def _contributors_grid(hospitals: list[str], rounds: list[RoundRecord]) -> str:
    cells: dict[tuple[str, int], Cell] = {}
    for record in rounds:
        for name in record.contributors:
            cells[name, record.round] = Cell(
                GAIN_COLOUR, f"{name}, round {record.round}: update aggregated"
            )
        for name, reason in record.failures.items():
            cells[name, record.round] = Cell(
                LOSS_COLOUR, f"{name}, round {record.round}: {reason}", "!"
            )
        for name in record.offline:
            cells[name, record.round] = Cell(
                OFFLINE_COLOUR,
                f"{name}, round {record.round}: not online when the round began",
                "–",
            )
    return grid(
        hospitals,
        [record.round for record in rounds],
        cells,
        label="Contributors per round",
        width=FULL_WIDTH,
        empty=Cell(NOT_ASKED, "not asked or not recorded"),
    )


def _seconds_chart(rounds: list[RoundRecord]) -> str:
    timed = [r for r in rounds if r.seconds is not None]
    if not timed:
        return ""
    chart = round_columns(
        [r.round for r in timed],
        [("seconds", SECONDS_COLOUR, [r.seconds or 0.0 for r in timed])],
        label="Seconds per round",
        format_value=lambda value: f"{value:g} s",
        width=HALF_WIDTH,
    )
    return figure("Seconds per round", chart)


def _bytes_chart(rounds: list[RoundRecord]) -> str:
    counted = [
        r for r in rounds if r.bytes_sent is not None or r.bytes_received is not None
    ]
    if not counted:
        return ""
    # Ticks fall on round numbers of one unit (10 KB, 20 KB), not of bytes.
    largest = max(max(r.bytes_sent or 0, r.bytes_received or 0) for r in counted)
    unit, size = byte_unit(largest)
    chart = round_columns(
        [r.round for r in counted],
        [
            (
                "sent to hospitals",
                SENT_COLOUR,
                [(r.bytes_sent or 0) / size for r in counted],
            ),
            (
                "received from hospitals",
                RECEIVED_COLOUR,
                [(r.bytes_received or 0) / size for r in counted],
            ),
        ],
        label="Bytes per round",
        format_value=lambda value: f"{value:g} {unit}",
        width=HALF_WIDTH,
    )
    keys = legend(
        [
            ("sent to hospitals", SENT_COLOUR),
            ("received from hospitals", RECEIVED_COLOUR),
        ]
    )
    return figure("Bytes exchanged per round", chart, keys)


def _hospital_table(hospitals: list[str], rounds: list[RoundRecord]) -> str:
    rows = []
    for name in hospitals:
        sent = sum(r.bytes_by_hospital.get(name, {}).get("sent", 0) for r in rounds)
        received = sum(
            r.bytes_by_hospital.get(name, {}).get("received", 0) for r in rounds
        )
        joined = sum(name in r.contributors for r in rounds)
        missed = sum(name in r.failures or name in r.offline for r in rounds)
        rows.append(
            [
                esc(name),
                f"{joined} of {len(rounds)}",
                str(missed),
                human_bytes(sent),
                human_bytes(received),
            ]
        )
    total_sent = sum(r.bytes_sent or 0 for r in rounds)
    total_received = sum(r.bytes_received or 0 for r in rounds)
    rows.append(
        [
            "<strong>all hospitals</strong>",
            "",
            str(sum(len(r.failures) + len(r.offline) for r in rounds)),
            f"<strong>{human_bytes(total_sent)}</strong>",
            f"<strong>{human_bytes(total_received)}</strong>",
        ]
    )
    header = ["Hospital", "Rounds contributed", "Rounds missed", "Sent", "Received"]
    return table(header, rows, {1, 2, 3, 4})


def _failure_table(rounds: list[RoundRecord]) -> str:
    rows = [
        [str(record.round), esc(name), esc(reason)]
        for record in rounds
        for name, reason in [
            *record.failures.items(),
            *((name, "not online when the round began") for name in record.offline),
        ]
    ]
    if not rows:
        return '<p class="muted">Every hospital that was asked answered.</p>'
    return "<h3>Hospitals that did not contribute</h3>" + table(
        ["Round", "Hospital", "Reason"], rows, {0}
    )
