"""Commands that run something: the control room (tui), the demo, check-ins (schedule), the
dispatcher (run), the scripted agent (agent), and profiles."""

from __future__ import annotations

import os
import sys

from tmux_agency.models.errors import UsageError

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see doors/registry.py)
if TYPE_CHECKING:
    import argparse

from tmux_agency.cli.plumbing import PROG, print_json, progress, read_stdin, tmux_of, workspace_of
from tmux_agency.cli.render import checkin_line


def cmd_tui(args: argparse.Namespace) -> int:
    from pathlib import Path

    ws = workspace_of(args)
    tmux = tmux_of(args)
    if args.snapshot:
        size = _parse_size(args.size or "120x40")
        path = Path(args.snapshot).expanduser().resolve()
        if path.suffix.lower() != ".svg":
            raise UsageError(f"--snapshot {args.snapshot!r}: the file must end in .svg")
        if not path.parent.is_dir():
            raise UsageError(f"--snapshot {args.snapshot!r}: folder {path.parent} does not exist")
        from tmux_agency.tui.app import snapshot

        snapshot(ws, tmux, path, size)
        print(f"control room rendered to {path}")
        return 0
    if args.size:
        raise UsageError("--size goes with --snapshot; the live control room fills the terminal")
    if not sys.stdout.isatty():
        raise UsageError("the control room needs a terminal; use --snapshot PATH.svg to render it headless")
    from tmux_agency.tui.app import ControlRoom

    ControlRoom(ws, tmux).run()
    return 0


def _parse_size(text: str) -> tuple[int, int]:
    import re

    match = re.fullmatch(r"(\d{2,4})x(\d{2,4})", text or "")
    if not match or not (40 <= int(match[1]) <= 1000 and 12 <= int(match[2]) <= 500):
        raise UsageError(f"--size {text!r}: use COLSxROWS, e.g. 120x40 (40-1000 columns, 12-500 rows)")
    return int(match[1]), int(match[2])


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from tmux_agency.demo import story as demo
    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.doors.workspace import validate_name

    if args.pace is not None and not 0 <= args.pace <= 60:
        raise UsageError("--pace must be between 0 and 60 seconds")
    pace = args.pace if args.pace is not None else (0.2 if args.headless else 1.5)
    root = Path(args.dir).expanduser().resolve() if args.dir else Path(tempfile.mkdtemp(prefix="tmux-agency-demo-"))
    socket = args.socket or f"tmux-agency-demo-{os.getpid()}"  # its own tmux server: nothing of yours is touched
    validate_name(socket, "socket name")
    tmux = Tmux(socket)
    ws = demo.build_workspace(root)
    progress(f"demo: workspace {ws.root}, project {ws.project_dir()}, tmux -L {socket}")
    try:
        demo.start(ws, tmux, pace, progress=progress)
        if args.headless:
            item = demo.wait_for_approval(ws, args.timeout, progress=progress)
            facts = demo.summary(ws)
            if args.json:
                print_json(facts)
            else:
                print(demo.render_summary(facts))
            if item is None:
                print(f"{PROG}: the demo did not reach the approval queue within {args.timeout:g}s", file=sys.stderr)
                return 1
            return 0
        from tmux_agency.tui.app import ControlRoom

        ControlRoom(ws, tmux).run()
        return 0
    finally:
        if args.headless and not args.keep:
            tmux.kill_server()
        else:
            print(
                f"the demo keeps running: tmux -L {socket} attach   ·   "
                f"tmux-agency --home {ws.root} --socket {socket} tui   ·   stop: tmux -L {socket} kill-server"
            )


# schedule.py keeps check-ins in registry/schedule.json; `run` sends the due ones and delivers
# queued messages, as the control room does on a timer.


def cmd_schedule(args: argparse.Namespace) -> int:
    """schedule [--in D] [--every D] TARGET TEXT | schedule list [--json] | schedule cancel ID"""
    from tmux_agency.services import schedule

    ws = workspace_of(args)
    words = args.words
    if words and words[0] == "list":
        if len(words) != 1 or args.in_ or args.every:
            raise UsageError("schedule list takes only --json")
        items = schedule.list_checkins(ws)
        if args.json:
            print_json([item.model_dump(mode="json") for item in items])
            return 0
        if not items:
            print("no check-ins scheduled (add one: tmux-agency schedule --in 30m AGENCY TEXT)")
        for item in items:
            print(checkin_line(item, schedule))
        return 0
    if words and words[0] == "cancel":
        if len(words) != 2 or args.in_ or args.every:
            raise UsageError("schedule cancel takes one ID (see 'tmux-agency schedule list')")
        item = schedule.cancel_checkin(ws, words[1])
        print(f"cancelled check-in #{item.id} for {item.agency}/{item.agent}")
        return 0
    if len(words) != 2:
        raise UsageError("schedule takes --in DURATION and/or --every DURATION, then TARGET TEXT (or: list, cancel ID)")
    target, text = words
    if text == "-":
        text = read_stdin()
    in_s = schedule.parse_duration(args.in_, "--in") if args.in_ is not None else None
    every_s = schedule.parse_duration(args.every, "--every") if args.every is not None else None
    item = schedule.add_checkin(ws, target, text, in_s=in_s, every_s=every_s)
    if args.json:
        print_json(item.model_dump(mode="json"))
    else:
        print(f"scheduled check-in #{item.id}: {checkin_line(item, schedule)}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from tmux_agency.services.dispatch import run_dispatcher

    ws = workspace_of(args)
    tmux = tmux_of(args)
    now = None
    if args.now is not None:
        if not args.once:
            raise UsageError("--now goes with --once")
        from datetime import datetime

        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            raise UsageError(f"--now {args.now!r}: use an ISO time, e.g. 2025-01-14T10:30:00+00:00") from None
        now = now if now.tzinfo else now.astimezone()
    if args.interval <= 0:
        raise UsageError("--interval must be more than 0 seconds")
    if not args.once:
        progress(f"dispatching check-ins and queued messages every {args.interval:g}s (Ctrl-C stops)")
    try:
        run_dispatcher(
            ws,
            tmux,
            once=args.once,
            interval_s=args.interval,
            now=now,
            report=lambda line: print(line, flush=True),
            warn=lambda line: progress(f"{PROG} run: {line}"),
        )
    except KeyboardInterrupt:
        return 0
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    from tmux_agency.demo.scripted_agent import run_agent
    from tmux_agency.doors.workspace import AGENCY_ENV, AGENT_ENV

    return run_agent(args.agency or os.environ.get(AGENCY_ENV), args.name or os.environ.get(AGENT_ENV), args.pace)


# The task graph (tasks.py), capability discovery and agency selection (selection.py), and the
# metrics (metrics.py). Each command: parse, one service call, print (or --json).


def cmd_profiles(args: argparse.Namespace) -> int:
    """profiles classify --program NAME FILE: what the profile reads from a saved capture."""
    from pathlib import Path

    from tmux_agency.doors.workspace import find_workspace
    from tmux_agency.services.programs import all_profiles, classify, takes_text

    try:
        home = find_workspace(args.home).root
    except UsageError:
        home = None  # no workspace here: the shipped profiles
    profiles = {p.name: p for p in all_profiles(home)}
    profile = profiles.get(args.program)
    if profile is None:
        raise UsageError(f"no profile named {args.program!r} (profiles: {', '.join(sorted(profiles))})")
    try:
        screen = Path(args.file).read_text(encoding="utf-8", errors="replace") if args.file != "-" else sys.stdin.read()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    reading = classify(profile, screen)
    if args.json:
        print_json({"state": reading.state, "rule": reading.rule, "types_into_it": takes_text(profile, reading)})
        return 0
    verdict = "a message would be typed" if takes_text(profile, reading) else "messages wait"
    print(f"{reading.state}  ({verdict})\n  rule: {reading.rule}")
    return 0
