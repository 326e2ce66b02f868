"""Online Elo against a transcription of FastChat's compute_online_elo."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from mosu.arena import online_elo
from tests.arena.helpers import arena


def fastchat_online_elo(records: list[dict[str, str]], k: float = 4.0) -> dict[str, float]:
    rating: dict[str, float] = defaultdict(lambda: 1000.0)
    for r in records:
        ra, rb = rating[r["model_a"]], rating[r["model_b"]]
        ea = 1 / (1 + 10 ** ((rb - ra) / 400))
        eb = 1 / (1 + 10 ** ((ra - rb) / 400))
        sa = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}[r["winner"]]
        rating[r["model_a"]] += k * (sa - ea)
        rating[r["model_b"]] += k * (1 - sa - eb)
    return rating


def test_matches_fastchat() -> None:
    battles = arena(7, 5_000, seed=2)
    ours = online_elo(battles)
    theirs = fastchat_online_elo(list(battles.records()))
    np.testing.assert_allclose(ours, [theirs[m] for m in battles.models], atol=1e-9)
    assert abs(ours.mean() - 1000.0) < 1e-9  # Elo updates are zero-sum
