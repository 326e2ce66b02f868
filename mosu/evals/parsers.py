"""Answer parsers: turn a model's raw text into the prediction a scorer compares.

Each parser is built by a small factory from its options and is a pure function
``str -> str | None`` (``None`` when no answer can be found, scored as wrong). Every parser
first removes a reasoning model's thinking (:func:`strip_think`) unless the task's parser
sets ``strip_think: false``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from mosu.evals.errors import TaskError

Parser = Callable[[str], str | None]


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.S)
_THINK_CLOSE = "</think>"
_THINK_OPEN = "<think>"


def strip_think(text: str) -> str | None:
    """The answer without a reasoning model's thinking; ``None`` when there is none.

    Removes every ``<think>…</think>`` block; text up to a ``</think>`` left without its
    opening tag (vendors whose chat template writes ``<think>`` into the prompt return only
    the closing tag); and answers ``None`` for a ``<think>`` never closed (the answer was
    cut inside the thinking, usually by ``max_tokens``) or nothing after the thinking.
    Text without either tag is returned as it is.
    """
    if _THINK_OPEN not in text and _THINK_CLOSE not in text:
        return text
    text = _THINK_BLOCK.sub("", text)
    if _THINK_CLOSE in text:
        text = text.rsplit(_THINK_CLOSE, 1)[1]
    if _THINK_OPEN in text:
        return None
    return text.strip() or None


def without_think(parse: Parser) -> Parser:
    """``parse`` applied to the answer after :func:`strip_think`."""

    def parse_answer(text: str) -> str | None:
        answer = strip_think(text)
        return None if answer is None else parse(answer)

    return parse_answer


def identity() -> Parser:
    """The whole answer, stripped of surrounding white space."""

    def parse(text: str) -> str | None:
        return text.strip()

    return parse


def first_line() -> Parser:
    """The first non-empty line."""

    def parse(text: str) -> str | None:
        for line in text.strip().splitlines():
            if line.strip():
                return line.strip()
        return None

    return parse


def regex(pattern: str, group: int = 1) -> Parser:
    """The given group of the first match of ``pattern``; a pattern that does not compile,
    or has no such group, is refused when the task is built, naming the field."""
    try:
        compiled = re.compile(pattern)
    except (re.error, TypeError) as exc:
        raise TaskError(f"pattern: invalid regular expression {pattern!r}: {exc}") from None
    if not 0 <= group <= compiled.groups:
        raise TaskError(
            f"group: the pattern {pattern!r} has {compiled.groups} group(s); no group {group}"
        )

    def parse(text: str) -> str | None:
        match = compiled.search(text)
        return match.group(group).strip() if match else None

    return parse


def choice_letter(letters: str = "ABCD") -> Parser:
    """A multiple-choice letter as Chinese models really write it.

    Accepts ``B``, ``B.``, ``（B）``, ``答案是 B``, ``答案：B``, ``选B``, full-width ``Ｂ`` and
    lower case, tried in that order of confidence; a bare letter elsewhere in the text counts
    only when exactly one distinct option letter appears.
    """
    cls = f"[{re.escape(letters)}{re.escape(letters.lower())}]"
    not_word = r"(?![A-Za-z])"
    patterns = [
        re.compile(rf"^\s*[\(\[【]?\s*({cls}){not_word}\s*[\)\]】]?\s*(?:[.。、:：,，)]|$)"),
        re.compile(
            rf"答案\s*(?:应该|应当|应|可能)?\s*(?:是|为|选|:|：)+\s*(?:选项)?\s*[\(\[【]?\s*({cls}){not_word}"
        ),
        re.compile(rf"(?:选择|选项|选)\s*[\(\[【]?\s*({cls}){not_word}"),
        re.compile(rf"[\(\[【]\s*({cls})\s*[\)\]】]"),
        re.compile(rf"({cls})\s*(?:选项)?\s*(?:是|为)?\s*(?:正确|对)"),
    ]
    bare = re.compile(rf"(?<![A-Za-z])([{re.escape(letters)}]){not_word}")

    def parse(text: str) -> str | None:
        norm = _nfkc(text).strip()
        for pattern in patterns:
            match = pattern.search(norm)
            if match:
                return match.group(1).upper()
        found = set(bare.findall(norm))
        return found.pop() if len(found) == 1 else None

    return parse


def label(labels: Sequence[str]) -> Parser:
    """One of ``labels``: an exact answer, else the single label named in the text.

    When several labels appear, the longest one that appears first wins; none gives ``None``.
    """
    if not labels:
        raise TaskError("labels: parser 'label' needs the task's labels")
    by_norm = {_nfkc(lab).strip().lower(): lab for lab in labels}
    ordered = sorted(labels, key=len, reverse=True)

    def parse(text: str) -> str | None:
        norm = _nfkc(text).strip().strip("。.！!\"'“”「」").lower()
        if norm in by_norm:
            return by_norm[norm]
        best: tuple[int, int, str] | None = None
        for lab in ordered:
            pos = norm.find(_nfkc(lab).lower())
            if pos >= 0 and (best is None or (pos, -len(lab)) < (best[0], best[1])):
                best = (pos, -len(lab), lab)
        return best[2] if best else None

    return parse


PARSERS: dict[str, Callable[..., Parser]] = {
    "identity": identity,
    "first_line": first_line,
    "regex": regex,
    "choice_letter": choice_letter,
    "label": label,
}


def build_parser(
    name: str, options: dict[str, Any], labels: Sequence[str] | None, *, where: str = "task"
) -> Parser:
    """Build a parser by name, with clear errors for unknown names and bad options, each
    naming ``where`` (the task file) and the field (``parser.pattern`` …).

    The option ``strip_think`` (default true), accepted by every parser, removes the
    thinking first (:func:`strip_think`)."""
    if name not in PARSERS:
        raise TaskError(
            f"{where}: parser: unknown parser {name!r}; known: {', '.join(sorted(PARSERS))}"
        )
    opts = dict(options)
    strip = opts.pop("strip_think", True)
    if not isinstance(strip, bool):
        raise TaskError(f"{where}: parser.strip_think: expected true or false, got {strip!r}")
    if name == "label" and "labels" not in opts:
        opts["labels"] = list(labels or [])
    try:
        parser = PARSERS[name](**opts)
        return without_think(parser) if strip else parser
    except TaskError as exc:
        raise TaskError(f"{where}: parser.{exc}") from None
    except TypeError as exc:
        raise TaskError(
            f"{where}: parser: parser {name!r}: bad options {sorted(options)} ({exc})"
        ) from None
