"""The demo's challenges, built on a fresh database: a race that really ran, and one open."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mosu import race as races
from mosu.accounts.models import User
from mosu.accounts.service import actor_for
from mosu.challenges import applications, catalogue, decisions
from mosu.challenges.deadlines import DEADLINE_JOB
from mosu.challenges.models import (
    Application,
    ApplicationState,
    Challenge,
    ChallengeEvent,
    ChallengeKind,
    ChallengeState,
    Entry,
    EntryState,
    Stage,
    StageState,
    Submission,
    SubmissionState,
)
from mosu.challenges.schemas import ApplicationIn
from mosu.core import clock
from mosu.core.db import make_engine
from mosu.core.errors import Conflict
from mosu.core.settings import Settings
from mosu.corpus.models import DatasetVersion
from mosu.demo import parts as demo_parts
from mosu.demo.challenge import DemoChallenges, build_demo_challenges, load_story
from mosu.demo.endpoints import keep_demo_endpoints
from mosu.demo.loader import load_community
from mosu.demo.race import run_submissions
from mosu.demo.review import load_review
from mosu.demo.vision import load_vision_story
from mosu.jobs.models import Job, JobState
from mosu.permissions import Actor
from mosu.race.report import report_data
from mosu.race.scoring import outcomes_of, stage_data
from mosu.registry.models import Model, ModelEndpoint
from mosu.review.decision import combined_table
from mosu.review.models import MemberState, PanelState
from mosu.review.panels import REMIND_JOB, confirm, panel_of
from mosu.review.results import panel_results
from mosu.review.scoring import close_panel, submit_score
from mosu.review.shortlist import confirm_shortlist, proposed_shortlist
from tests.conftest import on_primary_database

pytestmark = pytest.mark.loopback_endpoints  # the fake endpoints run on loopback

FINISHED_LOG = [
    ("operator", "created"),
    ("operator", "rubric_set"),
    ("operator", "publish"),
    ("supplier1", "application_submitted"),
    ("supplier2", "application_submitted"),
    ("supplier3", "application_submitted"),
    ("supplier4", "application_submitted"),
    ("operator", "application_approved"),
    ("operator", "application_approved"),
    ("operator", "application_approved"),
    ("operator", "application_rejected"),
    ("operator", "close_applications"),
    ("operator", "panel_drawn"),
    *[("member", "panel_member_confirmed")] * 5,
    ("operator", "panel_closed"),
    ("operator", "shortlist_confirmed"),
    ("operator", "application_shortlisted"),
    ("operator", "application_shortlisted"),
    ("operator", "application_shortlisted"),
    ("operator", "baseline_added"),
    ("operator", "baseline_added"),
    ("operator", "stage_added"),
    ("operator", "stage_added"),
    ("operator", "start_race"),
    ("system", "stage_closed"),
    ("system", "stage_closed"),
    ("operator", "combined_decided"),
    ("operator", "decide"),
    ("demand1", "start_delivery"),
]


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.mark.slow
@on_primary_database  # the races' storage is tested on both databases elsewhere
def test_demo_challenges(engine: Engine, settings: Settings) -> None:
    """Built once (the race takes seconds), checked in two parts."""
    with Session(engine) as session:
        load_community(session)
        session.commit()
    demo = build_demo_challenges(engine, settings)
    finished_challenge_went_through_every_step(engine, settings, demo)
    vision_challenge_is_finished_with_a_board_and_a_gallery(engine, settings, demo)
    open_challenge_takes_applications_and_can_race(engine, settings, demo)


def finished_challenge_went_through_every_step(
    engine: Engine, settings: Settings, demo: DemoChallenges
) -> None:
    with Session(engine) as session:
        challenge = session.get(Challenge, demo.finished_id)
        assert challenge is not None
        assert challenge.state is ChallengeState.delivery
        assert challenge.kind is ChallengeKind.government and challenge.bounty_yuan == 800_000
        assert challenge.require_filed_model and "工单分拨" in challenge.keywords
        assert challenge.organisation.name_zh == "徐汇区智慧政务服务中心"
        version = session.get(DatasetVersion, challenge.stages[0].dataset_version_id)
        assert version is not None and "演示" in version.dataset.name
        assert "虚构" in version.dataset.provenance  # the race's data is labelled fictional too
        events = session.scalars(
            select(ChallengeEvent)
            .where(ChallengeEvent.challenge_id == challenge.id)
            .order_by(ChallengeEvent.id)
        ).all()
        members = {f"expert{n}" for n in (1, 2, 3, 5, 6)}
        logged = [("member" if e.actor_name in members else e.actor_name, e.action) for e in events]
        assert logged == FINISHED_LOG
        assert [e.to_state for e in events if e.to_state] == [
            "draft",
            "open",
            "shortlisting",
            "racing",
            "decided",
            "delivery",
        ]

        applications = session.scalars(
            select(Application)
            .where(Application.challenge_id == challenge.id)
            .order_by(Application.id)
        ).all()
        states = [a.state for a in applications]
        # the three shortlisted moved on at the decision: one won, two not selected
        assert states.count(ApplicationState.won) == 1
        assert states.count(ApplicationState.not_selected) == 2
        rejected = next(a for a in applications if a.state is ApplicationState.rejected)
        assert "政务云" in rejected.decision_reason
        consortium = next(a for a in applications if a.members)
        assert [m.organisation.name_zh for m in consortium.members] == ["上海禾泽政务科技有限公司"]

        entries = {e.name: e for e in races.entries_of(session, challenge.id)}
        assert len(entries) == 5
        teams = races.entry_teams(session, list(entries.values()))  # the consortium's too
        assert teams == {e.id: races.entry_organisations(session, e) for e in entries.values()}
        assert any(len(team) > 1 for team in teams.values())
        cut_supplier = entries["上海明犀智能客服技术有限公司"]
        assert cut_supplier.state is EntryState.cut
        first, second = challenge.stages
        assert cut_supplier.cut_at_stage_id == first.id
        reason = str(cut_supplier.cut_reason)
        assert "初赛" in reason and "前 3 名" in reason
        assert (cut_supplier.name, reason) in demo.cut
        winners = [e for e in entries.values() if e.state is EntryState.winner]
        assert [w.name for w in winners] == [demo.winner] and winners[0].baseline is None

        now = clock.now()
        for stage, size in ((first, 5), (second, 3)):
            assert stage.state is StageState.closed and stage.closes_at < now
            assert stage.closed_at == stage.closes_at
            assert stage.leaderboard_public is not None and stage.leaderboard_final is not None
            assert len(stage.leaderboard_final["rows"]) == size
            rows = stage.leaderboard_final["rows"]
            assert all(r["low"] <= r["score"] <= r["high"] for r in rows)
            assert stage.leaderboard_final["samples"] == len(stage_data(session, stage).private)
        assert demo.final_board == second.leaderboard_final
        finished_panel_decided_the_shortlist_and_counts_in_the_decision(session, challenge)

        submissions = session.scalars(
            select(Submission)
            .where(Submission.stage_id.in_([first.id, second.id]))
            .order_by(Submission.id)
        ).all()
        assert len(submissions) == 8
        test_size = len(stage_data(session, first).task.samples())
        for s in submissions:
            assert s.state is SubmissionState.succeeded
            assert s.samples == test_size and s.public_score is not None
            assert s.stage.opens_at < s.created_at < s.stage.closes_at
            assert len(outcomes_of(settings.data_dir, s)) == test_size
        flaky = [s for s in submissions if s.entry.name == "上海声澈科技有限公司"]
        attempts = [
            sum(o.attempts for o in outcomes_of(settings.data_dir, s).values()) for s in flaky
        ]
        assert all(a > test_size for a in attempts)  # its failed calls were retried, not lost
        flaky_row = next(
            r for r in second.leaderboard_final["rows"] if r["entry"] == "上海声澈科技有限公司"
        )
        assert flaky_row["retries"] > 0  # and the board's error column shows them
        # the race left nothing behind in the queue for the server's worker; the open
        # challenge's panel waits with its two deadline reminders queued, and the notices'
        # deadline reminders wait for the server's worker
        jobs = session.scalars(select(Job)).all()
        later = (REMIND_JOB, DEADLINE_JOB)
        assert {j.state for j in jobs if j.kind not in later} == {JobState.succeeded}
        reminders = [j for j in jobs if j.kind == REMIND_JOB]
        assert len(reminders) == 2 and {j.state for j in reminders} == {JobState.queued}


def vision_challenge_is_finished_with_a_board_and_a_gallery(
    engine: Engine, settings: Settings, demo: DemoChallenges
) -> None:
    """The vision challenge raced its endpoints on the drawn part photos (an image corpus
    imported through the corpus import): its one stage is closed with a final board whose
    scores are the fake models' answers checked against the labels, and its report shows
    operators a gallery of public examples per entry."""
    with Session(engine) as session:
        challenge = session.get(Challenge, demo.vision_id)
        assert challenge is not None and challenge.state is ChallengeState.decided
        assert challenge.kind is ChallengeKind.enterprise
        [stage] = challenge.stages
        assert stage.state is StageState.closed and stage.leaderboard_final is not None
        version = session.get(DatasetVersion, stage.dataset_version_id)
        assert version is not None and "虚构" in version.dataset.provenance
        assert set(version.label_set) == set(demo_parts.LABELS)
        data = stage_data(session, stage)
        labels = {p.id: p.label for p in demo_parts.parts()}
        rows = {r["entry"]: r for r in stage.leaderboard_final["rows"]}
        assert len(rows) == 2 and stage.leaderboard_final["samples"] == len(data.private)
        winners = [
            e for e in races.entries_of(session, challenge.id) if e.state is EntryState.winner
        ]
        assert [w.name for w in winners] == [stage.leaderboard_final["rows"][0]["entry"]]
        submissions = session.scalars(select(Submission).where(Submission.stage_id == stage.id))
        for s in submissions:
            assert s.state is SubmissionState.succeeded and s.samples == 24
            outcomes = outcomes_of(settings.data_dir, s)
            right = [i for i in data.private if labels[i] in (outcomes[i].output or "")]
            assert s.private_score == pytest.approx(len(right) / len(data.private))
            assert rows[s.entry.name]["score"] == s.private_score
        operator = actor_for(session.scalars(select(User).where(User.username == "operator")).one())
        [shown] = report_data(session, operator, challenge, settings.data_dir)["stages"]
        assert {g["entry"] for g in shown["gallery"]} == set(rows)
        examples = [e for g in shown["gallery"] for e in g["right"] + g["wrong"]]
        assert examples and all(e["thumb"].startswith("data:image/png;base64,") for e in examples)
        assert all(e["sample_id"] in data.public for e in examples)


def open_challenge_takes_applications_and_can_race(
    engine: Engine, settings: Settings, demo: DemoChallenges
) -> None:
    with Session(engine) as session:
        challenge = session.get(Challenge, demo.open_id)
        assert challenge is not None and challenge.state is ChallengeState.open
        assert challenge.bounty_yuan is None  # 面议
        assert [s.name for s in challenge.stages] == ["初赛", "决赛"]
        assert all(s.opens_at > clock.now() for s in challenge.stages)
        users = {u.username: actor_for(u) for u in session.scalars(select(User))}
        operator, visitor = users["operator"], users["supplier1"]
        model = session.scalar(select(Model).where(Model.name == "星河-政务 13B"))
        assert model is not None
        application = applications.apply(
            session,
            actor=visitor,
            challenge_id=challenge.id,
            data=ApplicationIn(proposal="演示：星河-政务 13B 参加。", model_ids=[model.id]),
            data_dir=settings.data_dir,
            max_bytes=1 << 20,
        )
        decisions.decide_application(
            session, actor=operator, application_id=application.id, approve=True
        )
        catalogue.transition_challenge(
            session, actor=operator, challenge_id=challenge.id, name="close_applications"
        )
        entry = the_waiting_panel_reviews(session, challenge, application.id, users)
        races.start_race(session, actor=operator, challenge_id=challenge.id)
        assert challenge.state is ChallengeState.racing and entry.state is EntryState.active
        waiting = session.scalars(
            select(Job).where(Job.kind == races.CLOSE_JOB, Job.state == JobState.queued)
        ).all()
        assert sorted(j.available_at for j in waiting) == [s.closes_at for s in challenge.stages]
        session.commit()
        the_served_endpoint_answers(engine, settings, challenge.stages[0], entry, visitor)


def the_served_endpoint_answers(
    engine: Engine, settings: Settings, stage: Stage, entry: Entry, visitor: Actor
) -> None:
    """Once the demo is built its fake servers are gone; serving brings them back on the
    ports the endpoints record, and the open challenge's entry races its endpoint."""
    vision = [a["endpoint"]["name"] for a in load_vision_story()["applications"]]
    with Session(engine) as session:
        endpoint = session.scalars(
            select(ModelEndpoint).where(
                ModelEndpoint.organisation_id == visitor.organisation_id,
                ModelEndpoint.name.not_in(vision),  # its vision endpoint, served on its own
            )
        ).one()
        recorded = endpoint.base_url
    with keep_demo_endpoints(engine) as served:
        assert served is not None and recorded in (served.steady, served.flaky)
        with Session(engine) as session:
            urls = session.scalars(
                select(ModelEndpoint.base_url).where(ModelEndpoint.name.in_(vision))
            ).all()
        assert served.vision is not None and urls == [served.vision] * 2
        with Session(engine) as session:
            submission = races.submit(
                session,
                actor=visitor,
                stage_id=stage.id,
                endpoint_id=endpoint.id,
                data_dir=settings.data_dir,
                now=stage.opens_at + dt.timedelta(minutes=1),
            )
            session.commit()
            run_submissions(engine, settings, {submission.id: entry.name})
            session.refresh(submission)
            assert submission.state is SubmissionState.succeeded, submission.failure
            assert submission.public_score is not None and submission.errors == 0
    with pytest.raises(OSError):  # and stop with the serving
        socket.create_connection(("127.0.0.1", urlsplit(recorded).port or 0), timeout=1)


def finished_panel_decided_the_shortlist_and_counts_in_the_decision(
    session: Session, challenge: Challenge
) -> None:
    """The closed double-blind panel: the expert affiliated with the consortium's member was
    excluded by the draw, five confirmed and scored every approved application, the
    shortlist is the panel's proposal, and the winner is the combined rule's."""
    operator = actor_for(session.scalars(select(User).where(User.username == "operator")).one())
    panel = panel_of(session, challenge.id)
    assert panel is not None and panel.state is PanelState.closed and panel.seed == 20261205
    expert4 = session.scalars(select(User).where(User.username == "expert4")).one()
    assert "上海禾泽政务科技有限公司" in panel.excluded[str(expert4.id)]
    assert {m.expert.username for m in panel.members} == {f"expert{n}" for n in (1, 2, 3, 5, 6)}
    assert all(m.state is MemberState.confirmed for m in panel.members)
    results = panel_results(session, actor=operator, challenge_id=challenge.id)
    assert [len(a.scores) for a in results.applications] == [5, 5, 5]
    assert all(sum(s.dropped is not None for s in a.scores) == 2 for a in results.applications)
    assert results.agreement is not None and 0 <= results.agreement.kendall_w <= 1
    assert results.agreement.icc is not None
    table = combined_table(session, actor=operator, challenge_id=challenge.id)
    winners = [e for e in races.entries_of(session, challenge.id) if e.state is EntryState.winner]
    assert [w.id for w in winners] == table.rule_winners and table.decided


def the_waiting_panel_reviews(
    session: Session, challenge: Challenge, application_id: int, users: dict[str, Actor]
) -> Entry:
    """The open challenge's panel was drawn with a deadline and waits; once applications
    close its members confirm and score, the operator closes it and confirms the shortlist
    it proposes."""
    operator = users["operator"]
    panel = panel_of(session, challenge.id)
    assert panel is not None and panel.state is PanelState.open and len(panel.members) == 3
    assert panel.deadline is not None and panel.deadline > clock.now() + dt.timedelta(days=9)
    with pytest.raises(Conflict):  # the per-application shortlist gives way to the panel's
        decisions.shortlist(session, actor=operator, application_id=application_id)
    for member in panel.members:
        assert member.state is MemberState.invited
        expert = users[member.expert.username]
        confirm(session, actor=expert, panel_id=panel.id)
        scores = {"technical": 8, "team": 7, "feasibility": 7.5, "price": 9}
        submit_score(
            session,
            actor=expert,
            panel_id=panel.id,
            application_id=application_id,
            scores=scores,
            comment="演示：方案清楚，可以入围。",
        )
    close_panel(session, actor=operator, panel_id=panel.id)
    proposed = proposed_shortlist(session, challenge.id)
    assert proposed == [application_id]
    confirm_shortlist(session, actor=operator, challenge_id=challenge.id, application_ids=proposed)
    return next(e for e in races.entries_of(session, challenge.id) if e.baseline is None)


def test_the_demo_story_is_labelled_fictional() -> None:
    notice = load_story()["notice"]
    assert "fictional" in notice["en"] and "虚构" in notice["zh"]
    review = load_review()["notice"]
    assert "fictional" in review["en"] and "虚构" in review["zh"]
    vision = load_vision_story()
    assert "fictional" in vision["notice"]["en"] and "虚构" in vision["notice"]["zh"]
    assert "虚构" in vision["dataset"]["provenance"]
