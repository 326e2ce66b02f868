"""English for image corpora and vision races: the card's thumbnail grid, the race
report's gallery of public examples."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "图片示例（公开划分）": "Example images (public splits)",
    "图片": "Images",
    "图例：公开部分的答对与答错示例（仅运营方可见）": (
        "Gallery: examples of the public part answered right and wrong (operators only)"
    ),
}
