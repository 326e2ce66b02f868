"""Board rules: case studies, interest in scenarios, and matches in both directions.

Suppliers for a scenario and scenarios for a supplier come from the live index
(``mosu.search.live``); this module adds who may see and change what.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mosu import i18n
from mosu.board.errors import (
    ADD_OWN_CASE_STUDIES,
    DELETE_OWN_CASE_STUDIES,
    EDIT_OWN_CASE_STUDIES,
    INTEREST_ALREADY_MARKED,
    INTEREST_IN_OWN_SCENARIO,
    MARK_OWN_INTEREST,
    NO_SUCH_CASE_STUDY,
    NO_SUCH_INTEREST,
    READ_OWN_INTEREST,
    SCENARIO_NOT_OPEN,
    WITHDRAW_OWN_INTEREST,
)
from mosu.board.models import Interest
from mosu.board.schemas import (
    CaseStudyIn,
    CaseStudyOut,
    CaseStudyPatch,
    InterestOut,
    ModelMatch,
    Recommendations,
    ScenarioMatch,
    SupplierMatch,
)
from mosu.matching.reasons import strengths
from mosu.notifications.service import notify
from mosu.permissions import (
    Actor,
    can_manage_case_studies,
    can_mark_interest,
    can_read_interests,
    ensure,
)
from mosu.registry.lookups import get_organisation
from mosu.registry.models import CaseStudy, Model, Organisation
from mosu.scenarios.models import Scenario, ScenarioStatus
from mosu.scenarios.service import get_scenario, visible
from mosu.search.live import live_index

INTEREST_STATES = (ScenarioStatus.open, ScenarioStatus.published)
"""Interest is marked in scenarios on the board: not drafts, not closed ones."""


# ---------------------------------------------------------------- case studies


def case_study_out(case: CaseStudy) -> CaseStudyOut:
    return CaseStudyOut.model_validate(case, from_attributes=True)


def list_case_studies(session: Session, *, organisation_id: int) -> list[CaseStudy]:
    get_organisation(session, organisation_id)
    return list(
        session.scalars(
            select(CaseStudy)
            .where(CaseStudy.organisation_id == organisation_id)
            .order_by(CaseStudy.id)
        )
    )


def create_case_study(
    session: Session, *, actor: Actor, organisation_id: int, data: CaseStudyIn
) -> CaseStudy:
    get_organisation(session, organisation_id)
    ensure(can_manage_case_studies(actor, organisation_id), ADD_OWN_CASE_STUDIES)
    case = CaseStudy(organisation_id=organisation_id, **data.model_dump())
    session.add(case)
    session.flush()
    return case


def get_case_study(session: Session, case_study_id: int) -> CaseStudy:
    case = session.get(CaseStudy, case_study_id)
    if case is None:
        raise NO_SUCH_CASE_STUDY(case_study_id=case_study_id)
    return case


def update_case_study(
    session: Session, *, actor: Actor, case_study_id: int, data: CaseStudyPatch
) -> CaseStudy:
    case = get_case_study(session, case_study_id)
    ensure(can_manage_case_studies(actor, case.organisation_id), EDIT_OWN_CASE_STUDIES)
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(case, key, value)
    session.flush()
    return case


def delete_case_study(session: Session, *, actor: Actor, case_study_id: int) -> None:
    case = get_case_study(session, case_study_id)
    ensure(can_manage_case_studies(actor, case.organisation_id), DELETE_OWN_CASE_STUDIES)
    session.delete(case)
    session.flush()


# ---------------------------------------------------------------- interest


def interest_out(interest: Interest) -> InterestOut:
    return InterestOut(
        scenario_id=interest.scenario_id,
        scenario_title=interest.scenario.title,
        organisation_id=interest.organisation_id,
        organisation_name=interest.organisation.name_zh,
        note=interest.note,
        created_at=interest.created_at,
    )


def _interest(session: Session, scenario_id: int, organisation_id: int) -> Interest | None:
    return session.scalar(
        select(Interest).where(
            Interest.scenario_id == scenario_id, Interest.organisation_id == organisation_id
        )
    )


def mark_interest(
    session: Session, *, actor: Actor, organisation_id: int, scenario_id: int, note: str = ""
) -> tuple[Interest, bool]:
    """A supplier marks interest in a scenario (意向对接): one per organisation and scenario.

    Marking again only updates the note. The first time, every user of the demand
    organisation is notified. Returns the interest and whether it is new.
    """
    org = get_organisation(session, organisation_id)
    ensure(can_mark_interest(actor, organisation_id), MARK_OWN_INTEREST)
    scenario = get_scenario(session, scenario_id, actor=actor)
    if scenario.organisation_id == organisation_id:
        raise INTEREST_IN_OWN_SCENARIO(details={"field": "organisation_id"})
    if scenario.status not in INTEREST_STATES:
        raise SCENARIO_NOT_OPEN(details={"field": "status"})
    existing = _interest(session, scenario.id, organisation_id)
    if existing is not None:
        existing.note = note
        session.flush()
        return existing, False
    interest = Interest(
        scenario_id=scenario.id,
        organisation_id=organisation_id,
        note=note,
        created_by_id=actor.user_id,
    )
    session.add(interest)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        if _interest(session, scenario_id, organisation_id) is None:
            raise
        # marked at the same moment by a colleague
        raise INTEREST_ALREADY_MARKED() from exc
    notify(
        session,
        organisation_id=scenario.organisation_id,
        kind="interest",
        params={"organisation": org.name_zh, "scenario": scenario.title, "note": note},
        link=f"/scenarios/{scenario.id}#interests",
        skip_user_id=actor.user_id,
    )
    return interest, True


def withdraw_interest(
    session: Session, *, actor: Actor, organisation_id: int, scenario_id: int
) -> None:
    """Withdraw an organisation's interest; withdrawing what was never marked is not found."""
    get_organisation(session, organisation_id)
    ensure(can_mark_interest(actor, organisation_id), WITHDRAW_OWN_INTEREST)
    get_scenario(session, scenario_id, actor=actor)
    interest = _interest(session, scenario_id, organisation_id)
    if interest is None:
        raise NO_SUCH_INTEREST()
    session.delete(interest)
    session.flush()


def interests_of(session: Session, *, actor: Actor, scenario: Scenario) -> list[Interest]:
    """The interest in a scenario the actor may see (all, or their own organisation's)."""
    stmt = (
        select(Interest)
        .where(Interest.scenario_id == scenario.id)
        .options(selectinload(Interest.organisation), selectinload(Interest.scenario))
        .order_by(Interest.created_at, Interest.id)
    )
    if not can_read_interests(actor, scenario.organisation_id):
        if actor.organisation_id is None:
            return []
        stmt = stmt.where(Interest.organisation_id == actor.organisation_id)
    return list(session.scalars(stmt))


def interests_of_organisation(
    session: Session, *, actor: Actor, organisation_id: int
) -> list[Interest]:
    """The scenarios an organisation marked interest in (its members and operators)."""
    get_organisation(session, organisation_id)
    ensure(
        can_mark_interest(actor, organisation_id) or actor.belongs_to(organisation_id),
        READ_OWN_INTEREST,
    )
    return list(
        session.scalars(
            select(Interest)
            .where(Interest.organisation_id == organisation_id)
            .options(selectinload(Interest.organisation), selectinload(Interest.scenario))
            .order_by(Interest.created_at.desc(), Interest.id.desc())
        )
    )


# ---------------------------------------------------------------- matches


def recommendations(
    session: Session,
    *,
    actor: Actor,
    scenario_id: int,
    k: int = 10,
    filed_only: bool = False,
    layers: Iterable[str] = (),
    region: str = "",
    lang: i18n.Language = "zh",
) -> Recommendations:
    """Suppliers and models for a scenario with reasons (in ``lang``), beside those who
    marked interest."""
    scenario = get_scenario(session, scenario_id, actor=actor)
    live = live_index(session)
    layers = list(layers)
    suppliers = live.suppliers_for(
        session, scenario, k=k, filed_only=filed_only, layers=layers, region=region or None
    )
    models = live.models_for(
        session, scenario, k=k, filed_only=filed_only, layers=layers, region=region or None
    )
    interests = interests_of(session, actor=actor, scenario=scenario)
    every_interest = set(
        session.scalars(select(Interest.organisation_id).where(Interest.scenario_id == scenario.id))
    )
    shown_interest = {i.organisation_id for i in interests}
    ids = {int(r.doc_id) for r in suppliers} | {m.organisation_id for m in models}
    names = {
        org_id: name
        for org_id, name in session.execute(
            select(Organisation.id, Organisation.name_zh).where(Organisation.id.in_(ids))
        )
    }
    model_names = {
        model_id: name
        for model_id, name in session.execute(
            select(Model.id, Model.name).where(Model.id.in_([m.model_id for m in models]))
        )
    }
    return Recommendations(
        scenario_id=scenario.id,
        suppliers=[
            SupplierMatch(
                organisation_id=int(r.doc_id),
                organisation_name=names.get(int(r.doc_id), ""),
                score=round(r.score, 4),
                strength=r.strength,
                reasons=[i18n.render(x, lang) for x in r.reasons],
                matched_terms=r.matched_terms,
                matched_tags=r.matched_tags,
                filed_models=r.filed_models,
                interested=int(r.doc_id) in shown_interest,
            )
            for r in suppliers
        ],
        models=[
            ModelMatch(
                model_id=m.model_id,
                name=model_names.get(m.model_id, ""),
                organisation_id=m.organisation_id,
                organisation_name=names.get(m.organisation_id, ""),
                score=round(m.score, 4),
                strength=strength,
                matched_terms=m.matched_terms,
                matched_tags=m.matched_tags,
                filed=m.filed,
            )
            for m, strength in zip(models, strengths([m.score for m in models]), strict=True)
        ],
        interests=[interest_out(i) for i in interests],
        interest_count=len(every_interest),
    )


def opportunities(
    session: Session,
    *,
    actor: Actor,
    organisation_id: int,
    k: int = 20,
    lang: i18n.Language = "zh",
) -> list[ScenarioMatch]:
    """Scenarios on the board an organisation could win, best first, with reasons (in
    ``lang``)."""
    get_organisation(session, organisation_id)
    found = live_index(session).scenarios_for(session, organisation_id, k=k)
    ids = [int(r.doc_id) for r in found]
    scenarios = {
        s.id: s
        for s in session.scalars(
            visible(select(Scenario), actor)
            .where(Scenario.id.in_(ids))
            .options(selectinload(Scenario.organisation))
        )
    }
    interested = set(
        session.scalars(
            select(Interest.scenario_id).where(
                Interest.organisation_id == organisation_id, Interest.scenario_id.in_(ids)
            )
        )
    )
    out = []
    for r in found:
        s = scenarios.get(int(r.doc_id))
        if s is None:
            continue
        out.append(
            ScenarioMatch(
                scenario_id=s.id,
                title=s.title,
                organisation_id=s.organisation_id,
                organisation_name=s.organisation.name_zh,
                domain=s.domain,
                region=s.region,
                score=round(r.score, 4),
                strength=r.strength,
                reasons=[i18n.render(x, lang) for x in r.reasons],
                matched_terms=r.matched_terms,
                matched_tags=r.matched_tags,
                interested=s.id in interested,
            )
        )
    return out
