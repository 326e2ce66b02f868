"""竞技场 arena: blind pairwise battles ranked by Bradley-Terry with confidence intervals.

A library first: read votes in Chatbot Arena's format, rate them, rank by
upper bound, pick the next informative battle; the platform and the CLI
(``mosu arena rank VOTES``) call the same functions.
"""

from mosu.arena.bradley_terry import NotEstimable
from mosu.arena.elo import online_elo
from mosu.arena.matchmaking import choose_next_battle, pair_battle_matrix, pair_weights
from mosu.arena.pairs import PairCounts
from mosu.arena.ratings import Leaderboard, ModelRating, RatingScale, rank_by_upper_bound, rate
from mosu.arena.votes import (
    WINNERS,
    ArenaError,
    Battles,
    VoteFormatError,
    VoteProblem,
    dumps_votes,
    parse_votes,
    read_votes,
    write_votes,
)
from mosu.arena.winrate import (
    empirical_win_rate,
    leaderboard_order,
    predicted_win_rate,
    win_rate_heatmap,
)

__all__ = [
    "WINNERS",
    "ArenaError",
    "Battles",
    "Leaderboard",
    "ModelRating",
    "NotEstimable",
    "PairCounts",
    "RatingScale",
    "VoteFormatError",
    "VoteProblem",
    "choose_next_battle",
    "dumps_votes",
    "empirical_win_rate",
    "leaderboard_order",
    "online_elo",
    "pair_battle_matrix",
    "pair_weights",
    "parse_votes",
    "predicted_win_rate",
    "rank_by_upper_bound",
    "rate",
    "read_votes",
    "win_rate_heatmap",
    "write_votes",
]
