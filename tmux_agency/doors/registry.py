"""The registry: TinyDB tables and append-only logs under registry/, safe for many writers.

Every agent pane calls the CLI, so many processes write at once. TinyDB alone is not safe for
that (STACK-NOTES), so each transaction here:

* holds an exclusive `fcntl.flock` on a lock file beside the table for the whole
  read-modify-write;
* reads the file fresh (never a cached TinyDB instance that another process made stale);
* writes once, at the end, to a temporary file that is fsynced and renamed over the old one, so
  a reader never sees half a file and a writer killed mid-write leaves the old file intact;
* writes nothing if the block raised: a failed command leaves the registry as it was.

History that only grows (the message log) is kept as JSON lines appended with one `write` on an
O_APPEND descriptor, so its cost per record stays flat however long it gets.

Everything that reads or writes shared state goes through this module's small interface, so a
second backend (PostgreSQL, Redis streams) is one new module, not a rewrite.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

from tmux_agency.models.errors import RegistryCorrupt, WorldError

# Every agent command passes through here, so the module imports neither typing nor TinyDB
# (~8 ms together on a slow machine): type checkers read this name as True, Python as False.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from typing import Any, NoReturn

    from tinydb import TinyDB
    from tinydb.queries import QueryLike
    from tinydb.table import Document
    from tinydb.table import Table as TinyTable

    Where = Callable[[Mapping[str, Any]], bool]  # a test of one document

# The seed's file names, and the check-ins'.
AGENCIES = "active_agencies.json"
MESSAGES = "message_queue.json"
APPROVALS = "approval_queue.json"
TASKS = "task_graph.json"
SCHEDULE = "schedule.json"
TABLE_FILES = (AGENCIES, MESSAGES, APPROVALS, TASKS)
# The append-only logs beside them (the message history's name is chain.HISTORY, its door).
REVIEWS = "reviews.jsonl"  # every enqueue and decision of the approval queue, for the metrics
APPROVED = "approved.jsonl"  # the documentation of approved work, one record per approval
BASE_LOG = "base_log.jsonl"  # the commits each branch was based on and brought in (drift)
# The folder of the per-pane delivery locks and claims (services/delivery.py's pane_lock).
PANE_LOCKS = ".panes"

# What every document of a registry file holds, table by table: the fields its writers always
# give it and its readers index without a default (`task["state"]`, `record["agents"]`). They
# are checked here, where every reader loads the file, so a hand-edited or foreign file is
# reported by name like a corrupt one instead of failing later with a KeyError in whichever
# command reads it first. Tables not listed need only be objects of objects.
REQUIRED_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    AGENCIES: {"_default": ("name", "session", "status", "spec", "agents")},
    MESSAGES: {
        "_default": ("id", "time", "kind", "type", "recipient_agency", "recipient_agent", "body", "state"),
        "checkpoint": ("offset",),
    },
    APPROVALS: {"_default": ("id", "agency", "branch", "base", "title", "status", "commit", "tests")},
    TASKS: {"_default": ("id", "title", "state", "after")},
    SCHEDULE: {"_default": ("id", "agency", "agent", "text", "due"), "meta": ("last_id",)},
}

FILE_MODE = 0o600  # registry files and logs can hold secrets that agents pasted


class _TransactionStorage:
    """A TinyDB storage (duck-typed: TinyDB needs only read/write/close) holding one file's
    content in memory for the length of a transaction."""

    def __init__(self, data: dict[str, Any] | None, writable: bool) -> None:
        self.data = data
        self.writable = writable
        self.dirty = False

    def read(self) -> dict[str, Any] | None:
        return self.data

    def write(self, data: dict[str, Any]) -> None:
        if not self.writable:
            raise WorldError("internal error: a registry snapshot was written to")
        self.data = data
        self.dirty = True

    def close(self) -> None:
        pass


class Registry:
    """The registry/ folder of a workspace."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._dir_ready = False
        self._paths: dict[str, Path] = {}  # pathlib's `/` costs ~15 µs: the hot append reuses them

    def path(self, name: str) -> Path:
        path = self._paths.get(name)
        if path is None:
            path = self._paths[name] = self.directory / name
        return path

    def _ensure_dir(self) -> None:
        if self._dir_ready:
            return
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
        self._dir_ready = True

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold the exclusive lock that guards registry file `name`."""
        self._ensure_dir()
        fd = os.open(self.path(f".{name}.lock"), os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @contextmanager
    def shared_lock(self, name: str) -> Iterator[None]:
        """Hold the lock of registry file `name` shared, for a reader that needs a moment in which
        no writer is half-way (the history's head and its last line). It creates nothing: without
        a lock file no writer has ever held it, and the reader goes ahead unlocked."""
        try:
            fd = os.open(self.path(f".{name}.lock"), os.O_RDONLY)
        except FileNotFoundError:
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    @contextmanager
    def transaction(self, name: str) -> Iterator[TinyDB]:
        """A TinyDB on file `name`, locked; its changes are written atomically when the block ends."""
        from tinydb import TinyDB

        with self.lock(name):
            storage = _TransactionStorage(self._load(name, locked=True), writable=True)
            db = TinyDB(storage=_Given(storage))
            yield db
            if storage.dirty:
                self._write_atomic(self.path(name), json.dumps(storage.data, ensure_ascii=False))

    @contextmanager
    def edit(self, name: str) -> Iterator[dict[str, Any]]:
        """File `name`'s JSON object as plain dicts (TinyDB's layout: table → doc id → document),
        locked, written atomically when the block ends if it changed: a transaction without
        TinyDB's import, for paths agents take (the task graph following their messages)."""
        with self.lock(name):
            data = self._load(name, locked=True) or {}
            before = json.dumps(data, ensure_ascii=False)
            yield data
            after = json.dumps(data, ensure_ascii=False)
            if after != before:
                self._write_atomic(self.path(name), after)

    @contextmanager
    def change(self, name: str, table: str = "_default") -> Iterator[Table]:
        """Table `table` of file `name`, locked, for services to change by plain field values
        (`queue.remove(id=...)`) rather than TinyDB queries of their own; written atomically when
        the block ends, nothing written if it raised (see `transaction`)."""
        with self.transaction(name) as db:
            yield Table(db, db.table(table))

    def exists(self, name: str) -> bool:
        """Whether registry file or log `name` has ever been written."""
        return os.path.exists(self.path(name))

    def pane_locks(self) -> Path:
        """The folder where deliveries lock and claim each pane (services/delivery.py)."""
        return self.path(PANE_LOCKS)

    def snapshot(self, name: str) -> TinyDB:
        """A read-only TinyDB on file `name` as it is now (no lock: files are replaced whole)."""
        from tinydb import TinyDB

        data = self._load(name, locked=False)
        return TinyDB(storage=_Given(_TransactionStorage(data, writable=False)))

    def documents(self, name: str, table: str = "_default") -> list[dict[str, Any]]:
        """The documents of one table of file `name` as stored, in insertion order: what
        `snapshot(name).table(table).all()` returns, read without importing TinyDB."""
        data = self._load(name, locked=False) or {}
        docs = data.get(table)
        return [dict(doc) for doc in docs.values()] if isinstance(docs, dict) else []

    def _load(self, name: str, locked: bool) -> dict[str, Any] | None:
        """File `name`'s JSON object, or None if there is no file. A file that does not read —
        not JSON, empty, or not the shape its writers give it — raises RegistryCorrupt naming
        it. A writer (`locked`) moves it aside first, so the next write starts a new one; a
        reader leaves it where it is: a read-only command never changes a file."""
        path = self.path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as exc:
            return self._corrupt(path, f"not UTF-8 at byte {exc.start}", locked)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            reason = "the file is empty" if not text.strip() else f"{exc.msg} at line {exc.lineno} column {exc.colno}"
            return self._corrupt(path, reason, locked)
        except RecursionError:
            return self._corrupt(path, "its JSON is nested too deeply", locked)
        problem = shape_problem(name, data)
        if problem is not None:
            return self._corrupt(path, problem, locked)
        return data

    def _corrupt(self, path: Path, reason: str, locked: bool) -> NoReturn:
        if locked:
            aside = self._move_aside(path)
            what = f"moved aside to {aside.name}, a new one will be started"
        else:
            what = f"the next command that writes it will move it aside as {path.name}.corrupt-TIMESTAMP"
        raise RegistryCorrupt(f"registry file {path} is corrupt ({reason}); {what}")

    @staticmethod
    def _move_aside(path: Path) -> Path:
        from datetime import datetime, timezone

        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        os.replace(path, aside)
        return aside

    def _write_atomic(self, path: Path, text: str) -> None:
        """Write temp → fsync → rename → fsync the folder: the old or the new file, never half."""
        # A name of our own rather than tempfile.mkstemp: tempfile costs ~7 ms of import.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    # --- small files of the registry's own (the history's key and head) ----------------------

    def read_bytes(self, name: str) -> bytes | None:
        """File `name`'s bytes, or None if there is none."""
        try:
            with open(self.path(name), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def create_file(self, name: str, text: str) -> None:
        """Write file `name` durably (temp, fsync, rename, fsync the folder), readable by the user
        alone: for a file that is written once and must survive whatever follows it."""
        self._ensure_dir()
        self._write_atomic(self.path(name), text)

    def overwrite(self, name: str, data: bytes) -> None:
        """Rewrite small file `name` in place with one `pwrite` at offset 0, no fsync. For a file
        rewritten on every append (the history's head), whose callers write the same length each
        time and hold its lock: a write of a few hundred bytes at the start of a file lies within
        one page, so a process killed (SIGKILL) at any moment leaves the old or the new bytes,
        never a mix — the kernel has them either way. A power loss may lose the latest rewrites
        (the file is not synced); its readers are built to tell that from tampering."""
        self._ensure_dir()
        fd = os.open(self.path(name), os.O_WRONLY | os.O_CREAT, FILE_MODE)
        try:
            os.pwrite(fd, data, 0)
        finally:
            os.close(fd)

    # --- append-only logs -------------------------------------------------------------------

    def append_line(self, name: str, record: dict[str, Any]) -> int:
        """Append one JSON record as a line to log `name`; return the byte offset where it starts.

        The caller holds `lock(name)` when it needs the append ordered with a read (a hash chain).
        """
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        return self.append_lines(name, [line])[0]

    def append_lines(self, name: str, lines: list[bytes]) -> list[int]:
        """Append encoded lines (each ending in a newline) to log `name` with one write and one
        sync, however many; return the byte offset where each starts."""
        self._ensure_dir()
        data = b"".join(lines)
        fd = os.open(self.path(name), os.O_RDWR | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            size = os.fstat(fd).st_size
            lead = b""
            if size and os.pread(fd, 1, size - 1) != b"\n":
                lead = b"\n"  # a writer died mid-line: keep its fragment off our records
            os.write(fd, lead + data)  # one write on O_APPEND: lines of concurrent writers never interleave
            _datasync(fd)
            offset = os.lseek(fd, 0, os.SEEK_CUR) - len(data)
        finally:
            os.close(fd)
        offsets = []
        for line in lines:
            offsets.append(offset)
            offset += len(line)
        return offsets

    def read_lines(self, name: str, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Records of log `name` from byte `offset`, and the offset to read from next time.

        A partial last line (a writer still at work, or killed) is left for the next read, and
        the fragment a killed writer left mid-file is skipped: it was never a committed record.
        """
        scan = self.scan_lines(name, offset)
        return [record for _, record in scan], scan.end

    def scan_lines(
        self, name: str, offset: int = 0, wanted: bytes | None = None, stop: int | None = None, raw: bool = False
    ) -> LineScan:
        """Records of log `name` from byte `offset` (up to `stop`), read a line at a time: a
        history of 100,000 messages is never held in memory at once. With `wanted`, only lines
        containing those bytes are parsed. Iterate it for (offset, record) — with `raw`, for
        (offset, the line's bytes), unparsed; afterwards its `end` is where the next read starts
        (a partial last line is left for it)."""
        return LineScan(self.path(name), offset, wanted, stop, raw)

    def raw_lines(self, name: str, offset: int = 0, stop: int | None = None) -> RawLines:
        """The whole lines of log `name` from byte `offset` (up to `stop`) as bytes, unparsed and
        streamed: for readers that sift 100,000 lines by their bytes before parsing any (the
        control room's older history, the metrics). Afterwards its `end` is where the next read
        starts (a partial last line is left for it)."""
        return RawLines(self.path(name), offset, stop)

    def size(self, name: str) -> int | None:
        """The size in bytes of log `name`, or None if there is none (or it cannot be read)."""
        try:
            return os.path.getsize(self.path(name))
        except OSError:
            return None

    def tail_start(self, name: str, max_bytes: int) -> int | None:
        """Where the first whole line within the last `max_bytes` of log `name` starts (0 if the
        log is no longer), or None if there is no log: a reader that shows the newest lines
        first need not read the rest."""
        size = self.size(name)
        if size is None:
            return None
        start = max(0, size - max_bytes)
        if start:
            with open(self.path(name), "rb") as handle:
                handle.seek(start)
                handle.readline()  # skip the partial first line
                start = handle.tell()
        return start

    def lines_backward(self, name: str, end: int | None = None, chunk: int = 1 << 18) -> Iterator[tuple[int, bytes]]:
        """The whole lines of log `name` before byte `end` (default: its end), newest first, as
        (offset, bytes without the newline): a reader that wants the newest few reads only them,
        a block at a time, at any size of the log. A partial last line (a writer at work) is not
        a record yet and is left out."""
        try:
            handle = open(self.path(name), "rb")
        except FileNotFoundError:
            return
        with handle:
            pos = handle.seek(0, os.SEEK_END) if end is None else end
            tail = b""  # the start of a line whose beginning is in a block not read yet
            partial = True  # still looking for the newline that ends the last whole line
            while pos > 0:
                step = min(chunk, pos)
                pos -= step
                handle.seek(pos)
                block = handle.read(step) + tail
                if partial:
                    cut = block.rfind(b"\n")
                    if cut < 0:
                        tail = b""
                        continue
                    block, partial = block[: cut + 1], False
                lines = block.split(b"\n")
                starts = [pos]
                for line in lines[:-1]:
                    starts.append(starts[-1] + len(line) + 1)
                for index in range(len(lines) - 1, 0, -1):
                    if lines[index]:
                        yield starts[index], lines[index]
                tail = lines[0]
            if tail and not partial:
                yield 0, tail

    def last_line(self, name: str) -> dict[str, Any] | None:
        """The last complete record of log `name`, read backwards from its end (cheap at any size)."""
        try:
            handle = open(self.path(name), "rb")
        except FileNotFoundError:
            return None
        with handle:
            pos = handle.seek(0, os.SEEK_END)
            data = b""
            while pos > 0:
                step = min(4096, pos)
                pos -= step
                handle.seek(pos)
                data = handle.read(step) + data
                complete = data[: data.rfind(b"\n") + 1]  # a partial last line is not a record yet
                if not complete:
                    continue
                body = complete[:-1]
                start = body.rfind(b"\n")
                if start >= 0 or pos == 0:
                    return json.loads(body[start + 1 :])
        return None


def _datasync(fd: int) -> None:
    """Make appended bytes durable: fdatasync skips the timestamps fsync also writes (the size,
    which reading the line back needs, is synced either way)."""
    getattr(os, "fdatasync", os.fsync)(fd)


def shape_problem(name: str, data: Any) -> str | None:
    """What makes `data` not a registry file `name` as its writers write it (TinyDB's layout:
    table → document id → document, with REQUIRED_FIELDS), or None if nothing does."""
    if not isinstance(data, dict):
        return f"the top level is {_json_kind(data)}, not an object"
    required = REQUIRED_FIELDS.get(name, {})
    for table, docs in data.items():
        if not isinstance(docs, dict):
            return f"table {table!r} is {_json_kind(docs)}, not an object"
        fields = required.get(table, ())
        for doc_id, doc in docs.items():
            if not isinstance(doc, dict):
                return f"entry {doc_id} of table {table!r} is {_json_kind(doc)}, not an object"
            missing = [field for field in fields if field not in doc]
            if missing:
                return f"entry {doc_id} of table {table!r} has no {', '.join(repr(f) for f in missing)}"
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, (int, float)) else "an object"


class _Given:
    """TinyDB constructs its storage from a class; this hands it an existing instance instead."""

    def __init__(self, storage: _TransactionStorage) -> None:
        self.storage = storage

    def __call__(self, *args: Any, **kwargs: Any) -> _TransactionStorage:
        return self.storage


class Table:
    """One table of a registry file inside `Registry.change`: documents are found and changed by
    plain criteria — field=value pairs, all of which must hold (a document without the field
    does not match), or a predicate `where(document) -> bool`, or a document id — so no service
    builds a TinyDB query. Documents come back as TinyDB stores them: dicts with a `doc_id`."""

    def __init__(self, db: TinyDB, table: TinyTable) -> None:
        self._db, self._table = db, table

    def table(self, name: str) -> Table:
        """Another table of the same file, in the same transaction (a file's `meta` beside its
        documents)."""
        return Table(self._db, self._db.table(name))

    def all(self) -> list[Document]:
        return self._table.all()

    def doc_ids(self) -> list[int]:
        return [doc.doc_id for doc in self._table.all()]

    def find(self, where: Where | None = None, **fields: Any) -> list[Document]:
        """Every document matching the criteria, in insertion order."""
        return self._table.search(_matching(where, fields))

    def first(self, where: Where | None = None, **fields: Any) -> Document | None:
        """The first document matching the criteria, or None."""
        return self._table.get(_matching(where, fields))

    def get(self, doc_id: int) -> Document | None:
        return self._table.get(doc_id=doc_id)

    def insert(self, document: dict[str, Any], doc_id: int | None = None) -> int:
        """Add a document, under `doc_id` if given (ValueError if it is taken); return its id."""
        return self._table.insert(document if doc_id is None else _document(document, doc_id))

    def update(
        self, fields: dict[str, Any], where: Where | None = None, *, doc_id: int | None = None, **criteria: Any
    ) -> None:
        """Set `fields` on the document `doc_id`, or on every document matching the criteria."""
        if doc_id is not None:
            self._table.update(fields, doc_ids=[doc_id])
        else:
            self._table.update(fields, _matching(where, criteria, required=True))

    def upsert(
        self, document: dict[str, Any], where: Where | None = None, *, doc_id: int | None = None, **criteria: Any
    ) -> None:
        """Update the documents matching the criteria (or `doc_id`) with `document`; insert it
        if none does (under `doc_id` if given)."""
        if doc_id is not None:
            self._table.upsert(_document(document, doc_id))
        else:
            self._table.upsert(document, _matching(where, criteria))

    def remove(self, where: Where | None = None, *, doc_id: int | None = None, **criteria: Any) -> list[Document]:
        """Remove the document `doc_id`, or every document matching the criteria; return them."""
        if doc_id is not None:
            doomed = [doc for doc in [self._table.get(doc_id=doc_id)] if doc is not None]
            self._table.remove(doc_ids=[doc_id])
        else:
            test = _matching(where, criteria, required=True)
            doomed = self._table.search(test)
            self._table.remove(test)
        return doomed

    def clear(self) -> None:
        """Remove every document (ids start again at 1)."""
        self._table.truncate()


def _matching(where: Where | None, fields: dict[str, Any], required: bool = False) -> QueryLike:
    """One test for a predicate and field=value criteria together (no criteria: every document,
    which a change must not take by omission: `clear` says so)."""
    if required and where is None and not fields:
        raise TypeError("name the documents to change: field=value criteria, a predicate or a doc_id")
    return _Test(tuple(fields.items()), where)


class _Test:
    """What TinyDB takes as a query: called with a document, and hashable (its query cache)."""

    __slots__ = ("items", "where")

    def __init__(self, items: tuple[tuple[str, Any], ...], where: Where | None) -> None:
        self.items, self.where = items, where

    def __call__(self, value: Mapping[str, Any]) -> bool:
        return all(key in value and value[key] == wanted for key, wanted in self.items) and (
            self.where is None or self.where(value)
        )

    def is_cacheable(self) -> bool:
        return False  # a new test per call: TinyDB would cache results under a hash never seen again


def _document(fields: dict[str, Any], doc_id: int) -> Document:
    from tinydb.table import Document

    return Document(fields, doc_id=doc_id)


class LineScan:
    """One pass over a JSON-lines log; see Registry.scan_lines."""

    def __init__(self, path: Path, offset: int, wanted: bytes | None, stop: int | None, raw: bool = False) -> None:
        self.path, self.offset, self.wanted, self.stop, self.raw = path, offset, wanted, stop, raw
        self.end = offset

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            return
        with handle:
            handle.seek(self.offset)
            position = self.offset
            for line in handle:
                if not line.endswith(b"\n") or (self.stop is not None and position + len(line) > self.stop):
                    break  # a writer still at work (or killed) on the last line, or past the stop
                start, position = position, position + len(line)
                self.end = position
                if (self.wanted is not None and self.wanted not in line) or not line.strip():
                    continue
                if self.raw:
                    yield start, line
                    continue
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    continue  # the fragment a killed writer left mid-file: never a committed record
                if isinstance(record, dict):  # anything else was never a record either ('log --verify' names it)
                    yield start, record


class RawLines:
    """One pass over the whole lines of a log, as bytes; see Registry.raw_lines."""

    def __init__(self, path: Path, offset: int, stop: int | None) -> None:
        self.path, self.stop = path, stop
        self.end = offset

    def __iter__(self) -> Iterator[bytes]:
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            return
        stop = self.stop
        with handle:
            handle.seek(self.end)
            for line in handle:
                if not line.endswith(b"\n") or (stop is not None and self.end + len(line) > stop):
                    return  # a writer still at work (or killed) on the last line, or past the stop
                self.end += len(line)
                yield line
