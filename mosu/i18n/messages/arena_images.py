"""English for images in the arena (竞技场图片提示): the image a prompt carries on the voting
page."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "问题附图": "The question's image",
}
