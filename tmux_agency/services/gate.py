"""The human gate: is the process asking for a decision (approve, reject, approval-cli,
accept-base) a human's, or an agent's? Decided from facts the asking process cannot change.

Environment variables are no such fact: an agent unsets TMUX_AGENCY_AGENCY, TMUX and TMUX_PANE
with `env -u`. Nor are the session id or the controlling terminal: `setsid` and `script` give a
process new ones. What a process cannot choose is who started it. The facts used:

1. **Its ancestry**: the parent of each process from the caller up to pid 1, read from
   /proc/PID/stat (`ps` elsewhere). `env -i`, `nohup`, `script`, `python -m tmux_agency`, setsid
   without a fork leave it as it was.
2. **The tmux servers among those ancestors**, whatever socket they listen on (-L, -S,
   TMUX_TMPDIR): a process tmux named `tmux: server`, asked through the unix socket it listens on
   (found in /proc/net/unix) for its own pid, so nothing the caller's environment says is needed
   to find it. tmux forks every pane's process itself, so the ancestor just below a server is
   either a pane's own process — its pane, session and window are then known — or not a pane
   at all: an orphan the server adopted, a run-shell job, a popup.
3. **The clients attached to a session**, by their pid, whose own ancestry is judged the same
   way: a session "some human's terminal shows".
4. **Adoption**: a tmux server tmux-agency starts is a child subreaper (Tmux.ensure_server).
   A process cut loose below it — a double fork, setsid that forks, a new tmux server started
   from a pane (tmux daemonizes) — is reparented to that server, not to init: it stays below
   the agencies' server, outside any pane.

The verdict, going up the ancestry, refuses when
- an ancestor is a pane of an agency session (a registered agency's, or a sandbox's);
- an ancestor is a pane of another session on a server that hosts agencies (or that tmux-agency
  started), and no human's terminal shows that session: `tmux new-session -d` from an agent's
  pane makes exactly that;
- below such a server the ancestor is no pane: an adopted orphan (or a job or popup there).
Anything else — outside tmux, a pane of the person's own tmux server, a session of their own on
the agencies' server that their terminal shows — is taken for a human. TMUX_AGENCY_AGENCY, when
set, refuses as well: a hint that can only refuse, never admit.

What this cannot see (the threat model in docs/concepts.md): processes that other programs of the same
user start on an agent's request — the user's own tmux server (send-keys, run-shell,
new-session there), systemd-run, cron, ssh to localhost — and, on a server tmux-agency did not
start, orphans (they go to init). Agents run as the user, so they can also run `git merge` or
edit any file; what reaches the base branch without an approval is shown (drift.py).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tmux_agency.doors.processes import stat_fields
from tmux_agency.doors.tmux import SUBREAPER_OPTION, Tmux  # the option: set by Tmux.ensure_server to the server's pid
from tmux_agency.models.errors import AgencyError, UsageError

_SEP = "\x1f"
_PROC = Path("/proc")
_MAX_DEPTH = 3  # clients of clients of clients: deeper nesting is not taken for a human


@dataclass(frozen=True)
class Place:
    """Where a pane is: its session, its id (%N) and its window's name."""

    session: str
    pane_id: str
    window: str


@dataclass(frozen=True)
class Server:
    """A tmux server as the gate sees it: its pid, its socket, its panes by the pid of each
    pane's process, its clients [(client pid, session)], its sessions' names, and whether
    tmux-agency started it (ours)."""

    pid: int
    socket: str
    panes: dict[int, list[Place]]
    clients: list[tuple[int, str]]
    sessions: set[str]
    ours: bool

    def hosts_agencies(self, agency_sessions: set[str]) -> bool:
        return self.ours or any(_is_agency(name, agency_sessions) for name in self.sessions)


class Unclear(Exception):
    """A tmux server above the caller did not answer: the gate cannot tell, so it refuses."""


def check(agency_sessions: set[str], pid: int | None = None) -> None:
    """Raise UsageError (one line) unless the process `pid` (default: this one) is a human's."""
    named = os.environ.get("TMUX_AGENCY_AGENCY") if pid is None else None
    if named:
        raise UsageError(
            f"approvals are for humans: this environment names agency {named}, and agents cannot approve or reject work"
        )
    try:
        why = refusal(ancestry(os.getpid() if pid is None else pid), _Facts(agency_sessions))
    except Unclear as exc:
        why = str(exc)
    if why:
        raise UsageError(f"approvals are for humans: {why}")


def refusal(chain: list[int], facts: _Facts, depth: int = 0) -> str | None:
    """Why the process whose ancestry is `chain` (itself first) is not taken for a human, or None."""
    for below, pid in zip([None, *chain], chain):
        server = facts.server(pid)
        if server is None or below is None:
            continue
        places = server.panes.get(below)
        if places:
            agency = next((p for p in places if _is_agency(p.session, facts.agency_sessions)), None)
            if agency is not None:
                return f"this process runs in pane {agency.pane_id} of agency session {agency.session!r} (window {agency.window})"
            if server.hosts_agencies(facts.agency_sessions):
                shown = {p.session for p in places}
                if not any(session in shown and facts.is_human(client, depth) for client, session in server.clients):
                    return (
                        f"this process runs in tmux session {places[0].session!r} on the agencies' tmux server "
                        f"(pid {pid}), and no human's terminal shows it"
                    )
        elif server.hosts_agencies(facts.agency_sessions):
            return (
                f"this process is an orphan adopted by the agencies' tmux server (pid {pid}), outside any pane: "
                "cut loose from a pane (a double fork, setsid, a tmux server started there) or a run-shell job"
            )
    return None


def _is_agency(session: str, agency_sessions: set[str]) -> bool:
    return session in agency_sessions or session.startswith("sandbox-")  # sandboxes run agents' code


class _Facts:
    """The tmux servers met on the way up, asked once each; the verdicts on clients, once each."""

    def __init__(self, agency_sessions: set[str]) -> None:
        self.agency_sessions = agency_sessions
        self._servers: dict[int, Server | None] = {}
        self._sockets: dict[int, str] | None = None  # listening unix socket inode → path
        self._humans: dict[int, bool] = {}

    def server(self, pid: int) -> Server | None:
        if pid not in self._servers:
            self._servers[pid] = self._ask(pid)
        return self._servers[pid]

    def is_human(self, client_pid: int, depth: int) -> bool:
        """Whether a client's process is a human's terminal: its own ancestry passes the gate."""
        if depth >= _MAX_DEPTH:
            return False
        if client_pid not in self._humans:
            self._humans[client_pid] = False  # while judged: a client inside its own session is not
            try:
                self._humans[client_pid] = refusal(ancestry(client_pid), self, depth + 1) is None
            except Unclear:
                pass
        return self._humans[client_pid]

    def _ask(self, pid: int) -> Server | None:
        """The tmux server that `pid` is, or None if it is no tmux server."""
        name = _name(pid)
        if name != "tmux" and not name.startswith("tmux: "):  # tmux names its server "tmux: server"
            return None
        paths = self._listening(pid)
        if not paths:
            return None  # a tmux client (or a process that calls itself tmux): it forks no panes
        for path in paths:
            server = _query(path)
            if server is not None and server.pid == pid:
                return server
        raise Unclear(
            f"the tmux server above this process (pid {pid}) does not answer, so the gate cannot tell who asks"
        )

    def _listening(self, pid: int) -> list[str]:
        inodes = []
        try:
            fds = list((_PROC / str(pid) / "fd").iterdir())
        except OSError:
            return []
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.append(int(target[8:-1]))
        if self._sockets is None:
            self._sockets = _unix_sockets()
        return [self._sockets[inode] for inode in inodes if inode in self._sockets]


def _query(path: str) -> Server | None:
    """Ask the tmux server on socket `path` for its pid, panes and clients: one tmux call."""
    survey = Tmux(socket_path=path).survey()
    if survey is None:
        return None
    panes: dict[int, list[Place]] = {}
    for pid, session, pane_id, window in survey.panes:
        panes.setdefault(pid, []).append(Place(session, pane_id, window))
    sessions = {session for _, session, _, _ in survey.panes}
    return Server(survey.pid, path, panes, survey.clients, sessions, survey.subreaper)


def _unix_sockets() -> dict[int, str]:
    """Listening unix sockets with a path, by inode (/proc/net/unix)."""
    found: dict[int, str] = {}
    try:
        lines = (_PROC / "net" / "unix").read_text(errors="replace").splitlines()[1:]
    except OSError:
        return found
    for line in lines:
        parts = line.split(None, 7)
        # Num RefCount Protocol Flags Type St Inode Path; flag 00010000 is __SO_ACCEPTCON: listening
        if len(parts) == 8 and int(parts[3], 16) & 0x10000 and parts[6].isdigit():
            found[int(parts[6])] = parts[7].strip()
    return found


def _name(pid: int) -> str:
    try:
        return (_PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return _ps_field(pid, "comm")


def ancestry(pid: int) -> list[int]:
    """`pid`, its parent, its parent's parent, ... up to pid 1 (or as far as can be seen)."""
    chain: list[int] = []
    while pid > 0 and pid not in chain:
        chain.append(pid)
        parent = _parent(pid)
        if parent is None:
            break
        pid = parent
    return chain


def _parent(pid: int) -> int | None:
    fields = stat_fields(pid)
    if fields is None:
        if _PROC.joinpath("self").is_dir():
            return None  # the process is gone
        value = _ps_field(pid, "ppid")
        return int(value) if value.isdigit() else None
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def _ps_field(pid: int, field: str) -> str:
    try:
        return subprocess.run(["ps", "-o", f"{field}=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def server_warning(tmux: Tmux, session: str) -> str | None:
    """A warning when the server that runs `session` was started by someone else than
    tmux-agency (the user's own, or one started before): orphans of its panes go to init, where
    the gate cannot follow them."""
    try:
        pid, marker = tmux.display(f"={session}:", f"#{{pid}}{_SEP}#{{{SUBREAPER_OPTION}}}").split(_SEP)
    except (AgencyError, ValueError):
        return None
    if pid and marker == pid:
        return None
    where = f"socket {tmux.socket_name!r}" if tmux.socket_name else "the default socket"
    return (
        f"warning: the tmux server on {where} was not started by tmux-agency, so the approval gate cannot follow "
        "a process an agent cuts loose from its pane (a double fork goes to init); give agencies a socket of their own (--socket)"
    )
