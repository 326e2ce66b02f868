"""The demo's 揭榜挂帅 challenges: one decided by a real two-stage 赛马 race, one still open
(and a finished vision race, :mod:`mosu.demo.vision`).

Every step goes through the platform's own services, so each challenge's audit log is the
one a real run writes: the demand organisation posts a scenario, the operator publishes a
challenge from it, suppliers apply (one as a consortium), the operator approves or rejects
each application with a reason, closes applications, shortlists, adds the built-in
baselines and two stages, and starts the race; the suppliers' endpoints are fake servers
and the submissions real jobs (:mod:`mosu.demo.race`). The system closes each stage by its
published rule, the operator names the winner and the issuer starts delivery (攻关中).

The finished race lies in the past: its stages' windows end before the demo is built, and
submissions and stage closes are made at moments inside those windows (the services'
``now``); the jobs themselves run on real time. The open challenge's stages lie ahead, so
a visitor can apply, be shortlisted and start its race. The texts are in
``data/challenges.json``: fictional, written for this demo, and labelled so.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import mosu.race.handlers  # noqa: F401  registers the race's job handlers
from mosu import race as races
from mosu.accounts.models import User
from mosu.accounts.service import actor_for, create_user
from mosu.challenges import applications, catalogue, decisions
from mosu.challenges.models import (
    Challenge,
    CutRule,
    Entry,
    EntryState,
    Stage,
    SubmissionMode,
)
from mosu.challenges.schemas import ApplicationIn, ChallengeIn
from mosu.core import clock
from mosu.core.credentials import CredentialBox
from mosu.core.settings import Settings
from mosu.corpus.models import Dataset, DatasetVersion
from mosu.demo import review as demo_review
from mosu.demo.loader import HOTLINE_DATASET
from mosu.demo.race import demo_endpoint, fake_endpoints, model_ids, run_submissions
from mosu.demo.vision import build_vision
from mosu.evals.netpolicy import AddressPolicy
from mosu.jobs.worker import Worker
from mosu.permissions import Actor, Role
from mosu.registry.models import Organisation
from mosu.review.decision import combined_table, decide_combined
from mosu.review.results import panel_results
from mosu.review.rubric import set_rubric
from mosu.review.schemas import RubricIn
from mosu.review.shortlist import confirm_shortlist, proposed_shortlist
from mosu.scenarios.schemas import ScenarioIn
from mosu.scenarios.service import create_scenario

STORY = Path(__file__).parent / "data" / "challenges.json"
PROMPT = {
    "system": "你是 12345 热线的工单分拨员。请判断市民留言应由哪个部门受理，只回答部门名称。",
    "template": "工单编号：{{ 编号 }}\n标题：{{ 标题 }}\n内容：{{ 内容 }}\n受理部门：",
}
FINISHED_TASK: dict[str, Any] = {
    "prompt": PROMPT,
    "parser": "label",
    "scorers": ["accuracy", "macro_f1"],
    "generation": {"temperature": 0.0, "max_tokens": 16},
}
OPEN_TASK: dict[str, Any] = {**FINISHED_TASK, "scorers": ["macro_f1", "accuracy"]}


@dataclass(frozen=True)
class DemoChallenges:
    """What the demo built: the finished challenge, its outcome, the open challenge and the
    finished vision challenge (:mod:`mosu.demo.vision`)."""

    finished_id: int
    open_id: int
    vision_id: int
    winner: str
    cut: list[tuple[str, str]]  # entry name, why it was cut
    final_board: dict[str, Any]  # the last stage's final (private) leaderboard
    combined: Table  # the finished challenge's combined decision, with the panel's agreement
    users: list[tuple[str, str, str]] = field(default_factory=list)  # username, password, role


def load_story(path: Path = STORY) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# ---------------------------------------------------------------- people and records


def _actors(session: Session) -> dict[str, Actor]:
    return {u.username: actor_for(u) for u in session.scalars(select(User))}


def _organisation(session: Session, name: str) -> int:
    org_id = session.scalar(select(Organisation.id).where(Organisation.name_zh == name))
    if org_id is None:
        raise LookupError(f"the demo community has no organisation {name}")
    return org_id


def _hotline_version(session: Session) -> DatasetVersion:
    version = session.scalars(
        select(DatasetVersion)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(Dataset.name == HOTLINE_DATASET)
        .order_by(DatasetVersion.number.desc())
    ).first()
    if version is None:
        raise LookupError("load the demo community first: its hotline corpus is missing")
    return version


def _add_users(session: Session, story: dict[str, Any]) -> list[tuple[str, str, str]]:
    added = []
    for u in story["users"]:
        create_user(
            session,
            username=u["username"],
            password=u["password"],
            role=Role(u["role"]),
            organisation_id=_organisation(session, u["organisation"]),
            display_name=u["display_name"],
        )
        added.append((u["username"], u["password"], u["role"]))
    return added


def _publish(
    session: Session,
    part: dict[str, Any],
    actors: dict[str, Actor],
    today: dt.date,
    rubric: RubricIn,
) -> Challenge:
    """The demand organisation posts the scenario; the operator drafts a challenge from it,
    sets its review rubric (fixed from publication on) and publishes it."""
    scenario = create_scenario(
        session, actor=actors[part["author"]], data=ScenarioIn(**part["scenario"])
    )
    challenge = catalogue.create_challenge(
        session,
        actor=actors["operator"],
        data=ChallengeIn(
            **part["challenge"],
            scenario_id=scenario.id,
            valid_from=today - dt.timedelta(days=30),
            valid_until=today + dt.timedelta(days=60),
        ),
    )
    set_rubric(session, actor=actors["operator"], challenge_id=challenge.id, data=rubric)
    catalogue.publish(session, actor=actors["operator"], challenge_id=challenge.id)
    return challenge


def _apply(
    session: Session,
    challenge: Challenge,
    spec: dict[str, Any],
    actors: dict[str, Actor],
    settings: Settings,
) -> int:
    applicant = actors[spec["applicant"]]
    assert applicant.organisation_id is not None
    members = [_organisation(session, name) for name in spec["members"]]
    application = applications.apply(
        session,
        actor=applicant,
        challenge_id=challenge.id,
        data=ApplicationIn(
            proposal=spec["proposal"],
            member_ids=members,
            model_ids=model_ids(session, [applicant.organisation_id, *members], spec["models"]),
        ),
        data_dir=settings.data_dir,
        max_bytes=settings.max_upload_mb * 1024 * 1024,
    )
    return application.id


def _stage(
    name: str,
    task: dict[str, Any],
    version_id: int,
    opens: dt.datetime,
    hours: float,
    rule: CutRule,
    value: float = 0.0,
    seed: int = 0,
) -> races.StageSpec:
    return races.StageSpec(
        name=name,
        task=task,
        dataset_version_id=version_id,
        mode=SubmissionMode.endpoint,
        opens_at=opens,
        closes_at=opens + dt.timedelta(hours=hours),
        cut_rule=rule,
        cut_value=value,
        split_seed=seed,
        daily_limit=3,
        total_limit=5,
    )


def _add_race(
    session: Session,
    story: dict[str, Any],
    operator: Actor,
    challenge_id: int,
    *,
    task: dict[str, Any],
    version_id: int,
    opens: dt.datetime,
    hours: tuple[float, float],
    seeds: tuple[int, int],
) -> list[Stage]:
    """The house baselines and two stages: 初赛 (the top 3 go on), then 决赛 (entries not
    significantly worse than the best go on)."""
    for b in story["baselines"]:
        races.add_house_entry(
            session,
            actor=operator,
            challenge_id=challenge_id,
            name=b["name"],
            baseline=b["baseline"],
        )
    first = _stage("初赛", task, version_id, opens, hours[0], CutRule.top_k, 3, seed=seeds[0])
    stages = [races.add_stage(session, actor=operator, challenge_id=challenge_id, spec=first)]
    final = _stage(
        "决赛", task, version_id, stages[0].closes_at, hours[1], CutRule.not_worse, seed=seeds[1]
    )
    stages.append(races.add_stage(session, actor=operator, challenge_id=challenge_id, spec=final))
    return stages


def _drain_close_jobs(engine: Engine, settings: Settings) -> None:
    """Run the stage-close jobs the race scheduled; its stages are closed already, so each
    finds nothing to do and ends (no job is left queued for the server's worker)."""
    worker = Worker(engine, kinds=[races.CLOSE_JOB], data_dir=settings.data_dir)
    while worker.run_once():
        pass


# ---------------------------------------------------------------- the two challenges


def _submit_all(
    session: Session,
    stage: Stage,
    entries: list[Entry],
    actors: dict[str, Actor],
    endpoints: dict[int, int],
    settings: Settings,
) -> dict[int, str]:
    """Each active entry submits once, a little after the stage opened (baselines first)."""
    made: dict[int, str] = {}
    active = [e for e in entries if e.state is EntryState.active]
    for n, entry in enumerate(sorted(active, key=lambda e: (e.baseline is None, e.id))):
        at = stage.opens_at + dt.timedelta(minutes=5 + 11 * n)
        if entry.baseline is not None:
            submission = races.submit(
                session,
                actor=actors["operator"],
                stage_id=stage.id,
                entry_id=entry.id,
                data_dir=settings.data_dir,
                note="平台基线 / house baseline",
                now=at,
                failure_limit=settings.submission_failure_limit,
            )
        else:
            lead = next(
                a
                for a in actors.values()
                if a.role is Role.supplier and a.organisation_id == entry.organisation_id
            )
            submission = races.submit(
                session,
                actor=lead,
                stage_id=stage.id,
                endpoint_id=endpoints[entry.id],
                data_dir=settings.data_dir,
                now=at,
                failure_limit=settings.submission_failure_limit,
            )
        made[submission.id] = f"{stage.name} · {entry.name}"
    session.commit()
    return made


def _shortlist(
    session: Session,
    story: dict[str, Any],
    review: dict[str, Any],
    actors: dict[str, Actor],
    settings: Settings,
    today: dt.date,
) -> tuple[Challenge, dict[str, Entry]]:
    """Publish with the rubric, take the applications, decide each, close applications, let
    the expert panel score the approved ones and shortlist as the panel's ranking proposes.
    Returns the challenge and the entries by applicant."""
    part = story["finished"]
    operator = actors["operator"]
    challenge = _publish(session, part, actors, today, demo_review.rubric(review, "finished"))
    applications = [_apply(session, challenge, a, actors, settings) for a in part["applications"]]
    for spec, app_id in zip(part["applications"], applications, strict=True):
        decisions.decide_application(
            session,
            actor=operator,
            application_id=app_id,
            approve=spec["decision"] == "approve",
            reason=spec["reason"],
        )
    catalogue.transition_challenge(
        session,
        actor=operator,
        challenge_id=challenge.id,
        name="close_applications",
        reason="揭榜申请截止 / applications closed",
    )
    by_applicant = {
        spec["applicant"]: app_id
        for spec, app_id in zip(part["applications"], applications, strict=True)
        if spec["decision"] == "approve"
    }
    demo_review.review_finished(session, review, operator, challenge.id, by_applicant)
    proposed = proposed_shortlist(session, challenge.id)
    confirm_shortlist(session, actor=operator, challenge_id=challenge.id, application_ids=proposed)
    entries = {e.application_id: e for e in races.entries_of(session, challenge.id)}
    return challenge, {name: entries[app_id] for name, app_id in by_applicant.items()}


def _register_endpoints(
    session: Session,
    part: dict[str, Any],
    actors: dict[str, Actor],
    entries: dict[str, Entry],
    urls: tuple[str, str],
    box: CredentialBox,
    policy: AddressPolicy,
) -> dict[int, int]:
    """Each shortlisted team registers its model's endpoint (with a key, stored encrypted)
    on the steady or the flaky fake server. Returns endpoint ids by entry id."""
    steady, flaky = urls
    endpoints: dict[int, int] = {}
    for spec in part["applications"]:
        entry = entries.get(spec["applicant"])
        if entry is None:
            continue
        actor, ep = actors[spec["applicant"]], spec["endpoint"]
        assert actor.organisation_id is not None
        model_id = model_ids(session, [actor.organisation_id], spec["models"][:1])[0]
        url = flaky if ep.get("flaky") else steady
        endpoints[entry.id] = demo_endpoint(
            session, actor, model_id, ep, url, box=box, policy=policy
        )
    return endpoints


def _run_stages(
    engine: Engine,
    session: Session,
    settings: Settings,
    stages: list[Stage],
    actors: dict[str, Actor],
    endpoints: dict[int, int],
    console: Console | None,
) -> None:
    """Every stage in turn: each entry submits its endpoint, the submissions run, the stage
    closes as its close job would at the deadline."""
    for stage in stages:
        entries = races.entries_of(session, stage.challenge_id)
        made = _submit_all(session, stage, entries, actors, endpoints, settings)
        run_submissions(engine, settings, made, console=console)
        session.expire_all()
        races.close_stage(  # what the stage's close job does at the deadline
            session,
            actor=races.SYSTEM,
            stage_id=stage.id,
            data_dir=settings.data_dir,
            now=stage.closes_at,
        )
        session.commit()


def build_finished(
    engine: Engine,
    settings: Settings,
    story: dict[str, Any],
    review: dict[str, Any],
    *,
    now: dt.datetime,
    console: Console | None = None,
) -> tuple[int, str, list[tuple[str, str]], dict[str, Any], Table]:
    """The decided challenge: scenario → published challenge with its rubric → applications
    → expert panel → shortlist → two-stage race (top 3 go on; then not significantly worse
    than the best) → winner by the published combined rule → delivery. Returns its id, the
    winner, the entries cut with why, the final board and the combined decision's table."""
    part = story["finished"]
    accuracy = {
        a["endpoint"]["model_name"]: float(a["endpoint"]["accuracy"])
        for a in part["applications"]
        if "endpoint" in a
    }
    with Session(engine) as session:
        actors = _actors(session)
        operator = actors["operator"]
        version = _hotline_version(session)
        challenge, by_applicant = _shortlist(session, story, review, actors, settings, now.date())
        stages = _add_race(
            session,
            story,
            operator,
            challenge.id,
            task=FINISHED_TASK,
            version_id=version.id,
            opens=now.replace(second=0, microsecond=0) - dt.timedelta(hours=4),
            hours=(2, 1.75),
            seeds=(1, 2),
        )
        challenge_id = challenge.id
        with fake_endpoints(list(version.label_set), accuracy) as urls:
            box = CredentialBox(settings.secret_key)
            policy = AddressPolicy(allow_private=settings.allow_private_endpoints)
            endpoints = _register_endpoints(session, part, actors, by_applicant, urls, box, policy)
            races.start_race(
                session,
                actor=operator,
                challenge_id=challenge_id,
                reason="入围名单确定，赛马开始 / shortlist drawn up, the race starts",
            )
            session.commit()
            _run_stages(engine, session, settings, stages, actors, endpoints, console)

        entries = races.entries_of(session, challenge_id)
        final = stages[-1].leaderboard_final
        assert final is not None
        table = combined_table(session, actor=operator, challenge_id=challenge_id)
        winner = next(e for e in entries if e.id in table.rule_winners)
        decide_combined(
            session,
            actor=operator,
            challenge_id=challenge_id,
            entry_ids=table.rule_winners,
            reason=part["winner_reason"],
        )
        catalogue.transition_challenge(
            session,
            actor=actors[part["author"]],
            challenge_id=challenge_id,
            name="start_delivery",
            reason=part["delivery_reason"],
        )
        cut = [(e.name, str(e.cut_reason)) for e in entries if e.state is EntryState.cut]
        session.commit()
        summary = demo_review.combined_rich_table(
            combined_table(session, actor=operator, challenge_id=challenge_id),
            panel_results(session, actor=operator, challenge_id=challenge_id).agreement,
        )
        result = (challenge_id, winner.name, cut, final, summary)
    _drain_close_jobs(engine, settings)
    return result


def build_open(
    engine: Engine,
    settings: Settings,
    story: dict[str, Any],
    review: dict[str, Any],
    *,
    now: dt.datetime,
) -> int:
    """The open challenge (待揭榜): published with its rubric, baselines and two stages
    ahead, one application waiting for the operator's decision, and its expert panel drawn,
    its members yet to confirm."""
    part = story["open"]
    with Session(engine) as session:
        actors = _actors(session)
        operator = actors["operator"]
        version = _hotline_version(session)
        challenge = _publish(session, part, actors, now.date(), demo_review.rubric(review, "open"))
        _add_race(
            session,
            story,
            operator,
            challenge.id,
            task=OPEN_TASK,
            version_id=version.id,
            opens=now.replace(second=0, microsecond=0) + dt.timedelta(minutes=15),
            hours=(7 * 24, 7 * 24),
            seeds=(3, 4),
        )
        for spec in part["applications"]:
            _apply(session, challenge, spec, actors, settings)
        demo_review.draw_open(session, review, operator, challenge.id)
        session.commit()
        return challenge.id


def build_demo_challenges(
    engine: Engine,
    settings: Settings,
    *,
    console: Console | None = None,
    now: dt.datetime | None = None,
) -> DemoChallenges:
    """Add the demo's challenges to a database holding the demo community (committed)."""
    story, review = load_story(), demo_review.load_review()
    moment = now or clock.now()
    with Session(engine) as session:
        users = _add_users(session, story)
        users += demo_review.add_experts(session, review, _actors(session)["operator"])
        session.commit()
    finished_id, winner, cut, final, combined = build_finished(
        engine, settings, story, review, now=moment, console=console
    )
    open_id = build_open(engine, settings, story, review, now=moment)
    vision_id = build_vision(engine, settings, now=moment, console=console)
    return DemoChallenges(finished_id, open_id, vision_id, winner, cut, final, combined, users)


__all__ = [
    "DemoChallenges",
    "build_demo_challenges",
    "build_finished",
    "build_open",
    "load_story",
]
