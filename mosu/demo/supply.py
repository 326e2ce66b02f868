"""Loads the demo's supply (``data/supply.json``): the 2025 Shanghai voucher figures as
programmes, fictional offers, firm facts, and applications in every state, all through
the supply domain's own rules (so the demo's working is computed, not written down)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.corpus.catalogue import create_dataset
from mosu.corpus.schemas import DatasetIn
from mosu.permissions import Actor
from mosu.registry.models import Model, Organisation
from mosu.supply import applications, decisions, offers, programmes
from mosu.supply.schemas import (
    ApplicationIn,
    ClaimIn,
    CorpusOfferIn,
    ModelServiceIn,
    PayoutIn,
    PoolIn,
    ProfileIn,
    ProgrammeIn,
    RelationIn,
    ReviewIn,
)

SUPPLY = Path(__file__).parent / "data" / "supply.json"


def load_supply(session: Session, *, actor: Actor, path: Path = SUPPLY) -> int:
    """Create the demo's programmes, offers and applications; flush, not commit.

    Returns the number of applications.
    """
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    orgs = {name: i for i, name in session.execute(select(Organisation.id, Organisation.name_zh))}
    programme_ids = {
        p["name"]: programmes.create_programme(
            session, actor=actor, data=ProgrammeIn.model_validate(p)
        ).id
        for p in data["programmes"]
    }
    for p in data["profiles"]:
        fields = {k: v for k, v in p.items() if k != "organisation"}
        programmes.set_profile(
            session,
            actor=actor,
            organisation_id=orgs[p["organisation"]],
            data=ProfileIn.model_validate(fields),
        )
    for r in data["relations"]:
        programmes.add_relation(
            session,
            actor=actor,
            data=RelationIn(
                organisation_id=orgs[r["organisation"]],
                related_organisation_id=orgs[r["related"]],
                kind=r["kind"],
                note=r.get("note", ""),
            ),
        )
    datasets: dict[str, int] = {}
    for d in data["datasets"]:
        fields = {k: v for k, v in d.items() if k != "organisation"}
        card = DatasetIn.model_validate({**fields, "organisation_id": orgs[d["organisation"]]})
        datasets[d["name"]] = create_dataset(session, actor=actor, data=card).id
    offer_ids: dict[str, int] = {}
    for p in data["pools"]:
        fields = {k: v for k, v in p.items() if k != "organisation"}
        pool = PoolIn.model_validate({**fields, "organisation_id": orgs[p["organisation"]]})
        offer_ids[p["name"]] = offers.create_pool(session, actor=actor, data=pool).id
    for c in data["corpus_offers"]:
        dataset_id = datasets[c["dataset"]]
        owner = next(orgs[d["organisation"]] for d in data["datasets"] if d["name"] == c["dataset"])
        fields = {k: v for k, v in c.items() if k != "dataset"}
        offer = CorpusOfferIn.model_validate(
            {**fields, "dataset_id": dataset_id, "organisation_id": owner}
        )
        offer_ids[c["dataset"]] = offers.create_corpus_offer(session, actor=actor, data=offer).id
    for m in data["model_services"]:
        org_name, model_name = m["model"].split("/", 1)
        model = session.scalar(
            select(Model).where(Model.organisation_id == orgs[org_name], Model.name == model_name)
        )
        if model is None:
            raise RuntimeError(f"demo model missing: {m['model']}")
        fields = {k: v for k, v in m.items() if k != "model"}
        offer_in = ModelServiceIn.model_validate(
            {**fields, "model_id": model.id, "organisation_id": model.organisation_id}
        )
        offer_ids[model_name] = offers.create_model_service(session, actor=actor, data=offer_in).id
    for a in data["applications"]:
        _apply(session, actor, a, programme_ids=programme_ids, orgs=orgs, offer_ids=offer_ids)
    for u in data["compute_usage"]:
        offers.record_compute_usage(
            session,
            pool_id=offer_ids[u["pool"]],
            card_hours=u["card_hours"],
            reference_kind=u["reference_kind"],
            reference_id=u["reference_id"],
            actor=actor,
            used_on=dt.date.fromisoformat(u["used_on"]),
            note=u.get("note", ""),
        )
    session.flush()
    return len(data["applications"])


def _apply(
    session: Session,
    actor: Actor,
    a: dict[str, Any],
    *,
    programme_ids: dict[str, int],
    orgs: dict[str, int],
    offer_ids: dict[str, int],
) -> None:
    """One demo application, taken as far as the data says (review, claim, payout)."""
    application = applications.create_application(
        session,
        actor=actor,
        data=ApplicationIn(
            programme_id=programme_ids[a["programme"]],
            organisation_id=orgs[a["applicant"]],
            seller_organisation_id=orgs[a["seller"]],
            offer_id=offer_ids[a["offer"]],
            contract_number=a["contract_number"],
            contract_amount=a["amount"],
            signed_on=a["signed_on"],
            service_starts_on=a["starts_on"],
            service_ends_on=a["ends_on"],
            description=a.get("description", ""),
        ),
    )
    if "review" in a:
        review = a["review"]
        decisions.review(
            session,
            actor=actor,
            application_id=application.id,
            data=ReviewIn.model_validate({k: v for k, v in review.items() if k != "on"}),
            today=dt.date.fromisoformat(review["on"]),
        )
    if "claim" in a:
        decisions.claim(
            session,
            actor=actor,
            application_id=application.id,
            data=ClaimIn.model_validate(a["claim"]),
            today=dt.date.fromisoformat(a["claim"]["delivered_on"]),
        )
    if "payout" in a:
        decisions.payout(
            session,
            actor=actor,
            application_id=application.id,
            data=PayoutIn.model_validate(a["payout"]),
        )
