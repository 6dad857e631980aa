"""A stand-in for an AI CLI that opens with a trust dialog, for the tests of dialog handling.

It shows "Do you trust this folder?" until someone presses y; then clears the screen and shows
its prompt `fake> `. A message "ASK" makes it show a permission question until y is pressed.
Everything it receives goes to $FAKE_CLI_LOG, one line each: ANSWER (a key that answered a
dialog), DIALOG-INPUT (anything else typed while a dialog showed — what must never happen),
MESSAGE (a submitted message: its first line and its line count).
With FAKE_CLI_DIALOG_AFTER_PASTE=1 it raises the permission question the moment a paste ends,
before any Enter - as Codex raises its trust dialog a moment after it first shows its composer.
"""

from __future__ import annotations

import os
import sys
import termios

PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


def log(line: str) -> None:
    with open(os.environ["FAKE_CLI_LOG"], "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def show(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def main() -> int:
    fd = sys.stdin.fileno()
    mode = termios.tcgetattr(fd)
    mode[3] &= ~(termios.ICANON | termios.ECHO)
    termios.tcsetattr(fd, termios.TCSANOW, mode)
    show("\x1b[?2004h")  # bracketed paste on
    show("Do you trust this folder?\r\n  " + os.getcwd() + "\r\n  press y to trust it\r\n")
    dialog = "trust"
    pending, current, in_paste = "", [], False
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return 0
        if dialog:
            text = chunk.decode("utf-8", errors="replace")
            if text == "y":
                log(f"ANSWER {dialog} y")
                dialog = ""
                show("\x1b[2J\x1b[Hfake-cli ready\r\nfake> ")
            else:
                log(f"DIALOG-INPUT {dialog} {text!r}")
            continue
        pending += chunk.decode("utf-8", errors="replace")
        while pending:
            if pending.startswith(PASTE_START):
                in_paste, pending = True, pending[len(PASTE_START) :]
            elif pending.startswith(PASTE_END):
                in_paste, pending = False, pending[len(PASTE_END) :]
                if os.environ.get("FAKE_CLI_DIALOG_AFTER_PASTE") == "1":
                    dialog, pending = "permission", ""
                    show("\r\nAllow this action? press y to allow\r\n")
                    break
            elif pending[0] == "\x1b" and len(pending) < len(PASTE_START):
                break
            elif pending[0] in "\r\n" and not in_paste:
                pending = pending[1:]
                message, current = "".join(current), []
                if not message.strip():
                    continue
                lines = message.strip().splitlines()
                log(f"MESSAGE {lines[0]} ({len(lines)} lines)")
                if message.strip() == "ASK":
                    dialog = "permission"
                    show("\r\nAllow this action? press y to allow\r\n")
                    pending = ""
                    break
                show(f"\r\ngot: {lines[0][:60]}\r\nfake> ")
            else:
                char, pending = pending[0], pending[1:]
                current.append("\n" if char == "\r" else char)


if __name__ == "__main__":
    raise SystemExit(main())
