"""Small SVG charts, drawn on the server (no script, no network): stacked bars and a
line, each with a title for screen readers and the numbers in a table next to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#3b6ea5", "#c8553d", "#5b8c5a", "#8e6c8a", "#d9a441", "#4f9d9d", "#7a7a7a")


def stacked_bars(title: str, columns: Sequence[str], series: Mapping[str, Sequence[float]], *,
                 width: int = 640, height: int = 200) -> str:
    """One bar per column, stacked by series (e.g. memories per month by kind)."""
    if not columns:
        return f'<p class="muted">{escape(title)}: nothing yet.</p>'
    totals = [sum(s[i] for s in series.values()) for i in range(len(columns))]
    top = max(totals) or 1.0
    pad, axis = 28, 18
    bar_w = min((width - pad) / len(columns), 60.0)
    parts = [f'<svg role="img" aria-labelledby="t-{_id(title)}" viewBox="0 0 {width} {height + axis}" '
             f'class="chart"><title id="t-{_id(title)}">{escape(title)}</title>']
    for i, col in enumerate(columns):
        y = float(height)
        for j, values in enumerate(series.values()):
            h = values[i] / top * (height - 10)
            if h > 0:
                y -= h
                parts.append(f'<rect x="{pad + i * bar_w + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" '
                             f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}"/>')
        if len(columns) <= 14 or i % max(1, len(columns) // 8) == 0:
            parts.append(f'<text x="{pad + i * bar_w + bar_w / 2:.1f}" y="{height + 13}" text-anchor="middle" '
                         f'font-size="10">{escape(col)}</text>')
    parts.append(f'<text x="2" y="12" font-size="10">{top:g}</text></svg>')
    legend = "".join(f'<span class="key"><i style="background:{PALETTE[j % len(PALETTE)]}"></i>{escape(name)}</span>'
                     for j, name in enumerate(series))
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def line(title: str, points: Sequence[float], *, unit: str = "", width: int = 640, height: int = 160) -> str:
    if not points:
        return f'<p class="muted">{escape(title)}: nothing yet.</p>'
    top = max(points) or 1.0
    step = (width - 30) / max(len(points) - 1, 1)
    coords = " ".join(f"{30 + i * step:.1f},{height - p / top * (height - 10):.1f}" for i, p in enumerate(points))
    return (f'<svg role="img" aria-labelledby="t-{_id(title)}" viewBox="0 0 {width} {height + 4}" class="chart">'
            f'<title id="t-{_id(title)}">{escape(title)}</title>'
            f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" points="{coords}"/>'
            f'<text x="2" y="12" font-size="10">{top:.0f}{escape(unit)}</text></svg>')


def _id(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower())[:40]
