from __future__ import annotations

import pytest

from mosu.matching import handset
from mosu.matching.engine import Matcher
from mosu.matching.quality import evaluate
from mosu.matching.tokens import Tokenizer

# Measured 0.893 (mosu) against 0.863 (plain BM25 on the same jieba cut: no synonym groups,
# distinct query terms, no layer prior, every organisation); bench/matching.py has bm25s too.
NDCG_FLOOR = 0.87
LEAD_FLOOR = 0.02


@pytest.fixture(scope="module")
def rs() -> handset.RelevanceSet:
    return handset.load()


def test_the_set_is_written_by_hand_and_complete(rs: handset.RelevanceSet) -> None:
    assert "手写" in rs.notice and "虚构" in rs.notice
    ids = [s.organisation_id for s in rs.suppliers]
    assert len(ids) >= 150 and len(set(ids)) == len(ids)
    assert len(rs.scenarios) >= 30
    for labels in rs.labels.values():
        assert set(labels) <= set(ids)
        assert set(labels.values()) <= {0, 1, 2} and 2 in labels.values()
    traps = {s for labels in rs.labels.values() for s, g in labels.items() if g == 0}
    assert {"trap-anfang", "trap-lawfirm", "trap-hotline"} <= traps


def test_mosu_beats_plain_bm25_on_it(rs: handset.RelevanceSet) -> None:
    mosu = Matcher()
    mosu.upsert_suppliers(rs.suppliers)
    ours = evaluate(mosu, rs, method="bm25")
    plain = Matcher(tokenizer=Tokenizer(synonyms=[]))
    plain.suppliers.query_tf = 0.0
    plain.upsert_suppliers(rs.suppliers)
    plain._prior.clear()
    base = evaluate(plain, rs, method="bm25", offering_only=False)
    assert ours.ndcg >= NDCG_FLOOR
    assert ours.ndcg >= base.ndcg + LEAD_FLOOR
