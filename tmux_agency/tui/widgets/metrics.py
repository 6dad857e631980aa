"""The metrics pane: the success metrics of `tmux-agency metrics` in a glance — rates with their
trend as a sparkline, times, code quality, and any agency flagged for a falling approval rate."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from tmux_agency.services.metrics.render import duration, sparkline

TREND_DAYS = 10  # the pane is narrow: the last ten days of the fourteen computed


def _rate(value: float | None) -> str:
    return "  —" if value is None else f"{value * 100:3.0f}%"


def render_metrics(report: dict[str, Any] | None) -> Text:
    if report is None:
        return Text("computing…", style="dim")
    totals, trends = report["totals"], report["trends"]
    tasks, reviews, quality, time = totals["tasks"], totals["reviews"], totals["quality"], totals["time"]
    text = Text(no_wrap=True, overflow="ellipsis")

    def line(label: str, value: str, trend: list[float | None] | None = None, note: str = "") -> None:
        text.append(f"{label:<9}", style="dim")
        text.append(value, style="bold")
        if trend is not None:
            text.append(" " + sparkline(trend[-TREND_DAYS:]), style="cyan")
        if note:
            text.append(f" {note}", style="dim")
        text.append("\n")

    line(
        "done",
        _rate(tasks["completion_rate"]),
        trends["tasks_completed"],
        f"{tasks['completed_first_time']}/{tasks['finished']}",
    )
    line(
        "1st ok",
        _rate(reviews["first_review_approval_rate"]),
        trends["first_review_approval_rate"],
        f"{reviews['approved_first']}/{reviews['reviewed']}",
    )
    line(
        "response",
        duration(totals["response_time_s"]["median"]),
        note=f"handoff {duration(totals['handoff_time_s']['median'])}",
    )
    coverage = quality["coverage_mean"]
    line(
        "tests",
        f"{quality['tests_passed']}✓ {quality['tests_failed']}✗",
        note=f"cov {'—' if coverage is None else f'{coverage:.0f}%'} · bugs {quality['bugs_reported']}",
    )
    share = time["review_per_working"]
    line(
        "review",
        duration(time["human_review_s"]),
        note=f"of {duration(time['agency_working_s'])} work" + ("" if share is None else f" ({share * 100:.0f}%)"),
    )
    for flag in report["flags"][:2]:
        text.append(f"⚑ {flag}\n", style="bold yellow")
    text.rstrip()
    return text


class MetricsPanel(Static):
    def show(self, report: dict[str, Any] | None) -> None:
        self.update(render_metrics(report), layout=False)
