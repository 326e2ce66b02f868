"""Scorers and model kinds are registries that other packages extend by entry points
(groups ``mosu.scorers`` and ``mosu.model_kinds``): each test installs a real distribution
(a ``.dist-info`` folder and a module) into a folder it puts on ``sys.path``."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mosu.evals import PluginError, Registry, run
from mosu.evals.errors import ModelSpecError, TaskError
from mosu.evals.models.specs import MODEL_KINDS, build_model
from mosu.evals.scorers import SCORERS, build_scorer
from tests.helpers.evals import toy_task

PLUGIN = Path(__file__).resolve().parent / "plugin" / "mosu_plugin_demo.py"
DEMO_ENTRY_POINTS = """\
[mosu.scorers]
contains = mosu_plugin_demo:contains

[mosu.model_kinds]
constant = mosu_plugin_demo:constant
"""


def install(folder: Path, monkeypatch: pytest.MonkeyPatch, name: str, entry_points: str) -> None:
    """A distribution ``name`` 1.0 with these entry points, found on ``sys.path``."""
    info = folder / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared registries forget plug-ins loaded by other tests (and this one's, after)."""
    for registry in (SCORERS, MODEL_KINDS):
        monkeypatch.setattr(registry, "_loaded", {})
    monkeypatch.delitem(sys.modules, "mosu_plugin_demo", raising=False)


@pytest.fixture
def demo_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    shutil.copy(PLUGIN, folder / PLUGIN.name)
    install(folder, monkeypatch, "mosu-plugin-demo", DEMO_ENTRY_POINTS)
    return folder


def test_plugins_are_listed_without_being_imported(demo_plugin: Path) -> None:
    assert "contains" in SCORERS.names() and "constant" in MODEL_KINDS.names()
    assert MODEL_KINDS.names()[:4] == ["openai", "baseline", "python", "predictions"]
    assert "mosu_plugin_demo" not in sys.modules
    assert build_model("baseline:majority") is not None
    assert "mosu_plugin_demo" not in sys.modules  # a built-in name loads no plug-in


def test_a_task_runs_with_a_plugin_scorer_and_model_kind(demo_plugin: Path, tmp_path: Path) -> None:
    task = toy_task(tmp_path, 40)
    task.scorers.append(build_scorer("contains", {"ignore_case": True}, None))
    result = run(task, {"floor": "constant:甲"}, store=tmp_path / "run.sqlite", replicates=20)
    metrics = result.models[0].metrics
    assert metrics["accuracy"].value == metrics["contains"].value == 0.25  # one label in four


def test_unknown_names_list_the_plugins(demo_plugin: Path) -> None:
    with pytest.raises(
        ModelSpecError, match="known: openai, baseline, python, predictions, constant"
    ):
        build_model("nothing:here")
    with pytest.raises(TaskError, match="accuracy, bleu, contains, exact_match"):
        build_scorer("nothing", {}, None)


def test_a_plugin_that_fails_to_load_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None
) -> None:
    (tmp_path / "mosu_broken_plugin.py").write_text("import not_a_module_anywhere\n")
    install(
        tmp_path,
        monkeypatch,
        "mosu-broken-plugin",
        "[mosu.scorers]\nbroken = mosu_broken_plugin:scorer\n",
    )
    with pytest.raises(PluginError) as caught:
        build_scorer("broken", {}, None)
    message = caught.value.message
    assert "scorer plug-in 'broken'" in message and "mosu-broken-plugin 1.0" in message
    assert "failed to load: ModuleNotFoundError" in message
    assert build_scorer("accuracy", {}, None).name == "accuracy"  # built-ins still work


def test_a_plugin_that_takes_a_builtin_name_is_refused(
    demo_plugin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(
        tmp_path / "other",
        monkeypatch,
        "mosu-clash",
        "[mosu.model_kinds]\nopenai = mosu_plugin_demo:constant\n",
    )
    with pytest.raises(
        PluginError, match=r"model kind plug-in 'openai' .*mosu-clash 1\.0.* built-in"
    ):
        build_model("constant:甲")
    assert build_model("baseline:majority") is not None


def test_two_plugins_with_one_name_are_refused(
    demo_plugin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(
        tmp_path / "other",
        monkeypatch,
        "mosu-clash",
        "[mosu.scorers]\ncontains = mosu_plugin_demo:constant\n",
    )
    with pytest.raises(
        PluginError,
        match=r"mosu-clash 1\.0.*mosu-plugin-demo 1\.0|mosu-plugin-demo 1\.0.*mosu-clash 1\.0",
    ):
        build_scorer("contains", {}, None)


def test_registry_in_code() -> None:
    registry: Registry[Callable[..., object]] = Registry("mosu.tests.nothing", "widget")
    registry.register("a")(len)
    with pytest.raises(ValueError, match="widget 'a' is registered twice"):
        registry.register("a")(len)
    assert registry.get("a") is len and registry.get("b") is None and registry.names() == ["a"]


def test_the_guide_shows_the_plugin_that_is_tested() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "guides" / "extending.md").read_text(
        encoding="utf-8"
    )
    source = PLUGIN.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.DOTALL)
    assert len(blocks) == 3
    for block in blocks:
        assert block in source, block
    for line in DEMO_ENTRY_POINTS.splitlines():
        if "=" in line:
            name, target = line.split(" = ")
            assert f'{name} = "{target}"' in guide, line
