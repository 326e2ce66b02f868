from __future__ import annotations

import pytest

from mosu.evals.errors import TaskError
from mosu.evals.parsers import build_parser, choice_letter, label


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
