"""Scorers: small pure factories that turn predictions and gold labels into metrics.

A :class:`Scorer` computes, for every sample, a row of *sufficient statistics*
(``stats``, an ``n × d`` array), and a metric value from their column sums (``aggregate``).
Accuracy is the mean of a 0/1 column; macro-F1 needs the confusion counts; corpus BLEU the
n-gram match counts and lengths. Because every metric is a function of summed per-sample
statistics, one bootstrap over samples serves every metric (see :mod:`mosu.evals.stats`).

A missing prediction (``None``: the model erred or no answer could be parsed) is always
scored as wrong.

NumPy is imported where statistics are computed, not with the module: a task names its
scorers when it loads, and ``mosu eval run`` loads the task before its first request.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mosu.evals.errors import PluginError, TaskError
from mosu.evals.parsers import strip_think
from mosu.evals.registry import Registry

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Array = npt.NDArray[np.float64]
Predictions = Sequence[str | None]


@dataclass(frozen=True)
class Scorer:
    """A metric: per-sample sufficient statistics and their aggregation.

    ``aggregate(sums, n)`` takes column sums of shape ``(..., d)`` and returns ``(...)``,
    so it works on one point estimate and on a batch of bootstrap replicates alike.
    ``per_sample(stats)`` gives each sample's own score (for reports), or ``None``.
    """

    name: str
    stats: Callable[[Predictions, Sequence[str]], Array]
    aggregate: Callable[[Array, int], Array]
    per_sample_column: int | None = 0
    judge: JudgeSpec | None = None

    def score(self, predictions: Predictions, labels: Sequence[str]) -> float:
        """The metric over all samples (no resampling)."""
        stats = self.stats(predictions, labels)
        return float(self.aggregate(stats.sum(axis=0), len(labels)))


ScorerFactory = Callable[..., Scorer]
SCORERS: Registry[ScorerFactory] = Registry("mosu.scorers", "scorer")
"""Scorers by the name a task gives; plug-ins add theirs through the ``mosu.scorers``
entry point group (a factory taking the task's options as keywords, returning a Scorer)."""


def _column(hits: Iterable[bool]) -> Array:
    """One 0/1 statistic per sample, ``(n, 1)``, without a Python list per sample."""
    import numpy as np

    return np.fromiter(hits, dtype=np.float64).reshape(-1, 1)


def _mean_of_first(sums: Array, n: int) -> Array:
    import numpy as np

    return np.asarray(sums[..., 0] / max(n, 1), dtype=np.float64)


@SCORERS.register("accuracy")
def accuracy() -> Scorer:
    """Share of samples whose prediction equals the label exactly."""

    def stats(predictions: Predictions, labels: Sequence[str]) -> Array:
        pairs = zip(predictions, labels, strict=True)
        return _column(p is not None and p == y for p, y in pairs)

    return Scorer("accuracy", stats, _mean_of_first)


_PUNCT = (
    set(string.punctuation)
    | {ch for ch in map(chr, range(0x3000, 0x3040)) if unicodedata.category(ch).startswith("P")}
    | set("，。！？；：“”‘’（）《》【】、…—·")
)


def normalizer(
    *,
    lowercase: bool = True,
    strip_punctuation: bool = True,
    nfkc: bool = True,
    collapse_space: bool = True,
) -> Callable[[str], str]:
    """The text normalisation used by :func:`exact_match`."""

    def norm(text: str) -> str:
        if nfkc:
            text = unicodedata.normalize("NFKC", text)
        if lowercase:
            text = text.lower()
        if strip_punctuation:
            text = "".join(ch for ch in text if ch not in _PUNCT)
        if collapse_space:
            text = " ".join(text.split())
        return text.strip()

    return norm


@SCORERS.register("exact_match")
def exact_match(
    *,
    lowercase: bool = True,
    strip_punctuation: bool = True,
    nfkc: bool = True,
    collapse_space: bool = True,
) -> Scorer:
    """Share of samples whose normalised prediction equals the normalised label."""
    norm = normalizer(
        lowercase=lowercase,
        strip_punctuation=strip_punctuation,
        nfkc=nfkc,
        collapse_space=collapse_space,
    )

    def stats(predictions: Predictions, labels: Sequence[str]) -> Array:
        pairs = zip(predictions, labels, strict=True)
        return _column(p is not None and norm(p) == norm(y) for p, y in pairs)

    return Scorer("exact_match", stats, _mean_of_first)


@SCORERS.register("macro_f1")
def macro_f1(labels: Sequence[str] | None = None) -> Scorer:
    """Unweighted mean of per-class F1, over the classes present in the gold labels or
    predictions (scikit-learn's ``f1_score(average="macro")``). A prediction outside the
    label set (or missing) counts as a miss for the gold class and as no class.
    """
    fixed = list(labels) if labels else None

    def classes(gold: Sequence[str]) -> list[str]:
        return fixed if fixed is not None else sorted(set(gold))

    def stats(predictions: Predictions, gold: Sequence[str]) -> Array:
        import numpy as np

        names = classes(gold)
        k = len(names)
        index = {name: i for i, name in enumerate(names)}
        out = np.zeros((len(gold), k * (k + 1)), dtype=np.float64)
        for row, (p, y) in enumerate(zip(predictions, gold, strict=True)):
            if y not in index:
                raise TaskError(f"gold label {y!r} is not one of the task's labels")
            col = index.get(p, k) if p is not None else k
            out[row, index[y] * (k + 1) + col] = 1.0
        return out

    def aggregate(sums: Array, n: int) -> Array:
        import numpy as np

        k = int((math.isqrt(4 * sums.shape[-1] + 1) - 1) // 2)
        table = sums.reshape(*sums.shape[:-1], k, k + 1)
        tp = np.diagonal(table[..., :k], axis1=-2, axis2=-1)
        gold = table.sum(axis=-1)
        predicted = table[..., :k].sum(axis=-2)
        denom = gold + predicted
        present = denom > 0
        f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=present)
        count = present.sum(axis=-1)
        return np.asarray(
            np.divide(f1.sum(axis=-1), count, out=np.zeros(count.shape), where=count > 0),
            dtype=np.float64,
        )

    return Scorer("macro_f1", stats, aggregate, per_sample_column=None)


def lcs_length(a: Sequence[str] | str, b: Sequence[str] | str) -> int:
    """Length of the longest common subsequence (bit-parallel, Hyyrö 2004)."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for token in b:
        u = v & masks.get(token, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def _chars(text: str) -> list[str]:
    return [ch for ch in text if not ch.isspace()]


@SCORERS.register("rouge_l")
def rouge_l() -> Scorer:
    """Character-level ROUGE-L F1 for Chinese, averaged over samples."""

    def stats(predictions: Predictions, labels: Sequence[str]) -> Array:
        import numpy as np

        out = np.zeros((len(labels), 1), dtype=np.float64)
        for row, (p, y) in enumerate(zip(predictions, labels, strict=True)):
            hyp, ref = _chars(p or ""), _chars(y)
            if hyp and ref:
                out[row, 0] = 2 * lcs_length(ref, hyp) / (len(hyp) + len(ref))
        return out

    return Scorer("rouge_l", stats, _mean_of_first)


_ZH_RANGES = [
    ("\u3400", "\u4db5"), ("\u4e00", "\u9fa5"), ("\u9fa6", "\u9fbb"), ("\uf900", "\ufa2d"),
    ("\ufa30", "\ufa6a"), ("\ufa70", "\ufad9"), ("\u20000", "\u2a6d6"), ("\u2f800", "\u2fa1d"),
    ("\uff00", "\uffef"), ("\u2e80", "\u2eff"), ("\u3000", "\u303f"), ("\u31c0", "\u31ef"),
    ("\u2f00", "\u2fdf"), ("\u2ff0", "\u2fff"), ("\u3100", "\u312f"), ("\u31a0", "\u31bf"),
    ("\ufe10", "\ufe1f"), ("\ufe30", "\ufe4f"), ("\u2600", "\u26ff"), ("\u2700", "\u27bf"),
    ("\u3200", "\u32ff"), ("\u3300", "\u33ff"),
]  # fmt: skip
_RE_RULES = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]


def tokenize_zh(line: str) -> list[str]:
    """sacreBLEU's ``zh`` tokenizer: each Chinese character is a token, the rest follows
    the ``13a`` rules (same character ranges, same regular expressions)."""
    spaced = "".join(
        f" {ch} " if any(a <= ch <= b for a, b in _ZH_RANGES) else ch for ch in line.strip()
    )
    for pattern, repl in _RE_RULES:
        spaced = pattern.sub(repl, spaced)
    return spaced.split()


@SCORERS.register("bleu")
def bleu(max_order: int = 4) -> Scorer:
    """Corpus BLEU with the Chinese tokenizer and sacreBLEU's defaults (``exp`` smoothing),
    reported in [0, 1] rather than sacreBLEU's [0, 100]."""

    def stats(predictions: Predictions, labels: Sequence[str]) -> Array:
        import numpy as np

        out = np.zeros((len(labels), 2 * max_order + 2), dtype=np.float64)
        for row, (p, y) in enumerate(zip(predictions, labels, strict=True)):
            hyp, ref = tokenize_zh(p or ""), tokenize_zh(y)
            for order in range(1, max_order + 1):
                h = Counter(tuple(hyp[i : i + order]) for i in range(len(hyp) - order + 1))
                r = Counter(tuple(ref[i : i + order]) for i in range(len(ref) - order + 1))
                out[row, order - 1] = sum((h & r).values())
                out[row, max_order + order - 1] = max(len(hyp) - order + 1, 0)
            out[row, -2], out[row, -1] = len(hyp), len(ref)
        return out

    def aggregate(sums: Array, n: int) -> Array:
        import numpy as np

        correct, total = sums[..., :max_order], sums[..., max_order : 2 * max_order]
        sys_len, ref_len = sums[..., -2], sums[..., -1]
        with np.errstate(divide="ignore", invalid="ignore"):
            bp = np.where(
                sys_len >= ref_len, 1.0, np.exp(1 - ref_len / np.where(sys_len > 0, sys_len, 1))
            )
        bp = np.where(sys_len > 0, bp, 0.0)
        zero = correct == 0
        smooth = np.cumprod(np.where(zero, 2.0, 1.0), axis=-1)
        safe_total = np.where(total > 0, total, 1.0)
        precision = np.where(zero, 1.0 / (smooth * safe_total), correct / safe_total)
        log_p = np.where(total > 0, np.log(precision), -np.inf)
        score = bp * np.exp(log_p.mean(axis=-1))
        return np.asarray(np.where(correct.sum(axis=-1) > 0, score, 0.0), dtype=np.float64)

    return Scorer("bleu", stats, aggregate, per_sample_column=None)


JUDGE_TEMPLATE = """请作为公正的评审，评价下面回答的质量和正确性。
问题：
{{ question }}

参考答案：
{{ reference }}

待评回答：
{{ answer }}

请只输出一个 0 到 {{ scale }} 之间的整数分数，格式为“评分：N”。"""


@dataclass(frozen=True)
class JudgeSpec:
    """How an LLM judge is asked: its model spec and the Jinja2 template of the request."""

    model: str
    template: str
    scale: float


_NUMBER = re.compile(
    r"(?:评分|分数|score|rating)\s*[:：是为]?\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)", re.IGNORECASE
)


def judge_grade(verdict: str | None, scale: float) -> float:
    """The grade in a judge's verdict, as a share of ``scale`` (0 when there is none); a
    reasoning judge's thinking is not read (:func:`~mosu.evals.parsers.strip_think`)."""
    if verdict:
        verdict = strip_think(verdict)
    if not verdict:
        return 0.0
    match = _NUMBER.search(unicodedata.normalize("NFKC", verdict))
    if match is None:
        return 0.0
    return min(max(float(match.group(1) or match.group(2)) / scale, 0.0), 1.0)


@SCORERS.register("judge")
def judge(model: str, template: str = JUDGE_TEMPLATE, scale: float = 10) -> Scorer:
    """LLM-as-judge: a judge model grades each answer from 0 to ``scale``; the metric is the
    mean grade / ``scale``. The run sends the judge requests (cached and resumable like any
    other); this scorer's "predictions" are the judge's verdicts."""
    if scale <= 0:
        raise TaskError("judge scale must be positive")

    def stats(verdicts: Predictions, labels: Sequence[str]) -> Array:
        import numpy as np

        return np.array([[judge_grade(v, scale)] for v in verdicts], dtype=np.float64).reshape(
            -1, 1
        )

    return Scorer("judge", stats, _mean_of_first, judge=JudgeSpec(model, template, scale))


def build_scorer(name: str, options: dict[str, Any], labels: Sequence[str] | None) -> Scorer:
    """Build a scorer by name, with clear errors for unknown names and bad options."""
    factory = SCORERS.get(name)
    if factory is None:
        raise TaskError(f"unknown scorer {name!r}; known: {', '.join(sorted(SCORERS.names()))}")
    opts = dict(options)
    if name == "macro_f1" and "labels" not in opts and labels:
        opts["labels"] = list(labels)
    try:
        scorer = factory(**opts)
    except TypeError as exc:
        raise TaskError(f"scorer {name!r}: bad options {sorted(options)} ({exc})") from None
    if not isinstance(scorer, Scorer):
        raise PluginError(f"scorer {name!r} returned {type(scorer).__name__}, not a Scorer")
    return scorer
