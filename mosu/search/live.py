"""The matching index of a running platform (实时匹配索引), kept current from the database.

One ``LiveIndex`` per database engine (so per application), built at first use. Before every
read it asks the database for a cheap stamp of each source row (organisations, models with
their active 备案, case studies, scenarios: ids and ``updated_at``) and re-indexes only the
entries whose stamp changed, removing the ones that are gone. That keeps every process
correct whichever process wrote (a web worker, ``mosu import``, a job worker), and no change
ever rebuilds the whole index: the engine's ``Index`` adds and removes single documents.

Besides the engine's supplier and scenario indexes, a third index holds models, so the
scenario page can recommend models and the registry's model list can search them.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from mosu.core import ranking
from mosu.matching import Matcher, Recommendation
from mosu.matching.engine import display_terms, supplier_filter
from mosu.matching.index import Hit, Index
from mosu.matching.profiles import (
    CaseStudy as CaseBrief,
)
from mosu.matching.profiles import (
    ModelBrief,
    ScenarioProfile,
    SupplierProfile,
)
from mosu.matching.tokens import Tokenizer, default_tokenizer
from mosu.registry.models import CaseStudy, Filing, FilingKind, FilingStatus, Model, Organisation
from mosu.scenarios.models import Scenario
from mosu.supply.models import ComputePool, CorpusOffer, ModelService

OFFER_TABLES = (ComputePool, CorpusOffer, ModelService)
"""The supply catalogue: an organisation with an active entry here offers something."""

Stamp = tuple[object, ...]
SEARCH_DEPTH = 1000
"""How many engine hits a list search considers (the lists show at most 100 a page)."""


@dataclass(frozen=True)
class ModelMatch:
    """A recommended model and why."""

    model_id: int
    organisation_id: int
    score: float
    matched_terms: list[str]
    matched_tags: list[str]
    filed: bool


def scenario_profile(scenario: Scenario) -> ScenarioProfile:
    """What the engine reads of a scenario (budgets in 万元, as the profiles hold them)."""

    def wan(yuan: int | None) -> float | None:
        return None if yuan is None else yuan / 10_000

    return ScenarioProfile(
        scenario_id=str(scenario.id),
        title=scenario.title,
        description="\n".join(p for p in (scenario.description, scenario.data_available) if p),
        domain=scenario.domain,
        required_capabilities=tuple(scenario.capabilities),
        region=scenario.region,
        budget_min=wan(scenario.budget_min_yuan),
        budget_max=wan(scenario.budget_max_yuan),
        status=scenario.status.value,
    )


def supplier_from_organisation(org: Organisation) -> SupplierProfile:
    """A profile from an ``Organisation`` with its ``models`` and their ``filings`` loaded.

    Only what the objects carry is read (load them with ``selectinload``); a model counts as
    filed when it has an active 备案, as in the registry's overview.
    """
    models = []
    for model in org.models:
        active = [
            f
            for f in model.filings
            if f.kind == FilingKind.beian and f.status == FilingStatus.active
        ]
        models.append(
            ModelBrief(
                name=model.name,
                capability_tags=tuple(model.capability_tags or ()),
                description=model.description or "",
                filed=bool(active),
                filing_numbers=tuple(f.number for f in active),
            )
        )
    return SupplierProfile(
        organisation_id=str(org.id),
        name=org.name_zh,
        description=org.description or "",
        layers=tuple(org.layers or ()),
        regions=tuple(org.regions or ()),
        models=tuple(models),
    )


def supplier_profile(
    org: Organisation, cases: Iterable[CaseStudy], *, has_offer: bool = False
) -> SupplierProfile:
    """An organisation's capability profile: the registry's facts, its case studies and
    whether it has an active offer in the supply catalogue."""
    base = supplier_from_organisation(org)
    briefs = tuple(CaseBrief(c.title, c.customer_type, c.text) for c in cases)
    return SupplierProfile(
        organisation_id=base.organisation_id,
        name=base.name,
        description="\n".join(p for p in (base.description, org.name_en) if p),
        layers=base.layers,
        regions=base.regions,
        models=base.models,
        case_studies=briefs,
        has_offer=has_offer,
    )


def _model_text(model: Model) -> str:
    tags = " ".join(model.capability_tags)
    parts = [model.name, tags, tags, model.description, model.organisation.name_zh]
    return "\n".join(p for p in parts if p)


def _model_attrs(model: Model, filed: bool) -> set[str]:
    org = model.organisation
    attrs = {f"layer:{layer}" for layer in org.layers} | {f"region:{r}" for r in org.regions}
    if filed:
        attrs.add("filed")
    return attrs


def required_words(tokenizer: Tokenizer, query: str) -> tuple[list[str], int]:
    """The query's words and how many of them a list-search hit must contain.

    A short query (three words or fewer) needs them all, a longer one two thirds: a list
    search should not return everything sharing one common word with the query, while a
    scenario's long description still finds suppliers covering most of it.
    """
    words = list(dict.fromkeys(tokenizer.cut(query)))
    need = len(words) if len(words) <= 3 else -(-2 * len(words) // 3)
    return words, need


def _offering(session: Session, ids: Sequence[int] | None = None) -> set[int]:
    """Organisations (of ``ids``, or all) with an active entry in the supply catalogue."""
    out: set[int] = set()
    for table in OFFER_TABLES:
        query = select(table.organisation_id).where(table.active.is_(True)).distinct()
        if ids is not None:
            query = query.where(table.organisation_id.in_(ids))
        out.update(session.scalars(query))
    return out


class LiveIndex:
    """Suppliers, scenarios and models of one database, searchable, refreshed per read."""

    def __init__(self, *, tokenizer: Tokenizer | None = None) -> None:
        self.tokenizer = tokenizer or default_tokenizer()
        self.matcher = Matcher(tokenizer=self.tokenizer)
        self.models = Index(tokenizer=self.tokenizer)
        self._model_org: dict[str, int] = {}
        self._model_filed: dict[str, bool] = {}
        self._stamps: dict[str, dict[int, Stamp]] = {"org": {}, "model": {}, "scenario": {}}
        self.lock = threading.RLock()
        self.refreshed = {"org": 0, "model": 0, "scenario": 0}
        """How many entries each refresh re-indexed in total (for tests and the curious)."""

    # ------------------------------------------------------------ keeping current

    def _current_stamps(self, session: Session) -> dict[str, dict[int, Stamp]]:
        filings: dict[int, list[int]] = defaultdict(list)
        for model_id, filing_id in session.execute(
            select(Filing.model_id, Filing.id).where(
                Filing.kind == FilingKind.beian, Filing.status == FilingStatus.active
            )
        ):
            filings[model_id].append(filing_id)
        orgs: dict[int, dt.datetime] = {
            org_id: updated
            for org_id, updated in session.execute(select(Organisation.id, Organisation.updated_at))
        }
        models: dict[int, Stamp] = {}
        org_parts: dict[int, list[object]] = defaultdict(list)
        for model_id, org_id, updated in session.execute(
            select(Model.id, Model.organisation_id, Model.updated_at)
        ):
            stamp = (updated, tuple(sorted(filings.get(model_id, ()))))
            models[model_id] = (*stamp, orgs.get(org_id))
            org_parts[org_id].append((model_id, *stamp))
        for case_id, org_id, updated in session.execute(
            select(CaseStudy.id, CaseStudy.organisation_id, CaseStudy.updated_at)
        ):
            org_parts[org_id].append(("case", case_id, updated))
        for org_id in _offering(session):
            org_parts[org_id].append(("offer",))
        org_stamps: dict[int, Stamp] = {
            org_id: (updated, tuple(sorted(org_parts.get(org_id, ()), key=repr)))
            for org_id, updated in orgs.items()
        }
        scenarios: dict[int, Stamp] = {
            sid: (updated, status)
            for sid, updated, status in session.execute(
                select(Scenario.id, Scenario.updated_at, Scenario.status)
            )
        }
        return {"org": org_stamps, "model": models, "scenario": scenarios}

    def refresh(self, session: Session) -> None:
        """Re-index what changed in the database since the last read, and nothing else."""
        with self.lock:
            current = self._current_stamps(session)
            changed: dict[str, list[int]] = {}
            for kind, stamps in current.items():
                known = self._stamps[kind]
                changed[kind] = [i for i, s in stamps.items() if known.get(i) != s]
                for gone in known.keys() - stamps.keys():
                    self._remove(kind, gone)
                self._stamps[kind] = stamps
            self._index_orgs(session, changed["org"])
            self._index_models(session, changed["model"])
            self._index_scenarios(session, changed["scenario"])

    def _remove(self, kind: str, entry_id: int) -> None:
        key = str(entry_id)
        if kind == "org":
            self.matcher.remove_supplier(key)
        elif kind == "model":
            self.models.remove(key)
            self._model_org.pop(key, None)
            self._model_filed.pop(key, None)
        else:
            self.matcher.remove_scenario(key)

    def _index_orgs(self, session: Session, ids: Sequence[int]) -> None:
        if not ids:
            return
        orgs = session.scalars(
            select(Organisation)
            .where(Organisation.id.in_(ids))
            .options(selectinload(Organisation.models).selectinload(Model.filings))
        ).all()
        cases: dict[int, list[CaseStudy]] = defaultdict(list)
        for case in session.scalars(
            select(CaseStudy).where(CaseStudy.organisation_id.in_(ids)).order_by(CaseStudy.id)
        ):
            cases[case.organisation_id].append(case)
        offering = _offering(session, ids)
        profiles = [supplier_profile(o, cases[o.id], has_offer=o.id in offering) for o in orgs]
        if len(profiles) == 1:
            self.matcher.upsert_supplier(profiles[0])
        else:
            self.matcher.upsert_suppliers(profiles)
        self.refreshed["org"] += len(profiles)

    def _index_models(self, session: Session, ids: Sequence[int]) -> None:
        if not ids:
            return
        models = session.scalars(
            select(Model)
            .where(Model.id.in_(ids))
            .options(selectinload(Model.organisation), selectinload(Model.filings))
        ).all()
        docs = []
        for model in models:
            filed = any(
                f.kind is FilingKind.beian and f.status is FilingStatus.active
                for f in model.filings
            )
            key = str(model.id)
            self._model_org[key] = model.organisation_id
            self._model_filed[key] = filed
            docs.append((key, _model_text(model), _model_attrs(model, filed)))
        self.models.add_many(docs)
        self.refreshed["model"] += len(docs)

    def _index_scenarios(self, session: Session, ids: Sequence[int]) -> None:
        if not ids:
            return
        scenarios = session.scalars(select(Scenario).where(Scenario.id.in_(ids))).all()
        self.matcher.upsert_scenarios(scenario_profile(s) for s in scenarios)
        self.refreshed["scenario"] += len(scenarios)

    # ------------------------------------------------------------ reading

    def _matching_ids(self, index: Index, query: str) -> list[int]:
        """Ids of the documents holding enough of the query's words (a word or one of its
        synonyms: 工单派发 is held by 工单分派), best BM25 first."""
        words, need = required_words(self.tokenizer, query)
        if not words:
            return []
        hits = index.search_terms(self.tokenizer.tokens(query), k=SEARCH_DEPTH)
        group = {w: self.tokenizer.group_of(w) for w in words}
        asked = [*words, *(g for g in group.values() if g)]
        out = []
        for hit in hits:
            have = index.contributions(asked, hit.doc_id)
            held = [w for w in words if w in have or group[w] in have]
            if len(held) >= need and all(w in held for w in words if w.isascii()):
                out.append(int(hit.doc_id))
        return out

    def search_organisations(self, session: Session, query: str) -> list[int]:
        """Organisations for the registry's list search, best first."""
        with self.lock:
            self.refresh(session)
            return self._matching_ids(self.matcher.suppliers, query)

    def search_models(self, session: Session, query: str) -> list[int]:
        with self.lock:
            self.refresh(session)
            return self._matching_ids(self.models, query)

    def search_scenarios(self, session: Session, query: str) -> list[int]:
        with self.lock:
            self.refresh(session)
            return self._matching_ids(self.matcher.scenarios, query)

    def suppliers_for(
        self,
        session: Session,
        scenario: Scenario,
        *,
        k: int = 10,
        filed_only: bool = False,
        layers: Iterable[str] = (),
        region: str | None = None,
    ) -> list[Recommendation]:
        """Suppliers for a scenario with reasons: organisations offering a model or a case
        study, the scenario's own organisation left out."""
        with self.lock:
            self.refresh(session)
            found = self.matcher.suppliers_for(
                scenario_profile(scenario),
                k=k + 1,
                filed_only=filed_only,
                layers=list(layers),
                region=region,
                offering_only=True,
            )
        own = str(scenario.organisation_id)
        return [r for r in found if r.doc_id != own][:k]

    def models_for(
        self,
        session: Session,
        scenario: Scenario,
        *,
        k: int = 10,
        filed_only: bool = False,
        layers: Iterable[str] = (),
        region: str | None = None,
    ) -> list[ModelMatch]:
        """Models for a scenario, with the terms and tags that matched."""
        profile = scenario_profile(scenario)
        where = supplier_filter(filed_only=filed_only, layers=layers, region=region)
        with self.lock:
            self.refresh(session)
            terms = self.tokenizer.tokens(profile.text())
            hits: list[Hit] = self.models.search_terms(terms, k=k + 10, where=tuple(where))
            wanted = set(profile.required_capabilities)
            out = []
            for hit in hits:
                if self._model_org.get(hit.doc_id) == scenario.organisation_id:
                    continue
                contributions = self.models.contributions(terms, hit.doc_id)
                out.append((hit, contributions))
        models = {
            m.id: m
            for m in session.scalars(
                select(Model).where(Model.id.in_([int(h.doc_id) for h, _ in out]))
            )
        }
        matches = []
        for hit, contributions in out[:k]:
            model = models.get(int(hit.doc_id))
            if model is None:
                continue
            tags = [t for t in model.capability_tags if t in wanted or t in contributions]
            matches.append(
                ModelMatch(
                    model_id=model.id,
                    organisation_id=model.organisation_id,
                    score=hit.score,
                    matched_terms=display_terms(contributions),
                    matched_tags=tags,
                    filed=self._model_filed.get(hit.doc_id, False),
                )
            )
        return matches

    def scenarios_for(
        self, session: Session, organisation_id: int, *, k: int = 10
    ) -> list[Recommendation]:
        """Open scenarios an organisation could take on (not its own), with reasons."""
        with self.lock:
            self.refresh(session)
            key = str(organisation_id)
            if key not in self.matcher.suppliers:
                return []
            supplier = self.matcher.supplier(key)
            found = self.matcher.scenarios_for(supplier, k=k + 20)
        own = {
            str(i)
            for i in session.scalars(
                select(Scenario.id).where(Scenario.organisation_id == organisation_id)
            )
        }
        return [r for r in found if r.doc_id not in own][:k]


_live: weakref.WeakKeyDictionary[Engine, LiveIndex] = weakref.WeakKeyDictionary()
_live_lock = threading.Lock()


def live_index(session: Session) -> LiveIndex:
    """The index of the database ``session`` talks to, built at first use."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with _live_lock:
        index = _live.get(engine)
        if index is None:
            index = _live[engine] = LiveIndex()
        return index


ranking.register("organisations", lambda s, q: live_index(s).search_organisations(s, q))
ranking.register("models", lambda s, q: live_index(s).search_models(s, q))
ranking.register("scenarios", lambda s, q: live_index(s).search_scenarios(s, q))
