"""Racing from the UI, below the pages: the stage builder and its preview, the stage window
check, predictions stages' sample file, bulk shortlisting, and an endpoint's test call."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from mosu import race as races
from mosu.challenges import decisions
from mosu.challenges.models import Application, ApplicationState, ChallengeState
from mosu.core import clock
from mosu.core.credentials import CredentialBox
from mosu.core.errors import Conflict, Forbidden, Invalid
from mosu.evals.netpolicy import AddressPolicy
from mosu.permissions import Actor, Role
from mosu.race import builder, views
from mosu.race.scoring import load_rows, stage_data
from mosu.registry.endpoint_checks import check_endpoint
from tests.conftest import TEST_SECRET, World, on_primary_database
from tests.helpers.races import (
    OPERATOR,
    TASK,
    answer_key,
    endpoint,
    fake_endpoints,
    predictions_race,
    racing_challenge,
    shortlisting_challenge,
    stage_spec,
    supplier,
)

pytestmark = [pytest.mark.loopback_endpoints, on_primary_database]  # one database suffices


def test_the_builder_previews_a_dev_row_never_a_test_row(db: Session, world: World) -> None:
    race = racing_challenge(db, world)
    task = builder.task_from_fields(
        system=TASK["prompt"]["system"],
        template=TASK["prompt"]["template"],
        parser="label",
        scorers=["macro_f1", "accuracy", "macro_f1"],
    )
    assert task["scorers"] == ["macro_f1", "accuracy"] and task["prompt"]["system"]
    shown = builder.preview(db, actor=OPERATOR, version_id=race.version.id, task=task)
    rows = load_rows(db, race.version.id)
    assert shown.split == "dev" and shown.row_id in {r.row_id for r in rows["dev"]}
    assert shown.row_id not in {r.row_id for r in rows["test"]}
    dev_row = next(r for r in rows["dev"] if r.row_id == shown.row_id)
    assert shown.messages[0] == {"role": "system", "content": TASK["prompt"]["system"]}
    assert f"工单编号：{shown.row_id}" in shown.messages[1]["content"]
    assert str(dev_row.fields["标题"]) in shown.messages[1]["content"]
    assert shown.label == dev_row.label and shown.label in shown.labels
    with pytest.raises(Invalid, match="没有的字段"):
        builder.preview(
            db,
            actor=OPERATOR,
            version_id=race.version.id,
            task={**task, "prompt": {"template": "{{ 没有的字段 }}"}},
        )
    with pytest.raises(Invalid):
        builder.task_from_fields(system="", template="{{ 标题 }}", parser="label", scorers=[])
    with pytest.raises(Forbidden):
        builder.preview(
            db, actor=supplier(world, "supplier_a", world.org_a), version_id=1, task=task
        )
    assert "judge" not in builder.builder_choices().scorers


def test_a_stage_must_lie_within_the_challenge_window(db: Session, world: World) -> None:
    race = racing_challenge(db, world)
    until = race.challenge.valid_until
    late = dt.datetime.combine(until, dt.time(9), tzinfo=clock.SHANGHAI)
    spec = stage_spec("初赛", version_id=race.version.id, opens=late, hours=24)
    with pytest.raises(Invalid, match=f"晚于榜单有效期截止 {until}") as refused:
        races.add_stage(db, actor=OPERATOR, challenge_id=race.challenge.id, spec=spec)
    assert refused.value.details == {"field": "closes_at"}
    early = dt.datetime.combine(
        race.challenge.valid_from - dt.timedelta(days=1), dt.time(9), tzinfo=clock.SHANGHAI
    )
    with pytest.raises(Invalid, match="早于榜单有效期开始"):
        races.add_stage(
            db,
            actor=OPERATOR,
            challenge_id=race.challenge.id,
            spec=stage_spec("初赛", version_id=race.version.id, opens=early),
        )
    races.add_stage(  # the last day of the window is inside it
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=stage_spec("初赛", version_id=race.version.id, opens=late, hours=2),
    )


def test_a_predictions_stage_offers_its_label_set_and_a_sample_file(
    db: Session, world: World
) -> None:
    race = racing_challenge(db, world)
    stage = predictions_race(db, race)
    team = supplier(world, "supplier_a", world.org_a)
    sample = views.sample_submission(db, team, stage)
    ids = [s.id for s in stage_data(db, stage).task.samples()]
    found, problems = races.check_predictions(sample, ids)
    assert not problems and sorted(found) == sorted(ids)  # the shape the stage takes
    shown = next(v for v in views.stage_views(db, team, race.challenge) if v["stage"] is stage)
    assert shown["labels"] == list(race.version.label_set) and len(shown["labels"]) > 1
    issuer = Actor(
        user_id=world.user_ids["demand"],
        role=Role.demand,
        organisation_id=world.org_demand,
        username="demand",
    )
    with pytest.raises(Forbidden):  # no entry in the race
        views.sample_submission(db, issuer, stage)


def test_bulk_shortlist_is_all_or_none(db: Session, world: World) -> None:
    challenge = shortlisting_challenge(
        db, world, title="批量入围", shortlist_places=2, winner_places=1
    )
    db.flush()
    apps = [
        Application(challenge_id=challenge.id, organisation_id=org, state=state)
        for org, state in (
            (world.org_a, ApplicationState.approved),
            (world.org_b, ApplicationState.approved),
            (world.org_demand, ApplicationState.submitted),
        )
    ]
    db.add_all(apps)
    db.flush()
    nested = db.begin_nested()
    with pytest.raises(Conflict, match="审核通过"):
        decisions.shortlist_many(
            db, actor=OPERATOR, challenge_id=challenge.id, application_ids=[apps[0].id, apps[2].id]
        )
    nested.rollback()
    assert [a.state for a in apps[:2]] == [ApplicationState.approved] * 2
    entries = decisions.shortlist_many(
        db, actor=OPERATOR, challenge_id=challenge.id, application_ids=[apps[0].id, apps[1].id]
    )
    assert [e.application_id for e in entries] == [apps[0].id, apps[1].id]
    assert {a.state for a in apps[:2]} == {ApplicationState.shortlisted}
    assert challenge.state is ChallengeState.shortlisting
    with pytest.raises(Invalid):
        decisions.shortlist_many(db, actor=OPERATOR, challenge_id=challenge.id, application_ids=[])


def test_an_endpoint_test_call_shows_status_latency_and_answer(db: Session, world: World) -> None:
    race = racing_challenge(db, world)
    team = supplier(world, "supplier_a", world.org_a)
    box, policy = CredentialBox(TEST_SECRET), AddressPolicy(allow_private=True)
    with fake_endpoints(answer_key(db, race.version), list(race.version.label_set)) as url:
        alive = endpoint(db, world.org_a, url, "strong")
        check = check_endpoint(db, actor=team, endpoint_id=alive.id, box=box, policy=policy)
    assert check.ok and check.status == "HTTP 200" and check.answer and check.latency >= 0
    assert alive.last_check == check.to_json()
    dead = check_endpoint(db, actor=team, endpoint_id=alive.id, box=box, policy=policy)
    assert not dead.ok and dead.status and not dead.answer  # the server is gone
    other = supplier(world, "supplier_b", world.org_b)
    with pytest.raises(Exception, match="不存在"):  # another organisation's: not found
        check_endpoint(db, actor=other, endpoint_id=alive.id, box=box, policy=policy)


def test_starting_a_race_too_early_says_where_to_go_next(db: Session, world: World) -> None:
    race = racing_challenge(db, world)
    with pytest.raises(Conflict) as no_stage:
        races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    assert f"/challenges/{race.challenge.id}/race#add-stage" in str(no_stage.value)
    assert "添加赛马阶段" in str(no_stage.value)
    assert race.challenge.state is ChallengeState.shortlisting  # nothing moved
