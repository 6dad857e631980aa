"""The message history's chain: every event in registry/messages.jsonl carries `prev`, the hash of
the one before it, and `hash`, an HMAC-SHA256 of itself (prev included) under a key of the
workspace; a head record kept apart from the log says where the log ended.

Two small files beside the log, both readable by the user alone:

* `.history.key` — `{"key": 32 random bytes in hex, "keyed_from": N}`, made (durably) with the
  first event appended after this module existed; N is that event's seq. It is kept out of the
  log because the log is what gets read, copied and edited: a key inside it would let whoever
  edits the log compute valid hashes again. Out of it, rehashing a changed chain needs this file.
* `.messages.head` — `{"seq", "hash", "keyed_from", "note", "mac"}`: the last event's seq and hash,
  rewritten under the history lock after every append (one small in-place write, no fsync: see
  Registry.overwrite) and MACed with the key. A log cut short, or emptied, no longer reaches it.

`verify` (`tmux-agency log --verify`) then detects: an edited event (its MAC no longer matches);
a removed, inserted or reordered event (the next one's `prev`); a chain rehashed without the key
(plain SHA-256 where an HMAC belongs); a cut tail, an emptied or deleted log (the head names a
later event); a head record that was altered, or missing while keyed events exist; and any line
that is not an event, by its line number. A writer that finds the head missing, damaged or ahead
of the log records that in the next head (`note`), so covering a cut with new messages does not
hide it. What it cannot detect: changes by someone who can read the key — anyone with the user's
own rights (every agent runs with them) — and a log cut back to a point whose head record was
saved elsewhere and put back with it.

Histories written before keys existed (plain SHA-256, no key, no head) still verify: events
before `keyed_from` are checked the old way, and the first keyed event's MAC covers the last
plain hash (its `prev`), so they are protected from then on too.

Appending is on every `send`, so this module imports only json, os and the builtin sha256
(hashlib and hmac load OpenSSL, ~8 ms per agent call): HMAC is RFC 2104, written out below.
"""

from __future__ import annotations

import json
import os

try:  # the builtin module: hashlib's OpenSSL import costs ~8 ms per agent call
    from _sha256 import sha256  # Python 3.11
except ImportError:  # pragma: no cover - 3.12+ renamed it
    try:
        from _sha2 import sha256
    except ImportError:
        from hashlib import sha256

from tmux_agency.models.errors import WorldError

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see registry.py)
if TYPE_CHECKING:
    from typing import Any

    from tmux_agency.doors.registry import Registry

HISTORY = "messages.jsonl"
KEY_FILE = ".history.key"
HEAD_FILE = ".messages.head"
HEAD_SIZE = 512  # the head is padded to this, so rewriting it in place never leaves a longer tail
MAX_NOTE = 200  # with the other fields (two hashes, two numbers) well within HEAD_SIZE
_EVENT_FIELDS = ("seq", "event", "prev", "hash")

# --- HMAC-SHA256 (RFC 2104) ------------------------------------------------------------------------

_BLOCK = 64  # SHA-256's block size in bytes
_IPAD = bytes(b ^ 0x36 for b in range(256))  # translation tables: key XOR 0x36.. / 0x5c..
_OPAD = bytes(b ^ 0x5C for b in range(256))


def hmac_sha256(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of `message` under `key`, in hex: what hmac.new(key, message, 'sha256')
    gives, without hmac's import."""
    if len(key) > _BLOCK:
        key = sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = sha256(key.translate(_IPAD))
    inner.update(message)
    outer = sha256(key.translate(_OPAD))
    outer.update(inner.digest())
    return outer.hexdigest()


# --- an event's hash -------------------------------------------------------------------------------


def canonical(record: dict[str, Any], without: str = "hash") -> bytes:
    """What is hashed: the record without its own hash (or MAC), keys sorted, as UTF-8."""
    body = {k: v for k, v in record.items() if k != without}
    return json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")


def plain_hash(event: dict[str, Any]) -> str:
    """The hash of events written before the history had a key: SHA-256 without one."""
    return sha256(canonical(event)).hexdigest()


def keyed_hash(key: bytes, event: dict[str, Any]) -> str:
    return hmac_sha256(key, canonical(event))


# --- the key and the head --------------------------------------------------------------------------


class HistoryKey:
    __slots__ = ("secret", "keyed_from")

    def __init__(self, secret: bytes, keyed_from: int) -> None:
        self.secret, self.keyed_from = secret, keyed_from


def parse_key(data: bytes) -> HistoryKey:
    """The key file's content; ValueError saying what is wrong with it."""
    try:
        doc = json.loads(data)
        secret = bytes.fromhex(doc["key"])
        keyed_from = doc["keyed_from"]
    except (ValueError, TypeError, KeyError, RecursionError):
        raise ValueError("it is not the key file tmux-agency writes") from None
    if len(secret) != 32 or type(keyed_from) is not int or keyed_from < 1:
        raise ValueError("it is not the key file tmux-agency writes")
    return HistoryKey(secret, keyed_from)


class Head:
    __slots__ = ("seq", "hash", "keyed_from", "note")

    def __init__(self, seq: int, hash_: str | None, keyed_from: int, note: str | None = None) -> None:
        self.seq, self.hash, self.keyed_from, self.note = seq, hash_, keyed_from, note

    def encode(self, key: HistoryKey) -> bytes:
        record: dict[str, Any] = {"seq": self.seq, "hash": self.hash, "keyed_from": self.keyed_from, "note": self.note}
        record["mac"] = hmac_sha256(key.secret, canonical(record, without="mac"))
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return text.ljust(HEAD_SIZE - 1) + b"\n"


def parse_head(data: bytes, key: HistoryKey | None) -> Head:
    """The head record; ValueError saying what is wrong with it (its MAC checked when `key` is given)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise ValueError("it is not JSON") from None
    if not isinstance(doc, dict) or any(f not in doc for f in ("seq", "hash", "keyed_from", "note", "mac")):
        raise ValueError("it is not the head record tmux-agency writes")
    if key is not None and hmac_sha256(key.secret, canonical(doc, without="mac")) != doc["mac"]:
        raise ValueError("it was altered: its MAC does not match its content")
    if type(doc["seq"]) is not int or type(doc["keyed_from"]) is not int:
        raise ValueError("it is not the head record tmux-agency writes")
    return Head(doc["seq"], doc["hash"], doc["keyed_from"], doc["note"])


def _usable(record: Any) -> bool:
    """Whether a parsed line is an event a writer can chain onto."""
    return isinstance(record, dict) and type(record.get("seq")) is int and isinstance(record.get("hash"), str)


# --- appending -------------------------------------------------------------------------------------


class HistoryChain:
    """Appends events to the history, chained, keyed and with the head kept; the caller holds
    `registry.lock(HISTORY)`. Per append: the key and the head are read (two small files), and
    the head is rewritten (one small write) — no fsync beyond the log's own."""

    def __init__(self, registry: Registry, name: str = HISTORY) -> None:
        self.registry, self.name = registry, name
        self._key: HistoryKey | None = None

    def append(self, events: list[dict[str, Any]]) -> list[int]:
        """Give each event its seq, prev and hash, append them in one write, rewrite the head;
        return the byte offset where each event starts."""
        tail = self._tail()
        last_seq, prev = (tail["seq"], tail["hash"]) if tail else (0, None)
        key = self._key_for(last_seq)
        note = self._note(key, tail, last_seq + 1)
        lines = []
        seq = last_seq
        for body in events:
            seq += 1
            event = {"seq": seq, **body, "prev": prev}
            event["hash"] = prev = keyed_hash(key.secret, event)
            lines.append((json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
        offsets = self.registry.append_lines(self.name, lines)
        # Killed here, the log is one append past the head: verify accepts that, and says so.
        self.registry.overwrite(HEAD_FILE, Head(seq, prev, key.keyed_from, note).encode(key))
        return offsets

    def _tail(self) -> dict[str, Any] | None:
        """The last event to chain onto. A last line that is not one (only an edit makes that)
        must not stop every agent's messages: the last usable event is looked for instead, and
        verify names the line."""
        try:
            last = self.registry.last_line(self.name)
        except (ValueError, RecursionError):
            last = None
        else:
            if last is None or _usable(last):
                return last
        found = None
        for _, record in self.registry.scan_lines(self.name):
            if _usable(record):
                found = record
        return found

    def _key_for(self, last_seq: int) -> HistoryKey:
        """The workspace's key; made, durably, with the first keyed event (keyed_from = its seq)."""
        if self._key is not None:
            return self._key
        data = self.registry.read_bytes(KEY_FILE)
        if data is None:
            key = HistoryKey(os.urandom(32), last_seq + 1)
            self.registry.create_file(
                KEY_FILE, json.dumps({"key": key.secret.hex(), "keyed_from": key.keyed_from}) + "\n"
            )
        else:
            try:
                key = parse_key(data)
            except ValueError as exc:
                path = self.registry.path(KEY_FILE)
                raise WorldError(
                    f"the message history's key {path} does not read ({exc}); nothing can be appended to the"
                    f" history until it is restored (or moved aside, after which 'log --verify' reports the events it signed)"
                ) from None
        self._key = key
        return key

    def _note(self, key: HistoryKey, tail: dict[str, Any] | None, seq: int) -> str | None:
        """What the next head must carry forward: its predecessor's note, or what is wrong with
        the head now (missing, damaged, ahead of the log), which a new head would otherwise hide."""
        data = self.registry.read_bytes(HEAD_FILE)
        last_seq = tail["seq"] if tail else 0
        if not data or not data.strip():
            # None yet is right until the first keyed event has its head (a writer may have been
            # killed before writing it); an empty file is what a power loss can leave of a new one.
            if last_seq > key.keyed_from:
                return _cap(f"the head record was missing when event {seq} was written")
            return None
        try:
            head = parse_head(data, key)
        except ValueError as exc:
            return _cap(f"the head record did not read when event {seq} was written ({exc})")
        if head.note:
            return head.note
        if head.seq > last_seq:
            return _cap(
                f"when event {seq} was written the log ended at event {last_seq}, but the head record said {head.seq}: events had been cut"
            )
        if head.seq == last_seq and tail is not None and head.hash != tail["hash"]:
            return _cap(f"when event {seq} was written, event {last_seq} was not the one the head record named")
        if head.seq == last_seq - 1 and tail is not None and head.hash != tail.get("prev"):
            return _cap(f"when event {seq} was written, event {head.seq} was not the one the head record named")
        return None


def _cap(note: str) -> str:
    return note if len(note) <= MAX_NOTE else note[: MAX_NOTE - 1] + "…"


# --- verifying -------------------------------------------------------------------------------------


class Verdict:
    """What `verify` found: `problem` is None when the history is intact."""

    def __init__(self) -> None:
        self.events = 0
        self.last_seq = 0
        self.keyed_from: int | None = None
        self.head_seq: int | None = None
        self.past_head: list[int] = []  # events a writer appended before it was stopped
        self.fragments: list[int] = []  # line numbers of unfinished events killed writers left
        self.problem: str | None = None


def verify(registry: Registry, name: str = HISTORY) -> Verdict:
    """Check the history against its chain, its key and its head; read-only (creates nothing)."""
    with registry.shared_lock(name):  # no writer half-way between the log and the head
        key_data = registry.read_bytes(KEY_FILE)
        head_data = registry.read_bytes(HEAD_FILE)
        try:
            size: int | None = os.stat(registry.path(name)).st_size
        except FileNotFoundError:
            size = None
    verdict = Verdict()
    try:
        key = _read_key(registry, key_data)
        head = _read_head(registry, head_data, key)
        verdict.keyed_from = key.keyed_from if key else None
        verdict.head_seq = head.seq if head else None
        at_head = _check_lines(registry, name, size, key, head, verdict)
        _check_tail(registry, size, key, head, at_head, verdict)
    except _Broken as broken:
        verdict.problem = str(broken)
    return verdict


class _Broken(Exception):
    """The first thing found wrong: verify reports it and stops."""


def _read_key(registry: Registry, data: bytes | None) -> HistoryKey | None:
    if data is None:
        return None
    try:
        return parse_key(data)
    except ValueError as exc:
        raise _Broken(f"the history key {registry.path(KEY_FILE)} does not read: {exc}") from None


def _read_head(registry: Registry, data: bytes | None, key: HistoryKey | None) -> Head | None:
    path = registry.path(HEAD_FILE)
    if data is None or not data.strip():
        return None  # whether that is right depends on the log: see _check_tail
    if key is None:
        raise _Broken(
            f"the history key {registry.path(KEY_FILE)} is missing, though the head record {path} exists: the keyed events cannot be checked"
        )
    try:
        head = parse_head(data, key)
    except ValueError as exc:
        raise _Broken(f"the head record {path} does not read: {exc}") from None
    if head.keyed_from != key.keyed_from:
        raise _Broken(f"the head record {path} and the key disagree on where keyed hashing began")
    if head.note:
        raise _Broken(head.note)
    return head


def _check_lines(
    registry: Registry, name: str, size: int | None, key: HistoryKey | None, head: Head | None, verdict: Verdict
) -> str | None:
    """Walk the log's lines up to `size`; return the hash of the event the head names (if seen)."""
    if not size:
        return None
    prev: str | None = None
    expected_seq = 1
    fragment: int | None = None  # an unparsable line, forgiven if the chain goes on across it
    at_head = None
    with open(registry.path(name), "rb") as handle:
        position = 0
        for number, line in enumerate(handle, 1):
            position += len(line)
            if position > size or not line.endswith(b"\n"):
                break  # appended after the snapshot, or a writer still at work on the last line
            event = _parse_line(number, line)
            if event is None:
                if fragment is not None:
                    raise _Broken(f"line {fragment} is not JSON")
                fragment = number
                continue
            seq = event["seq"]
            if event["prev"] != prev:
                if fragment is not None:
                    raise _Broken(
                        f"line {fragment} is not JSON, and event {seq} (line {number}) does not follow the event before it"
                    )
                if verdict.events == 0 and seq > 1:
                    raise _Broken(f"the log starts at event {seq} (line {number}): the events before it were cut")
                raise _Broken(
                    f"event {seq} does not follow the one before it (line {number}: an event was removed or reordered)"
                )
            _check_hash(event, number, key)
            if seq != expected_seq:
                raise _Broken(f"event {seq} has the wrong number (line {number}: event {expected_seq} belongs there)")
            if fragment is not None:
                verdict.fragments.append(fragment)
                fragment = None
            if head is not None and seq == head.seq:
                at_head = event["hash"]
            prev, expected_seq = event["hash"], seq + 1
            verdict.events += 1
            verdict.last_seq = seq
    if fragment is not None:
        verdict.fragments.append(fragment)  # the last line: an unfinished event nothing followed
    return at_head


def _parse_line(number: int, line: bytes) -> dict[str, Any] | None:
    """The event on a line; None for what a killed writer leaves (the start of an event, cut
    off); _Broken for anything else that is not an event."""
    if not line.strip():
        raise _Broken(f"line {number} is empty")
    try:
        event = json.loads(line)
    except RecursionError:
        raise _Broken(f"line {number} is nested too deeply to be an event") from None
    except ValueError as exc:
        if line.startswith(b'{"seq":'):
            return None
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise _Broken(f"line {number} is not JSON ({reason})") from None
    if not isinstance(event, dict):
        raise _Broken(f"line {number} is not a JSON object but {_kind(event)}")
    missing = [field for field in _EVENT_FIELDS if field not in event]
    if missing:
        raise _Broken(f"line {number} is not an event: it has no {', '.join(repr(f) for f in missing)}")
    if (
        type(event["seq"]) is not int
        or not isinstance(event["hash"], str)
        or not isinstance(event["prev"], (str, type(None)))
    ):
        raise _Broken(f"line {number} is not an event: its seq, prev or hash is of the wrong kind")
    return event


def _check_hash(event: dict[str, Any], number: int, key: HistoryKey | None) -> None:
    seq = event["seq"]
    if key is not None and seq >= key.keyed_from:
        if keyed_hash(key.secret, event) == event["hash"]:
            return
        if plain_hash(event) == event["hash"]:
            raise _Broken(
                f"event {seq} was rehashed without the key (line {number}: its hash is plain SHA-256, not the workspace's HMAC)"
            )
        raise _Broken(f"event {seq} was altered (line {number}: its hash does not match its content)")
    if plain_hash(event) != event["hash"]:
        missing = "" if key is not None else "; if it was written with a history key, that key is missing"
        raise _Broken(f"event {seq} was altered (line {number}: its hash does not match its content{missing})")


def _check_tail(
    registry: Registry,
    size: int | None,
    key: HistoryKey | None,
    head: Head | None,
    at_head: str | None,
    verdict: Verdict,
) -> None:
    """Whether the log ends where its key and head say it must."""
    last = verdict.last_seq
    if key is not None and last < key.keyed_from - 1:
        raise _Broken(
            f"the log {'is empty' if not last else f'ends at event {last}'}, but it held {key.keyed_from - 1} events"
            " when its key was made: events were cut"
        )
    if head is None:
        if key is not None and last > key.keyed_from:
            raise _Broken(f"the head record {registry.path(HEAD_FILE)} is missing")
        if key is not None and last == key.keyed_from:
            verdict.past_head = [last]  # the first keyed event; its writer stopped before the first head
        return
    if last == 0:
        what = "missing" if size is None else "empty"
        raise _Broken(f"the log is {what}, but its head record says it held {head.seq} events")
    if last < head.seq:
        raise _Broken(
            f"the log ends at event {last}, but its head record says {head.seq}: the last {head.seq - last} events were cut"
        )
    if at_head != head.hash:
        raise _Broken(f"event {head.seq} is not the one the head record names: the log was rewritten from there")
    if last > head.seq + 1:
        raise _Broken(
            f"events {head.seq + 1}-{last} are past the head record (event {head.seq}): more than a writer stopped"
            " before updating it leaves (something else appended them, or a power loss lost the head's updates)"
        )
    verdict.past_head = list(range(head.seq + 1, last + 1))


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else "a number" if isinstance(value, (int, float)) else "a boolean"
