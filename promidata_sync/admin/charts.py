"""Small charts as inline SVG, rendered on the server: no JavaScript library, no asset.

Pure functions over plain numbers (the callers read the database). Every label passes through
``format_html``, so text from the feed or the database cannot break out of the markup. Colours
come from the stylesheet (``.pd-chart-*`` classes in admin.css) so dark mode follows the admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 600, 140
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 8, 10, 20


@dataclass(frozen=True)
class Bar:
    """One bar: its height in the chart's unit, a CSS class suffix, its tooltip, a link."""

    value: float
    kind: str
    title: str
    href: str = ""


def _n(value: float) -> str:
    """A coordinate with one decimal (``format_html`` escapes its arguments to strings, so
    numbers are formatted before)."""
    return f"{value:.1f}"


def _plot_box() -> tuple[float, float, float, float]:
    return PAD_LEFT, PAD_TOP, WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM


def _svg(label: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="pd-chart" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}" '
        'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}</title>{}</svg>",
        WIDTH,
        HEIGHT,
        label,
        label,
        body,
    )


def _axis(top_label: str, left_label: str, right_label: str) -> SafeString:
    x, y, w, h = _plot_box()
    return format_html(
        '<line class="pd-chart-axis" x1="{x}" y1="{b}" x2="{r}" y2="{b}"/>'
        '<line class="pd-chart-axis" x1="{x}" y1="{y}" x2="{x}" y2="{b}"/>'
        '<text class="pd-chart-text" x="{tx}" y="{ty}" text-anchor="end">{top}</text>'
        '<text class="pd-chart-text" x="{tx}" y="{b}" text-anchor="end">0</text>'
        '<text class="pd-chart-text" x="{x}" y="{ly}">{left}</text>'
        '<text class="pd-chart-text" x="{r}" y="{ly}" text-anchor="end">{right}</text>',
        x=x,
        y=y,
        r=x + w,
        b=y + h,
        tx=x - 4,
        ty=y + 8,
        ly=HEIGHT - 4,
        top=top_label,
        left=left_label,
        right=right_label,
    )


def bar_chart(
    bars: list[Bar],
    *,
    label: str,
    value_text,
    left_label: str = "",
    right_label: str = "",
    reference: float | None = None,
    reference_label: str = "",
) -> SafeString:
    """Bars left to right, scaled to the largest; ``value_text(v)`` labels the top of the
    scale; ``reference`` draws a dashed line (a median, say) labelled ``reference_label``."""
    x, y, w, h = _plot_box()
    top = max([bar.value for bar in bars] + [reference or 0, 1e-9])
    step = w / max(len(bars), 1)
    width = max(step * 0.75, 1.0)
    parts = []
    for i, bar in enumerate(bars):
        bar_h = max(h * bar.value / top, 1.0)
        rect = format_html(
            '<rect class="pd-chart-bar pd-chart-bar-{}" x="{}" y="{}" width="{}" '
            'height="{}"><title>{}</title></rect>',
            bar.kind,
            _n(x + i * step + (step - width) / 2),
            _n(y + h - bar_h),
            _n(width),
            _n(bar_h),
            bar.title,
        )
        parts.append(format_html('<a href="{}">{}</a>', bar.href, rect) if bar.href else rect)
    if reference is not None:
        ry = y + h - h * reference / top
        parts.append(
            format_html(
                '<line class="pd-chart-reference" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                '<text class="pd-chart-text" x="{}" y="{}" text-anchor="end">{}</text>',
                x,
                _n(ry),
                x + w,
                _n(ry),
                x + w,
                _n(ry - 3),
                reference_label,
            )
        )
    body = _axis(value_text(top), left_label, right_label) + mark_safe("".join(parts))
    return _svg(label, body)


def line_chart(
    series: dict[str, list[float]],
    *,
    label: str,
    value_text,
    left_label: str = "",
    right_label: str = "",
) -> SafeString:
    """One polyline per series (``{css suffix: values}``, all the same length, evenly spaced
    left to right), scaled to the largest value, with a legend."""
    x, y, w, h = _plot_box()
    top = max([v for values in series.values() for v in values] + [1e-9])
    lines = []
    for name, values in series.items():
        step = w / max(len(values) - 1, 1)
        points = " ".join(
            f"{x + i * step:.1f},{y + h - h * v / top:.1f}" for i, v in enumerate(values)
        )
        lines.append(
            format_html(
                '<polyline class="pd-chart-line pd-chart-line-{}" points="{}"/>', name, points
            )
        )
    legend = format_html_join(
        "",
        '<text class="pd-chart-text pd-chart-legend-{}" x="{}" y="{}">{}</text>',
        ((name, x + 8 + 90 * i, y + 10, name) for i, name in enumerate(series)),
    )
    body = _axis(value_text(top), left_label, right_label) + mark_safe("".join(lines)) + legend
    return _svg(label, body)
