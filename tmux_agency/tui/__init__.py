"""The control room (Textual). Importing this package, before Textual, sets the frame rate it paints at."""

from __future__ import annotations

import os
import sys

FRAMES_PER_SECOND = 120


def _pace_frames() -> None:
    """Textual paints at most TEXTUAL_FPS frames a second (60 unless set) and, after an idle spell,
    makes the second frame of a burst wait one to two periods. A key whose effects take two frames
    (a pane's border, then its scrollbar; the highlight, then the preview) showed its last change
    17-33 ms after its first; at 120 it is 8-17 ms. A frame is painted only when something changed,
    so an idle screen costs nothing more. Textual reads the variable once, when it is imported; it
    is set only for that moment, so programs started from the control room never inherit it."""
    if "textual.constants" in sys.modules or "TEXTUAL_FPS" in os.environ:
        return  # too late to matter (Textual is loaded), or the user chose a rate
    os.environ["TEXTUAL_FPS"] = str(FRAMES_PER_SECOND)
    try:
        import textual.constants  # noqa: F401 - reads TEXTUAL_FPS now
    finally:
        del os.environ["TEXTUAL_FPS"]


_pace_frames()
