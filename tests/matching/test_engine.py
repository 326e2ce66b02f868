from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import numpy as np
import pytest

from mosu import i18n
from mosu.core.text import Text
from mosu.matching.dense import Vectors
from mosu.matching.engine import Matcher, rrf
from mosu.matching.profiles import (
    CaseStudy,
    ModelBrief,
    ScenarioProfile,
    SupplierProfile,
)
from mosu.registry.models import Filing, FilingKind, FilingStatus, Model, Organisation
from mosu.search.live import supplier_from_organisation

SUPPLIERS = [
    SupplierProfile(
        organisation_id="1",
        name="星河智算",
        description="面向政务热线提供智能客服与工单分拨",
        layers=("application",),
        regions=("上海",),
        models=(ModelBrief("星河客服 13B", ("智能客服", "多轮对话"), filed=True),),
        case_studies=(CaseStudy("12345热线智能客服", "热线中心", "市民来电自动答复"),),
    ),
    SupplierProfile(
        organisation_id="2",
        name="鹿鸣科技",
        description="在线客服机器人，服务银行",
        layers=("application",),
        regions=("北京",),
        models=(ModelBrief("鹿鸣对话", ("在线客服",), filed=False),),
    ),
    SupplierProfile(
        organisation_id="3",
        name="启明视觉",
        description="工业质检与缺陷检测",
        layers=("model",),
        regions=("全国",),
        models=(ModelBrief("启明质检", ("工业质检", "缺陷检测"), filed=True),),
    ),
]
HOTLINE = ScenarioProfile(
    scenario_id="s1",
    title="12345热线智能客服试点",
    description="市民热线需要智能客服自动答复咨询",
    domain="12345热线",
    required_capabilities=("智能客服",),
    region="上海",
)
QC = ScenarioProfile(scenario_id="s2", title="汽车零部件工业质检", domain="制造", region="苏州")
CLOSED = ScenarioProfile(
    scenario_id="s3", title="政务智能客服", domain="政务", region="上海", status="closed"
)


def _zh(reasons: list[Text]) -> list[str]:
    """The reasons as the Chinese page shows them."""
    return [str(r) for r in reasons]


@pytest.fixture
def matcher() -> Matcher:
    m = Matcher()
    m.upsert_suppliers(SUPPLIERS)
    m.upsert_scenarios([HOTLINE, QC, CLOSED])
    return m


def test_suppliers_for_ranks_and_explains(matcher: Matcher) -> None:
    recs = matcher.suppliers_for(HOTLINE, k=3)
    assert [r.doc_id for r in recs][:2] == ["1", "2"]
    best = recs[0]
    assert best.matched_terms[:2] == ["智能客服", "12345热线"]
    assert best.matched_tags[0] == "智能客服"
    assert best.filed_models == ["星河客服 13B"]
    assert any(r.startswith("关键词匹配：") and "智能客服" in r for r in _zh(best.reasons))
    assert "已备案模型：星河客服 13B" in _zh(best.reasons)
    assert any("服务地区覆盖" in r for r in _zh(best.reasons))
    assert not any("备案" in r for r in _zh(recs[1].reasons))  # an absence is not a reason
    assert best.bm25_rank == 1 and best.dense_rank is None


def test_filters(matcher: Matcher) -> None:
    ids = lambda **kw: [r.doc_id for r in matcher.suppliers_for(HOTLINE, **kw)]  # noqa: E731
    assert "2" not in ids(filed_only=True)
    assert ids(region="北京") == ["2"]  # 星河 serves 上海 only; 启明 (全国) has no shared term
    assert ids(layers=["model"]) == []
    assert ids(region="上海", filed_only=True) == ["1"]


def test_scenarios_for_keeps_open_scenarios_in_region(matcher: Matcher) -> None:
    recs = matcher.scenarios_for(SUPPLIERS[0])
    assert [r.doc_id for r in recs] == ["s1"]  # s3 is closed; s2 is in 苏州
    assert "智能客服" in recs[0].matched_terms
    assert "可对应的能力标签：智能客服" in _zh(recs[0].reasons)
    assert [r.doc_id for r in matcher.scenarios_for(SUPPLIERS[2])] == ["s2"]  # 全国


def test_changes_show_up_without_rebuild(matcher: Matcher) -> None:
    assert "3" not in [r.doc_id for r in matcher.suppliers_for(HOTLINE)]
    changed = SupplierProfile(
        organisation_id="3", name="启明视觉", description="12345热线智能客服", layers=("model",)
    )
    matcher.upsert_supplier(changed)
    assert "3" in [r.doc_id for r in matcher.suppliers_for(HOTLINE)]
    matcher.remove_supplier("3")
    assert "3" not in [r.doc_id for r in matcher.suppliers_for(HOTLINE)]
    matcher.remove_scenario("s1")
    assert matcher.scenarios_for(SUPPLIERS[0]) == []


def test_search_is_free_text(matcher: Matcher) -> None:
    recs = matcher.search("缺陷检测")
    assert [r.doc_id for r in recs] == ["3"]
    assert recs[0].matched_terms == ["缺陷检测"]


def test_rrf() -> None:
    fused = rrf([["a", "b", "c"], ["b", "d"]])
    assert [d for d, _ in fused] == ["b", "a", "d", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


class CharEmbedder:
    """A stand-in embedder: bag of characters hashed into 64 dimensions."""

    name = "chars"

    def _vec(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), 64), np.float32)
        for row, text in enumerate(texts):
            for ch in text:
                out[row, ord(ch) % 64] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    query = passage = _vec


def test_fusion_with_an_embedder() -> None:
    m = Matcher(embedder=CharEmbedder())
    m.upsert_suppliers(SUPPLIERS)
    dense = m.suppliers_for(HOTLINE, method="dense")
    assert len(dense) == 3 and all(r.dense_rank is not None for r in dense)
    fused = m.suppliers_for(HOTLINE, method="rrf")
    assert fused[0].doc_id == "1"
    assert any(r.startswith("语义相近（向量检索第") for r in _zh(fused[0].reasons))
    assert m.suppliers_for(HOTLINE)[0].dense_rank is None  # BM25 unless fusion is asked for
    with pytest.raises(ValueError):
        Matcher().suppliers_for(HOTLINE, method="dense")


def test_profile_from_registry_objects() -> None:
    org = Organisation(
        id=7, name_zh="徐汇星河", description="政务大模型", layers=["model"], regions=["上海"]
    )
    filed = Model(name="星河 70B", capability_tags=["公文写作"], description="旗舰")
    filed.filings = [
        Filing(
            kind=FilingKind.beian,
            number="Shanghai-XH-20230831",
            region="Shanghai",
            filed_on=dt.date(2023, 8, 31),
            status=FilingStatus.active,
        )
    ]
    revoked = Model(name="星河 7B", capability_tags=["摘要"], description="")
    revoked.filings = [
        Filing(
            kind=FilingKind.beian,
            number="Shanghai-XH-20240101",
            region="Shanghai",
            filed_on=dt.date(2024, 1, 1),
            status=FilingStatus.revoked,
        )
    ]
    org.models = [filed, revoked]
    profile = supplier_from_organisation(org)
    assert profile.organisation_id == "7"
    assert profile.filed_models == ("星河 70B",)
    assert profile.models[0].filing_numbers == ("Shanghai-XH-20230831",)
    assert profile.capability_tags == ("公文写作", "摘要")
    assert "公文写作" in profile.text() and "政务大模型" in profile.text()


def test_a_related_word_finds_the_technique_behind_an_application() -> None:
    """A dispatching scenario reaches a text-classification supplier that never says 派单,
    at a related word's lower weight, and says why; without related words it is not found."""
    classifier = SupplierProfile(
        organisation_id="tc",
        name="文枢科技",
        description="长文本分类与层级标签体系",
        layers=("model",),
        models=(ModelBrief("文枢分类", ("文本分类",)),),
    )
    dispatch = SupplierProfile(
        organisation_id="wd",
        name="星策科技",
        description="热线工单智能派单",
        layers=("application",),
        models=(ModelBrief("星策派单", ("工单分拨",)),),
    )
    scenario = ScenarioProfile(scenario_id="d1", title="热线工单自动派单")
    on = Matcher()
    on.upsert_suppliers([*SUPPLIERS, classifier, dispatch])
    found = on.suppliers_for(scenario, k=5)
    ids = [r.doc_id for r in found]
    assert ids[0] == "wd" and "tc" in ids
    linked = found[ids.index("tc")]
    assert linked.related_terms == ["文本分类"] and not linked.matched_terms
    assert "相关能力：文本分类" in _zh(linked.reasons)
    assert linked.score < found[0].score
    off = Matcher(related_weight=0.0)
    off.upsert_suppliers([*SUPPLIERS, classifier, dispatch])
    assert "tc" not in [r.doc_id for r in off.suppliers_for(scenario, k=5)]


def test_reasons_are_framed_in_each_language_around_the_words_matched(matcher: Matcher) -> None:
    best = matcher.suppliers_for(HOTLINE, k=3)[0]
    zh = [i18n.render(r, "zh") for r in best.reasons]
    en = [i18n.render(r, "en") for r in best.reasons]
    assert "已备案模型：星河客服 13B" in zh and "Filed models: 星河客服 13B" in en
    words = "、".join(best.matched_terms)
    assert f"关键词匹配：{words}" in zh
    assert f"Matching keywords: {', '.join(best.matched_terms)}" in en
    for reason in en:  # the framing and the punctuation are English; the words stay as they are
        assert not re.search(r"[\u4e00-\u9fff]", reason.partition(": ")[0]), reason
        assert not re.search("[：、；]| / ", reason), reason
    near = matcher.scenarios_for(SUPPLIERS[0])[0]
    assert "Capability tags it answers: 智能客服" in [i18n.render(r, "en") for r in near.reasons]
