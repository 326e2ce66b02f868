from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from rouge_chinese import Rouge
from sacrebleu.metrics import BLEU
from sklearn.metrics import accuracy_score, f1_score

from mosu.evals.scorers import (
    accuracy,
    bleu,
    exact_match,
    lcs_length,
    macro_f1,
    rouge_l,
    tokenize_zh,
)


def _tnews(shared_data: Path) -> tuple[list[str], list[str | None]]:
    rows = [
        json.loads(line)
        for line in (shared_data / "tnews" / "test_public.json")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    gold = [r["label_desc"] for r in rows]
    names = sorted(set(gold))
    rng = random.Random(7)
    preds: list[str | None] = [
        g if rng.random() < 0.55 else (None if rng.random() < 0.1 else rng.choice(names))
        for g in gold
    ]
    return gold, preds


def test_accuracy_and_macro_f1_match_sklearn(shared_data: Path) -> None:
    gold, preds = _tnews(shared_data)
    filled = [p if p is not None else "<none>" for p in preds]
    labels = sorted(set(gold))
    assert accuracy().score(preds, gold) == pytest.approx(accuracy_score(gold, filled))
    expected = f1_score(gold, filled, labels=labels, average="macro", zero_division=0)
    assert macro_f1(labels).score(preds, gold) == pytest.approx(expected, abs=1e-12)
    assert macro_f1().score(preds, gold) == pytest.approx(expected, abs=1e-12)


def test_macro_f1_counts_only_present_classes() -> None:
    gold = ["a", "a", "b"]
    preds: list[str | None] = ["a", "b", "b"]
    expected = f1_score(gold, preds, average="macro")
    assert macro_f1(["a", "b", "c"]).score(preds, gold) == pytest.approx(expected)


def test_exact_match_normalisation() -> None:
    scorer = exact_match()
    assert scorer.score(
        ["  Hello， World! ", "北京。", None], ["hello world", "北京", "x"]
    ) == pytest.approx(2 / 3)
    strict = exact_match(lowercase=False, strip_punctuation=False)
    assert strict.score(["Hello"], ["hello"]) == 0.0


def _dp_lcs(a: str, b: str) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = (
                table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
            )
    return table[-1][-1]


def test_lcs_matches_dynamic_programming() -> None:
    rng = random.Random(1)
    for _ in range(300):
        a = "".join(rng.choice("甲乙丙丁戊") for _ in range(rng.randint(0, 90)))
        b = "".join(rng.choice("甲乙丙丁戊") for _ in range(rng.randint(0, 90)))
        assert lcs_length(a, b) == _dp_lcs(a, b)


def _replies(shared_data: Path, n: int) -> tuple[list[str], list[str]]:
    path = shared_data / "teddycup2020" / "messages_replies_full.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:n]]
    refs = ["".join(r["答复意见"].split())[:120] for r in rows]
    rng = random.Random(3)
    hyps = ["".join(ch for ch in ref if rng.random() < 0.8) + "谢谢" for ref in refs]
    return hyps, refs


def test_rouge_l_matches_rouge_chinese(shared_data: Path) -> None:
    strip = str.maketrans("", "", "。！？!?…\n")  # rouge-chinese would split sentences there
    hyps, refs = ([text.translate(strip) for text in texts] for texts in _replies(shared_data, 60))
    ours = rouge_l().stats(hyps, refs)[:, 0]
    reference = Rouge(metrics=["rouge-l"])
    theirs = [
        reference.get_scores(" ".join(h), " ".join(r))[0]["rouge-l"]["f"]
        for h, r in zip(hyps, refs, strict=True)
    ]
    assert np.allclose(ours, theirs, atol=1e-6)


def test_bleu_matches_sacrebleu_zh(shared_data: Path) -> None:
    hyps, refs = _replies(shared_data, 200)
    hyps[0] = ""
    reference = BLEU(tokenize="zh")
    expected = reference.corpus_score(hyps, [refs]).score / 100
    assert bleu().score(hyps, refs) == pytest.approx(expected, rel=1e-9)
    tok = reference._get_tokenizer("zh") if hasattr(reference, "_get_tokenizer") else None
    if tok is not None:
        for text in refs[:50]:
            assert tokenize_zh(text) == tok(text).split()


def test_bleu_short_hypotheses_match_sacrebleu() -> None:
    hyps = ["今天天气好", "我们 go home, 2024-05 的 test.", "完全无关"]
    refs = ["今天天气很好", "我们 go home, 2024-05 的 test!", "一二三四五"]
    expected = BLEU(tokenize="zh").corpus_score(hyps, [refs]).score / 100
    assert bleu().score(hyps, refs) == pytest.approx(expected, rel=1e-9)
