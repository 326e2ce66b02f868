"""Voucher applications (补贴申请): apply against a contract, read and list them.

A contract (seller and normalised number) may stand only once per programme; the subsidy is
computed when applying and stored with its working, and computed again at the decision
(``mosu.supply.decisions``)."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mosu.core.errors import MosuError
from mosu.core.money import to_fen, to_yuan
from mosu.permissions import (
    Actor,
    can_act_for_any_organisation,
    can_apply_for,
    can_see_application,
    can_see_every_application,
    ensure,
)
from mosu.registry.models import Organisation
from mosu.supply.errors import (
    APPLY_FOR_OWN,
    CONTRACT_NUMBER_EMPTY,
    DUPLICATE_CONTRACT,
    MEMBERS_APPLY,
    NAME_APPLICANT,
    NO_SUCH_APPLICATION,
    OFFER_MISMATCH,
    PROGRAMME_CLOSED,
    SERVICE_OUTSIDE_PERIOD,
    SIGNED_OUTSIDE_PERIOD,
)
from mosu.supply.models import (
    ApplicationStatus,
    VoucherApplication,
    VoucherProgramme,
)
from mosu.supply.offers import known_organisation, offer_seller
from mosu.supply.programmes import get_programme
from mosu.supply.rules import Working
from mosu.supply.schemas import (
    ApplicationIn,
    ApplicationOut,
)
from mosu.supply.subsidy import subsidy_for, working_out

SEPARATORS = frozenset("/")
OUTSIDE_PERIOD = {
    "period": (SIGNED_OUTSIDE_PERIOD, "signed_on"),
    "service_period": (SERVICE_OUTSIDE_PERIOD, "service_starts_on"),
}
"""Refusals that stop an application (the contract lies outside the programme's period),
with the error each raises and the form field it names."""


def normalise_contract_number(number: str) -> str:
    """A contract number as it identifies the contract: NFKC (full width is half width),
    case folded, without format characters (Unicode Cf, e.g. a zero-width space) and
    without separators (white space, dashes such as ``-`` and ``–``, ``/``), so
    ``SH-2025-777``, ``SH2025777``, ``sh/2025/777`` and ``ＳＨ－２０２５ ７７７`` are one."""
    folded = unicodedata.normalize("NFKC", number).casefold()
    return "".join(
        c
        for c in folded
        if not (
            c.isspace()
            or c in SEPARATORS
            or unicodedata.category(c) in ("Cf", "Pd", "Zs", "Zl", "Zp")
        )
    )


def contract_key(seller_organisation_id: int, contract_number: str) -> str:
    """A contract's identity within a programme: the seller and the normalised number."""
    return f"{seller_organisation_id}:{normalise_contract_number(contract_number)}"


def create_application(
    session: Session, *, actor: Actor, data: ApplicationIn
) -> VoucherApplication:
    """Apply for a voucher against a contract; the subsidy is computed and stored with its
    working. The same contract (seller and number) may stand only once per programme; when
    a concurrent application for it wins, the caller's transaction is rolled back (409)."""
    programme = get_programme(session, data.programme_id)
    buyer, seller = _parties(session, actor=actor, data=data, programme=programme)
    key = _free_key(session, programme.id, seller.id, data.contract_number)
    amount_fen = to_fen(data.contract_amount)
    working = subsidy_for(
        session,
        programme=programme,
        organisation_id=buyer.id,
        seller_organisation_id=seller.id,
        amount_fen=amount_fen,
        signed_on=data.signed_on,
        starts_on=data.service_starts_on,
        ends_on=data.service_ends_on,
    )
    if working.refused in OUTSIDE_PERIOD:
        error, field = OUTSIDE_PERIOD[working.refused]
        raise error(details={"field": field}, **working.steps[-1].figures)
    application = VoucherApplication(
        programme_id=programme.id,
        organisation_id=buyer.id,
        applicant_name=buyer.name_zh,
        applicant_tier=buyer.tier,
        seller_organisation_id=seller.id,
        seller_name=seller.name_zh,
        offer_id=data.offer_id,
        contract_number=data.contract_number,
        contract_key=key,
        contract_amount_fen=amount_fen,
        signed_on=data.signed_on,
        service_starts_on=data.service_starts_on,
        service_ends_on=data.service_ends_on,
        description=data.description,
        status=ApplicationStatus.submitted,
        requested_fen=working.amount_fen,
        boosted=working.boosted,
        working=working.as_json(),
        created_by_id=actor.user_id,
    )
    session.add(application)
    try:
        session.flush()
    except IntegrityError:  # a concurrent application for the same contract won the race
        session.rollback()
        other = session.scalar(
            select(VoucherApplication.id).where(
                VoucherApplication.programme_id == programme.id,
                VoucherApplication.contract_key == key,
            )
        )
        raise _twice(other) from None
    return application


def preview_subsidy(session: Session, *, actor: Actor, data: ApplicationIn) -> Working:
    """What :func:`create_application` would compute for ``data`` now, checked as it checks
    the parties and the offer (the contract number is not checked); nothing is written."""
    programme = get_programme(session, data.programme_id)
    buyer, seller = _parties(session, actor=actor, data=data, programme=programme)
    return subsidy_for(
        session,
        programme=programme,
        organisation_id=buyer.id,
        seller_organisation_id=seller.id,
        amount_fen=to_fen(data.contract_amount),
        signed_on=data.signed_on,
        starts_on=data.service_starts_on,
        ends_on=data.service_ends_on,
    )


def _parties(
    session: Session, *, actor: Actor, data: ApplicationIn, programme: VoucherProgramme
) -> tuple[Organisation, Organisation]:
    """The buyer (the actor's organisation; an operator names it) and the seller of a new
    application, once the actor may apply for the buyer and the programme is open."""
    buyer_id = (
        data.organisation_id if can_act_for_any_organisation(actor) else actor.organisation_id
    )
    if buyer_id is None:
        if not can_act_for_any_organisation(actor):
            raise MEMBERS_APPLY()
        raise NAME_APPLICANT(details={"field": "organisation_id"})
    ensure(can_apply_for(actor, buyer_id), APPLY_FOR_OWN)
    if not programme.open:
        raise PROGRAMME_CLOSED()
    buyer = known_organisation(session, buyer_id, "organisation_id")
    seller = known_organisation(session, data.seller_organisation_id, "seller_organisation_id")
    if (
        data.offer_id is not None
        and offer_seller(session, programme.kind, data.offer_id) != seller.id
    ):
        raise OFFER_MISMATCH(details={"field": "offer_id"})
    return buyer, seller


def _free_key(session: Session, programme_id: int, seller_id: int, number: str) -> str:
    """The contract's key, unless the number is empty or the contract already stands."""
    key = contract_key(seller_id, number)
    if key.endswith(":"):
        raise CONTRACT_NUMBER_EMPTY(details={"field": "contract_number"})
    existing = session.scalar(
        select(VoucherApplication.id).where(
            VoucherApplication.programme_id == programme_id,
            VoucherApplication.contract_key == key,
        )
    )
    if existing is not None:
        raise _twice(existing)
    return key


def _twice(existing: int | None) -> MosuError:
    return DUPLICATE_CONTRACT(
        application=existing, details={"field": "contract_number", "application_id": existing}
    )


def get_application(session: Session, *, actor: Actor, application_id: int) -> VoucherApplication:
    """An application ``actor`` may see; another organisation's is "not found"."""
    application = session.get(VoucherApplication, application_id)
    if application is None or not can_see_application(actor, application.organisation_id):
        raise NO_SUCH_APPLICATION()
    return application


def list_applications(
    session: Session,
    *,
    actor: Actor,
    programme_id: int | None = None,
    status: ApplicationStatus | None = None,
) -> list[VoucherApplication]:
    """Operators see every application; anyone else only their own organisation's."""
    stmt = select(VoucherApplication).order_by(VoucherApplication.id.desc())
    if not can_see_every_application(actor):
        if actor.organisation_id is None:
            return []
        stmt = stmt.where(VoucherApplication.organisation_id == actor.organisation_id)
    if programme_id is not None:
        stmt = stmt.where(VoucherApplication.programme_id == programme_id)
    if status is not None:
        stmt = stmt.where(VoucherApplication.status == status)
    return list(session.scalars(stmt))


def application_out(application: VoucherApplication) -> ApplicationOut:
    programme = application.programme
    return ApplicationOut(
        id=application.id,
        programme_id=programme.id,
        programme_name=programme.name,
        kind=programme.kind,
        organisation_id=application.organisation_id,
        applicant_name=application.applicant_name,
        applicant_tier=application.applicant_tier,
        seller_organisation_id=application.seller_organisation_id,
        seller_name=application.seller_name,
        offer_id=application.offer_id,
        contract_number=application.contract_number,
        contract_amount=to_yuan(application.contract_amount_fen),
        signed_on=application.signed_on,
        service_starts_on=application.service_starts_on,
        service_ends_on=application.service_ends_on,
        description=application.description,
        attachment_name=application.attachment_name,
        attachment_size=application.attachment_size,
        status=application.status,
        requested=to_yuan(application.requested_fen),
        working=working_out(application.working),
        approved=to_yuan(application.approved_fen)
        if application.approved_fen is not None
        else None,
        decision_working=(
            working_out(application.decision_working) if application.decision_working else None
        ),
        decision_reason=application.decision_reason,
        decided_on=application.decided_on,
        delivered_on=application.delivered_on,
        claim_note=application.claim_note,
        paid=to_yuan(application.paid_fen) if application.paid_fen is not None else None,
        paid_on=application.paid_on,
        payment_reference=application.payment_reference,
        created_at=application.created_at,
    )
