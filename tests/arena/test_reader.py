"""Vote files read with orjson: the same battles as the plain reader, lmarena's filters."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mosu.arena.reader import VoteFilter, parse_vote_bytes
from mosu.arena.votes import VoteFormatError, dumps_votes, parse_votes
from tests.arena.helpers import arena


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_reads_the_battles_the_plain_reader_reads(fmt: str) -> None:
    battles = arena(7, 3_000, seed=2)
    text = dumps_votes(battles, fmt=fmt)  # type: ignore[arg-type]
    read = parse_vote_bytes(("\ufeff" + text).encode()).battles
    plain = parse_votes(text)
    assert read.models == plain.models
    for name in ("model_a", "model_b", "outcome"):
        np.testing.assert_array_equal(getattr(read, name), getattr(plain, name))


def record(a: str, b: str, winner: str, **extra: object) -> dict[str, object]:
    return {"model_a": a, "model_b": b, "winner": winner, **extra}


def test_anonymous_and_deduplicated_battles_only_by_default() -> None:
    records = [
        record("x", "y", "model_a", anony=True, dedup_tag={"high_freq": False, "sampled": True}),
        record("x", "y", "model_b", anony=False),
        record("y", "x", "tie", dedup_tag={"high_freq": True, "sampled": False}),
        record("y", "z", "model_a"),  # neither field: counted
    ]
    data = "\n".join(json.dumps(r) for r in records).encode()
    read = parse_vote_bytes(data)
    assert (read.named, read.deduplicated, len(read.battles)) == (1, 1, 2)
    assert read.battles.outcome.tolist() == [0, 0]
    every = parse_vote_bytes(data, filters=VoteFilter(anonymous_only=False, dedup=False))
    assert (every.named, every.deduplicated, len(every.battles)) == (0, 0, 4)
    array = parse_vote_bytes(json.dumps(records).encode())
    assert (array.named, array.deduplicated, len(array.battles)) == (1, 1, 2)


def test_every_bad_record_is_named() -> None:
    lines = [
        json.dumps(record("a", "b", "tie")),
        "",
        "{oops",
        json.dumps({"model_a": "a", "winner": "tie"}),
        json.dumps(record("a", "a", "tie")),
        json.dumps(record("a", "b", "draw")),
        "[1]",
    ]
    with pytest.raises(VoteFormatError) as info:
        parse_vote_bytes("\n".join(lines).encode(), source="v.jsonl")
    found = [(p.location, p.reason.split(":")[0]) for p in info.value.problems]
    assert found == [
        ("line 3", "invalid JSON"),
        ("line 4", "missing field 'model_b'"),
        ("line 5", "model 'a' battles itself"),
        ("line 6", "unknown winner 'draw' (expected one of model_a, model_b, tie, tie (bothbad))"),
        ("line 7", "expected a JSON object, got list"),
    ]
    with pytest.raises(VoteFormatError, match="byte 0: the file is not UTF-8"):
        parse_vote_bytes(b"\xff\xfe")
    with pytest.raises(VoteFormatError, match="record 2: field 'winner'"):
        parse_vote_bytes(json.dumps([record("a", "b", "tie"), record("a", "b", "")]).encode())
