from __future__ import annotations

import pytest

from mosu.matching.tokens import TermCounts, Tokenizer, default_tokenizer, normalise


@pytest.fixture(scope="module")
def tk() -> Tokenizer:
    return default_tokenizer()


@pytest.mark.parametrize(
    "term", ["大模型", "智能客服", "具身智能", "12345", "一网通办", "知识库问答"]
)
def test_domain_terms_stay_whole(tk: Tokenizer, term: str) -> None:
    text = f"我们需要{term}的解决方案"
    assert term in tk.cut(text)
    assert term in tk.tokens(text)


def test_cut_of_a_real_sentence(tk: Tokenizer) -> None:
    words = tk.cut("政务热线12345接入智能客服，基于大模型实现具身智能与多模态问答")
    for term in ("12345", "智能客服", "大模型", "具身智能", "多模态"):
        assert term in words
    assert "，" not in words and "与" not in words  # punctuation and stop words go


def test_search_mode_adds_inner_words(tk: Tokenizer) -> None:
    tokens = tk.tokens("智能客服")
    assert {"智能", "客服", "智能客服"} <= set(tokens)


def test_full_width_and_case_fold(tk: Tokenizer) -> None:
    assert normalise("ＡＢＣ１２３４５") == "abc12345"
    words = tk.cut("星河 13B 与 ＧＰＵ 集群，热线１２３４５")
    assert "13b" in words and "gpu" in words and "12345" in words


def test_a_private_tokenizer_leaves_jieba_global_alone() -> None:
    import jieba

    custom = Tokenizer(dictionary=["模速超级词 9000 n"], stop_words=[])
    assert "模速超级词" in custom.cut("这是模速超级词")
    assert "模速超级词" not in jieba.dt.FREQ


def test_clause_cache_gives_the_same_words(tk: Tokenizer) -> None:
    text = "面向政务提供智能客服。面向政务提供智能客服。"
    first = tk.tokens(text)
    assert tk.tokens(text) == first
    assert first[: len(first) // 2] == first[len(first) // 2 :]


def test_the_rust_cut_agrees_with_jieba_on_the_relevance_set(tk: Tokenizer) -> None:
    """rjieba does the cutting for speed; with the same dictionary it must cut every clause
    of the shipped relevance set exactly as the Python jieba does."""
    from mosu.matching import synth
    from mosu.matching.tokens import _CLAUSE

    rs = synth.load()
    texts = [p.text() for p in rs.suppliers] + [s.text() for s in rs.scenarios]
    clauses = {c for text in texts for c in _CLAUSE.findall(normalise(text))}
    assert len(clauses) > 1000
    differ = [c for c in sorted(clauses) if tk.fast_cut(c) != tk.reference_cut(c)]
    assert differ == []


def test_related_words_link_an_application_to_its_technique(tk: Tokenizer) -> None:
    """related.txt: 工单派单 (a member of the 工单分拨 group) brings in 文本分类; the arrow
    line is one-way, so 文本分类 does not bring in dispatching."""
    assert "文本分类" in tk.related_terms(tk.tokens("热线工单派单"))
    assert "≈工单分拨" not in tk.related_terms(tk.tokens("文本分类"))
    # a plain line links both ways, through synonym groups (舆情分析 ≈ 舆情监测)
    assert "≈情感分析" in tk.related_terms(tk.tokens("舆情分析"))
    assert "≈舆情监测" in tk.related_terms(tk.tokens("情感分析"))
    assert tk.related_terms(tk.tokens("文本分类 工单派单")) == tk.related_terms(
        tk.tokens("文本分类 工单派单")
    )  # the same order every time (the scores' summing order)


def test_related_words_are_cut_whole(tk: Tokenizer) -> None:
    """A word named only in related.txt joins the dictionary, so the cut keeps it whole."""
    assert "说话人分离" in tk.cut("会议录音需要说话人分离")
    assert "说话人分离" in tk.related_terms(tk.tokens("会议纪要"))


def test_bulk_counts_equal_the_tokens_on_both_relevance_sets(tk: Tokenizer) -> None:
    """Bulk indexing cuts each text in one call and returns term ids: the same terms, with
    the same counts, as ``tokens`` gives text by text (queries, single updates)."""
    from collections import Counter

    from mosu.matching import handset, synth

    texts = [p.text() for rs in (handset.load(), synth.load()) for p in rs.suppliers]
    texts += ["", "ＡＢＣ１２３ Ｄocument AI，OCR+RPA；①号™", "，。"]
    batch = tk.count_batch(texts)
    bounds = [0, *batch.lengths.cumsum().tolist()]
    for i, text in enumerate(texts):
        a, b = bounds[i], bounds[i + 1]
        got = {
            batch.terms[t]: int(n) for t, n in zip(batch.ids[a:b], batch.counts[a:b], strict=True)
        }
        assert got == Counter(tk.tokens(text)), text
    by_text = {
        (int(d), int(t)): int(n)
        for d, t, n in zip(texts_of(batch), batch.ids, batch.counts, strict=True)
    }
    by_term = {}
    for j in range(len(batch.terms)):
        a, b = batch.bounds[j], batch.bounds[j + 1]
        found = batch.term_texts[a:b].tolist()
        assert found == sorted(found)  # postings in text order
        by_term |= {(d, j): int(n) for d, n in zip(found, batch.term_counts[a:b], strict=True)}
    assert by_term == by_text


def texts_of(batch: TermCounts) -> list[int]:
    return [i for i, n in enumerate(batch.lengths.tolist()) for _ in range(n)]
