"""The voucher ledger (台账): append-only entries of money committed, released and paid, and
the checks that it adds up with the programmes' totals."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.core.money import to_yuan
from mosu.permissions import (
    Actor,
    can_review_applications,
    ensure,
)
from mosu.supply.applications import contract_key
from mosu.supply.errors import LEDGER_FOR_OPERATORS
from mosu.supply.models import (
    LedgerEntry,
    LedgerKind,
    VoucherApplication,
)
from mosu.supply.programmes import list_programmes
from mosu.supply.schemas import (
    LedgerOut,
)


def book(
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
    ensure(can_review_applications(actor), LEDGER_FOR_OPERATORS)
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
