"""The registered agencies (registry/active_agencies.json), read and written as AgencyRecords."""

from __future__ import annotations

from pydantic import ValidationError
from tinydb import Query

from tmux_agency import registry as reg
from tmux_agency.errors import UsageError, WorldError
from tmux_agency.models import AgencyRecord
from tmux_agency.registry import Registry
from tmux_agency.workspace import Workspace, first_validation_error, validate_name


def registry_of(ws: Workspace) -> Registry:
    return Registry(ws.registry_dir)


def load_records(ws: Workspace) -> list[AgencyRecord]:
    docs = registry_of(ws).snapshot(reg.AGENCIES).all()
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


def save_record(ws: Workspace, record: AgencyRecord) -> None:
    with registry_of(ws).transaction(reg.AGENCIES) as db:
        db.upsert(record.model_dump(mode="json"), Query().name == record.name)
