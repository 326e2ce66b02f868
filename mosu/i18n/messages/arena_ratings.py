"""English for the arena leaderboard's notes on groups and thin data (竞技场评分)."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "这些模型分成 {n} 组，组与组之间从未（直接或间接）对战过：评分只在组内可比，名次只在组内排定。": (
        "These models fall into {n} groups that never met, directly or through others: "
        "ratings compare, and ranks count, only within a group."
    ),
    "标“数据不足”的模型票数太少（例如从未赢过或从未输过），其评分或区间取决于惩罚项，不能据此比较。": (
        "Models marked “insufficient data” have too few votes (for instance never won, or "
        "never lost): their rating or interval rests on a penalty and cannot be compared."
    ),
    "数据不足": "insufficient data",
    "组": "Group",
}
