"""Reading vote files fast (读取投票文件), with Chatbot Arena's leaderboard filters.

A vote file is JSON lines, or one JSON array, of Chatbot Arena records (``model_a``,
``model_b``, ``winner``). msgspec decodes them, in blocks of about 16 MB of lines (an
array at once), into small typed records that hold only the five fields read here:
the JSON is checked in full, every other field (conversations, timestamps, tags) is
skipped without building an object for it, and a block's names become integer
arrays in a few C-level passes (no Python code runs per record). A file that does not
fit those types (a missing field, a number for a name, ``anony: null``...) is read
again with orjson, record by record, which names every bad record; a file that does
fit gives the same battles either way.

Two fields of lmarena's ``clean_battle`` files decide which battles count, as on its
leaderboard:

- ``anony``: only anonymous battles (the voter saw no model names) are rated; a record
  without the field counts as anonymous. ``anonymous_only=False`` rates them all.
- ``dedup_tag``: lmarena marks the battles kept after de-duplicating its most repeated
  prompts with ``"sampled": true``; a record whose ``dedup_tag`` lacks it is left out.
  ``dedup=False`` keeps them; a record without the field is always kept.
"""

from __future__ import annotations

import codecs
import mmap
import operator
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
import orjson
from numpy.typing import NDArray

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
    """Battles from a vote file (UTF-8, JSON lines or a JSON array). The file is mapped,
    not read: its pages come from the page cache in one call, not copied page by page."""
    path = Path(path)
    with path.open("rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return parse_vote_bytes(b"", source=str(path), filters=filters)
        flags = mmap.MAP_PRIVATE | getattr(mmap, "MAP_POPULATE", 0)
        with mmap.mmap(file.fileno(), 0, flags=flags, prot=mmap.PROT_READ) as mapped:
            return parse_vote_bytes(mapped, source=str(path), filters=filters)


def parse_vote_bytes(
    data: bytes | mmap.mmap, *, source: str = "votes", filters: VoteFilter | None = None
) -> ReadVotes:
    """Battles from the bytes of a vote file (or the file mapped); raises
    :class:`VoteFormatError` naming every bad record (``line N`` in JSON lines, ``record N``
    in an array)."""
    filters = filters or VoteFilter()
    start = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    try:
        if start < len(data) and np.frombuffer(data, np.uint8, offset=start).max() > 127:
            with memoryview(data) as view:  # not ASCII (a vector pass): check it is UTF-8
                codecs.utf_8_decode(view[start:], "strict", True)
    except UnicodeDecodeError as exc:
        raise VoteFormatError(
            source, [VoteProblem(f"byte {exc.start}", "the file is not UTF-8")]
        ) from exc
    fast = _typed(data, filters, start)
    if fast is not None:
        return fast
    return record_by_record(
        data[start:] if start or not isinstance(data, bytes) else data, source, filters
    )


def record_by_record(data: bytes, source: str, filters: VoteFilter) -> ReadVotes:
    """:func:`parse_vote_bytes` with orjson, one record at a time (UTF-8 bytes, no BOM):
    slower, and names every bad record."""
    if _is_array(data):
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


def _is_array(data: bytes | mmap.mmap, start: int = 0) -> bool:
    """Whether the file is one JSON array (its first byte past white space from ``start``
    is ``[``), without copying the file as ``data.lstrip()`` would."""
    space = _LEADING_SPACE.match(data, start)
    at = space.end() if space else start
    return data[at : at + 1] == b"["


_LEADING_SPACE = re.compile(rb"[ \t\r\n]*")


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


class _Tag(msgspec.Struct, gc=False, frozen=True):
    """lmarena's ``dedup_tag``: a record counts when ``sampled`` is true."""

    sampled: bool = False


class _Vote(msgspec.Struct, gc=False):
    """The fields of a record read here (an absent ``dedup_tag`` counts as sampled)."""

    model_a: str
    model_b: str
    winner: Literal["model_a", "model_b", "tie", "tie (bothbad)"]
    anony: bool = True
    dedup_tag: _Tag = _Tag(sampled=True)


_ARRAY = msgspec.json.Decoder(list[_Vote])
BLOCK = 1 << 22
"""Bytes of JSON lines decoded at once: the records of one block are alive together (4 MiB:
their memory is reused by the next block rather than given back to the system and faulted
in again, as it was at 16 MiB)."""

NAMED_MODELS = 4096
"""Up to this many models, blocks after the first decode names as a ``Literal`` of the
names seen so far: msgspec then hands back the same string object for every record of a
model (no new string, its hash cached for the numbering)."""


class _Decoders:
    """JSON-lines decoders: one for any names, one for the names seen so far."""

    def __init__(self) -> None:
        self.any = msgspec.json.Decoder(_Vote)
        self.known: msgspec.json.Decoder[Any] | None = None
        self.names = 0

    def decode(self, block: memoryview, index: dict[str, int]) -> list[_Vote]:
        """A block's records (a name not seen before: the block again, any names)."""
        if self.known is not None and self.names == len(index):
            try:
                votes: list[_Vote] = self.known.decode_lines(block)
                return votes
            except msgspec.ValidationError:
                pass
        votes = self.any.decode_lines(block)
        return votes

    def learn(self, index: dict[str, int]) -> None:
        """Decode later blocks with the names of ``index`` as a ``Literal``."""
        if self.names == len(index) or not 0 < len(index) <= NAMED_MODELS:
            return
        name = Literal[tuple(index)]  # type: ignore[valid-type]
        known = msgspec.defstruct(
            "_KnownVote",
            [("model_a", name), ("model_b", name)],
            bases=(_Vote,),
            gc=False,
        )
        self.known, self.names = msgspec.json.Decoder(known), len(index)


def _blocks(data: bytes | mmap.mmap, start: int = 0) -> Iterator[tuple[int, int]]:
    """``data`` from ``start`` cut after a newline about every :data:`BLOCK` bytes: each
    block's span."""
    while start < len(data):
        cut = data.find(b"\n", start + BLOCK)
        end = len(data) if cut < 0 else cut + 1
        yield start, end
        start = end


def _typed(data: bytes | mmap.mmap, filters: VoteFilter, start: int = 0) -> ReadVotes | None:
    """The battles, when every record decodes as a :class:`_Vote` and names two distinct
    non-blank models; None otherwise (the record-by-record reader then says why)."""
    array = _is_array(data, start)
    index: dict[str, int] = {}
    parts: list[tuple[NDArray[Any], ...]] = []
    decoders = _Decoders()
    with memoryview(data) as view:  # released before a mapped file is closed
        try:
            if array:
                parts.append(_block_arrays(_ARRAY.decode(view[start:]), index))
            for begin, end in () if array else _blocks(data, start):
                votes = decoders.decode(view[begin:end], index)
                parts.append(_block_arrays(votes, index))
                decoders.learn(index)
        except msgspec.DecodeError:
            return None
    if not parts or any(not name.strip() for name in index):
        return None
    a, b, o, anony, sampled = (np.concatenate([p[k] for p in parts]) for k in range(5))
    if np.any(a == b):
        return None
    keep = np.ones(len(a), dtype=bool)
    named = deduplicated = 0
    if filters.anonymous_only:
        named = int(np.count_nonzero(~anony))
        keep &= anony
    if filters.dedup:
        deduplicated = int(np.count_nonzero(keep & ~sampled))
        keep &= sampled
    a, b, o = a[keep], b[keep], o[keep]
    # the models of the battles kept, sorted by name, as the record-by-record reader
    present = np.zeros(len(index), dtype=bool)
    present[a] = present[b] = True
    seen = [name for name, k in index.items() if present[k]]
    order = np.full(len(index), -1, dtype=np.int32)
    order[[index[n] for n in sorted(seen)]] = np.arange(len(seen), dtype=np.int32)
    battles = Battles(tuple(sorted(seen)), order[a], order[b], o.astype(np.int8))
    return ReadVotes(battles, named, deduplicated)


_GET = {name: operator.attrgetter(name) for name in ("model_a", "model_b", "winner", "anony")}
_SAMPLED = operator.attrgetter("dedup_tag.sampled")


def _block_arrays(votes: list[_Vote], index: dict[str, int]) -> tuple[NDArray[Any], ...]:
    """A block's records as arrays: model_a, model_b (numbered in ``index``, new names
    appended), outcome, anony and sampled; C-level passes over the records only."""
    n = len(votes)
    out = [_numbered(votes, side, index) for side in ("model_a", "model_b")]
    out.append(np.fromiter(map(_WINNER_CODE.__getitem__, map(_GET["winner"], votes)), np.int8, n))
    out.append(np.fromiter(map(_GET["anony"], votes), np.bool_, n))
    out.append(np.fromiter(map(_SAMPLED, votes), np.bool_, n))
    return tuple(out)


def _numbered(votes: list[_Vote], side: str, index: dict[str, int]) -> NDArray[np.int32]:
    """The models on one side of the battles, numbered in ``index`` (new names appended)."""
    get, n = _GET[side], len(votes)
    try:
        return np.fromiter(map(index.__getitem__, map(get, votes)), np.int32, n)
    except KeyError:  # names not seen before: number them, then look again
        for name in dict.fromkeys(map(get, votes)):
            index.setdefault(name, len(index))
        return np.fromiter(map(index.__getitem__, map(get, votes)), np.int32, n)
