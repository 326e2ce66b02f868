"""Contamination check (mosu/corpus/contamination.py): planted overlaps are found."""

from __future__ import annotations

from mosu.corpus.contamination import THRESHOLD, N, overlap


def test_planted_overlaps_are_found_and_boilerplate_is_not() -> None:
    leaked = "据报道今年全市新建公园二十三座，市民休闲空间明显增加"
    test = [
        leaked,
        "一道全新的测试题目，训练数据里从来没有出现过这些文字组合",
        "短句",
        "尊敬的领导您好，我想向您反映一个情况：楼道里的声控灯坏了一个多月，物业一直没有来修理，晚上上下楼很不方便",
    ]
    reference = [
        "新闻：" + leaked + "。",
        "短句",
        "尊敬的领导您好，我想向您反映一个情况：孩子入学登记的材料要求",
    ]
    found = overlap(test, reference)
    assert found.flagged_rows == [0, 2]
    assert [(e.test_index, e.reference_index) for e in found.examples] == [(0, 0), (2, 1)]
    assert found.examples[0].ratio == 1.0
    assert found.any_gram == 3  # the shared greeting is one 13-gram: counted, not flagged
    assert N == 13 and THRESHOLD == 0.5


def test_punctuation_width_and_spaces_do_not_hide_a_copy() -> None:
    found = overlap(
        ["Ｈｅｌｌｏ，　ＷＯＲＬＤ！这是一段被泄露的测试文本"],
        ["hello world 这是一段被泄露的测试文本。"],
    )
    assert found.flagged == 1


def test_empty_inputs() -> None:
    assert overlap([], ["x"]).flagged == 0
    assert overlap(["x" * 20], []).flagged == 0
