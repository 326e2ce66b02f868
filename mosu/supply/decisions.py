"""Decisions on voucher applications (审核与兑付): review, claim, payout.

Money never passes a programme's budget: an approval first takes the application
(``submitted`` → ``approved``, one guarded statement), then locks the programme
(``FOR UPDATE`` on PostgreSQL; on SQLite the first write already holds the database's
write lock), recomputes the subsidy from fresh figures, and raises the programme's
committed total with a statement that only succeeds while it stays within the budget.
The database's check constraint refuses any total above the budget as a last guard."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from mosu.core.errors import Invalid
from mosu.core.metrics import metrics
from mosu.core.money import to_fen, to_yuan
from mosu.notifications.service import notify
from mosu.permissions import (
    Actor,
    can_apply_for,
    can_review_applications,
    ensure,
)
from mosu.supply.applications import get_application
from mosu.supply.errors import (
    ABOVE_CAPPED_SUBSIDY,
    ABOVE_SUBSIDY,
    APPROVE_POSITIVE,
    CLAIM_FOR_OWN,
    DELIVERY_DATE,
    LEDGER_MISMATCH,
    NOT_ELIGIBLE,
    NOT_IN_STATE,
    NOTHING_TO_GRANT,
    OPERATORS_RECORD_PAYOUTS,
    OPERATORS_REVIEW,
    OVER_BUDGET,
    PARTY_LEFT,
    PAYOUT_ABOVE_APPROVED,
    REDUCTION_NEEDS_REASON,
    REJECTION_NEEDS_REASON,
)
from mosu.supply.ledger import book
from mosu.supply.models import (
    ApplicationStatus,
    LedgerKind,
    VoucherApplication,
    VoucherProgramme,
)
from mosu.supply.offers import today_or
from mosu.supply.rules import (
    CAP_NAMES,
    Working,
    cap_words,
    refusal_reason,
)
from mosu.supply.schemas import (
    ClaimIn,
    PayoutIn,
    ReviewIn,
)
from mosu.supply.subsidy import subsidy_for


def _take(
    session: Session, application: VoucherApplication, *, want: ApplicationStatus, **values: Any
) -> None:
    """Move an application out of ``want`` with one guarded statement, or refuse (409)."""
    done = session.execute(
        update(VoucherApplication)
        .where(VoucherApplication.id == application.id, VoucherApplication.status == want)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise NOT_IN_STATE(status=want.value)
    session.refresh(application)


def _move_committed(session: Session, programme_id: int, delta_fen: int) -> bool:
    """Add ``delta_fen`` to a programme's committed total if it stays within 0 … budget."""
    total = VoucherProgramme.committed_fen + delta_fen
    done = session.execute(
        update(VoucherProgramme)
        .where(
            VoucherProgramme.id == programme_id,
            total <= VoucherProgramme.budget_fen,
            total >= 0,
        )
        .values(committed_fen=total)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


LARGE_APPROVAL_FEN = 50_000_000
"""An approval of ¥500,000 or more asks the operator to confirm it first (the page's
confirmation step, :mod:`mosu.web.confirm`)."""


def is_large_approval(application: VoucherApplication, amount_yuan: str) -> bool:
    """Whether approving ``application`` (at ``amount_yuan`` when given, a reduction, else
    at what it requests) is large enough to be confirmed first."""
    try:
        fen = to_fen(amount_yuan) if amount_yuan else application.requested_fen
    except (Invalid, ArithmeticError, ValueError):
        fen = application.requested_fen
    return fen >= LARGE_APPROVAL_FEN


def review(
    session: Session,
    *,
    actor: Actor,
    application_id: int,
    data: ReviewIn,
    today: dt.date | None = None,
) -> VoucherApplication:
    """Approve (at the computed subsidy, or reduced with a reason) or reject with a reason.

    The subsidy is recomputed at the decision from fresh figures (what the organisation
    and the programme have used by then), inside the programme's lock; an approval that
    would pass the budget is refused with 409 and changes nothing.
    """
    ensure(can_review_applications(actor), OPERATORS_REVIEW)
    application = get_application(session, actor=actor, application_id=application_id)
    day = today_or(today)
    if data.decision == "reject":
        return _reject(session, application, actor=actor, reason=data.reason, day=day)
    _take(
        session,
        application,
        want=ApplicationStatus.submitted,
        status=ApplicationStatus.approved,
        decided_by_id=actor.user_id,
        decided_on=day,
    )
    programme = session.execute(
        select(VoucherProgramme)
        .where(VoucherProgramme.id == application.programme_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if application.organisation_id is None or application.seller_organisation_id is None:
        raise PARTY_LEFT()
    working = subsidy_for(
        session,
        programme=programme,
        organisation_id=application.organisation_id,
        seller_organisation_id=application.seller_organisation_id,
        amount_fen=application.contract_amount_fen,
        signed_on=application.signed_on,
        starts_on=application.service_starts_on,
        ends_on=application.service_ends_on,
        excluding=application.id,
    )
    amount = _approved_amount(programme, working, data)
    if not _move_committed(session, programme.id, amount):
        raise OVER_BUDGET(details={"cap": CAP_NAMES["budget"]})
    application.approved_fen = amount
    application.decision_working = working.as_json()
    application.decision_reason = data.reason
    book(
        session,
        application=application,
        kind=LedgerKind.commit,
        amount_fen=amount,
        booked_on=day,
        actor=actor,
        note=data.reason,
    )
    session.flush()
    _tell(session, application, "voucher_approved")
    session.info.setdefault(_COUNTS, []).append((programme.kind.value, amount))
    return application


def _tell(session: Session, application: VoucherApplication, kind: str) -> None:
    """The applicant organisation hears of its voucher decision or payout."""
    if application.organisation_id is None:
        return
    notify(
        session,
        organisation_id=application.organisation_id,
        kind=kind,
        params={
            "programme": application.programme.name,
            "approved_fen": application.approved_fen,
            "paid_fen": application.paid_fen,
            "reason": application.decision_reason or "",
            "reference": application.payment_reference or "",
        },
        link=f"/supply/applications/{application.id}",
    )


def _reject(
    session: Session, application: VoucherApplication, *, actor: Actor, reason: str, day: dt.date
) -> VoucherApplication:
    """Reject a submitted application with a reason; its contract may be applied for again."""
    if not reason:
        raise REJECTION_NEEDS_REASON(details={"field": "reason"})
    _take(
        session,
        application,
        want=ApplicationStatus.submitted,
        status=ApplicationStatus.rejected,
        contract_key=None,
        decision_reason=reason,
        decided_by_id=actor.user_id,
        decided_on=day,
    )
    _tell(session, application, "voucher_rejected")
    return application


def _approved_amount(programme: VoucherProgramme, working: Working, data: ReviewIn) -> int:
    """The amount an approval grants (the computed subsidy unless reduced with a reason), or
    why it cannot: not eligible, over the budget, nothing to grant, or above the rules."""
    if not working.eligible:
        raise NOT_ELIGIBLE(
            rule=working.refused, reason=refusal_reason(working), details={"rule": working.refused}
        )
    amount = working.amount_fen if data.amount is None else to_fen(data.amount)
    bound = working.capped_by
    if bound == "budget" and (amount > working.amount_fen or amount == 0):
        raise OVER_BUDGET(
            details={
                "cap": CAP_NAMES["budget"],
                "remaining": str(to_yuan(programme.budget_fen - programme.committed_fen)),
            },
        )
    if working.amount_fen == 0 and bound is not None:
        raise NOTHING_TO_GRANT(
            reason=refusal_reason(working), details={"cap": CAP_NAMES[bound], "computed": "0.00"}
        )
    if amount <= 0:
        raise APPROVE_POSITIVE()
    if amount > working.amount_fen:
        computed = to_yuan(working.amount_fen)
        details = {"field": "amount", "computed": str(computed), "cap": None}
        if bound is None:
            raise ABOVE_SUBSIDY(computed=computed, details=details)
        details["cap"] = CAP_NAMES[bound]
        raise ABOVE_CAPPED_SUBSIDY(computed=computed, cap=cap_words(bound), details=details)
    if amount < working.amount_fen and not data.reason:
        raise REDUCTION_NEEDS_REASON(details={"field": "reason"})
    return amount


def claim(
    session: Session,
    *,
    actor: Actor,
    application_id: int,
    data: ClaimIn,
    today: dt.date | None = None,
) -> VoucherApplication:
    """After delivery, the applicant claims the approved subsidy (兑付申请)."""
    application = get_application(session, actor=actor, application_id=application_id)
    ensure(can_apply_for(actor, application.organisation_id), CLAIM_FOR_OWN)
    if data.delivered_on < application.service_starts_on or data.delivered_on > today_or(today):
        raise DELIVERY_DATE(details={"field": "delivered_on"})
    _take(
        session,
        application,
        want=ApplicationStatus.approved,
        status=ApplicationStatus.claimed,
        delivered_on=data.delivered_on,
        claim_note=data.note,
    )
    return application


def payout(
    session: Session, *, actor: Actor, application_id: int, data: PayoutIn
) -> VoucherApplication:
    """Record money paid for a claimed application; paying less releases the rest."""
    ensure(can_review_applications(actor), OPERATORS_RECORD_PAYOUTS)
    application = get_application(session, actor=actor, application_id=application_id)
    approved = application.approved_fen or 0
    amount = approved if data.amount is None else to_fen(data.amount)
    if amount > approved:
        raise PAYOUT_ABOVE_APPROVED(details={"field": "amount"})
    _take(
        session,
        application,
        want=ApplicationStatus.claimed,
        status=ApplicationStatus.paid,
        paid_fen=amount,
        paid_on=data.paid_on,
        payment_reference=data.reference,
    )
    if amount:
        book(
            session,
            application=application,
            kind=LedgerKind.payout,
            amount_fen=amount,
            booked_on=data.paid_on,
            actor=actor,
            note=data.reference,
        )
    if amount < approved:
        if not _move_committed(session, application.programme_id, amount - approved):
            raise LEDGER_MISMATCH()  # the check constraint's twin
        book(
            session,
            application=application,
            kind=LedgerKind.release,
            amount_fen=approved - amount,
            booked_on=data.paid_on,
            actor=actor,
            note="兑付少于批准金额，余额退回预算 / paid less than approved",
        )
    session.flush()
    _tell(session, application, "voucher_paid")
    return application


_COUNTS = "mosu_voucher_commitments"
"""Commitments a session booked, counted in the metrics once it commits."""


@event.listens_for(Session, "after_commit")
def _counted(session: Session) -> None:
    if _COUNTS in session.info:
        found = metrics()
        for kind, amount_fen in session.info.pop(_COUNTS):
            found.voucher_commitments.labels(kind).inc()
            found.voucher_committed_fen.labels(kind).inc(amount_fen)


@event.listens_for(Session, "after_rollback")
def _dropped(session: Session) -> None:
    session.info.pop(_COUNTS, None)
