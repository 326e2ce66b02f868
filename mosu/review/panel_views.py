"""A panel as each reader may see it, and a member's blind view of the applications.

* Everyone: the draw (seed, field, size, the candidate order as user ids, the exclusions
  as user id → the kind of conflict), the state, the deadline and how many members have
  confirmed, so anyone can repeat the draw with :func:`mosu.review.panels.draw_order`.
  User ids are not tied to names on any public page.
* Operators: the members (names, states, recusal reasons) and how many applications each
  has scored, never the scores before the panel closes.
* A member: their own seat; once confirmed, the applications (under codes 申报材料 A, B, …
  and, with 双盲, with applicant names, consortium members and models masked) and their
  own scores only.
* After the close the members' names are public; the scores are published by the panel
  results (:mod:`mosu.review.results`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.accounts.models import User
from mosu.core import clock
from mosu.i18n import N_
from mosu.permissions import Actor, can_manage_panels, can_see_panel_members
from mosu.registry.models import Model
from mosu.review.models import (
    Blinding,
    MemberState,
    Panel,
    PanelState,
    ReviewScore,
    Rubric,
)
from mosu.review.panels import (
    confirmed_seat,
    draw_order,
    past_deadline,
    reviewed_applications,
    seat_of,
)

MASK = N_("（双盲评审，已隐去）")
PDF_NOTICE = N_("方案 PDF 按原样提供，其匿名化由申请方自行负责")
"""Both catalogued: the API gives the Chinese, the pages show them with ``local()``."""


class MemberOut(BaseModel):
    expert_id: int
    username: str
    position: int
    state: MemberState
    answered_at: dt.datetime | None
    recusal_reason: str = ""
    scored: int | None = None
    """How many applications the member has scored (operators and the member, not how)."""


class PanelOut(BaseModel):
    id: int
    challenge_id: int
    size: int
    field: str
    seed: str
    """As a string: a 63-bit seed is beyond what JavaScript numbers hold exactly."""
    candidates: list[int]
    excluded: dict[str, str]
    verified: bool
    """Whether ``draw_order(sorted(candidates), seed)`` gives ``candidates`` again."""
    state: PanelState
    deadline: dt.datetime | None
    past_deadline: bool
    drawn_at: dt.datetime
    closed_at: dt.datetime | None
    confirmed: int
    invited: int
    recused: int
    applications: int
    members: list[MemberOut] | None
    """Operators always; everyone once the panel is closed; else ``None``."""
    my_seat: MemberOut | None


def public_reason(reason: str) -> str:
    """The kind of conflict, without naming the organisation (which would tell who applied)."""
    if "发榜单位" in reason:
        return N_("与发榜单位存在利益冲突")
    return N_("与申请单位存在利益冲突")


def _scored_counts(session: Session, panel: Panel) -> dict[int, int]:
    rows = session.execute(
        select(ReviewScore.expert_id, func.count(ReviewScore.id))
        .where(ReviewScore.panel_id == panel.id)
        .group_by(ReviewScore.expert_id)
    )
    return {expert_id: count for expert_id, count in rows}


def _member_out(
    member_id: int, panel: Panel, names: dict[int, str], counts: dict[int, int], full: bool
) -> MemberOut:
    member = next(m for m in panel.members if m.id == member_id)
    return MemberOut(
        expert_id=member.expert_id,
        username=names.get(member.expert_id, ""),
        position=member.position,
        state=member.state,
        answered_at=clock.local(member.answered_at) if member.answered_at else None,
        recusal_reason=member.recusal_reason if full else "",
        scored=counts.get(member.expert_id, 0) if full else None,
    )


def panel_out(session: Session, *, actor: Actor, panel: Panel) -> PanelOut:
    """The panel as ``actor`` may see it (see the module's docstring)."""
    closed = panel.state is PanelState.closed
    expert_ids = [m.expert_id for m in panel.members]
    names = {
        user_id: username
        for user_id, username in session.execute(
            select(User.id, User.username).where(User.id.in_(expert_ids))
        )
    }
    counts = _scored_counts(session, panel)
    members = None
    manage = can_manage_panels(actor)
    if can_see_panel_members(actor, closed=closed):
        members = [_member_out(m.id, panel, names, counts, manage) for m in panel.members]
    mine = seat_of(panel, actor.user_id)
    states = [m.state for m in panel.members]
    return PanelOut(
        id=panel.id,
        challenge_id=panel.challenge_id,
        size=panel.size,
        field=panel.field,
        seed=str(panel.seed),
        candidates=list(panel.candidates),
        excluded={k: (v if manage else public_reason(v)) for k, v in panel.excluded.items()},
        verified=draw_order(sorted(panel.candidates), panel.seed) == list(panel.candidates),
        state=panel.state,
        deadline=clock.local(panel.deadline) if panel.deadline else None,
        past_deadline=past_deadline(panel),
        drawn_at=clock.local(panel.drawn_at),
        closed_at=clock.local(panel.closed_at) if panel.closed_at else None,
        confirmed=states.count(MemberState.confirmed),
        invited=states.count(MemberState.invited),
        recused=states.count(MemberState.recused),
        applications=len(reviewed_applications(session, panel.challenge_id)),
        members=members,
        my_seat=_member_out(mine.id, panel, names, counts, True) if mine else None,
    )


# ---------------------------------------------------------------- a member's view


class CriterionView(BaseModel):
    key: str
    name: str
    weight: int
    description: str


class MyScore(BaseModel):
    scores: dict[str, float]
    comment: str
    total: float
    updated_at: dt.datetime


class ReviewItem(BaseModel):
    """One application as a confirmed member sees it."""

    id: int
    code: str
    letter: str
    """The code's letter, which the pages show in the reader's language."""
    applicant: str
    members: list[str]
    models: list[str]
    proposal: str
    has_pdf: bool
    pdf_url: str | None
    my_score: MyScore | None


class MemberView(BaseModel):
    panel_id: int
    challenge_id: int
    challenge_title: str
    blinding: Blinding
    score_min: int
    score_max: int
    criteria: list[CriterionView]
    deadline: dt.datetime | None
    past_deadline: bool
    open: bool
    pdf_notice: str
    items: list[ReviewItem]


def letter_code(index: int) -> str:
    """A, B, …, Z, AA, AB, …"""
    code = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        code = chr(ord("A") + rest) + code
    return code


BLIND_CODE = N_("申报材料 {code}")
"""An application's code as a reader sees it (申报材料 A, Proposal A); the API gives it in
Chinese, with its letter apart for the pages."""


def blind_code(letter: str) -> str:
    """The code of letter ``letter`` as the API gives it."""
    return i18n.gettext("zh", BLIND_CODE, code=letter)


def blind_codes(panel: Panel, application_ids: Sequence[int]) -> dict[int, str]:
    """Each application's letter (A, B, …: its code 申报材料 A, …) in an order seeded by the
    panel's seed, so the codes are stable and do not follow the order of submission."""
    order = sorted(application_ids)
    random.Random(panel.seed).shuffle(order)
    return {aid: letter_code(i) for i, aid in enumerate(order)}


def member_view(session: Session, *, actor: Actor, panel: Panel) -> MemberView:
    """The applications for a confirmed member (403/409 for anyone else), with their own
    scores only."""
    member = confirmed_seat(session, actor=actor, panel=panel)
    rubric = session.get(Rubric, panel.challenge_id)
    double = rubric is not None and rubric.blinding is Blinding.double
    applications = reviewed_applications(session, panel.challenge_id)
    codes = blind_codes(panel, [a.id for a in applications])
    mine = {
        s.application_id: s
        for s in session.scalars(
            select(ReviewScore).where(
                ReviewScore.panel_id == panel.id, ReviewScore.expert_id == member.expert_id
            )
        )
    }
    model_ids = [m.model_id for a in applications for m in a.models]
    model_names = {
        model_id: name
        for model_id, name in session.execute(
            select(Model.id, Model.name).where(Model.id.in_(model_ids))
        )
    }
    items = []
    for a in sorted(applications, key=lambda a: codes[a.id]):
        own = mine.get(a.id)
        items.append(
            ReviewItem(
                id=a.id,
                code=blind_code(codes[a.id]),
                letter=codes[a.id],
                applicant=MASK if double else a.organisation.name_zh,
                members=[MASK]
                if double and a.members
                else [m.organisation.name_zh for m in a.members],
                models=[MASK]
                if double and a.models
                else [model_names.get(m.model_id, f"#{m.model_id}") for m in a.models],
                proposal=a.proposal,
                has_pdf=bool(a.proposal_file),
                pdf_url=(
                    f"/api/v1/panels/{panel.id}/applications/{a.id}/proposal.pdf"
                    if a.proposal_file
                    else None
                ),
                my_score=MyScore(
                    scores=dict(own.scores),
                    comment=own.comment,
                    total=own.total,
                    updated_at=clock.local(own.updated_at),
                )
                if own
                else None,
            )
        )
    return MemberView(
        panel_id=panel.id,
        challenge_id=panel.challenge_id,
        challenge_title=panel.challenge.title,
        blinding=rubric.blinding if rubric else Blinding.single,
        score_min=rubric.score_min if rubric else 0,
        score_max=rubric.score_max if rubric else 10,
        criteria=[
            CriterionView(
                key=str(c["key"]),
                name=str(c["name"]),
                weight=int(c["weight"]),
                description=str(c.get("description", "")),
            )
            for c in (rubric.criteria if rubric else [])
        ],
        deadline=clock.local(panel.deadline) if panel.deadline else None,
        past_deadline=past_deadline(panel),
        open=panel.state is PanelState.open,
        pdf_notice=PDF_NOTICE,
        items=items,
    )
