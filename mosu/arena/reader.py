"""Reading vote files fast (读取投票文件), with Chatbot Arena's leaderboard filters.

A vote file is JSON lines, or one JSON array, of Chatbot Arena records (``model_a``,
``model_b``, ``winner``). Lines are parsed with orjson, one record at a time, straight
into integer arrays: no list of every record is kept.

Two fields of lmarena's ``clean_battle`` files decide which battles count, as on its
leaderboard:

- ``anony``: only anonymous battles (the voter saw no model names) are rated; a record
  without the field counts as anonymous. ``anonymous_only=False`` rates them all.
- ``dedup_tag``: lmarena marks the battles kept after de-duplicating its most repeated
  prompts with ``"sampled": true``; a record whose ``dedup_tag`` lacks it is left out.
  ``dedup=False`` keeps them; a record without the field is always kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from mosu.arena.votes import (
    WINNERS,
    Battles,
    InvalidLine,
    VoteFormatError,
    VoteProblem,
    record_problem,
)

_WINNER_CODE = {name: code for code, name in enumerate(WINNERS)}


@dataclass(frozen=True)
class VoteFilter:
    """Which battles a vote file's records count: see the module's docstring."""

    anonymous_only: bool = True
    dedup: bool = True


@dataclass(frozen=True)
class ReadVotes:
    """The battles read, and how many records each filter left out."""

    battles: Battles
    named: int = 0
    deduplicated: int = 0


def read_vote_file(path: str | Path, *, filters: VoteFilter | None = None) -> ReadVotes:
    """Battles from a vote file (UTF-8, JSON lines or a JSON array)."""
    path = Path(path)
    return parse_vote_bytes(path.read_bytes(), source=str(path), filters=filters)


def parse_vote_bytes(
    data: bytes, *, source: str = "votes", filters: VoteFilter | None = None
) -> ReadVotes:
    """Battles from the bytes of a vote file; raises :class:`VoteFormatError` naming every
    bad record (``line N`` in JSON lines, ``record N`` in an array)."""
    filters = filters or VoteFilter()
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VoteFormatError(
            source, [VoteProblem(f"byte {exc.start}", "the file is not UTF-8")]
        ) from exc
    if data.lstrip()[:1] == b"[":
        try:
            records = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            line = data.count(b"\n", 0, exc.pos) + 1
            raise VoteFormatError(
                source, [VoteProblem(f"line {line}", f"invalid JSON: {exc.msg}")]
            ) from exc
        if not isinstance(records, list):
            raise VoteFormatError(source, [VoteProblem("line 1", "expected a JSON array")])
        return _encode(((f"record {k}", r) for k, r in enumerate(records, 1)), source, filters)
    return _encode(_json_lines(data), source, filters)


def _json_lines(data: bytes) -> Iterable[tuple[int | str, object]]:
    loads, invalid = orjson.loads, orjson.JSONDecodeError
    for number, line in enumerate(data.split(b"\n"), 1):
        try:
            yield number, loads(line)
        except invalid as exc:
            if line.strip():
                yield number, InvalidLine(f"invalid JSON: {exc.msg}")


def _encode(
    numbered: Iterable[tuple[int | str, object]], source: str, filters: VoteFilter
) -> ReadVotes:
    index: dict[str, int] = {}
    add = index.setdefault
    code = _WINNER_CODE
    a_list: list[int] = []
    b_list: list[int] = []
    o_list: list[int] = []
    problems: list[VoteProblem] = []
    named = deduplicated = 0
    for where, record in numbered:
        try:
            a, b, o = record["model_a"], record["model_b"], code[record["winner"]]  # type: ignore[index]
            valid = type(a) is str and type(b) is str and a != b and a.strip() and b.strip()
        except (KeyError, TypeError):
            valid = False
        if not valid:
            at = f"line {where}" if isinstance(where, int) else where
            problems.append(VoteProblem(at, record_problem(record) or "not a vote"))
            continue
        assert isinstance(record, dict)
        if filters.anonymous_only and record.get("anony", True) is not True:
            named += 1
            continue
        tag = record.get("dedup_tag")
        if filters.dedup and isinstance(tag, dict) and tag.get("sampled") is not True:
            deduplicated += 1
            continue
        a_list.append(add(a, len(index)))
        b_list.append(add(b, len(index)))
        o_list.append(o)
    if problems:
        raise VoteFormatError(source, problems)
    names = sorted(index)
    order = np.empty(len(names), dtype=np.int32)
    order[[index[n] for n in names]] = np.arange(len(names), dtype=np.int32)
    battles = Battles(
        models=tuple(names),
        model_a=order[np.asarray(a_list, dtype=np.int32)],
        model_b=order[np.asarray(b_list, dtype=np.int32)],
        outcome=np.asarray(o_list, dtype=np.int8),
    )
    return ReadVotes(battles, named, deduplicated)
