"""Commands for the bus: send, send-inter, broadcast, deliver, inbox, log (and log --verify)."""

from __future__ import annotations

import json
import os
import sys

from tmux_agency.models.errors import UsageError

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see doors/registry.py)
if TYPE_CHECKING:
    import argparse
    from typing import Any

from tmux_agency.cli.plumbing import PROG, error_line, print_json, read_stdin, tmux_of, workspace_of
from tmux_agency.cli.render import one_line, report_send


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
        text = read_stdin()
    result = Bus(workspace_of(args), tmux_of(args)).send(agency, agent, text, type_=args.type)
    report_send(result, args.json)
    return 0


def cmd_send_inter(args: argparse.Namespace) -> int:
    from tmux_agency.doors.workspace import AGENCY_ENV, AGENT_ENV
    from tmux_agency.services.bus import Bus

    words = args.words
    if len(words) == 3:
        sender, target, text = words
    elif len(words) == 2 and os.environ.get(AGENCY_ENV):
        sender, (target, text) = os.environ[AGENCY_ENV], words
    else:
        raise UsageError("send-inter takes FROM TO JSON (or TO JSON inside an agency pane)")
    if text == "-":
        text = read_stdin()
    result = Bus(workspace_of(args), tmux_of(args)).send_inter(sender, target, text, os.environ.get(AGENT_ENV))
    report_send(result, args.json)
    return 0


def cmd_broadcast(args: argparse.Namespace) -> int:
    from tmux_agency.doors.workspace import AGENCY_ENV, AGENT_ENV
    from tmux_agency.services.bus import Bus

    words = args.words
    if len(words) == 2:
        sender, text = words
    elif len(words) == 1 and os.environ.get(AGENCY_ENV):
        sender, text = os.environ[AGENCY_ENV], words[0]
    else:
        raise UsageError("broadcast takes FROM JSON (or JSON inside an agency pane)")
    if text == "-":
        text = read_stdin()
    result = Bus(workspace_of(args), tmux_of(args)).broadcast(sender, text, os.environ.get(AGENT_ENV))
    report_send(result, args.json)
    return 0


def cmd_deliver(args: argparse.Namespace) -> int:
    from tmux_agency.services.bus import Bus

    ws = workspace_of(args)
    if args.agency is not None:
        from tmux_agency.services.records import raw_record

        raw_record(ws, args.agency)  # an unknown agency is refused before the queue is touched
    results = Bus(ws, tmux_of(args)).deliver(args.agency)
    # What this process did: messages another deliverer typed meanwhile are not counted.
    done = [m for m in results if m["state"] == "delivered"]
    doubtful = [m for m in results if m["state"] == "uncertain"]
    still = [m for m in results if m["state"] == "queued"]
    print(f"delivered {len(done)}, still queued {len(still)}" + (f", uncertain {len(doubtful)}" if doubtful else ""))
    for m in [*still, *doubtful]:
        print(f"  {m['id']} → {m['recipient_agency']}/{m['recipient_agent']}: {m['reason']}")
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    from tmux_agency.doors.workspace import AGENCY_ENV, AGENT_ENV
    from tmux_agency.services.bus import Bus
    from tmux_agency.services.records import get_record

    ws = workspace_of(args)
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
    found = Bus(ws, tmux_of(args)).inbox(agency, agent, limit=_limit(args))
    messages = found.messages
    if args.json:
        print_json([m.model_dump(mode="json") for m in messages])
        return 0
    if not messages:
        print(f"no messages for {agency}{'/' + agent if agent else ''}")
    if found.more:
        print(_OLDER)
    for m in messages:
        why = f"  ({one_line(m.reason, 300)})" if m.state in ("queued", "uncertain", "dropped") and m.reason else ""
        print(
            f"{m.time:%H:%M:%S} {m.state:<12} {m.sender_label()} → {m.recipient_agent}  [{m.type}] {one_line(m.body)}{why}"
        )
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    from tmux_agency.services.bus import Bus

    bus = Bus(workspace_of(args), tmux_of(args))
    if args.verify:
        return _verify_log(bus)

    def wanted(m: dict[str, Any]) -> bool:  # a message as stored
        if args.agency and args.agency not in (m.get("sender_agency"), m.get("recipient_agency")):
            return False
        return not (args.type and str(m.get("type", "")).lower() != args.type.lower())

    def show(messages: list[Any]) -> None:
        for m in messages:
            if args.json:
                print(json.dumps(m.model_dump(mode="json"), ensure_ascii=False), flush=True)
            else:
                doubt = f"  (uncertain: {one_line(m.reason or '', 300)})" if m.state == "uncertain" else ""
                print(
                    f"{m.time:%Y-%m-%d %H:%M:%S} {m.sender_label()} → {m.recipient_label()}  [{m.type}] {one_line(m.body)}{doubt}",
                    flush=True,
                )

    found = bus.newest(_limit(args), wanted)
    if args.json and not args.follow:
        print_json([m.model_dump(mode="json") for m in found.messages])
        return 0
    if found.more and not args.json:
        print(_OLDER, flush=True)
    show(found.messages)
    if args.follow:
        import time

        offset = found.end
        try:
            while True:
                time.sleep(0.25)
                messages, offset = bus.follow(offset)
                show([m for m in messages if wanted(m.model_dump(mode="json"))])
        except KeyboardInterrupt:
            return 0
    return 0


# Printed above a list cut to its newest messages.
_OLDER = "(older messages not shown: -n N for more, --all for every one)"


def _limit(args: argparse.Namespace) -> int | None:
    """How many of the newest messages to show: --all for every one (read from the end of the
    history either way, so a long history costs only what is shown)."""
    if args.all:
        return None
    if args.limit < 1:
        raise UsageError(f"-n/--limit must be at least 1, not {args.limit}")
    return args.limit


def _verify_log(bus: Any) -> int:
    """`log --verify`: one line for the verdict, then a line per note (events past the head,
    unfinished lines killed writers left); a problem is one line on stderr, exit 1."""
    verdict, path = bus.verify_history()
    if verdict.problem:
        print(f"{PROG}: message log {path}: {error_line(verdict.problem)}", file=sys.stderr)
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
