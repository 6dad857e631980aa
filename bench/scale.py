#!/usr/bin/env python3
"""Benchmark at scale: does every command cost the same with 1,000 or 1,000,000 messages behind it?

Builds one workspace per size with `tests/sample_registry.populate` — 50 agencies of a coordinator
and 4 specialists, 500 tasks, 5 approvals, one message in ten still queued — with 1k, 100k and
1M messages in the history (the 1M history is ~775 MB). They are cached between runs under
--cache (default ~/.cache/tmux-agency/bench-scale), rebuilt when sample_registry.py changes.

Each command runs as a user or an agent runs it, as a fresh `tmux-agency` process against a
tmux socket with no server (so `send` keeps the message queued: the registry's share of the
cost, which is what grows; typing into a pane costs the same at any size, bench/bus.py has it).
For each command and size the table gives the median wall time of --samples runs and the
largest peak memory (the child's maximum resident set, from wait4), beside `python -c pass`.
Commands that write (send, send-inter, broadcast) add a few messages to the cached history
each run; a few hundred more among a million change nothing measurable.

With --tui, the control room at each size too (bench/tui.py's own children, registry down):
first frame, key -> frame p95, memory once the older history has loaded.

Usage: python bench/scale.py [--sizes 1k,100k,1m] [--samples 5] [--tui] [--json] [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}
SOCKET = f"bench-scale-{os.getpid()}"  # no server ever runs on it
AGENCY, AGENT, OTHER = "CodeAgency", "python-agent", "QAAgency"
PAYLOAD = json.dumps({"type": "alert", "severity": "low", "message": "bench: a broadcast"})
HANDOFF = json.dumps({"type": "handoff", "task": "bench: check the login flow", "branch": "feature/bench"})

# (label, arguments) — every command an agent or a person runs often (issue #17).
COMMANDS: list[tuple[str, list[str]]] = [
    ("send", ["send", AGENCY, AGENT, "STATUS bench: a status line"]),
    ("send-inter", ["send-inter", AGENCY, OTHER, HANDOFF]),
    ("broadcast", ["broadcast", AGENCY, PAYLOAD]),
    ("inbox", ["inbox", AGENCY]),
    ("inbox agent", ["inbox", AGENCY, AGENT]),
    ("log", ["log"]),
    ("log --agency", ["log", "--agency", AGENCY]),
    ("status", ["status"]),
    ("list", ["list"]),
    ("approvals", ["approvals"]),
    ("task list", ["task", "list"]),
    ("metrics", ["metrics"]),
]


# populate's story spaces messages ~5 s apart: a million of them span two months. They start
# early enough to lie in the past, as a real history does (a sweep judges only past messages).
START = datetime(2026, 7, 1, tzinfo=timezone.utc)


def populate_key() -> str:
    """Changes when the sample registry's code (or what this script asks of it) does: a cached
    workspace built otherwise is rebuilt."""
    code = (ROOT / "tests" / "sample_registry.py").read_bytes() + START.isoformat().encode()
    return hashlib.sha256(code).hexdigest()[:12]


def workspace(cache: Path, size: str) -> Path:
    """The cached workspace with SIZES[size] messages, built if missing or stale — by a child
    process: on Linux a child's peak memory (wait4) starts from its parent's, so this process
    stays small."""
    path = cache / size
    stamp = path / ".populated"
    if stamp.exists() and stamp.read_text() == populate_key():
        return path
    print(f"bench: building the {size} workspace in {path} (once; cached)", file=sys.stderr, flush=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--build", size, "--cache", str(cache)], check=True)
    print(f"bench: built in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return path


def build(cache: Path, size: str) -> None:
    from sample_registry import populate

    from tmux_agency.doors.workspace import Workspace, init_workspace

    path = cache / size
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    init_workspace(path)
    populate(
        Workspace(path), agencies=50, agents_per_agency=4, messages=SIZES[size], tasks=500, approvals=5, start=START
    )
    (path / ".populated").write_text(populate_key())


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, peak resident MB and exit status of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):  # 1: the world said no (e.g. a queued broadcast); 2: our own mistake
        err = child.stderr.read().decode(errors="replace") if child.stderr else ""
        raise SystemExit(f"bench: {' '.join(argv[3:6])} exited {child.returncode}: {err.strip()[-500:]}")
    if child.stderr:
        child.stderr.close()
    return wall, usage.ru_maxrss / 1024, child.returncode


def measure(argv: list[str], env: dict[str, str], cwd: Path, samples: int) -> dict[str, float]:
    run_once(argv, env, cwd)  # warm the file cache
    runs = [run_once(argv, env, cwd) for _ in range(samples)]
    return {"ms": statistics.median(r[0] for r in runs) * 1000, "mb": max(r[1] for r in runs)}


def control_room(ws: Path, env: dict[str, str]) -> dict[str, float]:
    """bench/tui.py's children on this workspace: its first frame and, once the older history
    has loaded, keys and memory."""
    tui = [sys.executable, str(ROOT / "bench" / "tui.py"), "--ws", str(ws), "--socket", SOCKET]
    started = time.time()
    first = subprocess.run([*tui, "--child", "startup"], env=env, capture_output=True, text=True, timeout=300)
    startup = json.loads(first.stdout.splitlines()[0])
    live = subprocess.run(
        [*tui, "--child", "live", "--changes", "5", "--keys", "20"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    after = json.loads(live.stdout.splitlines()[0])
    frames = sorted(after["frame_ms"])
    return {
        "first_frame_s": startup["frame_wall"] - started,
        "key_p95_ms": frames[min(len(frames) - 1, int(0.95 * len(frames)))],
        "rss_mb": after["peak_mb"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1k,100k,1m", help="comma-separated, of " + ", ".join(SIZES))
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--tui", action="store_true", help="the control room at each size too")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "tmux-agency" / "bench-scale")
    parser.add_argument("--build", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(args.cache, args.build)
        return 0
    sizes = args.sizes.split(",")
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {unknown[0]!r} (sizes: {', '.join(SIZES)})")

    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    env.update(TMUX_AGENCY_SOCKET=SOCKET, TZ="UTC", PYTHONDONTWRITEBYTECODE="")
    result: dict = {"sizes": sizes, "samples": args.samples, "commands": {}, "control_room": {}}
    result["python_ms"] = measure([sys.executable, "-c", "pass"], env, ROOT, args.samples)["ms"]
    for size in sizes:
        ws = workspace(args.cache, size)
        env_ws = {**env, "TMUX_AGENCY_HOME": str(ws)}
        for label, command in COMMANDS:
            argv = [sys.executable, "-m", "tmux_agency", *command]
            result["commands"].setdefault(label, {})[size] = measure(argv, env_ws, ws, args.samples)
        if args.tui:
            result["control_room"][size] = control_room(ws, env_ws)

    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


def print_table(result: dict) -> None:
    sizes = result["sizes"]
    print(
        f"python -c pass: {result['python_ms']:.0f} ms (median of {result['samples']}); time is the median, memory the peak"
    )
    head = f"{'command':<14}" + "".join(f"{s + ' ms':>10}{s + ' MB':>9}" for s in sizes) + f"{'last/first':>12}"
    print(head)
    print("-" * len(head))
    for label, by_size in result["commands"].items():
        cells = "".join(f"{by_size[s]['ms']:>10.0f}{by_size[s]['mb']:>9.0f}" for s in sizes)
        ratio = by_size[sizes[-1]]["ms"] / by_size[sizes[0]]["ms"]
        print(f"{label:<14}{cells}{ratio:>11.2f}x")
    if result["control_room"]:
        print()
        print(f"{'control room':<14}" + "".join(f"{s:>24}" for s in sizes))
        for key, unit in (("first_frame_s", "first frame s"), ("key_p95_ms", "key p95 ms"), ("rss_mb", "memory MB")):
            print(f"{unit:<14}" + "".join(f"{result['control_room'][s][key]:>24.2f}" for s in sizes))


if __name__ == "__main__":
    raise SystemExit(main())
