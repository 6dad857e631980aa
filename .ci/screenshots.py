#!/usr/bin/env python3
"""Render the control room's pictures in screenshots/ from a fixed sample registry, and one of a
live demo.

Usage: .venv/bin/python .ci/screenshots.py   (needs rsvg-convert: apt-get install librsvg2-bin)
SVGs come from Textual's headless screenshot; rsvg-convert turns them into PNGs. Textual writes
spaces as &#160; in separate <text> runs, which rsvg draws collapsed, so the SVG is given
xml:space="preserve" and plain spaces first.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.sample_registry import populate  # noqa: E402
from tmux_agency.doors.tmux import Tmux  # noqa: E402
from tmux_agency.doors.workspace import init_workspace  # noqa: E402
from tmux_agency.tui.app import ControlRoom  # noqa: E402

SIZE = (140, 42)
SHOTS = {
    "control-room": [],
    "approval-details": ["tab", "tab", "down"],
    "reject-modal": ["r", *"Split the page into two PRs and add a test for the empty profile"],
}


async def render(ws, keys: list[str], out: Path) -> None:
    app = ControlRoom(
        ws,
        Tmux("tmux-agency-screenshots"),
        watch=False,
        load_older=False,
        clock=lambda: datetime(2026, 11, 25, 10, 42, tzinfo=timezone.utc),
    )
    async with app.run_test(size=SIZE) as pilot:
        if keys[:2] == ["tab", "tab"]:
            app.query_one("#approval-table").focus()
            keys = keys[2:]
        await pilot.press(*keys)
        await pilot.pause(0.3)
        app.save_screenshot(filename=out.name, path=str(out.parent))


def to_png(svg: Path, png: Path) -> None:
    text = svg.read_text().replace("<svg ", '<svg xml:space="preserve" ', 1).replace("&#160;", " ")
    fixed = svg.with_suffix(".fixed.svg")
    fixed.write_text(text)
    subprocess.run(["rsvg-convert", "-w", "1680", str(fixed), "-o", str(png)], check=True)


def main() -> int:
    if shutil.which("rsvg-convert") is None:
        raise SystemExit("screenshots: rsvg-convert is missing (apt-get install librsvg2-bin fonts-firacode)")
    os.environ["TZ"] = "UTC"
    time.tzset()
    tmp = Path(tempfile.mkdtemp(prefix="tmux-agency-shots-"))
    (tmp / "project").mkdir()
    ws, _ = init_workspace(tmp / "ws", tmp / "project")
    populate(ws)
    out_dir = ROOT / "screenshots"
    out_dir.mkdir(exist_ok=True)
    for name, keys in SHOTS.items():
        svg = tmp / f"{name}.svg"
        asyncio.run(render(ws, keys, svg))
        to_png(svg, out_dir / f"{name}.png")
        print(f"screenshots/{name}.png")
    shutil.rmtree(tmp, ignore_errors=True)
    demo_shot(out_dir)
    return 0


def demo_shot(out_dir: Path) -> None:
    """screenshots/demo.png: the control room on a live `tmux-agency demo`, once it has reached
    the approval queue (tmux up, agents idle, the whole story in the feed)."""
    tmp = Path(tempfile.mkdtemp(prefix="tmux-agency-demo-shot-"))
    socket = f"tmux-agency-demo-shot-{os.getpid()}"
    cli = [sys.executable, "-m", "tmux_agency"]
    try:
        subprocess.run(
            [*cli, "demo", "--headless", "--keep", "--dir", str(tmp / "demo"), "--socket", socket, "--pace", "0.3"],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        svg = tmp / "demo.svg"
        subprocess.run(
            [
                *cli,
                "--home",
                str(tmp / "demo" / "workspace"),
                "--socket",
                socket,
                "tui",
                "--snapshot",
                str(svg),
                "--size",
                f"{SIZE[0]}x{SIZE[1]}",
            ],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        to_png(svg, out_dir / "demo.png")
        print("screenshots/demo.png")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
