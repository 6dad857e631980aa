"""What the gate cannot stop, it shows: the base branch moving without an approval.

Agents run as the user, so one can `git commit` or `git merge` on the base branch itself: no
check in tmux-agency stops a process from writing a repository it may write. What tmux-agency
can do is know which commits of the base branch are good, and show every other one.

`registry/base_log.jsonl` keeps, one record per event (appended, never rewritten):

- `baseline` — the base branch's commit when the workspace first started an agency, or at its
  first approval if it had none before (trust on first use, by a human's action). Never at a
  deploy: agents deploy, and trusting the base then would let an agent launder a commit of its
  own on the base branch by deploying right after it.
- `approval` — the merge commit an approval made, the commits that merge brought in, and whether
  the base was clean just before (nothing behind the gate's back): a clean approval's merge
  commit is a known-good point.
- `accepted` — a human looked at the base as it is and accepted it (`tmux-agency accept-base`,
  behind the same gate as approve).

A branch's drift is every commit reachable from its tip and from no known-good point that no
approval brought in, plus whether the latest known-good point has left the branch (a reset or a
forced update dropped approved work). A commit made behind the gate's back stays shown after a
later approval merges on top of it: an approval vouches only for what its merge brought in.

The log is a file of the user's, which an agent could edit as it can the repository: this
raises the bar and shows what it sees; protecting the branch on the remote is what stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tmux_agency.doors import git
from tmux_agency.doors import registry as reg
from tmux_agency.doors.workspace import Workspace
from tmux_agency.models.errors import AgencyError
from tmux_agency.models.schema import utcnow
from tmux_agency.services.records import registry_of

SHOWN = 20  # commits listed per branch; the count says how many there are


@dataclass(frozen=True)
class Drift:
    """What reached a base branch without an approval."""

    branch: str
    since: str  # the last known-good commit
    rewritten: str | None  # that commit, when it is no longer on the branch
    commits: list[dict]  # [{sha, short, author, date, subject}] no approval made, newest first (faces list SHOWN)

    def headline(self) -> str:
        what = []
        if self.commits:
            n = len(self.commits)
            what.append(f"{n} commit{'s' if n != 1 else ''} no approval made")
        if self.rewritten:
            what.append(f"approved commit {self.rewritten[:10]} is no longer on it")
        return f"{self.branch} moved behind the gate's back: {'; '.join(what)}"

    def short(self) -> str:
        """The headline cut for a title bar."""
        what = [f"{len(self.commits)} commit{'s' if len(self.commits) != 1 else ''}"] if self.commits else []
        what += ["approved work dropped"] if self.rewritten else []
        return f"{self.branch} moved behind the gate's back: {', '.join(what)}"

    def to_json(self) -> dict:
        return {
            "branch": self.branch,
            "since": self.since,
            "rewritten": self.rewritten,
            "count": len(self.commits),
            "commits": [{k: c[k] for k in ("sha", "author", "date", "subject")} for c in self.commits],
            "message": self.headline(),
        }


def base_branch(ws: Workspace) -> str | None:
    """The branch approvals merge into: the settings' base_branch, else the project's current one."""
    try:
        return ws.settings().base_branch or git.current_branch(ws.project_dir())
    except AgencyError:
        return None


def _records(ws: Workspace) -> list[dict]:
    return registry_of(ws).read_lines(reg.BASE_LOG)[0]


def note_baseline(ws: Workspace, why: str, branch: str | None = None, commit: str | None = None) -> None:
    """Trust on first use: the base branch's commit now becomes its first known-good point, if it
    has none yet (a later call changes nothing). Quietly nothing when the project is no git
    repository or has no such branch."""
    registry = registry_of(ws)
    try:
        project = ws.project_dir()
        branch = branch or base_branch(ws)
        commit = commit or (git.tip(project, branch) if branch else None)
    except AgencyError:
        return
    if not branch or not commit:
        return
    with registry.lock(reg.BASE_LOG):  # check and append as one step: two creates at once add one
        if any(r.get("branch") == branch for r in _records(ws)):
            return
        registry.append_line(
            reg.BASE_LOG,
            {"kind": "baseline", "branch": branch, "commit": commit, "why": why, "at": utcnow().isoformat()},
        )


def note_approval(ws: Workspace, approval: int, branch: str, before: str, merged: str, brought: str) -> None:
    """Record the merge commit approval #`approval` made on `branch` (from `before`, bringing in
    `brought` and what it reaches), and whether the base was clean just before it."""
    project = ws.project_dir()
    note_baseline(ws, f"the base when approval #{approval} merged", branch, before)  # a workspace older than the log
    drift = check_branch(ws, branch, tip=before)
    parents = git.git(project, "rev-parse", f"{merged}^1").stdout.strip()
    clean = drift is None and parents == before  # nothing slipped in between
    new = [c["sha"] for c in git.commits(project, brought, excluding=[before])]
    registry_of(ws).append_line(
        reg.BASE_LOG,
        {
            "kind": "approval",
            "branch": branch,
            "commit": merged,
            "approval": approval,
            "brought": new,
            "clean": clean,
            "at": utcnow().isoformat(),
        },
    )


def accept(ws: Workspace, branch: str | None = None) -> dict:
    """A human accepts the base as it is now: its tip becomes a known-good point (the caller
    has passed the gate)."""
    from tmux_agency.models.errors import UsageError

    branch = branch or base_branch(ws)
    commit = git.tip(ws.project_dir(), branch) if branch else None
    if not branch or not commit:
        raise UsageError(f"no base branch {branch!r} in {ws.project_dir()}")
    record = {"kind": "accepted", "branch": branch, "commit": commit, "at": utcnow().isoformat()}
    registry_of(ws).append_line(reg.BASE_LOG, record)
    return record


def check(ws: Workspace) -> list[Drift]:
    """Every recorded base branch that moved behind the gate's back (usually none)."""
    records = _records(ws)
    found = []
    for branch in dict.fromkeys(str(r["branch"]) for r in records if r.get("branch")):
        drift = check_branch(ws, branch, records=records)
        if drift is not None:
            found.append(drift)
    return found


def check_branch(ws: Workspace, branch: str, tip: str | None = None, records: list[dict] | None = None) -> Drift | None:
    """The drift of one branch (at `tip`, default its current commit), or None if all is known."""
    project: Path = ws.project_dir()
    mine = [r for r in (records if records is not None else _records(ws)) if r.get("branch") == branch]
    points = [r["commit"] for r in mine if r.get("kind") in ("baseline", "accepted") or r.get("clean")]
    if not points:
        return None  # nothing known yet: nothing to compare with
    tip = tip or git.tip(project, branch)
    if tip is None:
        return Drift(branch, points[-1], points[-1], [])  # the branch itself is gone
    vouched = {sha for r in mine if r.get("kind") == "approval" for sha in [r["commit"], *r.get("brought", [])]}
    unknown = [c for c in git.commits(project, tip, excluding=points) if c["sha"] not in vouched]
    rewritten = None if git.is_ancestor(project, points[-1], tip) else points[-1]
    if not unknown and not rewritten:
        return None
    return Drift(branch, points[-1], rewritten, unknown)
