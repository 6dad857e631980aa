"""The `tmux-agency` command: parse, call one service function, print.

Imports of the services happen inside each command, so that `send` — which every agent calls
constantly — loads only what it needs (never Textual).
"""

from __future__ import annotations

import json
import os
import sys

from tmux_agency.models.errors import AgencyError, UsageError

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see registry.py)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

PROG = "tmux-agency"


def _parser_class() -> type[argparse.ArgumentParser]:
    """argparse, but a usage error is one line on stderr and exit status 2. Made on first use:
    an agent's plain `send` needs no parser, and argparse with its translations costs ~7 ms."""
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            sys.stderr.write(f"{PROG}: {message} (see '{self.prog} --help')\n")
            raise SystemExit(2)

        def _get_formatter(self) -> argparse.HelpFormatter:
            # argparse measures the terminal with shutil, whose import costs ~5 ms (and
            # add_argument makes a formatter even when no help is printed).
            return self.formatter_class(prog=self.prog, width=_help_width())

    return Parser


def _help_width() -> int:
    """The width argparse would choose: the terminal's columns less 2."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 80
    return max(columns - 2, 11)


# --- shared plumbing ---------------------------------------------------------------------------


def _workspace(args: argparse.Namespace):
    from tmux_agency.doors.workspace import find_workspace

    return find_workspace(args.home)


def _tmux(args: argparse.Namespace):
    from tmux_agency.doors.tmux import Tmux
    from tmux_agency.doors.workspace import SOCKET_ENV

    socket = args.socket or os.environ.get(SOCKET_ENV) or None
    if socket is not None:
        from tmux_agency.doors.workspace import validate_name

        validate_name(socket, "socket name")
    return Tmux(socket)


def _read_stdin() -> str:
    """The text piped in for `-`, decoded strictly: Python's own stdin would turn bytes that
    are not UTF-8 into lone surrogates (or fail with a traceback), which no file can store."""
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"the text on stdin is not valid UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start})") from None


def _check_utf8(argv: Sequence[str]) -> None:
    """Refuse an argument that is not valid UTF-8. Python hands such bytes over as lone
    surrogates (U+DC80-U+DCFF), which would fail later, when the text is written."""
    for number, word in enumerate(argv, 1):
        try:
            word.encode("utf-8")
        except UnicodeEncodeError as exc:
            char = ord(word[exc.start])
            what = f"byte {char - 0xDC00:#04x}" if 0xDC80 <= char <= 0xDCFF else f"a lone surrogate U+{char:04X}"
            raise UsageError(f"argument {number} is not valid UTF-8 ({what} at character {exc.start})") from None


def _error_line(text: str) -> str:
    """An error message as the one line it must be: a newline from user input (a name, a
    path, a payload's type) shows as \\n instead of starting a second line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _attach_hint(tmux: Any, session: str) -> str:
    socket = f" -L {tmux.socket_name}" if tmux.socket_name else ""
    return f"tmux{socket} attach -t {session}"


# --- commands ----------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tmux_agency.doors.workspace import init_workspace

    root = Path(args.dir or args.home or os.getcwd())
    project = Path(args.project) if args.project else None
    ws, added = init_workspace(root, project)
    print(f"workspace {ws.root}: project {ws.project_dir()}")
    for item in added:
        print(f"  + {item}")
    if not added:
        print("  (already complete: nothing added)")
    print(f"next: tmux-agency --home {ws.root} create CodeAgency")
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    from tmux_agency.services.agencies import create_agency, split_names

    ws = _workspace(args)
    tmux = _tmux(args)
    if args.program is not None and not args.program.strip():
        raise UsageError("--program is empty")
    record, result = create_agency(
        ws,
        tmux,
        args.name,
        agents=split_names(args.agents, "agents"),
        coordinator=split_names(args.coordinator, "coordinator")[0] if args.coordinator is not None else None,
        capabilities=split_names(args.capabilities, "capabilities"),
        program=args.program,
        progress=_progress,
        template=getattr(args, "template", None),
    )
    print(f"created {record.name}: {len(record.agents)} agents, windows "
          f"{', '.join([a.window for a in record.agents] + ['tools', 'sandbox'])}")
    for name, why in result.not_briefed.items():
        print(f"  ! {name}: not briefed: {why}", file=sys.stderr)
    print(f"attach: {_attach_hint(tmux, record.session)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from tmux_agency.services.agencies import records_as_seen

    ws = _workspace(args)
    records = records_as_seen(ws, _tmux(args))
    if args.json:
        _print_json(
            [
                {
                    "name": r.name,
                    "status": r.status,
                    "session": r.session,
                    "coordinator": r.spec.coordinator.name,
                    "agents": [a.name for a in r.agents],
                    "capabilities": r.spec.capabilities,
                    "created_at": r.created_at.isoformat(),
                }
                for r in records
            ]
        )
        return 0
    if not records:
        print("no agencies (create one: tmux-agency create CodeAgency)")
        return 0
    width = max(len(r.name) for r in records)
    for r in records:
        mark = "●" if r.status == "running" else "○"
        print(f"{mark} {r.name:<{width}}  {r.status:<8} {len(r.agents)} agents  {', '.join(r.spec.capabilities)}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from tmux_agency.services.agencies import agency_status
    from tmux_agency.services.bus import Bus

    ws = _workspace(args)
    tmux = _tmux(args)
    views = agency_status(ws, tmux, args.agency)
    queued = Bus(ws, tmux).queued(args.agency)
    for view in views:
        for agent in view["agents"]:
            agent["queued"] = sum(
                1 for m in queued if m["recipient_agency"] == view["name"] and m["recipient_agent"] == agent["name"]
            )
    if args.json:
        _print_json(views if args.agency is None else views[0])
        return 0
    if not views:
        print("no agencies")
    for view in views:
        print(f"{view['name']}  [{view['status']}]  session {view['session']}")
        for window in view["windows"]:
            print(f"  window {window['index']}: {window['name']} ({window['pane_id']})")
        for agent in view["agents"]:
            role = "coordinator" if agent["coordinator"] else "specialist"
            waiting = f", {agent['queued']} queued" if agent["queued"] else ""
            print(f"  {agent['name']:<20} {role:<12} {agent['state']:<8} {agent['program']}{waiting}")
    return 0


def cmd_kill(args: argparse.Namespace) -> int:
    from tmux_agency.services.agencies import kill_agency

    result = kill_agency(_workspace(args), _tmux(args), args.agency)
    dropped, shared = result.dropped, result.shared
    print(
        f"killed {result.record.name}"
        + (f"; {dropped} queued message(s) dropped (see 'tmux-agency log')" if dropped else "")
        + (f"; left running, shared with other programs of the same name: pid {', '.join(map(str, shared))}" if shared else "")
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from tmux_agency.services.agencies import restore_agencies
    from tmux_agency.services.bus import Bus

    ws = _workspace(args)
    tmux = _tmux(args)
    restored = restore_agencies(ws, tmux, progress=_progress)
    if not restored:
        print("nothing to restore: every registered agency is running")
    for record, result in restored:
        print(f"restored {record.name}: {len(result.briefed)}/{len(result.agents)} agents briefed")
    delivered = [m for m in Bus(ws, tmux).deliver() if m["state"] != "queued"]
    if delivered:
        print(f"delivered {len(delivered)} queued message(s)")
    return 0


def _sender_and_target(args: argparse.Namespace) -> tuple[str, str, str]:
    """`send AGENCY AGENT TEXT`, or inside an agency pane `send AGENT TEXT`."""
    from tmux_agency.doors.workspace import AGENCY_ENV

    words = args.words
    if len(words) == 3:
        return words[0], words[1], words[2]
    if len(words) == 2:
        agency = os.environ.get(AGENCY_ENV)
        if not agency:
            raise UsageError("send AGENT TEXT works inside an agency pane; elsewhere use send AGENCY AGENT TEXT")
        return agency, words[0], words[1]
    raise UsageError("send takes AGENCY AGENT TEXT (or AGENT TEXT inside an agency pane)")


def cmd_send(args: argparse.Namespace) -> int:
    from tmux_agency.services.bus import Bus

    agency, agent, text = _sender_and_target(args)
    if text == "-":
        text = _read_stdin()
    result = Bus(_workspace(args), _tmux(args)).send(agency, agent, text, type_=args.type)
    _report_send(result, args.json)
    return 0


def cmd_send_inter(args: argparse.Namespace) -> int:
    from tmux_agency.services.bus import Bus
    from tmux_agency.doors.workspace import AGENCY_ENV, AGENT_ENV

    words = args.words
    if len(words) == 3:
        sender, target, text = words
    elif len(words) == 2 and os.environ.get(AGENCY_ENV):
        sender, (target, text) = os.environ[AGENCY_ENV], words
    else:
        raise UsageError("send-inter takes FROM TO JSON (or TO JSON inside an agency pane)")
    if text == "-":
        text = _read_stdin()
    result = Bus(_workspace(args), _tmux(args)).send_inter(sender, target, text, os.environ.get(AGENT_ENV))
    _report_send(result, args.json)
    return 0


def cmd_broadcast(args: argparse.Namespace) -> int:
    from tmux_agency.services.bus import Bus
    from tmux_agency.doors.workspace import AGENCY_ENV, AGENT_ENV

    words = args.words
    if len(words) == 2:
        sender, text = words
    elif len(words) == 1 and os.environ.get(AGENCY_ENV):
        sender, text = os.environ[AGENCY_ENV], words[0]
    else:
        raise UsageError("broadcast takes FROM JSON (or JSON inside an agency pane)")
    if text == "-":
        text = _read_stdin()
    result = Bus(_workspace(args), _tmux(args)).broadcast(sender, text, os.environ.get(AGENT_ENV))
    _report_send(result, args.json)
    return 0


def _report_send(result: Any, as_json: bool) -> None:
    if as_json:
        _print_json(result.messages)
        return
    for m in result.messages:
        to = f"{m['recipient_agency']}/{m['recipient_agent']}"
        if m["state"] == "queued":
            print(f"queued {m['id']} for {to}: {m['reason'] or 'waiting for delivery'}")
        else:
            print(f"{m['state']} {m['id']} to {to} [{m['type']}]")


def cmd_deliver(args: argparse.Namespace) -> int:
    from tmux_agency.services.bus import Bus

    ws = _workspace(args)
    if args.agency is not None:
        from tmux_agency.services.records import raw_record

        raw_record(ws, args.agency)  # an unknown agency is refused before the queue is touched
    results = Bus(ws, _tmux(args)).deliver(args.agency)
    # What this process did: messages another deliverer typed meanwhile are not counted.
    done = [m for m in results if m["state"] == "delivered"]
    doubtful = [m for m in results if m["state"] == "uncertain"]
    still = [m for m in results if m["state"] == "queued"]
    print(f"delivered {len(done)}, still queued {len(still)}" + (f", uncertain {len(doubtful)}" if doubtful else ""))
    for m in [*still, *doubtful]:
        print(f"  {m['id']} → {m['recipient_agency']}/{m['recipient_agent']}: {m['reason']}")
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    from tmux_agency.services.bus import Bus
    from tmux_agency.services.records import get_record
    from tmux_agency.doors.workspace import AGENCY_ENV, AGENT_ENV

    ws = _workspace(args)
    agency = args.agency or os.environ.get(AGENCY_ENV)
    agent = args.agent or (os.environ.get(AGENT_ENV) if not args.agency else None)
    if not agency:
        raise UsageError("inbox takes AGENCY [AGENT] (or nothing inside an agency pane)")
    record = get_record(ws, agency)
    if agent:
        target = record.agent(agent)
        if target is None:
            raise UsageError(f"agency {agency} has no agent {agent!r}")
        agent = target.name
    messages = Bus(ws, _tmux(args)).inbox(agency, agent)
    if args.json:
        _print_json([m.model_dump(mode="json") for m in messages])
        return 0
    if not messages:
        print(f"no messages for {agency}{'/' + agent if agent else ''}")
    for m in messages:
        why = f"  ({_one_line(m.reason, 300)})" if m.state in ("queued", "uncertain", "dropped") and m.reason else ""
        print(f"{m.time:%H:%M:%S} {m.state:<12} {m.sender_label()} → {m.recipient_agent}  [{m.type}] {_one_line(m.body)}{why}")
    return 0


def _one_line(text: str, width: int = 100) -> str:
    """A message's text on one line of a person's terminal: its control characters shown as
    symbols, as agents see them (an ESC sequence in a message must not reach your terminal)."""
    from tmux_agency.services.delivery import visible_text

    flat = " ".join(visible_text(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def cmd_log(args: argparse.Namespace) -> int:
    from tmux_agency.services.bus import Bus, fold_history

    bus = Bus(_workspace(args), _tmux(args))
    if args.verify:
        return _verify_log(bus.registry)

    def wanted(m: Any) -> bool:
        if args.agency and args.agency not in (m.sender_agency, m.recipient_agency):
            return False
        return not (args.type and m.type.lower() != args.type.lower())

    def show(messages: list[Any]) -> None:
        for m in messages:
            if not wanted(m):
                continue
            if args.json:
                print(json.dumps(m.model_dump(mode="json"), ensure_ascii=False), flush=True)
            else:
                doubt = f"  (uncertain: {_one_line(m.reason or '', 300)})" if m.state == "uncertain" else ""
                print(f"{m.time:%Y-%m-%d %H:%M:%S} {m.sender_label()} → {m.recipient_label()}  [{m.type}] {_one_line(m.body)}{doubt}", flush=True)

    events, offset = bus.events()
    messages = fold_history(events)
    if args.json and not args.follow:
        _print_json([m.model_dump(mode="json") for m in messages if wanted(m)])
        return 0
    show(messages)
    if args.follow:
        import time

        try:
            while True:
                time.sleep(0.25)
                events, offset = bus.events(offset)
                show([m for m in fold_history(events)])
        except KeyboardInterrupt:
            return 0
    return 0


def _verify_log(registry: Any) -> int:
    """`log --verify`: one line for the verdict, then a line per note (events past the head,
    unfinished lines killed writers left); a problem is one line on stderr, exit 1."""
    from tmux_agency.doors.chain import HISTORY, verify

    verdict = verify(registry)
    if verdict.problem:
        print(f"{PROG}: message log {registry.path(HISTORY)}: {_error_line(verdict.problem)}", file=sys.stderr)
        return 1
    if verdict.events == 0 and verdict.keyed_from is None:
        print("message log intact: no events yet")
        return 0
    how = "hash chain verified"
    if verdict.keyed_from is None:
        how += " (plain SHA-256: no message has been sent since keyed hashing came)"
    elif verdict.keyed_from > 1:
        how += f" (HMAC with the workspace key from event {verdict.keyed_from:,}; the {verdict.keyed_from - 1:,} before it by plain SHA-256)"
    else:
        how += " (HMAC with the workspace key)"
    head = f"; head record at event {verdict.head_seq:,}" if verdict.head_seq is not None else ""
    print(f"message log intact: {verdict.events:,} events, {how}{head}")
    for seq in verdict.past_head:
        print(f"  event {seq:,} is past the head record: its writer stopped before updating the head")
    for line in verdict.fragments:
        print(f"  line {line:,} is an unfinished event a killed writer left (never part of the chain)")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from tmux_agency.services.approvals import enqueue, notify, report_failure
    from tmux_agency.services.sandbox import deploy

    ws = _workspace(args)
    tmux = _tmux(args)
    deployment = deploy(ws, tmux, args.agency, args.branch, args.test_command, progress=_progress)
    run = deployment.run
    counts = run.counts
    print(f"tests: {counts.passed} passed, {counts.failed} failed, {counts.skipped} skipped, {counts.errors} errors"
          + (f" · coverage {run.coverage:g}%" if run.coverage is not None else "")
          + f" · {deployment.files_changed} files, +{deployment.additions} -{deployment.deletions}")
    if not run.green:
        report_failure(ws, tmux, deployment)
        reason = "timed out" if run.exit_code is None else ("no tests ran" if counts.total == 0 else "tests failed")
        print(f"{PROG}: {deployment.branch} is red ({reason}); the failures went to {deployment.agency}'s coordinator; log: {run.log}", file=sys.stderr)
        return 1
    item = enqueue(ws, deployment)
    notify(ws, tmux, item)
    print(f"approval #{item.id} (rev {item.revision}): {item.agency}: {item.title} — waiting for review")
    if deployment.demo_url:
        print(f"demo: {deployment.demo_url}")
    print(f"sandbox session: {_attach_hint(tmux, deployment.session)}")
    return 0


def _approval_box(items: list[Any]) -> str:
    """The seed's approval box."""
    width = 62
    lines = [f"PENDING APPROVALS ({len(items)})"]
    body: list[str] = []
    for item in items:
        t = item.tests
        body.append(f"[{item.id}] {item.agency}: {item.title}" + (f"  (rev {item.revision})" if item.revision > 1 else ""))
        body.append(f"    Branch: {item.branch} → {item.base}")
        cov = f" ({item.coverage:g}% coverage)" if item.coverage is not None else ""
        body.append(f"    Tests: {t.passed} passed, {t.failed} failed{', ' + str(t.skipped) + ' skipped' if t.skipped else ''}{cov}")
        if item.demo_url:
            body.append(f"    Demo: {item.demo_url}")
        body.append(f"    Files: {item.files_changed} changed, +{item.additions} -{item.deletions}")
        body.append("")
    if body:
        body.pop()
    else:
        body.append("nothing waits for review")
    out = ["╔" + "═" * width + "╗", "║ " + lines[0].center(width - 2) + " ║", "╠" + "═" * width + "╣"]
    out += ["║ " + line[: width - 2].ljust(width - 2) + " ║" for line in body]
    out.append("╚" + "═" * width + "╝")
    return "\n".join(out)


def _drift_alert(drifts: list[Any]) -> str:
    """What moved the base branch behind the gate's back, loud: every line starts with '!!'."""
    from tmux_agency.services.drift import SHOWN

    lines = []
    for drift in drifts:
        lines.append(f"!! ALERT: {drift.headline()}")
        for commit in drift.commits[:SHOWN]:
            lines.append(f"!!   {commit['short']}  {commit['date'][:16].replace('T', ' ')}  {commit['author']}: {commit['subject']}")
        if len(drift.commits) > SHOWN:
            lines.append(f"!!   … and {len(drift.commits) - SHOWN} more (git log {drift.since[:10]}..{drift.branch})")
        lines.append(f"!! look at them (git show SHA); undo them, or accept the base as it is: {PROG} accept-base --branch {drift.branch}")
    return "\n".join(lines)


def cmd_approvals(args: argparse.Namespace) -> int:
    from tmux_agency.services.approvals import items
    from tmux_agency.services.drift import check

    ws = _workspace(args)
    pending = items(ws, status=None if args.all else "pending")
    try:
        drifts, problem = check(ws), None
    except AgencyError as exc:  # git failed: the queue is still shown, and why the base is not
        drifts, problem = [], str(exc)
    if args.json:
        found = {"items": [i.model_dump(mode="json") for i in pending], "drift": [d.to_json() for d in drifts]}
        _print_json({**found, "drift_error": problem} if problem else found)
        return 0
    if problem:
        print(f"!! cannot check the base branch for commits behind the gate's back: {problem}")
    if drifts:
        print(_drift_alert(drifts))
    print(_approval_box(pending))
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from tmux_agency.services.approvals import approve

    item = approve(_workspace(args), _tmux(args), args.id)
    print(f"approved #{item.id}: {item.branch} merged into {item.base} by {item.decided_by}")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    from tmux_agency.services.approvals import lesson_line, reject

    item = reject(_workspace(args), _tmux(args), args.id, args.feedback)
    print(f"rejected #{item.id}: the feedback went to {item.agency}'s coordinator, and this line into its lessons.md:")
    print(f"  {lesson_line(item, item.feedback or '', item.decided_at)}")
    return 0


def cmd_accept_base(args: argparse.Namespace) -> int:
    """A human accepts the base branch as it is: what moved it so far is no longer an alert."""
    from tmux_agency.services.approvals import check_gate
    from tmux_agency.services.drift import accept, check

    ws = _workspace(args)
    check_gate(ws, _tmux(args))
    before = {d.branch: d for d in check(ws)}
    record = accept(ws, args.branch)
    drift = before.get(record["branch"])
    what = f"{len(drift.commits)} commit(s) no approval made are accepted" if drift else "nothing was behind the gate's back"
    print(f"accepted {record['branch']} at {record['commit'][:10]} as known good: {what}")
    return 0


def cmd_approval_cli(args: argparse.Namespace) -> int:
    """The seed's interactive approval CLI: pick an item, see it, approve or reject it."""
    from tmux_agency.doors import git
    from tmux_agency.services.approvals import approve, check_gate, clean_feedback, get_item, items, lesson_line, reject

    ws = _workspace(args)
    tmux = _tmux(args)
    check_gate(ws, tmux)

    def ask(prompt: str) -> str | None:
        try:
            return input(prompt).strip()
        except EOFError:
            return None

    while True:
        pending = items(ws)
        print(_approval_box(pending))
        if not pending:
            return 0
        choice = ask(f"Select item [{'-'.join(str(i.id) for i in pending[:1] + pending[-1:])}], or (q)uit: ")
        if choice is None or choice.lower() in ("q", "quit"):
            return 0
        try:
            item = get_item(ws, choice)
        except UsageError as exc:
            print(exc)
            continue
        print(f"\n#{item.id} {item.agency}: {item.title} (rev {item.revision}, commit {item.commit[:10]})")
        print(f"log: {item.test_log}")
        try:
            print(git.diff_summary(ws.project_dir(), item.base, item.branch))
        except AgencyError as exc:
            print(f"(no diff: {exc})")
        action = ask("(a)pprove, (r)eject, (b)ack, (q)uit: ")
        if action is None or action.lower().startswith("q"):
            return 0
        try:
            if action.lower().startswith("a"):
                done = approve(ws, tmux, item.id)
                print(f"approved #{done.id}: merged into {done.base}\n")
            elif action.lower().startswith("r"):
                feedback = ask("Feedback for the agency: ")
                line = lesson_line(item, feedback or "")
                if not clean_feedback(feedback or ""):
                    print("no feedback given: nothing rejected\n")
                    continue
                print(f"This line goes into agencies/{item.agency}/lessons.md, which later briefings quote as reviewers' notes:")
                print(f"  {line}")
                if (ask("(s)ave and reject, or (c)ancel: ") or "").lower().startswith("s"):
                    reject(ws, tmux, item.id, feedback or "", shown=line)
                    print(f"rejected #{item.id}: feedback sent\n")
                else:
                    print("nothing rejected\n")
        except AgencyError as exc:
            print(f"{PROG}: {exc}\n")


def _parse_size(text: str) -> tuple[int, int]:
    import re

    match = re.fullmatch(r"(\d{2,4})x(\d{2,4})", text or "")
    if not match or not (40 <= int(match[1]) <= 1000 and 12 <= int(match[2]) <= 500):
        raise UsageError(f"--size {text!r}: use COLSxROWS, e.g. 120x40 (40-1000 columns, 12-500 rows)")
    return int(match[1]), int(match[2])


def cmd_tui(args: argparse.Namespace) -> int:
    from pathlib import Path

    ws = _workspace(args)
    tmux = _tmux(args)
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
    _progress(f"demo: workspace {ws.root}, project {ws.project_dir()}, tmux -L {socket}")
    try:
        demo.start(ws, tmux, pace, progress=_progress)
        if args.headless:
            item = demo.wait_for_approval(ws, args.timeout, progress=_progress)
            facts = demo.summary(ws)
            if args.json:
                _print_json(facts)
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
            print(f"the demo keeps running: tmux -L {socket} attach   ·   "
                  f"tmux-agency --home {ws.root} --socket {socket} tui   ·   stop: tmux -L {socket} kill-server")


# --- scheduled check-ins and the head-less dispatcher (issue #7) -------------------------------
# schedule.py keeps check-ins in registry/schedule.json; `run` sends the due ones and delivers
# queued messages, as the control room does on a timer.


def cmd_schedule(args: argparse.Namespace) -> int:
    """schedule [--in D] [--every D] TARGET TEXT | schedule list [--json] | schedule cancel ID"""
    from tmux_agency.services import schedule

    ws = _workspace(args)
    words = args.words
    if words and words[0] == "list":
        if len(words) != 1 or args.in_ or args.every:
            raise UsageError("schedule list takes only --json")
        items = schedule.list_checkins(ws)
        if args.json:
            _print_json([item.model_dump(mode="json") for item in items])
            return 0
        if not items:
            print("no check-ins scheduled (add one: tmux-agency schedule --in 30m AGENCY TEXT)")
        for item in items:
            print(_checkin_line(item, schedule))
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
        text = _read_stdin()
    in_s = schedule.parse_duration(args.in_, "--in") if args.in_ is not None else None
    every_s = schedule.parse_duration(args.every, "--every") if args.every is not None else None
    item = schedule.add_checkin(ws, target, text, in_s=in_s, every_s=every_s)
    if args.json:
        _print_json(item.model_dump(mode="json"))
    else:
        print(f"scheduled check-in #{item.id}: {_checkin_line(item, schedule)}")
    return 0


def _checkin_line(item: Any, schedule: Any) -> str:
    from tmux_agency.models.schema import utcnow

    left = (item.due - utcnow()).total_seconds()
    when = f"in {schedule.format_duration(left)}" if left > 0 else "due now"
    every = f"every {schedule.format_duration(item.every_s)}" if item.every_s else "once"
    error = f"  (last time: {item.last_error})" if item.last_error else ""
    return (f"#{item.id:<3} {item.due.astimezone():%Y-%m-%d %H:%M} ({when}, {every})  "
            f"{item.agency}/{item.agent}  {_one_line(item.text, 70)}{error}")


def cmd_run(args: argparse.Namespace) -> int:
    from tmux_agency.services.schedule import run_dispatcher

    ws = _workspace(args)
    tmux = _tmux(args)
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
        _progress(f"dispatching check-ins and queued messages every {args.interval:g}s (Ctrl-C stops)")
    try:
        run_dispatcher(ws, tmux, once=args.once, interval_s=args.interval, now=now,
                       report=lambda line: print(line, flush=True), warn=lambda line: _progress(f"{PROG} run: {line}"))
    except KeyboardInterrupt:
        return 0
    return 0


def _args_schedule(p: argparse.ArgumentParser) -> None:
    p.add_argument("words", nargs="*", metavar="ARG", help="TARGET TEXT (TARGET: AGENCY or AGENCY/AGENT), or: list, cancel ID")
    p.add_argument("--in", dest="in_", metavar="DURATION", help="send it once, this long from now: 30m, 2h, 1h30m")
    p.add_argument("--every", metavar="DURATION", help="send it again every DURATION (at least 1m)")
    p.add_argument("--json", action="store_true")


def _args_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between passes (default 5)")
    p.add_argument("--now", help="with --once: act as if it were this ISO time (tests, catching up)")


def cmd_agent(args: argparse.Namespace) -> int:
    from tmux_agency.demo.scripted_agent import run_agent
    from tmux_agency.doors.workspace import AGENCY_ENV, AGENT_ENV

    return run_agent(args.agency or os.environ.get(AGENCY_ENV), args.name or os.environ.get(AGENT_ENV), args.pace)


# --- tasks, capabilities, metrics (issue #6) ---------------------------------------------------
# The task graph (tasks.py), capability discovery and agency selection (selection.py), and the
# metrics (metrics.py). Each command: parse, one service call, print (or --json).


def _actor() -> str:
    """Who acts: the agent of this pane, or the human."""
    from tmux_agency.doors.workspace import AGENCY_ENV, AGENT_ENV

    agency, agent = os.environ.get(AGENCY_ENV), os.environ.get(AGENT_ENV)
    return f"{agency}/{agent}" if agency and agent else agency or "human"


def _task_line(task: Any, critical: set[str], ready: set[str]) -> str:
    from tmux_agency.services.tasks import MARKS

    state = task.state.replace("_", " ")
    if task.id in ready:
        state = "ready"
    flags = " ★" if task.id in critical else ""
    after = f"  (after {', '.join(task.after)})" if task.after else ""
    return f"{task.id:<6} {MARKS.get(task.state, '?')} {state:<10} {task.priority:<8} {task.agency or '—':<16} {task.title}{after}{flags}"


def cmd_task(args: argparse.Namespace) -> int:
    from tmux_agency.services import tasks as t

    ws = _workspace(args)
    action = args.task_command
    if action == "add":
        needs = args.needs.split(",") if args.needs is not None else None
        if args.agency is not None and args.needs is not None:
            raise UsageError("give --agency or --needs, not both")
        added = t.add_task(ws, _tmux(args), args.title, agency=args.agency, needs=needs,
                           after=t.parse_ids(args.after), priority=args.priority, by=_actor())  # fmt: skip
        task = added.task
        if args.json:
            _print_json({**t.describe(task, t.load_tasks(ws)), "sent": task.id in added.sent})
            return 0
        if added.reason:
            print(added.reason)
        where = f" → {task.agency}" if task.agency else ""
        if task.id in added.sent:
            status = f"sent to {task.agency}'s coordinator"
        elif task.after and any(d for d in t.waiting_for(task, t.load_tasks(ws))):
            status = f"waits for {', '.join(t.waiting_for(task, t.load_tasks(ws)))}"
        elif task.agency:
            status = f"ready; {task.agency} is not running: it is sent once the agency exists (tmux-agency create {task.agency})"
        else:
            status = "ready; no agency: mark it with 'tmux-agency task done' when it is done"
        print(f"added {task.id}{where}: {task.title} ({status})")
        return 0
    if action == "list":
        shown = t.list_tasks(ws, ready=args.ready, agency=args.agency)
        everything = t.load_tasks(ws)
        critical = set(t.critical_path(everything))
        if args.json:
            _print_json([{**t.describe(task, everything), "on_critical_path": task.id in critical} for task in shown])
            return 0
        if not shown:
            print("no tasks" + (" ready" if args.ready else "") + (f" for {args.agency}" if args.agency else "")
                  + " (add one: tmux-agency task add TITLE --agency NAME)")  # fmt: skip
            return 0
        ready = t.ready_ids(everything)
        for task in shown:
            print(_task_line(task, critical, ready))
        path = t.critical_path(everything)
        if path:
            print(f"critical path (★): {' → '.join(path)} ({len(path)} task{'s' if len(path) != 1 else ''})")
        return 0
    if action == "show":
        task = t.get_task(ws, args.id)
        everything = t.load_tasks(ws)
        view = {**t.describe(task, everything), "on_critical_path": task.id in t.critical_path(everything)}
        if args.json:
            _print_json(view)
            return 0
        print(f"{task.id} {t.MARKS.get(task.state, '?')} {task.title}")
        print(f"  state      {task.state.replace('_', ' ')}{' (ready)' if view['ready'] else ''}"
              f"{' · on the critical path' if view['on_critical_path'] else ''}")  # fmt: skip
        print(f"  agency     {task.agency or '—'}" + (f"  (needs {', '.join(task.needs)})" if task.needs else ""))
        if task.reason:
            print(f"  why        {task.reason}")
        print(f"  priority   {task.priority}")
        print(f"  after      {', '.join(task.after) or '—'}" + (f"  (waiting for {', '.join(view['waiting_for'])})" if view["waiting_for"] else ""))
        print(f"  dependents {', '.join(view['dependents']) or '—'}")
        if task.branch or task.approval:
            print(f"  work       {task.branch or '—'}" + (f", approval #{task.approval}" if task.approval else "")
                  + (f", rejected {task.rejections}×" if task.rejections else ""))  # fmt: skip
        for step in task.history:
            print(f"  {step.time:%Y-%m-%d %H:%M:%S}  {step.event:<9} → {step.state.replace('_', ' '):<10} {step.by}")
        return 0
    if action == "dep":
        task, warnings = t.add_dependency(ws, _tmux(args), args.id, t.parse_ids(args.after), by=_actor())
        if args.json:
            _print_json({**t.describe(task, t.load_tasks(ws)), "warnings": warnings})
            return 0
        print(f"{task.id} now waits for {', '.join(task.after)}")
        for warning in warnings:
            print(f"note: {warning}")
        return 0
    state = {"done": "completed", "fail": "failed", "cancel": "canceled"}[action]
    task, sent = t.finish(ws, _tmux(args), args.id, state, by=_actor())
    if args.json:
        _print_json({**t.describe(task, t.load_tasks(ws)), "sent": sent})
        return 0
    print(f"{task.id} {state}: {task.title}" + (f"; sent {', '.join(sent)} to their agencies" if sent else ""))
    return 0


def cmd_capabilities(args: argparse.Namespace) -> int:
    from tmux_agency.services.selection import agencies

    views = agencies(_workspace(args))
    if args.json:
        _print_json([v.as_dict() for v in views])
        return 0
    if not views:
        print("no agencies defined (tmux-agency init adds the starters)")
        return 0
    width = max(len(v.name) for v in views)
    for v in views:
        mark = {"running": "●", "stopped": "◌"}.get(v.status, "○")
        record = f"{v.approval_rate:.0%} first-review ({v.approved_first}/{v.reviewed})" if v.reviewed else "no reviews"
        print(f"{mark} {v.name:<{width}}  {v.status:<11}  load {v.load:<3} {record:<24} {', '.join(v.capabilities) or '—'}")
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from tmux_agency.services.metrics import compute, parse_since, render

    since = parse_since(args.since) if args.since is not None else None
    report = compute(_workspace(args), agency=args.agency, since=since)
    if args.json:
        _print_json(report)
    else:
        print(render(report))
    return 0


def _args_task(p: argparse.ArgumentParser) -> None:
    import argparse

    sub = p.add_subparsers(dest="task_command", metavar="ACTION", parser_class=type(p), required=True)

    def action(name: str, help_: str) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=help_, description=help_)
        # The global options work after the action too, as after any command.
        q.add_argument("--home", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        q.add_argument("--socket", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        q.add_argument("--json", action="store_true", help="print one JSON document")
        return q

    q = action("add", "add a task: to an agency, or to the best agency for the capabilities it needs")
    q.add_argument("title")
    q.add_argument("--agency", help="the agency that does it")
    q.add_argument("--needs", metavar="CAP,...", help="capabilities it needs: the agency is chosen (capabilities, load, record)")
    q.add_argument("--after", metavar="ID,...", help="tasks it waits for")
    q.add_argument("--priority", default="medium", help="low, medium (default), high or critical")
    q = action("list", "the tasks, with their states and the critical path")
    q.add_argument("--ready", action="store_true", help="only tasks that can start now")
    q.add_argument("--agency", help="only this agency's tasks")
    q = action("show", "one task: its state, dependencies, dependents and history")
    q.add_argument("id")
    q = action("dep", "make a task wait for others too (a cycle is refused)")
    q.add_argument("id")
    q.add_argument("--after", metavar="ID,...", required=True)
    for name, help_ in (("done", "mark a task completed"), ("fail", "mark a task failed"), ("cancel", "cancel a task")):
        action(name, help_).add_argument("id")


def cmd_profiles(args: argparse.Namespace) -> int:
    """profiles classify --program NAME FILE: what the profile reads from a saved capture."""
    from pathlib import Path

    from tmux_agency.services.programs import all_profiles, classify, takes_text
    from tmux_agency.doors.workspace import find_workspace

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
        _print_json({"state": reading.state, "rule": reading.rule, "types_into_it": takes_text(profile, reading)})
        return 0
    verdict = "a message would be typed" if takes_text(profile, reading) else "messages wait"
    print(f"{reading.state}  ({verdict})\n  rule: {reading.rule}")
    return 0


def _args_profiles(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="classify")
    c = sub.add_parser("classify", help="the state a profile reads from a saved pane capture, and the rule that decided it")
    c.add_argument("--program", required=True, help="the profile's name (claude, codex, gemini, aider, scripted, or one of your workspace's)")
    c.add_argument("file", help="a saved `tmux capture-pane -p` (or - for stdin)")
    c.add_argument("--json", action="store_true", help="print state, rule and whether a message would be typed, as JSON")


def _args_metrics(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agency", help="one agency's metrics")
    p.add_argument("--since", help="from this date or time (2024-05-01, 2024-05-01T09:30) or age (7d, 12h)")
    p.add_argument("--json", action="store_true")


# --- parser ------------------------------------------------------------------------------------
# One entry per command: name, function, help, and how to add its arguments. `main` builds only
# the parser of the command being run: building all of them costs ~17 ms, which every agent
# would pay on every `send`.


def _args_init(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", help="workspace folder (default: --home or the current folder)")
    p.add_argument("--project", help="the git repository the agents work on (default: the current folder)")


def _args_create(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="agency name, e.g. CodeAgency")
    p.add_argument("--agents", help="specialists, comma-separated (default: from agency.json)")
    p.add_argument("--coordinator", help="the coordinator's name (default: from agency.json)")
    p.add_argument("--capabilities", help="capabilities, comma-separated")
    p.add_argument("--program", help="program for every agent, e.g. claude (default: the scripted agent)")
    p.add_argument("--from", dest="template", metavar="AGENCY", help="start as a copy of another agency or starter, e.g. --from QAAgency")


def _args_json_only(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true")


def _args_status(p: argparse.ArgumentParser) -> None:
    p.add_argument("agency", nargs="?")
    p.add_argument("--json", action="store_true")


def _args_kill(p: argparse.ArgumentParser) -> None:
    p.add_argument("agency")


def _args_send(p: argparse.ArgumentParser) -> None:
    p.add_argument("words", nargs="+", metavar="ARG")
    p.add_argument("--type", help="STATUS, TASK, QUESTION, COMPLETE, BLOCKED or NOTE (default: from the text)")
    p.add_argument("--json", action="store_true")


def _args_send_inter(p: argparse.ArgumentParser) -> None:
    p.add_argument("words", nargs="+", metavar="ARG")
    p.add_argument("--json", action="store_true")


def _args_broadcast(p: argparse.ArgumentParser) -> None:
    p.add_argument("words", nargs="+", metavar="ARG")
    p.add_argument("--json", action="store_true")


def _args_deliver(p: argparse.ArgumentParser) -> None:
    p.add_argument("agency", nargs="?")


def _args_inbox(p: argparse.ArgumentParser) -> None:
    p.add_argument("agency", nargs="?")
    p.add_argument("agent", nargs="?")
    p.add_argument("--json", action="store_true")


def _args_log(p: argparse.ArgumentParser) -> None:
    p.add_argument("--follow", "-f", action="store_true")
    p.add_argument("--agency")
    p.add_argument("--type")
    p.add_argument("--verify", action="store_true", help="check the log's hash chain")
    p.add_argument("--json", action="store_true")


def _args_deploy(p: argparse.ArgumentParser) -> None:
    p.add_argument("agency")
    p.add_argument("branch")
    p.add_argument("--test-command", help="instead of the agency's sandbox.test_command")


def _args_approvals(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", help="decided items too")
    p.add_argument("--json", action="store_true")


def _args_approve(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")


def _args_accept_base(p: argparse.ArgumentParser) -> None:
    p.add_argument("--branch", help="the base branch (default: the settings' base_branch, else the project's current branch)")


def _args_reject(p: argparse.ArgumentParser) -> None:
    p.add_argument("id")
    p.add_argument("--feedback", required=True)


def _args_tui(p: argparse.ArgumentParser) -> None:
    p.add_argument("--snapshot", metavar="PATH.svg", help="render the screen headless to an SVG and exit")
    p.add_argument("--size", metavar="COLSxROWS", help="with --snapshot (default 120x40)")


def _args_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--headless", action="store_true", help="no control room: run to the approval queue and print what happened")
    p.add_argument("--dir", help="build the demo here (an empty or new folder; default: a temporary one)")
    p.add_argument("--pace", type=float, help="seconds each agent waits before acting (default 1.5, headless 0.2)")
    p.add_argument("--timeout", type=float, default=240, help="headless: give up after this many seconds (default 240)")
    p.add_argument("--keep", action="store_true", help="headless: leave the agencies running afterwards")
    p.add_argument("--json", action="store_true", help="headless: the summary as JSON")


def _args_agent(p: argparse.ArgumentParser) -> None:
    p.add_argument("--agency")
    p.add_argument("--name")
    p.add_argument("--pace", type=float, help="seconds a task takes (default: $TMUX_AGENCY_AGENT_PACE or 2)")


COMMANDS: list[tuple[str, Callable[[argparse.Namespace], int], str, Callable[[argparse.ArgumentParser], None] | None]] = [
    ("demo", cmd_demo, "the whole story, live, with scripted agents: start here", _args_demo),
    ("init", cmd_init, "make a workspace with the five starter agencies", _args_init),
    ("create", cmd_create, "start an agency in its own tmux session", _args_create),
    ("list", cmd_list, "list registered agencies", _args_json_only),
    ("status", cmd_status, "windows, agents and whether each agent's program runs", _args_status),
    ("kill", cmd_kill, "stop an agency's session and unregister it", _args_kill),
    ("restore", cmd_restore, "re-create every registered agency whose session is gone", None),
    ("send", cmd_send, "send a message to an agent: send AGENCY AGENT TEXT (in a pane: send AGENT TEXT)", _args_send),
    ("send-inter", cmd_send_inter, "send a JSON message to another agency: send-inter FROM TO JSON", _args_send_inter),
    ("broadcast", cmd_broadcast, "send a JSON message to every active agency: broadcast FROM JSON", _args_broadcast),
    ("deliver", cmd_deliver, "deliver queued messages to agents that are back", _args_deliver),
    ("inbox", cmd_inbox, "messages to an agency or agent, with their delivery states", _args_inbox),
    ("log", cmd_log, "the message log", _args_log),
    ("deploy", cmd_deploy, "test a branch in the sandbox; green work joins the approval queue", _args_deploy),
    ("approvals", cmd_approvals, "the approval queue", _args_approvals),
    ("approval-cli", cmd_approval_cli, "review the approval queue interactively", None),
    ("approve", cmd_approve, "approve work: merge it into its base branch", _args_approve),
    ("accept-base", cmd_accept_base, "accept the base branch as it is, after an alert that it moved without an approval", _args_accept_base),
    ("reject", cmd_reject, "reject work: the feedback goes back to the agency", _args_reject),
    ("tui", cmd_tui, "the control room: agencies, message feed, task graph, approvals", _args_tui),
    ("schedule", cmd_schedule, "check-ins: schedule --in 30m|--every 30m TARGET TEXT, schedule list, schedule cancel ID", _args_schedule),
    ("run", cmd_run, "the head-less dispatcher: send due check-ins, deliver queued messages, send ready tasks (--once: one pass)", _args_run),
    ("agent", cmd_agent, "run the scripted agent (the stand-in for an AI CLI)", _args_agent),
    ("task", cmd_task, "the task graph: task add|list|show|dep|done|fail|cancel", _args_task),
    ("capabilities", cmd_capabilities, "each agency's capabilities, load and review record", _args_json_only),
    ("metrics", cmd_metrics, "completion, approval, response and handoff times, quality, lessons", _args_metrics),
    ("profiles", cmd_profiles, "agent program profiles: profiles classify --program NAME FILE", _args_profiles),
]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with `only` just the top level and that one command."""
    import argparse

    Parser = _parser_class()  # noqa: N806 - a class
    common = Parser(add_help=False)
    common.add_argument("--home", default=argparse.SUPPRESS, help="the workspace folder (default: $TMUX_AGENCY_HOME, or the nearest above)")
    common.add_argument("--socket", default=argparse.SUPPRESS, help="tmux server socket name, as tmux -L (default: $TMUX_AGENCY_SOCKET)")

    parser = Parser(prog=PROG, description="Teams of AI coding agents in tmux, with a human approval gate.", parents=[common])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, func, help_, add_arguments in COMMANDS:
        if only is not None and name != only:
            continue
        p = sub.add_parser(name, help=help_, description=help_, parents=[common])
        p.set_defaults(func=func)
        if add_arguments is not None:
            add_arguments(p)
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    """The command named in argv (after the global --home/--socket), if it is a known one."""
    words = iter(argv)
    for word in words:
        if word in ("--home", "--socket"):
            next(words, None)
        elif not word.startswith("-"):
            return word if any(word == name for name, *_ in COMMANDS) else None
        elif not word.startswith(("--home=", "--socket=")):
            return None  # --help or a mistake: the full parser explains
    return None


def _plain_send(argv: list[str]) -> object | None:
    """`send AGENCY AGENT TEXT` or `send AGENT TEXT`, the way agents call it all day, parsed
    without argparse; anything else (options, help, a text starting with '-', a mistake) is
    left to the full parser."""
    if argv[:1] != ["send"] or len(argv) not in (3, 4) or any(word.startswith("-") for word in argv[1:]):
        return None
    from types import SimpleNamespace

    return SimpleNamespace(func=cmd_send, words=argv[1:], type=None, json=False, home=None, socket=None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        _check_utf8(argv)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return exc.exit_code
    args = _plain_send(argv)
    if args is None:
        parser = build_parser(only=_command_word(argv))
        args = parser.parse_args(argv)
        for name in ("home", "socket"):
            if not hasattr(args, name):
                setattr(args, name, None)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
    try:
        return args.func(args)
    except AgencyError as exc:
        print(f"{PROG}: {_error_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except RecursionError:  # JSON nested thousands deep in a file the user wrote (agency.json, ...)
        print(f"{PROG}: the JSON is nested too deeply (a file or an argument of this command)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("TMUX_AGENCY_DEBUG"):
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc} (set TMUX_AGENCY_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
