"""Vote files read fast (msgspec, typed) and record by record (orjson): the same battles as
the plain reader, lmarena's filters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mosu.arena import reader
from mosu.arena.reader import VoteFilter, parse_vote_bytes, record_by_record
from mosu.arena.votes import WINNERS, VoteFormatError, dumps_votes, parse_votes
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


def lmarena_records(n: int, seed: int) -> list[dict[str, object]]:
    """Records shaped like lmarena's clean_battle files: nested tags, numbers, escapes,
    non-ASCII text and fields the reader skips, with every filter case."""
    rng = np.random.default_rng(seed)
    names = ["gpt-4o", "claude-3", "qwen2.5-72b", 'odd "name" \\ 模型', "llama-3"]
    winners = ["model_a", "model_b", "tie", "tie (bothbad)"]
    out = []
    for k in range(n):
        a, b = rng.choice(len(names), 2, replace=False)
        rec: dict[str, object] = record(names[a], names[b], winners[rng.integers(4)])
        rec.update(question_id=f"{k:08x}", tstamp=1.7e9 + k * 0.5, turn=int(rng.integers(1, 4)))
        rec["conversation_a"] = [{"role": "user", "content": 'say "hi"\n {"model_a": "x"} 你好'}]
        rec["category_tag"] = {"math_v0.1": {"math": bool(k % 2)}, "criteria": [1, None, 2.5]}
        if k % 3:
            rec["anony"] = bool(k % 5)
        if k % 4:
            rec["dedup_tag"] = {"high_freq": bool(k % 2), "sampled": bool(k % 7)}
        out.append(rec)
    return out


@pytest.mark.parametrize("anonymous_only", [True, False])
@pytest.mark.parametrize("dedup", [True, False])
def test_typed_reader_equals_the_record_by_record_one(anonymous_only: bool, dedup: bool) -> None:
    records = lmarena_records(400, seed=5)
    filters = VoteFilter(anonymous_only=anonymous_only, dedup=dedup)
    lines = "\n".join(json.dumps(r, ensure_ascii=bool(len(r) % 2)) for r in records) + "\n\n"
    array = json.dumps(records, indent=1, ensure_ascii=False)
    want = record_by_record(lines.encode(), "v", filters)
    assert len(want.battles) > 100 and (want.named > 0) == anonymous_only
    assert (want.deduplicated > 0) == dedup
    for text in (lines, array):
        assert reader._typed(text.encode(), filters) is not None  # the fast path read it
        got = parse_vote_bytes(text.encode(), filters=filters)
        assert (got.named, got.deduplicated) == (want.named, want.deduplicated)
        assert got.battles.models == want.battles.models
        for name in ("model_a", "model_b", "outcome"):
            np.testing.assert_array_equal(getattr(got.battles, name), getattr(want.battles, name))


def test_typed_reader_cuts_blocks_on_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "BLOCK", 100)  # a block every line or two
    battles = arena(6, 500, seed=4)
    data = dumps_votes(battles).encode()
    assert len(list(reader._blocks(data))) > 100
    got = parse_vote_bytes(data).battles
    assert got.models == battles.models
    np.testing.assert_array_equal(got.outcome, battles.outcome)
    np.testing.assert_array_equal(got.model_b, battles.model_b)


@pytest.mark.parametrize(
    ("extra", "named", "deduplicated"),
    [
        ({"anony": None}, 1, 0),  # not true: a named battle, as lmarena counts it
        ({"anony": "yes"}, 1, 0),
        ({"dedup_tag": None}, 0, 0),  # not a tag: kept
        ({"dedup_tag": {"sampled": 1}}, 0, 1),
        ({"model_a": "  "}, None, None),  # a bad record, named by the slow reader
    ],
)
def test_records_outside_the_types_are_read_record_by_record(
    extra: dict[str, object], named: int | None, deduplicated: int | None
) -> None:
    records = [record("x", "y", "tie"), {**record("y", "z", "model_b"), **extra}]
    data = "\n".join(json.dumps(r) for r in records).encode()
    assert reader._typed(data, VoteFilter()) is None
    if named is None:
        with pytest.raises(VoteFormatError, match="line 2: field 'model_a'"):
            parse_vote_bytes(data)
        return
    read = parse_vote_bytes(data)
    assert (read.named, read.deduplicated) == (named, deduplicated)
    assert len(read.battles) == 2 - named - (deduplicated or 0)


def test_a_mapped_file_reads_as_its_bytes_do(tmp_path: Path) -> None:
    """``read_vote_file`` maps the file: with a BOM, Chinese names, an array, an empty file,
    a bad record or bytes that are not UTF-8, it answers as parsing the bytes does."""
    lines = [json.dumps(record("文心", "通义", w), ensure_ascii=False) for w in WINNERS] * 3
    cases = {
        "bom.jsonl": b"\xef\xbb\xbf" + "\n".join(lines).encode(),
        "array.json": b"\xef\xbb\xbf  " + f"[{','.join(lines)}]".encode(),
        "empty.jsonl": b"",
        "bad.jsonl": ("\n".join(lines) + '\n{"model_a": "文心"}').encode(),
        "gbk.jsonl": lines[0].encode("gbk"),
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        try:
            expected: object = parse_vote_bytes(data, source=str(path))
        except VoteFormatError as exc:
            expected = [(p.location, p.reason) for p in exc.problems]
        try:
            got: object = reader.read_vote_file(path)
        except VoteFormatError as exc:
            got = [(p.location, p.reason) for p in exc.problems]
        if isinstance(expected, reader.ReadVotes):
            assert (
                isinstance(got, reader.ReadVotes) and got.battles.models == expected.battles.models
            )
            assert np.array_equal(got.battles.outcome, expected.battles.outcome), name
            assert len(got.battles.outcome) == (0 if name == "empty.jsonl" else 12), name
        else:
            assert got == expected and got, name
