from __future__ import annotations

import pytest

from mosu.core.text import Text
from mosu.matching.engine import Matcher
from mosu.matching.profiles import ModelBrief, ScenarioProfile, SupplierProfile
from mosu.matching.reasons import strengths


def _zh(reasons: list[Text]) -> list[str]:
    """The reasons as the Chinese page shows them."""
    return [str(r) for r in reasons]


def supplier(
    i: int, text: str, tags: tuple[str, ...] = (), regions: tuple[str, ...] = ("上海",)
) -> SupplierProfile:
    return SupplierProfile(
        organisation_id=str(i),
        name=f"供给方{i}",
        description=text,
        layers=("application",),
        regions=regions,
        models=(ModelBrief(f"模型{i}", tags, filed=True),),
    )


# Generic words (智能, 服务, 自动, 生成) in every profile; the telling words in a few.
FILLER = [supplier(i, f"智能服务自动生成平台第{i}号") for i in range(10, 50)]
OCR = supplier(1, "智能服务：票据光学字符识别", ("OCR",))
FINANCE = supplier(2, "智能服务：企业财务分析报表", ("财务分析",))
HOTLINE_CENTRE = SupplierProfile(
    organisation_id="3", name="区政务热线中心", description="受理市民票据文字识别咨询"
)
OPINION = supplier(4, "网络舆情分析与预警", ("舆情监测",), regions=("北京",))


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    m = Matcher()
    m.upsert_suppliers([*FILLER, OCR, FINANCE, HOTLINE_CENTRE, OPINION])
    return m


def test_terms_are_reasons_only_when_rare(matcher: Matcher) -> None:
    wanted = ScenarioProfile(
        "q", "智能服务自动生成票据文字识别", required_capabilities=("文字识别",)
    )
    best = matcher.suppliers_for(wanted, k=3)[0]
    assert best.doc_id == "1"
    shown = " ".join(best.matched_terms)
    for generic in ("智能", "服务", "自动", "生成"):
        assert generic not in shown
    assert "文字识别≈光学字符识别" in best.matched_terms  # the synonym group, in words
    assert best.matched_tags == ["OCR"]  # OCR answers 文字识别 through the dictionary


def test_tags_never_match_by_fragment(matcher: Matcher) -> None:
    wanted = ScenarioProfile("q", "网络舆情分析", required_capabilities=("舆情分析",))
    recs = {r.doc_id: r for r in matcher.suppliers_for(wanted, k=5)}
    assert recs["4"].matched_tags == ["舆情监测"]
    assert "2" not in recs or recs["2"].matched_tags == []  # 财务分析 is not 舆情分析


def test_only_suppliers_are_recommended(matcher: Matcher) -> None:
    wanted = ScenarioProfile("q", "票据文字识别")
    assert "3" not in [r.doc_id for r in matcher.suppliers_for(wanted, k=20)]
    everyone = matcher.suppliers_for(wanted, k=20, offering_only=False)
    assert "3" in [r.doc_id for r in everyone]


def test_facts_only_when_they_tell_results_apart(matcher: Matcher) -> None:
    wanted = ScenarioProfile("q", "票据文字识别与财务分析", region="上海")
    recs = matcher.suppliers_for(wanted, k=2)
    assert {r.doc_id for r in recs} == {"1", "2"}  # both filed, both in 上海, same layer
    for r in recs:
        assert not any(
            x.startswith(("已备案", "暂无", "服务地区", "产业链")) for x in _zh(r.reasons)
        )
    filtered = matcher.suppliers_for(wanted, k=2, filed_only=True, region="上海")
    assert any(x.startswith("已备案模型") for x in _zh(filtered[0].reasons))
    assert any(x.startswith("服务地区覆盖") for x in _zh(filtered[0].reasons))
    mixed = matcher.suppliers_for(ScenarioProfile("q", "舆情 财务分析", region="上海"), k=2)
    assert any(x.startswith("服务地区覆盖") for r in mixed for x in _zh(r.reasons))


def test_strength_is_relative() -> None:
    assert strengths([18.42, 9.21, 0.0]) == [100, 50, 0]
    assert strengths([]) == []
    assert strengths([0.0]) == [0]
