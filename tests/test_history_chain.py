"""The message history's chain on real files, checked by the real `tmux-agency log --verify`:
keyed hashes, the head record kept apart from the log, what tampering it catches, histories
written before keys, and what a killed writer may leave (which must still verify)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat

import pytest

from tmux_agency.doors.chain import HEAD_FILE, HISTORY, KEY_FILE, hmac_sha256
from tmux_agency.doors.tmux import Tmux
from tmux_agency.doors.workspace import Workspace
from tmux_agency.services.bus import Bus, new_message

from .helpers import Cli, Result

NO_TMUX = Tmux("tmux-agency-tests-no-such-server")  # messages are persisted, then wait queued


def persist(ws: Workspace, *texts: str) -> None:
    """Messages appended to the history by the bus itself (nobody is up to receive them)."""
    bus = Bus(ws, NO_TMUX)
    for text in texts:
        bus._persist([new_message("intra", "STATUS", (None, "human"), ("Dev", "py"), text)])


def lines_of(ws: Workspace) -> list[str]:
    return (ws.registry_dir / HISTORY).read_text().splitlines(keepends=True)


def write_lines(ws: Workspace, lines: list[str]) -> None:
    (ws.registry_dir / HISTORY).write_text("".join(lines))


def verify(cli: Cli) -> Result:
    result = cli("log", "--verify")
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return result


def assert_caught(result: Result, *needles: str) -> None:
    assert result.returncode == 1, result
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result
    for needle in needles:
        assert needle in result.stderr, result.stderr


def plain(event: dict) -> str:
    """What the code before keys hashed: SHA-256 of the event without its hash, keys sorted."""
    body = {k: v for k, v in event.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def rehash(lines: list[str], digest=plain) -> list[str]:
    """Every event's prev and hash computed again, as someone who edited the log would."""
    out, prev = [], None
    for line in lines:
        event = json.loads(line)
        event["prev"] = prev
        event["hash"] = prev = digest(event)
        out.append(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
    return out


@pytest.fixture
def cli(workspace: Workspace) -> Cli:
    return Cli(workspace, None, {})


@pytest.fixture
def history(workspace: Workspace) -> Workspace:
    persist(workspace, *(f"STATUS note {n}" for n in range(1, 11)))
    return workspace


# --- HMAC without hmac's import ----------------------------------------------------------------


@pytest.mark.parametrize("key", [b"", b"k", os.urandom(32), os.urandom(64), os.urandom(65), os.urandom(300)])
@pytest.mark.parametrize("message", [b"", b"abc", "événement ✓".encode(), os.urandom(5000)])
def test_the_handmade_hmac_is_the_standard_one(key: bytes, message: bytes) -> None:
    assert hmac_sha256(key, message) == hmac.new(key, message, "sha256").hexdigest()


# --- an intact history ----------------------------------------------------------------------------


def test_a_history_is_keyed_and_verifies_and_its_key_stays_out_of_the_log(history: Workspace, cli: Cli) -> None:
    result = verify(cli)
    assert result.returncode == 0, result.stderr
    assert (
        "message log intact: 10 events, hash chain verified (HMAC with the workspace key); head record at event 10"
        in result.stdout
    )
    key_file, head_file = history.registry_dir / KEY_FILE, history.registry_dir / HEAD_FILE
    for path in (key_file, head_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = json.loads(key_file.read_text())["key"]
    assert len(bytes.fromhex(secret)) == 32
    assert secret not in (history.registry_dir / HISTORY).read_text()
    # The hashes are not what anyone without the key could compute.
    event = json.loads(lines_of(history)[0])
    assert event["hash"] != plain(event)


def test_verifying_changes_no_file(history: Workspace, cli: Cli) -> None:
    def everything() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(history.registry_dir.iterdir())}

    before = everything()
    assert verify(cli).returncode == 0
    assert everything() == before


# --- tampering ------------------------------------------------------------------------------------


def test_a_cut_tail_is_caught(history: Workspace, cli: Cli) -> None:
    write_lines(history, lines_of(history)[:-5])
    assert_caught(verify(cli), "the log ends at event 5, but its head record says 10: the last 5 events were cut")


def test_an_emptied_or_deleted_log_is_caught(history: Workspace, cli: Cli) -> None:
    write_lines(history, [])
    assert_caught(verify(cli), "is empty, but its head record says it held 10 events")
    (history.registry_dir / HISTORY).unlink()
    assert_caught(verify(cli), "is missing, but its head record says it held 10 events")


def test_an_edited_body_with_the_whole_chain_rehashed_is_caught(history: Workspace, cli: Cli) -> None:
    lines = lines_of(history)
    lines[3] = lines[3].replace("STATUS note 4", "STATUS note 4, rewritten")
    write_lines(history, rehash(lines))
    assert_caught(verify(cli), "event 1 was rehashed without the key (line 1")
    # Nor does a key of one's own help: the workspace's is not in the log.
    write_lines(
        history,
        rehash(
            lines,
            lambda e: hmac_sha256(
                b"a guess",
                json.dumps({k: v for k, v in e.items() if k != "hash"}, sort_keys=True, ensure_ascii=False).encode(),
            ),
        ),
    )
    assert_caught(verify(cli), "event 1 was altered (line 1: its hash does not match its content)")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda ls: [*ls[:2], ls[2].replace("note 3", "note 3!"), *ls[3:]], "event 3 was altered (line 3"),
        (lambda ls: [*ls[:2], ls[3], ls[2], *ls[4:]], "event 4 does not follow the one before it (line 3"),
        (lambda ls: [*ls[:4], *ls[5:]], "event 6 does not follow the one before it (line 5"),
        (lambda ls: ls[3:], "the log starts at event 4 (line 1): the events before it were cut"),
        (lambda ls: [*ls[:4], "[1,2,3]\n", *ls[4:]], "line 5 is not a JSON object but a list"),
        (lambda ls: [*ls[:4], "hello\n", *ls[4:]], "line 5 is not JSON (Expecting value)"),
        (lambda ls: [*ls[:4], "\n", *ls[4:]], "line 5 is empty"),
        (
            lambda ls: [*ls[:4], '{"seq":5,"event":"message","prev":null}\n', *ls[4:]],
            "line 5 is not an event: it has no 'hash'",
        ),
        (
            lambda ls: [*ls[:4], '{"seq":"5","event":"x","prev":null,"hash":"h"}\n', *ls[4:]],
            "line 5 is not an event: its seq",
        ),
        (lambda ls: [*ls[:4], ls[4][:40] + "\n", *ls[5:]], "line 5 is not JSON, and event 6 (line 6) does not follow"),
    ],
    ids=["edited", "reordered", "removed", "head-cut", "list", "not-json", "empty", "no-hash", "bad-seq", "mangled"],
)
def test_an_edited_or_malformed_line_is_named_never_an_internal_error(
    history: Workspace, cli: Cli, change, needle: str
) -> None:
    write_lines(history, change(lines_of(history)))
    assert_caught(verify(cli), needle)


def test_the_log_still_reads_past_a_line_that_is_not_an_event(history: Workspace, cli: Cli) -> None:
    lines = lines_of(history)
    write_lines(history, [*lines[:4], "[1,2,3]\n", '{"seq":5,"event":"message","message":{"id":7}}\n', *lines[4:]])
    result = cli("log")
    assert result.returncode == 0, result.stderr
    assert [line.split("[STATUS] ")[1] for line in result.stdout.splitlines()] == [
        f"STATUS note {n}" for n in range(1, 11)
    ]


def test_the_head_record_itself_is_checked(history: Workspace, cli: Cli) -> None:
    head = history.registry_dir / HEAD_FILE
    saved = head.read_bytes()
    record = json.loads(saved)
    head.write_text(json.dumps({**record, "seq": 12}))
    assert_caught(verify(cli), "does not read: it was altered: its MAC does not match its content")
    head.unlink()
    assert_caught(verify(cli), f"the head record {head} is missing")
    head.write_bytes(saved)
    (history.registry_dir / KEY_FILE).unlink()
    assert_caught(verify(cli), "is missing, though the head record", "the keyed events cannot be checked")


def test_new_messages_do_not_cover_a_cut(history: Workspace, cli: Cli) -> None:
    """The writer after a cut finds the head ahead of the log and keeps that in every later head."""
    write_lines(history, lines_of(history)[:-3])
    persist(history, "STATUS after the cut", "STATUS and another")
    assert_caught(
        verify(cli),
        "when event 8 was written the log ended at event 7, but the head record said 10: events had been cut",
    )
    assert (history.registry_dir / HEAD_FILE).stat().st_size == 512, "rewritten in place at one size, note and all"


def test_new_messages_do_not_cover_a_deleted_head(workspace: Workspace, cli: Cli) -> None:
    persist(workspace, "STATUS one", "STATUS two", "STATUS three")
    (workspace.registry_dir / HEAD_FILE).unlink()
    persist(workspace, "STATUS four")
    assert_caught(verify(cli), "the head record was missing when event 4 was written")


# --- what killed writers leave, which is not tampering -------------------------------------------


def test_a_log_one_event_past_its_head_verifies_and_says_so(history: Workspace, cli: Cli) -> None:
    """A writer killed between appending its event and rewriting the head leaves exactly this."""
    head = history.registry_dir / HEAD_FILE
    saved = head.read_bytes()
    persist(history, "STATUS the writer was killed after this")
    head.write_bytes(saved)
    result = verify(cli)
    assert result.returncode == 0, result.stderr
    assert "11 events" in result.stdout and "head record at event 10" in result.stdout
    assert "event 11 is past the head record: its writer stopped before updating the head" in result.stdout
    # Two past it is more than one killed writer leaves.
    persist(history, "STATUS twelve")
    head.write_bytes(saved)
    assert_caught(verify(cli), "events 11-12 are past the head record (event 10)")


def test_an_unfinished_line_a_killed_writer_left_is_skipped_and_named(history: Workspace, cli: Cli) -> None:
    with open(history.registry_dir / HISTORY, "ab") as handle:
        handle.write(b'{"seq":11,"event":"message","message":{"id":"m-cut-off","bo')  # killed mid-write
    persist(history, "STATUS the next writer starts on a fresh line")
    result = verify(cli)
    assert result.returncode == 0, result.stderr
    assert "11 events" in result.stdout
    assert "line 11 is an unfinished event a killed writer left (never part of the chain)" in result.stdout


# --- histories written before keys ----------------------------------------------------------------


def old_format_history(ws: Workspace, count: int) -> None:
    """A history exactly as the code before keys wrote it (commit 89e251a, Bus._append_event):
    plain SHA-256 chained through `prev`, compact lines, no key file, no head."""
    prev, lines = None, []
    for seq in range(1, count + 1):
        message = new_message("intra", "STATUS", (None, "human"), ("Dev", "py"), f"STATUS old note {seq}")
        event = {"seq": seq, "event": "message", "message": message, "prev": prev}
        event["hash"] = prev = plain(event)
        lines.append(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
    ws.registry_dir.mkdir(exist_ok=True)
    write_lines(ws, lines)


def test_a_history_from_before_keys_verifies_then_is_protected_by_the_first_keyed_event(
    workspace: Workspace, cli: Cli
) -> None:
    old_format_history(workspace, 6)
    result = verify(cli)
    assert (
        result.returncode == 0 and "message log intact: 6 events, hash chain verified (plain SHA-256" in result.stdout
    )
    assert not (workspace.registry_dir / KEY_FILE).exists(), "verifying made no key"

    persist(workspace, "STATUS first keyed", "STATUS second keyed")
    result = verify(cli)
    assert result.returncode == 0, result.stderr
    assert (
        "8 events, hash chain verified (HMAC with the workspace key from event 7; the 6 before it by plain SHA-256)"
        in result.stdout
    )

    lines = lines_of(workspace)
    # An old event edited and the old part rehashed: the first keyed event's MAC covers its prev.
    edited = [lines[0].replace("old note 1", "old note 1, rewritten"), *lines[1:6]]
    write_lines(workspace, [*rehash(edited), *lines[6:]])
    assert_caught(verify(cli), "event 7 does not follow the one before it (line 7")
    # Cut back to the old events, head deleted: the key remembers how long the log was.
    write_lines(workspace, lines[:4])
    (workspace.registry_dir / HEAD_FILE).unlink()
    assert_caught(verify(cli), "the log ends at event 4, but it held 6 events when its key was made")
