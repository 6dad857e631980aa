"""The task graph: tasks drawn under what they wait for, with each node's state, and the critical
path — the longest chain of unfinished work, which decides when everything is done — on top."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tmux_agency.models import TaskRecord
from tmux_agency.tasks import critical_path

STATE_MARKS = {
    "completed": ("✓", "green"),
    "working": ("◐", "yellow"),
    "in_review": ("◎", "cyan"),
    "blocked": ("■", "bold red"),
    "submitted": ("○", "white"),
    "failed": ("✗", "bold red"),
    "canceled": ("⊘", "dim"),
}


def render_graph(tasks: list[TaskRecord]) -> Text:
    """Each task under its first dependency (a tree of the DAG); other dependencies are named."""
    if not tasks:
        return Text("no tasks in registry/task_graph.json yet", style="dim")
    by_id = {t.id: t for t in tasks}
    children: dict[str, list[TaskRecord]] = {}
    roots = []
    for task in tasks:
        parents = [p for p in task.after if p in by_id]
        if parents:
            children.setdefault(parents[0], []).append(task)
        else:
            roots.append(task)
    text = Text(no_wrap=True, overflow="ellipsis")
    critical = critical_path(tasks)
    if critical:
        text.append("critical ", style="dim")
        text.append(" → ".join(critical), style="bold yellow")
        text.append(f"  {len(critical)} to go\n", style="dim")
    on_path = set(critical)
    seen: set[str] = set()

    def draw(task: TaskRecord, depth: int) -> None:
        if task.id in seen:
            return
        seen.add(task.id)
        mark, style = STATE_MARKS.get(task.state, ("?", ""))
        prefix = "   " * (depth - 1) + " └▶" if depth else ""
        text.append(prefix, style="dim")
        text.append(f"{task.id} ", style="bold yellow" if task.id in on_path else "bold")
        text.append(f"{mark} ", style=style)
        text.append(task.title[:48])
        if task.agency:
            text.append(f"  {task.agency}", style="dim")
        others = [p for p in task.after[1:] if p in by_id]
        if others:
            text.append(f"  +after {', '.join(others)}", style="dim italic")
        text.append("\n")
        for child in children.get(task.id, []):
            draw(child, depth + 1)

    for root in roots:
        draw(root, 0)
    for task in tasks:  # anything on a cycle (refused by the task commands, but be safe)
        draw(task, 0)
    text.rstrip()
    return text


class TaskGraph(Static):
    def show(self, tasks: list[TaskRecord]) -> None:
        self.update(render_graph(tasks))
