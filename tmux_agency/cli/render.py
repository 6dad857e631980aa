"""How the commands print what the services return: one line per item, boxes, alerts."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see doors/registry.py)
if TYPE_CHECKING:
    from typing import Any

from tmux_agency.cli.plumbing import PROG, print_json

MARKS = {  # a task's state, as one character
    "completed": "✓",
    "working": "◐",
    "in_review": "◎",
    "blocked": "■",
    "submitted": "○",
    "failed": "✗",
    "canceled": "⊘",
}


def report_send(result: Any, as_json: bool) -> None:
    if as_json:
        print_json(result.messages)
        return
    for m in result.messages:
        to = f"{m['recipient_agency']}/{m['recipient_agent']}"
        if m["state"] == "queued":
            print(f"queued {m['id']} for {to}: {m['reason'] or 'waiting for delivery'}")
        else:
            print(f"{m['state']} {m['id']} to {to} [{m['type']}]")


def one_line(text: str, width: int = 100) -> str:
    """A message's text on one line of a person's terminal: its control characters shown as
    symbols, as agents see them (an ESC sequence in a message must not reach your terminal)."""
    from tmux_agency.services.delivery import visible_text

    flat = " ".join(visible_text(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def approval_box(items: list[Any]) -> str:
    """The seed's approval box."""
    width = 62
    lines = [f"PENDING APPROVALS ({len(items)})"]
    body: list[str] = []
    for item in items:
        t = item.tests
        body.append(
            f"[{item.id}] {item.agency}: {item.title}" + (f"  (rev {item.revision})" if item.revision > 1 else "")
        )
        body.append(f"    Branch: {item.branch} → {item.base}")
        cov = f" ({item.coverage:g}% coverage)" if item.coverage is not None else ""
        body.append(
            f"    Tests: {t.passed} passed, {t.failed} failed{', ' + str(t.skipped) + ' skipped' if t.skipped else ''}{cov}"
        )
        if item.demo_url:
            body.append(f"    Demo: {item.demo_url}")
        body.append(f"    Files: {item.files_changed} changed, +{item.additions} -{item.deletions}")
        body.append("")
    if body:
        body.pop()
    else:
        body.append("nothing waits for review")
    out = ["╔" + "═" * width + "╗", "║ " + lines[0].center(width - 2) + " ║", "╠" + "═" * width + "╣"]
    out += ["║ " + line[: width - 2].ljust(width - 2) + " ║" for line in body]
    out.append("╚" + "═" * width + "╝")
    return "\n".join(out)


def drift_alert(drifts: list[Any]) -> str:
    """What moved the base branch behind the gate's back, loud: every line starts with '!!'."""
    from tmux_agency.services.drift import SHOWN

    lines = []
    for drift in drifts:
        lines.append(f"!! ALERT: {drift.headline()}")
        for commit in drift.commits[:SHOWN]:
            lines.append(
                f"!!   {commit['short']}  {commit['date'][:16].replace('T', ' ')}  {commit['author']}: {commit['subject']}"
            )
        if len(drift.commits) > SHOWN:
            lines.append(f"!!   … and {len(drift.commits) - SHOWN} more (git log {drift.since[:10]}..{drift.branch})")
        lines.append(
            f"!! look at them (git show SHA); undo them, or accept the base as it is: {PROG} accept-base --branch {drift.branch}"
        )
    return "\n".join(lines)


def checkin_line(item: Any, schedule: Any) -> str:
    from tmux_agency.models.schema import utcnow

    left = (item.due - utcnow()).total_seconds()
    when = f"in {schedule.format_duration(left)}" if left > 0 else "due now"
    every = f"every {schedule.format_duration(item.every_s)}" if item.every_s else "once"
    error = f"  (last time: {item.last_error})" if item.last_error else ""
    return (
        f"#{item.id:<3} {item.due.astimezone():%Y-%m-%d %H:%M} ({when}, {every})  "
        f"{item.agency}/{item.agent}  {one_line(item.text, 70)}{error}"
    )


def task_line(task: Any, critical: set[str], ready: set[str]) -> str:
    state = task.state.replace("_", " ")
    if task.id in ready:
        state = "ready"
    flags = " ★" if task.id in critical else ""
    after = f"  (after {', '.join(task.after)})" if task.after else ""
    return f"{task.id:<6} {MARKS.get(task.state, '?')} {state:<10} {task.priority:<8} {task.agency or '—':<16} {task.title}{after}{flags}"
