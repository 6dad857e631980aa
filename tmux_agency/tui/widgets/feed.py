"""The message feed: newest last, coloured by type, filterable — virtualised, so 100,000 messages
cost no more to show than 100 (only the lines on screen are rendered, Toolong's pattern)."""

from __future__ import annotations

from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tmux_agency.services.dashboard import FeedRow

TYPE_STYLES = {
    "TASK": Style(color="bright_cyan", bold=True),
    "STATUS": Style(color="green"),
    "COMPLETE": Style(color="bright_green", bold=True),
    "QUESTION": Style(color="yellow"),
    "BLOCKED": Style(color="bright_red", bold=True),
    "NOTE": Style(color="white"),
    "handoff": Style(color="magenta", bold=True),
    "results": Style(color="bright_magenta"),
    "alert": Style(color="red", bold=True),
}
DIM = Style(dim=True)
SENDER = Style(color="bright_blue")


class MessageFeed(ScrollView, can_focus=True):
    """Rows are kept as data; `render_line` draws just the visible ones."""

    DEFAULT_CSS = "MessageFeed { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[FeedRow] = []
        self.shown: list[int] = []  # indexes into rows that pass the filter
        self.filter_text = ""
        self._follow = True

    # --- data ----------------------------------------------------------------------------------

    def set_rows(self, rows: list[FeedRow]) -> None:
        self.rows = list(rows)
        self._refilter()

    def prepend(self, rows: list[FeedRow]) -> None:
        """Older history, loaded after the first frame."""
        if rows:
            at_end = self._at_end()
            self.rows = list(rows) + self.rows
            self._refilter(keep_end=at_end)

    def append(self, rows: list[FeedRow]) -> None:
        if not rows:
            return
        at_end = self._at_end()
        start = len(self.rows)
        self.rows.extend(rows)
        self.shown.extend(i for i in range(start, len(self.rows)) if self._matches(self.rows[i]))
        self._resize(at_end)

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        self._refilter(keep_end=True)

    def _matches(self, row: FeedRow) -> bool:
        """Every word must match an agency, the type, the sender/recipient or the text."""
        for word in self.filter_text.lower().split():
            key, _, value = word.partition(":")
            if value and key in ("agency", "a"):
                if not any(value == a.lower() for a in row.agencies):
                    return False
            elif value and key in ("type", "t"):
                if row.type.lower() != value:
                    return False
            elif not (
                word in row.text.lower()
                or word in row.sender.lower()
                or word in row.recipient.lower()
                or word == row.type.lower()
                or any(word == a.lower() for a in row.agencies)
            ):
                return False
        return True

    def _refilter(self, keep_end: bool = True) -> None:
        if self.filter_text:
            self.shown = [i for i, row in enumerate(self.rows) if self._matches(row)]
        else:
            self.shown = list(range(len(self.rows)))
        self._resize(keep_end)

    def _at_end(self) -> bool:
        return self.scroll_offset.y >= self.max_scroll_y - 1

    def _resize(self, follow: bool) -> None:
        self.virtual_size = Size(self.size.width or 80, len(self.shown))
        self.refresh()
        if follow:
            self.call_after_refresh(self.scroll_end, animate=False)

    # --- drawing -------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width, base = self.size.width, self.rich_style  # base: the pane's own colours, under each row's
        if index >= len(self.shown):
            return Strip.blank(width, base)
        row = self.rows[self.shown[index]]
        strip = Strip(self._segments(row))
        return strip.crop_extend(scroll_x, scroll_x + width, None).apply_style(base)

    @staticmethod
    def _segments(row: FeedRow) -> list[Segment]:
        style = TYPE_STYLES.get(row.type, Style())
        arrow = " ⇒ " if row.kind != "intra" else " → "
        text = row.text_after_type
        return [
            Segment(_clock(row.time) + " ", DIM),
            Segment(row.sender, SENDER),
            Segment(arrow, DIM),
            Segment(row.recipient + "  ", SENDER),
            Segment(f"{row.type:<8} ", style),
            Segment(text[:400], style if row.kind != "intra" else Style()),
        ]


def _clock(when: datetime) -> str:
    return when.astimezone().strftime("%H:%M:%S")
