"""Builds reviewed challenges for the decision tests: approved applications, a rubric, a
panel of confirmed experts and their scores, inserted as rows (the panel's own services are
tested beside them); and a finished race over the shortlisted entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import mosu.race.handlers  # noqa: F401  registers the race's job handlers
from mosu import race as races
from mosu.accounts.models import User
from mosu.accounts.service import create_user
from mosu.challenges.models import (
    Application,
    ApplicationState,
    Challenge,
    CutRule,
    Entry,
    SubmissionMode,
)
from mosu.core import clock
from mosu.permissions import Actor, Role
from mosu.race.entries import entries_of
from mosu.race.scoring import stage_data
from mosu.registry.models import Organisation
from mosu.review.aggregate import weighted_total
from mosu.review.models import (
    Blinding,
    MemberState,
    Panel,
    PanelMember,
    PanelState,
    ReviewScore,
    Rubric,
)
from tests.conftest import World, make_org
from tests.helpers.races import (
    OPERATOR,
    answer_key,
    drain,
    hotline_version,
    predictions_file,
    shortlisting_challenge,
    stage_spec,
)

CRITERIA = [
    {"key": "tech", "name": "技术方案", "weight": 60, "description": "方案完整、可行"},
    {"key": "price", "name": "报价合理性", "weight": 40, "description": "报价与工作量相符"},
]
EXTRA_ORGS = {"丙队": 21, "丁队": 22, "戊队": 23, "己队": 24}


@dataclass
class Reviewed:
    challenge: Challenge
    rubric: Rubric
    panel: Panel
    applications: dict[str, Application] = field(default_factory=dict)
    experts: list[int] = field(default_factory=list)
    """User ids of E1, E2, …: E1 is the world's ``expert``."""


def experts(session: Session, world: World, count: int) -> list[int]:
    """The world's expert and ``count − 1`` more expert users (专家一, 专家二 …)."""
    ids = [world.user_ids["expert"]]
    for n in range(2, count + 1):
        known = session.scalar(select(User.id).where(User.username == f"expert-{n}"))
        if known is not None:
            ids.append(known)
            continue
        user = create_user(
            session,
            username=f"expert-{n}",
            password=f"pw-expert-{n}-123",
            role=Role.expert,
            display_name=f"专家{n}",
        )
        ids.append(user.id)
    return ids


def _org(session: Session, team: str) -> int:
    """The team's organisation (made the first time it is asked for)."""
    name = f"{team}科技有限公司"
    known = session.scalar(select(Organisation.id).where(Organisation.name_zh == name))
    return known if known is not None else make_org(session, EXTRA_ORGS[team], name)


def reviewed_challenge(
    session: Session,
    world: World,
    scores: dict[str, list[tuple[float, float]]],
    *,
    closed: bool = True,
    blinding: Blinding = Blinding.single,
    threshold: float = 20.0,
    combined: dict[str, Any] | None = None,
    shortlist_places: int = 2,
    winner_places: int = 1,
    comment: str = "方案扎实",
) -> Reviewed:
    """A challenge in 入围评审 with one approved application per team named in ``scores``
    (甲队 is org_a's, 乙队 org_b's, the others new organisations') and a panel whose k-th
    expert gave the k-th (技术方案, 报价合理性) pair of each team's list (0–10 each)."""
    challenge = shortlisting_challenge(
        session,
        world,
        title="热线工单智能分拨揭榜（专家评审）",
        shortlist_places=shortlist_places,
        winner_places=winner_places,
    )
    session.flush()
    rubric = Rubric(
        challenge_id=challenge.id,
        criteria=CRITERIA,
        score_min=0,
        score_max=10,
        blinding=blinding,
        dispersion_threshold=threshold,
        combined=combined,
    )
    session.add(rubric)
    count = max(len(pairs) for pairs in scores.values())
    panel_experts = experts(session, world, count)
    panel = Panel(
        challenge_id=challenge.id,
        size=count,
        seed=20260101,
        candidates=panel_experts,
        state=PanelState.closed if closed else PanelState.open,
        closed_at=clock.now() if closed else None,
    )
    panel.members = [
        PanelMember(expert_id=e, position=i, state=MemberState.confirmed)
        for i, e in enumerate(panel_experts)
    ]
    session.add(panel)
    session.flush()
    reviewed = Reviewed(challenge, rubric, panel, experts=panel_experts)
    orgs = {"甲队": world.org_a, "乙队": world.org_b}
    for team, pairs in scores.items():
        org = orgs.get(team) or _org(session, team)
        application = Application(
            challenge_id=challenge.id,
            organisation_id=org,
            proposal=f"{team}的方案",
            state=ApplicationState.approved,
        )
        session.add(application)
        session.flush()
        reviewed.applications[team] = application
        for expert, (tech, price) in zip(panel_experts, pairs, strict=False):
            marks = {"tech": tech, "price": price}
            session.add(
                ReviewScore(
                    panel_id=panel.id,
                    expert_id=expert,
                    application_id=application.id,
                    scores=marks,
                    comment=f"{team}：{comment}",
                    total=weighted_total(marks, CRITERIA, score_min=0, score_max=10),
                )
            )
    session.flush()
    return reviewed


def finished_race(
    session: Session, reviewed: Reviewed, data_dir: Path, wrong: dict[str, int]
) -> dict[str, Entry]:
    """Race the shortlisted entries in one predictions stage, each team answering the first
    ``wrong[team]`` test rows wrongly (equal counts give equal scores), and close it."""
    challenge = reviewed.challenge
    version = hotline_version(session)
    stage = races.add_stage(
        session,
        actor=OPERATOR,
        challenge_id=challenge.id,
        spec=stage_spec(
            "决赛",
            rule=CutRule.threshold,
            value=0,
            mode=SubmissionMode.predictions,
            version_id=version.id,
        ),
    )
    races.start_race(session, actor=OPERATOR, challenge_id=challenge.id)
    answers = answer_key(session, version)
    ids = [s.id for s in stage_data(session, stage).task.samples()]
    by_application = {a.id: team for team, a in reviewed.applications.items()}
    entries = {
        by_application[e.application_id]: e
        for e in entries_of(session, challenge.id)
        if e.application_id is not None
    }
    for team, entry in entries.items():
        team_actor = Actor(role=Role.supplier, organisation_id=entry.organisation_id)
        races.submit(
            session,
            actor=team_actor,
            stage_id=stage.id,
            predictions=predictions_file(answers, ids, wrong=wrong[team]),
            data_dir=data_dir,
        )
    drain(session, data_dir, [races.SUBMISSION_JOB])
    races.close_stage(
        session, actor=OPERATOR, stage_id=stage.id, data_dir=data_dir, reason="测试提前结束"
    )
    session.flush()
    return entries
