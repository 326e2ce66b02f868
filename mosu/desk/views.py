"""The desk (工作台) as its reader may see it: the sections of the reader's role."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mosu import i18n
from mosu.desk.operator import operator_sections
from mosu.desk.parties import demand_sections, supplier_sections
from mosu.desk.schemas import LIMIT, Desk, DeskItem, DeskSection
from mosu.permissions import (
    Actor,
    can_manage_challenge,
    can_post_scenario,
    has_review_queue,
    supplier_organisation,
)
from mosu.review.queue import review_queue


def expert_sections(session: Session, actor: Actor) -> list[DeskSection]:
    """The expert's review queue (评审任务), section by section."""
    return [
        DeskSection(
            key=f"review-{q.key}",
            title=q.title,
            count=len(q.items),
            link="/review",
            items=[
                DeskItem(
                    title=i.title, link=i.link, detail=i.detail, when=i.deadline, urgent=i.overdue
                )
                for i in q.items[:LIMIT]
            ],
        )
        for q in review_queue(session, actor=actor)
    ]


def desk(session: Session, *, actor: Actor, lang: i18n.Language = "zh") -> Desk:
    """The reader's desk: the operator's, the supplier's, the demand side's or the expert's
    sections, by role (and an expert's review queue for any role that sits on panels); the
    matching engine's reasons in ``lang``."""
    sections: list[DeskSection] = []
    if can_manage_challenge(actor):
        sections += operator_sections(session)
    else:
        org = supplier_organisation(actor)
        if org is not None:
            sections += supplier_sections(session, actor, org, lang)
        elif can_post_scenario(actor) and actor.organisation_id is not None:
            sections += demand_sections(session, actor.organisation_id)
    if has_review_queue(actor):
        sections += expert_sections(session, actor)
    return Desk(role=actor.role.value if actor.role else "", sections=sections)
