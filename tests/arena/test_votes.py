"""Reading and writing votes in Chatbot Arena's battle format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mosu import i18n
from mosu.arena import Battles, VoteFormatError, parse_votes, read_votes, write_votes
from tests.arena.helpers import arena

GOOD: list[dict[str, Any]] = [
    {"model_a": "gpt", "model_b": "glm", "winner": "model_a", "judge": "x", "turn": 1},
    {"model_a": "glm", "model_b": "qwen", "winner": "tie (bothbad)"},
    {"model_a": "qwen", "model_b": "gpt", "winner": "tie"},
    {"model_a": "gpt", "model_b": "qwen", "winner": "model_b"},
]


def test_json_lines_and_array_read_the_same(tmp_path: Path) -> None:
    lines = tmp_path / "votes.jsonl"
    lines.write_text("\ufeff" + "\n".join(json.dumps(r) for r in GOOD) + "\n\n", encoding="utf-8")
    array = tmp_path / "votes.json"
    array.write_text(json.dumps(GOOD, indent=2), encoding="utf-8")
    one, two = read_votes(lines), read_votes(array)
    assert one.models == two.models == ("glm", "gpt", "qwen")
    assert list(one.records()) == list(two.records())
    assert [r["winner"] for r in one.records()] == [r["winner"] for r in GOOD]
    assert next(one.records()) == {"model_a": "gpt", "model_b": "glm", "winner": "model_a"}


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_round_trip(tmp_path: Path, fmt: str) -> None:
    battles = arena(5, 300, seed=1)
    path = tmp_path / f"out.{fmt}"
    write_votes(battles, path, fmt=fmt)  # type: ignore[arg-type]
    back = read_votes(path)
    assert back.models == battles.models
    for name in ("model_a", "model_b", "outcome"):
        np.testing.assert_array_equal(getattr(back, name), getattr(battles, name))


def test_bad_lines_are_all_named() -> None:
    text = "\n".join(
        [
            json.dumps(GOOD[0]),
            '{"model_a": "a", "model_b": "b"}',
            json.dumps({"model_a": "a", "model_b": "b", "winner": "model_c"}),
            "",
            json.dumps({"model_a": "a", "model_b": "a", "winner": "tie"}),
            "{not json",
            "[1, 2]",
            json.dumps({"model_a": "a", "model_b": 3, "winner": "tie"}),
        ]
    )
    with pytest.raises(VoteFormatError) as info:
        parse_votes(text, source="v.jsonl")
    where = [(p.location, p.reason) for p in info.value.problems]
    assert where[0] == ("line 2", "missing field 'winner'")
    assert where[1][0] == "line 3" and "unknown winner 'model_c'" in where[1][1]
    assert where[2] == ("line 5", "model 'a' battles itself")
    assert where[3][0] == "line 6" and where[3][1].startswith("invalid JSON")
    assert where[4] == ("line 7", "expected a JSON object, got list")
    assert where[5][0] == "line 8" and "'model_b' must be a non-empty string" in where[5][1]
    assert info.value.code == "arena.bad_votes"
    assert str(info.value).startswith("v.jsonl：6 条投票有误：line 2: missing field 'winner'")
    english = i18n.render(info.value.text, "en")
    assert english.startswith("v.jsonl: 6 bad vote(s): line 2: missing field 'winner'")


def test_bad_array_names_records_and_broken_json_names_the_line() -> None:
    with pytest.raises(VoteFormatError, match="record 2: missing field 'model_a'"):
        parse_votes(json.dumps([GOOD[0], {"model_b": "x", "winner": "tie"}]))
    with pytest.raises(VoteFormatError, match="line 3: invalid JSON"):
        parse_votes('[\n{"model_a": "a",\n "model_b" "b"}]')


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.jsonl"
    path.write_bytes('{"model_a": "文心", "model_b": "b", "winner": "tie"}'.encode("gbk"))
    with pytest.raises(VoteFormatError, match="not UTF-8"):
        read_votes(path)


def test_battles_check_their_arrays() -> None:
    one = np.array([0], dtype=np.int32)
    with pytest.raises(ValueError, match="itself"):
        Battles(("a", "b"), one, one, np.array([0], dtype=np.int8))
    with pytest.raises(ValueError, match="outcome"):
        Battles(("a", "b"), one, one + 1, np.array([4], dtype=np.int8))
