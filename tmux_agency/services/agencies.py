"""Agency lifecycle: create, list, status, kill, restore — the seed's create_agency.sh and friends."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tmux_agency.doors import registry as reg
from tmux_agency.doors.activity import activity_log_path, log_activity
from tmux_agency.doors.processes import ProcessTable
from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import (
    AGENCY_ENV,
    AGENT_ENV,
    HOME_ENV,
    SOCKET_ENV,
    STARTER_AGENCIES,
    Workspace,
    copy_missing,
    first_validation_error,
    starters_dir,
    validate_name,
)
from tmux_agency.models.errors import AgencyError, UsageError, WorldError
from tmux_agency.models.schema import AgencyRecord, AgencySpec, AgentRecord, AgentSpec, utcnow
from tmux_agency.services.agent_state import program_state
from tmux_agency.services.briefings import compose_briefing, default_agent_briefing
from tmux_agency.services.delivery import type_into_agent
from tmux_agency.services.programs import classify, profile_for, program_running, takes_text
from tmux_agency.services.records import get_record, load_records, registry_of, save_record
from tmux_agency.services.specs import load_spec

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def scripted_agent_command() -> str:
    """The project's own scripted agent, runnable whether or not the console script is on PATH."""
    return shlex.join([sys.executable, "-m", "tmux_agency", "agent"])


# --- specs and files ---------------------------------------------------------------------------


def split_names(value: str | None, what: str) -> list[str] | None:
    """'a,b,c' → ['a', 'b', 'c'], each checked; None stays None (flag not given)."""
    if value is None:
        return None
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise UsageError(f"--{what} names nothing")
    for name in names:
        validate_name(name, "agent name" if what != "capabilities" else "capability")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UsageError(f"--{what} names {dup!r} twice")
    return names


def build_spec(
    ws: Workspace,
    name: str,
    agents: list[str] | None = None,
    coordinator: str | None = None,
    capabilities: list[str] | None = None,
    template: str | None = None,
) -> AgencySpec:
    """The spec to start: agency.json (or a starter) with the flags of `create` applied. With
    `template`, a new agency `name` starts as a copy of that agency (its agents and capabilities)."""
    validate_name(name, "agency name")
    if template is not None and template != name:
        validate_name(template, "template")
        if load_spec(ws, name) is not None:
            raise UsageError(
                f"agency {name!r} is already defined (agencies/{name}/agency.json): start it without a template"
            )
        source = load_spec(ws, template)
        if source is None:
            raise UsageError(
                f"no template {template!r}: see {ws.agencies_dir} (starters: {', '.join(STARTER_AGENCIES)})"
            )
        copy = source.model_dump()
        copy.update(name=name, description=f"{name}, from the {template} template. {source.description}".strip())
        base: AgencySpec | None = AgencySpec.model_validate(copy)
    else:
        base = load_spec(ws, name)
    if base is None:
        if agents is None and coordinator is None:
            raise UsageError(
                f"no agency {name!r}: agencies/{name}/agency.json does not exist; "
                f"define it with --agents a,b (starters: {', '.join(STARTER_AGENCIES)})"
            )
        stem = name[: -len("Agency")] if name.endswith("Agency") and len(name) > 6 else name
        base = AgencySpec(
            name=name,
            description=f"{name}, created with tmux-agency create.",
            coordinator=AgentSpec(name=f"{stem.lower()}-coordinator"[:40], role=f"Coordinator of {name}"),
        )
    data = base.model_dump()
    if coordinator is not None:
        old = base.coordinator
        data["coordinator"] = {**old.model_dump(), "name": coordinator, "briefing": base.briefing_path(old)}
    if agents is not None:
        known = {a.name: a.model_dump() for a in base.agents}
        data["agents"] = [known.get(agent, {"name": agent}) for agent in agents]
    if capabilities is not None:
        data["capabilities"] = capabilities
    try:
        return AgencySpec.model_validate(data)
    except ValidationError as exc:
        raise UsageError(f"agency {name}: {first_validation_error(exc)}") from None


def template_dir(ws: Workspace, name: str) -> Path:
    """Where an agency's files come from: the workspace's folder, else the starter's."""
    folder = ws.agency_dir(name)
    return folder if (folder / "agency.json").is_file() else starters_dir() / name


def ensure_agency_files(ws: Workspace, spec: AgencySpec, template: str | None = None) -> list[str]:
    """Give agencies/NAME/ whatever it lacks: agency.json, briefings, scripts/, logs/activity.log
    (briefings and scripts copied from `template`, when the agency starts as a copy of one)."""
    folder = ws.agency_dir(spec.name)
    added: list[str] = []
    if template is not None and template != spec.name:
        # Briefings and scripts; not its agency.json (the copy has its own name), logs or lessons.
        added += copy_missing(template_dir(ws, template), folder, label=f"agencies/{spec.name}", skip=("agency.json",))
    elif spec.name in STARTER_AGENCIES:
        added += copy_missing(starters_dir() / spec.name, folder, label=f"agencies/{spec.name}")
    folder.mkdir(parents=True, exist_ok=True)
    spec_path = folder / "agency.json"
    if not spec_path.exists():
        spec_path.write_text(spec.model_dump_json(indent=2, exclude_defaults=True) + "\n", encoding="utf-8")
        added.append(f"agencies/{spec.name}/agency.json")
    for agent in spec.all_agents():
        path = folder / spec.briefing_path(agent)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(default_agent_briefing(spec, agent), encoding="utf-8")
            added.append(f"agencies/{spec.name}/{spec.briefing_path(agent)}")
    (folder / "scripts").mkdir(exist_ok=True)
    log = activity_log_path(folder)
    if not log.exists():
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch(mode=0o600)
        added.append(f"agencies/{spec.name}/logs/activity.log")
    return added


# --- programs ----------------------------------------------------------------------------------


def program_for(ws: Workspace, agent: AgentSpec, override: str | None) -> str:
    return override or agent.program or ws.settings().default_program or scripted_agent_command()


def check_program(command: str, path_env: str) -> None:
    """Refuse a program whose executable cannot be found, before anything is started."""
    agent_argv(command, path_env)


# An agent's pane runs its program and nothing else: no shell that a message could reach when
# the program ends. The pane keeps its last screen once the program exits (remain-on-exit, set
# before the program starts, so even one that fails at once leaves its error on screen), and a
# dead pane takes no input at all. `restore` starts the program again in the same pane.
_RUN_IN_PANE = '{tmux} set-option -p -t "$TMUX_PANE" remain-on-exit on >/dev/null 2>&1; {unset}exec "$@"'


def agent_argv(command: str, path_env: str, unset_env: tuple[str, ...] = ()) -> list[str]:
    """The argv an agent's pane runs for program `command` (split as a shell would split it, its
    executable found on `path_env` and named by its absolute path, so the pane runs the program
    that was checked, whatever PATH a login shell would set), without the variables `unset_env`
    names (its profile's)."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"program {command!r} cannot be parsed: {exc}") from None
    if not words:
        raise UsageError("the program to run is empty")
    executable = shutil.which(words[0], path=path_env)
    if executable is None:
        raise UsageError(f"program {words[0]!r} not found on PATH")
    tmux_binary = shlex.quote(shutil.which("tmux") or "tmux")
    unset = f"unset {' '.join(shlex.quote(name) for name in unset_env)}; " if unset_env else ""
    wrapper = _RUN_IN_PANE.format(tmux=tmux_binary, unset=unset)
    return ["/bin/sh", "-c", wrapper, "tmux-agency-pane", os.path.abspath(executable), *words[1:]]


def pane_environment(ws: Workspace, tmux: Tmux, agency: str, agent: str | None) -> dict[str, str]:
    """What every pane of the agency knows: the workspace, its agency, its name, the tmux socket."""
    env = {key: value for key, value in os.environ.items() if key.startswith("TMUX_AGENCY_")}
    env[HOME_ENV] = str(ws.root)
    env[AGENCY_ENV] = agency
    if agent:
        env[AGENT_ENV] = agent
    else:
        env.pop(AGENT_ENV, None)
    if tmux.socket_name:
        env[SOCKET_ENV] = tmux.socket_name
    else:
        env.pop(SOCKET_ENV, None)
    # The tmux server may have been started long ago with another PATH: make sure the panes
    # find this tmux-agency (and the interpreter it runs on) first.
    bin_dirs = [str(Path(sys.executable).parent)]
    env["PATH"] = os.pathsep.join([*bin_dirs, os.environ.get("PATH", "")])
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


# --- tmux side ---------------------------------------------------------------------------------


@dataclass
class StartResult:
    agents: list[AgentRecord]
    briefed: list[str] = field(default_factory=list)
    not_briefed: dict[str, str] = field(default_factory=dict)


def _start_session(ws: Workspace, tmux: Tmux, spec: AgencySpec, override: str | None) -> list[AgentRecord]:
    """Make the tmux session: coordinator, specialists, tools, sandbox; start each program."""
    project = str(ws.project_dir())
    records: list[AgentRecord] = []
    for position, agent in enumerate(spec.all_agents()):
        env = pane_environment(ws, tmux, spec.name, agent.name)
        program = program_for(ws, agent, override)
        command = agent_argv(program, env["PATH"], profile_for(program, ws.root).unset_env)
        if position == 0:
            pane_id = tmux.new_session(spec.name, agent.name, project, env, command)
        else:
            pane_id = tmux.new_window(spec.name, agent.name, project, env, command)
        records.append(
            AgentRecord(
                name=agent.name,
                window=agent.name,
                is_coordinator=position == 0,
                program=program,
                pane_id=pane_id,
            )
        )
    tools_env = pane_environment(ws, tmux, spec.name, None)
    scripts = ws.agency_dir(spec.name) / "scripts"
    tools_env["PATH"] = os.pathsep.join([str(scripts), tools_env["PATH"]])
    tmux.new_window(spec.name, "tools", project, tools_env)
    ws.sandbox_dir.mkdir(parents=True, exist_ok=True)
    tmux.new_window(spec.name, "sandbox", str(ws.sandbox_dir), pane_environment(ws, tmux, spec.name, None))
    return records


def brief_agents(
    ws: Workspace,
    tmux: Tmux,
    spec: AgencySpec,
    agents: list[AgentRecord],
    progress: Progress = _quiet,
) -> StartResult:
    """Wait for each agent's program to be ready, then deliver its briefing (never before, and
    never into a dialog the person must answer first: trust this folder, a permission prompt).
    A briefing still held by a dialog when the start-up time is up is queued on the bus, so it
    is delivered once the dialog is gone."""
    result = StartResult(agents=agents)
    folder = ws.agency_dir(spec.name)
    timeout = ws.settings().startup_timeout_s
    pending: dict[str, AgentRecord] = {}
    for record in agents:
        if profile_for(record.program, ws.root).accepts_messages:
            pending[record.name] = record
        else:
            result.not_briefed[record.name] = f"{record.program!r} is a shell: briefings are not typed into shells"
    ready_since: dict[str, float] = {}
    blocked: dict[str, str] = {}  # agent → the dialog its pane shows
    deadline = time.monotonic() + timeout
    lock_dir = registry_of(ws).pane_locks()
    while pending and time.monotonic() < deadline:
        table = ProcessTable.snapshot()
        panes = {p.pane_id: p for p in tmux.list_panes()}
        for name, record in list(pending.items()):
            profile = profile_for(record.program, ws.root)
            pane = panes.get(record.pane_id or "")
            if pane is None or not program_running(profile, pane.pane_pid, table):
                continue
            reading = classify(profile, tmux.capture(pane.pane_id))  # one reading decides both
            dialog = reading.dialog
            if dialog is not None:
                if name not in blocked:
                    progress(f"  {name}: waiting for you: {dialog.action}")
                blocked[name] = f"{profile.name} shows a dialog ({dialog.name}): {dialog.action}"
                ready_since.pop(name, None)  # the start-up delay counts again once it is gone
                continue
            blocked.pop(name, None)
            if not takes_text(profile, reading):
                continue
            first = ready_since.setdefault(name, time.monotonic())
            if time.monotonic() - first < profile.startup_delay_s:
                continue
            agent_spec = spec.agent(name)
            assert agent_spec is not None
            text = compose_briefing(spec, agent_spec, folder)
            delivery = type_into_agent(tmux, record.pane_id, text, profile, lock_dir, session=spec.name)
            if delivery.outcome in ("dialog", "held"):  # it changed since the capture: wait again
                blocked[name] = delivery.reason
                ready_since.pop(name, None)
                continue
            if delivery.ok:
                result.briefed.append(name)
                log_activity(folder, "BRIEFING", f"{name}: briefing delivered ({len(text.splitlines())} lines)")
                progress(f"  {name}: briefed")
            else:
                result.not_briefed[name] = delivery.reason
            del pending[name]
        if pending:
            time.sleep(0.1)
    # Briefings are messages: one that could not go in yet waits in the queue like any other
    # and goes in, once, when the program shows its prompt (never lost to a slow start).
    for name, record in pending.items():
        why = blocked.get(name) or f"{record.program!r} was not ready after {timeout:g}s."
        held = _queue_held_briefing(ws, tmux, spec, name, why)
        if held is None:
            result.briefed.append(name)
        else:
            result.not_briefed[name] = held
    for name, why in result.not_briefed.items():
        log_activity(folder, "WARN", f"{name}: no briefing: {why}")
    return result


def _queue_held_briefing(ws: Workspace, tmux: Tmux, spec: AgencySpec, name: str, dialog: str) -> str | None:
    """Hand a briefing that a dialog held past the start-up time to the bus: it waits in the
    queue (delivery holds it while the dialog shows) and goes in once the person has answered.
    Return why the agent is not briefed yet, or None if it was answered in time after all."""
    from tmux_agency.services.bus import Bus

    agent_spec = spec.agent(name)
    assert agent_spec is not None
    text = compose_briefing(spec, agent_spec, ws.agency_dir(spec.name))
    message = Bus(ws, tmux).send(spec.name, name, text, sender=(None, "tmux-agency"), type_="NOTE").messages[0]
    if message["state"] != "queued":  # answered at the last moment
        return None
    return f"held: {dialog} The briefing is queued ({message['id']}) and goes in once it shows its prompt ('tmux-agency run' or 'deliver')."


# --- lifecycle ---------------------------------------------------------------------------------


def create_agency(
    ws: Workspace,
    tmux: Tmux,
    name: str,
    agents: list[str] | None = None,
    coordinator: str | None = None,
    capabilities: list[str] | None = None,
    program: str | None = None,
    progress: Progress = _quiet,
    template: str | None = None,
) -> tuple[AgencyRecord, StartResult]:
    """The seed's create_agency.sh: validate everything, then files, session, registry, briefings.
    `template` names an agency to copy (agents, capabilities, briefings, scripts) under `name`."""
    spec = build_spec(ws, name, agents, coordinator, capabilities, template)
    path_env = pane_environment(ws, tmux, name, None)["PATH"]
    for agent in spec.all_agents():
        check_program(program_for(ws, agent, program), path_env)
    tmux.check_installed()
    existing = {r.name: r for r in load_records(ws)}
    if tmux.has_session(name):
        if name in existing:
            raise UsageError(f"agency {name!r} already exists (tmux session {name!r} is running)")
        raise UsageError(f"a tmux session named {name!r} already exists; pick another name")
    if not ws.project_dir().is_dir():
        raise UsageError(f"the project folder {ws.project_dir()} does not exist (see {ws.settings_path})")

    ensure_agency_files(ws, spec, template)
    try:
        agent_records = _start_session(ws, tmux, spec, program)
    except BaseException:
        _kill_quietly(tmux, name)
        raise
    record = AgencyRecord(
        name=name,
        session=name,
        status="running",
        created_at=utcnow(),
        spec=spec,
        agents=agent_records,
        program_override=program,
    )
    save_record(ws, record)
    log_activity(ws.agency_dir(name), "CREATE", f"{name}: session started with {len(agent_records)} agents")
    from tmux_agency.services.schedule import ensure_commit_reminder

    ensure_commit_reminder(ws, name)  # the coordinator's commit reminder (settings: checkin_minutes)
    progress(f"{name}: tmux session started; waiting for {len(agent_records)} agents to be ready")
    from tmux_agency.services.drift import note_baseline
    from tmux_agency.services.gate import server_warning

    note_baseline(ws, f"created {name}")  # the base branch's first known-good commit, if it has none
    if warning := server_warning(tmux, name):  # a server tmux-agency did not start: the gate sees less
        progress(warning)
    result = brief_agents(ws, tmux, spec, agent_records, progress)
    _send_waiting_tasks(ws, tmux, progress)
    return record, result


def _send_waiting_tasks(ws: Workspace, tmux: Tmux, progress: Progress) -> None:
    """Tasks that were ready before their agency ran go out now that it does (after its
    briefing, so the TASK is not the first thing its coordinator reads)."""
    from tmux_agency.services.tasks.lifecycle import dispatch_ready

    try:
        sent = dispatch_ready(ws, tmux)
    except AgencyError as exc:  # the agency runs: a broken task graph must not undo that
        progress(f"tasks: not sent ({exc})")
        return
    for task_id in sent:
        progress(f"task {task_id} sent to its agency")


def _kill_quietly(tmux: Tmux, session: str) -> None:
    try:
        if tmux.has_session(session):
            tmux.kill_session(session)
    except WorldError:
        pass


def records_as_seen(ws: Workspace, tmux: Tmux) -> list[AgencyRecord]:
    """The registered agencies, each marked running or stopped by whether its session exists
    now. Nothing is written: `list` and `status` only look, and a wrong or dead socket must not
    mark every agency stopped for the commands that follow."""
    live = set(tmux.sessions())
    return [
        r
        if (r.session in live) == (r.status == "running")
        else r.model_copy(update={"status": "running" if r.session in live else "stopped"})
        for r in load_records(ws)
    ]


def agency_status(ws: Workspace, tmux: Tmux, name: str | None = None) -> list[dict[str, Any]]:
    """Each agency's windows and agents, and whether each agent's program runs — from one
    `list-panes -a` and one `ps`, however many agents."""
    records = [get_record(ws, name)] if name else records_as_seen(ws, tmux)
    panes = tmux.list_panes()
    table = ProcessTable.snapshot()
    live = {p.session for p in panes}
    views = []
    for record in records:
        own = sorted((p for p in panes if p.session == record.session), key=lambda p: p.window_index)
        by_id = {p.pane_id: p for p in own}
        agents = []
        for agent in record.agents:
            state, profile, why = program_state(ws, record.session, agent.pane_id, agent.program, by_id, table)
            agents.append(
                {
                    "name": agent.name,
                    "coordinator": agent.is_coordinator,
                    "window": agent.window,
                    "pane_id": agent.pane_id,
                    "program": agent.program,
                    "profile": profile.name if profile else None,
                    "state": state,
                    **({"error": why} if why else {}),
                }
            )
        views.append(
            {
                "name": record.name,
                "session": record.session,
                "status": "running" if record.session in live else "stopped",
                "created_at": record.created_at.isoformat(),
                "capabilities": record.spec.capabilities,
                "windows": [{"index": p.window_index, "name": p.window_name, "pane_id": p.pane_id} for p in own],
                "agents": agents,
            }
        )
    return views


@dataclass
class KillResult:
    record: AgencyRecord
    dropped: int  # queued messages dropped
    shared: list[int] = field(default_factory=list)  # background servers left running: others use them


def kill_agency(ws: Workspace, tmux: Tmux, name: str) -> KillResult:
    """Stop the agency's session and every process its panes started — background servers an
    agent's program left behind included, unless another program of the same name and HOME
    still runs (Codex's app-server serves every Codex of a user: ending it would cut them off) —
    drop the messages still waiting for its agents (a new agency of the same name must not
    receive them), and remove it from the registry (its files stay)."""
    from tmux_agency.services.bus import Bus

    record = get_record(ws, name)
    if tmux.has_session(record.session):
        table = ProcessTable.snapshot()
        doomed = [
            p.pid for pane in tmux.list_panes() if pane.session == record.session for p in table.tree(pane.pane_pid)
        ]
        tmux.kill_session(record.session)
        _end(doomed)  # what the hang-up of kill-session did not end
    shared = _end_left_behind(ws, tmux, name)
    dropped = Bus(ws, tmux).drop_queued(name, f"agency {name} was killed before it could be delivered")
    with registry_of(ws).change(reg.AGENCIES) as agencies:
        agencies.remove(name=name)
    from tmux_agency.services.schedule import cancel_for_agency

    cancelled = cancel_for_agency(ws, name)  # creating it again brings its commit reminder back
    extra = f"; {len(cancelled)} check-in(s) cancelled" if cancelled else ""
    extra += f"; {dropped} queued message(s) dropped" if dropped else ""
    extra += f"; left running, shared with other programs: pid {', '.join(map(str, shared))}" if shared else ""
    log_activity(ws.agency_dir(name), "KILL", f"{name}: session stopped and agency unregistered{extra}")
    return KillResult(record, dropped, shared)


def _end(pids: list[int]) -> None:
    from tmux_agency.doors.processes import end_processes, start_time

    end_processes([(pid, start_time(pid)) for pid in pids])


def _end_left_behind(ws: Workspace, tmux: Tmux, name: str) -> list[int]:
    """End the processes the agency's panes started that left their tree (they still carry the
    pane's environment); return those left running because programs of their kind still use them."""
    from tmux_agency.doors.processes import marked_with, others_sharing

    left = marked_with({HOME_ENV: str(ws.root), AGENCY_ENV: name, SOCKET_ENV: tmux.socket_name or None})
    shared = [pid for pid in left if others_sharing(pid, set(left))]
    _end([pid for pid in left if pid not in shared])
    return shared


def restore_agencies(ws: Workspace, tmux: Tmux, progress: Progress = _quiet) -> list[tuple[AgencyRecord, StartResult]]:
    """Bring every registered agency back: re-create sessions that are gone (after a tmux or
    machine restart) exactly as they were created, and restart agent programs that exited in a
    live session. Each agent brought back is briefed again."""
    tmux.check_installed()
    restored = []
    live = set(tmux.sessions())
    for record in load_records(ws):
        ensure_agency_files(ws, record.spec)
        if record.session in live:
            agents, revived = _revive_agents(ws, tmux, record)
            if not revived:
                continue
            log_activity(
                ws.agency_dir(record.name), "RESTORE", f"{record.name}: restarted {', '.join(a.name for a in revived)}"
            )
        else:
            try:
                agents = _start_session(ws, tmux, record.spec, record.program_override)
            except BaseException:
                _kill_quietly(tmux, record.session)
                raise
            revived = agents
            log_activity(ws.agency_dir(record.name), "RESTORE", f"{record.name}: session re-created")
        record = record.model_copy(update={"agents": agents, "status": "running"})
        save_record(ws, record)
        from tmux_agency.services.schedule import ensure_commit_reminder

        ensure_commit_reminder(ws, record.name)  # agencies made before reminders existed get one too
        progress(f"{record.name}: {len(revived)} agent(s) started; waiting for them to be ready")
        restored.append((record, brief_agents(ws, tmux, record.spec, revived, progress)))
    if restored:
        _send_waiting_tasks(ws, tmux, progress)
    return restored


def _revive_agents(ws: Workspace, tmux: Tmux, record: AgencyRecord) -> tuple[list[AgentRecord], list[AgentRecord]]:
    """Restart the programs of agents that are down in a live session; return (all, restarted).

    A dead pane (its program exited) runs the program again; so does the idle shell of a pane
    started before agents' panes ran their program alone. A pane where something else runs is
    left alone. A pane that is gone gets a new window.
    """
    table = ProcessTable.snapshot()
    agents: list[AgentRecord] = []
    revived: list[AgentRecord] = []
    project = str(ws.project_dir())
    shell = profile_for("sh", ws.root)
    for agent in record.agents:
        state = tmux.pane_process(agent.pane_id) if agent.pane_id else None
        gone = state is None or state[2] != record.session
        if state is not None and not gone and not state[1] and not _idle_shell(table, state[0], shell):
            agents.append(agent)  # running, or stopped, or the user runs something else there
            continue
        env = pane_environment(ws, tmux, record.name, agent.name)
        command = agent_argv(agent.program, env["PATH"], profile_for(agent.program, ws.root).unset_env)
        if gone:
            pane_id = tmux.new_window(record.session, agent.window, project, env, command)
            agent = agent.model_copy(update={"pane_id": pane_id})
        else:
            tmux.respawn_pane(agent.pane_id or "", project, env, command)
        agents.append(agent)
        revived.append(agent)
    return agents, revived


def _idle_shell(table: ProcessTable, pid: int, shell: Any) -> bool:
    own = table.process(pid)
    return own is not None and program_running(shell, pid, table) and not table.descendants(pid)
