"""English for the matching pages' relative strength (匹配度)."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "匹配度": "Match",
    "相对最佳推荐的匹配强度": "Strength relative to the best recommendation",
}
