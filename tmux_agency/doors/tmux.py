"""Our one door to tmux (the only module that imports libtmux).

Every call names its target by id (`%N` for panes) or by exact session name (`=NAME`): tmux
matches bare names by prefix and can silently pick another target. Text is always sent
literally, never as key names. tmux's failures become our own one-line exceptions.

Plain commands run the tmux binary directly, as libtmux itself does: agents call `send`
constantly and importing libtmux costs each call 55-80 ms (STACK-NOTES). libtmux's objects are
loaded on first use of `server`, by the faces that need them (the control room).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import namedtuple

from tmux_agency.models.errors import TmuxUnavailable, WorldError

SUBREAPER_OPTION = "@tmux-agency-subreaper"  # set by Tmux.ensure_server to the server's pid; read by the gate

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see registry.py)
if TYPE_CHECKING:
    import libtmux

# One format for the whole server: a single `list-panes -a` per refresh, never a call per agent.
_PANE_FIELDS = (
    "session_name",
    "window_index",
    "window_name",
    "pane_id",
    "pane_pid",
    "pane_current_command",
    "pane_dead",
)
_SEP = "\x1f"  # unit separator: cannot appear in names we allow, unlikely in commands
_PANE_FORMAT = _SEP.join(f"#{{{field}}}" for field in _PANE_FIELDS)

_SERVER_DOWN_HINTS = ("no server running", "error connecting to", "server exited unexpectedly")


class PaneInfo(namedtuple("PaneInfo", "session window_index window_name pane_id pane_pid current_command dead")):
    """One pane as `list-panes` reports it (session: str, window_index: int, window_name: str,
    pane_id: str, pane_pid: int, current_command: str, dead: bool)."""

    __slots__ = ()


# What a pane shows plus its scrollback size, cursor and whether it is dead: it changes whenever
# the program prints, even when the visible lines look the same. Two tmux commands, appended to
# others' calls. The last line ends in ",1" when the pane is dead (see pane_died).
_FINGERPRINT = ("capture-pane", "-p", "-t", "{pane}", ";", "display-message", "-p", "-t", "{pane}", "#{history_size},#{cursor_x},#{cursor_y},#{pane_dead}")


def pane_died(fingerprint: str) -> bool:
    """Whether a fingerprint was taken of a dead pane (its program had exited)."""
    return fingerprint.endswith(",1")


def _fingerprint_args(pane_id: str) -> list[str]:
    return [pane_id if arg == "{pane}" else arg for arg in _FINGERPRINT]


class Tmux:
    """A tmux server, chosen by socket name (`tmux -L NAME`); None is the user's default server."""

    def __init__(self, socket_name: str | None = None) -> None:
        self.socket_name = socket_name or None
        self._server: libtmux.Server | None = None

    @property
    def server(self) -> libtmux.Server:
        """The libtmux Server for this socket, imported on first use."""
        if self._server is None:
            import libtmux

            self._server = libtmux.Server(socket_name=self.socket_name)
        return self._server

    def _cmd(self, *args: str, ok_if_down: bool = False, stdin: str | None = None) -> list[str]:
        """Run one tmux command (or several joined by ';'); return its stdout lines or raise a
        one-line error."""
        argv = ["tmux", *(["-L", self.socket_name] if self.socket_name else []), *args]
        try:
            result = subprocess.run(
                argv, input=stdin, capture_output=True, text=True, encoding="utf-8", errors="backslashreplace"
            )
        except FileNotFoundError:
            raise TmuxUnavailable("tmux is not installed (install it, e.g. 'apt-get install tmux')") from None
        stdout = result.stdout.split("\n")
        while stdout and stdout[-1] == "":
            stdout.pop()
        stderr = result.stderr.strip()
        if result.returncode != 0:
            message = " ".join(stderr.split("\n")) or f"tmux {args[0]} failed"
            if any(hint in message for hint in _SERVER_DOWN_HINTS):
                if ok_if_down:
                    return []
                raise TmuxUnavailable(f"the tmux server{self._socket_label()} is not running")
            raise WorldError(f"tmux {args[0]}: {message}")
        return stdout

    def _socket_label(self) -> str:
        return f" on socket {self.socket_name!r}" if self.socket_name else ""

    # --- server and sessions ----------------------------------------------------------------

    def check_installed(self) -> None:
        """Raise TmuxUnavailable when the tmux binary is missing."""
        self._cmd("-V")

    def is_running(self) -> bool:
        """True when the server answers (it may have no sessions)."""
        try:
            self._cmd("list-sessions", "-F", "#{session_name}")
            return True
        except TmuxUnavailable as exc:
            if "not installed" in str(exc):
                raise
            return False

    def sessions(self) -> list[str]:
        """Names of all sessions; empty when the server is down."""
        return self._cmd("list-sessions", "-F", "#{session_name}", ok_if_down=True)

    def has_session(self, name: str) -> bool:
        return name in self.sessions()

    def ensure_server(self) -> bool:
        """Start this socket's server if none answers, as a *child subreaper* (prctl
        PR_SET_CHILD_SUBREAPER; see gate.py): a process an agent cuts loose from its pane — a
        double fork, setsid, a tmux server started there — is then reparented to this server, not
        to init, and the approval gate still sees where it came from. The attribute survives
        execve; tmux reaps any child it is given (waitpid(WAIT_ANY)). `tmux -D` runs the server
        without daemonizing (which would fork it away from the attribute) and with exit-empty
        off. Return whether this call started it; a server already running (the user's own, or
        one started before) is left as it is. SUBREAPER_OPTION records the server's pid, so
        `create` can warn about a server that is not one."""
        if self.is_running():
            return False
        argv = [sys.executable, "-c", _SUBREAPER_LAUNCHER, *(["-L", self.socket_name] if self.socket_name else [])]
        try:  # the launcher returns at once: the server is nobody's child here, so never a zombie of ours
            said = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return False
        if not said.isdigit():
            return False  # no prctl on this system: new-session starts a plain server
        deadline = time.monotonic() + 5
        while not self.is_running():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        if self._cmd("display-message", "-p", "#{pid}") != [said]:
            return False  # another process started the server meanwhile, and ours gave way
        self._cmd("set-option", "-g", SUBREAPER_OPTION, said)
        return True

    def new_session(self, name: str, window_name: str, cwd: str, env: dict[str, str], command: list[str] | None = None) -> str:
        """Start session `name` (starting the server if needed); return the first pane's id.
        With `command` (an argv, run directly, no shell between) the pane runs it instead of a
        shell."""
        self.ensure_server()
        out = self._cmd(
            "new-session", "-d", "-s", name, "-n", window_name, "-c", cwd,
            *_env_args(env), "-P", "-F", "#{pane_id}", *_command_args(command),
        )  # fmt: skip
        return out[0]

    def new_window(self, session: str, window_name: str, cwd: str, env: dict[str, str], command: list[str] | None = None) -> str:
        """Append a window to `session`; return its pane's id. `command` as for new_session."""
        out = self._cmd(
            "new-window", "-d", "-t", f"={session}:", "-n", window_name, "-c", cwd,
            *_env_args(env), "-P", "-F", "#{pane_id}", *_command_args(command),
        )  # fmt: skip
        return out[0]

    def respawn_pane(self, pane_id: str, cwd: str, env: dict[str, str], command: list[str]) -> None:
        """Run `command` in the pane again, ending whatever runs there (its agent is down)."""
        self._cmd("respawn-pane", "-k", "-t", pane_id, "-c", cwd, *_env_args(env), *_command_args(command))

    def kill_server(self) -> None:
        """Stop the whole server (the demo's own, when it is done); nothing if it is not running."""
        self._cmd("kill-server", ok_if_down=True)

    def kill_session(self, name: str) -> None:
        self._cmd("kill-session", "-t", f"={name}")

    # --- panes ------------------------------------------------------------------------------

    def list_panes(self, strict: bool = False) -> list[PaneInfo]:
        """Every pane on the server in one call; empty when the server is down (unless `strict`:
        then TmuxUnavailable says so)."""
        panes = []
        for line in self._cmd("list-panes", "-a", "-F", _PANE_FORMAT, ok_if_down=not strict):
            parts = line.split(_SEP)
            if len(parts) != len(_PANE_FIELDS):
                continue
            session, index, window, pane_id, pid, command, dead = parts
            panes.append(
                PaneInfo(
                    session=session,
                    window_index=int(index),
                    window_name=window,
                    pane_id=pane_id,
                    pane_pid=int(pid or 0),
                    current_command=command,
                    dead=dead == "1",
                )
            )
        return panes

    def pane_process(self, pane_id: str) -> tuple[int, bool, str] | None:
        """(the pane's process id, whether it is dead, its session), or None when there is no such
        pane. Pane ids are reused after a server restart: callers check the session too."""
        try:
            out = self._cmd("display-message", "-p", "-t", pane_id, f"#{{pane_pid}}{_SEP}#{{pane_dead}}{_SEP}#{{session_name}}")
        except WorldError:
            return None
        parts = out[0].split(_SEP) if out else []
        if len(parts) != 3 or not parts[0].isdigit():
            return None
        return int(parts[0]), parts[1] == "1", parts[2]

    def capture(self, pane_id: str, history: int = 0) -> str:
        """The visible text of a pane (plus `history` lines of scrollback), without colours."""
        args = ["capture-pane", "-p", "-J", "-t", pane_id]
        if history:
            args += ["-S", f"-{history}"]
        return "\n".join(self._cmd(*args))

    def capture_many(self, pane_ids: list[str], chunk: int = 100) -> dict[str, str]:
        """The visible text of each pane, as `capture` gives it, in one tmux call per `chunk`
        panes: a refresh of the control room captures every agent on screen, and a process per
        agent would cost ~4 ms each. A pane that is gone is left out."""
        screens: dict[str, str] = {}
        for start in range(0, len(pane_ids), chunk):
            screens.update(self._capture_chunk(pane_ids[start : start + chunk]))
        return screens

    def _capture_chunk(self, pane_ids: list[str]) -> dict[str, str]:
        # Each capture is followed by a line no pane can know in advance, so the output splits
        # back into screens however the panes' text looks.
        marker = f"tmux-agency:end-of-pane:{os.urandom(8).hex()}"  # no leading "-": not a flag
        args: list[str] = []
        for pane_id in pane_ids:
            args += ["capture-pane", "-p", "-J", "-t", pane_id, ";", "display-message", "-p", marker, ";"]
        try:
            lines = self._cmd(*args[:-1])
        except TmuxUnavailable:
            raise
        except WorldError:  # a pane went away since it was listed: tmux stops at the first error
            screens = {}
            for pane_id in pane_ids:
                try:
                    screens[pane_id] = self.capture(pane_id)
                except TmuxUnavailable:
                    raise
                except WorldError:
                    continue
            return screens
        screens, current = {}, []
        remaining = iter(pane_ids)
        for line in lines:
            if line != marker:
                current.append(line)
                continue
            while current and current[-1] == "":
                current.pop()  # as `capture` trims them
            screens[next(remaining)] = "\n".join(current)
            current = []
        return screens

    def fingerprint(self, pane_id: str) -> str:
        """A pane's fingerprint (see _FINGERPRINT), in one tmux call."""
        return "\n".join(self._cmd(*_fingerprint_args(pane_id)))

    def pane_process_and_fingerprint(self, pane_id: str) -> tuple[tuple[int, bool, str] | None, str]:
        """pane_process() and fingerprint() in one tmux call (delivery needs both, every time)."""
        try:
            out = self._cmd(
                "display-message", "-p", "-t", pane_id, f"#{{pane_pid}}{_SEP}#{{pane_dead}}{_SEP}#{{session_name}}", ";",
                *_fingerprint_args(pane_id),
            )  # fmt: skip
        except WorldError:
            return None, ""
        parts = out[0].split(_SEP) if out else []
        if len(parts) != 3 or not parts[0].isdigit():
            return None, ""
        return (int(parts[0]), parts[1] == "1", parts[2]), "\n".join(out[1:])

    def run_in_shell(self, pane_id: str, command_line: str) -> None:
        """Type a command line of our own making into a shell pane and press Enter (the
        sandbox's windows). Never used for message text: that only goes to agents, through
        paste_if_alive."""
        self._cmd("send-keys", "-t", pane_id, "-l", "--", command_line, ";", "send-keys", "-t", pane_id, "Enter")

    # --- typing into panes, only while the pane still runs the process judged --------------
    # Each of these runs its commands inside one `if-shell -F` on the tmux server: the pane still
    # has process `pid` and is not dead, checked at the moment of typing. Checking in one tmux
    # call and typing in the next would leave a gap in which the agent could die; tmux runs one
    # command at a time, so there is none here. They return None when the check failed (nothing
    # was typed), else the pane's fingerprint taken right after.

    def paste_if_alive(
        self, pane_id: str, pid: int, text: str, bracketed: bool = True, submit: tuple[str, ...] = ()
    ) -> str | None:
        """Paste `text` (bracketed if the program asked for it, else as if typed), then press the
        `submit` keys (tmux key names), if the pane still runs `pid`.

        The text goes through stdin rather than argv (one argument is capped at 128 KiB on Linux)
        or a file (it may hold secrets), into a uniquely named buffer that the paste deletes.
        """
        buffer = f"tmux-agency-{os.urandom(6).hex()}"
        paste = f"paste-buffer {'-p ' if bracketed else ''}-d -b {buffer} -t {pane_id}"
        if submit:
            paste += f" ; send-keys -t {pane_id} {' '.join(submit)}"
        guarded, marker = _if_alive(pane_id, pid, paste, otherwise=f"delete-buffer -b {buffer}")
        return _unless_refused(self._cmd("load-buffer", "-b", buffer, "-", ";", *guarded, stdin=text), marker)

    def press_if_alive(self, pane_id: str, pid: int, keys: tuple[str, ...] = ("Enter",)) -> str | None:
        """Press `keys` (tmux key names: Enter, or the program's other submit keys) if the pane
        still runs `pid`."""
        guarded, marker = _if_alive(pane_id, pid, f"send-keys -t {pane_id} {' '.join(keys)}")
        return _unless_refused(self._cmd(*guarded), marker)

    def focus_pane(self, pane_id: str) -> str:
        """Make the pane its session's current window and pane; return the session's name."""
        session = self.display(pane_id, "#{session_name}")
        self._cmd("select-window", "-t", pane_id, ";", "select-pane", "-t", pane_id)
        return session

    def is_current_server(self) -> bool:
        """Whether we run inside a tmux client of this very server (then switch-client works)."""
        current = os.environ.get("TMUX", "").split(",")[0]
        if not current:
            return False
        if self.socket_name is None:
            return True  # inside tmux, a plain `tmux` command talks to the current server
        return os.path.basename(current) == self.socket_name

    def switch_client(self, pane_id: str) -> None:
        self._cmd("switch-client", "-t", pane_id)

    def clients(self) -> list[tuple[str, str]]:
        """(name, tty) of every client attached to the server: the people watching."""
        out = self._cmd("list-clients", "-F", f"#{{client_name}}{_SEP}#{{client_tty}}", ok_if_down=True)
        return [tuple(line.split(_SEP, 1)) for line in out if _SEP in line]  # type: ignore[misc]

    def display_on(self, client: str, text: str) -> None:
        """Show `text` in a client's status line ('#' doubled: tmux reads the text as a format)."""
        self._cmd("display-message", "-c", client, text.replace("#", "##"))

    def display(self, target: str, fmt: str) -> str:
        out = self._cmd("display-message", "-p", "-t", target, fmt)
        return out[0] if out else ""


def _if_alive(pane_id: str, pid: int, commands: str, otherwise: str = "") -> tuple[list[str], str]:
    """`commands` (one tmux command string, parts joined by ' ; ') wrapped so that they run only
    while pane `pane_id` runs process `pid` and is not dead, followed by the pane's fingerprint;
    otherwise `otherwise` runs and a marker line no pane can know in advance is printed first.
    Return (the arguments, the marker). Pane ids, pids, buffer and key names are plain words:
    nothing to quote."""
    if not str(pid).isdigit() or not pane_id.startswith("%") or not pane_id[1:].isdigit():
        raise WorldError(f"internal error: not a pane id and pid: {pane_id!r} {pid!r}")
    marker = f"tmux-agency:pane-changed:{os.urandom(8).hex()}"  # no leading "-": not a flag
    condition = f"#{{&&:#{{==:#{{pane_pid}},{pid}}},#{{!=:#{{pane_dead}},1}}}}"
    refused = " ; ".join(part for part in (otherwise, f"display-message -p {marker}") if part)
    args = ["if-shell", "-F", "-t", pane_id, condition, commands, refused, ";", *_fingerprint_args(pane_id)]
    return args, marker


def _unless_refused(out: list[str], marker: str) -> str | None:
    if out and out[0] == marker:
        return None
    return "\n".join(out)


def _command_args(command: list[str] | None) -> list[str]:
    # tmux runs a command given as several arguments directly (execvp), with no shell to parse
    # it; one argument alone would go through `default-shell -c`.
    if not command:
        return []
    return ["--", *(command if len(command) > 1 else ["/usr/bin/env", *command])]


# Starts `tmux -D [-L NAME]` as a child subreaper (Tmux.ensure_server), forked away from its
# caller (which gets the server's pid on stdout, once the attribute is set) into a session of its
# own: the caller's Ctrl-C and hang-up are not the server's.
_SUBREAPER_LAUNCHER = """
import ctypes, os, sys
r, w = os.pipe()
child = os.fork()
if child:
    os.close(w)
    ok = os.read(r, 1) == b"1"
    print(child if ok else "no")
    sys.exit(0)
os.close(r)
os.setsid()
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
ok = ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
os.write(w, b"1" if ok else b"0")
if not ok:
    os._exit(3)
os.execvp("tmux", ["tmux", "-D", *sys.argv[1:]])
"""


def _env_args(env: dict[str, str]) -> list[str]:
    args: list[str] = []
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    return args
