"""The registry on real files: locking, atomic replacement, corruption, permissions, the log."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import stat
import time
from pathlib import Path

import pytest

from tmux_agency.doors.registry import MESSAGES, Registry
from tmux_agency.models.errors import RegistryCorrupt

# The mechanics hold for any table file; the registry's own files also have required fields
# (REQUIRED_FIELDS), which these generic documents would not have.
TABLE = "things.json"


def test_transaction_writes_once_at_the_end_and_rolls_back_on_error(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    with registry.transaction(TABLE) as db:
        db.insert({"name": "CodeAgency"})
        assert not registry.path(TABLE).exists(), "nothing is written before the block ends"
    assert [d["name"] for d in registry.snapshot(TABLE).all()] == ["CodeAgency"]

    with pytest.raises(RuntimeError):
        with registry.transaction(TABLE) as db:
            db.insert({"name": "QAAgency"})
            raise RuntimeError("the command failed half-way")
    assert [d["name"] for d in registry.snapshot(TABLE).all()] == ["CodeAgency"]


def test_files_are_readable_by_the_user_alone(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    with registry.transaction(MESSAGES) as db:
        db.insert({"text": "my token is hunter2"})
    registry.append_line("messages.jsonl", {"text": "secret"})
    for name in (MESSAGES, "messages.jsonl"):
        mode = stat.S_IMODE(os.stat(registry.path(name)).st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"
    assert stat.S_IMODE(os.stat(registry.directory).st_mode) == 0o700


def _insert_many(directory: str, worker: int, count: int) -> None:
    registry = Registry(Path(directory))
    for n in range(count):
        with registry.transaction(TABLE) as db:
            db.insert({"worker": worker, "n": n})


def test_thirty_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_insert_many, args=(str(tmp_path), w, 40)) for w in range(30)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    docs = Registry(tmp_path).snapshot(TABLE).all()
    assert len(docs) == 30 * 40
    assert {(d["worker"], d["n"]) for d in docs} == {(w, n) for w in range(30) for n in range(40)}
    # TinyDB document ids are unique too: no two processes reused a cached id.
    raw = json.loads(registry_path_text(tmp_path))
    assert len(raw["_default"]) == 30 * 40


def registry_path_text(directory: Path) -> str:
    return (directory / TABLE).read_text()


def _write_forever(directory: str, round_: int) -> None:
    registry = Registry(Path(directory))
    n = 0
    while True:
        with registry.transaction(TABLE) as db:
            db.insert({"round": round_, "n": n, "pad": "x" * 2000})
        n += 1


def test_a_writer_killed_mid_write_leaves_a_loadable_file(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    for round_, delay in enumerate((0.05, 0.13, 0.21, 0.34)):
        proc = ctx.Process(target=_write_forever, args=(str(tmp_path), round_))
        proc.start()
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        docs = Registry(tmp_path).snapshot(TABLE).all()  # raises if the file were torn
        written = [d["n"] for d in docs if d["round"] == round_]
        assert written, "the writer had time to commit something"
        # Every transaction that finished is there, in order, none twice.
        assert written == list(range(len(written)))
    # And writing goes on afterwards: a killed writer left no lock behind.
    with Registry(tmp_path).transaction(TABLE) as db:
        db.insert({"n": -1})


def test_a_corrupt_file_is_reported_by_name_and_moved_aside_not_reset(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    registry.path(TABLE).write_text('{"_default": {"1": {"name": "CodeAg')
    with pytest.raises(RegistryCorrupt) as info:
        with registry.transaction(TABLE) as db:
            db.insert({"name": "QAAgency"})
    assert "things.json" in str(info.value)
    kept = list(tmp_path.glob("things.json.corrupt-*"))
    assert len(kept) == 1, "the damaged file is kept for the user to inspect"
    assert kept[0].read_text().startswith('{"_default": {"1": {"name": "CodeAg')
    # The failed transaction wrote nothing; the next one starts a new file.
    assert not registry.path(TABLE).exists()
    with registry.transaction(TABLE) as db:
        db.insert({"name": "QAAgency"})
    assert [d["name"] for d in registry.snapshot(TABLE).all()] == ["QAAgency"]


def test_the_log_skips_a_partial_last_line_until_it_is_complete(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    for n in range(3):
        registry.append_line("log.jsonl", {"n": n, "pad": "y" * 5000})
    with open(registry.path("log.jsonl"), "ab") as handle:
        handle.write(b'{"n": 3, "pa')  # a writer killed mid-line
    records, offset = registry.read_lines("log.jsonl")
    assert [r["n"] for r in records] == [0, 1, 2]
    assert registry.last_line("log.jsonl")["n"] == 2
    # The next writer starts on a fresh line, so the fragment never swallows its record.
    registry.append_line("log.jsonl", {"n": 4})
    more, _ = registry.read_lines("log.jsonl", offset)
    assert [r["n"] for r in more] == [4]
    assert registry.last_line("log.jsonl")["n"] == 4


def test_a_scan_parses_only_the_lines_it_wants_and_stops_where_it_is_told(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    offsets = [registry.append_line("log.jsonl", {"event": "message" if n % 2 else "state", "n": n}) for n in range(6)]
    with open(registry.path("log.jsonl"), "ab") as handle:
        handle.write(b'{"event":"message","n":6')  # a writer at work on the last line
    scan = registry.scan_lines("log.jsonl", wanted=b'"event":"message"')
    assert [(offset, r["n"]) for offset, r in scan] == [(offsets[n], n) for n in (1, 3, 5)]
    assert scan.end == registry.path("log.jsonl").stat().st_size - len(b'{"event":"message","n":6')
    # From an offset, up to a stop: the lines in between, and `end` where the next read begins.
    part = registry.scan_lines("log.jsonl", offsets[2], stop=offsets[4])
    assert [r["n"] for _, r in part] == [2, 3] and part.end == offsets[4]
    assert list(registry.scan_lines("missing.jsonl")) == []


@pytest.mark.parametrize("seed", range(40))
def test_a_log_read_backwards_gives_its_whole_lines_newest_first_with_their_offsets(tmp_path: Path, seed: int) -> None:
    """Blocks of any size, lines longer than a block, empty lines, and a partial last line (a
    writer at work), which is not a record yet."""
    import random

    rng = random.Random(seed)
    lines = [bytes(rng.choice(b"ab{}") for _ in range(rng.randint(0, 60))) for _ in range(rng.randint(0, 40))]
    partial = b"x" * rng.randint(1, 90) if seed % 2 else b""
    (tmp_path / "log.jsonl").write_bytes(b"".join(line + b"\n" for line in lines) + partial)
    expected, offset = [], 0
    for line in lines:
        if line:
            expected.append((offset, line))
        offset += len(line) + 1
    got = list(Registry(tmp_path).lines_backward("log.jsonl", chunk=rng.randint(1, 32)))
    assert got == expected[::-1]
    assert list(Registry(tmp_path).lines_backward("missing.jsonl")) == []
