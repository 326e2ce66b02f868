"""The subsidy an application would get now: the programme's rules applied to fresh figures
(what the organisation and the programme have used), and its working as shown."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.core.money import to_yuan
from mosu.supply.models import (
    ApplicationStatus,
    VoucherApplication,
    VoucherProgramme,
)
from mosu.supply.programmes import related, supply_firm
from mosu.supply.rules import (
    Contract,
    Rules,
    Standing,
    Working,
    compute_subsidy,
)
from mosu.supply.schemas import (
    StepOut,
    WorkingOut,
)

STANDING = (ApplicationStatus.approved, ApplicationStatus.claimed, ApplicationStatus.paid)


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
