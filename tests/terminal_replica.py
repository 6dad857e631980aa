"""A replica of the terminal the control room paints: every update it sends (full frames and the
partial ones that only repaint what changed) is applied to a grid of cells, as a terminal would.
A test can then compare what the user sees with what a full repaint would show: a widget that
changed without being repainted shows up as a difference."""

from __future__ import annotations

from rich.console import Console
from rich.segment import ControlType
from textual.app import App


class TerminalReplica:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cells: list[list[tuple[str, object]]] = [[(" ", None)] * width for _ in range(height)]
        self.frames = 0
        self._console = Console(width=width, height=height, force_terminal=True, color_system="truecolor")

    @classmethod
    def attach(cls, app: App, size: tuple[int, int]) -> TerminalReplica:
        """Record every frame `app` (not yet running, to be run at `size`) hands to its display."""
        replica = cls(*size)
        display = app._display

        def recorded(screen, renderable) -> None:
            display(screen, renderable)
            if renderable is not None:
                replica.apply(renderable)

        app._display = recorded
        return replica

    def apply(self, renderable) -> None:
        """Write an update's segments at the positions its cursor moves name."""
        self.frames += 1
        x = y = 0
        for segment in self._console.render(renderable):
            if segment.control:
                for control in segment.control:
                    if control[0] == ControlType.CURSOR_MOVE_TO:
                        x, y = control[1], control[2]
                continue
            if segment.text == "\n":
                continue  # every line of an update starts with its own cursor move
            for char in segment.text:
                if 0 <= y < self.height and 0 <= x < self.width:
                    self.cells[y][x] = (char, segment.style)
                x += 1

    @classmethod
    def full_repaint(cls, app: App) -> TerminalReplica:
        """What the screen shows when everything is painted from scratch."""
        fresh = cls(*app.size)
        fresh.apply(app.screen._compositor.render_update(full=True))
        return fresh

    def text(self) -> list[str]:
        return ["".join(char for char, _ in row) for row in self.cells]

    def differences(self, other: TerminalReplica) -> list[str]:
        """Rows (with their number) where the two screens differ, in characters or style."""
        return [
            f"row {y}: {''.join(c for c, _ in mine)!r}"
            for y, (mine, theirs) in enumerate(zip(self.cells, other.cells))
            if mine != theirs
        ]
