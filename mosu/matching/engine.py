"""The scenario board's matching engine (供需匹配): suppliers for a scenario and back.

Two ``Index`` objects, one of supplier profiles and one of scenarios, ranked by BM25 and, when
an embedding model is installed, by cosine similarity too, the two lists fused by reciprocal
rank fusion (``sum of 1 / (60 + rank)``). Every recommendation carries its reasons in
Chinese: the matched terms, the matched capability tags, the filing facts, the region.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from mosu.core.text import Text
from mosu.i18n import N_
from mosu.matching.dense import Embedder
from mosu.matching.index import Filter, Hit, Index
from mosu.matching.profiles import (
    LAYER_ZH,
    NATIONWIDE,
    ScenarioProfile,
    SupplierProfile,
    serves_region,
)
from mosu.matching.reasons import (
    discriminating,
    display_terms,
    matched_related,
    matched_tags,
    matched_terms,
    strengths,
)
from mosu.matching.tokens import Tokenizer, default_tokenizer

__all__ = ["Matcher", "Method", "Recommendation", "display_terms", "rrf"]

#: ``bm25`` is the default: on the shipped relevance set RRF with the 4-bit e5-small lowers
#: nDCG@10 (0.668 against 0.697, bench/matching.py), so fusion is opt-in until one beats it.
Method = Literal["bm25", "dense", "rrf"]
RRF_K = 60
NO_AI_SUPPLY = 0.2
"""The layer prior: a supplier with no model, no catalogue offer and no AI layer (an
installer, a law firm, an outsourced call centre) keeps a fifth of its lexical score."""
RELATED_WEIGHT = 0.8
"""A related word's query weight (文本分类 for a 工单派单 scenario; ``related.txt``), against 1
for a word the query says. This and ``NO_AI_SUPPLY`` were chosen on half the hand-written
set's scenarios (bench/matching.py reports the other half apart), the generated set not
allowed to drop; BM25's k1 and b stayed at 1.2 and 0.75, which won there too."""
PRIOR_DEPTH = 30
"""How many hits past ``k`` the prior may reorder."""


def _listed(framing: str, items: Sequence[object]) -> Text:
    """A reason: ``framing`` (catalogued, with ``{items}``) around the matched words, listed
    with each language's punctuation."""
    return Text(framing, {"items": Text.joined(list(items), N_("{a}、{b}"))})


@dataclass(frozen=True)
class Recommendation:
    """One ranked match and why (推荐理由)."""

    doc_id: str
    score: float
    reasons: list[Text]
    """Catalogued framings around the matched words (which are data, shown as they are)."""
    matched_terms: list[str] = field(default_factory=list)
    matched_tags: list[str] = field(default_factory=list)
    related_terms: list[str] = field(default_factory=list)
    """Related words (``related.txt``) the match holds: 文本分类 for 工单派单."""
    filed_models: list[str] = field(default_factory=list)
    bm25_rank: int | None = None
    dense_rank: int | None = None
    strength: int = 0
    """The score as a percentage of the best recommendation in the same list (100)."""


def rrf(rankings: Sequence[Sequence[str]], *, k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: each list gives ``1 / (k + rank)``, ranks from 1."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking, start=1):
            fused[doc_id] = fused.get(doc_id, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def apply_prior(hits: list[Hit], prior: dict[str, float]) -> list[Hit]:
    """Hits with their scores scaled by ``prior`` (absent: 1), best first again."""
    scaled = [Hit(h.doc_id, h.score * prior.get(h.doc_id, 1.0)) for h in hits]
    return sorted(scaled, key=lambda h: (-h.score, h.doc_id))


def supplier_attrs(profile: SupplierProfile) -> set[str]:
    attrs = {f"layer:{layer}" for layer in profile.layers}
    attrs |= {f"region:{region}" for region in profile.regions}
    if profile.has_filed_model:
        attrs.add("filed")
    if profile.is_supplier:
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

    ``offering_only`` keeps organisations that offer something (``is_supplier``): on a live
    platform the registry also holds the demand side (public bodies, hospitals).
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


def fact_kinds(
    profiles: Sequence[SupplierProfile],
    wanted_region: str,
    *,
    filed: bool,
    layers: bool,
    region: str | None,
) -> frozenset[str]:
    """Which facts are reasons for this list: those filtered on (``layer!`` shows every
    layer), and those that differ among the results: ``filed`` and ``region`` then show on
    the results that have them, ``layer:<x>`` marks a layer fewer than half the results share.
    An absence (no filed model) is never a reason."""
    kinds = set()
    if filed or discriminating([p.has_filed_model for p in profiles]):
        kinds.add("filed")
    if layers:
        kinds.add("layer!")
    else:
        counts = Counter(layer for p in profiles for layer in set(p.layers))
        kinds |= {f"layer:{x}" for x, n in counts.items() if 2 * n < len(profiles)}
    wanted = region or wanted_region
    covered = [serves_region(p.regions, wanted) for p in profiles]
    if wanted and (region or discriminating(covered)):
        kinds.add("region")
    return frozenset(kinds)


class Matcher:
    """Recommends suppliers for scenarios and scenarios for suppliers, with reasons."""

    def __init__(
        self,
        *,
        tokenizer: Tokenizer | None = None,
        embedder: Embedder | None = None,
        depth: int = 100,
        related_weight: float = RELATED_WEIGHT,
    ) -> None:
        self.tokenizer = tokenizer or default_tokenizer()
        self.embedder = embedder
        self.depth = depth
        self.related_weight = related_weight
        """How far down each list reciprocal rank fusion looks."""
        self.suppliers = Index(tokenizer=self.tokenizer)
        self.scenarios = Index(tokenizer=self.tokenizer)
        self._supplier: dict[str, SupplierProfile] = {}
        self._prior: dict[str, float] = {}
        """Suppliers whose scores the layer prior scales (absent: 1)."""
        self._scenario: dict[str, ScenarioProfile] = {}

    # ------------------------------------------------------------ keeping the indexes current

    def upsert_suppliers(self, profiles: Iterable[SupplierProfile]) -> None:
        """Add or replace supplier profiles (bulk: one sort for all postings)."""
        profiles = list(profiles)
        for p in profiles:
            self._keep_supplier(p)
        self.suppliers.add_many((p.organisation_id, p.text(), supplier_attrs(p)) for p in profiles)
        if self.embedder is not None and profiles:
            vectors = self.embedder.passage([p.text() for p in profiles])
            self.suppliers.set_vectors([p.organisation_id for p in profiles], vectors)

    def upsert_supplier(self, profile: SupplierProfile) -> None:
        """Add or replace one supplier; only its own postings change."""
        self._keep_supplier(profile)
        vector = None
        if self.embedder is not None:
            vector = self.embedder.passage([profile.text()])[0]
        self.suppliers.add(
            profile.organisation_id, profile.text(), attrs=supplier_attrs(profile), vector=vector
        )

    def _keep_supplier(self, profile: SupplierProfile) -> None:
        self._supplier[profile.organisation_id] = profile
        if profile.shows_ai_supply:
            self._prior.pop(profile.organisation_id, None)
        else:
            self._prior[profile.organisation_id] = NO_AI_SUPPLY

    def remove_supplier(self, organisation_id: str) -> None:
        self._supplier.pop(organisation_id, None)
        self._prior.pop(organisation_id, None)
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
        self,
        index: Index,
        text: str,
        *,
        k: int,
        where: Filter,
        method: Method,
        prior: dict[str, float] | None = None,
    ) -> list[tuple[str, float, int | None, int | None]]:
        method = self._method(method, index)
        terms = self.tokenizer.tokens(text)
        related = dict.fromkeys(self.tokenizer.related_terms(terms), self.related_weight)
        depth = max(k, self.depth) if method == "rrf" else k
        lexical: list[Hit] = []
        dense: list[Hit] = []
        if method in ("bm25", "rrf"):
            lexical = index.search_terms(
                terms, k=depth + PRIOR_DEPTH * bool(prior), where=where, extra=related
            )
            if prior:
                lexical = apply_prior(lexical, prior)[:depth]
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
        offering_only: bool = True,
        method: Method = "bm25",
    ) -> list[Recommendation]:
        """Suppliers for a scenario, best first: organisations that offer something (unless
        ``offering_only`` is off), the layer prior applied to the lexical ranking.

        ``filed_only`` keeps suppliers with a model under an active 备案; ``layers`` keeps
        those in any of the given chain layers; ``region`` keeps those serving it (a supplier
        serving 全国 serves everywhere).
        """
        where = supplier_filter(
            filed_only=filed_only, layers=layers, region=region, offering_only=offering_only
        )
        ranked = self._rank(
            self.suppliers, scenario.text(), k=k, where=where, method=method, prior=self._prior
        )
        profiles = [self._supplier[doc] for doc, *_ in ranked]
        facts = fact_kinds(
            profiles, scenario.region, filed=filed_only, layers=bool(list(layers)), region=region
        )
        strength = strengths([s for _, s, _, _ in ranked])
        return [
            self.explain_supplier(
                scenario, doc, score=s, bm25_rank=lr, dense_rank=dr, facts=facts, strength=st
            )
            for (doc, s, lr, dr), st in zip(ranked, strength, strict=True)
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
        regions = [self._scenario[doc].region for doc, *_ in ranked]
        show_region = discriminating(regions)
        strength = strengths([s for _, s, _, _ in ranked])
        return [
            self.explain_scenario(
                supplier, doc, score=s, bm25_rank=lr, dense_rank=dr, region=show_region, strength=st
            )
            for (doc, s, lr, dr), st in zip(ranked, strength, strict=True)
        ]

    def search(self, text: str, *, k: int = 10, method: Method = "bm25") -> list[Recommendation]:
        """Free-text search over suppliers (the registry's list search)."""
        query = ScenarioProfile(scenario_id="", title=text)
        ranked = self._rank(self.suppliers, text, k=k, where=(), method=method)
        strength = strengths([s for _, s, _, _ in ranked])
        return [
            self.explain_supplier(query, doc, score=s, bm25_rank=lr, dense_rank=dr, strength=st)
            for (doc, s, lr, dr), st in zip(ranked, strength, strict=True)
        ]

    # ------------------------------------------------------------ reasons

    def explain_supplier(
        self,
        scenario: ScenarioProfile,
        organisation_id: str,
        *,
        score: float = 0.0,
        bm25_rank: int | None = None,
        dense_rank: int | None = None,
        facts: frozenset[str] = frozenset(),
        strength: int = 0,
    ) -> Recommendation:
        """Why a supplier fits a scenario: discriminating terms, tags answering the scenario,
        the ``facts`` (filed, region, layer) that tell this list apart, semantic rank."""
        profile = self._supplier[organisation_id]
        terms = self.tokenizer.tokens(scenario.text())
        matched = matched_terms(self.suppliers, self.tokenizer, terms, organisation_id)
        links = self.tokenizer.related_terms(terms) if self.related_weight else []
        related = matched_related(self.suppliers, self.tokenizer, links, organisation_id)
        tags = matched_tags(
            self.tokenizer,
            self.tokenizer.cut(scenario.text()),
            profile.capability_tags,
            scenario.required_capabilities,
        )
        filed = list(profile.filed_models)
        reasons = []
        if matched:
            reasons.append(_listed(N_("关键词匹配：{items}"), matched))
        if tags:
            reasons.append(_listed(N_("能力标签：{items}"), tags))
        if related:
            reasons.append(_listed(N_("相关能力：{items}"), related))
        if "filed" in facts and filed:
            reasons.append(_listed(N_("已备案模型：{items}"), filed))
        if "region" in facts and serves_region(profile.regions, scenario.region):
            reasons.append(_listed(N_("服务地区覆盖：{items}"), profile.regions))
        shown = [x for x in profile.layers if "layer!" in facts or f"layer:{x}" in facts]
        if shown:
            layers = [Text(LAYER_ZH[x]) if x in LAYER_ZH else x for x in shown]
            reasons.append(_listed(N_("产业链层级：{items}"), layers))
        if dense_rank is not None:
            reasons.append(Text(N_("语义相近（向量检索第 {rank} 位）"), {"rank": dense_rank}))
        return Recommendation(
            doc_id=organisation_id,
            score=score,
            reasons=reasons,
            matched_terms=matched,
            matched_tags=tags,
            related_terms=related,
            filed_models=filed,
            bm25_rank=bm25_rank,
            dense_rank=dense_rank,
            strength=strength,
        )

    def explain_scenario(
        self,
        supplier: SupplierProfile,
        scenario_id: str,
        *,
        score: float = 0.0,
        bm25_rank: int | None = None,
        dense_rank: int | None = None,
        region: bool = False,
        strength: int = 0,
    ) -> Recommendation:
        """Why a scenario suits a supplier: discriminating terms, which of its tags are asked
        for, the domain, the region when it tells the list apart."""
        scenario = self._scenario[scenario_id]
        terms = self.tokenizer.tokens(supplier.text())
        matched = matched_terms(self.scenarios, self.tokenizer, terms, scenario_id)
        links = self.tokenizer.related_terms(terms) if self.related_weight else []
        related = matched_related(self.scenarios, self.tokenizer, links, scenario_id)
        tags = matched_tags(
            self.tokenizer,
            self.tokenizer.cut(scenario.text()),
            supplier.capability_tags,
            scenario.required_capabilities,
        )
        reasons = []
        if matched:
            reasons.append(_listed(N_("关键词匹配：{items}"), matched))
        if tags:
            reasons.append(_listed(N_("可对应的能力标签：{items}"), tags))
        if related:
            reasons.append(_listed(N_("相关能力：{items}"), related))
        if scenario.domain:
            reasons.append(Text(N_("场景领域：{domain}"), {"domain": scenario.domain}))
        if region and scenario.region:
            reasons.append(Text(N_("场景地区：{region}"), {"region": scenario.region}))
        if dense_rank is not None:
            reasons.append(Text(N_("语义相近（向量检索第 {rank} 位）"), {"rank": dense_rank}))
        return Recommendation(
            doc_id=scenario_id,
            score=score,
            reasons=reasons,
            matched_terms=matched,
            matched_tags=tags,
            related_terms=related,
            filed_models=list(supplier.filed_models),
            bm25_rank=bm25_rank,
            dense_rank=dense_rank,
            strength=strength,
        )
