"""Voucher applications and the ledger (补贴申请与台账): apply, review, claim, payout.

Money never passes a programme's budget: an approval first takes the application
(``submitted`` → ``approved``, one guarded statement), then locks the programme
(``FOR UPDATE`` on PostgreSQL; on SQLite the first write already holds the database's
write lock), recomputes the subsidy from fresh figures, and raises the programme's
committed total with a statement that only succeeds while it stays within the budget.
The database's check constraint refuses any total above the budget as a last guard.
"""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound
from mosu.core.money import to_fen, to_yuan
from mosu.permissions import (
    Actor,
    can_apply_for,
    can_review_applications,
    can_see_application,
    ensure,
)
from mosu.supply.models import (
    ApplicationStatus,
    LedgerEntry,
    LedgerKind,
    VoucherApplication,
    VoucherProgramme,
)
from mosu.supply.offers import known_organisation, offer_seller, today_or
from mosu.supply.programmes import get_programme, list_programmes, related, supply_firm
from mosu.supply.rules import (
    CAP_NAMES,
    Contract,
    Rules,
    Standing,
    Working,
    cap_words,
    compute_subsidy,
    refusal_reason,
)
from mosu.supply.schemas import (
    ApplicationIn,
    ApplicationOut,
    ClaimIn,
    LedgerOut,
    PayoutIn,
    ReviewIn,
    StepOut,
    WorkingOut,
)

PDF_MAGIC = b"%PDF-"
STANDING = (ApplicationStatus.approved, ApplicationStatus.claimed, ApplicationStatus.paid)


# ---------------------------------------------------------------- the subsidy


def standing(
    session: Session,
    *,
    programme: VoucherProgramme,
    organisation_id: int,
    year: int,
    excluding: int | None = None,
) -> Standing:
    """What an organisation has used of a programme in ``year`` (approved, or paid when
    paid), when its boost started, and what is left of the budget, read fresh."""
    mine = [
        VoucherApplication.programme_id == programme.id,
        VoucherApplication.organisation_id == organisation_id,
    ]
    if excluding is not None:
        mine.append(VoucherApplication.id != excluding)
    used_expr = func.coalesce(VoucherApplication.paid_fen, VoucherApplication.approved_fen)
    rows = session.execute(
        select(VoucherApplication.signed_on, used_expr).where(
            *mine, VoucherApplication.status.in_(STANDING)
        )
    ).all()
    used = sum(int(fen or 0) for signed, fen in rows if signed.year == year)
    boost_start = session.scalar(
        select(func.min(VoucherApplication.service_starts_on)).where(
            *mine,
            VoucherApplication.boosted.is_(True),
            VoucherApplication.status != ApplicationStatus.rejected,
        )
    )
    return Standing(
        org_year_used_fen=used,
        budget_remaining_fen=programme.budget_fen - programme.committed_fen,
        boost_started_on=boost_start,
    )


def subsidy_for(
    session: Session,
    *,
    programme: VoucherProgramme,
    organisation_id: int,
    seller_organisation_id: int,
    amount_fen: int,
    signed_on: dt.date,
    starts_on: dt.date,
    ends_on: dt.date,
    excluding: int | None = None,
) -> Working:
    """The subsidy a contract would get now, from the programme's rules and fresh figures."""
    return compute_subsidy(
        Rules.model_validate(programme.rules),
        period=(programme.starts_on, programme.ends_on),
        contract=Contract(
            amount_fen=amount_fen,
            signed_on=signed_on,
            starts_on=starts_on,
            ends_on=ends_on,
            related=related(session, organisation_id, seller_organisation_id),
        ),
        firm=supply_firm(session, organisation_id),
        standing=standing(
            session,
            programme=programme,
            organisation_id=organisation_id,
            year=signed_on.year,
            excluding=excluding,
        ),
    )


def working_out(working: dict[str, Any]) -> WorkingOut:
    return WorkingOut(
        amount=to_yuan(working["amount_fen"]),
        capped_by=working.get("capped_by"),
        refused=working.get("refused"),
        boosted=bool(working.get("boosted")),
        steps=[
            StepOut(rule=s["rule"], amount=to_yuan(s["amount_fen"]), figures=s["figures"])
            for s in working["steps"]
        ],
    )


# ---------------------------------------------------------------- applications


#: Separators a contract number is written with, beside white space and dashes (Pd).
SEPARATORS = frozenset("/")


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
    buyer_id = data.organisation_id if actor.is_operator else actor.organisation_id
    if buyer_id is None:
        if not actor.is_operator:
            raise Forbidden("只有组织成员可以申请 / only members of an organisation may apply")
        raise Invalid("请指定申请组织 / name the applicant", details={"field": "organisation_id"})
    ensure(can_apply_for(actor, buyer_id), "只能为本组织申请 / only for your own organisation")
    if not programme.open:
        raise Invalid("该项目已停止受理 / the programme is closed to applications")
    buyer = known_organisation(session, buyer_id, "organisation_id")
    seller = known_organisation(session, data.seller_organisation_id, "seller_organisation_id")
    if (
        data.offer_id is not None
        and offer_seller(session, programme.kind, data.offer_id) != seller.id
    ):
        raise Invalid(
            "所选供给不属于该卖方或与券种不符 / the offer is not the seller's, or of another kind",
            details={"field": "offer_id"},
        )
    key = contract_key(seller.id, data.contract_number)
    if key.endswith(":"):
        raise Invalid(
            "合同编号不能只有分隔符 / the contract number holds nothing but separators",
            details={"field": "contract_number"},
        )
    existing = session.scalar(
        select(VoucherApplication.id).where(
            VoucherApplication.programme_id == programme.id,
            VoucherApplication.contract_key == key,
        )
    )
    if existing is not None:
        raise _twice(existing)
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
    if working.refused == "service_period":
        raise Invalid(refusal_reason(working), details={"field": "service_starts_on"})
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


def _twice(existing: int | None) -> Conflict:
    return Conflict(
        f"该合同已在本项目申请过（申请 #{existing}）/ this contract already has an application "
        f"in this programme (#{existing})",
        code="duplicate_contract",
        details={"field": "contract_number", "application_id": existing},
    )


def get_application(session: Session, *, actor: Actor, application_id: int) -> VoucherApplication:
    """An application ``actor`` may see; another organisation's is "not found"."""
    application = session.get(VoucherApplication, application_id)
    if application is None or not can_see_application(actor, application.organisation_id):
        raise NotFound("申请不存在 / no such application")
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
    if not actor.is_operator:
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


def attach(
    session: Session,
    *,
    actor: Actor,
    application_id: int,
    filename: str,
    content: bytes,
    data_dir: Path,
    max_bytes: int,
) -> VoucherApplication:
    """Keep the contract (a PDF, at most ``max_bytes``) with a submitted application."""
    application = get_application(session, actor=actor, application_id=application_id)
    ensure(
        can_apply_for(actor, application.organisation_id),
        "只能为本组织的申请上传附件 / only your own organisation's applications",
    )
    if application.status is not ApplicationStatus.submitted:
        raise Conflict("审核后不能再更换附件 / the attachment is fixed once reviewed")
    if len(content) > max_bytes:
        raise Invalid(f"附件超过 {max_bytes // (1024 * 1024)} MiB 上限 / attachment too large")
    if not content.startswith(PDF_MAGIC):
        raise Invalid("附件须为 PDF 文件 / the attachment must be a PDF", details={"field": "file"})
    folder = data_dir / "supply"
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"application-{application.id}-{secrets.token_hex(8)}.pdf"
    (folder / stored).write_bytes(content)
    old = application.attachment_path
    application.attachment_name = Path(filename).name[:200] or "contract.pdf"
    application.attachment_path = stored
    application.attachment_size = len(content)
    session.flush()
    if old:
        (folder / old).unlink(missing_ok=True)
    return application


def attachment(
    session: Session, *, actor: Actor, application_id: int, data_dir: Path
) -> tuple[str, bytes]:
    application = get_application(session, actor=actor, application_id=application_id)
    path = data_dir / "supply" / application.attachment_path
    if not application.attachment_path or not path.is_file():
        raise NotFound("该申请没有附件 / no attachment")
    return application.attachment_name, path.read_bytes()


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
        raise Conflict(
            f"申请当前状态不允许此操作（须为 {want.value}）/ the application is not {want.value}"
        )
    session.refresh(application)


def _book(
    session: Session,
    *,
    application: VoucherApplication,
    kind: LedgerKind,
    amount_fen: int,
    booked_on: dt.date,
    actor: Actor,
    note: str = "",
) -> None:
    session.add(
        LedgerEntry(
            programme_id=application.programme_id,
            application_id=application.id,
            kind=kind,
            amount_fen=amount_fen,
            booked_on=booked_on,
            note=note,
            actor_id=actor.user_id,
            actor_name=actor.username,
        )
    )


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
    ensure(can_review_applications(actor), "只有运营方可以审核 / operators review")
    application = get_application(session, actor=actor, application_id=application_id)
    day = today_or(today)
    if data.decision == "reject":
        if not data.reason:
            raise Invalid(
                "驳回须写明理由 / a rejection needs a reason", details={"field": "reason"}
            )
        _take(
            session,
            application,
            want=ApplicationStatus.submitted,
            status=ApplicationStatus.rejected,
            contract_key=None,
            decision_reason=data.reason,
            decided_by_id=actor.user_id,
            decided_on=day,
        )
        return application
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
        raise Conflict("申请方或卖方已不在名录中 / a party has left the registry")
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
    if not working.eligible:
        raise Invalid(
            f"按规则不符合条件 / not eligible ({working.refused}): {refusal_reason(working)}",
            details={"rule": working.refused},
        )
    amount = working.amount_fen if data.amount is None else to_fen(data.amount)
    bound = working.capped_by
    if bound == "budget" and (amount > working.amount_fen or amount == 0):
        raise Conflict(
            _over_budget(),
            code="over_budget",
            details={
                "cap": CAP_NAMES["budget"],
                "remaining": str(to_yuan(programme.budget_fen - programme.committed_fen)),
            },
        )
    if working.amount_fen == 0 and bound is not None:
        raise Invalid(
            f"{refusal_reason(working)}: 不予补贴请驳回 / reject the application instead",
            details={"cap": CAP_NAMES[bound], "computed": "0.00"},
        )
    if amount <= 0:
        raise Invalid("批准金额须大于 0；不予补贴请驳回 / approve a positive amount, or reject")
    if amount > working.amount_fen:
        zh, en = cap_words(bound) if bound else ("", "")
        computed = to_yuan(working.amount_fen)
        raise Invalid(
            f"批准金额超过按规则计算的补贴 {computed} 元{f'（受{zh}限制）' if bound else ''} / "
            f"above the computed subsidy of {computed} yuan{f' (bound by {en})' if bound else ''}",
            details={
                "field": "amount",
                "computed": str(to_yuan(working.amount_fen)),
                "cap": CAP_NAMES[bound] if bound else None,
            },
        )
    if amount < working.amount_fen and not data.reason:
        raise Invalid("核减须写明理由 / a reduction needs a reason", details={"field": "reason"})
    if not _move_committed(session, programme.id, amount):
        raise Conflict(_over_budget(), code="over_budget", details={"cap": CAP_NAMES["budget"]})
    application.approved_fen = amount
    application.decision_working = working.as_json()
    application.decision_reason = data.reason
    _book(
        session,
        application=application,
        kind=LedgerKind.commit,
        amount_fen=amount,
        booked_on=day,
        actor=actor,
        note=data.reason,
    )
    session.flush()
    return application


def _over_budget() -> str:
    zh, en = cap_words("budget")
    return f"超出{zh} / that would pass {en}"


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
    ensure(
        can_apply_for(actor, application.organisation_id),
        "只能为本组织申请兑付 / only your own organisation's applications",
    )
    if data.delivered_on < application.service_starts_on or data.delivered_on > today_or(today):
        raise Invalid(
            "交付日期须在服务开始之后、今天之前 / delivery must fall between the service start "
            "and today",
            details={"field": "delivered_on"},
        )
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
    ensure(can_review_applications(actor), "只有运营方可以登记兑付 / operators record payouts")
    application = get_application(session, actor=actor, application_id=application_id)
    approved = application.approved_fen or 0
    amount = approved if data.amount is None else to_fen(data.amount)
    if amount > approved:
        raise Invalid("兑付金额超过批准金额 / more than approved", details={"field": "amount"})
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
        _book(
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
            raise Conflict("台账不一致 / the ledger does not add up")  # the check constraint's twin
        _book(
            session,
            application=application,
            kind=LedgerKind.release,
            amount_fen=approved - amount,
            booked_on=data.paid_on,
            actor=actor,
            note="兑付少于批准金额，余额退回预算 / paid less than approved",
        )
    session.flush()
    return application


# ---------------------------------------------------------------- the ledger


def ledger_out(entry: LedgerEntry) -> LedgerOut:
    return LedgerOut(
        id=entry.id,
        programme_id=entry.programme_id,
        application_id=entry.application_id,
        kind=entry.kind,
        amount=to_yuan(entry.amount_fen),
        booked_on=entry.booked_on,
        note=entry.note,
        actor_name=entry.actor_name,
        created_at=entry.created_at,
    )


def list_ledger(
    session: Session, *, actor: Actor, programme_id: int | None = None
) -> list[LedgerEntry]:
    ensure(can_review_applications(actor), "台账只对运营方开放 / the ledger is the operator's")
    stmt = select(LedgerEntry).order_by(LedgerEntry.id)
    if programme_id is not None:
        stmt = stmt.where(LedgerEntry.programme_id == programme_id)
    return list(session.scalars(stmt))


def ledger_problems(session: Session) -> list[str]:
    """Where the ledger and the programmes' totals disagree (empty when they add up)."""
    problems: list[str] = []
    sums: dict[tuple[int, LedgerKind], int] = {
        (pid, kind): int(total or 0)
        for pid, kind, total in session.execute(
            select(
                LedgerEntry.programme_id, LedgerEntry.kind, func.sum(LedgerEntry.amount_fen)
            ).group_by(LedgerEntry.programme_id, LedgerEntry.kind)
        )
    }
    for programme in list_programmes(session):
        committed = sums.get((programme.id, LedgerKind.commit), 0) - sums.get(
            (programme.id, LedgerKind.release), 0
        )
        if committed != programme.committed_fen:
            problems.append(
                f"{programme.name}: ledger {to_yuan(committed)} ≠ committed "
                f"{to_yuan(programme.committed_fen)}"
            )
        if programme.committed_fen > programme.budget_fen:
            problems.append(f"{programme.name}: committed above the budget")
    return problems + contracts_standing_twice(session)


def contracts_standing_twice(session: Session) -> list[str]:
    """Applications not rejected that are one contract by today's normalisation (rows kept
    apart by an older, looser key): the operator decides which stands."""
    groups: dict[tuple[int, str], list[VoucherApplication]] = {}
    for application in session.scalars(
        select(VoucherApplication)
        .where(VoucherApplication.contract_key.is_not(None))
        .order_by(VoucherApplication.id)
    ):
        key = contract_key(application.seller_organisation_id or 0, application.contract_number)
        groups.setdefault((application.programme_id, key), []).append(application)
    return [
        f"{found[0].programme.name}: applications "
        f"{', '.join(f'#{a.id}' for a in found)} are one contract ({found[0].contract_number})"
        for found in groups.values()
        if len(found) > 1
    ]
