from __future__ import annotations

import math
import random
from collections import Counter

import bm25s
import numpy as np
import pytest

from mosu.matching.index import Index
from mosu.matching.tokens import Tokenizer, default_tokenizer

CORPUS = {
    "a": "政务热线 智能客服 大模型 智能客服",
    "b": "医学影像 辅助诊断 大模型",
    "c": "工业质检 缺陷检测 视觉检测 工业质检 工业质检",
    "d": "智能客服 在线客服 客服机器人 金融",
    "e": "具身智能 机器人 机械臂 抓取",
    "f": "公文写作 材料起草 政务 一网通办 政务",
}


def reference_bm25(
    docs: dict[str, list[str]], query: list[str], k1: float, b: float
) -> dict[str, float]:
    """Textbook BM25 (Lucene idf), one document at a time, no shared code with the index."""
    n = len(docs)
    avgdl = sum(len(t) for t in docs.values()) / n
    out = {}
    for doc_id, terms in docs.items():
        tf = Counter(terms)
        score = 0.0
        for q in set(query):
            df = sum(1 for other in docs.values() if q in other)
            if df == 0 or tf[q] == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            score += idf * tf[q] / (tf[q] + k1 * (1 - b + b * len(terms) / avgdl))
        out[doc_id] = score
    return out


@pytest.fixture(scope="module")
def tk() -> Tokenizer:
    return default_tokenizer()


def build(tk: Tokenizer, docs: dict[str, str], **kw: object) -> Index:
    index = Index(tokenizer=tk, **kw)  # type: ignore[arg-type]
    index.add_many((d, text, ()) for d, text in docs.items())
    return index


@pytest.mark.parametrize("query", ["智能客服", "大模型 政务", "工业质检 机器人 智能", "不存在的词"])
@pytest.mark.parametrize(("k1", "b"), [(1.2, 0.75), (1.5, 0.3)])
def test_scores_match_reference(tk: Tokenizer, query: str, k1: float, b: float) -> None:
    index = build(tk, CORPUS, k1=k1, b=b)
    tokens = {d: tk.tokens(t) for d, t in CORPUS.items()}
    expected = reference_bm25(tokens, tk.tokens(query), k1, b)
    hits = {h.doc_id: h.score for h in index.search(query, k=10)}
    for doc_id, score in expected.items():
        assert hits.get(doc_id, 0.0) == pytest.approx(score, abs=1e-6)


def test_scores_match_bm25s(tk: Tokenizer) -> None:
    tokens = [tk.tokens(t) for t in CORPUS.values()]
    model = bm25s.BM25(k1=1.2, b=0.75, method="lucene", dtype="float64")
    model.index(tokens, show_progress=False)
    index = build(tk, CORPUS)
    query = [t for t in dict.fromkeys(tk.tokens("智能客服 政务 大模型")) if t in model.vocab_dict]
    theirs = model.get_scores(query)
    ours = {h.doc_id: h.score for h in index.search_terms(query, k=10)}
    for doc_id, score in zip(CORPUS, theirs, strict=True):
        assert ours.get(doc_id, 0.0) == pytest.approx(float(score), abs=1e-6)


def ranking(index: Index, query: str) -> list[tuple[str, float]]:
    return [(h.doc_id, round(h.score, 9)) for h in index.search(query, k=50)]


def test_incremental_updates_equal_a_rebuild(tk: Tokenizer) -> None:
    rng = random.Random(1)
    words = [w for text in CORPUS.values() for w in text.split()]
    live: dict[str, str] = {}
    index = Index(tokenizer=tk, compact_ratio=0.3)
    for step in range(400):
        doc_id = f"d{rng.randrange(80)}"
        if doc_id in live and rng.random() < 0.35:
            index.remove(doc_id)
            del live[doc_id]
        else:
            text = " ".join(rng.choices(words, k=rng.randint(2, 9)))
            index.add(doc_id, text) if step % 2 else index.update(doc_id, text)
            live[doc_id] = text
    assert len(index) == len(live)
    fresh = build(tk, live)
    for query in ["智能客服", "政务 大模型", "机器人 工业质检 金融", "辅助诊断"]:
        assert ranking(index, query) == ranking(fresh, query)


def test_update_replaces_the_old_text(tk: Tokenizer) -> None:
    index = build(tk, CORPUS)
    index.update("c", "智能客服 智能客服")
    assert "c" in {h.doc_id for h in index.search("智能客服")}
    assert "c" not in {h.doc_id for h in index.search("工业质检")}
    index.remove("c")
    index.remove("no-such-doc")
    assert "c" not in {h.doc_id for h in index.search("智能客服")}


def test_filters_are_groups_of_alternatives(tk: Tokenizer) -> None:
    index = Index(tokenizer=tk)
    index.add("x", "智能客服", attrs={"filed", "region:上海", "layer:application"})
    index.add("y", "智能客服", attrs={"region:全国", "layer:model"})
    index.add("z", "智能客服 智能客服", attrs={"filed", "region:北京", "layer:application"})
    ids = lambda where: {h.doc_id for h in index.search("智能客服", where=where)}  # noqa: E731
    assert ids([]) == {"x", "y", "z"}
    assert ids([frozenset({"filed"})]) == {"x", "z"}
    assert ids([frozenset({"region:上海", "region:全国"})]) == {"x", "y"}
    assert ids([frozenset({"filed"}), frozenset({"region:上海", "region:全国"})]) == {"x"}
    index.update("x", "智能客服", attrs={"region:上海"})
    assert ids([frozenset({"filed"})]) == {"z"}


def test_vectors_rank_by_cosine_and_survive_compaction(tk: Tokenizer) -> None:
    index = Index(tokenizer=tk, compact_ratio=0.1)
    for i in range(100):
        index.add(f"d{i}", "大模型", vector=[math.cos(i / 50), math.sin(i / 50), 0.0])
    for i in range(0, 100, 2):
        index.remove(f"d{i}")
    hits = index.search_vector(np.array([1.0, 0.0, 0.0]), k=3)
    assert [h.doc_id for h in hits] == ["d1", "d3", "d5"]
    assert hits[0].score == pytest.approx(math.cos(1 / 50), abs=1e-6)


def test_extra_terms_score_at_their_own_weight() -> None:
    index = Index(tokenizer=default_tokenizer())
    for doc_id, text in CORPUS.items():
        index.add(doc_id, text)
    alone = index.bm25(["工业质检"])
    weighted = index.bm25(["医学影像"], extra={"工业质检": 0.25})
    assert weighted == pytest.approx(index.bm25(["医学影像"]) + 0.25 * alone)
    # an extra term the query already holds adds its weight to the query's own
    both = index.bm25(["工业质检"], extra={"工业质检": 0.5})
    assert both == pytest.approx(1.5 * alone)


def test_worker_batches_index_like_one_process_and_like_single_adds(tk: Tokenizer) -> None:
    """Texts cut in forked workers come back as batches of term ids; merged, they give the
    postings one process gives, and those single ``add`` calls give."""
    rng = random.Random(5)
    words = [w for text in CORPUS.values() for w in text.split()] + ["ＯＣＲ，发票", "12345热线"]
    docs = {f"d{i}": " ".join(rng.choices(words, k=rng.randint(0, 12))) for i in range(120)}
    first = dict(list(docs.items())[:50])
    forked = Index(tokenizer=tk)
    forked.add_many(((d, t, ()) for d, t in first.items()), workers=2)
    forked.add_many(((d, t, ()) for d, t in docs.items() if d not in first), workers=2)
    alone = build(tk, docs)
    single = Index(tokenizer=tk)
    for d, t in docs.items():
        single.add(d, t)
    for index in (forked, single):
        for term, tid in alone.vocab.items():
            ours = index._post_slots[index.vocab[term]][: index._post_len[index.vocab[term]]]
            theirs = alone._post_slots[tid][: alone._post_len[tid]]
            assert [index._ids[s] for s in ours] == [alone._ids[s] for s in theirs], term
        for query in ["智能客服", "政务 大模型", "机器人 工业质检 金融", "ocr 热线"]:
            assert ranking(index, query) == ranking(alone, query)
        assert index.terms_of("d7") == alone.terms_of("d7")


def test_profiles_without_words_survive_compaction(tk: Tokenizer) -> None:
    """A compaction where no live profile has a word left (only blank texts) rebuilds an
    empty index of them rather than failing; words added later are found."""
    index = Index(tokenizer=tk)
    index.add("gone", "视频结构化 智能分析", attrs=["上海"])
    index.add("blank", "", attrs=["上海"])
    index.add("spaces", "   ")
    index.remove("gone")
    index.compact()
    assert index.doc_ids == ["blank", "spaces"] and index.search("视频") == []
    index.add("late", "视频结构化")
    assert [hit.doc_id for hit in index.search("视频结构化")] == ["late"]
