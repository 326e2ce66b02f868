"""Platform-made splits: seeded, stratified by label where there is one.

The assignment is made once, at import, and stored with the rows; it is never recomputed.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from mosu.corpus.schemas import SplitRatios


def assign_splits(labels: list[str | None], ratios: SplitRatios, seed: int) -> list[str]:
    """A split for each row: within each label (in order of first appearance), the rows are
    shuffled with ``seed`` and cut into test, dev and train by ``ratios`` (rounded, with at
    least one test row for any label of three or more rows when ``ratios.test`` > 0)."""
    groups: dict[str | None, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        groups[label].append(index)
    rng = np.random.default_rng(seed)
    out = ["train"] * len(labels)
    for members in groups.values():
        order = [members[i] for i in rng.permutation(len(members))]
        n = len(order)
        n_test = round(n * ratios.test)
        n_dev = round(n * ratios.dev)
        if ratios.test > 0 and n_test == 0 and n >= 3:
            n_test = 1
        if ratios.dev > 0 and n_dev == 0 and n >= 3:
            n_dev = 1
        for i in order[:n_test]:
            out[i] = "test"
        for i in order[n_test : n_test + n_dev]:
            out[i] = "dev"
    return out
