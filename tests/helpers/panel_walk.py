"""The permission walker's blind panel (专家评审): a 双盲 panel of the walker's expert and
two other experts, all confirmed and all having scored, still open; and fresh panels for
the walker's writes. No score comment may show to anyone but its author before the close,
and the other members' names only to operators."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.orm import Session

from mosu.permissions import Actor, Role
from mosu.review import panels, scoring
from mosu.review.models import Blinding, ExpertConflict, ExpertProfile
from tests.conftest import World
from tests.helpers.review_panels import full_scores, make_expert, ready_challenge
from tests.helpers.scenarios import PDF, actor

FIELD = "步行评审"
SECRET_OWN_COMMENT = "步行专家本人的保密评审意见"
"""The walker's expert's own comment: only that expert reads it before the close."""
SECRET_OTHER_COMMENT = "其他专家的保密评审意见"
"""Another member's comment: no walked identity reads it before the close."""
PANELISTS = ("walkpanelist1", "walkpanelist2")
"""The other members' usernames: operators only, before the close."""
PANEL_PDF = PDF + b"PANEL-PDF-BODY"


@dataclass
class PanelWalk:
    challenge: int = 0
    panel: int = 0
    application: int = 0
    fresh_application: int = 0
    others: list[int] = field(default_factory=list)


def _expert(world: World) -> Actor:
    return Actor(user_id=world.user_ids["expert"], role=Role.expert, username="expert")


def build_panel_walk(db: Session, world: World, *, model_id: int, data_dir: Path) -> PanelWalk:
    """The walked blind panel (see the module's docstring)."""
    db.add(ExpertProfile(user_id=world.user_ids["expert"], fields=[FIELD]))
    db.commit()
    found = PanelWalk()
    found.others = [make_expert(db, fields=(FIELD,), name=n).user_id for n in PANELISTS]
    ready = ready_challenge(
        db,
        world,
        model_id=model_id,
        data_dir=data_dir,
        blinding=Blinding.double,
        proposals=("步行评审的申报方案",),
        pdf=PANEL_PDF,
    )
    found.challenge = ready.challenge.id
    found.application = ready.applications[0].id
    panel = panels.draw_panel(
        db, actor=actor(world, "operator"), challenge_id=found.challenge, size=3, field=FIELD
    )
    found.panel = panel.id
    members = [_expert(world)] + [Actor(user_id=u, role=Role.expert) for u in found.others]
    for member in members:
        panels.confirm(db, actor=member, panel_id=panel.id)
        mine = member.user_id == world.user_ids["expert"]
        scoring.submit_score(
            db,
            actor=member,
            panel_id=panel.id,
            application_id=found.application,
            scores=full_scores(7.5),
            comment=SECRET_OWN_COMMENT if mine else f"{SECRET_OTHER_COMMENT}{member.user_id}",
        )
    db.commit()
    return found


def secrets_of(found: PanelWalk) -> dict[str, set[str]]:
    """What each walked identity must not read."""
    others = {f"{SECRET_OTHER_COMMENT}{u}" for u in found.others}
    private = {who: set(others) for who in ("public", "supplier_b", "demand", "supplier_a")}
    private["operator"] = others | {SECRET_OWN_COMMENT}
    private["expert"] = others | set(PANELISTS)
    for who in ("public", "supplier_b", "demand", "supplier_a"):
        private[who] |= {SECRET_OWN_COMMENT, *PANELISTS}
    return private


def fresh_ready_challenge(db: Session, world: World, *, model_id: int, data_dir: Path) -> int:
    """A challenge in 入围评审 with a rubric and an approved application, and no panel."""
    return ready_challenge(db, world, model_id=model_id, data_dir=data_dir).challenge.id


def fresh_panel(
    db: Session, world: World, found: PanelWalk, *, model_id: int, data_dir: Path, confirmed: bool
) -> int:
    """A new open panel of the three walked experts (the walker's expert confirmed when
    ``confirmed``); its application is kept in ``found.fresh_application``. The walk's
    writes to the pool (profile forms, declared conflicts) may have moved the walker's
    expert out of the walked field: the profile is put back first."""
    expert_id = world.user_ids["expert"]
    profile = db.get(ExpertProfile, expert_id)
    assert profile is not None
    profile.fields, profile.in_pool, profile.affiliation_id = [FIELD], True, None
    db.execute(delete(ExpertConflict).where(ExpertConflict.expert_id == expert_id))
    ready = ready_challenge(db, world, model_id=model_id, data_dir=data_dir)
    panel = panels.draw_panel(
        db, actor=actor(world, "operator"), challenge_id=ready.challenge.id, size=3, field=FIELD
    )
    if confirmed:
        panels.confirm(db, actor=_expert(world), panel_id=panel.id)
    db.commit()
    found.fresh_application = ready.applications[0].id
    return panel.id
