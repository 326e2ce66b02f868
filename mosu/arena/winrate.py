"""Win-rate matrices (empirical and Bradley-Terry predicted) and their heatmap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mosu.arena.pairs import PairCounts
from mosu.arena.ratings import Leaderboard

Array = NDArray[np.float64]


def empirical_win_rate(pairs: PairCounts) -> Array:
    """``W[i, j]``: the share of i's battles against j that i won, a tie counting
    half; NaN where the two never met (and on the diagonal)."""
    total = pairs.totals
    first = pairs.first_scores / total
    return pairs.matrix(first, 1.0 - first)


def predicted_win_rate(board: Leaderboard) -> Array:
    """``P[i, j]``: the Bradley-Terry probability that i beats j; NaN on the diagonal."""
    r = board.rating
    p = board.scale.win_probability(r[:, None], r[None, :])
    np.fill_diagonal(p, np.nan)
    return p


def win_rate_heatmap(
    models: Sequence[str],
    matrix: Array,
    *,
    order: Sequence[int] | None = None,
    title: str = "胜率 / win rate (row beats column)",
) -> Any:
    """A Plotly heatmap of ``matrix``, rows and columns in ``order`` (best first
    when given a leaderboard's order). Returns a ``plotly.graph_objects.Figure``."""
    import plotly.graph_objects as go

    idx = list(order) if order is not None else list(range(len(models)))
    names = [models[i] for i in idx]
    z = matrix[np.ix_(idx, idx)]
    text = np.where(np.isnan(z), "", np.char.mod("%.2f", np.nan_to_num(z)))
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            zmin=0.0,
            zmax=1.0,
            colorscale="RdBu",
            text=text,
            texttemplate="%{text}" if len(names) <= 30 else None,
            hovertemplate="%{y} vs %{x}: %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        xaxis={"side": "top", "title": "model B"},
        yaxis={"autorange": "reversed", "title": "model A"},
    )
    return fig


def leaderboard_order(board: Leaderboard) -> list[int]:
    """Model indices best first, the order a heatmap reads well in."""
    return sorted(range(len(board.models)), key=lambda i: -board.rating[i])
