"""mosu's evaluation engine (评测引擎), usable without the platform.

>>> from mosu.evals import load_task, run
>>> task = load_task("tnews", data_dir=Path("../shared/data"))
>>> result = run(task, {"tfidf": "baseline:tfidf"}, store=Path("runs/tnews.sqlite"))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mosu.evals.errors import (
    DataError,
    EvalError,
    ModelSpecError,
    PluginError,
    PredictionsError,
    TaskError,
)
from mosu.evals.executor import Breaker, Executor, LocalExecutor, Shard, WorkItem
from mosu.evals.limits import Limits
from mosu.evals.loaders import Sample, load_samples
from mosu.evals.models.base import Model, ModelError
from mosu.evals.models.specs import SpecContext, build_model
from mosu.evals.netpolicy import AddressPolicy
from mosu.evals.registry import Registry
from mosu.evals.run import Progress, arun, run
from mosu.evals.scorers import Scorer
from mosu.evals.settings import EvalSettings
from mosu.evals.tasks import DataSpec, Task, TaskSpec, builtin_tasks, load_task, parse_task

if TYPE_CHECKING:
    from mosu.evals.fakeserver import FakeConfig, FakeServer, serve_in_thread
    from mosu.evals.results import FailedModel, RaceResult, score_race

_LAZY = {
    # the fake server stays out of sys.modules until used, so ``python -m`` can run it
    "FakeConfig": "mosu.evals.fakeserver",
    "FakeServer": "mosu.evals.fakeserver",
    "serve_in_thread": "mosu.evals.fakeserver",
    # the scoring (NumPy) is imported once a race has its answers, not before its first
    # request: ``mosu eval run`` imports this package for its command
    "FailedModel": "mosu.evals.results",
    "RaceResult": "mosu.evals.results",
    "score_race": "mosu.evals.results",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mosu.evals' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "AddressPolicy",
    "Breaker",
    "DataError",
    "DataSpec",
    "EvalError",
    "EvalSettings",
    "Executor",
    "FailedModel",
    "FakeConfig",
    "FakeServer",
    "Limits",
    "LocalExecutor",
    "Model",
    "ModelError",
    "ModelSpecError",
    "PluginError",
    "PredictionsError",
    "Progress",
    "RaceResult",
    "Registry",
    "Sample",
    "Scorer",
    "Shard",
    "SpecContext",
    "Task",
    "TaskError",
    "TaskSpec",
    "WorkItem",
    "arun",
    "build_model",
    "builtin_tasks",
    "load_samples",
    "load_task",
    "parse_task",
    "run",
    "score_race",
    "serve_in_thread",
]
