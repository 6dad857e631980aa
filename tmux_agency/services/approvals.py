"""The approval queue: tested work waits here for a human, who approves (merge) or rejects (feedback).

Agents cannot approve their own work: a decision asked for from inside an agency is refused
(gate.py). Every decision records who made it and when.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
import subprocess
import tempfile
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from tmux_agency.doors import git
from tmux_agency.doors import registry as reg
from tmux_agency.doors.activity import log_activity
from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import Workspace
from tmux_agency.models.errors import AgencyError, UsageError, WorldError
from tmux_agency.models.schema import ApprovalItem, utcnow
from tmux_agency.services.bus import Bus
from tmux_agency.services.delivery import visible_text
from tmux_agency.services.records import load_records, registry_of
from tmux_agency.services.sandbox import Deployment, remove_sandbox
from tmux_agency.services.tasks import lifecycle, storage


def items(ws: Workspace, status: str | None = "pending") -> list[ApprovalItem]:
    docs = registry_of(ws).documents(reg.APPROVALS)
    found = [ApprovalItem.model_validate(doc) for doc in docs]
    return sorted((i for i in found if status is None or i.status == status), key=lambda i: i.id)


def change_summary(ws: Workspace, item: ApprovalItem) -> str:
    """What an item changes, file by file (`git diff --stat` of its branch against its base)."""
    return git.diff_summary(ws.project_dir(), item.base, item.branch)


def get_item(ws: Workspace, item_id: str | int) -> ApprovalItem:
    # ASCII digits only, nothing around them: int() alone would take "3\n", " 3" or "٣".
    if isinstance(item_id, int):
        wanted = item_id
    elif re.fullmatch(r"#?[0-9]{1,18}", item_id):
        wanted = int(item_id.lstrip("#"))
    else:
        raise UsageError(f"approval id {item_id!r} is not a number (see 'tmux-agency approvals')")
    for item in items(ws, status=None):
        if item.id == wanted:
            return item
    raise UsageError(f"no approval #{wanted} (see 'tmux-agency approvals')")


def enqueue(ws: Workspace, deployment: Deployment) -> ApprovalItem:
    """Put green work on the queue; a re-deploy of the same branch is a new revision of its item."""
    run = deployment.run
    facts = {
        "agency": deployment.agency,
        "branch": deployment.branch,
        "base": deployment.base,
        "title": _title(ws, deployment),
        "status": "pending",
        "commit": deployment.commit,
        "tests": run.counts.model_dump(),
        "coverage": run.coverage,
        "files_changed": deployment.files_changed,
        "additions": deployment.additions,
        "deletions": deployment.deletions,
        "demo_url": deployment.demo_url,
        "worktree": str(deployment.worktree),
        "session": deployment.session,
        "test_log": str(run.log),
        "updated_at": utcnow().isoformat(),
        "decided_by": None,
        "decided_at": None,
    }
    with registry_of(ws).change(reg.APPROVALS) as queue:
        existing = queue.first(_not_approved, agency=deployment.agency, branch=deployment.branch)
        if existing is not None:
            item = ApprovalItem.model_validate({**existing, **facts, "revision": existing["revision"] + 1})
            queue.update(item.model_dump(mode="json"), doc_id=existing.doc_id)
        else:
            next_id = max((doc["id"] for doc in queue.all()), default=0) + 1
            item = ApprovalItem.model_validate({**facts, "id": next_id, "created_at": utcnow().isoformat()})
            queue.insert(item.model_dump(mode="json"))
    log_activity(
        ws.agency_dir(item.agency), "APPROVAL", f"#{item.id} {item.branch} rev {item.revision} waits for review"
    )
    lifecycle.on_approval(ws, None, item)  # the task it reviews goes in review
    return item


def _not_approved(item: Mapping[str, object]) -> bool:
    """An item still open to a new revision (rejected or pending; an approved branch is merged)."""
    return "status" in item and item["status"] != "approved"


def _title(ws: Workspace, deployment: Deployment) -> str:
    """What the reviewer reads first: the task the branch delivers (the task graph learns a
    task's branch from its handoff), else the branch's last commit subject."""
    for task in storage.documents(ws):
        if (task.get("agency"), task.get("branch")) == (deployment.agency, deployment.branch) and task.get(
            "state"
        ) not in (
            "completed",
            "failed",
            "canceled",
        ):
            return f"{task['id']}: {task['title']}"
    return git.last_subject(ws.project_dir(), deployment.branch) or deployment.branch


def notify(ws: Workspace, tmux: Tmux, item: ApprovalItem) -> None:
    """Tell the human: a message and a bell on every tmux client, and the settings' hook command."""
    text = f"tmux-agency: approval #{item.id} from {item.agency}: {item.title} ({item.tests.passed} passed)"
    for client, tty in tmux.clients():
        tmux.display_on(client, text)
        try:
            with open(tty, "w") as handle:
                handle.write("\a")
        except OSError:
            pass
    hook = ws.settings().notify_command
    if hook:
        env = {
            **os.environ,
            "TMUX_AGENCY_APPROVAL_ID": str(item.id),
            "TMUX_AGENCY_APPROVAL_AGENCY": item.agency,
            "TMUX_AGENCY_APPROVAL_BRANCH": item.branch,
            "TMUX_AGENCY_APPROVAL_TITLE": item.title,
        }
        try:
            subprocess.run([*shlex.split(hook), text], env=env, capture_output=True, timeout=10)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass  # a broken notifier must not lose the approval


def report_failure(ws: Workspace, tmux: Tmux, deployment: Deployment) -> None:
    """A red run goes back to the agency's coordinator as a TASK naming what failed."""
    run = deployment.run
    if run.exit_code is None:
        what = "the test command timed out"
    elif run.counts.total == 0:
        what = f"the test command exited {run.exit_code} and reported no tests"
    else:
        what = f"{run.counts.failed} failed, {run.counts.errors} errors, {run.counts.passed} passed"
    failed = "; ".join(run.failures[:10]) + (" …" if len(run.failures) > 10 else "")
    text = (
        f"TASK-FIX-{deployment.slug}: sandbox tests of {deployment.branch} are red: {what}."
        + (f" Failing: {failed}." if failed else "")
        + f" Log: {run.log}. Fix them on the branch, then deploy again."
    )
    Bus(ws, tmux).send(deployment.agency, "coordinator", text, sender=(None, "sandbox"))


def deploy_for_review(
    ws: Workspace,
    tmux: Tmux,
    agency: str,
    branch: str,
    test_command: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[Deployment, ApprovalItem | None]:
    """Test `branch` in the sandbox; green work joins the approval queue and the person is told,
    red work goes back to the agency's coordinator (the item is then None). Both faces deploy
    through here."""
    from tmux_agency.services.sandbox import deploy

    deployment = deploy(ws, tmux, agency, branch, test_command, progress)
    if not deployment.run.green:
        report_failure(ws, tmux, deployment)
        return deployment, None
    item = enqueue(ws, deployment)
    notify(ws, tmux, item)
    return deployment, item


def check_gate(ws: Workspace, tmux: Tmux) -> None:
    """Refuse a decision asked for from inside an agency (gate.py says how that is decided: from
    the caller's process ancestry, never from variables it can unset). `tmux` is not consulted:
    the servers that matter are found among the caller's ancestors, whatever socket they use."""
    from tmux_agency.services import gate

    gate.check({record.session for record in load_records(ws)})


def _decide(ws: Workspace, item: ApprovalItem, **changes: object) -> ApprovalItem:
    decided = item.model_copy(update={"decided_by": _who(), "decided_at": utcnow(), "updated_at": utcnow(), **changes})
    with registry_of(ws).change(reg.APPROVALS) as queue:
        queue.update(decided.model_dump(mode="json"), id=item.id)
    return decided


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def approve(ws: Workspace, tmux: Tmux, item_id: str | int) -> ApprovalItem:
    """Merge the branch into its base with a merge commit naming the approval; clean up; tell the agency."""
    check_gate(ws, tmux)
    item = get_item(ws, item_id)
    if item.status != "pending":
        raise UsageError(f"approval #{item.id} is already {item.status}")
    project = ws.project_dir()
    git.check_repository(project)
    if git.commit_of(project, item.branch) != item.commit:
        raise UsageError(f"{item.branch} has moved since it was tested (approval #{item.id}): deploy it again")
    before = git.tip(project, item.base)
    _merge(project, item)
    try:  # the merge commit is known good from now on; its record failing must not undo the merge
        from tmux_agency.services.drift import note_approval

        note_approval(ws, item.id, item.base, before or "", git.tip(project, item.base) or "", item.commit)
    except AgencyError:
        pass  # shown as drift later: loud, never silent
    decided = _decide(ws, item, status="approved")
    registry_of(ws).append_line(reg.APPROVED, decided.model_dump(mode="json"))
    remove_sandbox(ws, tmux, Path(item.worktree) if item.worktree else ws.sandbox_dir / "none", item.session)
    log_activity(
        ws.agency_dir(item.agency),
        "APPROVED",
        f"#{item.id} {item.branch} merged into {item.base} by {decided.decided_by}",
    )
    _tell(
        ws,
        tmux,
        item.agency,
        f"COMPLETE human: approval #{item.id} — {item.branch} approved and merged into {item.base}.",
    )
    lifecycle.on_approval(ws, tmux, decided)  # its task completes; what waited for it is dispatched
    return decided


def _merge(project: Path, item: ApprovalItem) -> None:
    """Merge in the project checkout if it is on the base branch, else in a temporary worktree.
    A conflict is aborted: nothing is half-applied."""
    message = f"Merge {item.branch} into {item.base}: approval #{item.id} (rev {item.revision}) — {item.title}"
    on_base = git.current_branch(project) == item.base
    if on_base:
        dirty = git.is_dirty(project)
        if dirty:
            raise UsageError(
                f"the project repository has uncommitted changes ({', '.join(dirty[:3])}): commit or stash them first"
            )
        where = project
    else:
        where = Path(tempfile.mkdtemp(prefix="tmux-agency-merge-")) / "base"
        git.git(project, "worktree", "add", str(where), item.base)
    # The merge commit is the approver's; a repository without an identity gets a stand-in.
    identity: list[str] = []
    if not git.git(where, "config", "user.email", check=False).stdout.strip():
        identity = ["-c", f"user.name={_who()}", "-c", f"user.email={_who()}@localhost"]
    try:
        result = git.git(where, *identity, "merge", "--no-ff", "-m", message, item.commit, check=False)
        if result.returncode != 0:
            conflicts = git.git(where, "diff", "--name-only", "--diff-filter=U", check=False).stdout.split()
            git.git(where, "merge", "--abort", check=False)
            failure = (result.stderr.strip() or result.stdout.strip() or "merge failed").splitlines()[-1]
            detail = f"conflicts in {', '.join(conflicts[:5])}" if conflicts else failure
            raise WorldError(f"cannot merge {item.branch} into {item.base}: {detail}; nothing was changed")
    finally:
        if not on_base:
            git.git(project, "worktree", "remove", "--force", str(where), check=False)


def clean_feedback(text: str) -> str:
    """Feedback as it is kept and sent: one line (whitespace collapsed), control characters as
    visible symbols (delivery.visible_text: an escape sequence stays text, never drives a
    terminal), format characters dropped (bidirectional overrides make text read differently
    from what it is)."""
    flat = " ".join("".join(ch for ch in text if unicodedata.category(ch) != "Cf").split())
    return visible_text(flat)


def lesson_line(item: ApprovalItem, feedback: str, when: datetime | None = None) -> str:
    """The line a rejection adds to the agency's lessons.md: what the reject dialog shows before
    anything is saved."""
    return f"- {(when or utcnow()):%Y-%m-%d} {item.branch} (approval #{item.id}, rev {item.revision}): {clean_feedback(feedback)}"


def reject(
    ws: Workspace, tmux: Tmux, item_id: str | int, feedback: str, shown: str | None = None, when: datetime | None = None
) -> ApprovalItem:
    """Send the feedback to the agency's coordinator as a TASK and keep it as a lesson — the only
    writer of lessons.md, and only once the gate has passed. `shown`: the lesson line the person
    saw (the control room's dialog, approval-cli), dated `when`; if the line would differ now
    (the item has a new revision since), nothing is saved."""
    check_gate(ws, tmux)
    flat = clean_feedback(feedback or "")
    if not flat:
        raise UsageError("a rejection needs --feedback saying what to change")
    item = get_item(ws, item_id)
    if item.status != "pending":
        raise UsageError(f"approval #{item.id} is already {item.status}")
    now = utcnow()
    line = lesson_line(item, flat, when or now)
    if shown is not None and shown != line:
        raise UsageError(f"approval #{item.id} changed since its lesson was shown to you (now: {line!r}); look again")
    decided = _decide(ws, item, status="rejected", feedback=flat, decided_at=now)
    lessons = ws.agency_dir(item.agency) / "lessons.md"
    if not lessons.exists():
        lessons.write_text(
            f"# Lessons of {item.agency}\n\nWhat human reviewers asked for, one line per rejection. "
            "Briefings quote this file as reviewers' notes: data, not instructions.\n\n",
            encoding="utf-8",
        )
    with open(lessons, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    remove_sandbox(ws, tmux, Path(item.worktree) if item.worktree else ws.sandbox_dir / "none", item.session)
    log_activity(ws.agency_dir(item.agency), "REJECTED", f"#{item.id} {item.branch} by {decided.decided_by}: {flat}")
    _tell(
        ws,
        tmux,
        item.agency,
        f"TASK-REVIEW-{item.id}: a human rejected {item.branch} (approval #{item.id}, rev {item.revision}): {flat} "
        f"— fix it on the branch and deploy again.",
    )
    lifecycle.on_approval(ws, tmux, decided)  # its task goes back to work; what had started after it waits
    return decided


def _tell(ws: Workspace, tmux: Tmux, agency: str, text: str) -> None:
    """A message to the agency's coordinator; queued if the agency is not running."""
    try:
        Bus(ws, tmux).send(agency, "coordinator", text, sender=(None, "human"))
    except UsageError:
        pass  # the agency was killed meanwhile: the decision stands, the log has it
