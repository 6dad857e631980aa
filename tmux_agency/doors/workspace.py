"""Where a workspace lives, what it holds, and the names allowed into it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tmux_agency.models.errors import UsageError
from tmux_agency.models.names import check_name

# pydantic is imported only where settings are read, and neither typing nor dataclasses on any
# path `send` takes (~25 ms of imports per agent call); type checkers read this name as True.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pydantic import ValidationError

    from tmux_agency.models.schema import Settings

SETTINGS_FILE = "tmux-agency.json"
HOME_ENV = "TMUX_AGENCY_HOME"
AGENCY_ENV = "TMUX_AGENCY_AGENCY"
AGENT_ENV = "TMUX_AGENCY_AGENT"
SOCKET_ENV = "TMUX_AGENCY_SOCKET"

STARTER_AGENCIES = ("CodeAgency", "QAAgency", "DevOpsAgency", "SecurityAgency", "DocsAgency")


def validate_name(value: str, what: str) -> str:
    """Check a name that will reach tmux or the file system; raise UsageError naming the problem."""
    try:
        return check_name(value, what)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def starters_dir() -> Path:
    """The five starter agencies: real files in a wheel, a symlink to agencies/ in a checkout."""
    return Path(__file__).resolve().parents[1] / "_starters"


class Workspace:
    """A folder with agencies/, registry/, sandbox/ and tmux-agency.json."""

    __slots__ = ("root",)

    def __init__(self, root: Path) -> None:
        self.root = root

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def agencies_dir(self) -> Path:
        return self.root / "agencies"

    @property
    def registry_dir(self) -> Path:
        return self.root / "registry"

    @property
    def sandbox_dir(self) -> Path:
        return self.root / "sandbox"

    def agency_dir(self, name: str) -> Path:
        return self.agencies_dir / validate_name(name, "agency name")

    def settings(self) -> Settings:
        from pydantic import ValidationError

        from tmux_agency.models.schema import Settings

        try:
            data = json.loads(self.settings_path.read_text(encoding="utf-8"))
            return Settings.model_validate(data)
        except FileNotFoundError:
            return Settings()
        except json.JSONDecodeError as exc:
            raise UsageError(f"{self.settings_path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        except RecursionError:
            raise UsageError(f"{self.settings_path}: the JSON is nested too deeply") from None
        except UnicodeDecodeError as exc:
            raise UsageError(f"{self.settings_path}: not UTF-8 (at byte {exc.start})") from None
        except ValidationError as exc:
            raise UsageError(f"{self.settings_path}: {first_validation_error(exc)}") from None

    def project_dir(self) -> Path:
        """The repository the agents work on, as the settings name it."""
        return (self.root / self.settings().project).resolve()


def first_validation_error(exc: ValidationError) -> str:
    """One line from a pydantic error: the field's path and what is wrong with it."""
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"]) or "(top level)"
    return f"field {where}: {err['msg']}"


def find_workspace(home: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Workspace:
    """The workspace named by --home, else $TMUX_AGENCY_HOME, else the nearest one above cwd."""
    explicit = home or os.environ.get(HOME_ENV)
    if explicit:
        root = Path(explicit).expanduser().resolve()
        if not (root / SETTINGS_FILE).is_file():
            raise UsageError(
                f"{root} is not a tmux-agency workspace (no {SETTINGS_FILE}); run 'tmux-agency init {root}'"
            )
        return Workspace(root)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SETTINGS_FILE).is_file():
            return Workspace(folder)
    raise UsageError(f"no tmux-agency workspace in {here} or above; run 'tmux-agency init' or pass --home")


def init_workspace(root: Path, project: Path | None = None) -> tuple[Workspace, list[str]]:
    """Create (or complete) a workspace at `root`; return it and the paths it added.

    Existing files are never overwritten: running init twice is harmless.
    """
    root = root.expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a folder")
    if project is not None:
        project = project.expanduser().resolve()
        if not project.is_dir():
            raise UsageError(f"project folder {project} does not exist")
    try:
        return Workspace(root), _fill_workspace(root, project)
    except OSError as exc:  # a folder that cannot be made (/proc/..., read-only, no permission)
        where = exc.filename or root
        raise UsageError(f"cannot make the workspace {root}: {where}: {exc.strerror or exc}") from None


def _fill_workspace(root: Path, project: Path | None) -> list[str]:
    added: list[str] = []
    for sub in ("agencies", "registry", "sandbox"):
        folder = root / sub
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            added.append(f"{sub}/")
    # Registry files can hold secrets that agents pasted: the folder is the user's alone.
    os.chmod(root / "registry", 0o700)
    settings_path = root / SETTINGS_FILE
    if not settings_path.exists():
        project_field = _relative_or_absolute(project or Path.cwd().resolve(), root)
        from tmux_agency.models.schema import Settings

        settings = Settings(project=project_field)
        settings_path.write_text(settings.model_dump_json(indent=2) + "\n", encoding="utf-8")
        added.append(SETTINGS_FILE)
    source = starters_dir()
    for name in STARTER_AGENCIES:
        added += copy_missing(source / name, root / "agencies" / name, label=f"agencies/{name}")
    return added


def copy_missing(source: Path, target: Path, label: str, skip: tuple[str, ...] = ()) -> list[str]:
    """Copy files from `source` into `target` that `target` lacks, keeping modes; list what came.
    Logs and lessons belong to their agency and are never copied, nor top-level files in `skip`."""
    added: list[str] = []
    if not source.is_dir():
        return added
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_dir() or "__pycache__" in rel.parts or rel.parts[0] == "logs" or rel.name == "lessons.md":
            continue
        if str(rel) in skip:
            continue
        dest = target / rel
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        import shutil

        shutil.copy2(path, dest)
        added.append(f"{label}/{rel}")
    return added


def _relative_or_absolute(path: Path, root: Path) -> str:
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)
