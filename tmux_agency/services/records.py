"""The registered agencies (registry/active_agencies.json), read and written as AgencyRecords.

`raw_record` reads one without pydantic: `send` looks an agency up on every call, and its
record was validated when it was written.
"""

from __future__ import annotations

from tmux_agency.doors import registry as reg
from tmux_agency.doors.registry import Registry
from tmux_agency.doors.workspace import Workspace, validate_name
from tmux_agency.models.errors import UsageError, WorldError
from tmux_agency.models.names import COORDINATOR_ALIAS

TYPE_CHECKING = False  # not typing's: agent commands skip its import (see registry.py)
if TYPE_CHECKING:
    from typing import Any

    from tmux_agency.models.schema import AgencyRecord


def registry_of(ws: Workspace) -> Registry:
    return Registry(ws.registry_dir)


def load_records(ws: Workspace) -> list[AgencyRecord]:
    from pydantic import ValidationError

    from tmux_agency.doors.workspace import first_validation_error
    from tmux_agency.models.schema import AgencyRecord

    docs = registry_of(ws).documents(reg.AGENCIES)
    try:
        return [AgencyRecord.model_validate(doc) for doc in docs]
    except ValidationError as exc:
        path = registry_of(ws).path(reg.AGENCIES)
        raise WorldError(f"registry file {path} holds an invalid agency: {first_validation_error(exc)}") from None


def get_record(ws: Workspace, name: str) -> AgencyRecord:
    validate_name(name, "agency name")
    for record in load_records(ws):
        if record.name == name:
            return record
    raise UsageError(f"unknown agency {name!r}: see 'tmux-agency list'")


def raw_records(ws: Workspace) -> list[dict[str, Any]]:
    return registry_of(ws).documents(reg.AGENCIES)


def raw_record(ws: Workspace, name: str) -> dict[str, Any]:
    """An agency's record as stored (a dict), or UsageError if it is not registered."""
    validate_name(name, "agency name")
    for doc in raw_records(ws):
        if doc.get("name") == name:
            return doc
    raise UsageError(f"unknown agency {name!r}: see 'tmux-agency list'")


def raw_agent(record: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The agent called `name` in a stored record; `coordinator` names the coordinator."""
    for agent in record.get("agents", []):
        if (name == COORDINATOR_ALIAS and agent.get("is_coordinator")) or agent.get("name") == name:
            return agent
    return None


def save_record(ws: Workspace, record: AgencyRecord) -> None:
    with registry_of(ws).change(reg.AGENCIES) as agencies:
        agencies.upsert(record.model_dump(mode="json"), name=record.name)
