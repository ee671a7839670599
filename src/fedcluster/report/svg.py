"""Charts drawn as inline SVG text, so a report needs no script and no network.

This module holds what every chart shares (escaping, colours, ticks) and the
line chart and grid; `bars` holds the bar charts. Each chart function takes
plain numbers and names and returns one `<svg>` element (class `chart`) that
shrinks to the width of its container. Every piece of text
that reaches the markup goes through `esc`, because hospital names are typed
by users. Hover tooltips are SVG `<title>` elements, which browsers show
without any script.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

# Colours that stay distinct for most colour-blind readers (Tableau 10).
# Red and green come last: the report keeps them for losses and gains.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#76b7b2",
    "#b07aa1",
    "#edc948",
    "#9c755f",
    "#ff9da7",
    "#bab0ac",
    "#e15759",
    "#59a14f",
)
POOLED_COLOUR = "#1f2328"
GAIN_COLOUR = "#1a7f37"
LOSS_COLOUR = "#c62828"
MUTED = "#6e7781"
GRID = "#d0d7de"
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def esc(text: object) -> str:
    """Text made safe for HTML and SVG content and attribute values."""
    return html.escape(str(text), quote=True)


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def signed(value: float, digits: int = 3) -> str:
    """A gain with its sign always written (+0.094, -0.040); zero has none."""
    if round(value, digits) == 0:
        return f"{0:.{digits}f}"
    return f"{value:+.{digits}f}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high], steps of 1, 2 or 5 x 10^k."""
    if high <= low:
        high = low + 1.0
    raw_step = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{esc(label)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {FONT}>'
    )


def short_name(name: str, limit: int = 22) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def label_width(names: Sequence[str]) -> int:
    # Bold 12 px labels run about 8 px a character in common system fonts.
    longest = max((len(short_name(n)) for n in names), default=4)
    return min(200, 16 + 8 * longest)


@dataclass(frozen=True)
class Series:
    """One line on a line chart; `None` values leave a gap."""

    name: str
    colour: str
    values: dict[int, float]
    bold: bool = False


def line_chart(
    series: Sequence[Series],
    *,
    label: str,
    y_name: str,
    y_range: tuple[float, float] | None = None,
    width: int = 640,
    height: int = 300,
) -> str:
    """Lines of a metric over rounds, one per series, with axes and ticks."""
    left, right, top, bottom = 52, 16, 12, 40
    xs = sorted({x for s in series for x in s.values}) or [0, 1]
    ys = [y for s in series for y in s.values.values()] or [0.0, 1.0]
    low, high = y_range if y_range else (min(ys), max(ys))
    if high - low < 1e-9:  # one value only: give it some room
        low, high = low - 0.05 * (abs(low) or 1), high + 0.05 * (abs(high) or 1)
    y_ticks = nice_ticks(low, high)
    y_low, y_high = y_ticks[0], y_ticks[-1]
    x_low, x_high = xs[0], max(xs[-1], xs[0] + 1)
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x_low) / (x_high - x_low) * plot_w

    def py(y: float) -> float:
        return top + (1 - (y - y_low) / (y_high - y_low)) * plot_h

    parts = [svg_open(width, height, label)]
    for tick in y_ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{py(tick):.1f}" '
            f'y2="{py(tick):.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{py(tick) + 4:.1f}" text-anchor="end" '
            f'fill="{MUTED}">{tick:g}</text>'
        )
    for tick in _round_ticks(x_low, x_high):
        parts.append(
            f'<text x="{px(tick):.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle" fill="{MUTED}">{tick}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
        f'fill="{MUTED}">round</text>'
        f'<text transform="translate(13 {top + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" fill="{MUTED}">{esc(y_name)}</text>'
    )

    # Thin lines first so the bold pooled line is drawn on top of them.
    for line in sorted(series, key=lambda s: s.bold):
        points = sorted(line.values.items())
        stroke = 3.0 if line.bold else 1.8
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{px(x):.1f},{py(y):.1f}"
            for i, (x, y) in enumerate(points)
        )
        parts.append(
            f'<g class="series"><title>{esc(line.name)}</title>'
            f'<path d="{path}" fill="none" stroke="{line.colour}" '
            f'stroke-width="{stroke}" stroke-linejoin="round"/>'
        )
        for x, y in points:
            parts.append(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="{stroke}" '
                f'fill="{line.colour}"><title>{esc(line.name)}, round {x}: '
                f"{esc(y_name)} {y:.3f}</title></circle>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _round_ticks(first: int, last: int) -> list[int]:
    step = max(1, math.ceil((last - first) / 10))
    return list(range(first, last + 1, step))


@dataclass(frozen=True)
class Cell:
    """One square of a grid: its fill and the tooltip that explains it."""

    fill: str
    tooltip: str
    mark: str = ""


def grid(
    row_names: Sequence[str],
    column_names: Sequence[int],
    cells: dict[tuple[str, int], Cell],
    *,
    label: str,
    empty: Cell,
    width: int = 640,
) -> str:
    """Rows by columns of coloured squares, for who took part in which round."""
    left, right, top = label_width(row_names), 8, 22
    count = max(len(column_names), 1)
    size = min(26.0, (width - left - right) / count)
    row_h = max(size, 18.0)
    height = int(top + row_h * len(row_names) + 8)
    step = max(1, math.ceil(18 / size))

    # Every `step`-th column is named, and the last one too: in place of the
    # previous name when the two would overlap.
    named = list(range(0, count, step))
    if named[-1] != count - 1:
        if (count - 1 - named[-1]) * size >= 18:
            named.append(count - 1)
        else:
            named[-1] = count - 1

    parts = [svg_open(width, height, label)]
    for column, name in enumerate(column_names):
        if column in named:
            x = left + (column + 0.5) * size
            parts.append(
                f'<text x="{x:.1f}" y="{top - 8}" text-anchor="middle" '
                f'fill="{MUTED}">{name}</text>'
            )
    for row, row_name in enumerate(row_names):
        y = top + row * row_h
        parts.append(
            f'<text x="{left - 8}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" '
            f'font-weight="600"><title>{esc(row_name)}</title>'
            f"{esc(short_name(row_name))}</text>"
        )
        for column, column_name in enumerate(column_names):
            cell = cells.get((row_name, column_name), empty)
            x = left + column * size
            parts.append(
                f'<g class="cell"><title>{esc(cell.tooltip)}</title>'
                f'<rect x="{x + 1:.1f}" y="{y + 1:.1f}" width="{size - 2:.1f}" '
                f'height="{row_h - 2:.1f}" fill="{cell.fill}" rx="2"/>'
            )
            if cell.mark and size >= 12:
                parts.append(
                    f'<text x="{x + size / 2:.1f}" y="{y + row_h / 2 + 4:.1f}" '
                    f'text-anchor="middle" fill="#fff" font-weight="700">'
                    f"{esc(cell.mark)}</text>"
                )
            parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
