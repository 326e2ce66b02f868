"""How far a judge model agrees with the experts (评审模型与专家一致性): pure functions.

On a rubric the experts' grades of an item are averaged and rounded to the scale (0 …
``scale``, halves up); the judge's grade of the same answer is compared with that consensus
by Cohen's kappa, quadratic-weighted since grades are ordinal. On pairwise items the
judge's preference (the answer it graded higher, or a tie) is compared with the experts'
majority (a tie when the top preferences are level) by the agreement rate, ties counted as
a category of their own, beside the unweighted kappa of the same three categories. A judge
whose agreement is below the round's ``min_agreement`` is flagged.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

Weights = Literal["linear", "quadratic"] | None
PREFERENCES = ("a", "b", "tie")


def cohen_kappa(
    first: Sequence[Hashable],
    second: Sequence[Hashable],
    *,
    labels: Sequence[Hashable] | None = None,
    weights: Weights = None,
) -> float | None:
    """Cohen's kappa of two raters' labels of the same items (as scikit-learn's
    ``cohen_kappa_score``): 1 − Σ w·observed / Σ w·expected, where expected is the outer
    product of the two raters' marginals. ``labels`` fixes the categories and their order
    (needed for weights over a scale); ``weights`` ``"quadratic"`` or ``"linear"`` weigh a
    disagreement by its squared or plain distance in that order. ``None`` when it is
    undefined: no items, or no disagreement is expected by chance (one rater never varies)."""
    if len(first) != len(second):
        raise ValueError("both raters must label the same items")
    if not first:
        return None
    order = list(labels) if labels is not None else sorted(set(first) | set(second), key=str)
    index = {label: i for i, label in enumerate(order)}
    k = len(order)
    observed = np.zeros((k, k), dtype=np.float64)
    for x, y in zip(first, second, strict=True):
        observed[index[x], index[y]] += 1
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    if weights is None:
        w = 1.0 - np.eye(k)
    else:
        distance = np.abs(np.arange(k)[:, None] - np.arange(k)[None, :]).astype(np.float64)
        w = distance if weights == "linear" else distance**2
    chance = float((w * expected).sum())
    if chance == 0:
        return None
    return 1.0 - float((w * observed).sum()) / chance


def consensus(grades: Sequence[float], scale: int) -> int:
    """The experts' grade of an item: their mean rounded to the scale (halves up)."""
    if not grades:
        raise ValueError("no grades")
    mean = math.fsum(grades) / len(grades)
    return min(max(math.floor(mean + 0.5), 0), scale)


def on_scale(share: float, scale: int) -> int:
    """A judge's grade given as a share of its scale (0–1), as a whole grade 0 … ``scale``."""
    return min(max(math.floor(share * scale + 0.5), 0), scale)


def majority(preferences: Sequence[str]) -> str:
    """The experts' preference on a pair: the most chosen of a / b / tie; ``tie`` when the
    most chosen are level (one a, one b)."""
    if not preferences:
        raise ValueError("no preferences")
    counts = Counter(preferences).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return "tie"
    return counts[0][0]


def preference(grade_a: float, grade_b: float) -> str:
    """Which answer a grader prefers from its grades of both: ``a``, ``b`` or ``tie``."""
    if grade_a == grade_b:
        return "tie"
    return "a" if grade_a > grade_b else "b"


def agreement_rate(first: Sequence[str], second: Sequence[str]) -> float | None:
    """The share of items on which two raters chose the same (a tie agrees only with a tie)."""
    if len(first) != len(second):
        raise ValueError("both raters must label the same items")
    if not first:
        return None
    return sum(x == y for x, y in zip(first, second, strict=True)) / len(first)


@dataclass(frozen=True)
class CriterionAgreement:
    """The judge against the experts' consensus on one criterion: ``n`` items both graded,
    the quadratic-weighted kappa, and ``flagged`` when it is below the round's level."""

    key: str
    name: str
    n: int
    kappa: float | None
    flagged: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PairwiseAgreement:
    """The judge's preferences against the experts' majorities on ``n`` pairs: the agreement
    rate (ties a category), the unweighted kappa, and ``flagged`` when the rate is below."""

    n: int
    rate: float | None
    kappa: float | None
    flagged: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def rubric_agreement(
    judge: Mapping[int, int],
    experts: Mapping[int, Mapping[str, Sequence[float]]],
    criteria: Sequence[Mapping[str, Any]],
    *,
    scale: int,
    min_agreement: float,
) -> list[CriterionAgreement]:
    """Per criterion, the judge's whole grade (``judge``: item → 0 … ``scale``) against the
    experts' consensus on that criterion (``experts``: item → criterion key → grades), over
    the items both graded."""
    out = []
    labels = list(range(scale + 1))
    for criterion in criteria:
        key = str(criterion["key"])
        pairs = [
            (grade, consensus(list(by_key[key]), scale))
            for item, grade in sorted(judge.items())
            if (by_key := experts.get(item)) is not None and by_key.get(key)
        ]
        kappa = cohen_kappa(
            [p[0] for p in pairs], [p[1] for p in pairs], labels=labels, weights="quadratic"
        )
        out.append(
            CriterionAgreement(
                key=key,
                name=str(criterion.get("name", key)),
                n=len(pairs),
                kappa=kappa,
                flagged=kappa is not None and kappa < min_agreement,
            )
        )
    return out


def pairwise_agreement(
    judge: Mapping[int, str], experts: Mapping[int, Sequence[str]], *, min_agreement: float
) -> PairwiseAgreement:
    """The judge's preference on each pair (``judge``: item → a / b / tie) against the
    experts' majority on it, over the pairs both judged."""
    pairs = [
        (choice, majority(list(chosen)))
        for item, choice in sorted(judge.items())
        if (chosen := experts.get(item))
    ]
    ours, theirs = [p[0] for p in pairs], [p[1] for p in pairs]
    rate = agreement_rate(ours, theirs)
    return PairwiseAgreement(
        n=len(pairs),
        rate=rate,
        kappa=cohen_kappa(ours, theirs, labels=PREFERENCES),
        flagged=rate is not None and rate < min_agreement,
    )


__all__ = [
    "PREFERENCES",
    "CriterionAgreement",
    "PairwiseAgreement",
    "agreement_rate",
    "cohen_kappa",
    "consensus",
    "majority",
    "on_scale",
    "pairwise_agreement",
    "preference",
    "rubric_agreement",
]
