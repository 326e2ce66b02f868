"""Judge models (裁判模型): an LLM that votes on a battle like a person, in both orders.

A judge sees the prompt (and the image it carries, as an ``image_url`` part after the
text) and the two answers twice, A then B and B then A. Position bias
(a judge preferring whichever answer comes first) then cancels: the vote stands only if
both orders name the same answer, and a disagreement is recorded as a tie.
"""

from __future__ import annotations

import re
from typing import Literal

from mosu.evals.images import ImageData
from mosu.evals.prompts import Message

Verdict = Literal["A", "B", "tie", "bothbad"]

JUDGE_SYSTEM = (
    "你是公正的评审。请比较两个AI助手对同一问题的回答，只看回答质量（准确、有用、完整、得体），"
    "不要受回答顺序或长短本身影响。"
)
JUDGE_TEMPLATE = """[问题]
{prompt}

<<<回答A>>>
{a}
<<<回答A结束>>>

<<<回答B>>>
{b}
<<<回答B结束>>>

先简要说明理由，最后一行只写结论：A 更好写 [[A]]，B 更好写 [[B]]，一样好写 [[C]]，都不好写 [[D]]。"""

JUDGE_PATTERN = (
    r"(?s)<<<回答A>>>\n(?P<a>.*?)\n<<<回答A结束>>>.*?<<<回答B>>>\n(?P<b>.*?)\n<<<回答B结束>>>"
)
"""Finds the two answers in a judge prompt (the fake server's judge mode reads it)."""

_VERDICT = re.compile(r"\[\[([ABCD])\]\]")
_BY_LETTER: dict[str, Verdict] = {"A": "A", "B": "B", "C": "tie", "D": "bothbad"}


def judge_messages(
    prompt: str, first: str, second: str, *, image: ImageData | None = None
) -> list[Message]:
    """The judge's chat messages with ``first`` shown as A and ``second`` as B; the
    prompt's ``image``, if any, follows the text as an ``image_url`` part."""
    user = JUDGE_TEMPLATE.format(prompt=prompt, a=first, b=second)
    content: str | list[dict[str, object]] = user
    if image is not None:
        content = [{"type": "text", "text": user}, image.part()]
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": content}]


def parse_verdict(text: str) -> Verdict | None:
    """The last ``[[A]]``/``[[B]]``/``[[C]]``/``[[D]]`` in the judge's reply, else ``None``."""
    found = _VERDICT.findall(text)
    return _BY_LETTER[found[-1]] if found else None


def combine(forward: Verdict, backward: Verdict) -> str:
    """The battle's winner (Chatbot Arena's words) from the verdict with A shown first and
    the verdict with the sides swapped: agreement stands, disagreement is a tie."""
    swapped: dict[Verdict, Verdict] = {"A": "B", "B": "A", "tie": "tie", "bothbad": "bothbad"}
    back = swapped[backward]
    if forward == back:
        return {"A": "model_a", "B": "model_b", "tie": "tie", "bothbad": "tie (bothbad)"}[forward]
    return "tie"
