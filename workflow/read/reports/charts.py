"""Charts as inline SVG: drawn by the report itself, so the HTML opens anywhere with no network and no script.

Each chart keeps its own colours (tests find every chart painted on a screenshot by them). Geometry only; the
labels come worded and the values formatted from the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

# chart key -> the colours of its series, in order
PALETTES: dict[str, tuple[str, ...]] = {
    "compliance_over_time": ("#1f77b4", "#ff7f0e"),
    "backlog_ageing": ("#c7e9c0", "#a1d99b", "#74c476", "#fdae6b", "#fd8d3c", "#d94801"),
    "score_distribution": ("#6a51a3",),
    "spend_by_kind": ("#17becf",),
}
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 260, 64, 40, 16


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float | None]


def svg(key: str, kind: str, x_labels: list[str], series: list[Series], y_label: Any, title: str,
        top: float | None = None) -> Markup:
    """One chart: bars (one series), stacked bars, or lines; `y_label(value)` words an axis value; the axis
    runs to `top` (default: the largest value)."""
    colours = PALETTES[key]
    top = max(top or _top(kind, series) or 0.0, 1e-9)
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(x_labels), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT + 28}" role="img" '
             f'class="chart" data-chart="{key}" aria-label="{escape(title)}">']
    for tick in (0.0, 0.5, 1.0):  # gridlines at 0, half and the top
        y = TOP + plot_h * (1 - tick)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(y_label(top * tick))}</text>')

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    if kind == "line":
        for colour, line in zip(colours, series, strict=False):
            points = [(LEFT + step * (i + 0.5), y_of(v)) for i, v in enumerate(line.values) if v is not None]
            if points:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="3" points="'
                             + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
                parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>' for x, y in points]
    else:
        bar = step * (0.7 if kind == "stacked" or len(series) == 1 else 0.7 / len(series))
        for i in range(len(x_labels)):
            base = 0.0
            for colour, one in zip(colours, series, strict=False):
                value = one.values[i] or 0.0
                if value > 0:
                    y = y_of(base + value)
                    height = y_of(base) - y
                    parts.append(f'<rect x="{LEFT + step * i + (step - bar) / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                                 f'height="{height:.1f}" fill="{colour}"><title>{escape(x_labels[i])}: '
                                 f'{escape(one.label)}</title></rect>')
                base += value if kind == "stacked" else 0.0
    every = max(1, len(x_labels) // 8)  # at most about eight labels along the bottom
    for i, text in enumerate(x_labels):
        if i % every == 0 or i == len(x_labels) - 1:
            parts.append(f'<text x="{LEFT + step * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(text)}</text>')
    x = LEFT
    for colour, one in zip(colours, series, strict=False):  # the legend
        parts.append(f'<rect x="{x}" y="{HEIGHT + 6}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="{HEIGHT + 16}">{escape(one.label)}</text>')
        x += 28 + 8 * len(one.label)
    parts.append("</svg>")
    return Markup("".join(parts))


def _top(kind: str, series: list[Series]) -> float | None:
    if kind == "stacked":
        sums = [sum(v or 0.0 for v in column) for column in zip(*(s.values for s in series), strict=True)]
        return max(sums, default=None)
    values = [v for s in series for v in s.values if v is not None]
    return max(values, default=None)
