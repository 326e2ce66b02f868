"""The shape of the code, checked: module and function sizes, pages over views, one home for
role checks, and tests that import the project honestly.

Each check names every offender it finds; there are none today, and a new one fails.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MOSU = ROOT / "mosu"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

# Where a role may be compared outside mosu/permissions.py: the enum's own definition
# (models), the demo's seeding, and the labels registered with mosu.i18n.
ROLE_CHECK_HOMES = ("mosu/permissions.py", "mosu/demo/", "mosu/i18n/")
ROLE_CHECK_HOME_NAMES = ("models.py", "labels.py")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _modules() -> list[Path]:
    return sorted(p for p in MOSU.rglob("*.py") if "migrations" not in p.relative_to(MOSU).parts)


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"), filename=str(path))


def _scoped(tree: ast.AST, scope: str = "") -> Iterator[tuple[str, ast.AST]]:
    """Every node with the qualified name of the function or class around it."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            inner = f"{scope}.{node.name}" if scope else node.name
            yield inner, node
            yield from _scoped(node, inner)
        else:
            yield scope or "<module>", node
            yield from _scoped(node, scope)


def long_modules(paths: list[Path]) -> set[str]:
    """Modules over the line limit."""
    return {_rel(p) for p in paths if len(p.read_text("utf-8").splitlines()) > MAX_MODULE_LINES}


def long_functions(name: str, tree: ast.Module) -> set[str]:
    """``module::Class.function`` for each function over the line limit (its body and def)."""
    found = set()
    for scope, node in _scoped(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.add(f"{name}::{scope}")
    return found


def page_queries(name: str, tree: ast.Module) -> set[str]:
    """``module::function`` for each function that calls ``select(`` (SQLAlchemy's)."""
    found = set()
    for scope, node in _scoped(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == "select") or (
                isinstance(func, ast.Attribute)
                and func.attr == "select"
                and isinstance(func.value, ast.Name)
                and func.value.id in {"sa", "sqlalchemy"}
            ):
                found.add(f"{name}::{scope}")
    return found


def _is_route_module(dotted: str) -> bool:
    last = dotted.rsplit(".", 1)[-1]
    return last == "routes" or last.endswith("_routes")


def route_imports(name: str, tree: ast.Module) -> set[str]:
    """``module -> imported`` for each import of an API routes module (``routes``,
    ``race_routes``, ``io_routes``…)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found.update(f"{name} -> {t}" for t in targets if _is_route_module(t))
    return found


def _is_role_member(node: ast.AST) -> bool:
    """``Role.operator`` (any member of the Role enum)."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Role"
    )


def _mentions_role(node: ast.AST) -> bool:
    """A role member, a ``.role`` attribute, or a literal collection of role members."""
    if _is_role_member(node) or (isinstance(node, ast.Attribute) and node.attr == "role"):
        return True
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_role_member(e) for e in node.elts)
    return False


def _is_role_check(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "is_operator"
    if isinstance(node, ast.Name):
        return node.id == "is_operator"
    if isinstance(node, ast.Compare):
        return any(_mentions_role(side) for side in [node.left, *node.comparators])
    return False


def role_checks(name: str, tree: ast.Module) -> set[str]:
    """``module::function`` for each role check: ``is_operator``, or a comparison (``==``,
    ``!=``, ``is``, ``in``…) with a ``Role`` member or a ``.role`` attribute on either side."""
    return {f"{name}::{scope}" for scope, node in _scoped(tree) if _is_role_check(node)}


TEMPLATE_ROLE_CHECK = re.compile(r"\.is_operator\b|\.role\s*(?:==|!=|is\b|in\b|not\s+in\b)")


def template_role_checks(name: str, text: str) -> set[str]:
    """``template (n)`` when the template tests ``is_operator`` or compares ``.role`` n times
    (templates read capability flags that the views compute through mosu/permissions.py)."""
    n = len(TEMPLATE_ROLE_CHECK.findall(text))
    return {f"{name} ({n})"} if n else set()


def _role_check_home(name: str) -> bool:
    return name.startswith(ROLE_CHECK_HOMES) or name.rsplit("/", 1)[-1] in ROLE_CHECK_HOME_NAMES


@cache
def _runtime_imports() -> frozenset[str]:
    """Import names of the runtime dependencies in pyproject.toml, and ``mosu`` itself."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = {
        _dist_key(re.split(r"[\s\[<>=!;~]", d, maxsplit=1)[0]) for d in project["dependencies"]
    }
    names = {"mosu"}
    for module, dists in packages_distributions().items():
        if any(_dist_key(d) in wanted for d in dists):
            names.add(module)
    return frozenset(names)


def _dist_key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def importorskips(name: str, tree: ast.Module, runtime: frozenset[str]) -> set[str]:
    """``test -> module`` for each ``importorskip`` of mosu or of a runtime dependency."""
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            == "importorskip"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value.split(".")[0] in runtime
        ):
            found.add(f"{name} -> {node.args[0].value}")
    return found


def _check(found: set[str], what: str) -> None:
    assert not found, f"{what}: {sorted(found)}"


def _web_modules() -> list[Path]:
    return [p for p in _modules() if p.is_relative_to(MOSU / "web")]


def test_no_module_is_over_600_lines() -> None:
    _check(long_modules(_modules()), "modules over 600 lines")


def test_no_function_is_over_80_lines() -> None:
    found: set[str] = set()
    for path in _modules():
        found |= long_functions(_rel(path), _tree(path))
    _check(found, "functions over 80 lines")


def test_pages_do_not_query_the_database() -> None:
    found: set[str] = set()
    for path in _web_modules():
        found |= page_queries(_rel(path), _tree(path))
    _check(found, "select() in mosu/web (ask a view)")


def test_pages_do_not_import_route_modules() -> None:
    found: set[str] = set()
    for path in _web_modules():
        found |= route_imports(_rel(path), _tree(path))
    _check(found, "mosu/web imports an API routes module")


def test_role_checks_live_in_permissions() -> None:
    found: set[str] = set()
    for path in _modules():
        name = _rel(path)
        if not _role_check_home(name):
            found |= role_checks(name, _tree(path))
    _check(found, "role checks outside mosu/permissions.py")


def test_templates_read_flags_not_roles() -> None:
    found: set[str] = set()
    for path in sorted((MOSU / "web" / "templates").rglob("*.html")):
        found |= template_role_checks(_rel(path), path.read_text("utf-8"))
    _check(found, "role checks in templates")


def test_tests_do_not_skip_on_the_project_or_its_dependencies() -> None:
    runtime = _runtime_imports()
    assert {"mosu", "sqlalchemy", "yaml", "sklearn"} <= runtime
    found: set[str] = set()
    for path in sorted((ROOT / "tests").rglob("*.py")):
        found |= importorskips(_rel(path), _tree(path), runtime)
    _check(found, "importorskip hides a broken import")


# The detectors themselves, on small samples, so that an empty result means something.

SAMPLE = """
import mosu.challenges.race_routes
from mosu.registry import io_routes
from mosu.scenarios.routes import router
from mosu.web.routing import page

def page(actor, user, s):
    if actor.is_operator or user.role == Role.expert:
        s.execute(select(User))
    return actor.role in (Role.demand, Role.supplier)

class View:
    def ok(self, actor):
        return permissions.can_edit(actor), Role.operator, sa.select(X)
"""


@pytest.mark.parametrize(
    ("detector", "expected"),
    [
        (page_queries, {"x.py::page", "x.py::View.ok"}),
        (role_checks, {"x.py::page"}),
        (
            route_imports,
            {
                "x.py -> mosu.challenges.race_routes",
                "x.py -> mosu.registry.io_routes",
                "x.py -> mosu.scenarios.routes",
            },
        ),
    ],
)
def test_the_detectors_find_what_they_look_for(detector: object, expected: set[str]) -> None:
    assert callable(detector)
    assert detector("x.py", ast.parse(SAMPLE)) == expected


def test_the_size_and_skip_detectors() -> None:
    body = "\n".join(f"    x = {i}" for i in range(MAX_FUNCTION_LINES))
    tree = ast.parse(f"def big():\n{body}\n\ndef small():\n    return 1\n")
    assert long_functions("x.py", tree) == {"x.py::big"}
    tree = ast.parse(
        'pytest.importorskip("mosu.evals.ray_executor")\n'
        'importorskip("numpy")\npytest.importorskip("ray")\n'
    )
    found = importorskips("t.py", tree, frozenset({"mosu", "numpy"}))
    assert found == {"t.py -> mosu.evals.ray_executor", "t.py -> numpy"}
    assert _role_check_home("mosu/accounts/models.py") and _role_check_home("mosu/demo/race.py")
    assert not _role_check_home("mosu/web/supply_pages.py")
    text = "{% if actor.is_operator %}{{ label(actor.role) }}{% endif %}{% if u.role == 'expert' %}"
    assert template_role_checks("t.html", text) == {"t.html (2)"}
