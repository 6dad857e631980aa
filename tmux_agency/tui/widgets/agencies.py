"""The agency list: each agency and its agents with their state, one line each."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tmux_agency.services.dashboard import AgencyView, AgentView

STATE_STYLES = {
    "busy": "bold yellow",
    "waiting": "bold magenta",
    "idle": "green",
    "running": "green",
    "down": "bold red",
    "dialog": "bold reverse magenta",  # the program asks the human something first
    "needs-you": "bold reverse magenta",  # a screen its profile does not know: nothing is typed
    "unknown": "dim",  # its workspace profile does not load (the title bar says why)
}


NAME_WIDTH = 16  # with the tree and the state, a row fits the pane's 28 columns; longer names end in "…"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class AgencyList(OptionList):
    """Rows `agency:NAME` and `agent:AGENCY/NAME`; the highlighted row survives refreshes.

    It tells the App what the person points at (Chosen) and what they open (Opened): the App
    acts on what it was told, it never reads the list."""

    class Chosen(Message):
        """The row under the cursor: an agent or an agency (None when the list is empty), with
        the agency it belongs to. Sent again when a refresh changes what that row shows."""

        def __init__(self, view: AgencyView | AgentView | None, agency: AgencyView | None) -> None:
            super().__init__()
            self.view = view
            self.agency = agency

    class Opened(Message):
        """Enter on a row: the person wants to go to its pane."""

        def __init__(self, view: AgencyView | AgentView | None) -> None:
            super().__init__()
            self.view = view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.views: dict[str, AgencyView | AgentView] = {}
        self._told: AgencyView | AgentView | None = None

    def _tell_chosen(self) -> None:
        view = self.selected_view
        if view == self._told:
            return
        self._told = view
        agency = self.views.get(f"agency:{view.agency}") if isinstance(view, AgentView) else view
        self.post_message(self.Chosen(view, agency if isinstance(agency, AgencyView) else None))

    def watch_highlighted(self, highlighted: int | None) -> None:
        # OptionList's own watcher posts OptionHighlighted for the App to handle; Chosen takes its
        # place, posted at the same moment (relayed from a handler here, it would reach the App
        # one message later, and the preview a frame later after each key).
        if highlighted is not None:
            self.scroll_to_highlight()
            self._tell_chosen()

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Opened(self.selected_view))

    def show(self, agencies: list[AgencyView]) -> None:
        current = self.highlighted_id
        options: list[Option] = []
        self.views = {}
        for agency in agencies:
            key = f"agency:{agency.name}"
            self.views[key] = agency
            mark = Text("● ", style="green") if agency.status == "running" else Text("○ ", style="red")
            up_style = "green" if agency.up == len(agency.agents) else "yellow" if agency.up else "red"
            label = Text.assemble(
                mark, (agency.name, "bold"), ("  ", ""), (f"{agency.up}/{len(agency.agents)} up", up_style)
            )
            waiting = sum(agent.queued for agent in agency.agents)
            if waiting:
                label.append(f" ✉{waiting}", style="yellow")
            options.append(Option(label, id=key))
            for n, agent in enumerate(agency.agents):
                key = f"agent:{agency.name}/{agent.name}"
                self.views[key] = agent
                branch = "└ " if n == len(agency.agents) - 1 else "├ "
                queued = f" ✉{agent.queued}" if agent.queued else ""
                options.append(
                    Option(
                        Text.assemble(
                            ("  " + branch, "dim"),
                            (f"{_fit(agent.name, NAME_WIDTH):<{NAME_WIDTH}}", "bold" if agent.coordinator else ""),
                            (f" {agent.state}", STATE_STYLES.get(agent.state, "")),
                            (queued, "yellow"),
                        ),
                        id=key,
                    )
                )
        self.clear_options()
        self.add_options(options)
        if current and current in self.views:
            self.highlighted = self.get_option_index(current)
        elif options and self.highlighted is None:
            self.highlighted = 0
        self._tell_chosen()

    @property
    def highlighted_id(self) -> str | None:
        if self.highlighted is None or self.highlighted >= self.option_count:
            return None
        return self.get_option_at_index(self.highlighted).id

    @property
    def selected_view(self) -> AgencyView | AgentView | None:
        key = self.highlighted_id
        return self.views.get(key) if key else None

    def visible_pane_ids(self) -> set[str]:
        """Panes of the agents on screen: only those are captured to read their state."""
        first = self.scroll_offset.y
        last = first + max(self.size.height, 40)
        ids = set()
        for index in range(first, min(last, self.option_count)):
            view = self.views.get(self.get_option_at_index(index).id or "")
            if isinstance(view, AgentView) and view.pane_id:
                ids.add(view.pane_id)
        return ids
