"""The expert pool's rules: who edits which part of a profile, conflicts, the listing's
filters, and each expert's load counted against a hand count."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from mosu import race as races
from mosu.accounts.service import create_user
from mosu.challenges.models import Submission, SubmissionMode
from mosu.core.errors import Forbidden, Invalid, NotFound
from mosu.permissions import Actor, Role
from mosu.review import pool
from mosu.review.models import (
    Grade,
    GradingItem,
    GradingMode,
    GradingRound,
    MemberState,
    Panel,
    PanelMember,
    PanelState,
    ReviewScore,
)
from tests.conftest import World
from tests.helpers import scenarios as factory
from tests.helpers.races import racing_challenge, stage_spec


def expert(db: Session, username: str, name: str = "") -> Actor:
    user = create_user(db, username=username, password=None, role=Role.expert, display_name=name)
    return Actor(user_id=user.id, role=Role.expert, username=username)


def test_operator_and_expert_edit_their_parts(db: Session, world: World) -> None:
    operator = factory.actor(world, "operator")
    me = expert(db, "zhou", "周予衡")
    assert me.user_id is not None
    profile = pool.save_profile(
        db,
        actor=operator,
        user_id=me.user_id,
        fields=[" 政务 ", "模型评测", "政务", "ＡＩ"],
        title="高级工程师",
        affiliation_id=world.org_a,
    )
    assert profile.fields == ["政务", "模型评测", "AI"]  # trimmed, NFKC, distinct
    # the expert edits fields and title, keeping the operator's affiliation and pool flag
    pool.save_profile(
        db, actor=me, user_id=me.user_id, fields=["软件工程"], title="研究员",
        affiliation_id=world.org_a, in_pool=True,
    )  # fmt: skip
    assert profile.fields == ["软件工程"] and profile.title == "研究员"
    with pytest.raises(Forbidden):
        pool.save_profile(
            db, actor=me, user_id=me.user_id, fields=[], affiliation_id=world.org_a, in_pool=False
        )
    with pytest.raises(Forbidden):
        pool.save_profile(db, actor=me, user_id=me.user_id, fields=[], affiliation_id=None)
    # the affiliation must be registered; another expert's profile does not exist for them
    with pytest.raises(Invalid):
        pool.save_profile(db, actor=operator, user_id=me.user_id, fields=[], affiliation_id=99999)
    other = expert(db, "chen")
    assert other.user_id is not None
    with pytest.raises(NotFound):
        pool.save_profile(db, actor=me, user_id=other.user_id, fields=[])
    with pytest.raises(NotFound):  # a supplier is no expert
        pool.save_profile(db, actor=operator, user_id=world.user_ids["supplier_a"], fields=[])
    with pytest.raises(Invalid):
        pool.save_profile(db, actor=operator, user_id=me.user_id, fields=["长" * 41])


def test_conflicts_declared_and_withdrawn(db: Session, world: World) -> None:
    me = expert(db, "lin")
    assert me.user_id is not None
    pool.declare_conflict(
        db, actor=me, expert_id=me.user_id, organisation_id=world.org_b, reason="合作课题"
    )
    again = pool.declare_conflict(
        db, actor=me, expert_id=me.user_id, organisation_id=world.org_b, reason="近三年合作"
    )
    shown = pool.get_expert(db, actor=me, user_id=me.user_id)
    assert [(c.organisation_id, c.reason) for c in shown.conflicts] == [(world.org_b, "近三年合作")]
    assert again.reason == "近三年合作"
    with pytest.raises(Invalid):
        pool.declare_conflict(db, actor=me, expert_id=me.user_id, organisation_id=99999)
    with pytest.raises(NotFound):
        pool.declare_conflict(
            db,
            actor=factory.actor(world, "supplier_a"),
            expert_id=me.user_id,
            organisation_id=world.org_a,
        )
    operator = factory.actor(world, "operator")
    assert pool.remove_conflict(
        db, actor=operator, expert_id=me.user_id, organisation_id=world.org_b
    )
    assert not pool.remove_conflict(db, actor=me, expert_id=me.user_id, organisation_id=world.org_b)
    db.expire_all()
    assert pool.get_expert(db, actor=me, user_id=me.user_id).conflicts == []


def test_listing_filters(db: Session, world: World) -> None:
    operator = factory.actor(world, "operator")
    a, b, c = (
        expert(db, "liwl", "李文澜"),
        expert(db, "wang", "王清嘉"),
        expert(db, "wuqm", "吴启明"),
    )
    for who, fields, in_pool in ((a, ["政务"], True), (b, ["政务", "软件工程"], False)):
        assert who.user_id is not None
        pool.save_profile(db, actor=operator, user_id=who.user_id, fields=fields, in_pool=in_pool)

    def names(**filters: object) -> list[str]:
        return [e.username for e in pool.list_pool(db, actor=operator, **filters)]  # type: ignore[arg-type]

    assert set(names()) == {"expert", "liwl", "wang", "wuqm"}
    assert set(names(field="政务")) == {"liwl", "wang"}
    assert names(field="软件工程") == ["wang"]
    assert names(field="政务", in_pool=True) == ["liwl"]
    assert set(names(in_pool=False)) == {"expert", "wang", "wuqm"}  # no profile: not in the pool
    assert names(q="清嘉") == ["wang"] and names(q="WUQ") == ["wuqm"] and names(q="%") == []
    assert c.user_id is not None
    with pytest.raises(Forbidden):
        pool.list_pool(db, actor=c)


def test_load_counts_open_work(db: Session, world: World) -> None:
    """Two experts on an open panel of a challenge with two scored applications (one
    recused), one on a closed panel; a grading round of three items on the challenge's stage."""
    operator = factory.actor(world, "operator")
    a, b, c = expert(db, "exa"), expert(db, "exb"), expert(db, "exc")
    assert a.user_id and b.user_id and c.user_id
    race = racing_challenge(db, world)
    applications = [e.application_id for e in races.entries_of(db, race.challenge.id)]
    panel = Panel(challenge_id=race.challenge.id, size=2, seed=7, candidates=[a.user_id])
    panel.members = [
        PanelMember(expert_id=a.user_id, position=0, state=MemberState.confirmed),
        PanelMember(expert_id=b.user_id, position=1, state=MemberState.recused),
        PanelMember(expert_id=c.user_id, position=2, state=MemberState.invited),
    ]
    db.add(panel)
    closed_challenge = factory.make_challenge(db, world)
    closed = Panel(challenge_id=closed_challenge.id, size=1, seed=1, state=PanelState.closed)
    closed.members = [PanelMember(expert_id=b.user_id, position=0)]
    db.add(closed)
    db.flush()
    db.add(
        ReviewScore(
            panel_id=panel.id, expert_id=a.user_id, application_id=applications[0], total=80.0
        )
    )
    spec = stage_spec("初赛", mode=SubmissionMode.predictions, version_id=race.version.id)
    stage = races.add_stage(db, actor=operator, challenge_id=race.challenge.id, spec=spec)
    entry = races.entries_of(db, race.challenge.id)[0]
    submission = Submission(stage_id=stage.id, entry_id=entry.id, mode=SubmissionMode.predictions)
    db.add(submission)
    db.flush()
    grading = GradingRound(
        stage_id=stage.id, mode=GradingMode.rubric, sample_size=3, seed=3, state=PanelState.open
    )
    grading.items = [
        GradingItem(code=f"X{i}", sample_id=f"s{i}", submission_id=submission.id) for i in range(3)
    ]
    db.add(grading)
    db.flush()
    db.add(Grade(item_id=grading.items[0].id, expert_id=a.user_id, scores={"q": 3}))
    db.commit()

    loads = pool.loads(db)
    assert len(applications) == 2
    assert loads[a.user_id] == pool.Load(seats=1, to_score=1, to_grade=2)
    assert loads[c.user_id] == pool.Load(seats=1, to_score=2, to_grade=3)
    assert b.user_id not in loads  # recused here, and the other panel is closed
    listed = {e.username: e.load for e in pool.list_pool(db, actor=operator)}
    assert listed["exa"] == loads[a.user_id] and listed["exb"] == pool.Load()
