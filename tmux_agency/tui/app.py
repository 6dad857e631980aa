"""The control room: agencies, live message feed, task graph and approval queue, one key per action.

The App composes the widgets and routes messages; every action calls a service (the same code
the command line uses) in a worker thread, so the screen never waits on git or tmux. A
watchfiles worker on registry/ wakes only the panes whose files changed.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import Workspace
from tmux_agency.models.errors import AgencyError, WorldError
from tmux_agency.services.dashboard import (
    AgencyView,
    AgentView,
    ApprovalView,
    Dashboard,
    HistoryWindow,
    registry_file_kind,
)
from tmux_agency.tui import keys
from tmux_agency.tui.screens.dialogs import ConfirmScreen, HelpScreen, PromptScreen, RejectScreen
from tmux_agency.tui.screens.main import ControlRoomScreen
from tmux_agency.tui.screens.new_agency import NewAgencyScreen
from tmux_agency.tui.widgets.agencies import AgencyList
from tmux_agency.tui.widgets.approvals import ApprovalQueue
from tmux_agency.tui.widgets.feed import MessageFeed
from tmux_agency.tui.widgets.metrics import MetricsPanel
from tmux_agency.tui.widgets.taskgraph import TaskGraph

DISPATCH_S = 5.0  # due check-ins and queued messages: a person's scale, not a tight loop
BASE_CHECK_S = 5.0  # the base branch moving behind the gate's back: git, not the registry, says so
Attach = Callable[["ControlRoom", Tmux, str, str], None]


def attach_outside_tmux(app: ControlRoom, tmux: Tmux, session: str, pane_id: str) -> None:
    """Hand the terminal to `tmux attach` and come back when the user detaches."""
    from tmux_agency.services.jump import attach

    with app.suspend():
        attach(tmux, session)


class ControlRoom(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "tmux-agency"

    BINDINGS: ClassVar[list[BindingType]] = list(keys.bindings())

    def __init__(
        self,
        ws: Workspace,
        tmux: Tmux,
        *,
        watch: bool = True,
        clock: Callable[[], datetime] | None = None,
        attach: Attach | None = None,
        refresh_s: float = 2.0,
        load_older: bool = True,
    ) -> None:
        super().__init__()
        self.ws = ws
        self.tmux = tmux
        self.dashboard = Dashboard(ws, tmux)
        self.watch_registry = watch
        self.clock = clock or datetime.now
        self.attach = attach or attach_outside_tmux
        self.refresh_s = refresh_s
        self.load_older = load_older
        self.history: HistoryWindow | None = None
        # What the person points at, as the widgets tell it (AgencyList.Chosen, ApprovalQueue.Chosen).
        self.selection: AgencyView | AgentView | None = None
        self.selected_agency: AgencyView | None = None
        self.approval: ApprovalView | None = None
        self._last_views: list[AgencyView] | None = None
        self._shown: dict[str, Text | str] = {}  # what the title bar and the preview show now
        self.drifts: list = []  # drift.Drift: the base branch moved without an approval
        from tmux_agency.services.metrics.scan import MessageScan

        self._metrics_scan = MessageScan()
        # A worker made obsolete by a newer one (exclusive) still runs to its end in its thread:
        # the scan it shares with the next one must not be read by two at once.
        self._metrics_lock = threading.Lock()

    # --- layout --------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        return ControlRoomScreen(id="_default")

    def compose(self) -> ComposeResult:
        yield Static(id="titlebar")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield AgencyList(id="agencies")
                yield Static(id="preview")
                yield MetricsPanel(id="metrics")
            with Vertical(id="right"):
                yield MessageFeed(id="feed")
                yield Input(placeholder="/ filter the feed: words, agency:NAME, type:TASK — escape clears", id="filter")
                with Horizontal(id="bottom"):
                    yield TaskGraph(id="tasks")
                    yield ApprovalQueue(id="approvals")
        # A fixed key bar rather than Textual's Footer: the Footer rebuilds itself on every focus
        # change (its bindings follow the focused widget), which cost ~100 ms per tab at 100k
        # messages; every key here is the app's own, whatever has focus.
        yield Static(keys.key_bar(), id="keybar")

    def on_mount(self) -> None:
        self.query_one("#agencies").border_title = "Agencies"
        self.query_one("#preview").border_title = "Preview"
        self.query_one("#feed").border_title = "Message feed"
        self.query_one("#tasks").border_title = "Task graph"
        self.query_one("#metrics").border_title = "Metrics"
        self.query_one("#approvals").border_title = "Approvals"
        self.refresh_agencies_now()
        self.history = self.dashboard.history_tail()
        self.query_one(MessageFeed).set_rows(self.history.rows)
        self.refresh_tasks()
        self.refresh_approvals()
        if self.watch_registry:
            # In the background, once the first frame is out: a thread reading the whole log
            # would hold the interpreter while the first frame is built.
            self.call_after_refresh(self.refresh_metrics)
        else:
            # Nothing will update a static screen (snapshots): it is complete at the first frame.
            self.query_one(MetricsPanel).show(self._compute_metrics())
        self.query_one(AgencyList).focus()
        if self.load_older:
            self.call_after_refresh(self.load_older_history)  # after the first frame, as the metrics
        if self.watch_registry:
            self.call_after_refresh(self.check_base)
            self.set_interval(BASE_CHECK_S, self.check_base)
        else:
            self._show_drift(self._compute_drift())
        if self.watch_registry:
            self.watch_files()
            self.set_interval(self.refresh_s, self.refresh_agencies_later)
            # The control room is a dispatcher too: due check-ins and queued messages go out
            # while it runs, as they do under `tmux-agency run`.
            self.set_interval(DISPATCH_S, self.dispatch)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity="information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications say what went wrong in words the world chose (a branch, a commit, tmux's
        own message): shown as they are, never read as markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # --- refreshing ----------------------------------------------------------------------------

    def refresh_agencies_now(self) -> None:
        agency_list = self.query_one(AgencyList)
        views = self.dashboard.agencies(capture=agency_list.visible_pane_ids() or None)
        self._show_agencies(views)

    @work(thread=True, exclusive=True, group="agencies", exit_on_error=False)
    def refresh_agencies_later(self) -> None:
        capture = self.call_from_thread(lambda: self.query_one(AgencyList).visible_pane_ids())
        views = self.dashboard.agencies(capture=capture)
        self.call_from_thread(self._show_agencies, views)

    @work(thread=True, exclusive=True, group="dispatch", exit_on_error=False)
    def dispatch(self) -> None:
        if self.dashboard.tmux_error:
            return  # nothing can be typed anywhere; the next tick after tmux is back will
        from tmux_agency.services.dispatch import dispatch_pass

        try:
            dispatch_pass(self.ws, self.tmux)
        except AgencyError as exc:
            self.call_from_thread(self.notify, f"dispatch: {exc}", severity="error", timeout=8)

    def _show_agencies(self, views: list[AgencyView]) -> None:
        if views != self._last_views:  # rebuilding hundreds of rows for nothing costs a frame
            self._last_views = views
            self.query_one(AgencyList).show(views)
        self._update_title()
        self._update_preview()

    def refresh_messages(self) -> None:
        if self.history is not None:
            self.query_one(MessageFeed).append(self.dashboard.history_after(self.history))

    def _compute_metrics(self) -> dict | None:
        from tmux_agency.services.metrics.report import build as compute

        now = self.clock()
        try:
            with self._metrics_lock:
                return compute(self.ws, now=now if now.tzinfo else now.astimezone(), scan=self._metrics_scan)
        except AgencyError:
            return None

    @work(thread=True, exclusive=True, group="metrics", exit_on_error=False)
    def refresh_metrics(self) -> None:
        """Recompute the metrics (each call reads only the new lines of the message log)."""
        report = self._compute_metrics()
        self.call_from_thread(self.query_one(MetricsPanel).show, report)

    def refresh_tasks(self) -> None:
        try:
            tasks = self.dashboard.tasks()
        except AgencyError as exc:  # the pane keeps what it showed; the person is told why
            self.notify(f"task graph: {exc}", severity="error", timeout=8)
            return
        self.query_one(TaskGraph).show(tasks)

    def _compute_drift(self) -> list:
        from tmux_agency.services.drift import check

        try:
            return check(self.ws)
        except AgencyError:
            return self.drifts  # git failed this time: keep what is shown

    @work(thread=True, exclusive=True, group="drift", exit_on_error=False)
    def check_base(self) -> None:
        """Look for commits on the base branch that no approval made (the gate cannot stop an
        agent's own `git merge`; it shows it)."""
        drifts = self._compute_drift()
        self.call_from_thread(self._show_drift, drifts)

    def _show_drift(self, drifts: list) -> None:
        if drifts == self.drifts:
            return
        seen = {(d.branch, d.rewritten, *(c["sha"] for c in d.commits)) for d in self.drifts}
        self.drifts = drifts
        self.query_one(ApprovalQueue).show_drift(drifts)
        self._title_approvals()
        self._update_title()
        for drift in drifts:
            if (drift.branch, drift.rewritten, *(c["sha"] for c in drift.commits)) not in seen:
                self.notify(
                    f"⚠ {drift.headline()}. See the approvals pane.",
                    title="Behind the gate's back",
                    severity="error",
                    timeout=30,
                )

    def _title_approvals(self) -> None:
        queue = self.query_one(ApprovalQueue)
        queue.border_title = f"Approvals ({len(queue.items)})" + (
            " · ⚠ base moved without approval" if self.drifts else ""
        )

    def refresh_approvals(self) -> None:
        try:
            items = self.dashboard.approvals()
        except AgencyError as exc:
            self.notify(f"approvals: {exc}", severity="error", timeout=8)
            return
        self.query_one(ApprovalQueue).show(items)
        self._title_approvals()

    def _show_text(self, widget_id: str, text: Text) -> None:
        """Update the title bar or the preview only when its text changes: each update is a frame,
        and every refresh (2 s) would repaint both for nothing. Their sizes are fixed by the
        layout, so no layout pass either."""
        if self._shown.get(widget_id) != text:
            self._shown[widget_id] = text
            self.query_one(f"#{widget_id}", Static).update(text, layout=False)

    def _update_title(self) -> None:
        title = Text.assemble(("tmux-agency", "bold"), f" control room · {self.ws.root.name} · ")
        for drift in self.drifts:  # first, so no width cuts it off
            title.append(f"⚠ {drift.short()}", style="bold white on red").append(" · ")
        title.append(*(("tmux down", "bold red") if self.dashboard.tmux_error else ("tmux up", "green")))
        if self.tmux.socket_name:
            title.append(f" -L {self.tmux.socket_name}")
        title.append(f" · {self.clock():%H:%M}")
        if self.dashboard.profile_error:
            title.append(" · ").append(self.dashboard.profile_error[:80], style="bold red")
        self._show_text("titlebar", title)

    def _update_preview(self) -> None:
        view = self.selection
        preview = self.query_one("#preview", Static)
        pane = self._pane_for(view)
        if view is None or pane is None:
            self._show_text("preview", Text("select an agent to see its pane", style="dim"))
            return
        # Text, not markup: a pane or a message shows whatever its program printed, brackets too.
        lines = [line for line in self.dashboard.preview(pane).splitlines() if line.strip()]
        recent = self._recent_messages(view)
        height = max(3, (preview.size.height - 2 or 12) - len(recent) - (1 if recent else 0))
        text = Text("\n".join(lines[-height:])) if lines else Text().append("(empty pane)", style="dim")
        if recent:
            text.append("\n── recent messages ──\n", style="dim")
            text.append(Text("\n").join(recent))
        self._show_text("preview", text)
        title = f"Preview · {view.agency if isinstance(view, AgentView) else view.name}"
        if self._shown.get("preview-title") != title:  # setting a border title repaints, same or not
            self._shown["preview-title"] = title
            preview.border_title = title

    def _recent_messages(self, view: AgencyView | AgentView | None, count: int = 3) -> list[Text]:
        """The last few messages to or from the selected agent (or agency), newest last."""
        if view is None:
            return []
        agency = view.agency if isinstance(view, AgentView) else view.name
        agent = view.name if isinstance(view, AgentView) else None
        found = []
        for row in reversed(self.query_one(MessageFeed).rows[-5000:]):
            if agency not in row.agencies:
                continue
            if agent and not (row.sender.endswith(f"/{agent}") or row.recipient == agent):
                continue
            found.append(
                Text.assemble((f"{row.time.astimezone():%H:%M}", "dim"), f" {row.type} {row.text_after_type[:60]}")
            )
            if len(found) == count:
                break
        return list(reversed(found))

    @staticmethod
    def _pane_for(view: AgencyView | AgentView | None) -> str | None:
        if isinstance(view, AgentView):
            return view.pane_id
        if isinstance(view, AgencyView) and view.agents:
            return view.agents[0].pane_id
        return None

    def on_agency_list_chosen(self, event: AgencyList.Chosen) -> None:
        self.selection, self.selected_agency = event.view, event.agency
        self._update_preview()

    def on_agency_list_opened(self, _: AgencyList.Opened) -> None:
        self.action_jump()

    def on_approval_queue_chosen(self, event: ApprovalQueue.Chosen) -> None:
        self.approval = event.item

    @work(thread=True, exit_on_error=False)
    def load_older_history(self) -> None:
        if self.history is None:
            return
        older = self.dashboard.history_before(self.history)
        if older:
            self.call_from_thread(self.query_one(MessageFeed).prepend, older)
            # The history's rows live as long as the app: keep the garbage collector from walking
            # them again and again (full collections over 100,000 rows stalled keystrokes).
            gc.collect()
            gc.freeze()

    @work(exclusive=True, group="watch", exit_on_error=False)
    async def watch_files(self) -> None:
        """Wake the panes whose registry files changed (watch the folder: files are replaced)."""
        from watchfiles import awatch

        self.ws.registry_dir.mkdir(parents=True, exist_ok=True)
        async for changes in awatch(self.ws.registry_dir, debounce=30, step=10, recursive=False):
            kinds = {registry_file_kind(path) for _, path in changes} - {None}
            self.apply_changes(kinds)

    def apply_changes(self, kinds: set[str | None]) -> None:
        if "messages" in kinds:
            self.refresh_messages()
        if "agencies" in kinds:
            self.refresh_agencies_later()
        if kinds & {"messages", "tasks", "approvals"}:
            self.refresh_metrics()
        if "tasks" in kinds:
            self.refresh_tasks()
        if "approvals" in kinds:
            self.refresh_approvals()

    # --- actions -------------------------------------------------------------------------------

    def _tmux_ready(self, what: str) -> bool:
        if self.dashboard.tmux_error:
            self.notify(
                f"Cannot {what}: {self.dashboard.tmux_error}. Start tmux (or restore) and try again.", severity="error"
            )
            return False
        return True

    @work(thread=True, exit_on_error=False)
    def run_service(self, description: str, call: Callable[[], str]) -> None:
        """Run a service call off the screen's thread; say how it went."""
        try:
            done = call()
        except AgencyError as exc:
            self.call_from_thread(self.notify, f"{description}: {exc}", severity="error", timeout=8)
            return
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
            self.call_from_thread(
                self.notify, f"{description}: {type(exc).__name__}: {exc}", severity="error", timeout=8
            )
            return
        self.call_from_thread(self.notify, done)
        self.call_from_thread(self.refresh_approvals)
        self.call_from_thread(self.refresh_agencies_now)

    def action_approve(self) -> None:
        item = self.approval
        if item is None:
            self.notify("Nothing waits for approval.", severity="warning")
            return

        def decided(yes: bool | None) -> None:
            if yes:
                from tmux_agency.services.approvals import approve

                self.run_service(
                    f"approve #{item.id}",
                    lambda: (
                        f"Approved #{approve(self.ws, self.tmux, item.id).id}: {item.branch} merged into {item.base}"
                    ),
                )

        self.push_screen(
            ConfirmScreen(
                f"Approve #{item.id} {item.agency}: {item.title}?\nThis merges {item.branch} into {item.base}."
            ),
            decided,
        )

    def action_reject(self) -> None:
        item = self.approval
        if item is None:
            self.notify("Nothing waits for approval.", severity="warning")
            return

        from tmux_agency.services.approvals import get_item, lesson_line, reject

        try:
            full = get_item(self.ws, item.id)  # the lesson line needs the item as it is now
        except AgencyError as exc:
            self.notify(f"reject: {exc}", severity="error")
            return

        def rejected(answer: tuple[str, str] | None) -> None:
            if answer:
                feedback, shown = answer
                self.run_service(
                    f"reject #{item.id}",
                    lambda: (
                        f"Rejected #{reject(self.ws, self.tmux, item.id, feedback, shown=shown, when=when).id}: feedback sent to {item.agency}"
                    ),
                )

        now = self.clock()
        when = now.astimezone(timezone.utc) if now.tzinfo else now.astimezone().astimezone(timezone.utc)
        self.push_screen(
            RejectScreen(
                f"Reject #{item.id} {item.agency}: {item.title}",
                lambda text: lesson_line(full, text, when),
                item.agency,
            ),
            rejected,
        )

    def action_message(self) -> None:
        view = self.selection
        if view is None:
            self.notify("Select an agency or agent first.", severity="warning")
            return
        agency = view.agency if isinstance(view, AgentView) else view.name
        agent = view.name if isinstance(view, AgentView) else "coordinator"

        def send(text: str | None) -> None:
            if text:
                from tmux_agency.services.bus import Bus

                def call() -> str:
                    [message] = Bus(self.ws, self.tmux).send(agency, agent, text, sender=(None, "human")).messages
                    return f"Message {message['state']} to {agency}/{message['recipient_agent']}"

                self.run_service("send", call)

        self.push_screen(PromptScreen(f"Message to {agency}/{agent}", "TASK-001: … or STATUS, QUESTION …"), send)

    def action_new_agency(self) -> None:
        # A stopped server is fine (creating starts it); a missing tmux binary is not.
        if self.dashboard.tmux_error and "not installed" in self.dashboard.tmux_error:
            self._tmux_ready("create an agency")
            return

        from tmux_agency.services.specs import templates

        def create(choice: tuple[str, str] | None) -> None:
            if choice:
                from tmux_agency.services.agencies import create_agency

                template, name = choice

                def call() -> str:
                    record, result = create_agency(self.ws, self.tmux, name, template=template)
                    late = f" ({len(result.not_briefed)} not briefed yet)" if result.not_briefed else ""
                    return f"Created {record.name} from {template}: {len(record.agents)} agents{late}"

                self.run_service(f"create {name}", call)

        try:
            choices = templates(self.ws)
        except AgencyError as exc:
            self.notify(f"create: {exc}", severity="error")
            return
        running = {view.name for view in self._last_views or [] if view.status == "running"}
        self.push_screen(NewAgencyScreen(choices, running), create)

    def action_kill_agency(self) -> None:
        agency = self.selected_agency
        if agency is None:
            self.notify("Select an agency first.", severity="warning")
            return

        def decided(yes: bool | None) -> None:
            if yes:
                from tmux_agency.services.agencies import kill_agency

                self.run_service(
                    f"kill {agency.name}", lambda: f"Killed {kill_agency(self.ws, self.tmux, agency.name).record.name}"
                )

        self.push_screen(ConfirmScreen(f"Kill {agency.name}? Its tmux session stops; its files stay."), decided)

    def action_deploy(self) -> None:
        agency = self.selected_agency
        if agency is None:
            self.notify("Select an agency first.", severity="warning")
            return

        def deploy_branch(branch: str | None) -> None:
            if branch:
                from tmux_agency.services.approvals import deploy_for_review

                def call() -> str:
                    _, item = deploy_for_review(self.ws, self.tmux, agency.name, branch)
                    if item is None:
                        return f"{branch} is red: the failures went to {agency.name}'s coordinator"
                    return f"{branch} is green: approval #{item.id} waits for review"

                self.run_service(f"deploy {branch}", call)

        self.push_screen(PromptScreen(f"Deploy a branch of {agency.name} to the sandbox", "feature/…"), deploy_branch)

    def action_jump(self) -> None:
        """Go to the selected agent's pane: switch the client inside tmux, else attach."""
        view = self.selection
        pane = self._pane_for(view)
        if pane is None:
            self.notify("Select an agent first.", severity="warning")
            return
        if not self._tmux_ready("jump to a pane"):
            return
        from tmux_agency.services.jump import jump

        try:
            jump(self.tmux, pane, attach=lambda session: self.attach(self, self.tmux, session, pane))
        except AgencyError as exc:
            self.notify(f"jump: {exc}", severity="error")
        self.refresh_agencies_now()

    def action_filter(self) -> None:
        # The filter line is always there (showing and hiding it re-laid out the whole screen).
        self.query_one("#filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.query_one(MessageFeed).set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one(MessageFeed).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus or box.value:
            box.value = ""
            self.query_one(MessageFeed).set_filter("")
            self.query_one(MessageFeed).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, description, action in keys.palette():
            yield SystemCommand(title, description, getattr(self, f"action_{action}"))


def snapshot(
    ws: Workspace, tmux: Tmux, path: Path, size: tuple[int, int], clock: Callable[[], datetime] | None = None
) -> None:
    """Render the control room headless to an SVG and exit: CI's mode, and how screenshots are made."""
    app = ControlRoom(ws, tmux, watch=False, clock=clock, load_older=False)

    async def take(pilot) -> None:  # pilot: textual's Pilot
        await pilot.pause()
        await pilot.pause(0.2)
        app.save_screenshot(filename=path.name, path=str(path.parent))
        app.exit()

    app.run(headless=True, size=size, auto_pilot=take)
    if app.return_code or not path.is_file():
        raise WorldError(f"the control room could not be rendered to {path}")
