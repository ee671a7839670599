"""Bar charts as inline SVG: grouped bars, stacked rows and bars per round.

Built on the shared pieces in `svg`; like every chart here, text is escaped
and tooltips are SVG `<title>` elements.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fedcluster.report.svg import (
    GRID,
    MUTED,
    esc,
    label_width,
    nice_ticks,
    short_name,
    svg_open,
)


@dataclass(frozen=True)
class Bar:
    """One bar of a group: its value, colour, and what is written after it."""

    name: str
    value: float
    colour: str
    note: str = ""
    note_colour: str = MUTED
    text: str = ""  # the value as written; three decimals when empty

    @property
    def shown(self) -> str:
        return self.text or f"{self.value:.3f}"


def bar_groups(
    groups: Sequence[tuple[str, Sequence[Bar]]],
    *,
    label: str,
    x_range: tuple[float, float] = (0.0, 1.0),
    width: int = 640,
    bar_height: int = 16,
    tick_format: Callable[[float], str] = "{:g}".format,
) -> str:
    """Horizontal bars grouped by row name, each bar with its value written."""
    names = [name for name, _ in groups]
    # Room on the right for the value, and for a note where a bar has one.
    has_notes = any(bar.note for _, bars in groups for bar in bars)
    left, right, top = label_width(names), 150 if has_notes else 70, 8
    plot_w = width - left - right
    low, high = x_range
    group_h = [len(bars) * (bar_height + 3) + 14 for _, bars in groups]
    height = top + sum(group_h) + 24

    def px(x: float) -> float:
        clipped = min(max(x, low), high)
        return left + (clipped - low) / (high - low) * plot_w

    parts = [svg_open(width, height, label)]
    ticks = nice_ticks(low, high, count=max(2, min(5, plot_w // 60)))
    for tick in ticks:
        if low <= tick <= high:
            parts.append(
                f'<line x1="{px(tick):.1f}" x2="{px(tick):.1f}" y1="{top}" '
                f'y2="{height - 20}" stroke="{GRID}"/><text x="{px(tick):.1f}" '
                f'y="{height - 6}" text-anchor="middle" fill="{MUTED}">'
                f"{esc(tick_format(tick))}</text>"
            )
    y = top
    for (name, bars), group_height in zip(groups, group_h, strict=True):
        middle = y + (group_height - 14) / 2 + 4
        parts.append(
            f'<text x="{left - 8}" y="{middle:.1f}" text-anchor="end" '
            f'font-weight="600"><title>{esc(name)}</title>{esc(short_name(name))}'
            "</text>"
        )
        for bar in bars:
            end = px(bar.value)
            parts.append(
                f'<g class="bar"><title>{esc(name)}, {esc(bar.name)}: '
                f"{esc(bar.shown)}</title>"
                f'<rect x="{left}" y="{y}" width="{max(end - left, 1):.1f}" '
                f'height="{bar_height}" fill="{bar.colour}" rx="2"/>'
                f'<text x="{end + 5:.1f}" y="{y + bar_height - 4}">'
                f"{esc(bar.shown)}"
            )
            if bar.note:
                parts.append(
                    f'<tspan dx="6" fill="{bar.note_colour}" font-weight="700">'
                    f"{esc(bar.note)}</tspan>"
                )
            parts.append("</text></g>")
            y += bar_height + 3
        y += 14
    parts.append("</svg>")
    return "".join(parts)


def stacked_rows(
    rows: Sequence[tuple[str, Sequence[tuple[str, float, str]]]],
    *,
    label: str,
    width: int = 640,
    unit: str = "",
) -> str:
    """One horizontal bar per row, split into (part name, amount, colour)."""
    names = [name for name, _ in rows]
    left, right, top, row_h = label_width(names), 70, 6, 26
    plot_w = width - left - right
    largest = max((sum(a for _, a, _ in parts) for _, parts in rows), default=1)
    scale = plot_w / largest if largest > 0 else 0.0
    height = top + row_h * len(rows) + 6

    parts_svg = [svg_open(width, height, label)]
    for index, (name, segments) in enumerate(rows):
        y = top + index * row_h
        parts_svg.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" '
            f'font-weight="600"><title>{esc(name)}</title>{esc(short_name(name))}'
            "</text>"
        )
        x = float(left)
        for part, amount, fill in segments:
            w = amount * scale
            parts_svg.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{max(w, 0):.1f}" '
                f'height="{row_h - 8}" fill="{fill}"><title>{esc(name)}, '
                f"{esc(part)}: {amount:g}{esc(unit)}</title></rect>"
            )
            if w > 34:
                parts_svg.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + 15}" text-anchor="middle" '
                    f'fill="#fff">{amount:g}</text>'
                )
            x += w
        total = sum(a for _, a, _ in segments)
        parts_svg.append(
            f'<text x="{x + 6:.1f}" y="{y + 15}" fill="{MUTED}">{total:g}'
            f"{esc(unit)}</text>"
        )
    parts_svg.append("</svg>")
    return "".join(parts_svg)


def round_columns(
    rounds: Sequence[int],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    label: str,
    format_value: Callable[[float], str] = "{:g}".format,
    width: int = 640,
    height: int = 220,
) -> str:
    """Side-by-side vertical bars per round; `series` is (name, colour, values)."""
    left, right, top, bottom = 62, 10, 10, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    largest = max((v for _, _, values in series for v in values), default=0.0)
    ticks = nice_ticks(0.0, largest if largest > 0 else 1.0, count=4)
    high = ticks[-1]
    slot = plot_w / max(len(rounds), 1)
    bar_w = max(slot * 0.8 / max(len(series), 1), 1.0)

    def py(v: float) -> float:
        return top + (1 - v / high) * plot_h

    parts = [svg_open(width, height, label)]
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{py(tick):.1f}" '
            f'y2="{py(tick):.1f}" stroke="{GRID}"/><text x="{left - 6}" '
            f'y="{py(tick) + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{esc(format_value(tick))}</text>"
        )
    step = max(1, math.ceil(len(rounds) / 12))
    for index, round_number in enumerate(rounds):
        x0 = left + index * slot + slot * 0.1
        if index % step == 0:
            parts.append(
                f'<text x="{left + (index + 0.5) * slot:.1f}" '
                f'y="{height - bottom + 16}" text-anchor="middle" '
                f'fill="{MUTED}">{round_number}</text>'
            )
        for offset, (name, fill, values) in enumerate(series):
            value = values[index]
            parts.append(
                f'<rect x="{x0 + offset * bar_w:.1f}" y="{py(value):.1f}" '
                f'width="{bar_w:.1f}" height="{max(py(0) - py(value), 0):.1f}" '
                f'fill="{fill}"><title>round {round_number}, {esc(name)}: '
                f"{esc(format_value(value))}</title></rect>"
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" '
        f'fill="{MUTED}">round</text></svg>'
    )
    return "".join(parts)
