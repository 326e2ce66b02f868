"""Community figures: the overview counts and the regional filing total the operator sets."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from mosu.permissions import Actor, can_set_regional_total, ensure
from mosu.registry.errors import OPERATORS_SET_REGIONAL_TOTAL
from mosu.registry.models import (
    CommunityFact,
    Filing,
    FilingKind,
    FilingStatus,
    Layer,
    Modality,
    Model,
    Organisation,
    Tier,
)
from mosu.registry.schemas import CountRow, FilingMonth, Overview

REGIONAL_TOTAL_KEY = "regional_filed_total"
REGIONAL_NAME_KEY = "regional_name"


def get_fact(session: Session, key: str) -> str | None:
    row = session.get(CommunityFact, key)
    return row.value if row is not None else None


def set_regional_total(session: Session, *, actor: Actor, region: str, total: int) -> None:
    ensure(can_set_regional_total(actor), OPERATORS_SET_REGIONAL_TOTAL)
    for key, value in ((REGIONAL_TOTAL_KEY, str(total)), (REGIONAL_NAME_KEY, region)):
        row = session.get(CommunityFact, key)
        if row is None:
            session.add(CommunityFact(key=key, value=value))
        else:
            row.value = value
    session.flush()


_ORGANISATIONS = select(Organisation.tier, Organisation.layers, Organisation.resident)
_MODALITIES = select(Model.modality, func.count()).group_by(Model.modality)
_FILED = select(
    func.count(func.distinct(case((Filing.kind == FilingKind.beian, Filing.model_id)))),
    func.count(func.distinct(case((Filing.kind == FilingKind.dengji, Filing.model_id)))),
).where(Filing.status == FilingStatus.active)
_MONTHS = (
    select(Filing.kind, Filing.filed_on, func.count())
    .group_by(Filing.kind, Filing.filed_on)
    .order_by(Filing.filed_on)
)
_FACTS = select(CommunityFact.key, CommunityFact.value).where(
    CommunityFact.key.in_([REGIONAL_TOTAL_KEY, REGIONAL_NAME_KEY])
)
"""The overview's statements, built once (building them cost about as much as running them)."""


def overview(session: Session) -> Overview:
    orgs = session.execute(_ORGANISATIONS)
    by_tier: Counter[str] = Counter()
    by_layer: Counter[str] = Counter()
    n_orgs = n_resident = 0
    for tier, layers, resident in orgs:
        n_orgs += 1
        n_resident += bool(resident)
        by_tier[Tier(tier).value] += 1
        by_layer.update(layers)
    by_modality: Counter[str] = Counter()
    for modality, count in session.execute(_MODALITIES):
        by_modality[Modality(modality).value] += count
    n_models = sum(by_modality.values())
    n_filed, registered = session.execute(_FILED).one()
    months: dict[str, Counter[str]] = {}
    for kind, filed_on, count in session.execute(_MONTHS):
        months.setdefault(filed_on.strftime("%Y-%m"), Counter())[FilingKind(kind).value] += count
    cumulative = 0
    timeline = []
    for month in sorted(months):
        counts = months[month]
        cumulative += counts["beian"] + counts["dengji"]
        timeline.append(
            FilingMonth(
                month=month, beian=counts["beian"], dengji=counts["dengji"], cumulative=cumulative
            )
        )
    facts = {key: value for key, value in session.execute(_FACTS)}
    total_text = facts.get(REGIONAL_TOTAL_KEY)
    regional_total = int(total_text) if total_text else None
    return Overview(
        organisations=n_orgs,
        resident_organisations=n_resident,
        models=n_models,
        filed_models=n_filed,
        registered_apps=registered or 0,
        regional_region=facts.get(REGIONAL_NAME_KEY) or "",
        regional_filed_total=regional_total,
        regional_share=(n_filed / regional_total) if regional_total else None,
        by_tier=[CountRow(key=t.value, count=by_tier[t.value]) for t in Tier],
        by_layer=[CountRow(key=v.value, count=by_layer[v.value]) for v in Layer],
        by_modality=[CountRow(key=v.value, count=by_modality[v.value]) for v in Modality],
        filings_by_month=timeline,
    )
