"""The notify service and its hooks: each state change writes the right notices to the right
users and nobody else, rendered in the reader's language; deadline reminders are sent once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu import race as races
from mosu.accounts.models import Notification, User
from mosu.board.models import Interest
from mosu.challenges import decisions
from mosu.challenges.models import Application, ApplicationState, ChallengeState, EntryState
from mosu.core import clock
from mosu.core.errors import NotFound
from mosu.core.settings import Settings
from mosu.jobs.models import Job
from mosu.notifications import service
from mosu.notifications.kinds import KINDS, render, when
from mosu.notifications.service import Choice
from mosu.permissions import Actor, Role
from mosu.race.deadlines import send_due
from mosu.supply import decisions as voucher_decisions
from mosu.supply.models import VoucherKind
from mosu.supply.schemas import ClaimIn, PayoutIn
from tests.conftest import World, on_primary_database
from tests.helpers.races import racing_challenge, shortlisting_challenge, stage_spec
from tests.helpers.supply import Supply, apply, approve, make_programme

pytestmark = on_primary_database
EVERYONE = ("operator", "supplier_a", "supplier_b", "demand", "expert")


def operator(world: World) -> Actor:
    return Actor(user_id=world.user_ids["operator"], role=Role.operator, username="operator")


def inboxes(db: Session, world: World, since: int = 0) -> dict[str, list[tuple[str, str]]]:
    """Each world user's notices written after id ``since``: (kind, Chinese title)."""
    db.flush()
    out: dict[str, list[tuple[str, str]]] = {}
    for who in EVERYONE:
        rows = db.scalars(
            select(Notification)
            .where(Notification.user_id == world.user_ids[who], Notification.id > since)
            .order_by(Notification.id)
        )
        out[who] = [(n.kind, service.notice_text(n, "zh")[0]) for n in rows]
    return out


def last_id(db: Session) -> int:
    db.flush()
    return max(db.scalars(select(Notification.id)), default=0)


def test_notices_render_in_the_readers_language_and_follow_preferences(
    db: Session, world: World
) -> None:
    a, b = world.user_ids["supplier_a"], world.user_ids["supplier_b"]
    closes = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)  # 3月2日 00:00 北京时间
    params = {"challenge": "热线分拨", "stage": "初赛", "closes_at": when(closes)}
    assert render("stage_closing_soon", params, "zh")[0] == (
        "“热线分拨”的阶段“初赛”将于 2026-03-02 00:00 北京时间 截止"
    )
    assert render("stage_closing_soon", params, "en")[0] == (
        "Stage “初赛” of “热线分拨” closes at 2026-03-02 00:00 (Beijing)"
    )
    assert render("voucher_paid", {"programme": "模型券", "paid_fen": 1_100_050}, "en")[0] == (
        "The subsidy of “模型券” was paid: ¥11,000.50"
    )
    assert all(k.zh and k.en and bool(k.zh_body) == bool(k.en_body) for k in KINDS.values())

    # one address with e-mail on, one with the topic in the digest, one with no address
    db.get(User, a).email = "a@example.cn"  # type: ignore[union-attr]
    service.save_choices(
        db,
        actor=Actor(user_id=b, role=Role.supplier, organisation_id=world.org_b),
        email="b@example.cn",
        language="en",
        wanted=[Choice(topic="deadlines", email=True, digest=True)],
    )
    written = service.notify(
        db, kind="stage_closing_soon", params=params, user_ids=[a, b, world.user_ids["expert"]]
    )
    states = {n.user_id: n.email_state for n in written}
    assert states == {a: "pending", b: "digest", world.user_ids["expert"]: None}
    jobs = sorted(j.kind for j in db.scalars(select(Job)))
    assert jobs == [service.DIGEST_JOB, service.MAIL_JOB]
    digest = db.scalars(select(Job).where(Job.kind == service.DIGEST_JOB)).one()
    assert clock.local(digest.available_at).hour == service.DIGEST_HOUR
    # stored without text; the API answers in the user's language, the page in the page's
    assert {(n.title, n.body) for n in written} == {("", "")}
    assert service.user_language(db, b) == "en"
    out = service.notification_out(written[1], "en")
    assert out.title.startswith("Stage “初赛”") and out.body.startswith("Select")

    # a topic turned off: no e-mail; a dedupe key: never twice
    service.save_choices(
        db,
        actor=Actor(user_id=a, role=Role.supplier, organisation_id=world.org_a),
        email="a@example.cn",
        language="zh",
        wanted=[Choice(topic="deadlines", email=False)],
    )
    first = service.notify(
        db, kind="stage_closing_soon", params=params, user_ids=[a], dedupe_key="k"
    )
    assert [n.email_state for n in first] == ["off"]
    assert (
        service.notify(db, kind="stage_closing_soon", params=params, user_ids=[a], dedupe_key="k")
        == []
    )

    # an old row keeps its stored text
    old = Notification(user_id=a, kind="interest", title="旧通知", body="正文", link="/x")
    db.add(old)
    db.flush()
    assert service.notice_text(old, "en") == ("旧通知", "正文")


def test_application_decisions_and_shortlisting_tell_the_applicant_and_the_issuer(
    db: Session, world: World
) -> None:
    challenge = shortlisting_challenge(
        db, world, title="热线分拨", shortlist_places=2, winner_places=1
    )
    challenge.state = ChallengeState.open
    db.flush()
    mine = Application(challenge_id=challenge.id, organisation_id=world.org_a)
    theirs = Application(challenge_id=challenge.id, organisation_id=world.org_b)
    db.add_all([mine, theirs])
    db.flush()
    start = last_id(db)
    decisions.decide_application(db, actor=operator(world), application_id=mine.id, approve=True)
    decisions.decide_application(
        db, actor=operator(world), application_id=theirs.id, approve=False, reason="材料不全"
    )
    got = inboxes(db, world, start)
    assert got["supplier_a"] == [("application_approved", "您对“热线分拨”的揭榜申请已通过审核")]
    assert got["supplier_b"] == [("application_rejected", "您对“热线分拨”的揭榜申请未通过")]
    assert [k for k, _ in got["demand"]] == ["application_decided_issuer"] * 2
    assert got["operator"] == got["expert"] == []
    rejected = db.scalars(
        select(Notification).where(Notification.kind == "application_rejected")
    ).one()
    assert service.notice_text(rejected, "en")[1] == "Reason: 材料不全"
    assert rejected.link == f"/applications/{theirs.id}"

    challenge.state = ChallengeState.shortlisting
    start = last_id(db)
    entry = decisions.shortlist(db, actor=operator(world), application_id=mine.id)
    got = inboxes(db, world, start)
    assert got["supplier_a"] == [("application_shortlisted", "您对“热线分拨”的揭榜申请已入围赛马")]
    assert all(got[w] == [] for w in EVERYONE if w != "supplier_a")
    assert mine.state is ApplicationState.shortlisted and entry.organisation_id == world.org_a


def test_the_race_tells_each_team_of_its_own_entry_and_reminds_once(
    db: Session, world: World, settings: Settings
) -> None:
    race = racing_challenge(db, world)
    stage = races.add_stage(
        db,
        actor=operator(world),
        challenge_id=race.challenge.id,
        spec=stage_spec("初赛", version_id=race.version.id),
    )
    start = last_id(db)
    races.start_race(db, actor=operator(world), challenge_id=race.challenge.id)
    got = inboxes(db, world, start)
    assert (
        [k for k, _ in got["supplier_a"]] == [k for k, _ in got["supplier_b"]] == ["race_started"]
    )
    assert got["demand"] == got["expert"] == got["operator"] == []

    # the stage closes in 2 hours: each racing team is reminded, once however often it runs
    start = last_id(db)
    assert send_due(db) == 2
    assert send_due(db) == 0
    assert send_due(db, now=clock.now() + dt.timedelta(minutes=30)) == 0
    got = inboxes(db, world, start)
    assert [k for k, _ in got["supplier_a"]] == ["stage_closing_soon"]
    assert [k for k, _ in got["supplier_b"]] == ["stage_closing_soon"]

    # no finished submission: both entries are cut; each team hears of its own entry only
    start = last_id(db)
    races.close_stage(
        db,
        actor=operator(world),
        stage_id=stage.id,
        data_dir=settings.data_dir,
        now=stage.closes_at + dt.timedelta(minutes=1),
    )
    got = inboxes(db, world, start)
    assert got["supplier_a"] == [
        ("entry_cut", "“热线工单智能分拨揭榜”的阶段“初赛”已结束，“甲队”未能晋级")
    ]
    assert got["supplier_b"] == [
        ("entry_cut", "“热线工单智能分拨揭榜”的阶段“初赛”已结束，“乙队”未能晋级")
    ]
    assert got["demand"] == []

    race.entries["甲队"].state = EntryState.active  # as if it had gone on
    start = last_id(db)
    races.decide(
        db,
        actor=operator(world),
        challenge_id=race.challenge.id,
        entry_ids=[race.entries["甲队"].id],
    )
    got = inboxes(db, world, start)
    assert got["supplier_a"] == [("entry_won", "恭喜！“甲队”在“热线工单智能分拨揭榜”中揭榜成功")]
    assert got["demand"] == [("challenge_decided", "“热线工单智能分拨揭榜”已确定揭榜单位：甲队")]
    assert got["supplier_b"] == got["expert"] == got["operator"] == []


def test_the_application_window_reminds_interested_organisations_that_have_not_applied(
    db: Session, world: World
) -> None:
    challenge = shortlisting_challenge(
        db, world, title="热线分拨", shortlist_places=2, winner_places=1
    )
    challenge.state = ChallengeState.open
    challenge.valid_until = clock.today()  # closes at the end of today, Beijing time
    db.flush()
    for org in (world.org_a, world.org_b):
        db.add(Interest(scenario_id=challenge.scenario_id, organisation_id=org))
    db.add(Application(challenge_id=challenge.id, organisation_id=world.org_a))
    start = last_id(db)
    assert send_due(db) == 1
    assert send_due(db) == 0
    got = inboxes(db, world, start)
    assert [k for k, _ in got["supplier_b"]] == ["applications_closing_soon"]
    assert all(got[w] == [] for w in EVERYONE if w != "supplier_b")
    challenge.valid_until = clock.today() + dt.timedelta(days=3)  # not yet due
    assert send_due(db) == 0


def test_voucher_decisions_and_payouts_tell_the_applicant_only(db: Session, world: World) -> None:
    supply = Supply(world, db)
    programme = make_programme(db, world, kind=VoucherKind.model, budget="100000")
    application = apply(db, supply.buyer, programme.id, world.org_b, contract_amount="30000")
    start = last_id(db)
    approve(db, world, application.id, amount="12000", reason="合同含非模型服务部分")
    voucher_decisions.claim(
        db,
        actor=supply.buyer,
        application_id=application.id,
        data=ClaimIn(delivered_on=dt.date(2025, 7, 1), note="已交付"),
        today=dt.date(2025, 7, 2),
    )
    voucher_decisions.payout(
        db,
        actor=supply.operator,
        application_id=application.id,
        data=PayoutIn(amount=Decimal("11000.50"), paid_on=dt.date(2025, 8, 15), reference="付-001"),
    )
    got = inboxes(db, world, start)
    name = programme.name
    assert got["supplier_a"] == [
        ("voucher_approved", f"“{name}”的券申请已批准，补贴 12,000.00 元"),
        ("voucher_paid", f"“{name}”的补贴已兑付 11,000.50 元"),
    ]
    assert all(got[w] == [] for w in EVERYONE if w != "supplier_a")  # the seller hears nothing


def test_a_user_never_reads_anothers_notice(db: Session, world: World) -> None:
    (mine,) = service.notify(
        db,
        kind="interest",
        params={"organisation": "甲", "scenario": "场景"},
        user_ids=[world.user_ids["supplier_a"]],
    )
    other = Actor(
        user_id=world.user_ids["supplier_b"], role=Role.supplier, organisation_id=world.org_b
    )
    assert service.list_notifications(db, actor=other) == []
    with pytest.raises(NotFound):
        service.mark_read(db, actor=other, notification_id=mine.id)
