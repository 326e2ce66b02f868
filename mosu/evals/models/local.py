"""Local models: built-in baselines trained on the task's train split, and any Python
callable named by import path. They answer in-process, with no cache and no retries."""

from __future__ import annotations

import importlib
import inspect
import logging
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mosu.evals.errors import ModelSpecError, TaskError
from mosu.evals.images import ImageData
from mosu.evals.limits import Limits
from mosu.evals.loaders import Sample
from mosu.evals.prompts import Message

if TYPE_CHECKING:
    from mosu.evals.tasks import Task

LOCAL_LIMITS = Limits(concurrency=1, retries=0, timeout=3600.0)


def sample_text(sample: Sample) -> str:
    """The sample's text input fields joined, as the baselines read it (images left out)."""
    return "\n".join(
        str(v) for v in sample.fields.values() if v is not None and not isinstance(v, ImageData)
    )


class _Baseline:
    limits = LOCAL_LIMITS
    identity: str | None = None
    endpoint: str | None = None

    def __init__(self) -> None:
        self._answers: dict[str, str] = {}

    def _train(self, task: Task) -> list[Sample]:
        split = task.spec.train_split
        if split is None:
            raise TaskError(f"task {task.name} has no train_split for a baseline to learn from")
        train = task.samples(split)
        if not train:
            raise TaskError(f"task {task.name}: train split {split!r} is empty")
        return train

    async def prepare(self, task: Task) -> None:
        raise NotImplementedError

    async def complete(self, sample_id: str, messages: list[Message]) -> str:
        return self._answers[sample_id]

    async def aclose(self) -> None:
        return None


class MajorityBaseline(_Baseline):
    """Always answers the most frequent label of the train split (ties: first seen)."""

    async def prepare(self, task: Task) -> None:
        label = Counter(s.label for s in self._train(task)).most_common(1)[0][0]
        self._answers = {s.id: label for s in task.samples()}


class TfidfBaseline(_Baseline):
    """jieba-tokenised TF-IDF (words and character bigrams) + logistic regression."""

    def __init__(self, *, c: float = 10.0) -> None:
        super().__init__()
        self.c = c

    async def prepare(self, task: Task) -> None:
        import jieba
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        jieba.setLogLevel(logging.WARNING)
        train = self._train(task)
        labels = {s.label for s in train}
        test = task.samples()
        if len(labels) == 1:
            self._answers = {s.id: train[0].label for s in test}
            return
        words = TfidfVectorizer(
            tokenizer=jieba.lcut, token_pattern=None, lowercase=True, sublinear_tf=True
        )
        chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        model = make_pipeline(make_union(words, chars), LogisticRegression(C=self.c, max_iter=2000))
        model.fit([sample_text(s) for s in train], [s.label for s in train])
        predictions = model.predict([sample_text(s) for s in test])
        self._answers = {s.id: str(p) for s, p in zip(test, predictions, strict=True)}


BASELINES: dict[str, Callable[..., _Baseline]] = {
    "majority": MajorityBaseline,
    "tfidf": TfidfBaseline,
}


class PythonModel:
    """A callable ``func(messages) -> str`` (or ``async def``), named ``package.module:func``.

    The module is imported with :func:`importlib.import_module`, so it must be on
    ``sys.path``: the ``mosu`` command does not put the current folder there, ``PYTHONPATH=.``
    or ``python -m mosu.evals.cli`` does."""

    limits = LOCAL_LIMITS
    identity: str | None = None
    endpoint: str | None = None

    def __init__(self, target: str) -> None:
        module_name, _, attr = target.partition(":")
        if not module_name or not attr:
            raise ModelSpecError(f"python model {target!r}: expected 'package.module:function'")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except ImportError as exc:
            raise ModelSpecError(
                f"python model {target!r}: {exc} (the module is imported from Python's path: "
                "run from its folder with PYTHONPATH=. or python -m mosu.evals.cli)"
            ) from None
        except AttributeError as exc:
            raise ModelSpecError(f"python model {target!r}: {exc}") from None
        if not callable(obj):
            raise ModelSpecError(f"python model {target!r} is not callable")
        self.func: Callable[[list[Message]], Any] = obj

    async def prepare(self, task: Task) -> None:
        return None

    async def complete(self, sample_id: str, messages: list[Message]) -> str:
        result = self.func(messages)
        if inspect.isawaitable(result):
            result = await result
        return str(result)

    async def aclose(self) -> None:
        return None
