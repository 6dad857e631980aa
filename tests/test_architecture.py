"""The package's shape, checked: layers import downwards only, no module imports itself back in a
circle, TinyDB and libtmux are each reached through one door, and only that door runs tmux.

    faces      cli/  tui/  __main__
    demo       demo/                      (its story, cast, scripted agent, API stand-in)
    services   services/
    doors      doors/                     (registry, tmux, processes, git, workspace, activity)
    models     models/

docs/architecture.md draws the same picture. Every import counts, those inside functions (the
package imports lazily, for start-up time) and under TYPE_CHECKING included.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tmux_agency"
LAYERS = {"models": 0, "doors": 1, "services": 2, "demo": 3, "cli": 4, "tui": 4}
DATA = ("profiles", "_starters")  # packages of data files (the shipped profiles, the starter agencies)
DOORS = {"tinydb": "tmux_agency.doors.registry", "libtmux": "tmux_agency.doors.tmux"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, as dotted names (relative imports resolved)."""
    own = module_name(path).split(".")
    package = own if path.name == "__init__.py" else own[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.add(module)
            # `from tmux_agency.services import bus` imports the module tmux_agency.services.bus
            found.update(
                f"{module}.{alias.name}"
                for alias in node.names
                if (PACKAGE.parent / f"{module}.{alias.name}".replace(".", "/")).with_suffix(".py").exists()
            )
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {
        name: {i for i in imports_of(path) if i in modules or i.split(".")[0] != "tmux_agency"}
        for name, path in modules.items()
    }


def layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return 0  # tmux_agency itself: its version
    if parts[1] == "__main__":
        return LAYERS["cli"]
    if parts[1] in DATA:
        return 0
    return LAYERS[parts[1]]


def test_every_module_sits_in_a_layer() -> None:
    strays = [m for m in graph() if len(m.split(".")) > 1 and m.split(".")[1] not in (*LAYERS, *DATA, "__main__")]
    assert strays == [], "each module belongs to models/, doors/, services/, demo/, cli/ or tui/"


def test_imports_point_down_only() -> None:
    upward = [
        f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
        for module, targets in graph().items()
        for target in targets
        if target.startswith("tmux_agency") and layer(target) > layer(module)
    ]
    assert upward == []


def test_no_module_imports_itself_back_through_a_circle() -> None:
    edges = {m: {t for t in ts if t.startswith("tmux_agency.") and t != m} for m, ts in graph().items()}
    # A package's __init__ may re-export its own modules; those edges are not circles of design.
    edges = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in edges.items()}
    circles = [c for c in _strongly_connected(edges) if len(c) > 1]
    assert circles == [], "\n".join(" → ".join(sorted(c)) for c in circles)


def door_bypasses() -> set[str]:
    return {
        module.removeprefix("tmux_agency.")
        for module, targets in graph().items()
        for target in targets
        if target.split(".")[0] in DOORS and module != DOORS[target.split(".")[0]]
    }


def test_tinydb_and_libtmux_are_each_reached_through_one_door() -> None:
    assert door_bypasses() == set(), "import TinyDB only in doors/registry.py, libtmux only in doors/tmux.py"


# A face names where it works (the workspace, the tmux server) and leaves the rest to services:
# one function per action, the same for the command line and the control room.
FACES_MAY_USE = {"tmux_agency.doors.workspace", "tmux_agency.doors.tmux"}


def doors_used_by_faces() -> set[str]:
    return {
        f"{module} imports {imported}"
        for module, imports in graph().items()
        if layer(module) == LAYERS["cli"]
        for imported in imports
        if imported.startswith("tmux_agency.doors") and imported not in FACES_MAY_USE | {"tmux_agency.doors"}
    }


def test_faces_reach_the_doors_through_services() -> None:
    assert doors_used_by_faces() == set(), "call a service function instead (add one the other face can use too)"


# The modules that compute without touching the world: they reach no door, directly or not.
PURE = (
    "tmux_agency.services.tasks.graph",
    "tmux_agency.services.metrics.facts",
    "tmux_agency.services.metrics.compute",
    "tmux_agency.services.metrics.render",
)


def test_the_pure_modules_reach_no_door() -> None:
    edges = graph()
    reached = {}
    for module in PURE:
        seen, todo = set(), [module]
        while todo:
            for target in edges.get(todo.pop(), ()):
                if target.startswith("tmux_agency.") and target not in seen:
                    seen.add(target)
                    todo.append(target)
        reached[module] = sorted(t for t in seen if t.startswith("tmux_agency.doors"))
    assert reached == {module: [] for module in PURE}


# What starts a process: with the tmux binary as its program, only doors/tmux.py may call these.
PROCESS_CALLS = {
    "subprocess": {"run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput"},
    "os": {
        "system",
        "popen",
        "posix_spawn",
        "posix_spawnp",
        "execv",
        "execve",
        "execvp",
        "execvpe",
        "execl",
        "execle",
        "execlp",
        "execlpe",
        "spawnv",
        "spawnve",
        "spawnvp",
        "spawnvpe",
        "spawnl",
        "spawnle",
        "spawnlp",
        "spawnlpe",
    },
}


def _names_tmux(node: ast.AST) -> bool:
    """An argv whose program is tmux (`["tmux", ...]`), or a command line that starts with it."""
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        node = node.elts[0]
        return isinstance(node, ast.Constant) and node.value == "tmux"
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.split(" ")[0] == "tmux"


def tmux_run_outside_the_door() -> list[str]:
    """Every place outside doors/ that runs the tmux binary: an argv for it, wherever it is built
    (a list or tuple that starts with "tmux"), or a process started with tmux as its program."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] == "doors":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.List, ast.Tuple)) and _names_tmux(node):
                found.append(f"{module_name(path)}:{node.lineno} builds an argv for tmux")
            elif (
                isinstance(node, ast.Call)
                and node.args
                and _names_tmux(node.args[0])
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.attr in PROCESS_CALLS.get(node.func.value.id, ())
            ):
                found.append(f"{module_name(path)}:{node.lineno} runs tmux")
    return sorted(set(found))


def test_tmux_is_run_through_its_door_only() -> None:
    """The door is the only way to tmux: no module outside doors/ runs the tmux binary."""
    assert tmux_run_outside_the_door() == [], "go through tmux_agency.doors.tmux.Tmux"


def registry_file_names() -> set[str]:
    """The names of the registry's files and logs, as the doors define them."""
    from tmux_agency.doors import chain, registry

    return {
        registry.AGENCIES,
        registry.MESSAGES,
        registry.APPROVALS,
        registry.TASKS,
        registry.SCHEDULE,
        registry.REVIEWS,
        registry.APPROVED,
        registry.BASE_LOG,
        registry.PANE_LOCKS,
        chain.HISTORY,
        chain.KEY_FILE,
        chain.HEAD_FILE,
    }


def test_registry_file_names_are_defined_in_the_doors_only() -> None:
    """A module outside doors/ that spelled a registry file's name would reach it by path, past
    the door (docstrings and messages may name the files: only a string that is the name counts)."""
    names = registry_file_names()
    spelled = sorted(
        f"{module_name(path)} spells {node.value!r}"
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "doors"
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Constant) and node.value in names
    )
    assert spelled == [], "import the name from doors/registry.py or doors/chain.py"


def test_the_checks_see_an_upward_import_a_circle_a_door_bypass_and_a_face_past_the_services(
    tmp_path: Path, monkeypatch
) -> None:
    """The checks above are not vacuous: a made-up package breaking each rule is caught."""
    import sys

    fake = tmp_path / "tmux_agency"
    for folder in ("models", "doors", "services", "cli"):
        (fake / folder).mkdir(parents=True)
        (fake / folder / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "models" / "names.py").write_text("from tmux_agency.services import bus\n")
    (fake / "services" / "bus.py").write_text("from tmux_agency.services.tasks import x\nimport tinydb\n")
    (fake / "services" / "tasks.py").write_text("def f():\n    from tmux_agency.services import bus\n")
    (fake / "doors" / "registry.py").write_text("")
    (fake / "cli" / "main.py").write_text("from tmux_agency.doors.registry import Registry\n")
    (fake / "services" / "jump.py").write_text("import subprocess\nargv = ['tmux', 'attach']\nsubprocess.run(argv)\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    checks = (
        test_imports_point_down_only,
        test_no_module_imports_itself_back_through_a_circle,
        test_tinydb_and_libtmux_are_each_reached_through_one_door,
        test_faces_reach_the_doors_through_services,
        test_tmux_is_run_through_its_door_only,
    )
    for check in checks:
        try:
            check()
        except AssertionError:
            continue
        raise AssertionError(f"{check.__name__} missed what it exists to catch")


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively (the graph is small, but recursion limits are not a design)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found
