"""The sample registry: deterministic, hash-chained like the bus, valid models, a DAG of tasks."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path

from tests.sample_registry import big, populate
from tmux_agency.doors.chain import verify
from tmux_agency.doors.registry import AGENCIES, APPROVALS, TASKS, Registry
from tmux_agency.doors.workspace import Workspace, init_workspace
from tmux_agency.models.schema import ApprovalItem, Message, TaskRecord
from tmux_agency.services.bus import HISTORY, fold_history
from tmux_agency.services.records import load_records

FILES = (AGENCIES, HISTORY, TASKS, APPROVALS)


def _events(ws: Workspace) -> list[dict]:
    events, _ = Registry(ws.registry_dir).read_lines(HISTORY)
    return events


def test_the_same_inputs_give_byte_identical_files(workspace: Workspace, tmp_path: Path) -> None:
    other, _ = init_workspace(tmp_path / "ws2", tmp_path / "project")
    populate(workspace)
    populate(other)
    for name in FILES:
        mine = (workspace.registry_dir / name).read_bytes()
        assert mine, f"{name} is empty"
        assert mine == (other.registry_dir / name).read_bytes(), f"{name} differs between two runs"
        assert stat.S_IMODE((workspace.registry_dir / name).stat().st_mode) == 0o600

    # Populating again replaces the registry instead of adding to it.
    before = {name: (workspace.registry_dir / name).read_bytes() for name in FILES}
    populate(workspace)
    assert {name: (workspace.registry_dir / name).read_bytes() for name in FILES} == before

    # Another seed tells another story.
    populate(other, seed=8)
    assert (other.registry_dir / HISTORY).read_bytes() != before[HISTORY]


def test_the_history_is_hash_chained_and_every_message_is_valid(workspace: Workspace) -> None:
    populate(workspace)
    events = _events(workspace)
    verdict = verify(Registry(workspace.registry_dir))
    assert (verdict.problem, verdict.events, verdict.keyed_from) == (
        None,
        len(events),
        None,
    )  # a history from before keys
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))

    messages = [Message.model_validate(e["message"]) for e in events if e["event"] == "message"]
    assert len(messages) == 40
    assert [m.id for m in messages] == [f"m{n:08d}" for n in range(1, 41)]
    times = [datetime.fromisoformat(e["message"]["time"] if e["event"] == "message" else e["time"]) for e in events]
    assert times == sorted(times) and len(set(times)) == len(times), "times increase monotonically"

    delivered = [e["id"] for e in events if e["event"] == "state"]
    assert all(e["state"] == "delivered" for e in events if e["event"] == "state")
    assert len(set(delivered)) == len(delivered) and set(delivered) <= {m.id for m in messages}
    assert 0 < len(messages) - len(delivered) <= 10, "about one message in ten is still queued"

    kinds = {m.kind for m in messages}
    assert kinds == {"intra", "inter", "broadcast"}
    assert {m.type for m in messages if m.kind == "intra"} >= {"TASK", "STATUS", "COMPLETE"}
    for message in messages:
        if message.kind == "inter":
            assert message.payload is not None and json.loads(message.body) == message.payload
            assert message.payload["type"] in ("handoff", "results")
        if message.type == "COMPLETE":
            assert " done on feature/" in message.body
    handoff = next(m for m in messages if m.type == "handoff")
    assert (handoff.sender_agency, handoff.recipient_agency) == ("CodeAgency", "QAAgency")
    assert handoff.payload is not None and handoff.payload["task"].startswith("FEAT-1")

    records = load_records(workspace)
    broadcast = [m for m in messages if m.kind == "broadcast"]
    assert {m.sender_agency for m in broadcast} == {"MetaOrchestrator"}
    assert sorted((m.recipient_agency, m.recipient_agent) for m in broadcast) == sorted(
        (r.name, r.spec.coordinator.name) for r in records
    )

    # Every message goes between agents the registry knows.
    agents = {(r.name, a.name) for r in records for a in r.agents}
    for message in messages:
        assert (message.recipient_agency, message.recipient_agent) in agents
        if message.kind != "broadcast":
            assert (message.sender_agency, message.sender_agent) in agents

    states = {m.state for m in fold_history(events)}
    assert states == {"queued", "delivered", "acknowledged"}


def test_the_agencies_are_the_starters_then_generated_teams(workspace: Workspace) -> None:
    populate(workspace)
    records = load_records(workspace)
    assert [r.name for r in records] == ["CodeAgency", "QAAgency", "DevOpsAgency", "SecurityAgency"]
    assert [r.status for r in records] == ["running", "running", "running", "stopped"]
    code = records[0]
    assert [a.name for a in code.agents] == ["code-coordinator", "python-agent", "js-agent", "go-agent"]
    assert [a.name for a in code.spec.agents] == ["python-agent", "js-agent", "go-agent"]
    assert [a.is_coordinator for a in code.agents] == [True, False, False, False]
    assert all(a.window == a.name and a.program == "tmux-agency agent" for r in records for a in r.agents)
    panes = [a.pane_id for r in records for a in r.agents]
    assert panes == [f"%{n}" for n in range(len(panes))]

    populate(workspace, agencies=7, agents_per_agency=2)
    records = load_records(workspace)
    assert [r.name for r in records][5:] == ["Team06", "Team07"]
    team = records[5]
    assert [a.name for a in team.agents] == ["team06-coordinator", "agent-1", "agent-2"]
    assert team.session == "Team06" and team.agent("coordinator") is not None
    assert all(len(r.spec.agents) <= 2 for r in records)


def test_tasks_form_a_dag_over_existing_ids(workspace: Workspace) -> None:
    populate(workspace)
    docs = Registry(workspace.registry_dir).snapshot(TASKS).all()
    tasks = [TaskRecord.model_validate(doc) for doc in docs]
    assert len(tasks) == 8
    _assert_dag(tasks, {r.name for r in load_records(workspace)})
    assert {t.state for t in tasks} == {"completed", "working", "blocked", "in_review", "submitted"}
    assert any(t.after for t in tasks)


def test_approvals_are_pending_items_of_existing_agencies(workspace: Workspace) -> None:
    populate(workspace)
    items = [ApprovalItem.model_validate(d) for d in Registry(workspace.registry_dir).snapshot(APPROVALS).all()]
    assert [(i.id, i.agency, i.title) for i in items] == [
        (1, "CodeAgency", "User profile page"),
        (2, "QAAgency", "E2E test suite for checkout"),
    ]
    first = items[0]
    assert (first.branch, first.base, first.tests.passed, first.tests.failed) == ("feature/user-profile", "main", 47, 0)
    assert (first.coverage, first.files_changed, first.additions, first.deletions) == (94.0, 12, 450, 20)
    assert first.demo_url == "http://localhost:3000/demo/profile"
    assert all(i.status == "pending" and len(i.commit) == 40 for i in items)

    populate(workspace, agencies=1, approvals=3)
    items = [ApprovalItem.model_validate(d) for d in Registry(workspace.registry_dir).snapshot(APPROVALS).all()]
    assert [i.id for i in items] == [1, 2, 3] and {i.agency for i in items} == {"CodeAgency"}


def test_big_writes_100k_messages(workspace: Workspace) -> None:
    big(workspace)
    registry = Registry(workspace.registry_dir)
    raw = registry.path(HISTORY).read_bytes()
    assert raw.count(b'"event":"message"') == 100_000
    last = registry.last_line(HISTORY)
    assert last is not None and last["seq"] == raw.count(b"\n")
    assert b'"id":"m00100000"' in raw and b'"id":"m00100001"' not in raw

    records = load_records(workspace)
    assert len(records) == 50 and records[-1].name == "Team50"
    tasks = [TaskRecord.model_validate(d) for d in registry.snapshot(TASKS).all()]
    assert len(tasks) == 500
    _assert_dag(tasks, {r.name for r in records})
    assert len(registry.snapshot(APPROVALS).all()) == 5


def _assert_dag(tasks: list[TaskRecord], agencies: set[str]) -> None:
    """Ids are unique, edges point at existing earlier tasks, and no path leads back to itself."""
    ids = [t.id for t in tasks]
    assert len(set(ids)) == len(ids)
    seen: set[str] = set()
    for task in tasks:
        assert task.agency in agencies
        assert set(task.after) <= seen, f"{task.id} depends on a later or unknown task: {task.after}"
        seen.add(task.id)
    # Kahn's algorithm, independent of the file order: every task gets scheduled.
    waiting = {t.id: set(t.after) for t in tasks}
    done: set[str] = set()
    while waiting:
        ready = [i for i, deps in waiting.items() if deps <= done]
        assert ready, f"a cycle among {sorted(waiting)[:5]}"
        for i in ready:
            done.add(i)
            del waiting[i]
