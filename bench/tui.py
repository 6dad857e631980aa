#!/usr/bin/env python3
"""Benchmark of the control room (`tmux-agency tui`) at the issue's size: is it still quick with
50 agencies, 200+ agents, 100,000 messages, 500 tasks?

The registry is `sample_registry.big()`: 50 agencies of a coordinator and 4 specialists (250
agents), 100,000 hash-chained messages (an ~80 MB history), 500 tasks, 5 approvals. The App runs
headless (`App.run_test(size=(120, 40))`) exactly as `tmux-agency tui` builds it: the watchfiles
worker on registry/ (watch=True), the older history loading in a background thread
(load_older=True), the agency list refreshed every 2 s, the dispatcher every 5 s. TZ=UTC.
Headless, Textual still lays out and renders every frame (the compositor); it only skips
encoding it for a terminal.

Every measure is taken twice in one run, and the headline figures (and the goals) are those of
the first:
  tmux up    a real tmux server (its own socket) with a session per running agency and a pane
             per agent (188), each a shell with `tmux-agency agent` below it showing the scripted
             agent's prompt or, one in three, that it works: the control room lists the panes,
             reads /proc and captures the ~40 agents on screen every refresh, and its dispatcher
             types the ready tasks into the coordinators' panes, as it does for a user. The
             registry is big(undelivered=0): agencies up all along have nothing left queued.
  tmux down  the socket has no server: nothing to list, capture or dispatch (registry big()).

Prints a table (or, with --json, one JSON object) with, from one run on this machine:
  startup_s                 from just before the parent spawns a fresh `python bench/tui.py
                            --child startup` to the end of the first frame the compositor
                            renders after on_mount (agencies, the newest 512 KB of the history,
                            tasks, approvals) — interpreter start-up and imports included: what
                            a user waits for. Median of --startups runs. (The frame is seen by
                            wrapping App._display on the instance.)
  startup_in_process_s      the same, timed inside the child from the top of this script
                            (without the interpreter's own start-up)
  startup_pilot_s           spawn until the first `await pilot.pause()` after entering
                            `async with app.run_test(...)` has returned. Pilot's pause waits
                            until the process is idle, for at most 1 s: with the older history
                            loading in the background it is never idle, so this is ~1 s late.
  startup_wall_s            spawn until the parent reads the child's "first frame" line
  change_to_screen_p95_ms   another process (a `--writer` child using Bus._persist, the bus's own
                            append to the hash-chained history) writes one message; time from
                            just before its write to the end of the first frame painted while
                            the new row is among the feed's lines on screen (checked at every
                            frame: the row is in the feed and the feed is scrolled to show it);
                            p95 of --changes samples. Measured, like the keys, once the older
                            history has finished loading.
  change_to_data_p95_ms     the same write to the moment MessageFeed.append has taken the row:
                            what the frame above adds to it is the painting
  keystroke_p95_ms          key -> frame, what a user sees, for keys that move the selection or
                            focus: down/up in the agency list, tab and shift+tab between panes,
                            / (open the filter) then escape (close it). Each key is sent by
                            App._press_keys (the method Pilot uses), not awaited; the time runs
                            from sending it to the end of the last frame it causes (the screen
                            has settled: no new frame for 60 ms); p95 of --keys samples. Frames
                            from background work (the 2 s agency refresh) that land in the
                            window count too: a user pressing a key then waits for them as well.
  keystroke_pilot_p95_ms    `await pilot.press(key)` plus one `await pilot.pause()` for the same
                            keys. Pilot sleeps in 20 ms steps until the process looks idle
                            (press: 2 waits, pause: 1), so this has a floor of 60+ ms whatever
                            the app does: see the next line.
  keystroke_noop_p95_ms     the Pilot measure for a key nothing is bound to (f12), same App,
                            same size: the harness's floor plus whatever runs in the background
  peak_mb                   peak RSS (VmHWM) of the fresh child that ran the App at that size
                            for the measures above: full history loaded, the writes, the keys
  startup_peak_mb           peak RSS of a startup child at its first frame (median)
Baselines, from the same run:
  baseline_import_textual_s `python -c "import textual.app"` wall time (median of --startups)
  startup_empty_s           startup_s with an initialised but empty registry: what the data costs
  startup_empty_peak_mb     startup_peak_mb with that empty registry
Goals (from the issue): startup_s <= 1.0, change_to_screen_p95_ms <= 150, keystroke_p95_ms <= 50,
peak_mb <= 200. With --json the tmux-down figures are under "tmux_down", and "live_panes" says
how many panes the tmux-up server had.

Usage: python bench/tui.py [--startups 5] [--changes 30] [--keys 50] [--json]
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()  # the top of the script: a child's in-process clock starts here

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (120, 40)
MESSAGES = 100_000  # big()'s history
CHILD_TIMEOUT_S = 90
GOALS = {"startup_s": 1.0, "change_to_screen_p95_ms": 150.0, "keystroke_p95_ms": 50.0, "peak_mb": 200.0}
# down/up in the agency list, tab/shift+tab between panes, / then escape: one round, 10 keys
KEY_ROUND = ("down", "down", "down", "up", "up", "up", "tab", "shift+tab", "slash", "escape")
NOOP_KEY = "f12"
NOOP_SAMPLES = 10


def rss_mb() -> float:
    """This process's peak RSS. VmHWM belongs to the process's own memory map; ru_maxrss would do
    on its own, but on Linux a child inherits its parent's high-water mark through fork/exec
    (the parent holds the big registry it just wrote), so take ru_maxrss only without /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def watch_frames(app, after_frame=None) -> list[float]:  # app: a textual App
    """perf_counter() at the end of every frame the compositor hands to the display; after each
    one, `after_frame()` (if given) may look at what the screen now shows."""
    frames: list[float] = []
    display = app._display

    def timed(screen, renderable) -> None:
        display(screen, renderable)
        if renderable is not None and getattr(app, "history", None) is not None:  # on_mount has run
            frames.append(time.perf_counter())
            if after_frame is not None:
                after_frame()

    app._display = timed
    return frames


def lines_on_screen(feed) -> list[str]:  # feed: the MessageFeed
    """The texts of the feed's rows that its visible lines show now."""
    top = feed.scroll_offset.y
    return [feed.rows[i].text for i in feed.shown[top : top + feed.size.height]]


# --- children ---------------------------------------------------------------------------------


def child_startup(ws_path: str, socket: str) -> None:
    """Run the App to its first frame; print one JSON line and leave at once."""
    import asyncio

    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.doors.workspace import Workspace
    from tmux_agency.tui.app import ControlRoom
    from tmux_agency.tui.widgets.agencies import AgencyList
    from tmux_agency.tui.widgets.feed import MessageFeed

    imported = time.perf_counter()

    async def run() -> None:
        app = ControlRoom(Workspace(Path(ws_path)), Tmux(socket))
        frames = watch_frames(app)
        built = time.perf_counter()
        async with app.run_test(size=SIZE) as pilot:
            entered = time.perf_counter()
            await pilot.pause()
            paused_perf, paused_wall = time.perf_counter(), time.time()
            while not frames and time.perf_counter() - entered < 20:
                await asyncio.sleep(0.001)
            frame = frames[0] if frames else float("nan")
            result = {
                "frame_wall": paused_wall - (paused_perf - frame),
                "pilot_wall": paused_wall,
                "in_process_s": frame - _T0,
                "imports_s": imported - _T0,
                "construct_s": built - imported,
                "to_first_frame_s": frame - built,
                "feed_rows": len(app.query_one(MessageFeed).rows),
                "agency_options": app.query_one(AgencyList).option_count,
                "rss_mb": rss_mb(),
            }
            print(json.dumps(result), flush=True)
            os._exit(0)  # the background history load would only delay the exit

    asyncio.run(run())


def child_writer(ws_path: str, socket: str) -> None:
    """Another process: for each line on stdin, append a message to the history the way the bus
    does, and print the wall time taken just before the write."""
    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.doors.workspace import Workspace
    from tmux_agency.services.bus import Bus, new_message

    bus = Bus(Workspace(Path(ws_path)), Tmux(socket))
    for line in sys.stdin:
        text = line.strip()
        if not text:
            break
        message = new_message(
            "intra", "STATUS", ("CodeAgency", "backend-dev"), ("CodeAgency", "code-coordinator"), text
        )
        before = time.time()
        bus._persist([message])
        print(before, flush=True)


def child_live(ws_path: str, socket: str, changes: int, keys: int) -> None:
    """Run the App at full size; measure change-to-feed latency and keystrokes; print one JSON line."""
    import asyncio

    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.doors.workspace import Workspace
    from tmux_agency.tui.app import ControlRoom
    from tmux_agency.tui.widgets.agencies import AgencyList
    from tmux_agency.tui.widgets.feed import MessageFeed

    async def run() -> None:
        app = ControlRoom(Workspace(Path(ws_path)), Tmux(socket))
        awaited: dict[str, float | None] = {}  # text of a written message -> when a frame showed it

        def look_for_awaited() -> None:
            waiting = [text for text, shown in awaited.items() if shown is None]
            if waiting:
                on_screen = lines_on_screen(app.query_one(MessageFeed))
                for text in waiting:
                    if text in on_screen:
                        awaited[text] = time.time()

        frames = watch_frames(app, look_for_awaited)
        out: dict = {}
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            feed = app.query_one(MessageFeed)
            start = time.perf_counter()
            while time.perf_counter() - start < 40 and any(
                w.name == "load_older_history" and not w.is_finished for w in app.workers
            ):
                await pilot.pause(0.05)
            out["older_loaded_s"] = time.perf_counter() - start
            out["rows_before"] = len(feed.rows)
            appended: dict[str, float] = {}  # text of a written message -> when the feed got its row
            feed_append = feed.append

            def timed_append(rows) -> None:
                feed_append(rows)
                appended.update((row.text, time.time()) for row in rows)

            feed.append = timed_append
            await pilot.pause(0.3)  # the watcher is running

            # --- a write by another process -> the row in the feed
            writer = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
                [sys.executable, __file__, "--writer", "--ws", ws_path, "--socket", socket],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert writer.stdin is not None and writer.stdout is not None
            latencies, data_latencies, timeouts = [], [], 0
            try:
                for n in range(changes):
                    text = f"STATUS backend-dev: bench change {n} {os.getpid()}"
                    awaited[text] = None
                    writer.stdin.write(text + "\n")
                    writer.stdin.flush()
                    deadline = time.time() + 5
                    while time.time() < deadline and awaited[text] is None:
                        await pilot.pause(0.005)
                    before = float(writer.stdout.readline())
                    shown, in_data = awaited.pop(text), appended.pop(text, None)
                    if shown is None or in_data is None:
                        timeouts += 1
                    else:
                        latencies.append((shown - before) * 1000)
                        data_latencies.append((in_data - before) * 1000)
                    await pilot.pause(0.1)  # let the watcher settle between writes
                writer.stdin.write("\n")
                writer.stdin.flush()
                writer.wait(timeout=10)
            finally:
                if writer.poll() is None:
                    writer.kill()
            out["change_ms"] = latencies
            out["change_data_ms"] = data_latencies
            out["change_timeouts"] = timeouts

            agencies = app.query_one(AgencyList)

            async def pilot_key(key: str) -> float:
                t = time.perf_counter()
                await pilot.press(key)
                await pilot.pause()
                return (time.perf_counter() - t) * 1000

            async def key_to_frame(key: str) -> float:
                """Send the key (no Pilot sleeps in the way); return the time to the end of the
                last frame it causes: the screen has settled once no frame came for 60 ms."""
                del frames[:]
                t0 = time.perf_counter()
                press = asyncio.create_task(app._press_keys([key]))  # sends at once, then idles
                while True:
                    await asyncio.sleep(0.005)
                    now = time.perf_counter()
                    if now - (frames[-1] if frames else t0) >= 0.06 or now - t0 > 3:
                        break
                end = frames[-1] if frames else t0
                await press
                await pilot.pause()
                elapsed = (end - t0) * 1000
                background = sorted({w.name for w in app.workers if not w.is_finished} - {"watch_files"})
                slowest.append((round(elapsed, 1), key, len(frames), background))
                return elapsed

            slowest: list[tuple[float, str, int, list[str]]] = []  # (ms, key, frames, workers still at work)

            async def rounds(measure, count: int) -> tuple[list[float], dict[str, list[float]]]:
                timings: list[float] = []
                per_key: dict[str, list[float]] = {}
                while len(timings) < count:
                    agencies.focus()  # each round starts in the agency list (not timed)
                    await pilot.pause()
                    for key in KEY_ROUND[: count - len(timings)]:
                        elapsed = await measure(key)
                        timings.append(elapsed)
                        per_key.setdefault(key, []).append(elapsed)
                return timings, per_key

            def medians(per_key: dict[str, list[float]]) -> dict[str, float]:
                return {k: round(statistics.median(v), 1) for k, v in per_key.items()}

            out["key_ms"], by_key = await rounds(pilot_key, keys)
            out["key_median_ms"] = medians(by_key)
            out["filter_hidden_after_escape"] = not app.query_one("#filter").display
            out["frame_ms"], by_key = await rounds(key_to_frame, keys)
            out["frame_median_ms"] = medians(by_key)
            out["frame_slowest"] = sorted(slowest, reverse=True)[:5]
            agencies.focus()
            await pilot.pause()
            out["noop_ms"] = [await pilot_key(NOOP_KEY) for _ in range(NOOP_SAMPLES)]
            out["rows_after"] = len(feed.rows)
            out["peak_mb"] = rss_mb()
            print(json.dumps(out), flush=True)
            os._exit(0)

    asyncio.run(run())


# --- parent -----------------------------------------------------------------------------------


def start_agency_panes(ws, socket: str) -> int:  # ws: a Workspace
    """Start a real tmux server with a session for every running agency in the registry and a
    window for each of its agents, in registry order, so the panes get the ids the registry
    names (%0, %1, …: a fresh server numbers panes as they are made). Each pane runs a shell
    showing the scripted agent's prompt (or, one in three, that it is working) with
    `tmux-agency agent` below it, which is all the control room looks at to tell an agent's
    state. Stopped agencies' sessions are made and killed again, to keep the numbering."""
    import shlex

    from tmux_agency.services.records import raw_records

    def pane_command(n: int) -> str:
        screen = f"working on T-{n}" if n % 3 == 0 else "ready › "
        script = f"printf '%s' {shlex.quote(screen)}; exec -a 'tmux-agency agent' sleep 100000 & wait"
        return "bash -c " + shlex.quote(script)

    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    records, made = raw_records(ws), 0
    for record in records:  # one tmux call per agency (one for all is more than tmux takes)
        argv = list(tmux)
        for position, agent in enumerate(record["agents"]):
            if position == 0:
                argv += ["new-session", "-d", "-s", record["session"], "-n", agent["window"], "-x", "120", "-y", "40"]
            else:
                argv += [";", "new-window", "-d", "-t", f"={record['session']}:", "-n", agent["window"]]
            argv.append(pane_command(made))
            made += 1
        subprocess.run(argv, check=True, capture_output=True)
    stopped = [r["session"] for r in records if r.get("status") == "stopped"]
    if stopped:
        argv = list(tmux)
        for n, session in enumerate(stopped):
            argv += [*([";"] if n else []), "kill-session", "-t", f"={session}"]
        subprocess.run(argv, check=True, capture_output=True)
    listed = subprocess.run(
        [*tmux, "list-panes", "-a", "-F", "#{session_name}\t#{window_name}\t#{pane_id}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    actual = {(listed[i], listed[i + 1]): listed[i + 2] for i in range(0, len(listed), 3)}
    wrong = [
        a["pane_id"]
        for r in records
        if r.get("status") != "stopped"
        for a in r["agents"]
        if actual.get((r["session"], a["window"])) != a["pane_id"]
    ]
    if wrong:
        raise SystemExit(f"bench: the live panes did not get the registry's ids ({len(wrong)} differ, e.g. {wrong[0]})")
    return len(actual)


def stop_server(socket: str) -> None:
    """Kill the live server and remove its socket file (tmux leaves it behind)."""
    path = subprocess.run(
        ["tmux", "-L", socket, "display-message", "-p", "#{socket_path}"], capture_output=True, text=True
    )
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    if path.returncode == 0 and path.stdout.strip():
        Path(path.stdout.strip()).unlink(missing_ok=True)


def spawn_json(argv: list[str], env: dict[str, str]) -> tuple[dict, float, float]:
    """Run a child that prints one JSON line; return it, the parent's time.time() just before the
    spawn, and the wall time until the line arrived. A child still running after
    CHILD_TIMEOUT_S is killed."""
    what = " ".join(argv[2:4])
    wall0, perf0 = time.time(), time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(CHILD_TIMEOUT_S, child.kill)
    watchdog.start()
    try:
        assert child.stdout is not None
        line = child.stdout.readline()  # the child prints its one line, then leaves
        seen = time.perf_counter() - perf0
        _, err = child.communicate()
    finally:
        watchdog.cancel()
    if not line.startswith("{"):
        why = f"killed after {CHILD_TIMEOUT_S} s" if child.returncode == -9 else f"exit {child.returncode}"
        raise SystemExit(f"bench: {what} failed ({why}): {(line + err).strip()[-3000:]}")
    return json.loads(line), wall0, seen


def startups(ws: Path, socket: str, env: dict[str, str], runs: int) -> dict:
    argv = [sys.executable, __file__, "--child", "startup", "--ws", str(ws), "--socket", socket]
    spawn_json(argv, env)  # warm the file cache
    samples = []
    for _ in range(runs):
        result, wall0, seen = spawn_json(argv, env)
        result["startup_s"] = result["frame_wall"] - wall0
        result["pilot_s"] = result["pilot_wall"] - wall0
        result["wall_s"] = seen
        samples.append(result)
    keys = ("startup_s", "pilot_s", "wall_s", "in_process_s", "imports_s", "construct_s", "to_first_frame_s", "rss_mb")
    summary = {k: statistics.median(s[k] for s in samples) for k in keys}
    summary["feed_rows"] = samples[-1]["feed_rows"]
    summary["agency_options"] = samples[-1]["agency_options"]
    return summary


def import_textual(env: dict[str, str], runs: int) -> float:
    argv = [sys.executable, "-c", "import textual.app"]
    subprocess.run(argv, env=env, check=True, timeout=CHILD_TIMEOUT_S)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, timeout=CHILD_TIMEOUT_S)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--startups", type=int, default=5, help="fresh processes per startup figure")
    parser.add_argument("--changes", type=int, default=30, help="registry writes for change_to_screen")
    parser.add_argument("--keys", type=int, default=50, help="keystrokes timed (each way)")
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
    from tests.sample_registry import big
    from tmux_agency.doors.workspace import init_workspace

    root = Path(tempfile.mkdtemp(prefix="tmux-agency-bench-tui-"))
    sockets = {
        "down": f"tmux-agency-bench-no-server-{os.getpid()}",  # nothing listens here: tmux is down
        "up": f"tmux-agency-bench-live-{os.getpid()}",  # a real server with every agency's panes
    }
    env = {**os.environ, "TZ": "UTC"}
    for key in (
        "TMUX_AGENCY_AGENCY",
        "TMUX_AGENCY_AGENT",
        "TMUX",
        "TMUX_PANE",
        "TMUX_AGENCY_HOME",
        "TMUX_AGENCY_SOCKET",
    ):
        env.pop(key, None)
    measured: dict[str, tuple[dict, dict]] = {}
    try:
        project = root / "project"
        project.mkdir()
        empty_ws, _ = init_workspace(root / "empty", project)
        big_ws, _ = init_workspace(root / "big", project)
        live_ws, _ = init_workspace(root / "live", project)
        started = time.perf_counter()
        big(big_ws)
        populate_s = time.perf_counter() - started
        big(live_ws, undelivered=0)  # agencies that have been up all along: nothing left to deliver

        textual_s = import_textual(env, args.startups)
        empty = startups(empty_ws.root, sockets["down"], env, args.startups)
        panes = start_agency_panes(live_ws, sockets["up"])
        for state, ws in (("down", big_ws), ("up", live_ws)):
            full = startups(ws.root, sockets[state], env, args.startups)
            live, _, _ = spawn_json(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "live",
                    "--ws",
                    str(ws.root),
                    "--socket",
                    sockets[state],
                    "--changes",
                    str(args.changes),
                    "--keys",
                    str(args.keys),
                ],
                env,
            )
            measured[state] = (full, live)
    finally:
        stop_server(sockets["up"])
        shutil.rmtree(root, ignore_errors=True)

    def figures(full: dict, live: dict) -> dict:
        change = live["change_ms"]
        return {
            "startup_s": round(full["startup_s"], 3),
            "startup_in_process_s": round(full["in_process_s"], 3),
            "startup_pilot_s": round(full["pilot_s"], 3),
            "startup_wall_s": round(full["wall_s"], 3),
            "change_to_screen_p95_ms": round(p95(change), 1) if change else None,
            "change_to_screen_median_ms": round(statistics.median(change), 1) if change else None,
            "change_to_screen_timeouts": live["change_timeouts"],
            "change_to_data_p95_ms": round(p95(live["change_data_ms"]), 1) if live["change_data_ms"] else None,
            "keystroke_p95_ms": round(p95(live["frame_ms"]), 1),
            "keystroke_median_ms": round(statistics.median(live["frame_ms"]), 1),
            "keystroke_median_ms_by_key": live["frame_median_ms"],
            "keystroke_slowest": live["frame_slowest"],  # [ms, key, frames, background workers at work then]
            "keystroke_pilot_p95_ms": round(p95(live["key_ms"]), 1),
            "keystroke_pilot_median_ms": round(statistics.median(live["key_ms"]), 1),
            "keystroke_pilot_median_ms_by_key": live["key_median_ms"],
            "keystroke_noop_p95_ms": round(p95(live["noop_ms"]), 1),
            "keystroke_noop_median_ms": round(statistics.median(live["noop_ms"]), 1),
            "peak_mb": round(live["peak_mb"], 1),
            "startup_peak_mb": round(full["rss_mb"], 1),
            "startup_phases_s": {k: round(full[k], 3) for k in ("imports_s", "construct_s", "to_first_frame_s")},
            "older_history_loaded_s": round(live["older_loaded_s"], 2),
            "feed_rows_at_first_frame": full["feed_rows"],
            "feed_rows_loaded": live["rows_before"],
            "agency_list_options": full["agency_options"],
        }

    result = {
        **figures(*measured["up"]),
        "tmux": "up",
        "live_panes": panes,
        "tmux_down": figures(*measured["down"]),
        "baseline_import_textual_s": round(textual_s, 3),
        "startup_empty_s": round(empty["startup_s"], 3),
        "startup_empty_in_process_s": round(empty["in_process_s"], 3),
        "startup_empty_peak_mb": round(empty["rss_mb"], 1),
        "startup_empty_phases_s": {k: round(empty[k], 3) for k in ("imports_s", "construct_s", "to_first_frame_s")},
        "populate_s": round(populate_s, 1),
        "samples": {"startups": args.startups, "changes": args.changes, "keys": args.keys, "noop_keys": NOOP_SAMPLES},
        "goals": GOALS,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print_table(result)
    return 0


def print_table(result: dict) -> None:
    up, down = result, result["tmux_down"]

    def goal(key: str, unit: str) -> str:
        value = result[key]
        return f"<= {GOALS[key]:g} {unit}  " + ("ok" if value is not None and value <= GOALS[key] else "MISSED")

    def num(value: float | None, unit: str, digits: int = 1) -> str:
        return "-" if value is None else f"{value:.{digits}f} {unit}"

    def row(name: str, key: str, unit: str, digits: int = 1, with_goal: bool = False) -> tuple[str, str, str, str]:
        return name, num(up[key], unit, digits), num(down[key], unit, digits), goal(key, unit) if with_goal else ""

    by_key = [
        (f"  median, {key}", num(ms, "ms"), num(down["keystroke_median_ms_by_key"].get(key), "ms"), "")
        for key, ms in up["keystroke_median_ms_by_key"].items()
    ]
    rows = [
        row("startup (spawn -> first frame)", "startup_s", "s", 3, with_goal=True),
        row("  in-process (from script top)", "startup_in_process_s", "s", 3),
        row("  until first pilot.pause()", "startup_pilot_s", "s", 3),
        row("  as the parent sees it", "startup_wall_s", "s", 3),
        row("change -> on screen, p95", "change_to_screen_p95_ms", "ms", with_goal=True),
        row("change -> on screen, median", "change_to_screen_median_ms", "ms"),
        row("  change -> row in feed data, p95", "change_to_data_p95_ms", "ms"),
        row("keystroke -> frame, p95", "keystroke_p95_ms", "ms", with_goal=True),
        row("keystroke -> frame, median", "keystroke_median_ms", "ms"),
        *by_key,
        row("keystroke via Pilot, p95", "keystroke_pilot_p95_ms", "ms"),
        row("  no-op key f12 via Pilot (floor), p95", "keystroke_noop_p95_ms", "ms"),
        row("peak RSS", "peak_mb", "MB", with_goal=True),
        row("peak RSS at first frame", "startup_peak_mb", "MB"),
        row("older history loaded after", "older_history_loaded_s", "s", 2),
        ("baseline: import textual.app", num(result["baseline_import_textual_s"], "s", 3), "", ""),
        ("baseline: startup, empty registry", num(result["startup_empty_s"], "s", 3), "", ""),
        ("baseline: peak RSS, empty registry", num(result["startup_empty_peak_mb"], "MB"), "", ""),
    ]
    print(f"{'measure':<38} {'tmux up':>10} {'tmux down':>10}  goal (tmux up)")
    for name, value, other, target in rows:
        print(f"{name:<38} {value:>10} {other:>10}  {target}")
    print(f"tmux up: a server with {result['live_panes']} agent panes; tmux down: nothing listens on the socket")
    for title, phases in (
        ("startup phases, tmux up", up["startup_phases_s"]),
        ("startup phases, empty", result["startup_empty_phases_s"]),
    ):
        print(f"{title}: " + ", ".join(f"{k.removesuffix('_s')} {v:.3f} s" for k, v in phases.items()))
    print(
        "keystroke (pilot) median by key, tmux up: "
        + ", ".join(f"{k} {v} ms" for k, v in up["keystroke_pilot_median_ms_by_key"].items())
    )
    for label, figures in (("tmux up", up), ("tmux down", down)):
        if figures["change_to_screen_timeouts"]:
            print(
                f"change -> on screen ({label}): {figures['change_to_screen_timeouts']} of {result['samples']['changes']} writes never showed (5 s)"
            )


if __name__ == "__main__":
    raise SystemExit(main())
