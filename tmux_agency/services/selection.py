"""Capability discovery and the choice of an agency for a task that names what it needs.

The agencies are the registered ones (running or stopped) and those defined but not started
(agencies/*/agency.json, the starters). A task needing capabilities goes to:

1. an agency that has every capability it needs (none → the task is refused, naming what
   nobody has);
2. among those, a running one before one that is not (a task for an agency that is not running
   waits until it is created);
3. then the lowest load — its open tasks (submitted, working, blocked, in review);
4. then the best record — first-review approval rate, smoothed as (approved + 1) / (reviewed
   + 2) so an agency with no reviews counts as 50% and two lucky reviews do not beat a long
   good record;
5. then the name, so the choice is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

from tmux_agency.doors.workspace import Workspace, validate_name
from tmux_agency.models.errors import UsageError
from tmux_agency.services.tasks import storage
from tmux_agency.services.tasks.graph import OPEN_STATES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True)
class Candidate:
    """One agency as selection sees it."""

    name: str
    status: str  # running | stopped | not running (defined, never started here)
    capabilities: list[str]
    load: int
    reviewed: int
    approved_first: int

    @property
    def approval_rate(self) -> float | None:
        return self.approved_first / self.reviewed if self.reviewed else None

    @property
    def smoothed_rate(self) -> float:
        return (self.approved_first + 1) / (self.reviewed + 2)

    def record_text(self) -> str:
        if not self.reviewed:
            return "no reviews yet"
        return f"{self.approval_rate:.0%} approved on first review ({self.approved_first} of {self.reviewed})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "capabilities": self.capabilities,
            "load": self.load,
            "reviewed": self.reviewed,
            "approved_first": self.approved_first,
            "first_review_approval_rate": self.approval_rate,
        }


@dataclass(frozen=True)
class Choice:
    agency: str
    reason: str
    candidates: list[Candidate]
    needs: list[str]  # as checked: stripped, each once


def agencies(ws: Workspace) -> list[Candidate]:
    """Every agency with its capabilities, load and record: registered ones first, by name."""
    from tmux_agency.services.metrics.report import first_review_outcomes
    from tmux_agency.services.records import raw_records
    from tmux_agency.services.specs import templates

    found: dict[str, tuple[str, list[str]]] = {}
    for record in raw_records(ws):
        spec = record.get("spec") or {}
        found[record["name"]] = (record.get("status", "running"), list(spec.get("capabilities") or []))
    for spec in templates(ws):
        if spec.name not in found:
            found[spec.name] = ("not running", list(spec.capabilities))
    load: dict[str, int] = {}
    for task in storage.documents(ws):
        if task.get("agency") and task.get("state") in OPEN_STATES:
            load[task["agency"]] = load.get(task["agency"], 0) + 1
    reviewed: dict[str, int] = {}
    approved: dict[str, int] = {}
    for outcome in first_review_outcomes(ws).values():
        agency = outcome.agency
        if agency is None:
            continue  # an item of no agency counts for none
        reviewed[agency] = reviewed.get(agency, 0) + 1
        approved[agency] = approved.get(agency, 0) + (1 if outcome.approved else 0)
    rank = {"running": 0, "stopped": 1, "not running": 2}
    views = [
        Candidate(name, status, caps, load.get(name, 0), reviewed.get(name, 0), approved.get(name, 0))
        for name, (status, caps) in found.items()
    ]
    return sorted(views, key=lambda v: (rank.get(v.status, 3) > 1, v.name))


def known_agency(ws: Workspace, name: str) -> bool:
    """Registered, or defined in agencies/ or among the starters."""
    from tmux_agency.doors.workspace import starters_dir
    from tmux_agency.services.records import raw_records

    if any(r.get("name") == name for r in raw_records(ws)):
        return True
    return (ws.agencies_dir / name / "agency.json").is_file() or (starters_dir() / name / "agency.json").is_file()


def _ranking(view: Candidate) -> tuple[int, int, float, str]:
    return (0 if view.status == "running" else 1, view.load, -view.smoothed_rate, view.name)


def choose_agency(ws: Workspace, needs: list[str]) -> Choice:
    """The best agency for a task needing `needs`, and a one-line reason; UsageError naming the
    capability nobody has (or, when each exists somewhere, that no one agency has them all)."""
    needs = list(dict.fromkeys(n.strip() for n in needs if n.strip()))
    if not needs:
        raise UsageError("--needs names no capability")
    for need in needs:
        validate_name(need, "capability")
    views = agencies(ws)
    missing = [n for n in needs if not any(n in v.capabilities for v in views)]
    if missing:
        known = sorted({c for v in views for c in v.capabilities})
        what = ", ".join(repr(m) for m in missing)
        raise UsageError(f"no agency has capability {what} (known: {', '.join(known) or 'none'})")
    fits = sorted((v for v in views if all(n in v.capabilities for n in needs)), key=_ranking)
    if not fits:
        owners = "; ".join(f"{n}: {', '.join(v.name for v in views if n in v.capabilities)}" for n in needs)
        raise UsageError(f"no single agency has all of {', '.join(needs)} ({owners}): split the task")
    best, others = fits[0], fits[1:]
    return Choice(best.name, _reason(best, others, needs), fits, needs)


def _reason(best: Candidate, others: list[Candidate], needs: list[str]) -> str:
    have = ",".join(needs)
    if not others:
        return f"chose {best.name}: the only agency that has {have}; {_tasks(best.load)}; {best.record_text()}"
    parts = [f"has {have}"]
    if best.status == "running" and any(o.status != "running" for o in others):
        stopped = [o.name for o in others if o.status != "running"]
        parts.append(f"running ({', '.join(stopped[:3])} not)")
    rivals = [o for o in others if o.status == best.status] or others
    parts.append(f"{_tasks(best.load)} vs {', '.join(f'{o.load} ({o.name})' for o in rivals[:3])}")
    same_load = [o for o in rivals if o.load == best.load]
    if same_load:
        parts.append(f"{best.record_text()} vs {', '.join(f'{_pct(o)} ({o.name})' for o in same_load[:3])}")
    else:
        parts.append(best.record_text())
    return f"chose {best.name}: " + "; ".join(parts)


def _tasks(n: int) -> str:
    return f"{n} open task" + ("" if n == 1 else "s")


def _pct(view: Candidate) -> str:
    return f"{view.approval_rate:.0%}" if view.reviewed else "no reviews"
