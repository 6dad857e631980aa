"""What every command shares: the workspace and tmux server it works on, stdin, one-line errors, JSON output."""

from __future__ import annotations

import json
import os
import sys

from tmux_agency.models.errors import UsageError

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see doors/registry.py)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any


PROG = "tmux-agency"


def workspace_of(args: argparse.Namespace):
    from tmux_agency.doors.workspace import find_workspace

    return find_workspace(args.home)


def tmux_of(args: argparse.Namespace):
    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.doors.workspace import SOCKET_ENV

    socket = args.socket or os.environ.get(SOCKET_ENV) or None
    if socket is not None:
        from tmux_agency.doors.workspace import validate_name

        validate_name(socket, "socket name")
    return Tmux(socket)


def read_stdin() -> str:
    """The text piped in for `-`, decoded strictly: Python's own stdin would turn bytes that
    are not UTF-8 into lone surrogates (or fail with a traceback), which no file can store."""
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"the text on stdin is not valid UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from None


def check_utf8(argv: Sequence[str]) -> None:
    """Refuse an argument that is not valid UTF-8. Python hands such bytes over as lone
    surrogates (U+DC80-U+DCFF), which would fail later, when the text is written."""
    for number, word in enumerate(argv, 1):
        try:
            word.encode("utf-8")
        except UnicodeEncodeError as exc:
            char = ord(word[exc.start])
            what = f"byte {char - 0xDC00:#04x}" if 0xDC80 <= char <= 0xDCFF else f"a lone surrogate U+{char:04X}"
            raise UsageError(f"argument {number} is not valid UTF-8 ({what} at character {exc.start})") from None


def error_line(text: str) -> str:
    """An error message as the one line it must be: a newline from user input (a name, a
    path, a payload's type) shows as \\n instead of starting a second line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def attach_hint(tmux: Any, session: str) -> str:
    socket = f" -L {tmux.socket_name}" if tmux.socket_name else ""
    return f"tmux{socket} attach -t {session}"
