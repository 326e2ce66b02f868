"""Voucher programmes (券种项目) with their rules as data, and the firm facts the rules read:
founding dates and sizes, and related parties (关联方), kept by operators."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mosu.core.money import to_fen, to_yuan
from mosu.permissions import (
    Actor,
    can_keep_firm_facts,
    can_manage_programmes,
    can_see_firm_facts,
    ensure,
)
from mosu.registry.models import Organisation
from mosu.supply.errors import (
    ALREADY_RELATED,
    BUDGET_BELOW_COMMITTED,
    NO_SUCH_PROGRAMME,
    NO_SUCH_RELATION,
    OPERATORS_CHANGE_PROGRAMMES,
    OPERATORS_CREATE_PROGRAMMES,
    OPERATORS_KEEP_FIRM_FACTS,
    OPERATORS_KEEP_RELATIONS,
    PERIOD_ENDS_BEFORE_START,
    PROFILE_HIDDEN,
    PROGRAMME_NAME_TAKEN,
)
from mosu.supply.models import (
    LedgerEntry,
    LedgerKind,
    OrganisationRelation,
    SupplyProfile,
    VoucherProgramme,
)
from mosu.supply.offers import known_organisation
from mosu.supply.rules import Firm, Rules
from mosu.supply.schemas import (
    ProfileIn,
    ProfileOut,
    ProgrammeIn,
    ProgrammeOut,
    ProgrammePatch,
    RelationIn,
    RelationOut,
)

# ---------------------------------------------------------------- programmes


def _paid_by_programme(session: Session) -> dict[int, int]:
    stmt = (
        select(LedgerEntry.programme_id, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.kind == LedgerKind.payout)
        .group_by(LedgerEntry.programme_id)
    )
    return {pid: int(total or 0) for pid, total in session.execute(stmt)}


def programme_out(programme: VoucherProgramme, *, paid_fen: int = 0) -> ProgrammeOut:
    return ProgrammeOut(
        id=programme.id,
        name=programme.name,
        kind=programme.kind,
        issuer=programme.issuer,
        budget=to_yuan(programme.budget_fen),
        committed=to_yuan(programme.committed_fen),
        paid=to_yuan(paid_fen),
        remaining=to_yuan(programme.budget_fen - programme.committed_fen),
        starts_on=programme.starts_on,
        ends_on=programme.ends_on,
        rules=Rules.model_validate(programme.rules),
        open=programme.open,
        description=programme.description,
    )


def programmes_out(session: Session, programmes: list[VoucherProgramme]) -> list[ProgrammeOut]:
    paid = _paid_by_programme(session)
    return [programme_out(p, paid_fen=paid.get(p.id, 0)) for p in programmes]


def create_programme(session: Session, *, actor: Actor, data: ProgrammeIn) -> VoucherProgramme:
    ensure(can_manage_programmes(actor), OPERATORS_CREATE_PROGRAMMES)
    if session.scalar(select(VoucherProgramme.id).where(VoucherProgramme.name == data.name)):
        raise PROGRAMME_NAME_TAKEN(name=data.name, details={"field": "name"})
    programme = VoucherProgramme(
        name=data.name,
        kind=data.kind,
        issuer=data.issuer,
        budget_fen=to_fen(data.budget),
        committed_fen=0,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        rules=data.rules.model_dump(mode="json"),
        open=data.open,
        description=data.description,
    )
    session.add(programme)
    session.flush()
    return programme


def get_programme(session: Session, programme_id: int) -> VoucherProgramme:
    programme = session.get(VoucherProgramme, programme_id)
    if programme is None:
        raise NO_SUCH_PROGRAMME()
    return programme


def update_programme(
    session: Session, *, actor: Actor, programme_id: int, data: ProgrammePatch
) -> VoucherProgramme:
    """Change a programme. The budget is lowered with one guarded statement, so that it
    never falls below what concurrent approvals have committed."""
    ensure(can_manage_programmes(actor), OPERATORS_CHANGE_PROGRAMMES)
    programme = get_programme(session, programme_id)
    changes = data.model_dump(exclude_unset=True)
    budget = changes.pop("budget", None)
    if budget is not None:
        fen = to_fen(budget)
        done = session.execute(
            update(VoucherProgramme)
            .where(VoucherProgramme.id == programme.id, VoucherProgramme.committed_fen <= fen)
            .values(budget_fen=fen)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise BUDGET_BELOW_COMMITTED(details={"field": "budget"})
        session.refresh(programme)
    name = changes.get("name")
    clash = select(VoucherProgramme.id).where(VoucherProgramme.name == name)
    if name and name != programme.name and session.scalar(clash) is not None:
        raise PROGRAMME_NAME_TAKEN(name=name, details={"field": "name"})
    if changes.get("ends_on") is not None and changes["ends_on"] < programme.starts_on:
        raise PERIOD_ENDS_BEFORE_START()
    for key, value in changes.items():
        if value is None:
            continue
        setattr(programme, key, data.rules.model_dump(mode="json") if key == "rules" else value)  # type: ignore[union-attr]
    session.flush()
    return programme


def list_programmes(session: Session) -> list[VoucherProgramme]:
    stmt = select(VoucherProgramme).order_by(VoucherProgramme.starts_on.desc(), VoucherProgramme.id)
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- firm facts


def get_profile(session: Session, *, actor: Actor, organisation_id: int) -> ProfileOut:
    ensure(can_see_firm_facts(actor, organisation_id), PROFILE_HIDDEN)
    known_organisation(session, organisation_id, "organisation_id")
    row = session.get(SupplyProfile, organisation_id)
    if row is None:
        return ProfileOut(organisation_id=organisation_id)
    return ProfileOut(
        organisation_id=organisation_id,
        founded_on=row.founded_on,
        employees=row.employees,
        small_firm=row.small_firm,
        note=row.note,
    )


def set_profile(
    session: Session, *, actor: Actor, organisation_id: int, data: ProfileIn
) -> SupplyProfile:
    ensure(can_keep_firm_facts(actor), OPERATORS_KEEP_FIRM_FACTS)
    known_organisation(session, organisation_id, "organisation_id")
    row = session.get(SupplyProfile, organisation_id)
    if row is None:
        row = SupplyProfile(organisation_id=organisation_id)
        session.add(row)
    for key, value in data.model_dump().items():
        setattr(row, key, value)
    session.flush()
    return row


def relation_out(row: OrganisationRelation, names: dict[int, str]) -> RelationOut:
    return RelationOut(
        id=row.id,
        organisation_id=row.organisation_id,
        organisation_name=names.get(row.organisation_id, ""),
        related_organisation_id=row.related_organisation_id,
        related_organisation_name=names.get(row.related_organisation_id, ""),
        kind=row.kind,
        note=row.note,
    )


def list_relations(session: Session, *, actor: Actor) -> list[RelationOut]:
    ensure(can_keep_firm_facts(actor), OPERATORS_KEEP_RELATIONS)
    rows = list(session.scalars(select(OrganisationRelation).order_by(OrganisationRelation.id)))
    names = {k: v for k, v in session.execute(select(Organisation.id, Organisation.name_zh))}
    return [relation_out(r, names) for r in rows]


def add_relation(session: Session, *, actor: Actor, data: RelationIn) -> OrganisationRelation:
    """Record two organisations as related parties (stored once, lower id first)."""
    ensure(can_keep_firm_facts(actor), OPERATORS_KEEP_RELATIONS)
    low, high = sorted((data.organisation_id, data.related_organisation_id))
    known_organisation(session, low, "organisation_id")
    known_organisation(session, high, "related_organisation_id")
    if related(session, low, high):
        raise ALREADY_RELATED()
    row = OrganisationRelation(
        organisation_id=low,
        related_organisation_id=high,
        kind=data.kind,
        note=data.note,
        created_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    return row


def delete_relation(session: Session, *, actor: Actor, relation_id: int) -> None:
    ensure(can_keep_firm_facts(actor), OPERATORS_KEEP_RELATIONS)
    row = session.get(OrganisationRelation, relation_id)
    if row is None:
        raise NO_SUCH_RELATION()
    session.delete(row)
    session.flush()


def related(session: Session, a: int, b: int) -> bool:
    """Whether organisations ``a`` and ``b`` are the same or recorded as related parties."""
    if a == b:
        return True
    low, high = sorted((a, b))
    stmt = select(OrganisationRelation.id).where(
        OrganisationRelation.organisation_id == low,
        OrganisationRelation.related_organisation_id == high,
    )
    return session.scalar(stmt) is not None


def supply_firm(session: Session, organisation_id: int) -> Firm:
    row = session.get(SupplyProfile, organisation_id)
    if row is None:
        return Firm()
    return Firm(founded_on=row.founded_on, employees=row.employees, small_firm=row.small_firm)
