"""A snapshot of the machine's processes: which program runs under which tmux pane.

One `ps` call per refresh, however many agents: the pane's own process is its shell, and the
agent's program is somewhere below it.
"""

from __future__ import annotations

import subprocess
from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    args: str


class ProcessTable:
    def __init__(self, processes: list[Process]) -> None:
        self.by_pid = {p.pid: p for p in processes}
        self.children: dict[int, list[int]] = defaultdict(list)
        for p in processes:
            self.children[p.ppid].append(p.pid)

    @classmethod
    def snapshot(cls) -> ProcessTable:
        try:
            out = subprocess.run(
                ["ps", "-Ao", "pid=,ppid=,args="], capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return cls([])
        processes = []
        for line in out.splitlines():
            parts = line.split(None, 2)
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                processes.append(Process(int(parts[0]), int(parts[1]), parts[2] if len(parts) > 2 else ""))
        return cls(processes)

    def descendants(self, pid: int) -> list[Process]:
        """Every process below `pid` (not `pid` itself), nearest first."""
        found: list[Process] = []
        queue = list(self.children.get(pid, []))
        while queue:
            child = queue.pop(0)
            if child in self.by_pid:
                found.append(self.by_pid[child])
            queue.extend(self.children.get(child, []))
        return found
