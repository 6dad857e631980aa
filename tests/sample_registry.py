"""A realistic, fully deterministic registry: for the control room's snapshot tests, its
benchmark and the screenshots.

`populate` writes registry/active_agencies.json, messages.jsonl, task_graph.json and
approval_queue.json into an initialised workspace. The same arguments always give byte-identical
files: every choice comes from `random.Random(seed)`, every time from `start`, every message id
from a counter — no wall clock, no random ids. The history is hash-chained exactly as the bus
wrote it before histories had a key (plain SHA-256: a random key would break the determinism),
so `tmux-agency log --verify` accepts it, and the first message sent into it starts keyed
hashing from there on (chain.py).

The story: coordinators hand TASK-NNN items to their specialists, who answer with STATUS,
the odd QUESTION or BLOCKED, and COMPLETE; CodeAgency hands finished features to QAAgency
(and, once they pass, to DocsAgency), QAAgency returns results and CodeAgency fixes what QA
found; once, the MetaOrchestrator broadcasts an alert to every coordinator. About one message
in ten has no `delivered` event: it is still queued. (message_queue.json is left alone, so those
have no stated reason; a `deliver` sweep would queue them as left behind by their sender.)
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tmux_agency.doors import registry as reg
from tmux_agency.doors.chain import HEAD_FILE, KEY_FILE, plain_hash
from tmux_agency.doors.registry import Registry
from tmux_agency.doors.workspace import STARTER_AGENCIES, Workspace
from tmux_agency.models.payloads import parse_payload
from tmux_agency.models.schema import (
    AgencyRecord,
    AgencySpec,
    AgentRecord,
    AgentSpec,
    ApprovalItem,
    SandboxSpec,
    SuiteCounts,
    TaskRecord,
)
from tmux_agency.services.bus import HISTORY, message_type, new_message

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PROGRAM = "tmux-agency agent"
ORCHESTRATOR = "MetaOrchestrator"

# What each starter does, for the story; generated agencies are "team".
_KINDS = {
    "CodeAgency": "code",
    "QAAgency": "qa",
    "DevOpsAgency": "ops",
    "SecurityAgency": "sec",
    "DocsAgency": "docs",
}
_AREAS = (
    "payments",
    "search",
    "mobile app",
    "notifications",
    "analytics",
    "billing",
    "onboarding",
    "integrations",
    "reporting",
    "admin console",
)
_TEAM_CAPABILITIES = (
    ["backend", "payments"],
    ["search", "backend"],
    ["mobile", "frontend"],
    ["messaging", "backend"],
    ["data-pipelines", "analytics"],
    ["billing", "backend"],
    ["frontend", "ux"],
    ["api-design", "integrations"],
    ["reporting", "data-pipelines"],
    ["frontend", "internal-tools"],
)

# (branch slug, how a person names it)
_FEATURES = (
    ("user-profile", "user profile page"),
    ("checkout-flow", "checkout flow"),
    ("password-reset", "password reset"),
    ("search-autocomplete", "search autocomplete"),
    ("order-export", "order history export"),
    ("notification-settings", "notification settings"),
    ("dark-mode", "dark mode"),
    ("api-rate-limits", "public API rate limits"),
    ("invoice-pdf", "invoice PDFs"),
    ("team-invites", "team invitations"),
    ("audit-log", "audit log"),
    ("two-factor", "two-factor login"),
)

_WORK = {
    "code": (
        "implement the {topic} API endpoints",
        "build the {topic} UI",
        "add unit tests for the {topic}",
        "refactor the data layer behind the {topic}",
        "review the {topic} changes before hand-off",
    ),
    "qa": (
        "write the test plan for the {topic}",
        "run the regression suite against the {topic}",
        "automate the E2E tests for the {topic}",
        "load-test the {topic}",
    ),
    "ops": (
        "add a CI job for the {topic}",
        "prepare the staging deploy of the {topic}",
        "set up alerts for the {topic}",
        "write the rollback plan for the {topic}",
    ),
    "sec": (
        "threat-model the {topic}",
        "run the dependency audit for the {topic}",
        "review the auth checks in the {topic}",
        "scan the {topic} changes for secrets",
    ),
    "docs": (
        "write the user guide for the {topic}",
        "document the {topic} API",
        "add a tutorial for the {topic}",
        "update the changelog for the {topic}",
    ),
    "team": (
        "integrate the {topic} with the {area} service",
        "fix the flaky tests around the {topic}",
        "profile the {topic} under load",
        "wire the {topic} into the {area} dashboard",
    ),
}
_PROGRESS = (
    "first pass of the {topic} works locally",
    "tests written, fixing two edge cases",
    "pushed work in progress to {branch}",
    "waiting for CI on {branch}",
    "addressing review comments on {branch}",
    "happy path done, handling errors now",
)
_QUESTIONS = (
    ("should the {topic} sit behind a feature flag?", "Yes: behind a flag, off until QA passes."),
    ("is a database migration fine for the {topic}?", "Yes, as long as it is reversible."),
    ("which base for {branch}: main or release/2.4?", "Base it on main."),
    ("do we still support Safari 15 for the {topic}?", "No, evergreen browsers only."),
    ("may I change the public API shape of the {topic}?", "Additive changes only, please."),
)
_BLOCKERS = (
    ("{branch} needs the staging database migration first", "Migration is merged: rebase {branch} on main."),
    ("waiting for the shared test fixtures", "Fixtures are in tests/fixtures/ on main: pull and carry on."),
    ("the payment sandbox API key expired", "New key is in the vault under sandbox/payments."),
    ("CI runners are down, {branch} cannot build", "Runners are back: re-run the pipeline."),
)


@dataclass
class _Cast:
    """One agency as the story sees it."""

    name: str
    kind: str
    coordinator: str
    specialists: list[str]
    area: str = ""


def populate(
    ws: Workspace,
    *,
    agencies: int = 4,
    agents_per_agency: int = 3,
    messages: int = 40,
    tasks: int = 8,
    approvals: int = 2,
    start: datetime = START,
    seed: int = 7,
    undelivered: float = 0.1,
) -> None:
    """Write a realistic, deterministic registry into the initialised workspace `ws`, replacing
    what its registry files held. `undelivered`: the share of messages with no `delivered`
    event (their agents were down); 0 gives the history of agencies that have been up all along."""
    if agencies < 1 or agents_per_agency < 1:
        raise ValueError("populate needs at least one agency with at least one specialist")
    rng = random.Random(seed)
    records = _agency_records(ws, agencies, agents_per_agency, start)
    registry = Registry(ws.registry_dir)
    _write_table(registry, reg.AGENCIES, [r.model_dump(mode="json") for r in records])
    casts = [
        _Cast(
            name=r.name,
            kind=_KINDS.get(r.name, "team"),
            coordinator=r.spec.coordinator.name,
            specialists=[a.name for a in r.spec.agents],
            area=_AREAS[i % len(_AREAS)],
        )
        for i, r in enumerate(records)
    ]
    _write_history(
        registry, _Story(casts, random.Random(rng.random())), messages, start, random.Random(rng.random()), undelivered
    )
    _write_table(registry, reg.TASKS, _tasks(casts, tasks, start, random.Random(rng.random())))
    _write_table(registry, reg.APPROVALS, _approvals([c.name for c in casts], approvals, start))


def big(ws: Workspace, undelivered: float = 0.1) -> None:
    """A large registry: 50 agencies of a coordinator and 4 specialists, 100,000 messages,
    500 tasks, 5 approvals."""
    populate(ws, agencies=50, agents_per_agency=4, messages=100_000, tasks=500, approvals=5, undelivered=undelivered)


def _write_table(registry: Registry, name: str, docs: list[dict[str, Any]]) -> None:
    with registry.transaction(name) as db:
        db.truncate()
        db.insert_multiple(docs)


# --- agencies -------------------------------------------------------------------------------


def _agency_records(ws: Workspace, count: int, per_agency: int, start: datetime) -> list[AgencyRecord]:
    records = []
    pane = 0
    for index in range(count):
        if index < len(STARTER_AGENCIES):
            name = STARTER_AGENCIES[index]
            text = (ws.agencies_dir / name / "agency.json").read_text(encoding="utf-8")
            spec = AgencySpec.model_validate_json(text)
            spec = spec.model_copy(update={"agents": spec.agents[:per_agency]})
        else:
            spec = _team_spec(index + 1, per_agency)
        agents = []
        for position, agent in enumerate(spec.all_agents()):
            agents.append(
                AgentRecord(
                    name=agent.name,
                    window=agent.name,
                    is_coordinator=position == 0,
                    program=PROGRAM,
                    pane_id=f"%{pane}",
                )
            )
            pane += 1
        records.append(
            AgencyRecord(
                name=spec.name,
                session=spec.name,
                status="stopped" if (index + 1) % 4 == 0 else "running",
                created_at=start,
                spec=spec,
                agents=agents,
            )
        )
    return records


def _team_spec(number: int, per_agency: int) -> AgencySpec:
    name = f"Team{number:02d}"
    area = _AREAS[(number - 1) % len(_AREAS)]
    return AgencySpec(
        name=name,
        description=f"Feature team for the {area}: builds, tests and ships its own slice of the product.",
        capabilities=list(_TEAM_CAPABILITIES[(number - 1) % len(_TEAM_CAPABILITIES)]),
        coordinator=AgentSpec(
            name=f"{name.lower()}-coordinator",
            role=f"Plans the {area} team's work and reports progress to the orchestrator",
        ),
        agents=[
            AgentSpec(name=f"agent-{k}", role=f"Generalist engineer on the {area} team")
            for k in range(1, per_agency + 1)
        ],
        sandbox=SandboxSpec(test_command="python -m pytest -q"),
    )


# --- messages -------------------------------------------------------------------------------

# The arguments of bus.new_message: kind, type, (sender agency, agent), (recipient agency, agent), body, payload.
Draft = tuple[Any, ...]


@dataclass
class _Story:
    """Endless, interleaved episodes of work; each step yields a batch of message drafts."""

    casts: list[_Cast]
    rng: random.Random
    task_counter: int = 0
    feature_counter: int = 0
    topic_counter: int = 0
    by_name: dict[str, _Cast] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {c.name: c for c in self.casts}

    def broadcast(self) -> list[Draft]:
        payload = parse_payload(
            json.dumps(
                {
                    "type": "alert",
                    "severity": "high",
                    "message": "CI runners are saturated: pipelines take 3x longer for the next hour",
                    "action_required": "hold non-urgent deploys until the queue drains",
                }
            )
        )
        body = json.dumps(payload, ensure_ascii=False)
        return [
            ("broadcast", "alert", (ORCHESTRATOR, None), (c.name, c.coordinator), body, payload) for c in self.casts
        ]

    def batches(self) -> Iterator[list[Draft]]:
        concurrent = min(len(self.casts), max(3, 2 + len(self.casts) // 4), 12)
        active: list[Iterator[list[Draft]]] = []
        first = True
        while True:
            while len(active) < concurrent:
                cast = self.casts[0] if first else self.rng.choice(self.casts)
                first = False
                active.append(self._episode(cast))
            index = self.rng.randrange(len(active))
            try:
                yield next(active[index])
            except StopIteration:
                active.pop(index)

    # One piece of work in one agency; CodeAgency's continue into QA (and Docs) and back.
    def _episode(self, cast: _Cast) -> Iterator[list[Draft]]:
        rng = self.rng
        slug, phrase = self._topic()
        branch = f"feature/{slug}"
        agent = rng.choice(cast.specialists)
        yield from self._intra_task(cast, agent, rng.choice(_WORK[cast.kind]), phrase, branch)
        qa = self.by_name.get("QAAgency")
        if cast.kind != "code" or qa is None:
            return
        self.feature_counter += 1
        feature = f"FEAT-{100 + self.feature_counter}"
        priority = "high" if rng.random() < 0.7 else "medium"
        yield [self._inter(cast, qa, {"type": "handoff", "task": feature, "branch": branch, "priority": priority})]
        tester = rng.choice(qa.specialists)
        yield from self._intra_task(qa, tester, f"test {feature}: " + rng.choice(_WORK["qa"]), phrase, branch)
        if rng.random() < 0.45:
            bugs = rng.randint(1, 4)
            results = {"type": "results", "task": feature, "status": "issues_found", "bugs": bugs, "severity": "medium"}
            yield [self._inter(qa, cast, results)]
            fix = f"fix the {bugs} issue{'s' if bugs > 1 else ''} QAAgency found in {feature}"
            yield from self._intra_task(cast, agent, fix, phrase, branch, short=True)
            return
        yield [
            self._inter(
                qa, cast, {"type": "results", "task": feature, "status": "passed", "bugs": 0, "severity": "none"}
            )
        ]
        docs = self.by_name.get("DocsAgency")
        if docs is not None:
            yield [
                self._inter(cast, docs, {"type": "handoff", "task": feature, "branch": branch, "priority": "medium"})
            ]

    def _intra_task(
        self, cast: _Cast, agent: str, work: str, phrase: str, branch: str, short: bool = False
    ) -> Iterator[list[Draft]]:
        rng = self.rng
        self.task_counter += 1
        task = f"TASK-{self.task_counter:03d}"
        fill = {"topic": phrase, "branch": branch, "area": cast.area}
        boss = cast.coordinator
        yield [self._intra(cast, boss, agent, f"{task}: {work.format(**fill)} on {branch}")]
        pct = rng.randrange(2, 6) * 10
        yield [self._intra(cast, agent, boss, f"STATUS {agent}: {pct}% done, {rng.choice(_PROGRESS).format(**fill)}")]
        if not short and rng.random() < 0.25:
            question, answer = rng.choice(_QUESTIONS)
            yield [self._intra(cast, agent, boss, f"QUESTION {agent}: {question.format(**fill)}")]
            yield [self._intra(cast, boss, agent, answer.format(**fill))]
        if not short and rng.random() < 0.12:
            blocker, unblock = rng.choice(_BLOCKERS)
            yield [self._intra(cast, agent, boss, f"BLOCKED {agent}: {blocker.format(**fill)}")]
            yield [self._intra(cast, boss, agent, unblock.format(**fill))]
        if not short and rng.random() < 0.5:
            pct = min(90, pct + rng.randrange(2, 5) * 10)
            yield [
                self._intra(cast, agent, boss, f"STATUS {agent}: {pct}% done, {rng.choice(_PROGRESS).format(**fill)}")
            ]
        yield [self._intra(cast, agent, boss, f"COMPLETE {agent}: {task} done on {branch}")]

    def _topic(self) -> tuple[str, str]:
        slug, phrase = _FEATURES[self.topic_counter % len(_FEATURES)]
        rounds = self.topic_counter // len(_FEATURES)
        self.topic_counter += 1
        return (slug, phrase) if rounds == 0 else (f"{slug}-{rounds + 1}", f"{phrase} (phase {rounds + 1})")

    @staticmethod
    def _intra(cast: _Cast, sender: str, recipient: str, text: str) -> Draft:
        return ("intra", message_type(text), (cast.name, sender), (cast.name, recipient), text, None)

    @staticmethod
    def _inter(sender: _Cast, recipient: _Cast, payload: dict[str, Any]) -> Draft:
        stored = parse_payload(json.dumps(payload))  # what the bus stores: validated, defaults filled
        body = json.dumps(stored, ensure_ascii=False)
        return (
            "inter",
            stored["type"],
            (sender.name, sender.coordinator),
            (recipient.name, recipient.coordinator),
            body,
            stored,
        )


# The history's two encodings: what chain.plain_hash hashes (sorted keys, default separators) and
# what registry.append_line writes (insertion order, compact). Encoders built once: json.dumps
# with arguments builds one per call, which is most of the cost at 100,000 messages.
_SORTED = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _message_event(seq: int, message: dict[str, Any], prev: str | None) -> tuple[str, str]:
    """(hash, line) of a message event, as Bus._append_event makes them."""
    before = "null" if prev is None else f'"{prev}"'
    hashed = f'{{"event": "message", "message": {_SORTED(message)}, "prev": {before}, "seq": {seq}}}'
    digest = hashlib.sha256(hashed.encode("utf-8")).hexdigest()
    line = f'{{"seq":{seq},"event":"message","message":{_COMPACT(message)},"prev":{before},"hash":"{digest}"}}\n'
    return digest, line


def _state_event(seq: int, message_id: str, time: str, prev: str | None) -> tuple[str, str]:
    """(hash, line) of a `delivered` event; ids and ISO times need no JSON escaping."""
    before = "null" if prev is None else f'"{prev}"'
    hashed = (
        f'{{"event": "state", "id": "{message_id}", "prev": {before}, "seq": {seq}, '
        f'"state": "delivered", "time": "{time}"}}'
    )
    digest = hashlib.sha256(hashed.encode("utf-8")).hexdigest()
    line = (
        f'{{"seq":{seq},"event":"state","id":"{message_id}","state":"delivered","time":"{time}",'
        f'"prev":{before},"hash":"{digest}"}}\n'
    )
    return digest, line


def _check_event(event: dict[str, Any], digest: str, line: str) -> None:
    """The fast encodings above must be exactly the bus's: checked on the first event of each kind."""
    event = {**event, "hash": plain_hash(event)}
    if event["hash"] != digest or _COMPACT(event) + "\n" != line:
        raise AssertionError(f"sample history event {event['seq']} differs from what the bus would write")


def _write_history(
    registry: Registry, story: _Story, count: int, start: datetime, rng: random.Random, undelivered: float
) -> None:
    """The hash-chained history, built in memory and written at once (mode 0600)."""
    lines: list[str] = []
    prev: str | None = None
    clock = start + timedelta(seconds=45)
    made = 0
    first_state = 0
    broadcast_at = int(count * 0.6)
    batches = story.batches()
    while made < count:
        batch = story.broadcast() if made >= broadcast_at >= 0 else next(batches)
        if made >= broadcast_at:
            broadcast_at = -1
        batch = batch[: count - made]
        clock += timedelta(microseconds=rng.randint(2_000_000, 9_000_000))
        sent = []
        for offset, (kind, type_, sender, recipient, body, payload) in enumerate(batch):
            made += 1
            message = new_message(
                kind,
                type_,
                sender,
                recipient,
                body,
                payload,
                message_id=f"m{made:08d}",
                at=clock + timedelta(microseconds=1_500 * offset),
            )
            seq = len(lines) + 1
            digest, line = _message_event(seq, message, prev)
            if made == 1:
                _check_event({"seq": seq, "event": "message", "message": message, "prev": prev}, digest, line)
            lines.append(line)
            prev = digest
            sent.append(message["id"])
        clock += timedelta(microseconds=1_500 * len(batch))
        for message_id in sent:
            if rng.random() < undelivered:
                continue  # its agent was down: still queued
            clock += timedelta(microseconds=rng.randint(150_000, 900_000))
            seq = len(lines) + 1
            time = clock.isoformat()
            digest, line = _state_event(seq, message_id, time, prev)
            if not first_state:
                first_state = seq
                event = {
                    "seq": seq,
                    "event": "state",
                    "id": message_id,
                    "state": "delivered",
                    "time": time,
                    "prev": prev,
                }
                _check_event(event, digest, line)
            lines.append(line)
            prev = digest
    path = registry.path(HISTORY)
    registry.directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, reg.FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("".join(lines))
    os.chmod(path, reg.FILE_MODE)
    for name in (KEY_FILE, HEAD_FILE):  # they described the history this one replaces
        registry.path(name).unlink(missing_ok=True)


# --- tasks ----------------------------------------------------------------------------------

# (agency, id prefix, first number, titles, priority, stage in the pipeline, depends on)
_ROLES = (
    (
        "CodeAgency",
        "FEAT",
        100,
        ("Build the {topic}", "Implement the {topic}", "Ship a first version of the {topic}"),
        "high",
        0,
        (),
    ),
    (
        "QAAgency",
        "QA",
        200,
        ("E2E tests for the {topic}", "Test plan and regression run for the {topic}"),
        "medium",
        1,
        ("CodeAgency",),
    ),
    (
        "SecurityAgency",
        "SEC",
        400,
        ("Security review of the {topic}", "Threat model for the {topic}"),
        "high",
        1,
        ("CodeAgency",),
    ),
    (
        "DevOpsAgency",
        "OPS",
        300,
        ("Deploy the {topic} to staging", "CI pipeline and alerts for the {topic}"),
        "medium",
        2,
        ("QAAgency", "SecurityAgency"),
    ),
    (
        "DocsAgency",
        "DOC",
        500,
        ("User guide for the {topic}", "Document the {topic} API"),
        "low",
        2,
        ("QAAgency", "CodeAgency"),
    ),
)
_MIDDLE_STATES = ("in_review", "working", "blocked", "completed", "working", "completed")


def _tasks(casts: list[_Cast], count: int, start: datetime, rng: random.Random) -> list[dict[str, Any]]:
    present = {c.name for c in casts}
    teams = [c for c in casts if c.kind == "team"]
    roles = [r for r in _ROLES if r[0] in present]
    numbers: dict[str, int] = {}
    # ids of each group's tasks by agency, for the `after` edges
    groups: list[dict[str, str]] = []
    drafts: list[tuple[str, str, str, str, list[str]]] = []  # id, title, agency, priority, after

    def new_id(prefix: str, base: int) -> str:
        numbers[prefix] = numbers.get(prefix, 0) + 1
        return f"{prefix}-{base + numbers[prefix]}"

    team_turn = 0
    step = 0
    while len(drafts) < count and (roles or teams):
        # A pipeline: at step s, group s starts with its feature, group s-1 gets tested and
        # reviewed, group s-2 gets deployed and documented.
        groups.append({})
        for stage in (0, 1, 2):
            group = step - stage
            if group < 0:
                continue
            _, phrase = _FEATURES[group % len(_FEATURES)]
            rounds = group // len(_FEATURES)
            topic = phrase if rounds == 0 else f"{phrase} (phase {rounds + 1})"
            ids = groups[group]
            stage_roles = [r for r in roles if r[5] == stage]
            for agency, prefix, base, titles, priority, _, deps in stage_roles:
                after = [ids[d] for d in deps if d in ids]
                if stage == 0 and group > 0 and "CodeAgency" in groups[group - 1] and rng.random() < 0.3:
                    after.append(groups[group - 1]["CodeAgency"])  # builds on the previous feature
                task_id = new_id(prefix, base)
                ids[agency] = task_id
                drafts.append(
                    (task_id, rng.choice(titles).format(topic=topic), agency, _priority(priority, rng), after)
                )
            if stage == 1 and teams:
                team = teams[team_turn % len(teams)]
                team_turn += 1
                after = [ids["CodeAgency"]] if "CodeAgency" in ids else []
                task_id = new_id(f"T{team.name[4:]}", 600)
                title = f"Integrate the {topic} with the {team.area} service"
                drafts.append((task_id, title, team.name, _priority("medium", rng), after))
        step += 1
    drafts = drafts[:count]

    n = len(drafts)
    done = int(n * 0.45 + 0.5)
    waiting = n - max(1, int(n * 0.15))
    states: dict[str, str] = {}
    started = 0  # tasks under way so far: their states take turns
    docs = []
    for index, (task_id, title, agency, priority, after) in enumerate(drafts):
        if index < done:
            state = "completed"
        elif index >= waiting:
            state = "submitted"
        elif any(states[d] != "completed" for d in after):
            state = "submitted"  # nobody starts before what it waits for is done
        else:
            state = _MIDDLE_STATES[started % len(_MIDDLE_STATES)]
            started += 1
        states[task_id] = state
        created = start + timedelta(minutes=3 * index, seconds=rng.randint(0, 59))
        updated = created if state == "submitted" else created + timedelta(minutes=rng.randint(5, 180))
        record = TaskRecord(
            id=task_id,
            title=title,
            agency=agency,
            after=after,
            priority=priority,
            state=state,
            created_at=created,
            updated_at=updated,
        )
        docs.append(record.model_dump(mode="json"))
    return docs


def _priority(usual: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return "critical"
    if roll < 0.2:
        return "low" if usual != "low" else "medium"
    return usual


# --- approvals ------------------------------------------------------------------------------

# agency, title, branch, (passed, failed, skipped), coverage, files, additions, deletions, demo
_APPROVALS = (
    (
        "CodeAgency",
        "User profile page",
        "feature/user-profile",
        (47, 0, 0),
        94.0,
        12,
        450,
        20,
        "http://localhost:3000/demo/profile",
    ),
    ("QAAgency", "E2E test suite for checkout", "feature/checkout-e2e", (128, 0, 3), 88.5, 9, 1210, 35, None),
    ("DevOpsAgency", "Cache dependencies in CI", "ci/dependency-cache", (47, 0, 0), None, 3, 64, 12, None),
    (
        "SecurityAgency",
        "Rate limiting on the login endpoint",
        "security/login-rate-limit",
        (53, 0, 1),
        91.2,
        5,
        180,
        8,
        "http://localhost:3001/demo/login",
    ),
    ("DocsAgency", "Getting-started tutorial", "docs/getting-started", (12, 0, 0), None, 6, 640, 90, None),
)
_APPROVAL_FIELDS = ("agency", "title", "branch", "tests", "coverage", "files", "additions", "deletions", "demo")


def _approvals(agencies: list[str], count: int, start: datetime) -> list[dict[str, Any]]:
    present = set(agencies)
    chosen = [dict(zip(_APPROVAL_FIELDS, t, strict=True)) for t in _APPROVALS if t[0] in present]
    teams = [a for a in agencies if a not in _KINDS] or agencies
    turn = 0
    while len(chosen) < count:  # more than the templates: features from the teams (or anyone)
        slug, phrase = _FEATURES[(turn + 3) % len(_FEATURES)]
        values = (
            teams[turn % len(teams)],
            phrase[0].upper() + phrase[1:],
            f"feature/{slug}",
            (30 + 7 * turn, 0, turn % 3),
            round(80 + (turn * 3.7) % 15, 1),
            4 + turn % 9,
            120 + 45 * turn,
            10 + 6 * turn,
            None,
        )
        chosen.append(dict(zip(_APPROVAL_FIELDS, values, strict=True)))
        turn += 1
    docs = []
    for number, item in enumerate(chosen[:count], start=1):
        passed, failed, skipped = item["tests"]
        created = start + timedelta(hours=1, minutes=17 * number)
        docs.append(
            ApprovalItem(
                id=number,
                agency=item["agency"],
                branch=item["branch"],
                base="main",
                title=item["title"],
                revision=2 if number == 2 else 1,
                status="pending",
                commit=hashlib.sha1(f"{item['agency']}:{item['branch']}".encode()).hexdigest(),
                tests=SuiteCounts(passed=passed, failed=failed, skipped=skipped),
                coverage=item["coverage"],
                files_changed=item["files"],
                additions=item["additions"],
                deletions=item["deletions"],
                demo_url=item["demo"],
                created_at=created,
                updated_at=created + timedelta(minutes=4 if number != 2 else 38),
            ).model_dump(mode="json")
        )
    return docs
