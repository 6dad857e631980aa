"""Our one door to tmux (the only module that imports libtmux).

Every call names its target by id (`%N` for panes) or by exact session name (`=NAME`): tmux
matches bare names by prefix and can silently pick another target. Text is always sent
literally, never as key names. tmux's failures become our own one-line exceptions
(TmuxUnavailable, WorldError), whichever way the command went.

Two ways through the door:

- **libtmux**, its typed Server, Pane and Client objects, for what happens now and then:
  starting the server, creating and killing sessions and windows, restarting a pane, the sandbox's
  command lines, the jump to a pane (select, switch-client, attach), the status-line notices.
  libtmux is imported by those methods only, on first use.
- **The lean path**: `_run` is the one place that runs the tmux binary itself, for what runs
  all the time, where `import libtmux` (73-95 ms by `python -X importtime`; ~45 ms after
  Textual's) would cost more than the work: what `tmux-agency send` does on every delivery
  (a send: 50 ms, 117 ms with libtmux imported); the control room's refresh, which its first
  frame waits for (0.36 s; 0.41-0.45 s through libtmux); and the approval gate's query, which
  needs a timeout libtmux has no way to give. docs/architecture.md has the measurements.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading  # already loaded by subprocess: free
import time

from tmux_agency.models.errors import AgencyError, TmuxUnavailable, WorldError

SUBREAPER_OPTION = "@tmux-agency-subreaper"  # set by Tmux.ensure_server to the server's pid; read by the gate

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see registry.py)
if TYPE_CHECKING:
    from types import ModuleType, TracebackType

    import libtmux
    from libtmux.common import tmux_cmd

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
_NOT_INSTALLED = "tmux is not installed (install it, e.g. 'apt-get install tmux')"


class PaneInfo:
    """One pane as `list-panes` reports it. A `__slots__` class like the send path's other value
    objects (this module is on it, and it does not import dataclasses: docs/architecture.md)."""

    __slots__ = ("session", "window_index", "window_name", "pane_id", "pane_pid", "current_command", "dead")

    def __init__(
        self,
        session: str,
        window_index: int,
        window_name: str,
        pane_id: str,
        pane_pid: int,
        current_command: str,
        dead: bool,
    ) -> None:
        self.session, self.window_index, self.window_name, self.pane_id = session, window_index, window_name, pane_id
        self.pane_pid, self.current_command, self.dead = pane_pid, current_command, dead

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PaneInfo) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return "PaneInfo(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__) + ")"


class Survey:
    """A server as the approval gate sees it (Tmux.survey): its pid, whether it is our subreaper,
    its clients [(client pid, session)] and its panes [(pane pid, session, pane id, window name)]."""

    __slots__ = ("pid", "subreaper", "clients", "panes")

    def __init__(
        self, pid: int, subreaper: bool, clients: list[tuple[int, str]], panes: list[tuple[int, str, str, str]]
    ) -> None:
        self.pid, self.subreaper, self.clients, self.panes = pid, subreaper, clients, panes


# What a pane shows plus its scrollback size, cursor and whether it is dead: it changes whenever
# the program prints, even when the visible lines look the same. Two tmux commands, appended to
# others' calls. The last line ends in ",1" when the pane is dead (see pane_died).
_FINGERPRINT = (
    "capture-pane",
    "-p",
    "-t",
    "{pane}",
    ";",
    "display-message",
    "-p",
    "-t",
    "{pane}",
    "#{history_size},#{cursor_x},#{cursor_y},#{pane_dead}",
)


def pane_died(fingerprint: str) -> bool:
    """Whether a fingerprint was taken of a dead pane (its program had exited)."""
    return fingerprint.endswith(",1")


def _fingerprint_args(pane_id: str) -> list[str]:
    return [pane_id if arg == "{pane}" else arg for arg in _FINGERPRINT]


class Tmux:
    """A tmux server, chosen by socket name (`tmux -L NAME`) or path (`-S PATH`); neither is the
    user's default server."""

    def __init__(self, socket_name: str | None = None, socket_path: str | None = None) -> None:
        self.socket_name = socket_name or None
        self.socket_path = socket_path or None
        self._libtmux: libtmux.Server | None = None

    def _socket_args(self) -> list[str]:
        if self.socket_path:
            return ["-S", self.socket_path]
        return ["-L", self.socket_name] if self.socket_name else []

    def _socket_label(self) -> str:
        if self.socket_path:
            return f" on socket {self.socket_path!r}"
        return f" on socket {self.socket_name!r}" if self.socket_name else ""

    def _failure(self, subcommand: str | None, message: str) -> AgencyError:
        """tmux's complaint as our one-line exception: the server not running, or anything else."""
        message = " ".join(message.split("\n")) or f"tmux {subcommand} failed"
        if any(hint in message for hint in _SERVER_DOWN_HINTS):
            return TmuxUnavailable(f"the tmux server{self._socket_label()} is not running")
        return WorldError(f"tmux {subcommand}: {message}" if subcommand else f"tmux: {message}")

    # --- the lean path: the tmux binary itself ------------------------------------------------
    # For what runs all the time, where importing libtmux would cost more than the call: see the
    # module's docstring. Nothing else runs the tmux binary (but the launcher that becomes the
    # server, below).

    def _run(self, *args: str, stdin: str | None = None, timeout: float | None = None) -> tuple[int, list[str], str]:
        """Run one tmux command (or several joined by ';'): (exit status, stdout lines, stderr)."""
        argv = ["tmux", *self._socket_args(), *args]
        try:
            result = subprocess.run(
                argv,
                input=stdin,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="backslashreplace",
                timeout=timeout,
            )
        except FileNotFoundError:
            raise TmuxUnavailable(_NOT_INSTALLED) from None
        stdout = result.stdout.split("\n")
        while stdout and stdout[-1] == "":
            stdout.pop()
        return result.returncode, stdout, result.stderr.strip()

    def _cmd(self, *args: str, ok_if_down: bool = False, stdin: str | None = None) -> list[str]:
        """Run one tmux command (or several joined by ';'); return its stdout lines or raise a
        one-line error (with `ok_if_down`, a server that is not running answers nothing)."""
        status, stdout, stderr = self._run(*args, stdin=stdin)
        if status != 0:
            failure = self._failure(args[0], stderr)
            if ok_if_down and isinstance(failure, TmuxUnavailable):
                return []
            raise failure
        return stdout

    # The agents' hot path: what `tmux-agency send` runs on every delivery. Importing libtmux
    # would make each send 2.4 times as slow: 117 ms instead of 50 (median of 25, this machine).

    def capture(self, pane_id: str, history: int = 0) -> str:
        """The visible text of a pane (plus `history` lines of scrollback), without colours."""
        args = ["capture-pane", "-p", "-J", "-t", pane_id]
        if history:
            args += ["-S", f"-{history}"]
        return "\n".join(self._cmd(*args))

    def fingerprint(self, pane_id: str) -> str:
        """A pane's fingerprint (see _FINGERPRINT), in one tmux call."""
        return "\n".join(self._cmd(*_fingerprint_args(pane_id)))

    def pane_process_and_fingerprint(self, pane_id: str) -> tuple[tuple[int, bool, str] | None, str]:
        """The pane's (process id, whether it is dead, session) — None when there is no such pane
        — and its fingerprint, in one tmux call (delivery needs both, every time)."""
        try:
            out = self._cmd(
                "display-message",
                "-p",
                "-t",
                pane_id,
                f"#{{pane_pid}}{_SEP}#{{pane_dead}}{_SEP}#{{session_name}}",
                ";",
                *_fingerprint_args(pane_id),
            )
        except WorldError:
            return None, ""
        parts = out[0].split(_SEP) if out else []
        if len(parts) != 3 or not parts[0].isdigit():
            return None, ""
        return (int(parts[0]), parts[1] == "1", parts[2]), "\n".join(out[1:])

    # Typing into panes, only while the pane still runs the process judged: each of these runs
    # its commands inside one `if-shell -F` on the tmux server: the pane still has process `pid`
    # and is not dead, checked at the moment of typing. Checking in one tmux call and typing in
    # the next would leave a gap in which the agent could die; tmux runs one command at a time,
    # so there is none here. They return None when the check failed (nothing was typed), else
    # the pane's fingerprint taken right after.

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

    # The control room's refresh, every 2 s and for its first frame: one listing of every pane,
    # one capture call for the agents on screen, the preview's capture. Through libtmux its first
    # frame took 14-25% longer (the import, and libtmux's listing of every field of every pane);
    # put off until after that frame, the agencies showed up 0.1-0.5 s later (docs/architecture.md).

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

    def survey(self, timeout: float = 5) -> Survey | None:
        """The server's pid, clients and panes, in one tmux call, for the approval gate (with a
        Tmux made by socket path); None when nothing answers within `timeout` seconds. Lean
        because of that timeout: the gate asks whatever listens on a socket, and libtmux would
        wait for an answer forever."""
        try:
            _, out, _ = self._run(
                "display-message",
                "-p",
                f"S{_SEP}#{{pid}}{_SEP}#{{{SUBREAPER_OPTION}}}",
                ";",
                "list-clients",
                "-F",
                f"C{_SEP}#{{client_pid}}{_SEP}#{{session_name}}",
                ";",
                "list-panes",
                "-a",
                "-F",
                f"P{_SEP}#{{pane_pid}}{_SEP}#{{session_name}}{_SEP}#{{pane_id}}{_SEP}#{{window_name}}",
                timeout=timeout,
            )
        except (AgencyError, OSError, subprocess.TimeoutExpired):
            return None
        pid, ours = None, False
        clients: list[tuple[int, str]] = []
        panes: list[tuple[int, str, str, str]] = []
        # With no session, list-clients fails ("no current target") and list-panes does not run:
        # what was printed before still holds.
        for line in out:
            parts = line.split(_SEP)
            if parts[0] == "S" and len(parts) == 3 and parts[1].isdigit():
                pid, ours = int(parts[1]), parts[2] == parts[1]
            elif parts[0] == "C" and len(parts) == 3 and parts[1].isdigit():
                clients.append((int(parts[1]), parts[2]))
            elif parts[0] == "P" and len(parts) == 5 and parts[1].isdigit():
                panes.append((int(parts[1]), parts[2], parts[3], parts[4]))
        return None if pid is None else Survey(pid, ours, clients, panes)

    # --- through libtmux ----------------------------------------------------------------------

    def _server(self) -> libtmux.Server:
        """libtmux's Server for this socket."""
        if self._libtmux is None:
            self._libtmux = _import_libtmux().Server(socket_name=self.socket_name, socket_path=self.socket_path)
        return self._libtmux

    def _pane(self, pane_id: str) -> libtmux.Pane:
        """libtmux's Pane for an id, without asking tmux (its commands target `-t %N`)."""
        return _import_libtmux().Pane(server=self._server(), pane_id=pane_id)

    def _errors(self, quiet_if_down: bool = False) -> _LibtmuxErrors:
        """A block whose libtmux exceptions become ours (see _LibtmuxErrors)."""
        return _QuietIfDown(self) if quiet_if_down else _LibtmuxErrors(self)

    def _checked(self, proc: tmux_cmd, subcommand: str) -> list[str]:
        """The stdout lines of a command libtmux ran (its `cmd`), or our one-line exception."""
        if proc.returncode != 0:
            raise self._failure(subcommand, "\n".join(proc.stderr))
        return proc.stdout

    # --- server and sessions ----------------------------------------------------------------

    def check_installed(self) -> None:
        """Raise TmuxUnavailable when the tmux binary is missing."""
        _import_libtmux()
        from libtmux.common import get_version

        with self._errors():
            get_version()  # `tmux -V`, once per process: libtmux keeps the answer

    def sessions(self) -> list[str]:
        """Names of all sessions; empty when the server is down."""
        self.check_installed()
        with self._errors():
            return [session.session_name or "" for session in self._server().sessions]

    def has_session(self, name: str) -> bool:
        return name in self.sessions()

    def _alive(self) -> bool:
        self.check_installed()
        return self._server().is_alive()

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
        if self._alive():
            return False
        argv = [sys.executable, "-c", _SUBREAPER_LAUNCHER, *self._socket_args()]
        try:  # the launcher returns at once: the server is nobody's child here, so never a zombie of ours
            said = subprocess.run(
                argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return False
        if not said.isdigit():
            return False  # no prctl on this system: new-session starts a plain server
        deadline = time.monotonic() + 5
        while not self._alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        server = self._server()
        with self._errors():
            if self._checked(server.cmd("display-message", "-p", "#{pid}"), "display-message") != [said]:
                return False  # another process started the server meanwhile, and ours gave way
            server.set_option(SUBREAPER_OPTION, said, global_=True, scope=None)  # set-option -g
        return True

    # tmux runs a command given as several arguments directly (execvp), with no shell between;
    # libtmux's new_session, new_window and respawn take one string for a shell, so these three
    # pass our arguments through libtmux's `cmd`.

    def new_session(
        self, name: str, window_name: str, cwd: str, env: dict[str, str], command: list[str] | None = None
    ) -> str:
        """Start session `name` (starting the server if needed); return the first pane's id.
        With `command` (an argv, run directly, no shell between) the pane runs it instead of a
        shell."""
        self.ensure_server()
        with self._errors():
            proc = self._server().cmd(
                "new-session",
                "-d",
                "-s",
                name,
                "-n",
                window_name,
                "-c",
                cwd,
                *_env_args(env),
                "-P",
                "-F",
                "#{pane_id}",
                *_command_args(command),
            )
            return self._checked(proc, "new-session")[0]

    def new_window(
        self, session: str, window_name: str, cwd: str, env: dict[str, str], command: list[str] | None = None
    ) -> str:
        """Append a window to `session`; return its pane's id. `command` as for new_session."""
        with self._errors():
            proc = self._server().cmd(
                "new-window",
                "-d",
                "-t",
                f"={session}:",
                "-n",
                window_name,
                "-c",
                cwd,
                *_env_args(env),
                "-P",
                "-F",
                "#{pane_id}",
                *_command_args(command),
            )
            return self._checked(proc, "new-window")[0]

    def respawn_pane(self, pane_id: str, cwd: str, env: dict[str, str], command: list[str]) -> None:
        """Run `command` in the pane again, ending whatever runs there (its agent is down)."""
        with self._errors():
            proc = self._pane(pane_id).cmd("respawn-pane", "-k", "-c", cwd, *_env_args(env), *_command_args(command))
            self._checked(proc, "respawn-pane")

    def kill_server(self) -> None:
        """Stop the whole server (the demo's own, when it is done); nothing if it is not running."""
        with self._errors(quiet_if_down=True):
            self._server().kill()

    def kill_session(self, name: str) -> None:
        with self._errors():
            self._server().kill_session(f"={name}")

    # --- panes ------------------------------------------------------------------------------

    def pane_process(self, pane_id: str) -> tuple[int, bool, str] | None:
        """(the pane's process id, whether it is dead, its session), or None when there is no such
        pane. Pane ids are reused after a server restart: callers check the session too."""
        try:
            with self._errors():
                pane = _import_libtmux().Pane.from_pane_id(server=self._server(), pane_id=pane_id)
        except WorldError:
            return None
        if not (pane.pane_pid or "").isdigit():
            return None
        return int(pane.pane_pid or 0), pane.pane_dead == "1", pane.session_name or ""

    def run_in_shell(self, pane_id: str, command_line: str) -> None:
        """Type a command line of our own making into a shell pane and press Enter (the
        sandbox's windows). Never used for message text: that only goes to agents, through
        paste_if_alive."""
        with self._errors():
            pane = self._pane(pane_id)
            # libtmux's send_keys would put no `--` before the text: a line starting with "-" would be a flag
            self._checked(pane.cmd("send-keys", "-l", "--", command_line), "send-keys")
            self._checked(pane.cmd("send-keys", "Enter"), "send-keys")

    # --- going to a pane (services/jump.py) ---------------------------------------------------

    def focus_pane(self, pane_id: str) -> str:
        """Make the pane its session's current window and pane; return the session's name."""
        with self._errors():
            pane = _import_libtmux().Pane.from_pane_id(server=self._server(), pane_id=pane_id)
            pane.window.select()
            pane.select()
            return pane.session_name or ""

    def is_current_server(self) -> bool:
        """Whether we run inside a tmux client of this very server (then switch-client works)."""
        current = os.environ.get("TMUX", "").split(",")[0]
        if not current:
            return False
        if self.socket_path:
            return current == self.socket_path
        if self.socket_name is None:
            return True  # inside tmux, a plain `tmux` command talks to the current server
        return os.path.basename(current) == self.socket_name

    def switch_client(self, pane_id: str) -> None:
        with self._errors():
            self._server().switch_client(pane_id)  # a pane is a target switch-client takes, as a session is

    def attach(self, session: str) -> None:
        """Attach this terminal to `session` until the user detaches. Outside tmux's own clients
        (is_current_server): $TMUX would make tmux refuse to nest, so it is left out meanwhile,
        as libtmux's own new_session does (tmux reads the terminal from stdin, not stdout)."""
        hidden = {key: os.environ.pop(key) for key in ("TMUX", "TMUX_PANE") if key in os.environ}
        try:
            with self._errors():
                self._server().attach_session(f"={session}")
        finally:
            os.environ.update(hidden)

    # --- the people watching ------------------------------------------------------------------

    def clients(self) -> list[tuple[str, str]]:
        """(name, tty) of every client attached to the server: the people watching."""
        self.check_installed()
        with self._errors(quiet_if_down=True):
            return [(client.client_name or "", client.client_tty or "") for client in self._server().clients]
        return []

    def display_on(self, client: str, text: str) -> None:
        """Show `text` in a client's status line ('#' doubled: tmux reads the text as a format)."""
        with self._errors():
            proc = self._server().cmd("display-message", "-c", client, text.replace("#", "##"))
            self._checked(proc, "display-message")

    def display(self, target: str, fmt: str) -> str:
        with self._errors():
            out = self._checked(self._server().cmd("display-message", "-p", "-t", target, fmt), "display-message")
        return out[0] if out else ""


def _import_libtmux() -> ModuleType:
    """libtmux, imported on first use. As it loads it reads sys.stdout.encoding, which the
    stand-in Textual puts in sys.stdout while the control room runs does not have: the real
    stdout stands there meanwhile (under a lock: the control room's threads may get here at once)."""
    if "libtmux" not in sys.modules:
        with _IMPORTING:
            if not hasattr(sys.stdout, "encoding"):
                stand_in, sys.stdout = sys.stdout, sys.__stdout__
                try:
                    import libtmux
                finally:
                    sys.stdout = stand_in
    import libtmux

    return libtmux


_IMPORTING = threading.Lock()


class _LibtmuxErrors:
    """libtmux's exceptions as ours: the same one-line kinds the lean path raises."""

    def __init__(self, tmux: Tmux) -> None:
        self.tmux = tmux

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None) -> None:
        if error is None:
            return
        from libtmux import exc

        if isinstance(error, exc.TmuxCommandNotFound):
            raise TmuxUnavailable(_NOT_INSTALLED) from None
        if isinstance(error, exc.LibTmuxException):
            said = error.args[0] if error.args else str(error)  # tmux's stderr: a string, or a list of lines
            message = "\n".join(said) if isinstance(said, list) else str(said)
            raise self.tmux._failure(error.subcommand, message) from None


class _QuietIfDown(_LibtmuxErrors):
    """As _LibtmuxErrors, but a server that is not running is no error: the block is left."""

    def __exit__(  # type: ignore[override]  # it may swallow an error, its parent never does
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> bool:
        try:
            super().__exit__(kind, error, tb)
        except TmuxUnavailable as translated:
            if str(translated) == _NOT_INSTALLED:
                raise  # no tmux at all: always said
            return True
        return isinstance(error, TmuxUnavailable) and str(error) != _NOT_INSTALLED


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
