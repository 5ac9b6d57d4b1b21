"""The house rules of the package (README, "Layout"), checked by walking its imports.

Each rule names the folders a module may not import at run time; imports under
``if TYPE_CHECKING:`` are types only and exempt. A failure names the offending import.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mockchats"
#: What a model of a service (its rules and state) must never import: it knows no HTTP.
HTTP_LIBRARIES = {"flask", "werkzeug", "requests", "httpx", "urllib3", "granian", "http", "waitress"}
#: The folders (and top-level modules) that put everything together: only these import them all.
ROOTS = {"app", "cli", "pytest_plugin", "inprocess", "__init__", "__main__"}
SERVICES = {"chats", "sessions", "hubs"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted under mockchats: "core.pipeline"
    target: str  # what it imports, absolute: "mockchats.chats.models", "flask"
    line: int
    deferred: bool  # inside a function
    commented: bool  # a comment on the import's block or the line just above it

    def __str__(self) -> str:
        return f"mockchats/{self.module.replace('.', '/')}.py:{self.line} imports {self.target}"

    @property
    def inner(self) -> str | None:
        """The first part under mockchats ("core", "chats", "app"), or None for another package."""
        if self.target == "mockchats":
            return "__init__"
        if self.target.startswith("mockchats."):
            return self.target.split(".")[1]
        return None


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return lines


def imports() -> Iterator[Import]:
    """Every run-time import of every module of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if "data" in path.relative_to(PACKAGE).parts:
            continue
        text = path.read_text(encoding="utf-8")
        source = text.splitlines()
        tree = ast.parse(text)
        module = _module_name(path)
        package = module.split(".")[:-1] if not module.endswith("__init__") else module.split(".")[:-1]
        types_only = _type_checking_lines(tree)
        deferred_lines = {sub.lineno for node in ast.walk(tree)
                          if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                          for sub in ast.walk(node) if isinstance(sub, (ast.Import, ast.ImportFrom))}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.lineno in types_only:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif node.level:
                base = ["mockchats", *package][: len(package) + 2 - node.level]
                stem = ".".join(base + ([node.module] if node.module else []))
                # `from . import x`: x may be a module; judge it as one when it is.
                targets = [f"{stem}.{alias.name}" if node.module is None else stem for alias in node.names]
            else:
                targets = [node.module or ""]
            for target in targets:
                yield Import(module, target, node.lineno, node.lineno in deferred_lines,
                             _commented(source, node.lineno))


def _commented(source: list[str], line: int) -> bool:
    """Whether the import at ``line`` (1-based), its run of neighbouring imports, or the line
    just above that run carries a comment saying why."""
    def part_of_run(text: str) -> bool:  # imports, and the blank lines that group them
        return text.strip().startswith(("import ", "from ")) or not text.strip()

    first = line - 1
    while first > 0 and part_of_run(source[first - 1]):
        first -= 1
    last = line - 1
    while last + 1 < len(source) and part_of_run(source[last + 1]):
        last += 1
    return any("#" in text for text in source[max(first - 1, 0):last + 1])


ALL = list(imports())


def _offending(rule) -> list[str]:
    return [str(found) for found in ALL if rule(found)]


def _first(module: str) -> str:
    return module.split(".")[0]


def test_the_walk_sees_the_package():
    # A walk that found nothing would pass every rule below.
    assert len({found.module for found in ALL}) > 30
    assert any(found.target == "mockchats.core.pipeline" for found in ALL)


def test_aspnet_imports_nothing_else_of_mockchats():
    # ASP.NET Core's habits stand alone: no I/O, no mock around them.
    assert _offending(lambda f: _first(f.module) == "aspnet" and f.inner not in (None, "aspnet")) == []


def test_aspnet_does_no_io():
    io = {"socket", "requests", "httpx", "urllib3", "granian", "flask", "threading", "asyncio", "subprocess"}
    assert _offending(lambda f: _first(f.module) == "aspnet" and _first(f.target) in io) == []


def test_core_imports_no_service_control_contract_serving_or_cli():
    allowed = {None, "core", "aspnet"}
    assert _offending(lambda f: _first(f.module) == "core" and f.inner not in allowed) == []


def test_a_services_model_knows_no_http_no_aspnet_and_no_control():
    def breaks(found: Import) -> bool:
        if found.module.split(".")[0] not in SERVICES or not found.module.endswith(".models"):
            return False
        return _first(found.target) in HTTP_LIBRARIES or found.inner in {"aspnet", "control", "contract",
                                                                          "serving", *ROOTS}
    assert _offending(breaks) == []


def test_a_service_imports_no_control_contract_serving_or_root():
    forbidden = {"control", "contract", "serving", "worlds", *ROOTS}
    assert _offending(lambda f: _first(f.module) in SERVICES and f.inner in forbidden) == []


def test_a_service_imports_no_other_service():
    # They meet in the composition root only (app.py): the Chats API follows the Session API's
    # events and reads its tokens through what app.py hands it.
    assert _offending(lambda f: _first(f.module) in SERVICES and f.inner in SERVICES
                      and f.inner != _first(f.module)) == []


def test_serving_is_given_the_app_and_imports_no_service():
    forbidden = {*SERVICES, "control", "contract", "worlds", *ROOTS}
    assert _offending(lambda f: _first(f.module) == "serving" and f.inner in forbidden) == []


def test_only_the_roots_import_the_composition_root():
    assert _offending(lambda f: f.inner in ROOTS - {"__init__"} and _first(f.module) not in ROOTS) == []


def test_the_control_client_stays_light():
    # The pytest plugin imports it into every partner's test run.
    heavy = {"flask", "werkzeug", "jsonschema", "granian", "requests", "yaml", "apispec", "orjson"}
    assert _offending(lambda f: f.module == "control.client" and not f.deferred
                      and (_first(f.target) in heavy or f.inner not in (None, "control", "types"))) == []


def test_the_walk_sees_every_service():
    assert {found.module.split(".")[0] for found in ALL} >= SERVICES
    assert {"sessions.models", "chats.models"} <= {found.module for found in ALL}


def test_signing_libraries_load_only_where_used():
    # eth-account takes about a second to import, PyJWT tens of milliseconds: on first use only.
    heavy = [found for found in ALL if found.target.split(".")[0] in ("eth_account", "jwt")]
    assert heavy and all(found.deferred and found.commented for found in heavy)


def test_a_deferred_import_says_why():
    # Deferred imports are for start-up cost only, and say so where they are.
    assert _offending(lambda f: f.deferred and not f.commented) == []


def test_no_import_cycle():
    graph: dict[str, set[str]] = {}
    for found in ALL:
        if found.inner is None or found.deferred:
            continue
        target = found.target.removeprefix("mockchats.") if found.target != "mockchats" else "__init__"
        if target in ("__init__",) or (PACKAGE / (target.replace(".", "/") + ".py")).exists():
            graph.setdefault(found.module, set()).add(target)
        elif (PACKAGE / target.replace(".", "/") / "__init__.py").exists():
            graph.setdefault(found.module, set()).add(target + ".__init__")
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        if node in trail:
            cycle = trail[trail.index(node):]
            # A package's __init__ importing its own modules, which import siblings, is no cycle.
            if not all(step.endswith("__init__") for step in cycle[:1]):
                cycles.append([*cycle, node])
            return
        for target in sorted(graph.get(node, ())):
            visit(target, [*trail, node])

    for start in sorted(graph):
        visit(start, [])
    assert cycles == []


@pytest.mark.parametrize("folder", ["aspnet", "core", "chats", "sessions", "control", "contract", "serving"])
def test_each_folder_says_what_it_holds(folder):
    init = PACKAGE / folder / "__init__.py"
    assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{init} has no docstring"


def test_the_old_fixtures_name_still_works_for_a_release_with_a_warning():
    from mockchats import worlds

    with pytest.warns(DeprecationWarning, match=r"from mockchats import worlds"):
        from mockchats import fixtures
    assert fixtures.load_scenario is worlds.load_scenario
