"""`n`: create an agency from a template — pick one of the workspace's agencies or a starter,
name the new agency (the template's own name starts it as it is), enter creates it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tmux_agency.models.names import check_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmux_agency.models.schema import AgencySpec


class NewAgencyScreen(ModalScreen[tuple[str, str] | None]):
    """Dismisses with (template, name), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, templates: list[AgencySpec], running: set[str]) -> None:
        super().__init__()
        self.templates = templates
        self.running = running

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog new-agency"):
            yield Label("Create an agency from a template", classes="dialog-title")
            yield OptionList(*(self._option(spec) for spec in self.templates), id="templates")
            yield Input(placeholder="name of the new agency", id="agency-name")
            yield Static("↑↓ template · tab name · enter creates · escape cancels", classes="dialog-hint")

    def _option(self, spec: AgencySpec) -> Option:
        label = Text(spec.name, style="bold", no_wrap=True, overflow="ellipsis")
        if spec.name in self.running:
            label.append("  running", style="green")
        label.append(f"  {1 + len(spec.agents)} agents", style="dim")
        if spec.capabilities:
            label.append(f"  {', '.join(spec.capabilities[:4])}", style="dim")
        return Option(label, id=spec.name)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.templates:
            options.highlighted = 0
            self._suggest(self.templates[0].name)
        options.focus()

    def _suggest(self, template: str) -> None:
        """The template's own name if it is not running, else the first free numbered copy."""
        name, n = template, 2
        taken = self.running | {spec.name for spec in self.templates if spec.name != template}
        while name in self.running or (name != template and name in taken):
            name, n = f"{template}{n}", n + 1
        self.query_one("#agency-name", Input).value = name

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self._suggest(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#agency-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            self.notify("Pick a template first.", severity="warning")
            return
        template = self.templates[options.highlighted].name
        name = event.value.strip()
        try:
            check_name(name, "agency name")
        except ValueError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.dismiss((template, name))

    def action_cancel(self) -> None:
        self.dismiss(None)
