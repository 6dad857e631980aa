"""The control room's keys, written once: the bindings, the key bar, the help screen and the
command palette are all made from this table."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    shown: str  # as the key bar and the help show it ("enter", "/", "^p")
    help: str  # the help screen's line
    action: str | None = None  # the App's action; None: the focused widget handles the key
    binding: str | None = None  # Textual's key name(s), when the App binds it
    bar: str | None = None  # the key bar's word; None: not in the bar
    palette: tuple[str, str] | None = None  # the command palette's (title, description)
    help_shown: str | None = None  # as the help shows it, when that differs ("tab / shift+tab")


KEYS = (
    Key("tab", "move between panes", bar="pane", help_shown="tab[/b] / [b]shift+tab"),
    Key("↑ ↓", "select an agency, agent or approval; scroll the feed and the task graph"),
    Key(
        "enter",
        "jump to the selected agent's pane (outside tmux: attach; detach to come back)",
        action="jump",
        bar="jump",
        palette=("Jump to pane", "Go to the selected agent's tmux pane"),
    ),
    Key(
        "a",
        "approve the selected approval (asks to confirm; merges the branch)",
        action="approve",
        binding="a",
        bar="approve",
        palette=("Approve", "Approve the selected work (merge it)"),
    ),
    Key(
        "r",
        "reject it, with feedback that goes back to the agency",
        action="reject",
        binding="r",
        bar="reject",
        palette=("Reject", "Reject the selected work with feedback"),
    ),
    Key(
        "m",
        "send a message to the selected agent (or the agency's coordinator)",
        action="message",
        binding="m",
        bar="message",
        palette=("Send message", "Send a message to the selected agent"),
    ),
    Key(
        "d",
        "deploy a branch of the selected agency to the sandbox",
        action="deploy",
        binding="d",
        bar="deploy",
        palette=("Deploy", "Test a branch of the selected agency in the sandbox"),
    ),
    Key(
        "n",
        "create an agency from a template",
        action="new_agency",
        binding="n",
        bar="new",
        palette=("Create agency", "Start an agency from a template"),
    ),
    Key(
        "k",
        "kill the selected agency (asks to confirm)",
        action="kill_agency",
        binding="k",
        bar="kill",
        palette=("Kill agency", "Stop the selected agency"),
    ),
    Key(
        "/",
        "filter the message feed: words, agency:NAME, type:TASK · escape clears",
        action="filter",
        binding="slash",
        bar="filter",
        palette=("Filter feed", "Filter the message feed"),
    ),
    Key("ctrl+p", "command palette: every action", bar="palette", help_shown="ctrl+p"),
    Key("?", "this help", action="help", binding="question_mark", bar="help", palette=("Keys", "Show every key")),
    Key("q", "quit", action="quit", binding="q", bar="quit"),
)
# Bound, but too small for the bar and the help: escape also closes the filter.
HIDDEN = (Binding("escape", "clear_filter", "clear filter", show=False),)
# The bar's order: the verbs first, then moving about, then the app itself.
_BAR_ORDER = ("enter", "a", "r", "m", "d", "n", "k", "/", "tab", "?", "ctrl+p", "q")
_BAR_LABEL = {"ctrl+p": "^p"}
# The help's order: moving about, then the verbs, the message first (the one used most).
_HELP_ORDER = ("tab", "↑ ↓", "enter", "m", "a", "r", "d", "n", "k", "/", "ctrl+p")


def bindings() -> list[Binding]:
    """The App's BINDINGS: quit and help first, as Textual's footer lists them in order."""
    bound = [k for k in KEYS if k.binding]
    first = [k for k in bound if k.action in ("quit", "help")]
    first.sort(key=lambda k: k.action != "quit")
    return [
        Binding(k.binding or "", k.action or "", k.bar or k.shown) for k in first + [k for k in bound if k not in first]
    ] + list(HIDDEN)


def key_bar() -> str:
    by_shown = {k.shown: k for k in KEYS}
    return "  ".join(f"[b]{_BAR_LABEL.get(s, s)}[/] {by_shown[s].bar}" for s in _BAR_ORDER)


def help_text() -> str:
    lines = ["[b]Control room keys[/b]", ""]
    by_shown = {k.shown: k for k in KEYS}
    for key in (by_shown[s] for s in _HELP_ORDER):
        shown = key.help_shown or key.shown
        width = len(shown.replace("[/b]", "").replace("[b]", ""))
        lines.append(f"  [b]{shown}[/b]{' ' * max(2, 15 - width)}{key.help}")
    lines.append("  [b]?[/b]              this help            [b]q[/b]  quit")
    return "\n".join(lines) + "\n"


def palette() -> list[tuple[str, str, str]]:
    """(title, description, action) for the command palette, in the table's order, help last."""
    entries = [(k.palette[0], k.palette[1], k.action) for k in KEYS if k.palette and k.action]
    return sorted(entries, key=lambda e: e[2] == "help")
