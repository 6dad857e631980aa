"""The approval queue and the selected item's facts."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from tmux_agency.services.dashboard import ApprovalView


def item_details(item: ApprovalView | None) -> Text:
    if item is None:
        return Text("nothing waits for review", style="dim")
    text = Text()
    text.append(f"#{item.id} {item.agency}: {item.title}", style="bold")
    if item.revision > 1:
        text.append(f"  (rev {item.revision})", style="yellow")
    text.append(f"\nbranch {item.branch} → {item.base}  commit {item.commit[:10]}\n")
    text.append(f"tests  {item.passed} passed", style="green")
    text.append(f", {item.failed} failed" + (f", {item.skipped} skipped" if item.skipped else ""))
    if item.coverage is not None:
        text.append(f" · {item.coverage:g}% coverage")
    text.append(f"\nfiles  {item.files_changed} changed, ")
    text.append(f"+{item.additions}", style="green")
    text.append(" ")
    text.append(f"-{item.deletions}", style="red")
    if item.demo_url:
        text.append(f"\ndemo   {item.demo_url}", style="underline")
    return text


def drift_alert(drifts: list, shown: int = 2) -> Text:
    """What moved the base branch behind the gate's back (drift.Drift), loud, with its commits;
    compact, so the queue under it keeps its rows."""
    text = Text()
    for n, drift in enumerate(drifts):
        if n:
            text.append("\n")
        what = (
            [f"{len(drift.commits)} commit{'s' if len(drift.commits) != 1 else ''} no approval made"]
            if drift.commits
            else []
        )
        what += [f"approved {drift.rewritten[:7]} dropped"] if drift.rewritten else []
        text.append(f"⚠ {drift.branch}: {', '.join(what)}", style="bold white on red")
        for commit in drift.commits[:shown]:
            text.append(f"\n {commit['short']} ", style="bold red")
            text.append(f"{commit['author']}: {commit['subject']}")  # Text: a subject is never markup
        if len(drift.commits) > shown:
            text.append(f"\n … and {len(drift.commits) - shown} more: tmux-agency approvals", style="red")
    text.append("\nlook at them; to accept them: tmux-agency accept-base", style="dim")
    return text


class ApprovalQueue(Vertical):
    """The queue of items waiting for a person, with the highlighted one's details; it tells the
    App which item is highlighted (Chosen) rather than being read by it."""

    class Chosen(Message):
        """The highlighted item (None when the queue is empty), sent whenever it changes."""

        def __init__(self, item: ApprovalView | None) -> None:
            super().__init__()
            self.item = item

    DEFAULT_CSS = """
    ApprovalQueue DataTable { height: 1fr; }
    ApprovalQueue #approval-details { height: auto; max-height: 7; padding: 0 1; }
    ApprovalQueue #base-alert { height: auto; max-height: 6; padding: 0 1; display: none; text-wrap: nowrap; text-overflow: ellipsis; }
    ApprovalQueue #base-alert.shown { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[ApprovalView] = []
        self._told: ApprovalView | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="base-alert")
        table: DataTable = DataTable(id="approval-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("#", "agency", "title", "tests", "cov", "+/-")
        yield table
        yield Static(id="approval-details")

    def show(self, items: list[ApprovalView]) -> None:
        table = self.query_one(DataTable)
        selected = self.selected
        self.items = items
        table.clear()
        for item in items:
            table.add_row(  # Text cells: a DataTable reads a str as markup, and a title is a commit's words
                str(item.id),
                Text(item.agency),
                Text(item.title[:28]),
                f"{item.passed}✓ {item.failed}✗",
                f"{item.coverage:g}%" if item.coverage is not None else "–",
                f"+{item.additions} -{item.deletions}",
                key=str(item.id),
            )
        if selected and any(i.id == selected.id for i in items):
            table.move_cursor(row=[i.id for i in items].index(selected.id))
        self._show_details()

    def show_drift(self, drifts: list) -> None:
        """Commits on the base branch that no approval made (drift.check), above the queue."""
        alert = self.query_one("#base-alert", Static)
        alert.set_class(bool(drifts), "shown")
        alert.update(drift_alert(drifts) if drifts else "")

    @property
    def selected(self) -> ApprovalView | None:
        table = self.query_one(DataTable)
        if not self.items or table.cursor_row is None or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_details()

    def _show_details(self) -> None:
        item = self.selected
        self.query_one("#approval-details", Static).update(item_details(item))
        if item != self._told:
            self._told = item
            self.post_message(self.Chosen(item))
