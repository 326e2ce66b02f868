from __future__ import annotations

import pytest

from mosu.evals.errors import TaskError
from mosu.evals.parsers import build_parser, choice_letter, label, strip_think


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", "B"),
        ("B.", "B"),
        ("b", "B"),
        ("（B）", "B"),
        ("(C) 后腿肉", "C"),
        ("答案是 B", "B"),
        ("答案是：Ｃ", "C"),
        ("答案：D。因为……", "D"),
        ("正确答案应该是A选项", "A"),
        ("我选B", "B"),
        ("选项 C 是正确的", "C"),
        ("Ｄ", "D"),
        ("根据题意，B 选项正确", "B"),
        ("【A】", "A"),
        ("The answer is A", "A"),
        ("A和B都有可能", None),
        ("我不知道", None),
        ("", None),
        ("ABCD", None),
    ],
)
def test_choice_letter(text: str, expected: str | None) -> None:
    assert choice_letter()(text) == expected


def test_label_parser_prefers_exact_then_first_named() -> None:
    parse = label(["城乡建设", "环境保护", "交通运输"])
    assert parse("环境保护") == "环境保护"
    assert parse(" 环境保护。") == "环境保护"
    assert parse("该留言属于交通运输类，不是城乡建设") == "交通运输"
    assert parse("不清楚") is None


def test_unknown_parser_is_named() -> None:
    with pytest.raises(TaskError, match="unknown parser 'nope'"):
        build_parser("nope", {}, None)
    with pytest.raises(TaskError, match="bad options"):
        build_parser("choice_letter", {"lettres": "AB"}, None)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"pattern": "答案[是为(.)"},
            "tasks/x.yaml: parser.pattern: invalid regular expression '答案[是为(.)': "
            "unterminated character set at position 2",
        ),
        (
            {"pattern": "答案是(.)", "group": 2},
            "tasks/x.yaml: parser.group: the pattern '答案是(.)' has 1 group(s); no group 2",
        ),
    ],
)
def test_a_bad_regex_names_the_file_and_the_field(options: dict[str, object], message: str) -> None:
    with pytest.raises(TaskError) as caught:
        build_parser("regex", options, None, where="tasks/x.yaml")
    assert str(caught.value) == message


# What reasoning models really return, one shape per vendor habit.
R1_FULL = "<think>\n题目问的是汉朝的开国皇帝。选项 A 是秦始皇，不对；B 是刘邦……所以选B。\n</think>\n\n答案：B"
QWEN3_NO_OPEN = "好的，我来分析一下这个问题。A 显然不对，D 也不对，答案应该是 C。\n</think>\n\nC"
CUT_IN_THINKING = "<think>\n首先看选项 A。A 说的是……再看 B，B 也有道理，答案是 A 吗？不，"
EMPTY_AFTER = "<think>答案是 D</think>\n\n"
MISLEADS = "<think>乍看答案是A，但 A 的年代不对，再看 B……对，是 B。</think>\n\nB"
TWO_BLOCKS = (
    "<think>先想一下，选A？</think>初步看是B。<think>再核对一次：A 不对。</think>\n最终答案：B"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (R1_FULL, "答案：B"),
        (QWEN3_NO_OPEN, "C"),
        (CUT_IN_THINKING, None),
        (EMPTY_AFTER, None),
        (TWO_BLOCKS, "初步看是B。\n最终答案：B"),
        ("  B  ", "  B  "),  # no tags: untouched
    ],
)
def test_strip_think(text: str, expected: str | None) -> None:
    assert strip_think(text) == expected


@pytest.mark.parametrize(
    ("name", "options", "text", "expected"),
    [
        # the letters in the thinking (A, B, C …) would make choice_letter give up or misread
        ("choice_letter", {}, R1_FULL, "B"),
        ("choice_letter", {}, MISLEADS, "B"),
        ("choice_letter", {}, QWEN3_NO_OPEN, "C"),
        ("choice_letter", {}, CUT_IN_THINKING, None),
        ("first_line", {}, R1_FULL, "答案：B"),
        ("regex", {"pattern": "答案[:：]\\s*([A-D])"}, TWO_BLOCKS, "B"),
        ("identity", {}, QWEN3_NO_OPEN, "C"),
        ("label", {"labels": ["体育", "财经"]}, "<think>是财经吗？不，是体育</think>体育", "体育"),
    ],
)
def test_every_parser_reads_the_answer_not_the_thinking(
    name: str, options: dict[str, object], text: str, expected: str | None
) -> None:
    assert build_parser(name, options, None)(text) == expected


def test_strip_think_can_be_turned_off() -> None:
    parse = build_parser("identity", {"strip_think": False}, None)
    assert parse(R1_FULL) == R1_FULL.strip()
    assert build_parser("choice_letter", {"strip_think": False}, None)(MISLEADS) == "A"
    with pytest.raises(TaskError, match=r"parser\.strip_think: expected true or false"):
        build_parser("identity", {"strip_think": "yes"}, None, where="t.yaml")
