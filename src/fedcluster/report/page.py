"""The frame every report page shares: markup shell, styles and small blocks.

A page is one HTML file with its styles inline and no script. Its
Content-Security-Policy forbids every fetch, so even a mistake in a later
change cannot make a report load something from the network when a hospital's
board opens it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from fedcluster.report.svg import (
    GAIN_COLOUR,
    LOSS_COLOUR,
    MUTED,
    Series,
    esc,
    signed,
)

# Chart widths in CSS pixels: the text inside a chart keeps its size when the
# chart is drawn at the width of the column it sits in.
FULL_WIDTH = 980
HALF_WIDTH = 480

# Nothing may be fetched; only inline styles and data: images are allowed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'none'; base-uri 'none'"
)

STYLE = """
:root { color-scheme: light; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f8fa; color: #1f2328;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 20px 40px; }
header h1 { font-size: 22px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 0 0 4px; }
h3 { font-size: 14px; margin: 16px 0 6px; }
p.lead, .muted { color: var(--muted); margin: 0 0 12px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 18px 20px; margin: 16px 0; }
.two { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr));
  gap: 8px 28px; }
.chart { display: block; max-width: 100%; height: auto; }
figure { margin: 0 0 8px; }
figcaption { font-weight: 600; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { text-align: left; padding: 4px 10px 4px 0; vertical-align: top;
  border-bottom: 1px solid #eaeef2; overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; overflow-wrap: normal; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; overflow-wrap: normal; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr));
  gap: 10px 18px; margin: 0 0 12px; }
dl.facts div { border-left: 3px solid var(--line); padding-left: 8px; }
dl.facts dt { color: var(--muted); font-size: 12px; }
dl.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.badge { display: inline-block; border-radius: 10px; padding: 1px 9px;
  font-size: 12px; font-weight: 700; color: #fff; background: #6e7781; }
.badge.completed, .badge.on { background: #1a7f37; }
.badge.failed, .badge.off { background: #c62828; }
.badge.running { background: #9a6700; }
.alert { border: 1px solid #c62828; background: #fff5f5; border-radius: 8px;
  padding: 10px 14px; margin: 12px 0; }
.alert pre { white-space: pre-wrap; margin: 6px 0 0; font-size: 13px; }
.note { border: 1px solid #d4a72c; background: #fff8c5; border-radius: 8px;
  padding: 8px 14px; margin: 12px 0; }
.gain { color: #1a7f37; font-weight: 700; }
.loss { color: #c62828; font-weight: 700; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 2px 0 10px;
  padding: 0; list-style: none; font-size: 13px; }
.legend span.key { display: inline-block; width: 12px; height: 12px;
  border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
footer { color: var(--muted); font-size: 12px; text-align: center; }
"""


def document(title: str, body: str) -> str:
    """A whole HTML document around `body` (already escaped markup)."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" '
        f'content="{CONTENT_SECURITY_POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style></head>\n"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )


def section(title: str, lead: str, *blocks: str) -> str:
    return (
        f"<section><h2>{esc(title)}</h2>"
        + (f'<p class="lead">{esc(lead)}</p>' if lead else "")
        + "".join(blocks)
        + "</section>\n"
    )


def figure(caption: str, chart: str, legend_html: str = "") -> str:
    return (
        f"<figure><figcaption>{esc(caption)}</figcaption>{legend_html}{chart}</figure>"
    )


def legend(items: Iterable[tuple[str, str]]) -> str:
    """A row of colour keys; `items` are (name, colour)."""
    keys = "".join(
        f'<li><span class="key" style="background:{esc(fill)}"></span>{esc(name)}</li>'
        for name, fill in items
    )
    return f'<ul class="legend">{keys}</ul>'


def facts(pairs: Iterable[tuple[str, object]]) -> str:
    """Short labelled values shown as a grid of tiles."""
    tiles = "".join(
        f"<div><dt>{esc(name)}</dt><dd>{esc(value)}</dd></div>" for name, value in pairs
    )
    return f'<dl class="facts">{tiles}</dl>'


def table(
    header: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]
) -> str:
    """A table whose cells are already markup; columns in `numeric` align right."""

    def cls(index: int) -> str:
        return ' class="num"' if index in numeric else ""

    head = "".join(f"<th{cls(i)}>{esc(name)}</th>" for i, name in enumerate(header))
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls(i)}>{cell}</td>" for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def badge(text: str, kind: str) -> str:
    return f'<span class="badge {esc(kind)}">{esc(text)}</span>'


def gain_markup(gain: float | None, digits: int = 3) -> str:
    """A gain in green with a plus sign, or a loss in red with a minus sign."""
    if gain is None:
        return '<span class="muted">n/a</span>'
    if round(gain, digits) == 0:
        return signed(gain, digits)
    kind = "loss" if gain < 0 else "gain"
    return f'<span class="{kind}">{signed(gain, digits)}</span>'


def gain_note(gain: float | None) -> tuple[str, str]:
    """What a federated bar says about its gain over local, and in which colour."""
    if gain is None:
        return "", MUTED
    if round(gain, 3) == 0:
        return "same as local", MUTED
    return f"{signed(gain)} vs local", LOSS_COLOUR if gain < 0 else GAIN_COLOUR


def number(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def auc_axis_start(values: Iterable[float]) -> float:
    """Where an AUC axis starts: chance (0.5), or lower if a value is below it."""
    lowest = min(values, default=0.5)
    return min(0.5, math.floor(lowest * 10) / 10)


BYTE_UNITS = (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024), ("B", 1))


def byte_unit(largest: float) -> tuple[str, int]:
    """The unit to draw byte counts in, so ticks read 10 KB, 20 KB, not 10240."""
    return next((u, s) for u, s in BYTE_UNITS if largest >= s or u == "B")


def auc_range(series: Iterable[Series]) -> tuple[float, float]:
    """The AUC axis of a line chart: from chance (or lower) to a perfect 1."""
    return auc_axis_start(v for s in series for v in s.values.values()), 1.0


def human_bytes(amount: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(amount) < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GB"


def human_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes:.0f} min {rest:.0f} s"
