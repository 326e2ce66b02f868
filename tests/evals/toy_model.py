"""A local model for tests: answers the label named after '：' when it is one of the labels."""

from __future__ import annotations


async def first_label(messages: list[dict[str, str]]) -> str:
    return "甲"


def echo(messages: list[dict[str, str]]) -> str:
    return messages[-1]["content"]


def grader(messages: list[dict[str, str]]) -> str:
    """A judge: 评分：10 when the answer equals the reference, else 评分：2."""
    text = messages[-1]["content"]
    reference = text.split("参考答案：\n", 1)[1].split("\n", 1)[0].strip()
    answer = text.split("待评回答：\n", 1)[1].split("\n", 1)[0].strip()
    return "评分：10" if answer == reference else "评分：2"
