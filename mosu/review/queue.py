"""An expert's work queue (评审任务): what waits for them, in sections.

Each section is produced by a function registered in :data:`SECTIONS` (a hook: other
review work, such as grading sampled race answers, adds its own section with
:func:`register_section`). The panel's two sections: panels awaiting the expert's
confirmation of no conflict, and applications left to score with their deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.core import clock
from mosu.core.text import Text
from mosu.i18n import N_
from mosu.permissions import Actor
from mosu.review.models import MemberState, Panel, PanelMember, PanelState
from mosu.review.panels import past_deadline
from mosu.review.scoring import unscored


class QueueItem(BaseModel):
    title: str
    link: str
    detail: Text | str = ""
    """A catalogued text, shown in the reader's language."""
    deadline: dt.datetime | None = None
    overdue: bool = False


class QueueSection(BaseModel):
    key: str
    title: str
    items: list[QueueItem]


SectionMaker = Callable[[Session, Actor], QueueSection]
SECTIONS: list[SectionMaker] = []
"""The queue's sections, in order; each is called with the session and the expert."""


def register_section(maker: SectionMaker) -> SectionMaker:
    """Add a section to every expert's queue (usable as a decorator)."""
    if maker not in SECTIONS:
        SECTIONS.append(maker)
    return maker


def _open_seats(session: Session, actor: Actor, state: MemberState) -> list[PanelMember]:
    return list(
        session.scalars(
            select(PanelMember)
            .join(Panel, Panel.id == PanelMember.panel_id)
            .where(
                PanelMember.expert_id == actor.user_id,
                PanelMember.state == state,
                Panel.state == PanelState.open,
            )
            .order_by(Panel.id)
        )
    )


def _deadline(panel: Panel) -> dt.datetime | None:
    return clock.local(panel.deadline) if panel.deadline else None


@register_section
def awaiting_confirmation(session: Session, actor: Actor) -> QueueSection:
    items = [
        QueueItem(
            title=seat.panel.challenge.title,
            link=f"/review/panels/{seat.panel_id}",
            detail=Text(N_("请确认无利益冲突或申请回避")),
            deadline=_deadline(seat.panel),
            overdue=past_deadline(seat.panel),
        )
        for seat in _open_seats(session, actor, MemberState.invited)
    ]
    return QueueSection(key="confirm", title=N_("待确认的评审"), items=items)


@register_section
def to_score(session: Session, actor: Actor) -> QueueSection:
    items = []
    for seat in _open_seats(session, actor, MemberState.confirmed):
        left = unscored(session, seat.panel).get(seat.expert_id, [])
        if left:
            items.append(
                QueueItem(
                    title=seat.panel.challenge.title,
                    link=f"/review/panels/{seat.panel_id}",
                    detail=Text(N_("待评分 {n} 份"), {"n": len(left)}),
                    deadline=_deadline(seat.panel),
                    overdue=past_deadline(seat.panel),
                )
            )
    return QueueSection(key="score", title=N_("待评分的申报材料"), items=items)


def review_queue(session: Session, *, actor: Actor) -> list[QueueSection]:
    """The expert's queue: every registered section, in order."""
    return [maker(session, actor) for maker in SECTIONS]


__all__ = [
    "SECTIONS",
    "QueueItem",
    "QueueSection",
    "SectionMaker",
    "register_section",
    "review_queue",
]
