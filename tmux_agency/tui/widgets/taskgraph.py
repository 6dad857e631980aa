"""The task graph: tasks drawn under what they wait for, with each node's state, and the critical
path — the longest chain of unfinished work, which decides when everything is done — on top.
Virtualised like the feed: 500 tasks cost no more to show than the ten on screen."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tmux_agency.services.tasks.graph import critical_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmux_agency.services.dashboard import TaskView

STATE_MARKS = {
    "completed": ("✓", "green"),
    "working": ("◐", "yellow"),
    "in_review": ("◎", "cyan"),
    "blocked": ("■", "bold red"),
    "submitted": ("○", "white"),
    "failed": ("✗", "bold red"),
    "canceled": ("⊘", "dim"),
}
DIM, BOLD, ON_PATH, OTHERS = (
    Style(dim=True),
    Style(bold=True),
    Style(bold=True, color="yellow"),
    Style(dim=True, italic=True),
)
MARK_STYLES = {state: Style.parse(style) for state, (_, style) in STATE_MARKS.items()}
ELLIPSIS = Segment("…")

Line = list[Segment]


def graph_lines(tasks: list[TaskView]) -> list[Line]:
    """Each task under its first dependency (a tree of the DAG), one line each; other
    dependencies are named on the task's line."""
    if not tasks:
        return [[Segment("no tasks in registry/task_graph.json yet", DIM)]]
    by_id = {t.id: t for t in tasks}
    children: dict[str, list[TaskView]] = {}
    roots = []
    for task in tasks:
        parents = [p for p in task.after if p in by_id]
        if parents:
            children.setdefault(parents[0], []).append(task)
        else:
            roots.append(task)
    lines: list[Line] = []
    critical = critical_path(tasks)
    if critical:
        lines.append(
            [
                Segment("critical ", DIM),
                Segment(" → ".join(critical), ON_PATH),
                Segment(f"  {len(critical)} to go", DIM),
            ]
        )
    on_path = set(critical)
    seen: set[str] = set()

    def draw(task: TaskView, depth: int) -> None:
        if task.id in seen:
            return
        seen.add(task.id)
        mark, _ = STATE_MARKS.get(task.state, ("?", ""))
        line = [Segment("   " * (depth - 1) + " └▶", DIM)] if depth else []
        line += [
            Segment(f"{task.id} ", ON_PATH if task.id in on_path else BOLD),
            Segment(f"{mark} ", MARK_STYLES.get(task.state)),
            Segment(task.title[:48]),
        ]
        if task.agency:
            line.append(Segment(f"  {task.agency}", DIM))
        others = [p for p in task.after[1:] if p in by_id]
        if others:
            line.append(Segment(f"  +after {', '.join(others)}", OTHERS))
        lines.append(line)
        for child in children.get(task.id, []):
            draw(child, depth + 1)

    for root in roots:
        draw(root, 0)
    for task in tasks:  # anything on a cycle (refused by the task commands, but be safe)
        draw(task, 0)
    return lines


class TaskGraph(ScrollView, can_focus=True):
    """The graph's lines are kept as segments; `render_line` draws just the visible ones, cut
    with an ellipsis where a line is wider than the pane (the pane scrolls down, not across)."""

    DEFAULT_CSS = "TaskGraph { overflow-x: hidden; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Line] = []

    def show(self, tasks: list[TaskView]) -> None:
        self.lines = graph_lines(tasks)
        self.virtual_size = Size(0, len(self.lines))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width, base = self.size.width, self.rich_style  # base: the pane's own colours, under each line's
        if index >= len(self.lines):
            return Strip.blank(width, base)
        strip = Strip(self.lines[index])
        if strip.cell_length > width:
            strip = Strip([*strip.crop(0, max(0, width - 1)), ELLIPSIS])
        return strip.extend_cell_length(width).apply_style(base)
