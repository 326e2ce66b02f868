"""Prompt templates (Jinja2, sandboxed, strict) and few-shot example selection."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from mosu.evals.errors import TaskError
from mosu.evals.loaders import Sample

Message = dict[str, str]

_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)


class Template:
    """A compiled Jinja2 template that knows the variables it needs."""

    def __init__(self, source: str, *, where: str) -> None:
        try:
            parsed = _ENV.parse(source)
        except TemplateSyntaxError as exc:
            raise TaskError(
                f"{where}: template syntax error on line {exc.lineno}: {exc.message}"
            ) from None
        self.variables = frozenset(meta.find_undeclared_variables(parsed))
        self.where = where
        self._template = _ENV.from_string(source)

    def check(self, available: Iterable[str]) -> None:
        """Raise a clear error if the template uses a variable the data does not have."""
        missing = sorted(self.variables - set(available))
        if missing:
            have = ", ".join(sorted(available))
            raise TaskError(
                f"{self.where}: template variable(s) {', '.join(missing)} not in the data (fields: {have})"
            )

    def render(self, values: dict[str, Any]) -> str:
        return self._template.render(values).strip()


def select_fewshot(
    sample: Sample, pool: Sequence[Sample], n: int, *, seed: int | None, same_category: bool
) -> list[Sample]:
    """``n`` examples for ``sample``: from its own category when asked and available, never
    the sample itself; the first ``n`` in file order, or a seeded shuffle."""
    candidates = [s for s in pool if s is not sample]
    if same_category and sample.category is not None:
        own = [s for s in candidates if s.category == sample.category]
        candidates = own or candidates
    if seed is not None:
        candidates = list(candidates)
        random.Random(f"{seed}:{sample.id}").shuffle(candidates)
    return list(candidates[:n])


def build_messages(
    sample: Sample,
    *,
    template: Template,
    answer: Template,
    examples: Sequence[Sample] = (),
    system: str | None = None,
    separator: str = "\n\n",
) -> list[Message]:
    """Chat messages: an optional system message and one user message holding the few-shot
    examples (each question followed by its answer) and the question."""
    parts = [
        template.render(ex.fields) + "\n" + answer.render({**ex.fields, "label": ex.label})
        for ex in examples
    ]
    parts.append(template.render(sample.fields))
    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": separator.join(parts)})
    return messages
