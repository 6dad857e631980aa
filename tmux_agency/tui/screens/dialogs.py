"""Small modal dialogs: confirm, ask for a line of text (feedback, a message, a name), help."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tmux_agency.tui import keys


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no; `y`/enter confirm, `n`/escape cancel."""

    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n,escape", "answer(False)", "no")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title", markup=False)  # may hold a commit's subject
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes (y)", id="yes", variant="success")
                yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class PromptScreen(ModalScreen[str | None]):
    """One line of text: the reject feedback, a message to an agent, an agency name, a branch."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(
        self, title: str, placeholder: str = "", hint: str = "enter sends · escape cancels", value: str = ""
    ) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.hint = hint
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static(self.hint, classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.dismiss(text)
        else:
            self.notify("Type something first, or escape to cancel.", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(None)


class RejectScreen(ModalScreen["tuple[str, str] | None"]):
    """The feedback of a rejection, with the exact line it adds to the agency's lessons.md shown
    as it is typed: nothing reaches a later briefing that the person did not see. Dismisses with
    (feedback, the line shown)."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, lesson: Callable[[str], str], agency: str) -> None:
        super().__init__()
        self.title_text = title
        self.lesson = lesson  # feedback → the line that will be saved
        self.agency = agency

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog reject"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Input(placeholder="What should the agency change?", id="prompt-input")
            yield Static(
                f"This line goes into agencies/{self.agency}/lessons.md; later briefings quote it as a reviewer's note:",
                classes="dialog-hint",
                markup=False,
            )
            yield Static(id="lesson-preview", markup=False)
            yield Static("enter rejects and saves this line · escape cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._preview("")

    def on_input_changed(self, event: Input.Changed) -> None:
        self._preview(event.value)

    def _preview(self, feedback: str) -> None:
        self.query_one("#lesson-preview", Static).update(Text(self.lesson(feedback), style="bold"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        line = self.lesson(event.value)
        if event.value.strip():
            self.dismiss((event.value, line))
        else:
            self.notify("Type something first, or escape to cancel.", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss_help", "close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Static(keys.help_text())

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
