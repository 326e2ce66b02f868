"""Challenge rules: publishing from a scenario, eligibility on application, decisions,
the shortlist and its entries, who reads which application, and the audit log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges import applications, audit, catalogue, decisions, proposals, views
from mosu.challenges.models import (
    Application,
    ApplicationState,
    Challenge,
    ChallengeEvent,
    ChallengeState,
    Entry,
)
from mosu.challenges.schemas import ApplicationIn, ChallengePatch
from mosu.core import clock
from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound
from mosu.permissions import PUBLIC, Actor, Role
from mosu.scenarios.models import ScenarioStatus
from tests.conftest import World, make_org
from tests.helpers.scenarios import (
    PDF,
    actor,
    challenge_in,
    make_challenge,
    make_model,
    make_scenario,
)

MB = 1024 * 1024


def apply(
    db: Session,
    world: World,
    challenge: Challenge,
    tmp_path: Path,
    *,
    who: str = "supplier_a",
    file: proposals.ProposalFile | None = None,
    today: dt.date | None = None,
    **values: object,
) -> Application:
    data = ApplicationIn.model_validate({"proposal": "我们的方案：分层分类加人工复核", **values})
    application = applications.apply(
        db,
        actor=actor(world, who),
        challenge_id=challenge.id,
        data=data,
        proposal_file=file,
        data_dir=tmp_path,
        max_bytes=MB,
        today=today,
    )
    db.commit()
    return application


def actions(challenge: Challenge) -> list[str]:
    return [e.action for e in challenge.events]


def test_a_challenge_is_drafted_from_a_scenario_then_published(db: Session, world: World) -> None:
    challenge = make_challenge(db, world, publish=False)
    assert challenge.state is ChallengeState.draft
    assert challenge.organisation_id == world.org_demand
    assert challenge.scenario.status is ScenarioStatus.open
    operator = actor(world, "operator")
    catalogue.update_challenge(
        db, actor=operator, challenge_id=challenge.id, data=ChallengePatch(bounty_yuan=None)
    )
    catalogue.publish(db, actor=operator, challenge_id=challenge.id, reason="经区政府同意发布")
    db.commit()
    assert challenge.state is ChallengeState.open and challenge.bounty_yuan is None
    assert challenge.scenario.status is ScenarioStatus.published
    assert actions(challenge) == ["created", "publish"]
    publish = challenge.events[1]
    assert (publish.from_state, publish.to_state) == ("draft", "open")
    assert publish.actor_name == "operator" and publish.reason == "经区政府同意发布"
    with pytest.raises(Conflict):
        catalogue.update_challenge(
            db, actor=operator, challenge_id=challenge.id, data=ChallengePatch(title="改名")
        )


def test_only_operators_publish_challenges(db: Session, world: World) -> None:
    scenario = make_scenario(db, world)
    for who in ("demand", "supplier_a", "expert"):
        with pytest.raises(Forbidden):
            catalogue.create_challenge(db, actor=actor(world, who), data=challenge_in(scenario.id))
    draft = make_challenge(db, world, publish=False)
    for who in ("demand", "supplier_a"):
        with pytest.raises((Forbidden, NotFound)):
            catalogue.publish(db, actor=actor(world, who), challenge_id=draft.id)
    assert draft.state is ChallengeState.draft


def test_a_draft_is_seen_by_operators_and_the_issuer_only(db: Session, world: World) -> None:
    draft = make_challenge(db, world, publish=False, title="草稿榜单")
    make_challenge(db, world, title="公开榜单")
    for who in ("operator", "demand"):
        assert catalogue.get_challenge(db, draft.id, actor=actor(world, who)) is draft
    for viewer in (PUBLIC, actor(world, "supplier_a"), actor(world, "expert")):
        with pytest.raises(NotFound):
            catalogue.get_challenge(db, draft.id, actor=viewer)
        titles = [c.title for c in views.list_challenges(db, actor=viewer).items]
        assert titles == ["公开榜单"]


def test_the_validity_window_and_places_are_checked() -> None:
    with pytest.raises(ValidationError, match="有效期"):
        challenge_in(1, valid_from=dt.date(2026, 5, 2), valid_until=dt.date(2026, 5, 1))
    with pytest.raises(ValidationError, match="揭榜名额"):
        challenge_in(1, shortlist_places=1, winner_places=2)


def test_publishing_after_the_window_is_refused(db: Session, world: World) -> None:
    past = clock.today() - dt.timedelta(days=3)
    draft = make_challenge(
        db, world, publish=False, valid_from=past - dt.timedelta(days=9), valid_until=past
    )
    with pytest.raises(Conflict, match="有效期已过"):
        catalogue.publish(db, actor=actor(world, "operator"), challenge_id=draft.id)


# ---------------------------------------------------------------- applying


def test_a_consortium_applies_with_a_pdf(db: Session, world: World, tmp_path: Path) -> None:
    challenge = make_challenge(db, world, require_filed_model=True)
    filed = make_model(db, world.org_b, filed=True)
    own = make_model(db, world.org_a)
    upload = proposals.ProposalFile("../../etc/方案 v1.pdf", PDF)
    application = apply(
        db,
        world,
        challenge,
        tmp_path,
        member_ids=[world.org_b],
        model_ids=[own, filed],
        file=upload,
    )
    assert application.organisation_id == world.org_a
    assert [m.organisation_id for m in application.members] == [world.org_b]
    assert application.proposal_filename == "方案 v1.pdf"
    assert application.proposal_file is not None
    stored = proposals.proposal_path(tmp_path, application)
    assert stored.parent == (tmp_path / "proposals").resolve()
    assert stored.read_bytes() == PDF and "方案" not in stored.name and "etc" not in str(stored)
    assert application.proposal_size == len(PDF) and len(application.proposal_sha256) == 64
    assert actions(challenge)[-1] == "application_submitted"
    assert challenge.events[-1].details == {"application_id": application.id}


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"organisation_id": "org_b"}, Forbidden, "本组织"),
        ({"member_ids": ["org_a"]}, Invalid, "牵头单位不能同时是联合体成员"),
        ({"member_ids": [987654]}, Invalid, "联合体成员不存在"),
        ({"model_ids": ["outsider"]}, Invalid, "参赛模型须属于牵头单位或联合体成员"),
        ({"model_ids": ["unfiled"], "filed": True}, Invalid, "已备案"),
    ],
)
def test_eligibility_is_checked_on_submission(
    db: Session,
    world: World,
    tmp_path: Path,
    values: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    values = dict(values)  # the parameters are shared by the database variants
    outsider = make_org(db, 40, "丁外部科技有限公司")
    challenge = make_challenge(db, world, require_filed_model=bool(values.pop("filed", False)))
    models = {
        "own": make_model(db, world.org_a, filed=True),
        "unfiled": make_model(db, world.org_a),
        "outsider": make_model(db, outsider, filed=True),
    }
    orgs = {"org_a": world.org_a, "org_b": world.org_b}
    data: dict[str, object] = {"model_ids": [models["own"]]}
    for key, value in values.items():
        if isinstance(value, list):
            data[key] = [models.get(str(v), orgs.get(str(v), v)) for v in value]
        else:
            data[key] = orgs[str(value)]
    with pytest.raises(error, match=message):
        apply(db, world, challenge, tmp_path, **data)
    db.rollback()
    assert db.scalars(select(Application)).all() == []


def test_consortia_have_at_most_four_distinct_members() -> None:
    with pytest.raises(ValidationError):
        ApplicationIn(proposal="x", member_ids=[1, 2, 3, 4, 5], model_ids=[1])
    with pytest.raises(ValidationError, match="重复"):
        ApplicationIn(proposal="x", member_ids=[2, 2], model_ids=[1])
    with pytest.raises(ValidationError):
        ApplicationIn(proposal="x", model_ids=[])


def test_an_organisation_has_a_quota_and_withdrawing_frees_it(
    db: Session, world: World, tmp_path: Path
) -> None:
    challenge = make_challenge(db, world, max_applications_per_org=1)
    model = make_model(db, world.org_a)
    first = apply(db, world, challenge, tmp_path, model_ids=[model])
    with pytest.raises(Conflict, match="最多提交 1 份"):
        apply(db, world, challenge, tmp_path, model_ids=[model])
    db.rollback()
    with pytest.raises(NotFound):
        applications.withdraw(db, actor=actor(world, "supplier_b"), application_id=first.id)
    applications.withdraw(
        db, actor=actor(world, "supplier_a"), application_id=first.id, reason="重做"
    )
    db.commit()
    assert first.state is ApplicationState.withdrawn
    with pytest.raises(Conflict):
        applications.withdraw(db, actor=actor(world, "supplier_a"), application_id=first.id)
    db.rollback()
    second = apply(db, world, challenge, tmp_path, model_ids=[model])
    assert second.state is ApplicationState.submitted


def test_applications_need_an_open_challenge_within_its_window(
    db: Session, world: World, tmp_path: Path
) -> None:
    challenge = make_challenge(db, world)
    model = make_model(db, world.org_a)
    late = challenge.valid_until + dt.timedelta(days=1)
    with pytest.raises(Conflict, match="有效期"):
        apply(db, world, challenge, tmp_path, model_ids=[model], today=late)
    db.rollback()
    with pytest.raises(Forbidden):
        apply(db, world, challenge, tmp_path, who="demand", model_ids=[model])
    db.rollback()
    catalogue.transition_challenge(
        db, actor=actor(world, "operator"), challenge_id=challenge.id, name="close_applications"
    )
    db.commit()
    with pytest.raises(Conflict, match="不接受"):
        apply(db, world, challenge, tmp_path, model_ids=[model])


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"PK\x03\x04 a zip called pdf", "须为 PDF"), (b"%PDF-" + b"0" * MB, "超过")],
)
def test_the_attachment_must_be_a_pdf_within_the_limit(
    db: Session, world: World, tmp_path: Path, content: bytes, message: str
) -> None:
    challenge = make_challenge(db, world)
    model = make_model(db, world.org_a)
    with pytest.raises(Invalid, match=message) as caught:
        apply(
            db,
            world,
            challenge,
            tmp_path,
            model_ids=[model],
            file=proposals.ProposalFile("方案.pdf", content),
        )
    assert caught.value.details == {"field": "proposal_file"}
    assert not (tmp_path / "proposals").exists()


# ---------------------------------------------------------------- decisions and shortlist


def test_decisions_reasons_and_who_reads_them(db: Session, world: World, tmp_path: Path) -> None:
    challenge = make_challenge(db, world)
    a = apply(db, world, challenge, tmp_path, model_ids=[make_model(db, world.org_a)])
    b = apply(
        db, world, challenge, tmp_path, who="supplier_b", model_ids=[make_model(db, world.org_b)]
    )
    operator = actor(world, "operator")
    with pytest.raises(Invalid, match="驳回须填写原因"):
        decisions.decide_application(db, actor=operator, application_id=a.id, approve=False)
    with pytest.raises(Forbidden):
        decisions.decide_application(
            db, actor=actor(world, "demand"), application_id=a.id, approve=True
        )
    decisions.decide_application(
        db, actor=operator, application_id=a.id, approve=False, reason="甲方案缺少数据安全措施"
    )
    decisions.decide_application(db, actor=operator, application_id=b.id, approve=True)
    db.commit()
    with pytest.raises(Conflict, match="已处理"):
        decisions.decide_application(db, actor=operator, application_id=a.id, approve=True)
    assert a.state is ApplicationState.rejected and b.state is ApplicationState.approved
    assert a.decided_at is not None and a.decided_by_id == operator.user_id

    filed: set[int] = set()
    seen = {
        who: views.application_out(
            applications.get_application(db, a.id, actor=actor(world, who)),
            actor=actor(world, who),
            filed_ids=filed,
        ).decision_reason
        for who in ("operator", "supplier_a", "demand")
    }
    assert seen == {
        "operator": "甲方案缺少数据安全措施",
        "supplier_a": "甲方案缺少数据安全措施",
        "demand": None,
    }
    for viewer in (actor(world, "supplier_b"), actor(world, "expert"), PUBLIC):
        with pytest.raises(NotFound):
            applications.get_application(db, a.id, actor=viewer)

    def reasons(viewer: Actor) -> list[str]:
        log = audit.events_out(db, actor=viewer, challenge=challenge)
        return [e.reason for e in log if e.action == "application_rejected"]

    assert reasons(actor(world, "supplier_a")) == ["甲方案缺少数据安全措施"]
    assert reasons(operator) == ["甲方案缺少数据安全措施"]
    for viewer in (actor(world, "supplier_b"), actor(world, "demand"), PUBLIC):
        assert reasons(viewer) == [""]


def test_who_reads_which_application(db: Session, world: World, tmp_path: Path) -> None:
    challenge = make_challenge(db, world)
    alone = apply(db, world, challenge, tmp_path, model_ids=[make_model(db, world.org_a)])
    together = apply(
        db,
        world,
        challenge,
        tmp_path,
        member_ids=[world.org_b],
        model_ids=[make_model(db, world.org_a)],
    )
    other_demand = make_org(db, 41, "戊区数据局")
    readers = {
        "operator": {alone.id, together.id},
        "demand": {alone.id, together.id},
        "supplier_a": {alone.id, together.id},
        "supplier_b": {together.id},
        "expert": set(),
    }
    for who, ids in readers.items():
        listed = views.list_applications(db, actor=actor(world, who), challenge=challenge)
        assert {a.id for a in listed.items} == ids, who
        assert listed.total == 2
    stranger = Actor(user_id=999, role=Role.demand, organisation_id=other_demand)
    assert views.list_applications(db, actor=stranger, challenge=challenge).items == []
    with pytest.raises(NotFound):
        applications.get_application(db, alone.id, actor=stranger)
    public = views.list_applications(db, actor=PUBLIC, challenge=challenge)
    assert (public.total, public.items, public.shortlisted) == (2, [], [])


def test_shortlisting_makes_entries(db: Session, world: World, tmp_path: Path) -> None:
    challenge = make_challenge(db, world, shortlist_places=2)
    operator = actor(world, "operator")
    model_a, model_b = make_model(db, world.org_a), make_model(db, world.org_b)
    first = apply(db, world, challenge, tmp_path, model_ids=[model_a])
    second = apply(db, world, challenge, tmp_path, model_ids=[model_a])
    third = apply(db, world, challenge, tmp_path, who="supplier_b", model_ids=[model_b])
    for application in (first, second, third):
        decisions.decide_application(
            db, actor=operator, application_id=application.id, approve=True
        )
    db.commit()
    with pytest.raises(Conflict, match="截止"):
        decisions.shortlist(db, actor=operator, application_id=first.id)
    catalogue.transition_challenge(
        db, actor=operator, challenge_id=challenge.id, name="close_applications"
    )
    with pytest.raises(Forbidden):
        decisions.shortlist(db, actor=actor(world, "demand"), application_id=first.id)
    entries = [
        decisions.shortlist(db, actor=operator, application_id=a.id) for a in (first, second)
    ]
    db.commit()
    assert [e.name for e in entries] == ["甲智能科技有限公司", "甲智能科技有限公司 2"]
    assert {e.organisation_id for e in entries} == {world.org_a}
    assert [e.application_id for e in entries] == [first.id, second.id]
    with pytest.raises(Conflict, match="已满"):
        decisions.shortlist(db, actor=operator, application_id=third.id)
    db.rollback()
    assert first.state is ApplicationState.shortlisted
    public = views.list_applications(db, actor=PUBLIC, challenge=challenge)
    assert public.shortlisted == ["甲智能科技有限公司", "甲智能科技有限公司"]
    log = audit.events_out(db, actor=PUBLIC, challenge=challenge)
    shortlisted = [e.details for e in log if e.action == "application_shortlisted"]
    assert shortlisted[0] == {
        "application_id": first.id,
        "entry_id": entries[0].id,
        "organisation": "甲智能科技有限公司",
    }
    assert db.scalar(select(Entry).where(Entry.application_id == third.id)) is None


def test_a_rejected_application_cannot_be_shortlisted(
    db: Session, world: World, tmp_path: Path
) -> None:
    challenge = make_challenge(db, world)
    operator = actor(world, "operator")
    application = apply(db, world, challenge, tmp_path, model_ids=[make_model(db, world.org_a)])
    decisions.decide_application(
        db, actor=operator, application_id=application.id, approve=False, reason="不符合要求"
    )
    catalogue.transition_challenge(
        db, actor=operator, challenge_id=challenge.id, name="close_applications"
    )
    with pytest.raises(Conflict, match="审核通过"):
        decisions.shortlist(db, actor=operator, application_id=application.id)


# ---------------------------------------------------------------- lifecycle guards and the log


def test_the_race_starts_and_is_decided_by_the_race_code(db: Session, world: World) -> None:
    challenge = make_challenge(db, world)
    operator = actor(world, "operator")
    catalogue.transition_challenge(
        db, actor=operator, challenge_id=challenge.id, name="close_applications"
    )
    with pytest.raises(Conflict, match="赛马阶段"):
        catalogue.transition_challenge(
            db, actor=operator, challenge_id=challenge.id, name="start_race"
        )
    challenge.state = ChallengeState.racing  # as if the race ran
    with pytest.raises(Conflict, match="race/decide"):
        catalogue.transition_challenge(db, actor=operator, challenge_id=challenge.id, name="decide")
    with pytest.raises(Forbidden):
        catalogue.transition_challenge(
            db, actor=actor(world, "demand"), challenge_id=challenge.id, name="decide"
        )
    with pytest.raises(Invalid, match="原因"):
        catalogue.transition_challenge(db, actor=operator, challenge_id=challenge.id, name="close")
    catalogue.transition_challenge(
        db, actor=operator, challenge_id=challenge.id, name="close", reason="无合格参赛队"
    )
    assert challenge.state is ChallengeState.closed


def test_the_issuer_moves_delivery_and_acceptance(db: Session, world: World) -> None:
    challenge = make_challenge(db, world)
    challenge.state = ChallengeState.decided
    demand = actor(world, "demand")
    with pytest.raises(Forbidden):
        catalogue.transition_challenge(
            db, actor=actor(world, "supplier_a"), challenge_id=challenge.id, name="start_delivery"
        )
    catalogue.transition_challenge(
        db, actor=demand, challenge_id=challenge.id, name="start_delivery"
    )
    with pytest.raises(Conflict):
        catalogue.transition_challenge(
            db, actor=demand, challenge_id=challenge.id, name="start_delivery"
        )
    catalogue.transition_challenge(
        db, actor=demand, challenge_id=challenge.id, name="accept", reason="验收报告已签署"
    )
    db.commit()
    assert challenge.state is ChallengeState.accepted
    assert actions(challenge)[-2:] == ["start_delivery", "accept"]
    assert challenge.events[-1].actor_name == "demand"


def test_the_audit_log_cannot_be_changed_or_deleted(db: Session, world: World) -> None:
    challenge = make_challenge(db, world)
    event = db.scalars(
        select(ChallengeEvent).where(ChallengeEvent.challenge_id == challenge.id)
    ).first()
    assert event is not None
    event.reason = "改写历史"
    with pytest.raises(Conflict, match="只能追加"):
        db.flush()
    db.rollback()
    db.delete(db.get(ChallengeEvent, event.id))
    with pytest.raises(Conflict, match="只能追加"):
        db.flush()
    db.rollback()
    assert [e.reason for e in challenge.events] == ["", ""]


def test_times_are_shown_in_shanghai() -> None:
    at = dt.datetime(2026, 3, 1, 16, 30)
    assert clock.local(at).isoformat() == "2026-03-02T00:30:00+08:00"
    late_utc = dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC)
    assert clock.today(late_utc) == dt.date(2026, 3, 2)
