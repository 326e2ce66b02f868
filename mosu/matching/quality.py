"""Ranking quality against graded labels: nDCG@k and recall@k."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mosu.matching.engine import Matcher, Method
from mosu.matching.profiles import RelevanceSet


def dcg(gains: Sequence[float]) -> float:
    return sum(float(2.0**g - 1.0) / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranked: Sequence[str], labels: Mapping[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain with exponential gains ``2^grade - 1``."""
    ideal = dcg(sorted(labels.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return dcg([labels.get(d, 0) for d in ranked[:k]]) / ideal


def recall_at_k(ranked: Sequence[str], labels: Mapping[str, int], k: int = 10) -> float:
    """Share of the relevant (grade ≥ 1) documents found in the top ``k``."""
    relevant = {d for d, g in labels.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


@dataclass(frozen=True)
class Quality:
    method: str
    ndcg: float
    recall: float
    queries: int


def evaluate(
    matcher: Matcher, rs: RelevanceSet, *, method: Method, k: int = 10, offering_only: bool = True
) -> Quality:
    """Mean nDCG@k and recall@k of ``suppliers_for`` over the set's scenarios (no filters
    but ``offering_only``, which keeps organisations that offer something, as pages do)."""
    ndcgs, recalls = [], []
    for scenario in rs.scenarios:
        found = matcher.suppliers_for(scenario, k=k, method=method, offering_only=offering_only)
        ranked = [r.doc_id for r in found]
        labels = rs.labels[scenario.scenario_id]
        ndcgs.append(ndcg_at_k(ranked, labels, k))
        recalls.append(recall_at_k(ranked, labels, k))
    n = len(rs.scenarios)
    return Quality(method=method, ndcg=sum(ndcgs) / n, recall=sum(recalls) / n, queries=n)
