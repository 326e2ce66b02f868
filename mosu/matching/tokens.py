"""Chinese tokenisation for matching (分词): jieba with the domain dictionary mosu ships.

Text is normalised first (NFKC folds full-width letters and digits to half-width, then
lowercase), cut by a dedicated ``jieba.Tokenizer`` (never the process-wide one, which other
code may configure) with the HMM off, so unknown words fall apart into single characters
rather than into guessed words. ASCII runs such as ``12345`` or ``13b`` stay whole.

jieba's cut is pure Python and costs about 9 µs per character, too slow for bulk indexing
of 100,000 profiles. The cut itself is therefore done by ``rjieba`` (jieba-rs, jieba's
algorithm in Rust, given the same dictionary and words; about 7× faster, and identical to
jieba's precise mode without HMM on every clause of the relevance set, as a test checks),
while the Python ``jieba`` instance keeps the word frequencies the search-mode expansion
reads. Queries and single profiles repeat clauses (boilerplate, tag lists, template
phrases), so each clause's result is memoised in a bounded table. Bulk indexing
(``count_batch``) needs no clause cache: it cuts each text in one call, looks each distinct
word up once per batch and returns term ids, not strings, so worker processes send back
little.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt
import rjieba

DATA = resources.files("mosu.matching") / "data"
_CLAUSE = re.compile(r"[\w+#&.%\-]+")
_WORDLIKE = re.compile(r"\w")
_ASCII_RUN = re.compile(r"[a-z0-9]+|[^a-z0-9]+")
_CACHE_LIMIT = 500_000
SYNONYM_MARK = "≈"
"""Prefix of a synonym group's index term (≈光学字符识别 stands for OCR, 文字识别, …)."""


def _load_jieba() -> Any:
    with warnings.catch_warnings():
        # jieba 0.42 predates Python 3.12's escape-sequence warnings and may probe for
        # pkg_resources; neither concerns us, and both surface only on first import.
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        import jieba
    jieba.setLogLevel(logging.WARNING)
    return jieba


def read_word_list(name: str) -> list[str]:
    """Lines of a data file, without blank lines and ``#`` comments."""
    text = (DATA / name).read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


_WIDE_PUNCTUATION = tuple(
    (wide, unicodedata.normalize("NFKC", wide)) for wide in "，：；（）！？　％＋－．＃＆"
)
"""Full-width punctuation Chinese text is full of, with its NFKC form (one character)."""


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC) and lowercase.

    The full-width punctuation most Chinese text holds is replaced first, by its own NFKC
    form (a plain ``str.replace``, so the result is exactly NFKC's); the full NFKC pass, ten
    times slower, then runs only when something else is left to fold.
    """
    if not unicodedata.is_normalized("NFKC", text):
        for wide, narrow in _WIDE_PUNCTUATION:
            if wide in text:
                text = text.replace(wide, narrow)
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
    return text.lower()


@dataclass(frozen=True)
class TermCounts:
    """A batch of texts as term ids: text ``i`` holds ``lengths[i]`` distinct terms, listed
    in turn in ``ids`` (into ``terms``, the batch's own vocabulary) with their counts. The
    same pairs grouped by term (postings): term ``j`` is in the texts
    ``term_texts[bounds[j]:bounds[j + 1]]``, in order, ``term_counts`` times."""

    terms: list[str]
    lengths: npt.NDArray[np.int64]
    ids: npt.NDArray[np.integer[Any]]
    counts: npt.NDArray[np.integer[Any]]
    bounds: npt.NDArray[np.int64]
    term_texts: npt.NDArray[np.integer[Any]]
    term_counts: npt.NDArray[np.integer[Any]]


class _TermIds(dict[str, tuple[int, ...]]):
    """A precise word → the batch ids of its index terms, worked out the first time."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.terms: dict[str, int] = {}

    def __missing__(self, word: str) -> tuple[int, ...]:
        tokenizer, terms = self.tokenizer, self.terms
        keep = word not in tokenizer.stop_words and _WORDLIKE.search(word)
        found = tokenizer._word_terms(word) if keep else ()
        ids = self[word] = tuple(terms.setdefault(t, len(terms)) for t in found)
        return ids


class Tokenizer:
    """jieba with mosu's domain dictionary and stop words.

    ``cut`` gives the precise segmentation (domain terms whole: 大模型, 智能客服, 12345);
    ``tokens`` adds, for each longer word, the dictionary words inside it (智能客服 → 智能,
    客服), as jieba's search mode does, so a query for 客服 still reaches 智能客服.
    """

    def __init__(
        self,
        *,
        dictionary: Iterable[str] | None = None,
        stop_words: Iterable[str] | None = None,
        synonyms: Iterable[str] | None = None,
        related: Iterable[str] | None = None,
        cache_limit: int = _CACHE_LIMIT,
    ) -> None:
        jieba = _load_jieba()
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self._fast = rjieba.Jieba()
        lines = read_word_list("domain_dict.txt") if dictionary is None else list(dictionary)
        self.domain_terms: frozenset[str] = frozenset()
        terms = set()
        for line in lines:
            parts = line.split()
            word = normalise(parts[0])
            freq = int(parts[1]) if len(parts) > 1 else None
            tag = parts[2] if len(parts) > 2 else None
            self._jieba.add_word(word, freq, tag)
            self._fast.add_word(word, freq, tag)
            terms.add(word)
        groups = read_word_list("synonyms.txt") if synonyms is None else list(synonyms)
        self.synonyms: dict[str, str] = {}
        """Each member of a synonym group → the group's index term (``≈`` + first member)."""
        for line in groups:
            members = [normalise(w) for w in line.split()]
            for word in members:
                self.synonyms[word] = SYNONYM_MARK + members[0]
                if word not in terms and not word.isascii():
                    self._jieba.add_word(word, 8000, "n")
                    self._fast.add_word(word, 8000, "n")
                    terms.add(word)
        for word in self._load_related(
            read_word_list("related.txt") if related is None else list(related)
        ):
            if word not in terms and not word.isascii():
                self._jieba.add_word(word, 8000, "n")
                self._fast.add_word(word, 8000, "n")
                terms.add(word)
        self.domain_terms = frozenset(terms)
        words = read_word_list("stopwords.txt") if stop_words is None else stop_words
        self.stop_words: frozenset[str] = frozenset(normalise(w) for w in words)
        self._freq: dict[str, int] = self._jieba.FREQ
        self._cache: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._words: dict[str, tuple[str, ...]] = {}
        self._cache_limit = cache_limit
        self.cache_hits = 0
        self.cache_misses = 0

    def _load_related(self, lines: Iterable[str]) -> set[str]:
        """Fill ``self.related`` from ``related.txt`` lines; return the words named there.

        A line ``a b c`` links every word to every other; ``a b -> x y`` links ``a`` and
        ``b`` to ``x`` and ``y`` only (a task to the technique that serves it, not back).
        Words are keyed and linked by their index term (the synonym group's, if any).
        """
        self.related: dict[str, tuple[str, ...]] = {}
        """An index term → the index terms of related, not synonymous, words."""
        links: dict[str, dict[str, None]] = {}
        words: set[str] = set()
        for line in lines:
            left, _, right = line.partition("->")
            heads = [normalise(w) for w in left.split()]
            tails = [normalise(w) for w in right.split()] if right else heads
            words.update(heads, tails)
            for head in heads:
                key = self.synonyms.get(head, head)
                targets = links.setdefault(key, {})
                for tail in tails:
                    target = self.synonyms.get(tail, tail)
                    if target != key:
                        targets[target] = None
        self.related = {key: tuple(targets) for key, targets in links.items()}
        return words

    def related_terms(self, terms: Iterable[str]) -> list[str]:
        """Index terms related to ``terms`` through ``related.txt`` and not among them."""
        have = dict.fromkeys(terms)
        out: dict[str, None] = {}
        for term in have:
            for other in self.related.get(term, ()):
                if other not in have:
                    out[other] = None
        return list(out)

    def _clause(self, clause: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """A normalised clause's precise words and its index terms, memoised together."""
        hit = self._cache.get(clause)
        if hit is not None:
            self.cache_hits += 1
            return hit
        self.cache_misses += 1
        stop, memo = self.stop_words, self._words
        words: list[str] = []
        terms: list[str] = []
        for w in self._fast.cut(clause, False):
            found = memo.get(w)
            if found is None:  # a stop word or punctuation indexes nothing: ()
                keep = w not in stop and _WORDLIKE.search(w)
                found = memo[w] = self._word_terms(w) if keep else ()
            if found:
                words.append(w)
                terms += found
        entry = (tuple(words), tuple(terms))
        if len(self._cache) >= self._cache_limit:
            self._cache.clear()
        if len(self._words) >= _CACHE_LIMIT:
            self._words.clear()
        self._cache[clause] = entry
        return entry

    def _expand(self, words: Iterable[str]) -> list[str]:
        """Index terms of precise words: each word's terms, memoised per word (words repeat
        far more than clauses do, even in varied text)."""
        out: list[str] = []
        memo = self._words
        for word in words:
            terms = memo.get(word)
            if terms is None:
                terms = memo[word] = self._word_terms(word)
            out += terms
        return out

    def _word_terms(self, word: str) -> tuple[str, ...]:
        """The dictionary words inside a long word, then the word, each followed by its
        synonym group's index term: documents and queries meet on the group whichever member
        they use (OCR and 文字识别)."""
        freq = self._freq
        parts: dict[str, None] = {}
        n = len(word)
        if n > 2 and not word.isascii():
            runs = _ASCII_RUN.findall(word)
            if len(runs) > 1:  # 12345热线 → 12345, 热线
                parts.update((r, None) for r in runs if r.isascii() or freq.get(r))
            for size in (2, 3):
                for i in range(n - size + 1):
                    part = word[i : i + size]
                    if part != word and freq.get(part) and part not in self.stop_words:
                        parts[part] = None
        out: list[str] = []
        groups: set[str] = set()
        for term in [*parts, word]:
            out.append(term)
            group = self.synonyms.get(term)
            if group is not None and group not in groups:
                groups.add(group)
                out.append(group)
        return tuple(out)

    def group_of(self, term: str) -> str | None:
        """The synonym group's index term of ``term`` (normalised), or None."""
        return self.synonyms.get(normalise(term))

    def reference_cut(self, clause: str) -> list[str]:
        """The Python jieba's precise cut of one clause (what ``rjieba`` must agree with)."""
        return list(self._jieba.cut(normalise(clause), HMM=False))

    def fast_cut(self, clause: str) -> list[str]:
        return list(self._fast.cut(normalise(clause), False))

    def cut(self, text: str) -> list[str]:
        """Precise segmentation of normalised text, stop words and punctuation removed."""
        out: list[str] = []
        for clause in _CLAUSE.findall(normalise(text)):
            out += self._clause(clause)[0]
        return out

    def tokens(self, text: str) -> list[str]:
        """Index and query terms: the precise words plus dictionary words inside long ones."""
        out: list[str] = []
        for clause in _CLAUSE.findall(normalise(text)):
            out += self._clause(clause)[1]
        return out

    def count_batch(self, texts: Iterable[str]) -> TermCounts:
        """Each text's distinct index terms and their counts, as ``tokens`` gives them, for
        bulk indexing: one cut per text (jieba's cut keeps the clauses apart by itself, so
        the words are the same), words looked up once per batch, counted by one sort."""
        memo = _TermIds(self)
        get, cut = memo.__getitem__, self._fast.cut
        flat: list[int] = []
        lengths: list[int] = []
        for text in texts:
            before = len(flat)
            flat.extend(chain.from_iterable(map(get, cut(normalise(text), False))))
            lengths.append(len(flat) - before)
        width = max(1, len(memo.terms))
        docs = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        keys, counts = np.unique(docs * width + np.array(flat, np.int64), return_counts=True)
        # 32-bit ids and 16-bit counts where they fit: workers send less back
        ids, texts_of = (keys % width).astype(np.int32), (keys // width).astype(np.int32)
        counts = counts.astype(np.min_scalar_type(int(counts.max(initial=0))))
        by_term = np.argsort(ids, kind="stable")
        per_term = np.bincount(ids, minlength=len(memo.terms))
        return TermCounts(
            terms=list(memo.terms),
            lengths=np.bincount(texts_of, minlength=len(lengths)),
            ids=ids,
            counts=counts,
            bounds=np.concatenate([[0], np.cumsum(per_term)]),
            term_texts=texts_of[by_term],
            term_counts=counts[by_term],
        )

    def clear_cache(self) -> None:
        self._cache.clear()
        self._words.clear()
        self.cache_hits = self.cache_misses = 0


_default: Tokenizer | None = None
_lock = threading.Lock()


def default_tokenizer() -> Tokenizer:
    """The process-wide tokenizer with the shipped dictionary, built once (about 2 s)."""
    global _default
    with _lock:
        if _default is None:
            _default = Tokenizer()
        return _default
