"""Character n-grams as 64-bit hashes, for near-duplicates (MinHash) and contamination.

Pure numpy: every text's code points go into one array, where they are compared
loosely (full-width forms made half-width, ASCII lower-cased, white space and, for
contamination, punctuation dropped); a polynomial rolling hash then runs over the array
once, and windows that cross a text boundary are dropped. A text shorter than ``n`` is
one gram, the whole text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]
_BASE = np.uint64(1_000_003)
HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(0x5E)} | {0x3000: 0x20}
"""Full-width ASCII (！ to ～) and the ideographic space, to their half-width forms."""
_SPACES = (
    (0x09, 0x0D),
    (0x20, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200B),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
    (0xFEFF, 0xFEFF),
)
_PUNCTUATION = (
    (0x21, 0x2F),
    (0x3A, 0x40),
    (0x5B, 0x60),
    (0x7B, 0x7E),
    (0xA1, 0xBF),
    (0x2010, 0x205E),
    (0x3001, 0x303F),
    (0xFE10, 0xFE1F),
    (0xFE30, 0xFE4F),
    (0xFF5F, 0xFF65),
)


def half_width(text: str) -> str:
    """``text`` with full-width letters, digits, punctuation and spaces made half-width."""
    return text.translate(HALF_WIDTH)


def _within(codes: I64, ranges: tuple[tuple[int, int], ...]) -> NDArray[np.bool_]:
    mask = np.zeros(len(codes), dtype=bool)
    for lo, hi in ranges:
        mask |= (codes >= lo) & (codes <= hi)
    return mask


@dataclass(frozen=True)
class Texts:
    """Many texts as loosely compared code points: text i is ``codes[starts[i]:][:lengths[i]]``."""

    codes: I64
    lengths: I64

    @property
    def starts(self) -> I64:
        return np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(np.int64)

    def keys(self) -> list[bytes]:
        """Each text's loose form as bytes, for exact comparison."""
        data = self.codes.astype(np.uint32).tobytes()
        ends = np.cumsum(self.lengths) * 4
        begins = ends - self.lengths * 4
        return [data[b:e] for b, e in zip(begins.tolist(), ends.tolist(), strict=True)]


def prepare(texts: list[str], *, punctuation: bool = True) -> Texts:
    """``texts`` compared loosely: half-width, ASCII lower case, no white space (and no
    punctuation when ``punctuation`` is false)."""
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    wide = (codes >= 0xFF01) & (codes <= 0xFF5E)
    codes[wide] -= 0xFEE0
    codes[codes == 0x3000] = 0x20
    upper = (codes >= 0x41) & (codes <= 0x5A)
    codes[upper] += 0x20
    drop = _within(codes, _SPACES)
    if not punctuation:
        drop |= _within(codes, _PUNCTUATION)
    if drop.any():
        owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        lengths = np.bincount(owner[~drop], minlength=len(texts)).astype(np.int64)
        codes = codes[~drop]
    return Texts(codes, lengths)


def _mix(h: U64) -> U64:
    """splitmix64's finaliser, so that near values spread over all 64 bits."""
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@dataclass(frozen=True)
class Grams:
    """The n-gram hashes of many texts: ``hashes[offsets[i]:offsets[i + 1]]`` are text i's."""

    hashes: U64
    offsets: I64

    def of(self, i: int) -> U64:
        return self.hashes[self.offsets[i] : self.offsets[i + 1]]

    @property
    def counts(self) -> I64:
        return np.diff(self.offsets)

    def owners(self) -> I64:
        """For each hash, the index of the text it comes from."""
        return np.repeat(np.arange(len(self.offsets) - 1, dtype=np.int64), self.counts)


def grams(texts: Texts, n: int) -> Grams:
    """The hashes of every ``n``-character window of each text (empty texts have none)."""
    lengths, starts = texts.lengths, texts.starts
    codes = texts.codes.astype(np.uint64)
    windows = max(0, len(codes) - n + 1)
    h = np.zeros(windows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _BASE + codes[k : k + windows]
        h = _mix(h)
    per_text = np.maximum(lengths - n + 1, 0)
    short = (lengths > 0) & (lengths < n)
    counts = np.where(short, 1, per_text)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    out = np.empty(int(offsets[-1]), dtype=np.uint64)
    if windows:
        position = np.arange(windows, dtype=np.int64)
        owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)[:windows]
        valid = position + n <= starts[owner] + lengths[owner]
        keep_owner = owner[valid]
        out[offsets[keep_owner] + position[valid] - starts[keep_owner]] = h[valid]
    for i in np.flatnonzero(short).tolist():
        piece = texts.codes[starts[i] : starts[i] + lengths[i]].astype(np.uint32).tobytes()
        digest = hashlib.blake2b(piece, digest_size=8).digest()
        out[offsets[i]] = np.uint64(int.from_bytes(digest))
    return Grams(out, offsets)
