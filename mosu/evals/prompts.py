"""Prompt templates (Jinja2, sandboxed, strict) and few-shot example selection.

A sample's image fields (:class:`~mosu.evals.images.ImageData`) are placed where the template
writes them (``{{ photo }}``): the user message then holds a list of OpenAI content parts,
text and ``image_url`` in the template's order, instead of one string."""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mosu.evals.errors import TaskError
from mosu.evals.images import ImageData
from mosu.evals.loaders import Sample

if TYPE_CHECKING:
    from jinja2 import Template as Compiled
    from jinja2.sandbox import SandboxedEnvironment

Message = dict[str, Any]
"""A chat message: ``role`` and ``content``, a string or (with images) a list of parts."""
_IMAGE_MARK = re.compile(r"\x00image:(\d+)\x00")
_NAME = re.compile(r"\{\{\s*([^\W\d]\w*)\s*\}\}")
"""``{{ name }}``: a variable and nothing else between the braces."""
_NOT_NAMES = frozenset({"true", "false", "none", "True", "False", "None", "not"})
"""Words that match :data:`_NAME` but that Jinja2 reads as a constant or an operator."""
_SYNTAX = ("{{", "{%", "{#")


@functools.cache
def _environment() -> SandboxedEnvironment:
    """Jinja2, sandboxed and strict; imported on first use: a race whose templates are
    text and ``{{ name }}`` (most) never loads it."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


class Template:
    """A prompt template that knows the variables it needs. A template that is only text and
    ``{{ name }}`` is filled in directly (what Jinja2 renders it to, at a tenth of the CPU: a
    race renders one prompt per request); any other is compiled by Jinja2."""

    def __init__(self, source: str, *, where: str) -> None:
        self.where = where
        self._source = source
        self._pieces = _substitution(source)
        self._compiled: Compiled | None = None
        if self._pieces is None:
            from jinja2 import TemplateSyntaxError, meta

            try:
                parsed = _environment().parse(source)
            except TemplateSyntaxError as exc:
                raise TaskError(
                    f"{where}: template syntax error on line {exc.lineno}: {exc.message}"
                ) from None
            self.variables = frozenset(meta.find_undeclared_variables(parsed))
            self._compiled = _environment().from_string(parsed)
        else:
            self.variables = frozenset(p[0] for p in self._pieces if isinstance(p, tuple))

    def check(self, available: Iterable[str]) -> None:
        """Raise a clear error if the template uses a variable the data does not have."""
        missing = sorted(self.variables - set(available))
        if missing:
            have = ", ".join(sorted(available))
            raise TaskError(
                f"{self.where}: template variable(s) {', '.join(missing)} not in the data (fields: {have})"
            )

    def render(self, values: dict[str, Any]) -> str:
        """The template filled in with ``values``, stripped."""
        if self._pieces is not None and self.variables <= values.keys():
            return "".join(
                piece if isinstance(piece, str) else str(values[piece[0]]) for piece in self._pieces
            ).strip()
        return self._jinja().render(values).strip()

    def _jinja(self) -> Compiled:
        """The template compiled by Jinja2 (a plain one only when it is needed: a variable
        missing from the values is Jinja2's error, as for any template)."""
        if self._compiled is None:
            self._compiled = _environment().from_string(self._source)
        return self._compiled


def _substitution(source: str) -> tuple[str | tuple[str], ...] | None:
    """The template's text and ``(name,)`` for each variable, when that is all it holds;
    ``None`` when it holds any other Jinja2 syntax (or a carriage return, which Jinja2
    turns into a newline)."""
    if "\r" in source:
        return None
    source = source.removesuffix("\n")  # as Jinja2 drops one final newline
    pieces: list[str | tuple[str]] = []
    at = 0
    for match in _NAME.finditer(source):
        text = source[at : match.start()]
        if text.endswith("{") or match.group(1) in _NOT_NAMES:
            return None  # "{{{ q }}": Jinja2's tag starts one brace earlier
        if text:
            pieces.append(text)
        pieces.append((match.group(1),))
        at = match.end()
    if source[at:]:
        pieces.append(source[at:])
    if any(mark in p for p in pieces if isinstance(p, str) for mark in _SYNTAX):
        return None
    return tuple(pieces)


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
    examples (each question followed by its answer) and the question. Images the template
    places make the user message's content a list of text and ``image_url`` parts."""
    images: list[ImageData] = []
    parts = [
        _render(template, ex.fields, images)
        + "\n"
        + _render(answer, {**ex.fields, "label": ex.label}, images)
        for ex in examples
    ]
    parts.append(_render(template, sample.fields, images))
    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": _content(separator.join(parts), images)})
    return messages


def _render(template: Template, values: dict[str, Any], images: list[ImageData]) -> str:
    """``template`` rendered with each image value replaced by a mark naming it in ``images``."""
    marked = dict(values)
    for name, value in values.items():
        if isinstance(value, ImageData):
            marked[name] = f"\x00image:{len(images)}\x00"
            images.append(value)
    return template.render(marked)


def _content(text: str, images: Sequence[ImageData]) -> str | list[dict[str, Any]]:
    """The text as it is, or split at the image marks into text and ``image_url`` parts."""
    if not images:
        return text
    pieces = _IMAGE_MARK.split(text)
    parts: list[dict[str, Any]] = []
    for index, piece in enumerate(pieces):
        if index % 2:
            parts.append(images[int(piece)].part())
        elif piece:
            parts.append({"type": "text", "text": piece})
    return parts if any(p["type"] == "image_url" for p in parts) else text


def content_text(content: str | list[dict[str, Any]]) -> str:
    """A message's text: the string, or its text parts joined (image parts left out)."""
    if isinstance(content, str):
        return content
    return "".join(p["text"] for p in content if p.get("type") == "text")


def content_image_parts(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A message's ``image_url`` parts (none for a string)."""
    return [] if isinstance(content, str) else [p for p in content if p.get("type") == "image_url"]


def with_images(text: str, source: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """``text`` as a message's content carrying the images of ``source`` (another message's
    content) before it: how a judge is shown the picture the answer was about."""
    images = content_image_parts(source)
    return [*images, {"type": "text", "text": text}] if images else text
