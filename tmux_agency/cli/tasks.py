"""Commands for the task graph and what it measures: task, capabilities, metrics."""

from __future__ import annotations

import os

from tmux_agency.models.errors import UsageError

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see doors/registry.py)
if TYPE_CHECKING:
    import argparse

from tmux_agency.cli.plumbing import print_json, tmux_of, workspace_of
from tmux_agency.cli.render import MARKS, task_line


def _actor() -> str:
    """Who acts: the agent of this pane, or the human."""
    from tmux_agency.doors.workspace import AGENCY_ENV, AGENT_ENV

    agency, agent = os.environ.get(AGENCY_ENV), os.environ.get(AGENT_ENV)
    return f"{agency}/{agent}" if agency and agent else agency or "human"


def parse_ids(text: str | None) -> list[str]:
    """'T-1, T-2' → ['T-1', 'T-2'] (no duplicates)."""
    if text is None:
        return []
    ids = []
    for part in text.split(","):
        part = part.strip()
        if part and part not in ids:
            ids.append(part)
    if not ids:
        raise UsageError("--after names no task")
    return ids


def cmd_task(args: argparse.Namespace) -> int:
    from tmux_agency.services.tasks import graph, lifecycle, storage

    ws = workspace_of(args)
    action = args.task_command
    if action == "add":
        needs = args.needs.split(",") if args.needs is not None else None
        if args.agency is not None and args.needs is not None:
            raise UsageError("give --agency or --needs, not both")
        added = lifecycle.add_task(
            ws,
            tmux_of(args),
            args.title,
            agency=args.agency,
            needs=needs,
            after=parse_ids(args.after),
            priority=args.priority,
            by=_actor(),
        )
        task = added.task
        if args.json:
            print_json({**graph.describe(task, storage.load_tasks(ws)), "sent": task.id in added.sent})
            return 0
        if added.reason:
            print(added.reason)
        where = f" → {task.agency}" if task.agency else ""
        if task.id in added.sent:
            status = f"sent to {task.agency}'s coordinator"
        elif task.after and any(d for d in graph.waiting_for(task, storage.load_tasks(ws))):
            status = f"waits for {', '.join(graph.waiting_for(task, storage.load_tasks(ws)))}"
        elif task.agency:
            status = f"ready; {task.agency} is not running: it is sent once the agency exists (tmux-agency create {task.agency})"
        else:
            status = "ready; no agency: mark it with 'tmux-agency task done' when it is done"
        print(f"added {task.id}{where}: {task.title} ({status})")
        return 0
    if action == "list":
        shown = storage.list_tasks(ws, ready=args.ready, agency=args.agency)
        everything = storage.load_tasks(ws)
        critical = set(graph.critical_path(everything))
        if args.json:
            print_json(
                [{**graph.describe(task, everything), "on_critical_path": task.id in critical} for task in shown]
            )
            return 0
        if not shown:
            print(
                "no tasks"
                + (" ready" if args.ready else "")
                + (f" for {args.agency}" if args.agency else "")
                + " (add one: tmux-agency task add TITLE --agency NAME)"
            )
            return 0
        ready = graph.ready_ids(everything)
        for task in shown:
            print(task_line(task, critical, ready))
        path = graph.critical_path(everything)
        if path:
            print(f"critical path (★): {' → '.join(path)} ({len(path)} task{'s' if len(path) != 1 else ''})")
        return 0
    if action == "show":
        task = storage.get_task(ws, args.id)
        everything = storage.load_tasks(ws)
        view = {**graph.describe(task, everything), "on_critical_path": task.id in graph.critical_path(everything)}
        if args.json:
            print_json(view)
            return 0
        print(f"{task.id} {MARKS.get(task.state, '?')} {task.title}")
        print(
            f"  state      {task.state.replace('_', ' ')}{' (ready)' if view['ready'] else ''}"
            f"{' · on the critical path' if view['on_critical_path'] else ''}"
        )
        print(f"  agency     {task.agency or '—'}" + (f"  (needs {', '.join(task.needs)})" if task.needs else ""))
        if task.reason:
            print(f"  why        {task.reason}")
        print(f"  priority   {task.priority}")
        print(
            f"  after      {', '.join(task.after) or '—'}"
            + (f"  (waiting for {', '.join(view['waiting_for'])})" if view["waiting_for"] else "")
        )
        print(f"  dependents {', '.join(view['dependents']) or '—'}")
        if task.branch or task.approval:
            print(
                f"  work       {task.branch or '—'}"
                + (f", approval #{task.approval}" if task.approval else "")
                + (f", rejected {task.rejections}×" if task.rejections else "")
            )
        for step in task.history:
            print(f"  {step.time:%Y-%m-%d %H:%M:%S}  {step.event:<9} → {step.state.replace('_', ' '):<10} {step.by}")
        return 0
    if action == "dep":
        task, warnings = lifecycle.add_dependency(ws, tmux_of(args), args.id, parse_ids(args.after), by=_actor())
        if args.json:
            print_json({**graph.describe(task, storage.load_tasks(ws)), "warnings": warnings})
            return 0
        print(f"{task.id} now waits for {', '.join(task.after)}")
        for warning in warnings:
            print(f"note: {warning}")
        return 0
    state = {"done": "completed", "fail": "failed", "cancel": "canceled"}[action]
    task, sent = lifecycle.finish(ws, tmux_of(args), args.id, state, by=_actor())
    if args.json:
        print_json({**graph.describe(task, storage.load_tasks(ws)), "sent": sent})
        return 0
    print(f"{task.id} {state}: {task.title}" + (f"; sent {', '.join(sent)} to their agencies" if sent else ""))
    return 0


def cmd_capabilities(args: argparse.Namespace) -> int:
    from tmux_agency.services.selection import agencies

    views = agencies(workspace_of(args))
    if args.json:
        print_json([v.as_dict() for v in views])
        return 0
    if not views:
        print("no agencies defined (tmux-agency init adds the starters)")
        return 0
    width = max(len(v.name) for v in views)
    for v in views:
        mark = {"running": "●", "stopped": "◌"}.get(v.status, "○")
        record = f"{v.approval_rate:.0%} first-review ({v.approved_first}/{v.reviewed})" if v.reviewed else "no reviews"
        print(
            f"{mark} {v.name:<{width}}  {v.status:<11}  load {v.load:<3} {record:<24} {', '.join(v.capabilities) or '—'}"
        )
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from tmux_agency.services.metrics.compute import parse_since
    from tmux_agency.services.metrics.render import render
    from tmux_agency.services.metrics.report import build

    since = parse_since(args.since) if args.since is not None else None
    report = build(workspace_of(args), agency=args.agency, since=since)
    if args.json:
        print_json(report)
    else:
        print(render(report))
    return 0
