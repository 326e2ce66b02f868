"""The scenario board's matching engine (供需匹配): suppliers for a scenario and back.

Two ``Index`` objects, one of supplier profiles and one of scenarios, ranked by BM25 and, when
an embedding model is installed, by cosine similarity too, the two lists fused by reciprocal
rank fusion (``sum of 1 / (60 + rank)``). Every recommendation carries its reasons in
Chinese: the matched terms, the matched capability tags, the filing facts, the region.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from mosu.matching.dense import Embedder
from mosu.matching.index import Filter, Hit, Index
from mosu.matching.profiles import (
    LAYER_ZH,
    NATIONWIDE,
    ScenarioProfile,
    SupplierProfile,
    serves_region,
)
from mosu.matching.tokens import Tokenizer, default_tokenizer

#: ``bm25`` is the default: on the shipped relevance set RRF with the 4-bit e5-small lowers
#: nDCG@10 (0.668 against 0.697, bench/matching.py), so fusion is opt-in until one beats it.
Method = Literal["bm25", "dense", "rrf"]
RRF_K = 60
SHOWN_TERMS = 8


@dataclass(frozen=True)
class Recommendation:
    """One ranked match and why (推荐理由)."""

    doc_id: str
    score: float
    reasons: list[str]
    matched_terms: list[str] = field(default_factory=list)
    matched_tags: list[str] = field(default_factory=list)
    filed_models: list[str] = field(default_factory=list)
    bm25_rank: int | None = None
    dense_rank: int | None = None


def rrf(rankings: Sequence[Sequence[str]], *, k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: each list gives ``1 / (k + rank)``, ranks from 1."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking, start=1):
            fused[doc_id] = fused.get(doc_id, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def supplier_attrs(profile: SupplierProfile) -> set[str]:
    attrs = {f"layer:{layer}" for layer in profile.layers}
    attrs |= {f"region:{region}" for region in profile.regions}
    if profile.has_filed_model:
        attrs.add("filed")
    if profile.models or profile.case_studies:
        attrs.add("offers")
    return attrs


def supplier_filter(
    *,
    filed_only: bool = False,
    layers: Iterable[str] = (),
    region: str | None = None,
    offering_only: bool = False,
) -> list[frozenset[str]]:
    """The attribute filter for documents carrying ``supplier_attrs`` (suppliers, models).

    ``offering_only`` keeps suppliers with a model or a case study: on a live platform the
    registry also holds the demand side (public bodies, hospitals), which offer nothing.
    """
    where: list[frozenset[str]] = []
    if offering_only:
        where.append(frozenset({"offers"}))
    if filed_only:
        where.append(frozenset({"filed"}))
    layers = list(layers)
    if layers:
        where.append(frozenset(f"layer:{layer}" for layer in layers))
    if region and region != NATIONWIDE:
        where.append(frozenset({f"region:{region}", f"region:{NATIONWIDE}"}))
    return where


def scenario_attrs(scenario: ScenarioProfile) -> set[str]:
    return {
        f"status:{scenario.status}",
        f"region:{scenario.region or NATIONWIDE}",
        f"domain:{scenario.domain}",
    }


def display_terms(contributions: dict[str, float]) -> list[str]:
    """Matched terms by weight, leaving out those inside a longer matched term."""
    ranked = sorted(contributions, key=lambda t: (-contributions[t], t))
    shown = [t for t in ranked if len(t) > 1 and not any(t != o and t in o for o in ranked)]
    return shown[:SHOWN_TERMS]


class Matcher:
    """Recommends suppliers for scenarios and scenarios for suppliers, with reasons."""

    def __init__(
        self,
        *,
        tokenizer: Tokenizer | None = None,
        embedder: Embedder | None = None,
        depth: int = 100,
    ) -> None:
        self.tokenizer = tokenizer or default_tokenizer()
        self.embedder = embedder
        self.depth = depth
        """How far down each list reciprocal rank fusion looks."""
        self.suppliers = Index(tokenizer=self.tokenizer)
        self.scenarios = Index(tokenizer=self.tokenizer)
        self._supplier: dict[str, SupplierProfile] = {}
        self._scenario: dict[str, ScenarioProfile] = {}

    # ------------------------------------------------------------ keeping the indexes current

    def upsert_suppliers(self, profiles: Iterable[SupplierProfile]) -> None:
        """Add or replace supplier profiles (bulk: one sort for all postings)."""
        profiles = list(profiles)
        for p in profiles:
            self._supplier[p.organisation_id] = p
        self.suppliers.add_many((p.organisation_id, p.text(), supplier_attrs(p)) for p in profiles)
        if self.embedder is not None and profiles:
            vectors = self.embedder.passage([p.text() for p in profiles])
            self.suppliers.set_vectors([p.organisation_id for p in profiles], vectors)

    def upsert_supplier(self, profile: SupplierProfile) -> None:
        """Add or replace one supplier; only its own postings change."""
        self._supplier[profile.organisation_id] = profile
        vector = None
        if self.embedder is not None:
            vector = self.embedder.passage([profile.text()])[0]
        self.suppliers.add(
            profile.organisation_id, profile.text(), attrs=supplier_attrs(profile), vector=vector
        )

    def remove_supplier(self, organisation_id: str) -> None:
        self._supplier.pop(organisation_id, None)
        self.suppliers.remove(organisation_id)

    def upsert_scenarios(self, scenarios: Iterable[ScenarioProfile]) -> None:
        scenarios = list(scenarios)
        for s in scenarios:
            self._scenario[s.scenario_id] = s
        self.scenarios.add_many((s.scenario_id, s.text(), scenario_attrs(s)) for s in scenarios)
        if self.embedder is not None and scenarios:
            vectors = self.embedder.passage([s.text() for s in scenarios])
            self.scenarios.set_vectors([s.scenario_id for s in scenarios], vectors)

    def upsert_scenario(self, scenario: ScenarioProfile) -> None:
        self.upsert_scenarios([scenario])

    def remove_scenario(self, scenario_id: str) -> None:
        self._scenario.pop(scenario_id, None)
        self.scenarios.remove(scenario_id)

    def supplier(self, organisation_id: str) -> SupplierProfile:
        return self._supplier[organisation_id]

    def scenario(self, scenario_id: str) -> ScenarioProfile:
        return self._scenario[scenario_id]

    # ------------------------------------------------------------ ranking

    def _method(self, method: Method, index: Index) -> Method:
        dense_ready = self.embedder is not None and index.has_vectors
        if method in ("dense", "rrf") and not dense_ready:
            raise ValueError("没有可用的向量模型（安装 mosu[embeddings]）")
        return method

    def _rank(
        self, index: Index, text: str, *, k: int, where: Filter, method: Method
    ) -> list[tuple[str, float, int | None, int | None]]:
        method = self._method(method, index)
        terms = self.tokenizer.tokens(text)
        depth = max(k, self.depth) if method == "rrf" else k
        lexical: list[Hit] = []
        dense: list[Hit] = []
        if method in ("bm25", "rrf"):
            lexical = index.search_terms(terms, k=depth, where=where)
        if method in ("dense", "rrf"):
            assert self.embedder is not None
            vector = self.embedder.query([text])[0]
            dense = index.search_vector(vector, k=depth, where=where)
        lex_rank = {h.doc_id: r for r, h in enumerate(lexical, start=1)}
        dense_rank = {h.doc_id: r for r, h in enumerate(dense, start=1)}
        if method == "bm25":
            ranked = [(h.doc_id, h.score) for h in lexical]
        elif method == "dense":
            ranked = [(h.doc_id, h.score) for h in dense]
        else:
            ranked = rrf([[h.doc_id for h in lexical], [h.doc_id for h in dense]])
        return [(d, s, lex_rank.get(d), dense_rank.get(d)) for d, s in ranked[:k]]

    def suppliers_for(
        self,
        scenario: ScenarioProfile,
        *,
        k: int = 10,
        filed_only: bool = False,
        layers: Iterable[str] = (),
        region: str | None = None,
        offering_only: bool = False,
        method: Method = "bm25",
    ) -> list[Recommendation]:
        """Suppliers for a scenario, best first.

        ``filed_only`` keeps suppliers with a model under an active 备案; ``layers`` keeps
        those in any of the given chain layers; ``region`` keeps those serving it (a supplier
        serving 全国 serves everywhere).
        """
        where = supplier_filter(
            filed_only=filed_only, layers=layers, region=region, offering_only=offering_only
        )
        ranked = self._rank(self.suppliers, scenario.text(), k=k, where=where, method=method)
        return [
            self.explain_supplier(scenario, doc, score=s, bm25_rank=lr, dense_rank=dr)
            for doc, s, lr, dr in ranked
        ]

    def scenarios_for(
        self,
        supplier: SupplierProfile,
        *,
        k: int = 10,
        open_only: bool = True,
        region_fit: bool = True,
        method: Method = "bm25",
    ) -> list[Recommendation]:
        """Scenarios a supplier could take on: open ones in the regions it serves."""
        where: list[frozenset[str]] = []
        if open_only:
            where.append(frozenset({"status:open"}))
        if region_fit and NATIONWIDE not in supplier.regions and supplier.regions:
            allowed = {f"region:{r}" for r in supplier.regions} | {f"region:{NATIONWIDE}"}
            where.append(frozenset(allowed))
        ranked = self._rank(self.scenarios, supplier.text(), k=k, where=where, method=method)
        return [
            self.explain_scenario(supplier, doc, score=s, bm25_rank=lr, dense_rank=dr)
            for doc, s, lr, dr in ranked
        ]

    def search(self, text: str, *, k: int = 10, method: Method = "bm25") -> list[Recommendation]:
        """Free-text search over suppliers (the registry's list search)."""
        query = ScenarioProfile(scenario_id="", title=text)
        ranked = self._rank(self.suppliers, text, k=k, where=(), method=method)
        return [
            self.explain_supplier(query, doc, score=s, bm25_rank=lr, dense_rank=dr)
            for doc, s, lr, dr in ranked
        ]

    # ------------------------------------------------------------ reasons

    def _matched_tags(
        self, terms: set[str], tags: Iterable[str], wanted: Iterable[str]
    ) -> list[str]:
        wanted_set = set(wanted)
        exact = [t for t in tags if t in wanted_set]
        overlap = [t for t in tags if t not in wanted_set and terms & set(self.tokenizer.cut(t))]
        return exact + overlap

    def explain_supplier(
        self,
        scenario: ScenarioProfile,
        organisation_id: str,
        *,
        score: float = 0.0,
        bm25_rank: int | None = None,
        dense_rank: int | None = None,
    ) -> Recommendation:
        """Why a supplier fits a scenario: terms, tags, filings, region, semantic rank."""
        profile = self._supplier[organisation_id]
        terms = self.tokenizer.tokens(scenario.text())
        matched = display_terms(self.suppliers.contributions(terms, organisation_id))
        tags = self._matched_tags(
            set(terms), profile.capability_tags, scenario.required_capabilities
        )
        filed = list(profile.filed_models)
        reasons = []
        if matched:
            reasons.append("关键词匹配：" + "、".join(matched))
        if tags:
            reasons.append("能力标签：" + "、".join(tags))
        if filed:
            reasons.append("已备案模型：" + "、".join(filed))
        else:
            reasons.append("暂无有效备案的模型")
        if scenario.region and serves_region(profile.regions, scenario.region):
            reasons.append("服务地区覆盖：" + "、".join(profile.regions))
        if profile.layers:
            reasons.append("产业链层级：" + "、".join(LAYER_ZH.get(x, x) for x in profile.layers))
        if dense_rank is not None:
            reasons.append(f"语义相近（向量检索第 {dense_rank} 位）")
        return Recommendation(
            doc_id=organisation_id,
            score=score,
            reasons=reasons,
            matched_terms=matched,
            matched_tags=tags,
            filed_models=filed,
            bm25_rank=bm25_rank,
            dense_rank=dense_rank,
        )

    def explain_scenario(
        self,
        supplier: SupplierProfile,
        scenario_id: str,
        *,
        score: float = 0.0,
        bm25_rank: int | None = None,
        dense_rank: int | None = None,
    ) -> Recommendation:
        """Why a scenario suits a supplier: terms, which of its tags are asked for, region."""
        scenario = self._scenario[scenario_id]
        terms = self.tokenizer.tokens(supplier.text())
        matched = display_terms(self.scenarios.contributions(terms, scenario_id))
        scenario_terms = set(self.tokenizer.tokens(scenario.text()))
        tags = self._matched_tags(
            scenario_terms, supplier.capability_tags, scenario.required_capabilities
        )
        reasons = []
        if matched:
            reasons.append("关键词匹配：" + "、".join(matched))
        if tags:
            reasons.append("可对应的能力标签：" + "、".join(tags))
        if scenario.domain:
            reasons.append(f"场景领域：{scenario.domain}")
        if scenario.region:
            reasons.append(f"场景地区：{scenario.region}")
        if dense_rank is not None:
            reasons.append(f"语义相近（向量检索第 {dense_rank} 位）")
        return Recommendation(
            doc_id=scenario_id,
            score=score,
            reasons=reasons,
            matched_terms=matched,
            matched_tags=tags,
            filed_models=list(supplier.filed_models),
            bm25_rank=bm25_rank,
            dense_rank=dense_rank,
        )
