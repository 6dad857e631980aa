"""Commands for agencies: init, create, list, status, kill, restore."""

from __future__ import annotations

import os
import sys

from tmux_agency.models.errors import UsageError

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see doors/registry.py)
if TYPE_CHECKING:
    import argparse

from tmux_agency.cli.plumbing import attach_hint, print_json, progress, tmux_of, workspace_of


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

    ws = workspace_of(args)
    tmux = tmux_of(args)
    if args.program is not None and not args.program.strip():
        raise UsageError("--program is empty")
    record, result = create_agency(
        ws,
        tmux,
        args.name,
        agents=split_names(args.agents, "agents"),
        coordinator=next(iter(split_names(args.coordinator, "coordinator") or []), None),
        capabilities=split_names(args.capabilities, "capabilities"),
        program=args.program,
        progress=progress,
        template=getattr(args, "template", None),
    )
    print(
        f"created {record.name}: {len(record.agents)} agents, windows "
        f"{', '.join([a.window for a in record.agents] + ['tools', 'sandbox'])}"
    )
    for name, why in result.not_briefed.items():
        print(f"  ! {name}: not briefed: {why}", file=sys.stderr)
    print(f"attach: {attach_hint(tmux, record.session)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from tmux_agency.services.agencies import records_as_seen
    from tmux_agency.services.agent_state import agents_down

    ws = workspace_of(args)
    tmux = tmux_of(args)
    records = records_as_seen(ws, tmux)
    down = agents_down(ws, records, tmux.list_panes()) if any(r.status == "running" for r in records) else {}
    if args.json:
        print_json(
            [
                {
                    "name": r.name,
                    "status": r.status,
                    "session": r.session,
                    "coordinator": r.spec.coordinator.name,
                    "agents": [a.name for a in r.agents],
                    "down": down.get(r.name, [a.name for a in r.agents])
                    if r.status == "running"
                    else [a.name for a in r.agents],
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
        lost = len(down.get(r.name, [])) if r.status == "running" else 0
        agents = f"{len(r.agents)} agents" + (f" ({lost} down)" if lost else "")
        print(f"{mark} {r.name:<{width}}  {r.status:<8} {agents}  {', '.join(r.spec.capabilities)}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from tmux_agency.services.agencies import agency_status
    from tmux_agency.services.bus import Bus

    ws = workspace_of(args)
    tmux = tmux_of(args)
    views = agency_status(ws, tmux, args.agency)
    queued = Bus(ws, tmux).queued(args.agency)
    for view in views:
        for agent in view["agents"]:
            agent["queued"] = sum(
                1 for m in queued if m["recipient_agency"] == view["name"] and m["recipient_agent"] == agent["name"]
            )
    if args.json:
        print_json(views if args.agency is None else views[0])
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

    result = kill_agency(workspace_of(args), tmux_of(args), args.agency)
    dropped, shared = result.dropped, result.shared
    print(
        f"killed {result.record.name}"
        + (f"; {dropped} queued message(s) dropped (see 'tmux-agency log')" if dropped else "")
        + (
            f"; left running, shared with other programs of the same name: pid {', '.join(map(str, shared))}"
            if shared
            else ""
        )
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from tmux_agency.services.agencies import restore_agencies
    from tmux_agency.services.bus import Bus

    ws = workspace_of(args)
    tmux = tmux_of(args)
    restored = restore_agencies(ws, tmux, progress=progress)
    if not restored:
        print("nothing to restore: every registered agency is running")
    for record, result in restored:
        print(f"restored {record.name}: {len(result.briefed)}/{len(result.agents)} agents briefed")
    delivered = [m for m in Bus(ws, tmux).deliver() if m["state"] != "queued"]
    if delivered:
        print(f"delivered {len(delivered)} queued message(s)")
    return 0
