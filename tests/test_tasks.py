"""The task graph: ids, dependencies, cycles refused by name, readiness, the critical path, the
choice of an agency — on a real workspace, through the real command line where a user would."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmux_agency.doors.registry import TASKS, Registry
from tmux_agency.doors.workspace import Workspace
from tmux_agency.models.errors import UsageError
from tmux_agency.models.schema import ApprovalItem, SuiteCounts, TaskRecord
from tmux_agency.services.tasks import graph, lifecycle, storage

from .helpers import Cli, registry_bytes
from .test_agencies import assert_refused


def task_json(cli: Cli, *args: str) -> dict:
    result = cli("task", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def chain(cli: Cli) -> None:
    """T-1 ← T-2 ← T-3 (each waits for the one before) and T-4 on its own."""
    assert task_json(cli, "add", "Design the API")["id"] == "T-1"
    assert task_json(cli, "add", "Build the API", "--after", "T-1")["id"] == "T-2"
    assert task_json(cli, "add", "Test the API", "--after", "T-2")["id"] == "T-3"
    assert task_json(cli, "add", "Write a changelog")["id"] == "T-4"


# --- the command line ----------------------------------------------------------------------------


def test_tasks_get_short_stable_ids_and_list_show_them(cli_no_tmux: Cli) -> None:
    cli = cli_no_tmux
    chain(cli)
    listed = json.loads(cli("task", "list", "--json").stdout)
    assert [t["id"] for t in listed] == ["T-1", "T-2", "T-3", "T-4"]
    assert [(t["state"], t["ready"], t["after"]) for t in listed] == [
        ("submitted", True, []),
        ("submitted", False, ["T-1"]),
        ("submitted", False, ["T-2"]),
        ("submitted", True, []),
    ]
    shown = task_json(cli, "show", "t-2")  # ids are read case-insensitively
    assert (shown["id"], shown["waiting_for"], shown["dependents"]) == ("T-2", ["T-1"], ["T-3"])
    assert shown["history"][0]["event"] == "added" and shown["history"][0]["by"] == "human"
    text = cli("task", "list").stdout
    assert "critical path (★): T-1 → T-2 → T-3 (3 tasks)" in text
    # A canceled task keeps its id: the next task never reuses one.
    assert cli("task", "cancel", "T-4").returncode == 0
    assert task_json(cli, "add", "Another")["id"] == "T-5"


def test_a_cycle_is_refused_naming_it_and_nothing_changes(cli_no_tmux: Cli) -> None:
    cli = cli_no_tmux
    chain(cli)
    before = registry_bytes(cli.workspace)
    assert_refused(cli("task", "dep", "T-1", "--after", "T-3"), 2, "T-1 → T-3 → T-2 → T-1", "cycle")
    assert_refused(cli("task", "dep", "T-2", "--after", "T-2"), 2, "T-2 → T-2")
    assert registry_bytes(cli.workspace) == before
    # An edge that closes no cycle is taken.
    dep = task_json(cli, "dep", "T-4", "--after", "T-3,T-1")
    assert dep["after"] == ["T-3", "T-1"] and dep["waiting_for"] == ["T-3", "T-1"]


def test_readiness_follows_completion(cli_no_tmux: Cli) -> None:
    cli = cli_no_tmux
    chain(cli)

    def ready() -> list[str]:
        return [t["id"] for t in json.loads(cli("task", "list", "--ready", "--json").stdout)]

    assert ready() == ["T-1", "T-4"]
    assert cli("task", "done", "T-1").returncode == 0
    assert ready() == ["T-2", "T-4"]
    assert cli("task", "fail", "T-2").returncode == 0
    assert ready() == ["T-4"], "a task after a failed one is never ready"
    shown = task_json(cli, "show", "T-3")
    assert shown["waiting_for"] == ["T-2"] and not shown["ready"]
    assert [h["event"] for h in task_json(cli, "show", "T-2")["history"]] == ["added", "failed"]


def test_list_filters_by_agency(cli_no_tmux: Cli) -> None:
    cli = cli_no_tmux
    task_json(cli, "add", "Endpoint", "--agency", "CodeAgency")
    task_json(cli, "add", "E2E tests", "--agency", "QAAgency", "--after", "T-1", "--priority", "high")
    mine = json.loads(cli("task", "list", "--agency", "QAAgency", "--json").stdout)
    assert [(t["id"], t["agency"], t["priority"]) for t in mine] == [("T-2", "QAAgency", "high")]
    # No agency runs here: the ready task waits to be sent, and says so.
    out = cli("task", "add", "Docs", "--agency", "DocsAgency").stdout
    assert "DocsAgency is not running" in out


@pytest.mark.parametrize(
    "args, needle",
    [
        (["task", "show", "T-99"], "unknown task 'T-99'"),
        (["task", "done", "T-99"], "unknown task 'T-99'"),
        (["task", "dep", "T-1", "--after", "T-42"], "unknown task 'T-42'"),
        (["task", "dep", "T-42", "--after", "T-1"], "unknown task 'T-42'"),
        (["task", "add", "Later", "--after", "T-1,T-7"], "unknown task 'T-7'"),
        (["task", "add", ""], "the task title is empty"),
        (["task", "add", "   \n  "], "the task title is empty"),
        (["task", "add", "x" * 301], "the limit is 300"),
        (["task", "add", "Fast", "--priority", "urgent"], "unknown priority 'urgent'"),
        (["task", "add", "Both", "--agency", "QAAgency", "--needs", "testing"], "not both"),
        (["task", "add", "Who", "--agency", "NoSuchAgency"], "unknown agency 'NoSuchAgency'"),
        (["task", "add", "Who", "--agency", "bad:name"], "invalid agency name"),
        (["task", "add", "Magic", "--needs", "telepathy"], "no agency has capability 'telepathy'"),
        (["task", "add", "Magic", "--needs", ""], "--needs names no capability"),
        (["task", "add", "Magic", "--needs", "testing,telepathy"], "'telepathy'"),
        (
            ["task", "add", "Split", "--needs", "testing,documentation"],
            "no single agency has all of testing, documentation",
        ),
        (["task", "done", "T-2"], "T-2 is already completed"),
        (["task", "dep", "T-2", "--after", "T-1"], "T-2 is already completed"),
        (["task", "list", "--agency", "a b"], "invalid agency name"),
        (["metrics", "--since", "last tuesday"], "--since 'last tuesday'"),
        (["metrics", "--since", "2024-13-45"], "--since '2024-13-45'"),
        (["metrics", "--agency", "Nobody"], "unknown agency 'Nobody'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(cli_no_tmux: Cli, args: list[str], needle: str) -> None:
    cli = cli_no_tmux
    task_json(cli, "add", "First")
    task_json(cli, "add", "Second")
    assert cli("task", "done", "T-2").returncode == 0
    before = registry_bytes(cli.workspace)
    assert_refused(cli(*args), 2, needle)
    assert registry_bytes(cli.workspace) == before


# --- choosing an agency --------------------------------------------------------------------------


def define_agency(ws: Workspace, name: str, capabilities: list[str]) -> None:
    folder = ws.agencies_dir / name
    folder.mkdir(parents=True)
    spec = {"name": name, "capabilities": capabilities, "coordinator": {"name": f"{name.lower()}-lead"}}
    (folder / "agency.json").write_text(json.dumps(spec))


def review(ws: Workspace, item_id: int, agency: str, outcomes: str) -> None:
    """Give an agency a review record through the approval queue's hook: 'a' approved, 'r'
    rejected; the first letter is the first review."""
    for revision, outcome in enumerate(outcomes, start=1):
        item = ApprovalItem(
            id=item_id,
            agency=agency,
            branch=f"b{item_id}",
            base="main",
            title="work",
            commit="0" * 40,
            tests=SuiteCounts(passed=1),
            revision=revision,
            status="approved" if outcome == "a" else "rejected",
        )
        lifecycle.on_approval(ws, None, item)


def test_needs_picks_by_capability_then_load_then_record_and_says_why(cli_no_tmux: Cli) -> None:
    cli = cli_no_tmux
    ws = cli.workspace
    define_agency(ws, "E2EAgency", ["testing", "e2e"])
    for n, first in enumerate("aaaar", start=1):  # E2EAgency: 4 of 5 approved on first review
        review(ws, n, "E2EAgency", first)
    review(ws, 10, "QAAgency", "a")  # QAAgency: 1 of 2
    review(ws, 11, "QAAgency", "ra")

    # Only one agency has both.
    out = cli("task", "add", "Checkout E2E", "--needs", "testing,e2e")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == (
        "chose E2EAgency: the only agency that has testing,e2e; 0 open tasks; 80% approved on first review (4 of 5)"
    )
    # Two have `testing`; QAAgency carries no load, E2EAgency one task: load decides.
    out = cli("task", "add", "Smoke tests", "--needs", "testing")
    assert out.stdout.splitlines()[0] == (
        "chose QAAgency: has testing; 0 open tasks vs 1 (E2EAgency); 50% approved on first review (1 of 2)"
    )
    # Now both carry one: the record decides.
    out = cli("task", "add", "Regression pass", "--needs", "testing", "--json")
    added = json.loads(out.stdout)
    assert added["agency"] == "E2EAgency" and added["needs"] == ["testing"]
    assert added["reason"] == (
        "chose E2EAgency: has testing; 1 open task vs 1 (QAAgency); "
        "80% approved on first review (4 of 5) vs 50% (QAAgency)"
    )
    assert task_json(cli, "show", added["id"])["reason"] == added["reason"]

    caps = {c["name"]: c for c in json.loads(cli("capabilities", "--json").stdout)}
    assert caps["E2EAgency"]["capabilities"] == ["testing", "e2e"] and caps["E2EAgency"]["load"] == 2
    assert (caps["QAAgency"]["load"], caps["QAAgency"]["reviewed"], caps["QAAgency"]["approved_first"]) == (1, 2, 1)
    assert all(c["status"] == "not running" for c in caps.values())
    assert {"CodeAgency", "DevOpsAgency", "DocsAgency", "SecurityAgency"} <= set(caps)
    text = cli("capabilities").stdout
    assert "E2EAgency" in text and "testing, e2e" in text and "load 2" in text


# --- the graph's functions -------------------------------------------------------------------------


def made_graph(*specs: tuple[str, list[str], str], priority: dict[str, str] | None = None) -> list[TaskRecord]:
    return [
        TaskRecord(id=tid, title=tid, after=after, state=state, priority=(priority or {}).get(tid, "medium"))
        for tid, after, state in specs
    ]


def test_critical_path_is_the_longest_unfinished_chain() -> None:
    tasks_ = made_graph(
        ("T-1", [], "completed"),
        ("T-2", ["T-1"], "working"),
        ("T-3", ["T-2"], "submitted"),
        ("T-4", ["T-3"], "submitted"),
        ("T-5", [], "submitted"),
        ("T-6", ["T-5"], "submitted"),
        ("T-7", ["T-4", "T-6"], "submitted"),
        ("T-8", [], "canceled"),
    )
    # T-2 → T-3 → T-4 → T-7 (4) beats T-5 → T-6 → T-7 (3); T-1 is done, T-8 canceled.
    assert graph.critical_path(tasks_) == ["T-2", "T-3", "T-4", "T-7"]
    assert graph.critical_path(made_graph(("T-1", [], "completed"))) == []
    # Equal lengths: the chain with more priority weight wins.
    even = made_graph(
        ("T-1", [], "submitted"),
        ("T-2", ["T-1"], "submitted"),
        ("T-3", [], "submitted"),
        ("T-4", ["T-3"], "submitted"),
        priority={"T-4": "critical"},
    )
    assert graph.critical_path(even) == ["T-3", "T-4"]
    assert graph.critical_path(made_graph(("T-1", [], "submitted"), ("T-2", [], "submitted"))) == ["T-1"]


def test_topological_order_and_cycle_finding() -> None:
    tasks_ = made_graph(("T-10", ["T-2"], "submitted"), ("T-2", [], "submitted"), ("T-3", ["T-10", "T-2"], "submitted"))
    assert graph.topological_order(tasks_) == ["T-2", "T-10", "T-3"]
    assert graph.find_cycle(tasks_, "T-2", ["T-3"]) == ["T-2", "T-3", "T-2"]  # the shortest of two
    assert graph.find_cycle(tasks_, "T-2", ["T-10"]) == ["T-2", "T-10", "T-2"]
    longer = made_graph(("T-1", [], "submitted"), ("T-2", ["T-1"], "submitted"), ("T-3", ["T-2"], "submitted"))
    assert graph.find_cycle(longer, "T-1", ["T-3"]) == ["T-1", "T-3", "T-2", "T-1"]
    assert graph.find_cycle(tasks_, "T-3", ["T-2"]) is None
    # A hand-edited file with a cycle: the order leaves the cycle out, nothing loops forever.
    looped = made_graph(("T-1", ["T-2"], "submitted"), ("T-2", ["T-1"], "submitted"), ("T-3", [], "submitted"))
    assert graph.topological_order(looped) == ["T-3"]
    assert graph.critical_path(looped) == ["T-3"]


def test_mentions_read_task_ids_not_lookalikes() -> None:
    def mentions(body: str, payload: dict | None = None) -> list[str]:
        return graph.message_mentions({"body": body, "payload": payload})

    assert mentions("STATUS python-agent: working on TASK-T-4") == ["T-4"]
    assert mentions("COMPLETE: T-4 and T-12 done (see T-4)") == ["T-4", "T-12"]
    assert mentions("STATUS: ST-4, T-4b, TASK-042, FEAT-123") == []
    assert mentions("{}", {"type": "handoff", "task": "T-9", "branch": "feature/T-3"}) == ["T-9"]


def test_files_written_before_tasks_had_a_history_still_load_and_move(workspace: Workspace) -> None:
    old = {
        "id": "T-1",
        "title": "Old task",
        "agency": "CodeAgency",
        "needs": [],
        "after": [],
        "priority": "high",
        "state": "working",
        "created_at": "2024-05-01T09:00:00Z",
        "updated_at": "2024-05-01T09:00:00Z",
    }
    Registry(workspace.registry_dir).directory.mkdir(exist_ok=True)
    (workspace.registry_dir / TASKS).write_text(json.dumps({"_default": {"1": old}}))
    [task] = storage.load_tasks(workspace)
    assert (task.history, task.rejections, task.assigned_at) == ([], 0, None)
    finished, _ = lifecycle.finish(workspace, None, "T-1", "completed")
    assert finished.state == "completed" and [h.event for h in finished.history] == ["done"]


# --- properties --------------------------------------------------------------------------------------

# One operation on the graph: add a task after some of the existing ones, add an edge, or end one.
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(st.integers(0, 40), max_size=3)),
        st.tuples(st.just("dep"), st.integers(0, 40), st.integers(0, 40)),
        st.tuples(st.just("end"), st.integers(0, 40), st.sampled_from(["completed", "failed", "canceled"])),
    ),
    min_size=1,
    max_size=25,
)


def _expected_ready(docs: list[TaskRecord]) -> set[str]:
    """Readiness written out independently of graph.ready_ids."""
    completed = {t.id for t in docs if t.state == "completed"}
    return {t.id for t in docs if t.state == "submitted" and set(t.after) <= completed}


def _reaches(docs: list[TaskRecord], start: str, goal: str) -> bool:
    after = {t.id: t.after for t in docs}
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(after.get(node, []))
    return False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ops)
def test_graph_invariants_hold_whatever_is_done(ops: list[tuple]) -> None:
    root = Path(tempfile.mkdtemp(prefix="tmux-agency-prop-"))
    try:
        ws = Workspace(root)
        for op in ops:
            ids = [t.id for t in storage.load_tasks(ws)]
            if op[0] == "add":
                after = sorted({ids[i % len(ids)] for i in op[1]}) if ids else []
                lifecycle.add_task(ws, None, f"task {len(ids) + 1}", after=after)
            elif ids:
                tid = ids[op[1] % len(ids)]
                if op[0] == "dep":
                    other = ids[op[2] % len(ids)]
                    before = (root / "registry" / TASKS).read_bytes()
                    current = storage.load_tasks(ws)
                    closes_cycle = other == tid or _reaches(current, other, tid)
                    finished = next(t for t in current if t.id == tid).state in graph.END_STATES
                    try:
                        lifecycle.add_dependency(ws, None, tid, [other])
                        assert not closes_cycle and not finished
                    except UsageError as exc:
                        assert closes_cycle or finished
                        if closes_cycle and not finished:
                            assert f"{tid} → " in str(exc) and str(exc).count(tid) >= 2
                        assert (root / "registry" / TASKS).read_bytes() == before, "a refused edge changed the file"
                else:
                    try:
                        lifecycle.finish(ws, None, tid, op[2])
                    except UsageError:
                        pass
            docs = storage.load_tasks(ws)
            # No cycle: a topological order holds every task, each after what it waits for.
            order = graph.topological_order(docs)
            assert sorted(order) == sorted(t.id for t in docs)
            place = {tid: n for n, tid in enumerate(order)}
            assert all(place[d] < place[t.id] for t in docs for d in t.after)
            # The ready set is exactly the submitted tasks whose dependencies are all completed.
            assert graph.ready_ids(docs) == _expected_ready(docs)
            assert {t.id for t in storage.list_tasks(ws, ready=True)} == _expected_ready(docs)
            # The critical path is a chain of unfinished tasks, each waiting for the one before.
            path = graph.critical_path(docs)
            by_id = {t.id: t for t in docs}
            assert all(by_id[tid].state in graph.OPEN_STATES for tid in path)
            assert all(a in by_id[b].after for a, b in zip(path, path[1:]))
            assert bool(path) == any(t.state in graph.OPEN_STATES for t in docs)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@st.composite
def _dags(draw: st.DrawFn) -> list[TaskRecord]:
    n = draw(st.integers(1, 9))
    specs = []
    for i in range(1, n + 1):
        after = draw(st.lists(st.integers(1, i - 1), max_size=3, unique=True)) if i > 1 else []
        state = draw(st.sampled_from(["submitted", "working", "completed", "canceled", "in_review"]))
        specs.append((f"T-{i}", [f"T-{a}" for a in after], state))
    return made_graph(*specs)


def _longest(docs: list[TaskRecord]) -> int:
    """The longest chain of unfinished tasks, by trying every path."""
    live = {t.id: t for t in docs if t.state in graph.OPEN_STATES}

    def depth(tid: str) -> int:
        return 1 + max((depth(d) for d in live[tid].after if d in live), default=0)

    return max((depth(tid) for tid in live), default=0)


@settings(max_examples=200, deadline=None)
@given(_dags())
def test_the_critical_path_is_as_long_as_the_longest_chain(docs: list[TaskRecord]) -> None:
    path = graph.critical_path(docs)
    assert len(path) == _longest(docs)
    assert graph.find_cycle(docs, docs[0].id, [docs[-1].id]) is None or _reaches(docs, docs[-1].id, docs[0].id)
