"""The metrics as text, for `tmux-agency metrics`: rates with bars, times, quality, trends as
sparklines, agencies, lessons and flags. (The control room draws its own pane, tui/widgets/
metrics.py, with `sparkline` and `duration` from here.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None]) -> str:
    """One character per value, ▁ to █ scaled to the largest; a gap where there is no value."""
    known = [v for v in values if v is not None]
    top = max(known, default=0)
    low = min(known, default=0)
    out = []
    for value in values:
        if value is None:
            out.append(" ")
        elif top == low:
            out.append(SPARKS[0] if top == 0 else SPARKS[len(SPARKS) // 2])
        else:
            out.append(SPARKS[round((value - low) / (top - low) * (len(SPARKS) - 1))])
    return "".join(out)


def bar(fraction: float | None, width: int = 20) -> str:
    if fraction is None:
        return "·" * width
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def duration(seconds: float | None) -> str:
    """4s, 12m 30s, 3h 05m, 2d 4h."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def render(report: dict[str, Any]) -> str:
    """The report for people: rates with bars, times, quality, trends as sparklines, agencies,
    lessons and flags."""
    t = report["totals"]
    tasks, reviews, quality, times = t["tasks"], t["reviews"], t["quality"], t["time"]
    who = report["agency"] or "all agencies"
    since = f"since {report['since'][:16].replace('T', ' ')}" if report["since"] else "all time"
    lines = [f"Metrics · {who} · {since}", ""]
    lines.append(
        f"  task completion rate     {_pct(tasks['completion_rate']):>4}  {bar(tasks['completion_rate'])}  "
        f"{tasks['completed_first_time']} of {tasks['finished']} finished tasks completed without a rejection"
        + (f" ({tasks['failed']} failed)" if tasks["failed"] else "")
    )
    lines.append(
        f"  first-review approval    {_pct(reviews['first_review_approval_rate']):>4}  "
        f"{bar(reviews['first_review_approval_rate'])}  {reviews['approved_first']} of {reviews['reviewed']} "
        f"reviewed items approved the first time"
    )
    r = t["response_time_s"]
    lines.append(
        f"  response time            median {duration(r['median'])} · mean {duration(r['mean'])} "
        f"({r['count']} tasks, assigned → COMPLETE)"
    )
    h = t["handoff_time_s"]
    unanswered = h["count"] - h["answered"]
    lines.append(
        f"  handoff time             median {duration(h['median'])} · mean {duration(h['mean'])} "
        f"({h['answered']} answered handoffs" + (f", {unanswered} unanswered" if unanswered else "") + ")"
    )
    cov = f"{quality['coverage_mean']:.1f}%" if quality["coverage_mean"] is not None else "—"
    score = f"{quality['review_score_mean']:.0f}/100 ({quality['review_scores']})" if quality["review_scores"] else "—"
    lines.append(
        f"  code quality             coverage {cov} over {quality['deploys']} deploys · tests "
        f"{quality['tests_passed']} passed, {quality['tests_failed']} failed · {quality['bugs_reported']} bugs "
        f"in {quality['bug_reports']} QA results · review score {score}"
    )
    share = times["review_per_working"]
    lines.append(
        f"  human review             {duration(times['human_review_s'])} reviewing vs "
        f"{duration(times['agency_working_s'])} of agency work" + (f" ({share:.1%})" if share is not None else "")
    )

    trends = report["trends"]
    days = trends["days"]
    if days:
        lines += ["", f"Trends, per day {days[0]} → {days[-1]}"]
        rows = [
            ("tasks completed", trends["tasks_completed"], str(sum(trends["tasks_completed"]))),
            ("messages", trends["messages"], str(sum(trends["messages"]))),
            (
                "first-review approval",
                trends["first_review_approval_rate"],
                _last(trends["first_review_approval_rate"], _pct),
            ),
            ("coverage", trends["coverage"], _last(trends["coverage"], lambda v: f"{v:.0f}%")),
        ]
        for name, values, note in rows:
            lines.append(f"  {name:<24} {sparkline(values)}  {note}")

    if report["agencies"]:
        lines += ["", "Agencies"]
        width = max(len(a["name"]) for a in report["agencies"])
        for a in report["agencies"]:
            at, ar = a["tasks"], a["reviews"]
            lines.append(
                f"  {a['name']:<{width}}  completion {_pct(at['completion_rate']):>4} ({at['completed_first_time']}/{at['finished']})"
                f"  first review {_pct(ar['first_review_approval_rate']):>4} ({ar['approved_first']}/{ar['reviewed']})"
                f"  response {duration(a['response_time_s']['median'])}  handoff {duration(a['handoff_time_s']['median'])}"
                f"  bugs {a['quality']['bugs_reported']}  lessons {a['lessons']['count']}"
                + ("  ⚠" if a["flag"] else "")
            )
    learned = [a for a in report["agencies"] if a["lessons"]["count"]]
    if learned:
        lines += ["", "Lessons (from rejections)"]
        for a in learned:
            les = a["lessons"]
            themes = ", ".join(f"{t['word']} ×{t['lessons']}" for t in les["themes"])
            lines.append(
                f"  {a['name']}: {les['count']} lesson{'s' if les['count'] != 1 else ''}"
                + (f"; recurring: {themes}" if themes else "")
            )
            for lesson in les["recent"]:
                lines.append(f"    {lesson['date']} {lesson['branch']}: {_short(lesson['text'], 90)}")
    if report["flags"]:
        lines += ["", "Flags"]
        lines += [f"  ⚠ {flag}" for flag in report["flags"]]
    return "\n".join(lines)


def _last(values: list[float | None], fmt: Callable[[float], str]) -> str:
    known = [v for v in values if v is not None]
    return f"latest {fmt(known[-1])}" if known else "—"


def _short(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
