#!/usr/bin/env python3
"""Benchmark of the control room (`tmux-agency tui`) at the issue's size: is it still quick with
50 agencies, 200+ agents, 100,000 messages, 500 tasks?

The registry is `sample_registry.big()`: 50 agencies of a coordinator and 4 specialists (250
agents), 100,000 hash-chained messages (an ~80 MB history), 500 tasks, 5 approvals. The App runs
headless (`App.run_test(size=(120, 40))`), with the watchfiles worker on (watch=True) and the
older history loading in the background (load_older=True), exactly as `tmux-agency tui` starts
it; tmux is pointed at a socket nothing listens on, so it shows as down (no panes to capture).
TZ=UTC.

Prints a table (or, with --json, one JSON object) with, from one run on this machine:
  startup_s                 from just before the parent spawns a fresh `python bench/tui.py
                            --child startup` to the first full frame in it (median of
                            --startups runs): interpreter start-up, imports, building the App,
                            on_mount (agencies, newest 512 KB of the history, tasks, approvals)
                            and the first composed, painted screen — what a user waits for.
                            "First frame" = after `async with app.run_test(...)` has entered and
                            the first `await pilot.pause()` has returned.
  startup_in_process_s      the same, but timed inside the child from the top of this script
                            (so without the interpreter's own start-up)
  startup_wall_s            the same, as the parent sees it: spawn until it reads the child's
                            "first frame" line
  change_to_screen_p95_ms   another process (a `--writer` child using Bus._persist, the bus's own
                            append to the hash-chained history) writes one message; time from
                            just before its write to the moment the new row is in
                            MessageFeed.rows, polled every 5 ms (`await pilot.pause(0.005)`);
                            p95 of --changes samples. This is registry write -> row in the
                            feed's data; the frame that shows it follows on the next refresh.
                            Measured once the older history has finished loading.
  keystroke_p95_ms          `await pilot.press(key)` plus one `await pilot.pause()`, for keys that
                            move the selection or focus: down/up in the agency list, tab and
                            shift+tab between panes, / (open the filter) then escape (close it);
                            p95 of --keys samples (medians per key in --json)
  peak_mb                   peak RSS (ru_maxrss) of the fresh child that ran the App at that size
                            for the two measures above: full history loaded, 30 writes, 50 keys
  startup_peak_mb           peak RSS of a startup child at its first frame (median)
Baselines, from the same run:
  baseline_import_textual_s `python -c "import textual.app"` wall time (median of --startups)
  startup_empty_s           startup_s with an initialised but empty registry: what the data costs
Goals (from the issue): startup_s <= 1.0, change_to_screen_p95_ms <= 150, keystroke_p95_ms <= 50,
peak_mb <= 200.

Usage: python bench/tui.py [--startups 5] [--changes 30] [--keys 50] [--json]
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()  # the top of the script: a child's in-process clock starts here

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (120, 40)
MESSAGES = 100_000  # big()'s history
CHILD_TIMEOUT_S = 60
GOALS = {"startup_s": 1.0, "change_to_screen_p95_ms": 150.0, "keystroke_p95_ms": 50.0, "peak_mb": 200.0}
# down/up in the agency list, tab/shift+tab between panes, / then escape: one round, 10 keys
KEY_ROUND = ("down", "down", "down", "up", "up", "up", "tab", "shift+tab", "slash", "escape")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]


# --- children ---------------------------------------------------------------------------------


def child_startup(ws_path: str, socket: str) -> None:
    """Run the App to its first frame; print one JSON line and leave at once."""
    import asyncio

    from tmux_agency.tmux import Tmux
    from tmux_agency.tui.app import ControlRoom
    from tmux_agency.tui.widgets.agencies import AgencyList
    from tmux_agency.tui.widgets.feed import MessageFeed
    from tmux_agency.workspace import Workspace

    imported = time.perf_counter()

    async def run() -> dict:
        app = ControlRoom(Workspace(Path(ws_path)), Tmux(socket))
        built = time.perf_counter()
        async with app.run_test(size=SIZE) as pilot:
            entered = time.perf_counter()
            await pilot.pause()
            frame_perf, frame_wall = time.perf_counter(), time.time()
            result = {
                "frame_wall": frame_wall,
                "in_process_s": frame_perf - _T0,
                "imports_s": imported - _T0,
                "construct_s": built - imported,
                "run_test_s": entered - built,
                "first_pause_s": frame_perf - entered,
                "feed_rows": len(app.query_one(MessageFeed).rows),
                "agency_options": app.query_one(AgencyList).option_count,
                "rss_mb": rss_mb(),
            }
            print(json.dumps(result), flush=True)
            os._exit(0)  # the background history load would only delay the exit
        return {}

    asyncio.run(run())


def child_writer(ws_path: str, socket: str) -> None:
    """Another process: for each line on stdin, append a message to the history the way the bus
    does, and print the wall time taken just before the write."""
    from tmux_agency.bus import Bus, new_message
    from tmux_agency.tmux import Tmux
    from tmux_agency.workspace import Workspace

    bus = Bus(Workspace(Path(ws_path)), Tmux(socket))
    for line in sys.stdin:
        text = line.strip()
        if not text:
            break
        message = new_message("intra", "STATUS", ("CodeAgency", "backend-dev"), ("CodeAgency", "code-coordinator"), text)
        before = time.time()
        bus._persist([message])
        print(before, flush=True)


def child_live(ws_path: str, socket: str, changes: int, keys: int) -> None:
    """Run the App at full size; measure change-to-feed latency and keystrokes; print one JSON line."""
    import asyncio

    from tmux_agency.tmux import Tmux
    from tmux_agency.tui.app import ControlRoom
    from tmux_agency.tui.widgets.agencies import AgencyList
    from tmux_agency.tui.widgets.feed import MessageFeed
    from tmux_agency.workspace import Workspace

    async def run() -> dict:
        app = ControlRoom(Workspace(Path(ws_path)), Tmux(socket))
        out: dict = {}
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            feed = app.query_one(MessageFeed)
            start = time.perf_counter()
            while len(feed.rows) < MESSAGES and time.perf_counter() - start < 30:
                await pilot.pause(0.05)
            out["older_loaded_s"] = time.perf_counter() - start
            out["rows_before"] = len(feed.rows)
            await pilot.pause(0.3)  # the watcher is running

            writer = subprocess.Popen(
                [sys.executable, __file__, "--writer", "--ws", ws_path, "--socket", socket],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ.copy(),
            )  # fmt: skip
            latencies, timeouts = [], 0
            try:
                for n in range(changes):
                    text = f"STATUS backend-dev: bench change {n} {os.getpid()}"
                    assert writer.stdin is not None and writer.stdout is not None
                    writer.stdin.write(text + "\n")
                    writer.stdin.flush()
                    deadline = time.time() + 5
                    seen = None
                    while time.time() < deadline:
                        if any(r.text == text for r in feed.rows[-5:]):
                            seen = time.time()
                            break
                        await pilot.pause(0.005)
                    before = float(writer.stdout.readline())
                    if seen is None:
                        timeouts += 1
                    else:
                        latencies.append((seen - before) * 1000)
                    await pilot.pause(0.1)  # let the watcher settle between writes
                writer.stdin.write("\n")
                writer.stdin.flush()
                writer.wait(timeout=10)
            finally:
                if writer.poll() is None:
                    writer.kill()
            out["change_ms"] = latencies
            out["change_timeouts"] = timeouts

            agencies = app.query_one(AgencyList)
            per_key: dict[str, list[float]] = {}
            timings = []
            while len(timings) < keys:
                agencies.focus()  # each round starts in the agency list (not timed)
                await pilot.pause()
                for key in KEY_ROUND[: keys - len(timings)]:
                    t = time.perf_counter()
                    await pilot.press(key)
                    await pilot.pause()
                    elapsed = (time.perf_counter() - t) * 1000
                    timings.append(elapsed)
                    per_key.setdefault(key, []).append(elapsed)
            out["key_ms"] = timings
            out["key_median_ms"] = {k: round(statistics.median(v), 1) for k, v in per_key.items()}
            out["filter_hidden_after_escape"] = not app.query_one("#filter").display
            out["rows_after"] = len(feed.rows)
            out["peak_mb"] = rss_mb()
            print(json.dumps(out), flush=True)
            os._exit(0)
        return out

    asyncio.run(run())


# --- parent -----------------------------------------------------------------------------------


def spawn_json(argv: list[str], env: dict[str, str]) -> tuple[dict, float, float]:
    """Run a child that prints one JSON line; return it, the parent's time.time() just before the
    spawn, and the wall time until the line arrived."""
    wall0, perf0 = time.time(), time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = child.communicate(timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise SystemExit(f"bench: {' '.join(argv[2:4])} took over {CHILD_TIMEOUT_S} s") from None
    seen = time.perf_counter() - perf0
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"bench: {' '.join(argv[2:4])} failed (exit {child.returncode}): {err.strip()[-2000:]}")
    return json.loads(lines[-1]), wall0, seen


def startups(ws: Path, socket: str, env: dict[str, str], runs: int) -> dict:
    argv = [sys.executable, __file__, "--child", "startup", "--ws", str(ws), "--socket", socket]
    spawn_json(argv, env)  # warm the file cache
    samples = []
    for _ in range(runs):
        result, wall0, seen = spawn_json(argv, env)
        result["startup_s"] = result["frame_wall"] - wall0
        result["wall_s"] = seen
        samples.append(result)

    def med(key: str) -> float:
        return statistics.median(s[key] for s in samples)

    return {
        "startup_s": med("startup_s"),
        "in_process_s": med("in_process_s"),
        "wall_s": med("wall_s"),
        "imports_s": med("imports_s"),
        "construct_s": med("construct_s"),
        "run_test_s": med("run_test_s"),
        "first_pause_s": med("first_pause_s"),
        "rss_mb": med("rss_mb"),
        "feed_rows": samples[-1]["feed_rows"],
        "agency_options": samples[-1]["agency_options"],
    }


def import_textual(env: dict[str, str], runs: int) -> float:
    argv = [sys.executable, "-c", "import textual.app"]
    subprocess.run(argv, env=env, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--startups", type=int, default=5, help="fresh processes per startup figure")
    parser.add_argument("--changes", type=int, default=30, help="registry writes for change_to_screen")
    parser.add_argument("--keys", type=int, default=50, help="keystrokes timed")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=("startup", "live"), help=argparse.SUPPRESS)
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ws", help=argparse.SUPPRESS)
    parser.add_argument("--socket", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "startup":
        child_startup(args.ws, args.socket)
        return 0
    if args.child == "live":
        child_live(args.ws, args.socket, args.changes, args.keys)
        return 0
    if args.writer:
        child_writer(args.ws, args.socket)
        return 0

    os.environ["TZ"] = "UTC"
    time.tzset()
    from tmux_agency.sample_registry import big
    from tmux_agency.workspace import init_workspace

    root = Path(tempfile.mkdtemp(prefix="tmux-agency-bench-tui-"))
    socket = f"tmux-agency-bench-no-server-{os.getpid()}"  # nothing listens here: tmux shows as down
    env = {**os.environ, "TZ": "UTC", "TMUX_AGENCY_SOCKET": socket}
    for key in ("TMUX_AGENCY_AGENCY", "TMUX_AGENCY_AGENT", "TMUX", "TMUX_PANE", "TMUX_AGENCY_HOME"):
        env.pop(key, None)
    try:
        project = root / "project"
        project.mkdir()
        empty_ws, _ = init_workspace(root / "empty", project)
        big_ws, _ = init_workspace(root / "big", project)
        started = time.perf_counter()
        big(big_ws)
        populate_s = time.perf_counter() - started

        textual_s = import_textual(env, args.startups)
        empty = startups(empty_ws.root, socket, env, args.startups)
        full = startups(big_ws.root, socket, env, args.startups)
        live, _, live_wall = spawn_json(
            [sys.executable, __file__, "--child", "live", "--ws", str(big_ws.root), "--socket", socket,
             "--changes", str(args.changes), "--keys", str(args.keys)],
            env,
        )  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)

    change_p95 = p95(live["change_ms"]) if live["change_ms"] else float("inf")
    key_p95 = p95(live["key_ms"])
    result = {
        "startup_s": round(full["startup_s"], 3),
        "startup_in_process_s": round(full["in_process_s"], 3),
        "startup_wall_s": round(full["wall_s"], 3),
        "change_to_screen_p95_ms": round(change_p95, 1),
        "change_to_screen_median_ms": round(statistics.median(live["change_ms"]), 1) if live["change_ms"] else None,
        "change_to_screen_timeouts": live["change_timeouts"],
        "keystroke_p95_ms": round(key_p95, 1),
        "keystroke_median_ms": round(statistics.median(live["key_ms"]), 1),
        "keystroke_median_ms_by_key": live["key_median_ms"],
        "peak_mb": round(live["peak_mb"], 1),
        "startup_peak_mb": round(full["rss_mb"], 1),
        "baseline_import_textual_s": round(textual_s, 3),
        "startup_empty_s": round(empty["startup_s"], 3),
        "startup_empty_in_process_s": round(empty["in_process_s"], 3),
        "startup_empty_peak_mb": round(empty["rss_mb"], 1),
        "startup_phases_s": {
            k: round(full[k], 3) for k in ("imports_s", "construct_s", "run_test_s", "first_pause_s")
        },
        "startup_empty_phases_s": {
            k: round(empty[k], 3) for k in ("imports_s", "construct_s", "run_test_s", "first_pause_s")
        },
        "older_history_loaded_s": round(live["older_loaded_s"], 2),
        "feed_rows_at_first_frame": full["feed_rows"],
        "feed_rows_loaded": live["rows_before"],
        "agency_list_options": full["agency_options"],
        "populate_s": round(populate_s, 1),
        "samples": {"startups": args.startups, "changes": args.changes, "keys": args.keys},
        "goals": GOALS,
    }
    if args.json:
        print(json.dumps(result))
        return 0

    def goal(key: str, unit: str) -> str:
        mark = "ok" if result[key] <= GOALS[key] else "MISSED"
        return f"<= {GOALS[key]:g} {unit}  {mark}"

    rows = [
        ("startup (spawn -> first frame)", f"{result['startup_s']:.3f} s", goal("startup_s", "s")),
        ("  of which in-process", f"{result['startup_in_process_s']:.3f} s", ""),
        ("  as the parent sees it", f"{result['startup_wall_s']:.3f} s", ""),
        ("change -> feed row, p95", f"{change_p95:.1f} ms", goal("change_to_screen_p95_ms", "ms")),
        ("change -> feed row, median", f"{result['change_to_screen_median_ms']} ms", ""),
        ("keystroke, p95", f"{key_p95:.1f} ms", goal("keystroke_p95_ms", "ms")),
        ("keystroke, median", f"{result['keystroke_median_ms']:.1f} ms", ""),
        ("peak RSS", f"{result['peak_mb']:.1f} MB", goal("peak_mb", "MB")),
        ("peak RSS at first frame", f"{result['startup_peak_mb']:.1f} MB", ""),
        ("older history loaded after", f"{result['older_history_loaded_s']:.2f} s", ""),
        ("baseline: import textual.app", f"{textual_s:.3f} s", ""),
        ("baseline: startup, empty registry", f"{result['startup_empty_s']:.3f} s", ""),
    ]
    print(f"{'measure':<34} {'value':>12}  goal")
    for name, value, target in rows:
        print(f"{name:<34} {value:>12}  {target}")
    phases = result["startup_phases_s"]
    print(
        "startup phases (in-process, median): "
        + ", ".join(f"{k.removesuffix('_s')} {v:.3f} s" for k, v in phases.items())
        + f"; empty registry: {result['startup_empty_in_process_s']:.3f} s in-process"
    )
    print("keystroke median by key: " + ", ".join(f"{k} {v} ms" for k, v in live["key_median_ms"].items()))
    if result["change_to_screen_timeouts"]:
        print(f"change -> feed row: {result['change_to_screen_timeouts']} of {args.changes} writes never showed (5 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
