"""Pydantic models: the contract between layers and the shape of every file on disk."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from tmux_agency.models.names import COORDINATOR_ALIAS, RESERVED_WINDOWS, check_name


def _agency_name(value: str) -> str:
    return check_name(value, "agency name")


def _agent_name(value: str) -> str:
    return check_name(value, "agent name")


AgencyName = Annotated[str, AfterValidator(_agency_name)]
AgentName = Annotated[str, AfterValidator(_agent_name)]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo in agency.json must not be silently ignored."""

    # defer_build: validators are built on first use, not at import — agents call `send`
    # constantly and most commands touch only a few models.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class AgentSpec(StrictModel):
    """One agent of an agency: its name, a one-line role, its briefing file and its program."""

    name: AgentName
    role: str = ""
    # Path of the briefing, relative to the agency folder. Default: agents/<name with _>.md,
    # or coordinator.md for the coordinator.
    briefing: str | None = None
    # The command started in the agent's window (claude, codex, aider, ...). None: the
    # workspace's default program, which is the project's scripted agent unless set.
    program: str | None = None


class SandboxSpec(StrictModel):
    """How the sandbox tests and demonstrates an agency's branch."""

    test_command: str | None = None
    demo_command: str | None = None


class AgencySpec(StrictModel):
    """agencies/<Name>/agency.json: who the agency is and what it can do."""

    name: AgencyName
    description: str = ""
    capabilities: list[str] = Field(default_factory=list)
    coordinator: AgentSpec
    agents: list[AgentSpec] = Field(default_factory=list)
    # Script file name (in scripts/) → what it does; listed in every briefing.
    scripts: dict[str, str] = Field(default_factory=dict)
    sandbox: SandboxSpec = Field(default_factory=SandboxSpec)

    @model_validator(mode="after")
    def _names_are_unique_and_free(self) -> AgencySpec:
        seen: set[str] = set()
        for agent in self.all_agents():
            if agent.name in seen:
                raise ValueError(f"duplicate agent name {agent.name!r}")
            if agent.name in RESERVED_WINDOWS:
                raise ValueError(f"agent name {agent.name!r} is reserved for the agency's own window")
            seen.add(agent.name)
        for agent in self.agents:
            if agent.name == COORDINATOR_ALIAS:
                raise ValueError(f"a specialist cannot be named {COORDINATOR_ALIAS!r}: it always means the coordinator")
        return self

    def all_agents(self) -> list[AgentSpec]:
        """The coordinator first, then the specialists: the order of the tmux windows."""
        return [self.coordinator, *self.agents]

    def agent(self, name: str) -> AgentSpec | None:
        """The agent called `name`; `coordinator` always names the coordinator."""
        if name == COORDINATOR_ALIAS:
            return self.coordinator
        return next((a for a in self.all_agents() if a.name == name), None)

    def briefing_path(self, agent: AgentSpec) -> str:
        if agent.briefing:
            return agent.briefing
        if agent.name == self.coordinator.name:
            return "coordinator.md"
        return f"agents/{agent.name.replace('-', '_')}.md"


class Settings(StrictModel):
    """tmux-agency.json at the workspace root."""

    # The git repository the agents work on; relative paths are relative to the workspace.
    project: str = "."
    # Program for agents that name none. None: the project's scripted agent.
    default_program: str | None = None
    # Seconds an agent's program may take to become ready before its briefing is given up on.
    startup_timeout_s: float = 30.0
    # The branch approved work is merged into. None: the project's current branch.
    base_branch: str | None = None
    # Seconds a sandbox test run may take before it counts as failed.
    test_timeout_s: float = Field(default=900.0, gt=0)
    # A command run when work joins the approval queue (e.g. notify-send); it gets the item in
    # TMUX_AGENCY_APPROVAL_* environment variables, never interpolated into a shell line.
    notify_command: str | None = None
    # Every coordinator gets a commit reminder this often (minutes), scheduled when its agency
    # is created; None or 0: no reminders.
    checkin_minutes: int | None = Field(default=30, ge=0)


class Checkin(StrictModel):
    """One row of registry/schedule.json: a message to an agent at a set time, once or every
    `every_s` seconds (a scheduled check-in)."""

    id: int
    agency: str
    agent: str  # an agent's name, or "coordinator"
    text: str
    due: datetime  # when it is sent next
    every_s: int | None = None  # None: once
    kind: Literal["reminder", "commit-reminder"] = "reminder"
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = "human"
    sent: int = 0  # times sent so far
    last_sent_at: datetime | None = None
    last_message_id: str | None = None
    last_error: str | None = None  # why the last time it was due it could not be sent


AgencyStatus = Literal["running", "stopped"]


class AgentRecord(StrictModel):
    """An agent as it was started: where it lives in tmux and what runs there."""

    name: str
    window: str
    is_coordinator: bool = False
    program: str
    pane_id: str | None = None


class AgencyRecord(StrictModel):
    """One row of registry/active_agencies.json."""

    name: AgencyName
    session: str
    status: AgencyStatus = "running"
    created_at: datetime = Field(default_factory=utcnow)
    # The spec the agency was started with (agency.json plus the flags of `create`), so that
    # `restore` brings back exactly the same agency.
    spec: AgencySpec
    agents: list[AgentRecord] = Field(default_factory=list)
    # Overrides the program of every agent, as `create --program` asked.
    program_override: str | None = None

    def agent(self, name: str) -> AgentRecord | None:
        if name == COORDINATOR_ALIAS:
            return next((a for a in self.agents if a.is_coordinator), None)
        return next((a for a in self.agents if a.name == name), None)


MessageKind = Literal["intra", "inter", "broadcast"]
# uncertain: typed, but whether it arrived cannot be told (its deliverer was killed, or the pane
# never showed it); it is never typed again on its own.
DeliveryState = Literal["queued", "delivered", "acknowledged", "uncertain"]


class Message(StrictModel):
    """One message of any kind: within an agency, between agencies, or to all of them."""

    id: str
    time: datetime
    kind: MessageKind
    type: str
    sender_agency: str | None = None
    sender_agent: str | None = None  # "human" when sent from outside any agency pane
    recipient_agency: str
    recipient_agent: str
    body: str
    payload: dict | None = None  # the JSON object of an inter-agency message or broadcast
    state: DeliveryState = "queued"
    delivered_at: datetime | None = None
    acknowledged_at: datetime | None = None
    reason: str | None = None  # why it is still queued (agent down, ...) or uncertain

    def sender_label(self) -> str:
        if self.sender_agency and self.sender_agent:
            return f"{self.sender_agency}/{self.sender_agent}"
        return self.sender_agency or self.sender_agent or "human"

    def recipient_label(self) -> str:
        return f"{self.recipient_agency}/{self.recipient_agent}"


ApprovalStatus = Literal["pending", "approved", "rejected"]


class SuiteCounts(StrictModel):
    """What a sandbox test run established, from its JUnit XML report."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped + self.errors

    @property
    def green(self) -> bool:
        return self.failed == 0 and self.errors == 0


class ApprovalItem(StrictModel):
    """One row of registry/approval_queue.json: tested work waiting for a human decision."""

    id: int
    agency: str
    branch: str
    base: str
    title: str
    revision: int = 1
    status: ApprovalStatus = "pending"
    commit: str
    tests: SuiteCounts
    coverage: float | None = None
    files_changed: int = 0
    additions: int = 0
    deletions: int = 0
    demo_url: str | None = None
    worktree: str | None = None
    session: str | None = None
    test_log: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    decided_by: str | None = None
    decided_at: datetime | None = None
    feedback: str | None = None


TaskState = Literal["submitted", "working", "blocked", "in_review", "completed", "failed", "canceled"]


class TaskEvent(StrictModel):
    """One step of a task's life: what happened, who caused it, and the state it left."""

    time: datetime
    state: TaskState
    # added, assigned, STATUS, BLOCKED, QUESTION, COMPLETE, handoff, deploy, approved, rejected,
    # reset (a dependency went back), done, failed, canceled, dep
    event: str
    by: str = ""  # "CodeAgency/python-agent", "human", "approval #3", "T-4"


class TaskRecord(StrictModel):
    """One node of registry/task_graph.json: a task, its agency and what it waits for."""

    id: str
    title: str
    agency: str | None = None
    needs: list[str] = Field(default_factory=list)  # capabilities, when no agency is named
    after: list[str] = Field(default_factory=list)  # ids of the tasks it depends on
    priority: Literal["low", "medium", "high", "critical"] = "medium"
    state: TaskState = "submitted"
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # When the task was sent to its agency's coordinator (None: not yet, or sent back to wait).
    assigned_at: datetime | None = None
    reason: str | None = None  # why this agency was chosen (task add --needs)
    branch: str | None = None  # the work's branch, once a handoff or a deploy names it
    approval: int | None = None  # the approval item reviewing it
    rejections: int = 0  # times a human sent it back
    history: list[TaskEvent] = Field(default_factory=list)
