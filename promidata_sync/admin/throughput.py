"""The dashboard's throughput chart: families and images ended per minute, last hour."""

from __future__ import annotations

from django.utils import timezone
from django.utils.safestring import SafeString

from promidata_sync.admin.charts import line_chart
from promidata_sync.services.throughput import THROUGHPUT_MINUTES, Minute, throughput_per_minute


def throughput_context() -> dict:
    """``{"chart": svg, "families": n, "images": n, "minutes": 60}``: the chart and the
    totals of the window (one query)."""
    minutes = throughput_per_minute()
    return {
        "chart": throughput_chart(minutes),
        "families": sum(m.families for m in minutes),
        "images": sum(m.images for m in minutes),
        "minutes": THROUGHPUT_MINUTES,
    }


def throughput_chart(minutes: list[Minute]) -> SafeString:
    return line_chart(
        {
            "families": [float(m.families) for m in minutes],
            "images": [float(m.images) for m in minutes],
        },
        label=f"Families and images per minute, last {len(minutes)} minutes",
        value_text=lambda top: f"{top:.0f}/min",
        left_label=timezone.localtime(minutes[0].start).strftime("%H:%M") if minutes else "",
        right_label=timezone.localtime(minutes[-1].start).strftime("%H:%M") if minutes else "",
    )
