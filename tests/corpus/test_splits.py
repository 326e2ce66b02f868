"""Platform-made splits: seeded, stratified by label, the same for the same seed."""

from __future__ import annotations

from collections import Counter

from mosu.corpus.schemas import SplitRatios
from mosu.corpus.splits import assign_splits


def test_stratified_by_label_and_stable() -> None:
    labels: list[str | None] = ["a"] * 100 + ["b"] * 40 + ["c"] * 10
    splits = assign_splits(labels, SplitRatios(), seed=7)
    assert splits == assign_splits(labels, SplitRatios(), seed=7)
    assert splits != assign_splits(labels, SplitRatios(), seed=8)
    counts = Counter(zip(labels, splits, strict=True))
    assert (counts["a", "test"], counts["b", "test"], counts["c", "test"]) == (10, 4, 1)
    assert (counts["a", "dev"], counts["b", "dev"], counts["c", "dev"]) == (10, 4, 1)


def test_no_test_split_when_asked_for_none() -> None:
    splits = assign_splits(["x"] * 20, SplitRatios(train=0.9, dev=0.1, test=0), seed=1)
    assert Counter(splits) == {"train": 18, "dev": 2}
