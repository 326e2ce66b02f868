"""An incremental BM25 index (倒排索引) with attribute filters and optional dense vectors.

Why not ``bm25s`` inside: bm25s is fast because it stores *finished* scores (idf and length
normalisation baked into a sparse matrix at build time). Adding one document changes N, the
average length and document frequencies, so every stored score goes stale: a change means a
full rebuild, and a delta segment scored on the side would rank differently from a rebuild.
This index stores raw term frequencies in per-term posting arrays and applies idf and length
normalisation at query time, so add, update and remove are O(terms of the document), scores
equal a full rebuild's exactly, and a query still only touches the postings of its own terms
(numpy over arrays, no Python loop over documents). Removed documents leave dead postings
that are masked out and dropped by ``compact()``, run automatically once they pass a quarter
of the slots. ``bench/matching.py`` measures both against bm25s on the same corpus.

Scoring is BM25 in Lucene's variant (as bm25s's default ``method="lucene"``)::

    idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))
    score(q, d) = sum over distinct t in q of idf(t) * tf / (tf + k1 * (1 - b + b * |d| / avgdl))
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from mosu.matching.tokens import TermCounts, Tokenizer, default_tokenizer

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

Filter = Sequence[frozenset[str]]
PARALLEL_MIN = 20_000
"""Batches at least this large are tokenised in worker processes (forking costs ~0.1 s)."""
_worker_tokenizer: Tokenizer | None = None
_worker_texts: Sequence[str] = ()


def _count_range(bounds: tuple[int, int]) -> TermCounts:
    """In a forked worker: a range of the parent's texts (inherited, never pickled)."""
    assert _worker_tokenizer is not None
    start, stop = bounds
    return _worker_tokenizer.count_batch(_worker_texts[start:stop])


def tokenise_counts(
    tokenizer: Tokenizer, texts: Sequence[str], workers: int = 1
) -> Iterator[TermCounts]:
    """The texts' term counts in consecutive batches, in order, as each is ready: cut in
    ``workers`` forked processes when more than one (where ``fork`` exists), else here in
    one batch. The caller works on a batch while the workers cut the next ones."""
    global _worker_tokenizer, _worker_texts
    if workers <= 1 or "fork" not in mp.get_all_start_methods() or len(texts) < 2 * workers:
        yield tokenizer.count_batch(texts)
        return
    size = -(-len(texts) // (workers * 8))
    bounds = [(i, min(i + size, len(texts))) for i in range(0, len(texts), size)]
    _worker_tokenizer, _worker_texts = tokenizer, texts
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            _worker_tokenizer, _worker_texts = None, ()  # the workers have them now
            yield from pool.imap(_count_range, bounds, chunksize=1)
    finally:
        _worker_tokenizer, _worker_texts = None, ()


"""Attribute groups: a document passes when it has at least one attribute of every group."""


@dataclass(frozen=True)
class Hit:
    doc_id: str
    score: float


_A = TypeVar("_A", bound="np.ndarray[Any, Any]")
_NO_SLOTS = np.zeros(0, np.int64)
_NO_TF = np.zeros(0, np.float64)


def _grow(arr: _A, need: int) -> _A:
    if need <= len(arr):
        return arr
    bigger = np.zeros(max(need, 2 * len(arr), 8), dtype=arr.dtype)
    bigger[: len(arr)] = arr
    return bigger  # type: ignore[return-value]


class Index:
    """Documents of one kind (suppliers, or scenarios), searchable by BM25 and vectors."""

    def __init__(
        self,
        *,
        tokenizer: Tokenizer | None = None,
        k1: float = 1.2,
        b: float = 0.75,
        compact_ratio: float = 0.25,
        query_tf: float = 1.0,
    ) -> None:
        self.tokenizer = tokenizer or default_tokenizer()
        self.k1, self.b = k1, b
        self.query_tf = query_tf
        """A term repeated ``n`` times in the query weighs ``1 + query_tf · ln n`` (0: BM25's
        distinct query terms)."""
        self.compact_ratio = compact_ratio
        self.vocab: dict[str, int] = {}
        self._terms: list[str] = []
        self._clear()

    def _clear(self) -> None:
        self._slot_of: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._segments: list[tuple[IntArray, FloatArray]] = []
        """Term ids and frequencies of documents, one pair of arrays per batch added."""
        self._doc_terms: list[tuple[int, int, int] | None] = []
        """Per slot: its segment and its range there (None once removed)."""
        self._doc_attrs: list[frozenset[str]] = []
        self._alive = np.zeros(0, dtype=bool)
        self._dl = np.zeros(0, dtype=np.float64)
        self._df = np.zeros(len(self._terms), dtype=np.int64)
        self._post_slots: list[IntArray] = [np.zeros(0, np.int64) for _ in self._terms]
        self._post_tf: list[FloatArray] = [np.zeros(0, np.float64) for _ in self._terms]
        self._post_len: list[int] = [0] * len(self._terms)
        self._attr_slots: dict[str, set[int]] = {}
        self._attr_cache: dict[str, IntArray] = {}
        self._vectors: npt.NDArray[np.float32] | None = None
        self._has_vector = np.zeros(0, dtype=bool)
        self._n_alive = 0
        self._total_len = 0.0
        self._norm: FloatArray | None = None

    # ------------------------------------------------------------ changes

    def __len__(self) -> int:
        return self._n_alive

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slot_of

    @property
    def doc_ids(self) -> list[str]:
        return list(self._slot_of)

    def _term_id(self, term: str) -> int:
        tid = self.vocab.get(term)
        if tid is None:
            tid = self.vocab[term] = len(self._terms)
            self._terms.append(term)
            self._post_slots.append(_NO_SLOTS)  # replaced, never written, when it grows
            self._post_tf.append(_NO_TF)
            self._post_len.append(0)
            self._df = _grow(self._df, tid + 1)
        return tid

    def _new_slot(self, doc_id: str, attrs: Iterable[str]) -> int:
        slot = len(self._ids)
        self._ids.append(doc_id)
        self._slot_of[doc_id] = slot
        self._alive = _grow(self._alive, slot + 1)
        self._dl = _grow(self._dl, slot + 1)
        self._has_vector = _grow(self._has_vector, slot + 1)
        self._alive[slot] = True
        frozen = frozenset(attrs)
        self._doc_attrs.append(frozen)
        for attr in frozen:
            self._attr_slots.setdefault(attr, set()).add(slot)
            self._attr_cache.pop(attr, None)
        self._n_alive += 1
        self._norm = None
        return slot

    def _set_terms(self, slot: int, counts: Counter[str]) -> None:
        ids = np.fromiter((self._term_id(t) for t in counts), np.int64, len(counts))
        tfs = np.fromiter(counts.values(), np.float64, len(counts))
        self._doc_terms.append((len(self._segments), 0, len(ids)))
        self._segments.append((ids, tfs))
        for tid, tf in zip(ids.tolist(), tfs.tolist(), strict=True):
            n = self._post_len[tid]
            if n == len(self._post_slots[tid]):
                self._post_slots[tid] = _grow(self._post_slots[tid], n + 1)
                self._post_tf[tid] = _grow(self._post_tf[tid], n + 1)
            self._post_slots[tid][n] = slot
            self._post_tf[tid][n] = tf
            self._post_len[tid] = n + 1
        self._df[ids] += 1
        length = float(tfs.sum())
        self._dl[slot] = length
        self._total_len += length

    def add(
        self,
        doc_id: str,
        text: str,
        *,
        attrs: Iterable[str] = (),
        vector: npt.ArrayLike | None = None,
    ) -> None:
        """Index one document; an existing ``doc_id`` is replaced (see ``update``)."""
        if doc_id in self._slot_of:
            self.remove(doc_id)
        slot = self._new_slot(doc_id, attrs)
        self._set_terms(slot, Counter(self.tokenizer.tokens(text)))
        if vector is not None:
            self._set_vector(slot, vector)

    update = add

    def remove(self, doc_id: str) -> None:
        """Drop a document; unknown ids are ignored."""
        slot = self._slot_of.pop(doc_id, None)
        if slot is None:
            return
        ids, tfs = self._doc(slot)
        self._df[ids] -= 1
        self._total_len -= float(tfs.sum())
        self._alive[slot] = False
        self._has_vector[slot] = False
        self._ids[slot] = None
        self._doc_terms[slot] = None
        for attr in self._doc_attrs[slot]:
            self._attr_slots[attr].discard(slot)
            self._attr_cache.pop(attr, None)
        self._n_alive -= 1
        self._norm = None
        dead = len(self._ids) - self._n_alive
        if dead > 64 and dead > self.compact_ratio * len(self._ids):
            self.compact()

    def add_many(
        self, docs: Iterable[tuple[str, str, Iterable[str]]], *, workers: int | None = None
    ) -> None:
        """Bulk indexing of ``(doc_id, text, attrs)``: postings built per batch, not per doc.

        With ``workers`` > 1 (default: one per CPU for batches of ``PARALLEL_MIN`` or more)
        the texts are cut in forked worker processes, each with the parent's tokenizer, and
        come back as term ids with their postings, batch by batch; the parent maps each
        batch's vocabulary to its own while the workers cut the next, then appends each
        term's pieces to its postings (no sort here).
        """
        docs = list(docs)
        heads = [(doc_id, frozenset(attrs)) for doc_id, _, attrs in docs]
        texts = [text for _, text, _ in docs]
        if workers is None:
            workers = (os.cpu_count() or 1) if len(texts) >= PARALLEL_MIN else 1
        for doc_id, _ in heads:
            self.remove(doc_id)
        get, term_id = self.vocab.get, self._term_id
        first = len(self._ids)
        ids, tfs, lengths = [], [], []
        pieces: dict[int, list[tuple[IntArray, FloatArray]]] = {}
        for part in tokenise_counts(self.tokenizer, texts, workers):
            table = np.fromiter(
                (tid if (tid := get(t)) is not None else term_id(t) for t in part.terms),
                np.int64,
                len(part.terms),
            )
            ids.append(table[part.ids])
            tfs.append(part.counts)
            lengths.append(part.lengths)
            slots = part.term_texts.astype(np.int64) + first
            term_tfs = part.term_counts.astype(np.float64)
            bounds = part.bounds.tolist()
            for tid, (a, b) in zip(table.tolist(), pairwise(bounds), strict=True):
                pieces.setdefault(tid, []).append((slots[a:b], term_tfs[a:b]))
            first += len(part.lengths)
        self._bulk_arrays(
            heads,
            np.concatenate(ids),
            np.concatenate(tfs).astype(np.float64),
            np.concatenate(lengths),
            postings=False,
        )
        self._add_postings(pieces)

    def _bulk(self, entries: Sequence[tuple[str, frozenset[str], IntArray, FloatArray]]) -> None:
        """Index documents given as ``(doc_id, attrs, term ids, term frequencies)``."""
        if not entries:
            return
        self._bulk_arrays(
            [(e[0], e[1]) for e in entries],
            np.concatenate([e[2] for e in entries]).astype(np.int64),
            np.concatenate([e[3] for e in entries]).astype(np.float64),
            np.fromiter((len(e[2]) for e in entries), np.int64, len(entries)),
        )

    def _new_slots(self, heads: Sequence[tuple[str, frozenset[str]]]) -> int:
        """Slots for new documents (ids not indexed), in order; returns the first."""
        first = len(self._ids)
        end = first + len(heads)
        new = [doc_id for doc_id, _ in heads]
        self._ids += new
        self._slot_of.update(zip(new, range(first, end), strict=True))
        self._alive = _grow(self._alive, end)
        self._dl = _grow(self._dl, end)
        self._has_vector = _grow(self._has_vector, end)
        self._alive[first:end] = True
        self._doc_attrs += [attrs for _, attrs in heads]
        for slot, (_, attrs) in enumerate(heads, start=first):
            for attr in attrs:
                self._attr_slots.setdefault(attr, set()).add(slot)
                self._attr_cache.pop(attr, None)
        self._n_alive += len(heads)
        self._norm = None
        return first

    def _bulk_arrays(
        self,
        heads: Sequence[tuple[str, frozenset[str]]],
        ids: IntArray,
        tfs: FloatArray,
        lengths: IntArray,
        *,
        postings: bool = True,
    ) -> None:
        """Index documents whose distinct term ids and frequencies are listed in turn in
        ``ids`` and ``tfs``, ``lengths[i]`` of them for document ``i`` (their postings too,
        unless the caller adds them)."""
        if not heads:
            return
        first = self._new_slots(heads)
        bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        segment = len(self._segments)
        self._segments.append((ids, tfs))
        self._doc_terms += [(segment, a, b) for a, b in pairwise(bounds)]
        running = np.concatenate([[0.0], np.cumsum(tfs)])
        doc_len = running[bounds[1:]] - running[bounds[:-1]]  # whole counts: exact sums
        self._dl[first : first + len(heads)] = doc_len
        self._total_len += float(doc_len.sum())
        self._df = _grow(self._df, len(self._terms))
        if not postings:
            return
        order = np.argsort(ids, kind="stable")
        all_terms, all_tf = ids[order], tfs[order]
        all_slots = np.repeat(np.arange(first, first + len(heads), dtype=np.int64), lengths)
        all_slots = all_slots[order]
        starts = np.flatnonzero(np.diff(all_terms, prepend=-1)).tolist()  # runs of one term
        ends = [*starts[1:], len(all_terms)] if starts else []  # documents without terms
        self._add_postings(
            {
                int(all_terms[a]): [(all_slots[a:b], all_tf[a:b])]
                for a, b in zip(starts, ends, strict=True)
            }
        )

    def _add_postings(self, pieces: dict[int, list[tuple[IntArray, FloatArray]]]) -> None:
        """Append to each term's postings its pieces (slots after any it has, in order)."""
        post_slots, post_tf, post_len, df = (
            self._post_slots,
            self._post_tf,
            self._post_len,
            self._df,
        )
        for tid, parts in pieces.items():
            n = post_len[tid]
            if n == 0 and len(parts) == 1:
                post_slots[tid], post_tf[tid] = parts[0]
            else:
                post_slots[tid] = np.concatenate([post_slots[tid][:n], *(p[0] for p in parts)])
                post_tf[tid] = np.concatenate([post_tf[tid][:n], *(p[1] for p in parts)])
            post_len[tid] = len(post_slots[tid])
            df[tid] += post_len[tid] - n

    def compact(self) -> None:
        """Rebuild postings without removed documents (slots are renumbered)."""
        live = [slot for slot, doc_id in enumerate(self._ids) if doc_id is not None]
        entries = []
        for slot in live:
            doc_id = self._ids[slot]
            assert doc_id is not None
            entries.append((doc_id, self._doc_attrs[slot], *self._doc(slot)))
        vectors, has_vec = self._vectors, self._has_vector
        self._clear()
        self._bulk(entries)
        if vectors is not None:
            for slot, old in enumerate(live):
                if has_vec[old]:
                    self._set_vector(slot, vectors[old])

    def _doc(self, slot: int) -> tuple[IntArray, FloatArray]:
        """A live slot's term ids and frequencies."""
        where = self._doc_terms[slot]
        assert where is not None
        segment, start, stop = where
        ids, tfs = self._segments[segment]
        return ids[start:stop], tfs[start:stop]

    def _terms_of(self, ids: IntArray) -> list[str]:
        return [self._terms[i] for i in ids.tolist()]

    # ------------------------------------------------------------ vectors

    def _set_vector(self, slot: int, vector: npt.ArrayLike) -> None:
        vec = np.asarray(vector, dtype=np.float32).ravel()
        if self._vectors is None:
            self._vectors = np.zeros((max(len(self._ids), 8), len(vec)), np.float32)
        if slot >= len(self._vectors):
            bigger = np.zeros((max(slot + 1, 2 * len(self._vectors)), self._vectors.shape[1]))
            bigger[: len(self._vectors)] = self._vectors
            self._vectors = bigger.astype(np.float32)
        norm = float(np.linalg.norm(vec))
        self._vectors[slot] = vec / norm if norm else vec
        self._has_vector[slot] = True

    def set_vector(self, doc_id: str, vector: npt.ArrayLike) -> None:
        """Attach a dense embedding to an indexed document (normalised for cosine)."""
        self._set_vector(self._slot_of[doc_id], vector)

    def set_vectors(self, doc_ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        matrix = np.asarray(vectors, dtype=np.float32)
        for doc_id, vec in zip(doc_ids, matrix, strict=True):
            self.set_vector(doc_id, vec)

    @property
    def has_vectors(self) -> bool:
        return bool(self._has_vector[: len(self._ids)].any())

    # ------------------------------------------------------------ queries

    def _mask(self, where: Filter) -> npt.NDArray[np.bool_]:
        n = len(self._ids)
        mask = self._alive[:n].copy()
        for group in where:
            allowed = np.zeros(n, dtype=bool)
            for attr in group:
                cached = self._attr_cache.get(attr)
                if cached is None:
                    slots = self._attr_slots.get(attr, set())
                    cached = self._attr_cache[attr] = np.fromiter(slots, np.int64, len(slots))
                allowed[cached] = True
            mask &= allowed
        return mask

    def idf(self, term: str) -> float:
        tid = self.vocab.get(term)
        df = int(self._df[tid]) if tid is not None else 0
        return math.log(1.0 + (self._n_alive - df + 0.5) / (df + 0.5))

    def query_weights(
        self, terms: Iterable[str], extra: Mapping[str, float] | None = None
    ) -> dict[str, float]:
        """Each distinct query term's weight (``1 + query_tf · ln n`` for ``n`` repeats),
        plus ``extra`` terms at their own weights (related words, weighted lower)."""
        weights = {t: 1.0 + self.query_tf * math.log(n) for t, n in Counter(terms).items()}
        for term, weight in (extra or {}).items():
            weights[term] = weights.get(term, 0.0) + weight
        return weights

    def bm25(self, terms: Iterable[str], extra: Mapping[str, float] | None = None) -> FloatArray:
        """BM25 scores of every slot for the distinct known ``terms`` and the weighted
        ``extra`` ones (dead slots included)."""
        n = len(self._ids)
        if not self._n_alive:
            return np.zeros(n)
        if self._norm is None:
            avgdl = self._total_len / self._n_alive or 1.0  # only blank documents: any
            self._norm = self.k1 * (1.0 - self.b + self.b * self._dl[:n] / avgdl)
        norm = self._norm
        slot_parts, value_parts = [], []
        for term, qw in self.query_weights(terms, extra).items():
            tid = self.vocab.get(term)
            if tid is None or not self._df[tid]:
                continue
            size = self._post_len[tid]
            slots = self._post_slots[tid][:size]
            tf = self._post_tf[tid][:size]
            slot_parts.append(slots)
            value_parts.append(self.idf(term) * qw * tf / (tf + norm[slots]))
        if not slot_parts:
            return np.zeros(n)
        summed = np.bincount(
            np.concatenate(slot_parts), weights=np.concatenate(value_parts), minlength=n
        )
        return summed.astype(np.float64, copy=False)

    def _top(self, scores: FloatArray, mask: npt.NDArray[np.bool_], k: int) -> list[Hit]:
        """Best ``k`` by score; equal scores ordered by id, so any slot order ranks alike."""
        candidates = np.flatnonzero(mask)
        if k <= 0 or not len(candidates):
            return []
        values = scores[candidates]
        if len(candidates) > k:
            kth = np.partition(-values, k - 1)[k - 1]
            keep = -values <= kth
            candidates, values = candidates[keep], values[keep]
        ranked = sorted(
            zip(values.tolist(), (self._ids[s] or "" for s in candidates.tolist()), strict=True),
            key=lambda pair: (-pair[0], pair[1]),
        )
        return [Hit(doc_id=d, score=v) for v, d in ranked[:k]]

    def search(self, text: str, *, k: int = 10, where: Filter = ()) -> list[Hit]:
        """Top ``k`` documents by BM25 among those passing ``where``; zero scores left out."""
        return self.search_terms(self.tokenizer.tokens(text), k=k, where=where)

    def search_terms(
        self,
        terms: Iterable[str],
        *,
        k: int = 10,
        where: Filter = (),
        extra: Mapping[str, float] | None = None,
    ) -> list[Hit]:
        scores = self.bm25(terms, extra)
        return self._top(scores, self._mask(where) & (scores > 0), k)

    def search_vector(self, vector: npt.ArrayLike, *, k: int = 10, where: Filter = ()) -> list[Hit]:
        """Top ``k`` documents by cosine similarity among those with a vector."""
        n = len(self._ids)
        if self._vectors is None:
            return []
        q = np.asarray(vector, dtype=np.float32).ravel()
        q = q / (float(np.linalg.norm(q)) or 1.0)
        sims = (self._vectors[:n] @ q).astype(np.float64)
        return self._top(sims, self._mask(where) & self._has_vector[:n], k)

    # ------------------------------------------------------------ explanations

    def contributions(self, terms: Iterable[str], doc_id: str) -> dict[str, float]:
        """Each query term's share of the document's BM25 score (terms the doc lacks omitted)."""
        slot = self._slot_of.get(doc_id)
        if slot is None:
            return {}
        ids, tfs = self._doc(slot)
        tf_of = dict(zip(ids.tolist(), tfs.tolist(), strict=True))
        avgdl = self._total_len / self._n_alive
        norm = self.k1 * (1.0 - self.b + self.b * self._dl[slot] / avgdl)
        out: dict[str, float] = {}
        for term in dict.fromkeys(terms):
            tid = self.vocab.get(term)
            tf = tf_of.get(tid, 0.0) if tid is not None else 0.0
            if tf:
                out[term] = self.idf(term) * tf / (tf + norm)
        return out

    def attrs_of(self, doc_id: str) -> frozenset[str]:
        slot = self._slot_of.get(doc_id)
        return frozenset() if slot is None else self._doc_attrs[slot]

    def doc_frequency(self, term: str) -> int:
        """How many live documents hold ``term``."""
        tid = self.vocab.get(term)
        return int(self._df[tid]) if tid is not None else 0

    def terms_of(self, doc_id: str) -> set[str]:
        """The index terms of one document (empty for an unknown id)."""
        slot = self._slot_of.get(doc_id)
        return set() if slot is None else set(self._terms_of(self._doc(slot)[0]))
