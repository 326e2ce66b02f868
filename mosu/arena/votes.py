"""Arena votes (对战投票) in the format Chatbot Arena publishes its battles in.

A vote file is JSON lines, or one JSON array, of records holding ``model_a``,
``model_b`` and ``winner`` (one of ``model_a``, ``model_b``, ``tie``,
``tie (bothbad)``); every other field is ignored. In memory the votes are
:class:`Battles`: model names once, and three integer arrays in battle order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from mosu.arena.errors import BAD_VOTES
from mosu.core.errors import MosuError

WINNERS: tuple[str, ...] = ("model_a", "model_b", "tie", "tie (bothbad)")
"""The ``winner`` values, in the order of their outcome codes 0..3."""

MODEL_A, MODEL_B, TIE, TIE_BOTHBAD = range(4)
_WINNER_CODE = {name: code for code, name in enumerate(WINNERS)}
_SHOWN_PROBLEMS = 10


class ArenaError(MosuError):
    """Arena input that cannot be rated."""

    code = "arena_error"


@dataclass(frozen=True)
class VoteProblem:
    """One bad vote: where it is (``line 7`` or ``record 7``) and why."""

    location: str
    reason: str


class VoteFormatError(ArenaError):
    """A vote file with bad records; ``problems`` names every one of them."""

    def __init__(self, source: str, problems: Sequence[VoteProblem]) -> None:
        shown = "; ".join(f"{p.location}: {p.reason}" for p in problems[:_SHOWN_PROBLEMS])
        more = len(problems) - _SHOWN_PROBLEMS
        tail = f"; … (+{more})" if more > 0 else ""
        super().__init__(
            BAD_VOTES.text(source=source, count=len(problems), problems=shown + tail),
            details=[{"location": p.location, "reason": p.reason} for p in problems],
            code=BAD_VOTES.code,
        )
        self.problems = list(problems)


@dataclass(frozen=True, eq=False)
class Battles:
    """Pairwise battles in the order they were voted.

    ``model_a[k]`` and ``model_b[k]`` index ``models``; ``outcome[k]`` is the
    position of the battle's ``winner`` in :data:`WINNERS`.
    """

    models: tuple[str, ...]
    model_a: NDArray[np.int32]
    model_b: NDArray[np.int32]
    outcome: NDArray[np.int8]

    def __post_init__(self) -> None:
        n = len(self.model_a)
        if len(self.model_b) != n or len(self.outcome) != n:
            raise ValueError("model_a, model_b and outcome must have the same length")
        if len(set(self.models)) != len(self.models):
            raise ValueError("model names must be unique")
        if n:
            m = len(self.models)
            for name, idx in (("model_a", self.model_a), ("model_b", self.model_b)):
                if idx.min() < 0 or idx.max() >= m:
                    raise ValueError(f"{name} holds an index outside the {m} models")
            if np.any(self.model_a == self.model_b):
                raise ValueError("a model cannot battle itself")
            if self.outcome.min() < 0 or self.outcome.max() >= len(WINNERS):
                raise ValueError("outcome codes must be 0..3")

    def __len__(self) -> int:
        return len(self.outcome)

    @classmethod
    def from_records(
        cls, records: Iterable[object], *, source: str = "votes", unit: str = "record"
    ) -> Battles:
        """Battles from vote records, checking each; raises :class:`VoteFormatError`."""
        return _encode(((f"{unit} {k}", r) for k, r in enumerate(records, 1)), source)

    def records(self) -> Iterator[dict[str, str]]:
        """The battles as Chatbot Arena records, in battle order."""
        names = self.models
        for a, b, o in zip(
            self.model_a.tolist(), self.model_b.tolist(), self.outcome.tolist(), strict=True
        ):
            yield {"model_a": names[a], "model_b": names[b], "winner": WINNERS[o]}

    def battles_per_model(self) -> NDArray[np.int64]:
        """How many battles each model fought."""
        m = len(self.models)
        return np.bincount(self.model_a, minlength=m) + np.bincount(self.model_b, minlength=m)


def _encode(numbered: Iterable[tuple[str, object]], source: str) -> Battles:
    index: dict[str, int] = {}
    a_list: list[int] = []
    b_list: list[int] = []
    o_list: list[int] = []
    problems: list[VoteProblem] = []
    for where, record in numbered:
        reason = record_problem(record)
        if reason is not None:
            problems.append(VoteProblem(where, reason))
            continue
        assert isinstance(record, Mapping)
        a_list.append(index.setdefault(record["model_a"], len(index)))
        b_list.append(index.setdefault(record["model_b"], len(index)))
        o_list.append(_WINNER_CODE[record["winner"]])
    if problems:
        raise VoteFormatError(source, problems)
    names = sorted(index)
    order = np.empty(len(names), dtype=np.int32)
    order[[index[n] for n in names]] = np.arange(len(names), dtype=np.int32)
    return Battles(
        models=tuple(names),
        model_a=order[np.asarray(a_list, dtype=np.int32)],
        model_b=order[np.asarray(b_list, dtype=np.int32)],
        outcome=np.asarray(o_list, dtype=np.int8),
    )


class InvalidLine(str):
    """A line that did not parse; :func:`record_problem` reports it by its own text."""


def record_problem(record: object) -> str | None:
    """Why a parsed record is not a vote, or None when it is one."""
    if isinstance(record, InvalidLine):
        return str(record)
    if not isinstance(record, Mapping):
        return f"expected a JSON object, got {type(record).__name__}"
    for key in ("model_a", "model_b", "winner"):
        if key not in record:
            return f"missing field {key!r}"
        value = record[key]
        if not isinstance(value, str) or not value.strip():
            return f"field {key!r} must be a non-empty string, got {value!r}"
    if record["winner"] not in _WINNER_CODE:
        return f"unknown winner {record['winner']!r} (expected one of {', '.join(WINNERS)})"
    if record["model_a"] == record["model_b"]:
        return f"model {record['model_a']!r} battles itself"
    return None


def parse_votes(text: str, *, source: str = "votes") -> Battles:
    """Battles from the text of a vote file: a JSON array, or JSON lines."""
    text = text.removeprefix("\ufeff")
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise VoteFormatError(
                source, [VoteProblem(f"line {exc.lineno}", f"invalid JSON: {exc.msg}")]
            ) from exc
        if not isinstance(records, list):
            raise VoteFormatError(source, [VoteProblem("line 1", "expected a JSON array")])
        return Battles.from_records(records, source=source)
    return _encode(_json_lines(text), source)


def _json_lines(text: str) -> Iterator[tuple[str, object]]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record: object = json.loads(line)
        except json.JSONDecodeError as exc:
            record = InvalidLine(f"invalid JSON: {exc.msg}")
        yield f"line {number}", record


def read_votes(path: str | Path) -> Battles:
    """Battles from a vote file (UTF-8, JSON lines or a JSON array)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VoteFormatError(
            str(path), [VoteProblem(f"byte {exc.start}", "the file is not UTF-8")]
        ) from exc
    return parse_votes(text, source=str(path))


def dumps_votes(battles: Battles, *, fmt: Literal["jsonl", "json"] = "jsonl") -> str:
    """The battles as the text of a vote file, in battle order."""
    if fmt == "json":
        return json.dumps(list(battles.records()), ensure_ascii=False, indent=1) + "\n"
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in battles.records())


def write_votes(
    battles: Battles, path: str | Path, *, fmt: Literal["jsonl", "json"] = "jsonl"
) -> None:
    """Write the battles as a vote file that :func:`read_votes` reads back."""
    Path(path).write_text(dumps_votes(battles, fmt=fmt), encoding="utf-8")
