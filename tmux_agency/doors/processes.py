"""Which program runs in a tmux pane: an agent's program is the pane's own process (or, in a
pane started before that was so, somewhere below its shell).

On Linux the tree is read from /proc (a few small files per pane, no process spawned); elsewhere
one `ps` call serves every pane of a refresh.
"""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

_PROC = Path("/proc")


class Process:
    """One process: pid, ppid, args (its command line), state (the kernel's one-letter run
    state: R, S, D, T for stopped, Z for a zombie, ...). A `__slots__` class, not a dataclass:
    `send` reads processes, and it does not import dataclasses (docs/architecture.md)."""

    __slots__ = ("pid", "ppid", "args", "state")

    def __init__(self, pid: int, ppid: int, args: str, state: str = "R") -> None:
        self.pid, self.ppid, self.args, self.state = pid, ppid, args, state

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Process) and (self.pid, self.ppid, self.args, self.state) == (
            other.pid,
            other.ppid,
            other.args,
            other.state,
        )

    def __hash__(self) -> int:
        return hash((self.pid, self.ppid, self.args, self.state))

    def __repr__(self) -> str:
        return f"Process(pid={self.pid}, ppid={self.ppid}, args={self.args!r}, state={self.state!r})"

    @property
    def alive(self) -> bool:
        """Able to read its input: not stopped (^Z, SIGSTOP), traced, a zombie or dead."""
        return self.state not in ("T", "t", "Z", "X", "x")


class ProcessTable:
    """The processes below given pids, looked up lazily."""

    def __init__(self, processes: list[Process] | None = None) -> None:
        self._from_ps = processes is not None
        self.by_pid = {p.pid: p for p in processes or []}
        self.children: dict[int, list[int]] = defaultdict(list)
        for p in processes or []:
            self.children[p.ppid].append(p.pid)

    @classmethod
    def snapshot(cls) -> ProcessTable:
        """A table for this moment: /proc where it can list children, else one `ps` call."""
        if (_PROC / "self" / "task").is_dir() and _children_file(1).exists():
            return cls(None)
        return cls(_ps())

    def process(self, pid: int) -> Process | None:
        """Process `pid` itself (None if it is gone)."""
        if self._from_ps:
            return self.by_pid.get(pid)
        args = _proc_args(pid)
        return None if args is None else Process(pid, 0, args, _proc_state(pid))

    def tree(self, pid: int) -> list[Process]:
        """Process `pid` and every process below it."""
        own = self.process(pid)
        return ([own] if own else []) + self.descendants(pid)

    def descendants(self, pid: int) -> list[Process]:
        """Every process below `pid` (not `pid` itself), nearest first."""
        if self._from_ps:
            return self._descendants_from_ps(pid)
        found: list[Process] = []
        queue = _proc_children(pid)
        while queue:
            child = queue.pop(0)
            args = _proc_args(child)
            if args is None:
                continue  # it exited while we looked
            found.append(Process(child, pid, args, _proc_state(child)))
            queue.extend(_proc_children(child))
        return found

    def _descendants_from_ps(self, pid: int) -> list[Process]:
        found: list[Process] = []
        queue = list(self.children.get(pid, []))
        while queue:
            child = queue.pop(0)
            if child in self.by_pid:
                found.append(self.by_pid[child])
            queue.extend(self.children.get(child, []))
        return found


def _children_file(pid: int) -> Path:
    return _PROC / str(pid) / "task" / str(pid) / "children"


def _proc_children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return children
    for task in tasks:  # children are listed per thread
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return children


def _proc_args(pid: int) -> str | None:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", errors="replace")


def stat_fields(pid: int) -> list[bytes] | None:
    """/proc/PID/stat's fields after "PID (COMM)" — the state first — or None if it is gone.
    COMM may hold spaces and parentheses, so the split starts after the last ')'."""
    try:
        stat = (_PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2 :].split()


def start_time(pid: int) -> str | None:
    """When the process started (clock ticks since boot, from /proc/PID/stat), or None if it
    is gone: with the pid, it names one process even after the pid is reused."""
    fields = stat_fields(pid)
    return fields[19].decode() if fields is not None and len(fields) > 19 else None


def end_processes(processes: list[tuple[int, str | None]], grace_s: float = 1.0) -> list[int]:
    """End each (pid, start time) still running as itself: SIGTERM, then after `grace_s` SIGKILL.
    Return the pids that had to be signalled. A pid now used by another process is left alone."""
    import os
    import signal
    import time

    def alive() -> list[int]:
        return [
            pid
            for pid, started in processes
            if started is not None and start_time(pid) == started and _proc_state(pid) not in "ZX"
        ]

    signalled = []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        remaining = alive()
        if not remaining:
            break
        for pid in remaining:
            try:
                os.kill(pid, sig)
                signalled.append(pid)
            except OSError:
                pass
        deadline = time.monotonic() + grace_s
        while alive() and time.monotonic() < deadline:
            time.sleep(0.05)
    return sorted(set(signalled))


def _all_pids() -> list[int]:
    try:
        return [int(entry.name) for entry in _PROC.iterdir() if entry.name.isdigit()]
    except OSError:
        return []


def _environment(pid: int) -> dict[bytes, bytes]:
    try:
        raw = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:  # gone, or another user's
        return {}
    return dict(item.partition(b"=")[::2] for item in raw.split(b"\0") if item)


def marked_with(marks: dict[str, str | None]) -> list[int]:
    """The processes whose environment holds every KEY=VALUE of `marks` (a None value: KEY is
    absent). A background server an agent's program starts (Codex's `codex app-server`) leaves
    the pane's process tree, but keeps the environment the pane gave it. Linux only: [] elsewhere."""
    wanted = {key.encode(): None if value is None else value.encode() for key, value in marks.items()}
    found = []
    for pid in _all_pids():
        env = _environment(pid)
        if env and all(env.get(key) == value for key, value in wanted.items()):
            found.append(pid)
    return found


def executable_name(pid: int) -> str | None:
    """The last part of the path the process was started as ("codex" for .../bin/codex)."""
    args = _proc_args(pid)
    return args.split(" ", 1)[0].rsplit("/", 1)[-1] if args else None


# Where programs keep the state their instances share (a user's Codex sessions share one
# app-server through $CODEX_HOME, by default under $HOME).
_SHARED_STATE_VARS = (b"HOME", b"CODEX_HOME", b"XDG_CONFIG_HOME", b"XDG_RUNTIME_DIR")


def others_sharing(pid: int, besides: set[int]) -> list[int]:
    """Running processes started under the same name as `pid` (see executable_name) and with the
    same HOME (and CODEX_HOME, XDG_CONFIG_HOME, XDG_RUNTIME_DIR), other than `besides`: the
    programs a background server started by `pid`'s kind may be serving."""
    name = executable_name(pid)
    if name is None:
        return []
    shared = {key: _environment(pid).get(key) for key in _SHARED_STATE_VARS}
    found = []
    for other in _all_pids():
        if other in besides or other == pid or executable_name(other) != name or _proc_state(other) in "ZX":
            continue
        env = _environment(other)
        if all(env.get(key) == value for key, value in shared.items()):
            found.append(other)
    return found


def _proc_state(pid: int) -> str:
    """The run state letter from /proc/PID/stat ("X" when the process is gone)."""
    fields = stat_fields(pid)
    return fields[0][:1].decode("ascii", errors="replace") if fields else "X"


def _ps() -> list[Process]:
    try:
        out = subprocess.run(["ps", "-Ao", "pid=,ppid=,stat=,args="], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    processes = []
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) >= 3 and parts[0].isdigit() and parts[1].isdigit():
            args = parts[3] if len(parts) > 3 else ""
            processes.append(Process(int(parts[0]), int(parts[1]), args, parts[2][:1]))
    return processes
