"""The shape of the code, checked: module and function sizes, pages over views, one home for
role checks, and tests that import the project honestly.

Each check keeps today's offenders in an allow-list, each with its reason. A new offender fails,
and so does an allow-listed one that is gone (remove its line), so the lists only shrink.
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
MOVING = "being moved by issue 15"

# Where a role may be compared outside mosu/permissions.py: the enum's own definition
# (models), the demo's seeding, and the labels registered with mosu.i18n.
ROLE_CHECK_HOMES = ("mosu/permissions.py", "mosu/demo/", "mosu/i18n/")
ROLE_CHECK_HOME_NAMES = ("models.py", "labels.py")


def _moving(*keys: str) -> dict[str, str]:
    return dict.fromkeys(keys, MOVING)


ALLOWED_LONG_MODULES = _moving(
    "mosu/challenges/races.py",
    "mosu/challenges/service.py",
    "mosu/corpus/service.py",
    "mosu/registry/io.py",
    "mosu/registry/service.py",
    "mosu/supply/service.py",
    "mosu/web/challenge_pages.py",
)
ALLOWED_LONG_FUNCTIONS = _moving(
    "mosu/challenges/handlers.py::run_submission",
    "mosu/challenges/races.py::submit",
    "mosu/challenges/service.py::apply",
    "mosu/corpus/cli.py::import_cmd",
    "mosu/corpus/service.py::import_version",
    "mosu/corpus/validation.py::check",
    "mosu/demo/challenge.py::build_finished",
    "mosu/demo/loader.py::load_community",
    "mosu/evals/cli.py::run_cmd",
    "mosu/evals/fakeserver.py::_Protocol.handle",
    "mosu/evals/results.py::score_race",
    "mosu/evals/run.py::_execute",
    "mosu/evals/run.py::arun",
    "mosu/supply/report.py::report_xlsx",
    "mosu/supply/rules.py::compute_subsidy",
    "mosu/supply/service.py::create_application",
    "mosu/supply/service.py::review",
)
ALLOWED_PAGE_QUERIES = _moving(
    "mosu/web/challenge_pages.py::_organisation_choices",
    "mosu/web/corpus_pages.py::_organisations",
    "mosu/web/filing_pages.py::_filed_choices",
    "mosu/web/filing_pages.py::_model_choices",
    "mosu/web/model_pages.py::model_choices",
    "mosu/web/model_pages.py::organisation_choices",
    "mosu/web/race_pages.py::_all_submissions",
    "mosu/web/race_pages.py::_team_view",
    "mosu/web/race_pages.py::_versions",
    "mosu/web/scenario_pages.py::_form_page",
    "mosu/web/supply_offer_pages.py::_choices",
    "mosu/web/supply_offer_pages.py::firms_page",
    "mosu/web/supply_offer_pages.py::organisations",
    "mosu/web/supply_pages.py::_orgs",
)
ALLOWED_PAGE_ROUTE_IMPORTS = _moving(
    "mosu/web/challenge_pages.py -> mosu.challenges.routes",
    "mosu/web/corpus_pages.py -> mosu.corpus.routes",
    "mosu/web/race_pages.py -> mosu.challenges.race_routes",
)
ALLOWED_ROLE_CHECKS = _moving(
    "mosu/accounts/service.py::create_user",
    "mosu/accounts/service.py::revoke_api_token",
    "mosu/challenges/lifecycle.py::parties_of",
    "mosu/challenges/race_routes.py::get_inputs",
    "mosu/challenges/race_routes.py::race_out",
    "mosu/challenges/race_routes.py::submission_out",
    "mosu/challenges/races.py::cancel_submission",
    "mosu/challenges/service.py::_actor_organisations",
    "mosu/challenges/service.py::visible",
    "mosu/corpus/service.py::create_dataset",
    "mosu/registry/service.py::delete_filing",
    "mosu/registry/service.py::delete_organisation",
    "mosu/registry/service.py::list_endpoints",
    "mosu/registry/service.py::set_regional_total",
    "mosu/scenarios/service.py::visible",
    "mosu/supply/offers.py::_offer_owner",
    "mosu/supply/service.py::create_application",
    "mosu/supply/service.py::list_applications",
    "mosu/web/account_pages.py::_account_page",
    "mosu/web/board_pages.py::_own_supplier_org",
    "mosu/web/challenge_pages.py::can_apply_now",
    "mosu/web/corpus_pages.py::_organisations",
    "mosu/web/filing_pages.py::_model_choices",
    "mosu/web/model_pages.py::organisation_choices",
    "mosu/web/race_pages.py::_team_view",
    "mosu/web/scenario_pages.py::_form_page",
    "mosu/web/scenario_pages.py::list_scenarios",
    "mosu/web/supply_offer_pages.py::_choices",
    "mosu/web/supply_offer_pages.py::new_offer",
    "mosu/web/supply_pages.py::market",
    "mosu/web/supply_pages.py::new_application",
    "mosu/web/supply_pages.py::programme_page",
)
# Templates: each file with its number of role checks (a new check changes the number).
ALLOWED_TEMPLATE_ROLE_CHECKS = _moving(
    "mosu/web/templates/base.html (2)",
    "mosu/web/templates/challenges/detail.html (1)",
    "mosu/web/templates/challenges/list.html (1)",
    "mosu/web/templates/corpus/upload_form.html (1)",
    "mosu/web/templates/filings/list.html (1)",
    "mosu/web/templates/models/list.html (1)",
    "mosu/web/templates/orgs/list.html (1)",
    "mosu/web/templates/overview.html (1)",
    "mosu/web/templates/supply/applications.html (1)",
    "mosu/web/templates/supply/apply.html (1)",
    "mosu/web/templates/supply/market.html (1)",
    "mosu/web/templates/supply/programme.html (2)",
)
ALLOWED_IMPORTORSKIPS: dict[str, str] = {}


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


def _check(found: set[str], allowed: dict[str, str], what: str) -> None:
    new = sorted(found - allowed.keys())
    assert not new, f"{what}: {new}"
    gone = sorted(allowed.keys() - found)
    assert not gone, f"fixed, remove from the allow-list: {gone}"


def _web_modules() -> list[Path]:
    return [p for p in _modules() if p.is_relative_to(MOSU / "web")]


def test_no_module_is_over_600_lines() -> None:
    _check(long_modules(_modules()), ALLOWED_LONG_MODULES, "modules over 600 lines")


def test_no_function_is_over_80_lines() -> None:
    found: set[str] = set()
    for path in _modules():
        found |= long_functions(_rel(path), _tree(path))
    _check(found, ALLOWED_LONG_FUNCTIONS, "functions over 80 lines")


def test_pages_do_not_query_the_database() -> None:
    found: set[str] = set()
    for path in _web_modules():
        found |= page_queries(_rel(path), _tree(path))
    _check(found, ALLOWED_PAGE_QUERIES, "select() in mosu/web (ask a view)")


def test_pages_do_not_import_route_modules() -> None:
    found: set[str] = set()
    for path in _web_modules():
        found |= route_imports(_rel(path), _tree(path))
    _check(found, ALLOWED_PAGE_ROUTE_IMPORTS, "mosu/web imports an API routes module")


def test_role_checks_live_in_permissions() -> None:
    found: set[str] = set()
    for path in _modules():
        name = _rel(path)
        if not _role_check_home(name):
            found |= role_checks(name, _tree(path))
    _check(found, ALLOWED_ROLE_CHECKS, "role checks outside mosu/permissions.py")


def test_templates_read_flags_not_roles() -> None:
    found: set[str] = set()
    for path in sorted((MOSU / "web" / "templates").rglob("*.html")):
        found |= template_role_checks(_rel(path), path.read_text("utf-8"))
    _check(found, ALLOWED_TEMPLATE_ROLE_CHECKS, "role checks in templates")


def test_tests_do_not_skip_on_the_project_or_its_dependencies() -> None:
    runtime = _runtime_imports()
    assert {"mosu", "sqlalchemy", "yaml", "sklearn"} <= runtime
    found: set[str] = set()
    for path in sorted((ROOT / "tests").rglob("*.py")):
        found |= importorskips(_rel(path), _tree(path), runtime)
    _check(found, ALLOWED_IMPORTORSKIPS, "importorskip hides a broken import")


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
