"""The demo's expert review (专家评审): six fictional experts in the pool, each challenge's
published rubric, the finished challenge's closed double-blind panel (its scores propose the
shortlist and count in the combined decision) and the open challenge's panel, drawn and
waiting for its members.

Every step goes through the review services, so the audit log and the panel's record are
the ones a real call writes. The texts and scores are in ``data/review.json``: fictional,
written for this demo, and labelled so.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import User
from mosu.accounts.service import actor_for, create_user
from mosu.core import clock
from mosu.permissions import Actor, Role
from mosu.registry.models import Organisation
from mosu.review.decision import CombinedTable
from mosu.review.models import Panel
from mosu.review.panels import confirm, draw_panel
from mosu.review.pool import declare_conflict, save_profile
from mosu.review.results import Agreement
from mosu.review.schemas import RubricIn
from mosu.review.scoring import close_panel, submit_score

REVIEW = Path(__file__).parent / "data" / "review.json"


def load_review(path: Path = REVIEW) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _organisation(session: Session, name: str) -> int:
    org_id = session.scalar(select(Organisation.id).where(Organisation.name_zh == name))
    if org_id is None:
        raise LookupError(f"the demo community has no organisation {name}")
    return org_id


def add_experts(
    session: Session, review: dict[str, Any], operator: Actor
) -> list[tuple[str, str, str]]:
    """The expert pool: each expert's account (``expert1`` is the community's own), profile
    and declared conflicts. Returns the logins it created."""
    created = []
    for spec in review["experts"]:
        user = session.scalar(select(User).where(User.username == spec["username"]))
        if user is None:
            user = create_user(
                session,
                username=spec["username"],
                password=review["password"],
                role=Role.expert,
                display_name=spec["display_name"],
            )
            created.append((spec["username"], review["password"], Role.expert.value))
        affiliation = spec["affiliation"]
        save_profile(
            session,
            actor=operator,
            user_id=user.id,
            fields=spec["fields"],
            title=spec["title"],
            affiliation_id=_organisation(session, affiliation) if affiliation else None,
        )
        for c in spec["conflicts"]:
            declare_conflict(
                session,
                actor=operator,
                expert_id=user.id,
                organisation_id=_organisation(session, c["organisation"]),
                reason=c["reason"],
            )
    session.flush()
    return created


def rubric(review: dict[str, Any], part: str) -> RubricIn:
    """The rubric a challenge publishes: the shared criteria with the part's blinding and
    combined rule."""
    own = review[part]
    return RubricIn(**review["rubric"], blinding=own["blinding"], combined=own.get("combined"))


def _experts(session: Session, panel: Panel) -> dict[str, Actor]:
    return {m.expert.username: actor_for(m.expert) for m in panel.members}


def review_finished(
    session: Session,
    review: dict[str, Any],
    operator: Actor,
    challenge_id: int,
    applications: dict[str, int],
) -> Panel:
    """The finished challenge's panel: drawn by its recorded seed (the expert affiliated with
    a consortium member is excluded), every member confirms no conflict and scores each
    approved application per criterion, and the operator closes it. ``applications`` maps
    each applicant's username to their application id."""
    part = review["finished"]
    spec = part["panel"]
    panel = draw_panel(
        session,
        actor=operator,
        challenge_id=challenge_id,
        size=spec["size"],
        field=spec["field"],
        seed=spec["seed"],
    )
    experts = _experts(session, panel)
    keys = [c["key"] for c in review["rubric"]["criteria"]]
    for username, expert in experts.items():
        confirm(session, actor=expert, panel_id=panel.id)
        for applicant, values in part["scores"][username].items():
            submit_score(
                session,
                actor=expert,
                panel_id=panel.id,
                application_id=applications[applicant],
                scores=dict(zip(keys, values, strict=True)),
                comment=part["comments"][applicant],
            )
    return close_panel(session, actor=operator, panel_id=panel.id)


def draw_open(
    session: Session, review: dict[str, Any], operator: Actor, challenge_id: int
) -> Panel:
    """The open challenge's panel: drawn with a deadline, its members not yet confirmed."""
    spec = review["open"]["panel"]
    deadline = clock.now() + dt.timedelta(days=spec["deadline_days"])
    return draw_panel(
        session,
        actor=operator,
        challenge_id=challenge_id,
        size=spec["size"],
        field=spec["field"],
        seed=spec["seed"],
        deadline=deadline,
    )


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def combined_rich_table(table: CombinedTable, agreement: Agreement | None) -> Table:
    """The combined decision as a Rich table: each entry's panel score, race score, their
    normalised parts and the combined score by the published rule, with the panel's
    agreement (Kendall's W, ICC(2,k)) in the caption."""
    rule = table.rule
    out = Table(
        title=(
            f"综合评分 / combined score = {rule.review_weight:g} × 专家评审 panel + "
            f"{rule.race_weight:g} × 赛马 race ({table.primary})"
        )
    )
    for name in ("#", "参赛队 entry", "专家评审 panel", "赛马 race", "综合 combined"):
        out.add_column(name, justify="left" if name.startswith("参赛") else "right")
    for row in table.rows:
        out.add_row(
            "—" if row.place is None else str(row.place),
            row.entry,
            _score(row.panel_score),
            _score(None if row.race_score is None else row.race_score * 100),
            _score(row.combined),
        )
    if agreement is not None:
        out.caption = (
            f"专家一致性 / panel agreement: Kendall's W = {agreement.kendall_w:.3f} "
            f"(p = {agreement.p:.3f}), ICC(2,k) = {_score(agreement.icc)}"
        )
    return out


__all__ = [
    "add_experts",
    "combined_rich_table",
    "draw_open",
    "load_review",
    "review_finished",
    "rubric",
]
