"""Commands for the human gate: deploy, approvals, approve, reject, accept-base, approval-cli."""

from __future__ import annotations

import sys

from tmux_agency.models.errors import AgencyError, UsageError

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see doors/registry.py)
if TYPE_CHECKING:
    import argparse

from tmux_agency.cli.plumbing import PROG, attach_hint, print_json, progress, tmux_of, workspace_of
from tmux_agency.cli.render import approval_box, drift_alert


def cmd_deploy(args: argparse.Namespace) -> int:
    from tmux_agency.services.approvals import deploy_for_review

    ws = workspace_of(args)
    tmux = tmux_of(args)
    deployment, item = deploy_for_review(ws, tmux, args.agency, args.branch, args.test_command, progress=progress)
    run = deployment.run
    counts = run.counts
    print(
        f"tests: {counts.passed} passed, {counts.failed} failed, {counts.skipped} skipped, {counts.errors} errors"
        + (f" · coverage {run.coverage:g}%" if run.coverage is not None else "")
        + f" · {deployment.files_changed} files, +{deployment.additions} -{deployment.deletions}"
    )
    if item is None:
        reason = "timed out" if run.exit_code is None else ("no tests ran" if counts.total == 0 else "tests failed")
        print(
            f"{PROG}: {deployment.branch} is red ({reason}); the failures went to {deployment.agency}'s coordinator; log: {run.log}",
            file=sys.stderr,
        )
        return 1
    print(f"approval #{item.id} (rev {item.revision}): {item.agency}: {item.title} — waiting for review")
    if deployment.demo_url:
        print(f"demo: {deployment.demo_url}")
    print(f"sandbox session: {attach_hint(tmux, deployment.session)}")
    return 0


def cmd_approvals(args: argparse.Namespace) -> int:
    from tmux_agency.services.approvals import items
    from tmux_agency.services.drift import check

    ws = workspace_of(args)
    pending = items(ws, status=None if args.all else "pending")
    try:
        drifts, problem = check(ws), None
    except AgencyError as exc:  # git failed: the queue is still shown, and why the base is not
        drifts, problem = [], str(exc)
    if args.json:
        found = {"items": [i.model_dump(mode="json") for i in pending], "drift": [d.to_json() for d in drifts]}
        print_json({**found, "drift_error": problem} if problem else found)
        return 0
    if problem:
        print(f"!! cannot check the base branch for commits behind the gate's back: {problem}")
    if drifts:
        print(drift_alert(drifts))
    print(approval_box(pending))
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    from tmux_agency.services.approvals import approve

    item = approve(workspace_of(args), tmux_of(args), args.id)
    print(f"approved #{item.id}: {item.branch} merged into {item.base} by {item.decided_by}")
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    from tmux_agency.services.approvals import lesson_line, reject

    item = reject(workspace_of(args), tmux_of(args), args.id, args.feedback)
    print(f"rejected #{item.id}: the feedback went to {item.agency}'s coordinator, and this line into its lessons.md:")
    print(f"  {lesson_line(item, item.feedback or '', item.decided_at)}")
    return 0


def cmd_accept_base(args: argparse.Namespace) -> int:
    """A human accepts the base branch as it is: what moved it so far is no longer an alert."""
    from tmux_agency.services.approvals import check_gate
    from tmux_agency.services.drift import accept, check

    ws = workspace_of(args)
    check_gate(ws, tmux_of(args))
    before = {d.branch: d for d in check(ws)}
    record = accept(ws, args.branch)
    drift = before.get(record["branch"])
    what = (
        f"{len(drift.commits)} commit(s) no approval made are accepted"
        if drift
        else "nothing was behind the gate's back"
    )
    print(f"accepted {record['branch']} at {record['commit'][:10]} as known good: {what}")
    return 0


def cmd_approval_cli(args: argparse.Namespace) -> int:
    """The seed's interactive approval CLI: pick an item, see it, approve or reject it."""
    from tmux_agency.services.approvals import (
        approve,
        change_summary,
        check_gate,
        clean_feedback,
        get_item,
        items,
        lesson_line,
        reject,
    )

    ws = workspace_of(args)
    tmux = tmux_of(args)
    check_gate(ws, tmux)

    def ask(prompt: str) -> str | None:
        try:
            return input(prompt).strip()
        except EOFError:
            return None

    while True:
        pending = items(ws)
        print(approval_box(pending))
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
            print(change_summary(ws, item))
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
                print(
                    f"This line goes into agencies/{item.agency}/lessons.md, which later briefings quote as reviewers' notes:"
                )
                print(f"  {line}")
                if (ask("(s)ave and reject, or (c)ancel: ") or "").lower().startswith("s"):
                    reject(ws, tmux, item.id, feedback or "", shown=line)
                    print(f"rejected #{item.id}: feedback sent\n")
                else:
                    print("nothing rejected\n")
        except AgencyError as exc:
            print(f"{PROG}: {exc}\n")
