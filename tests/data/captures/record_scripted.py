"""Record the scripted agent's captures (idle, busy, idle after a task) on a private tmux server.

    python tests/data/captures/record_scripted.py        # rewrites tests/data/captures/scripted/

The agent runs with no agency (its answers are only shown, not sent), in an 80x24 pane, as
`tmux capture-pane -p` sees it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "scripted"
SOCKET = f"captures-{os.getpid()}"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], check=True, capture_output=True, text=True).stdout


def wait_for(pane: str, needle: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", pane)
        if needle in screen:
            return screen
        time.sleep(0.05)
    raise SystemExit(f"pane never showed {needle!r}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUX", "TMUX_AGENCY_"))}
    command = f"{sys.executable} -m tmux_agency agent --pace 3"
    subprocess.run(
        ["tmux", "-L", SOCKET, "-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24", "-s", "rec", command],
        check=True, env=env,
    )
    try:
        pane = tmux("list-panes", "-t", "=rec", "-F", "#{pane_id}").strip()
        (OUT / "idle.txt").write_text(wait_for(pane, "ready ›"))
        subprocess.run(["tmux", "-L", SOCKET, "load-buffer", "-b", "rec", "-"], input="TASK-7: Add a /health endpoint with a test", text=True, check=True)
        tmux("paste-buffer", "-p", "-d", "-b", "rec", "-t", pane)
        tmux("send-keys", "-t", pane, "Enter")
        (OUT / "busy.txt").write_text(wait_for(pane, "working on TASK-7 …"))
        screen = wait_for(pane, "TASK-7 done", timeout=15)
        while not screen.rstrip().endswith("ready ›"):
            time.sleep(0.05)
            screen = tmux("capture-pane", "-p", "-t", pane)
        (OUT / "idle-after-task.txt").write_text(screen)
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
    print(f"recorded {', '.join(sorted(p.name for p in OUT.glob('*.txt')))} in {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
