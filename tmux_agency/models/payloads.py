"""Inter-agency JSON messages, one pydantic model per type; the seed's payloads pass as written."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tmux_agency.models.errors import UsageError

Priority = Literal["low", "medium", "high", "critical"]
Severity = Literal["none", "info", "low", "medium", "high", "critical"]


class Payload(BaseModel):
    """Any inter-agency message: a JSON object with a `type`; extra fields are kept."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_-]*$")


class Handoff(Payload):
    """Work passed to another agency (the seed: CodeAgency → QAAgency)."""

    type: Literal["handoff"]
    task: str = Field(min_length=1)
    branch: str | None = None
    priority: Priority = "medium"
    artifacts: list[str] = Field(default_factory=list)
    notes: str | None = None


class Results(Payload):
    """The answer to a handoff (the seed: QAAgency → CodeAgency)."""

    type: Literal["results"]
    task: str = Field(min_length=1)
    status: str = Field(min_length=1)  # passed, issues_found, failed, ...
    bugs: int | None = Field(default=None, ge=0)
    count: int | None = Field(default=None, ge=0)
    severity: Severity | None = None
    report: str | None = None


class Alert(Payload):
    """A warning for one agency or, as a broadcast, for all."""

    type: Literal["alert"]
    severity: Severity
    message: str = Field(min_length=1)
    action_required: str | None = None


_TYPED: dict[str, type[Payload]] = {"handoff": Handoff, "results": Results, "alert": Alert}


# Far deeper than any message needs, far below where Python's JSON parser and encoder (and
# pydantic) run out of stack: the history nests a payload two levels deeper still.
MAX_DEPTH = 100


def parse_payload(text: str) -> dict[str, Any]:
    """Validate an inter-agency message; return it as a plain JSON object or raise UsageError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"the message is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise UsageError(f"the JSON is nested too deeply (the limit is {MAX_DEPTH} levels)") from None
    if not isinstance(data, dict):
        raise UsageError(f"the message must be a JSON object, not {type(data).__name__}")
    if _nested_deeper_than(data, MAX_DEPTH):
        raise UsageError(f"the JSON is nested too deeply (the limit is {MAX_DEPTH} levels)")
    _check_encodable(data)
    model = _TYPED.get(str(data.get("type")), Payload)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        kind = data.get("type", "message")
        kind = kind if isinstance(kind, str) and kind.isprintable() else repr(kind)  # one line, whatever it holds
        if err["type"] == "missing":
            raise UsageError(f"{kind} message: required field {field!r} is missing") from None
        raise UsageError(f"{kind} message: field {field!r}: {err['msg']}") from None
    return parsed.model_dump(mode="json", exclude_none=True)


def _nested_deeper_than(data: Any, limit: int) -> bool:
    """Whether lists and objects inside `data` nest more than `limit` levels (iteratively: a
    recursive walk would fail on the input it is meant to refuse)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _check_encodable(data: dict[str, Any]) -> None:
    """JSON may spell a lone surrogate ("\\ud800"), which is not text: no file could store it."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UsageError(
            f"the JSON holds a lone surrogate (U+{ord(exc.object[exc.start]):04X}), which is not valid UTF-8"
        ) from None
