"""Small server-side SVG charts (no script, no CDN), accessible to screen readers.

Each chart is an <svg role="img"> labelled by its <title> and <desc>; each bar carries its own
<title> (value on hover and for assistive technology). Pages always show the figures as a data
table next to the chart: the chart is an illustration, the table is the reference.
"""
from dataclasses import dataclass
from html import escape

from django.utils.safestring import mark_safe

FONT = 'font-family="DejaVu Sans, system-ui, sans-serif"'
INK, GRID, MUTED = "#1b2631", "#d5dbdb", "#5d6d7e"


@dataclass
class Series:
    name: str
    values: list
    color: str


def _nice_max(value, ticks=4):
    """A round axis maximum at or above value, in `ticks` whole steps of 1, 2 or 5 × 10^n."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if value <= step * factor * ticks:
                return step * factor * ticks
        step *= 10


def _head(chart_id, title, description, width, height):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
            f'viewBox="0 0 {width} {height}" width="100%" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" {FONT} font-size="12">'
            f'<title id="{chart_id}-title">{escape(title)}</title>'
            f'<desc id="{chart_id}-desc">{escape(description)}</desc>')


def bar_chart(chart_id, title, description, categories, series, width=720, height=280):
    """Vertical bars, one group per category, one bar per series, with a legend."""
    left, right, top, bottom = 40, 10, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max([v for s in series for v in s.values] or [0]))
    parts = [_head(chart_id, title, description, width, height)]
    for tick in range(5):  # horizontal grid and axis labels
        value = top_value * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{GRID}"/><text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="{MUTED}">{value:g}</text>')
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    for index, category in enumerate(categories):
        x0 = left + index * group_w + group_w * 0.1
        for rank, serie in enumerate(series):
            value = serie.values[index]
            bar_h = plot_h * value / top_value
            x, y = x0 + rank * bar_w, top + plot_h - bar_h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" '
                         f'height="{bar_h:.1f}" fill="{serie.color}"><title>'
                         f'{escape(str(category))} — {escape(serie.name)} : {value:g}</title></rect>')
        parts.append(f'<text x="{x0 + group_w * 0.4:.1f}" y="{top + plot_h + 16}" '
                     f'text-anchor="middle" fill="{INK}">{escape(str(category))}</text>')
    x = left
    for serie in series:  # legend, top left
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{serie.color}"/>'
                     f'<text x="{x + 16}" y="18" fill="{INK}">{escape(serie.name)}</text>')
        x += 24 + 7.5 * len(serie.name)
    parts.append("</svg>")
    return mark_safe("".join(parts))


def rate_chart(chart_id, title, description, rows, width=720, bar_height=22):
    """Horizontal bars of percentages: rows are (label, rate or None, text shown at the end)."""
    label_w, right, top = 190, 120, 10
    plot_w = width - label_w - right
    height = top * 2 + bar_height * max(len(rows), 1)
    parts = [_head(chart_id, title, description, width, height)]
    for tick in (0, 25, 50, 75, 100):
        x = label_w + plot_w * tick / 100
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - top}" '
                     f'stroke="{GRID}"/>')
    for index, (label, rate, text) in enumerate(rows):
        y = top + index * bar_height
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_height * 0.68:.1f}" text-anchor="end" '
                     f'fill="{INK}">{escape(label)}</text>')
        if rate is not None:
            parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{plot_w * rate / 100:.1f}" '
                         f'height="{bar_height - 6}" fill="{_rate_color(rate)}"><title>'
                         f'{escape(label)} : {escape(text)}</title></rect>')
        parts.append(f'<text x="{label_w + plot_w + 6}" y="{y + bar_height * 0.68:.1f}" '
                     f'fill="{INK}">{escape(text)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _rate_color(rate):
    # The colours of the conclusions on the map: green compliant, red far from it.
    if rate >= 75:
        return "#1a9641"
    if rate >= 50:
        return "#a6d96a"
    if rate >= 25:
        return "#fdae61"
    return "#d7191c"
