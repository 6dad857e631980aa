#!/usr/bin/env python3
"""Benchmark of the message bus: does a message cost the same with 1,000 or 100,000 before it?

Prints a table (or, with --json, one JSON object) with, from one run on this machine:
  send_ms_median_1k / _100k   wall time of the CLI `tmux-agency send` to a scripted agent
                              (median of --samples runs) with 1k / 100k messages in the history
  persist_per_s_100k          messages persisted per second in-process with 100k in the history
  baseline_python_ms          `python -c pass` with the same interpreter (process start-up)
  baseline_send_keys_ms       a bare `tmux send-keys` into the same pane
Goals (from the issue): send <= 100 ms at 100k and <= 1.3x its 1k figure; persist >= 2,000/s.

Usage: python bench/bus.py [--samples 25] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tmux_agency.doors.registry import MESSAGES  # noqa: E402
from tmux_agency.doors.tmux import Tmux  # noqa: E402
from tmux_agency.doors.workspace import init_workspace  # noqa: E402
from tmux_agency.services.bus import HISTORY, Bus, new_message  # noqa: E402


def seed_history(bus: Bus, total: int) -> None:
    """Grow the history to `total` message events, chained, keyed and with its head exactly as
    the bus writes them (the bus's own chain, in one append: one write, one sync)."""
    path = bus.registry.path(HISTORY)
    have = sum(1 for _ in open(path, "rb")) if path.exists() else 0
    events = []
    for n in range(have, total):
        message = new_message(
            "intra", "STATUS", ("Bench", "worker"), ("Bench", "bench-coordinator"), f"STATUS worker: seeded message {n}"
        )
        events.append({"event": "message", "message": message})
    with bus.registry.lock(HISTORY):
        bus.chain.append(events)


def wall_ms(argv: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = (time.perf_counter() - start) * 1000
    if result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[:4])} failed: {result.stderr.strip()}")
    return elapsed


def median_ms(argv: list[str], env: dict[str, str], cwd: str, samples: int) -> float:
    wall_ms(argv, env, cwd)  # warm the file cache
    return statistics.median(wall_ms(argv, env, cwd) for _ in range(samples))


def persist_rate(bus: Bus, count: int) -> float:
    """Messages persisted per second (history + queue + activity log), in batches of 100 so the
    queue stays as small as delivery keeps it in real use."""
    elapsed = 0.0
    for batch in range(count // 100):
        messages = [
            new_message("intra", "STATUS", (None, "human"), ("Bench", "worker"), f"STATUS persisted {batch}-{n}")
            for n in range(100)
        ]
        start = time.perf_counter()
        for message in messages:
            bus._persist([message])
        elapsed += time.perf_counter() - start
        with bus.registry.transaction(MESSAGES) as queue:
            queue.truncate()
    return count / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=25)
    parser.add_argument("--persist", type=int, default=2000, help="messages for the persist rate")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("bench: tmux is not installed")

    root = Path(tempfile.mkdtemp(prefix="tmux-agency-bench-"))
    socket = f"bench-{os.getpid()}"
    env = {
        **os.environ,
        "TMUX_AGENCY_HOME": str(root / "ws"),
        "TMUX_AGENCY_SOCKET": socket,
        "TMUX_AGENCY_AGENT_PACE": "0",
    }
    for key in ("TMUX_AGENCY_AGENCY", "TMUX_AGENCY_AGENT", "TMUX", "TMUX_PANE"):
        env.pop(key, None)
    try:
        project = root / "project"
        project.mkdir()
        subprocess.run(["git", "init", "-q", str(project)], check=True)
        ws, _ = init_workspace(root / "ws", project)
        python = sys.executable
        # What agents run: the installed `tmux-agency` script next to this interpreter.
        script = Path(python).with_name("tmux-agency")
        cli = [str(script)] if script.exists() else [python, "-m", "tmux_agency"]
        # pip compiles a package's bytecode when it installs it; an editable install does not,
        # and without bytecode every call would recompile our sources (~40 ms).
        subprocess.run(
            [python, "-m", "compileall", "-q", str(Path(__file__).resolve().parent.parent / "tmux_agency")], check=True
        )
        subprocess.run(
            [*cli, "create", "Bench", "--agents", "worker"], env=env, cwd=str(root), check=True, capture_output=True
        )
        tmux = Tmux(socket)
        bus = Bus(ws, tmux)
        pane = next(p.pane_id for p in tmux.list_panes() if p.window_name == "worker")

        # "STATUS" to the worker: the scripted agent shows it and stays idle, like a real ack.
        send = [*cli, "send", "Bench", "worker", "STATUS bench: ping"]
        seed_history(bus, 1_000)
        send_1k = median_ms(send, env, str(root), args.samples)
        seed_history(bus, 100_000)
        send_100k = median_ms(send, env, str(root), args.samples)
        persist_100k = persist_rate(bus, args.persist)
        baseline_python = median_ms([python, "-c", "pass"], env, str(root), args.samples)
        baseline_keys = median_ms(
            ["tmux", "-L", socket, "send-keys", "-t", pane, "-l", ""], env, str(root), args.samples
        )
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

    result = {
        "send_ms_median_1k": round(send_1k, 1),
        "send_ms_median_100k": round(send_100k, 1),
        "send_ratio_100k_to_1k": round(send_100k / send_1k, 2),
        "persist_per_s_100k": round(persist_100k),
        "baseline_python_ms": round(baseline_python, 1),
        "baseline_send_keys_ms": round(baseline_keys, 1),
        "samples": args.samples,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    rows = [
        ("send, 1k in history", f"{send_1k:.1f} ms", "<= 100 ms"),
        ("send, 100k in history", f"{send_100k:.1f} ms", "<= 100 ms"),
        ("send 100k / 1k", f"{send_100k / send_1k:.2f}x", "<= 1.3x"),
        ("persist, 100k in history", f"{persist_100k:,.0f} /s", ">= 2,000 /s"),
        ("baseline: python -c pass", f"{baseline_python:.1f} ms", ""),
        ("baseline: tmux send-keys", f"{baseline_keys:.1f} ms", ""),
    ]
    print(f"{'measure':<28} {'value':>12}  goal")
    for name, value, goal in rows:
        print(f"{name:<28} {value:>12}  {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
