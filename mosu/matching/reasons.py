"""Reasons that discriminate (推荐理由): what sets one recommendation apart from the rest.

* A matched term is a reason only when it is rare enough in the current index to say
  something: at most ``TERM_SHARE`` of the documents hold it (at least ``MIN_DF`` in a tiny
  index). 自动, 中心, 生成, 支持, 智能, 服务 are in most profiles and never qualify.
* A synonym match is shown as the two words that met (OCR≈文字识别), never as the group's
  internal term.
* A related word (``related.txt``: 文本分类 for a 工单派单 scenario) the document holds is
  shown apart from the matched terms, as what links the two.
* A capability tag is a reason when it is a required capability, or it names the same thing
  as one through the domain dictionary's synonym groups, or it is a whole word of the
  scenario: never by a shared fragment (财务分析 does not answer 舆情分析).
* Facts (filing, region, layer) are reasons only when the user filtered on them or when they
  differ among the recommendations shown; a fact every result shares explains nothing.
* Scores are shown as strength relative to the best recommendation (100), not as BM25.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mosu.matching.index import Index
from mosu.matching.tokens import SYNONYM_MARK, Tokenizer

TERM_SHARE = 0.05
MIN_DF = 2
SHOWN_TERMS = 8


def rare_enough(index: Index, term: str) -> bool:
    """Whether ``term`` is rare enough in ``index`` to be shown as a reason."""
    return index.doc_frequency(term) <= max(MIN_DF, TERM_SHARE * len(index))


def display_terms(contributions: dict[str, float]) -> list[str]:
    """Matched terms by weight, leaving out those inside a longer matched term."""
    ranked = sorted(contributions, key=lambda t: (-contributions[t], t))
    shown = [t for t in ranked if len(t) > 1 and not any(t != o and t in o for o in ranked)]
    return shown[:SHOWN_TERMS]


def matched_terms(
    index: Index, tokenizer: Tokenizer, query_terms: Sequence[str], doc_id: str
) -> list[str]:
    """The discriminating terms a document shares with the query, synonyms as ``a≈b``."""
    contributions = index.contributions(query_terms, doc_id)
    plain = {t: w for t, w in contributions.items() if not t.startswith(SYNONYM_MARK)}
    plain = {t: w for t, w in plain.items() if rare_enough(index, t)}
    shown = display_terms(plain)
    doc_terms: set[str] | None = None
    asked = set(query_terms)
    for group in sorted(contributions, key=lambda g: -contributions[g]):
        if not group.startswith(SYNONYM_MARK) or not rare_enough(index, group):
            continue
        members = [w for w, g in tokenizer.synonyms.items() if g == group]
        if doc_terms is None:
            doc_terms = index.terms_of(doc_id)
        said = [m for m in members if m in asked]
        has = [m for m in members if m in doc_terms]
        if said and has and not set(said) & set(has):
            shown.append(f"{said[0]}≈{has[0]}")
    return shown[:SHOWN_TERMS]


def matched_related(
    index: Index, tokenizer: Tokenizer, related: Sequence[str], doc_id: str
) -> list[str]:
    """The related words (``related.txt``) a document holds, rare ones only, in words: a
    synonym group's term shows as the member the document says."""
    doc_terms = index.terms_of(doc_id)
    shown: list[str] = []
    for term in related:
        if term not in doc_terms or not rare_enough(index, term):
            continue
        if term.startswith(SYNONYM_MARK):
            said = [w for w, g in tokenizer.synonyms.items() if g == term and w in doc_terms]
            term = said[0] if said else term[len(SYNONYM_MARK) :]
        if term not in shown:
            shown.append(term)
    return shown[:SHOWN_TERMS]


def matched_tags(
    tokenizer: Tokenizer, query_words: Iterable[str], tags: Iterable[str], wanted: Iterable[str]
) -> list[str]:
    """Tags that answer the scenario: required, synonymous with a requirement or a query
    word, or a whole word of the query (``query_words`` is the precise cut, so a tag is a
    word of it only when the cut kept it whole). Never a fragment overlap."""
    wanted = list(wanted)
    words = set(query_words)
    groups = {g for w in [*wanted, *words] if (g := tokenizer.group_of(w)) is not None}
    exact, related = [], []
    for tag in dict.fromkeys(tags):
        if tag in wanted:
            exact.append(tag)
        elif tokenizer.group_of(tag) in groups or tag.lower() in words:
            related.append(tag)
    return exact + related


def discriminating(values: Sequence[object]) -> bool:
    """Whether a fact differs among the results (so it tells them apart)."""
    return len(set(map(repr, values))) > 1


def strengths(scores: Sequence[float]) -> list[int]:
    """Each score as a percentage of the best (the best is 100; all zero gives zeros)."""
    top = max(scores, default=0.0)
    if top <= 0:
        return [0 for _ in scores]
    return [max(0, min(100, round(100 * s / top))) for s in scores]
