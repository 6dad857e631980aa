"""Agency specs on disk: an agency's agency.json in the workspace, or the starter of its name."""

from __future__ import annotations

import json

from pydantic import ValidationError

from tmux_agency.doors.workspace import STARTER_AGENCIES, Workspace, first_validation_error, starters_dir
from tmux_agency.models.errors import UsageError
from tmux_agency.models.schema import AgencySpec


def load_spec(ws: Workspace, name: str) -> AgencySpec | None:
    """agencies/NAME/agency.json (or the starter of that name), validated; None if neither exists."""
    for path in (ws.agency_dir(name) / "agency.json", starters_dir() / name / "agency.json"):
        if not path.is_file():
            continue
        try:
            spec = AgencySpec.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        except ValidationError as exc:
            raise UsageError(f"{path}: {first_validation_error(exc)}") from None
        if spec.name != name:
            raise UsageError(f"{path}: field name: is {spec.name!r}, but the folder is {name!r}")
        return spec
    return None


def templates(ws: Workspace) -> list[AgencySpec]:
    """Every agency that can be started or copied: the workspace's agencies/, then the starters
    it lacks. A folder whose agency.json does not load is left out (create names the problem)."""
    names = sorted(p.parent.name for p in ws.agencies_dir.glob("*/agency.json"))
    names += [name for name in STARTER_AGENCIES if name not in names]
    found = []
    for name in names:
        try:
            spec = load_spec(ws, name)
        except UsageError:
            continue
        if spec is not None:
            found.append(spec)
    return found
