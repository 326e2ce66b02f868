"""The demo's vision challenge (工业零件缺陷识别): a race on an image corpus, finished.

An enterprise's scenario, posted by the operator for it, becomes a challenge; two suppliers
apply with multimodal models and are shortlisted; one stage races their endpoints on the
demo's part photos (:mod:`mosu.demo.parts`, imported as an image corpus through the corpus
import), and the operator names the winner. The endpoints are the project's fake server on
loopback answering by each image's SHA-256 with a set accuracy per model; the submissions
run on the text race's workers (:func:`mosu.demo.race.run_submissions`). Like the text race
it lies in the past: its stage's window ends before the demo is built. The texts are in
``data/vision.json``: fictional, written for this demo, and labelled so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import mosu.race.handlers  # noqa: F401  registers the race's job handlers
from mosu import race as races
from mosu.accounts.models import User
from mosu.accounts.service import actor_for
from mosu.challenges import applications, catalogue, decisions
from mosu.challenges.models import CutRule, Stage, SubmissionMode
from mosu.challenges.schemas import ApplicationIn, ChallengeIn
from mosu.core.credentials import CredentialBox
from mosu.core.settings import Settings
from mosu.corpus.catalogue import create_dataset
from mosu.corpus.imports import import_version
from mosu.corpus.models import DatasetVersion
from mosu.corpus.readers import Part as ImportPart
from mosu.corpus.schemas import DatasetIn, ImportOptions, Roles
from mosu.demo import parts as demo_parts
from mosu.demo.race import demo_endpoint, model_ids, run_submissions
from mosu.evals import FakeConfig, serve_in_thread
from mosu.evals.fakeserver import image_key
from mosu.evals.netpolicy import AddressPolicy
from mosu.jobs.worker import Worker
from mosu.permissions import Actor
from mosu.registry.models import Organisation
from mosu.scenarios.schemas import ScenarioIn
from mosu.scenarios.service import create_scenario

STORY = Path(__file__).parent / "data" / "vision.json"
VISION_TASK: dict[str, Any] = {
    "prompt": {
        "system": "你是精密垫片产线的质检员。看零件照片，判断零件是否有缺陷，只回答 有缺陷 或 无缺陷。",
        "template": "零件照片：{{ image }}\n这个零件有缺陷吗？",
    },
    "parser": "label",
    "scorers": ["accuracy", "macro_f1"],
    "generation": {"temperature": 0.0, "max_tokens": 8},
}


def load_vision_story(path: Path = STORY) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def answer_key(made: list[demo_parts.Part]) -> dict[str, str]:
    """What the fake vision models "know": each part's label, by its image's SHA-256."""
    return {image_key(hashlib.sha256(p.png).hexdigest()): p.label for p in made}


def load_parts(
    session: Session, operator: Actor, story: dict[str, Any], organisation_id: int
) -> tuple[DatasetVersion, list[demo_parts.Part]]:
    """The part photos drawn and imported as an image corpus (zip + manifest), split as the
    manifest says, the test split hidden."""
    made = demo_parts.parts()
    dataset = create_dataset(
        session, actor=operator, data=DatasetIn(**story["dataset"], organisation_id=organisation_id)
    )
    result = import_version(
        session,
        actor=operator,
        dataset=dataset,
        parts=[ImportPart("parts.zip", content=demo_parts.corpus_zip(made))],
        options=ImportOptions(
            roles=Roles(
                id_field="id",
                label_field="label",
                split_field="split",
                category_field="缺陷类型",
                image_fields=["image"],
            )
        ),
    )
    if result.version is None:
        raise RuntimeError(f"demo part photos did not import: {result.report.problems[:3]}")
    return result.version, made


def _shortlist(
    session: Session,
    story: dict[str, Any],
    actors: dict[str, Actor],
    settings: Settings,
    organisation_id: int,
    today: dt.date,
) -> int:
    """Scenario → published challenge → applications approved → shortlisted. Returns the
    challenge's id."""
    operator = actors["operator"]
    scenario = create_scenario(
        session,
        actor=operator,
        data=ScenarioIn(**story["scenario"], organisation_id=organisation_id),
    )
    challenge = catalogue.create_challenge(
        session,
        actor=operator,
        data=ChallengeIn(
            **story["challenge"],
            scenario_id=scenario.id,
            valid_from=today - dt.timedelta(days=30),
            valid_until=today + dt.timedelta(days=60),
        ),
    )
    catalogue.publish(session, actor=operator, challenge_id=challenge.id)
    made = []
    for spec in story["applications"]:
        applicant = actors[spec["applicant"]]
        assert applicant.organisation_id is not None
        models = model_ids(session, [applicant.organisation_id], spec["models"])
        made.append(
            applications.apply(
                session,
                actor=applicant,
                challenge_id=challenge.id,
                data=ApplicationIn(proposal=spec["proposal"], model_ids=models),
                data_dir=settings.data_dir,
                max_bytes=settings.max_upload_mb * 1024 * 1024,
            )
        )
    for application in made:
        decisions.decide_application(
            session,
            actor=operator,
            application_id=application.id,
            approve=True,
            reason=story["approve_reason"],
        )
    catalogue.transition_challenge(
        session,
        actor=operator,
        challenge_id=challenge.id,
        name="close_applications",
        reason="揭榜申请截止 / applications closed",
    )
    for application in made:
        decisions.shortlist(session, actor=operator, application_id=application.id)
    return challenge.id


@contextmanager
def vision_server(
    story: dict[str, Any], port: int = 0, made: list[demo_parts.Part] | None = None
) -> Iterator[str]:
    """The fake vision server on loopback, answering by each part photo's SHA-256 (``made``:
    the photos drawn already) with each model's accuracy (``port``: where to listen; 0, or a
    port already taken: any free one). Yields its base URL."""
    accuracy = {
        a["endpoint"]["model_name"]: float(a["endpoint"]["accuracy"]) for a in story["applications"]
    }
    config = FakeConfig(
        latency=0.01,
        answers=answer_key(made or demo_parts.parts()),
        choices=demo_parts.LABELS,
        accuracy_by_model=accuracy,
    )
    with ExitStack() as stack:
        try:
            url, _ = stack.enter_context(serve_in_thread(config, port=port))
        except OSError:  # the recorded port is taken now: any free one
            url, _ = stack.enter_context(serve_in_thread(config))
        yield url


def _endpoints(
    session: Session,
    story: dict[str, Any],
    actors: dict[str, Actor],
    url: str,
    settings: Settings,
) -> dict[str, int]:
    """Each shortlisted team registers its model's endpoint on the fake vision server."""
    box = CredentialBox(settings.secret_key)
    policy = AddressPolicy(allow_private=settings.allow_private_endpoints)
    made: dict[str, int] = {}
    for spec in story["applications"]:
        actor, ep = actors[spec["applicant"]], spec["endpoint"]
        assert actor.organisation_id is not None
        [model_id] = model_ids(session, [actor.organisation_id], spec["models"][:1])
        made[spec["applicant"]] = demo_endpoint(
            session, actor, model_id, ep, url, box=box, policy=policy
        )
    return made


def _race(
    engine: Engine,
    session: Session,
    settings: Settings,
    story: dict[str, Any],
    actors: dict[str, Actor],
    stage: Stage,
    made: list[demo_parts.Part],
    console: Console | None,
) -> None:
    """Start the race, each team submits its endpoint on the fake vision server (a little
    after the stage opened) and the submissions run."""
    with vision_server(story, made=made) as url:
        endpoints = _endpoints(session, story, actors, url, settings)
        races.start_race(
            session,
            actor=actors["operator"],
            challenge_id=stage.challenge_id,
            reason="入围名单确定，赛马开始 / shortlist drawn up, the race starts",
        )
        submitted: dict[int, str] = {}
        for n, (applicant, endpoint_id) in enumerate(endpoints.items()):
            submission = races.submit(
                session,
                actor=actors[applicant],
                stage_id=stage.id,
                endpoint_id=endpoint_id,
                data_dir=settings.data_dir,
                now=stage.opens_at + dt.timedelta(minutes=7 + 13 * n),
                failure_limit=settings.submission_failure_limit,
            )
            submitted[submission.id] = f"视觉 vision · {stage.name} · {submission.entry.name}"
        session.commit()
        run_submissions(engine, settings, submitted, console=console)


def build_vision(
    engine: Engine,
    settings: Settings,
    *,
    now: dt.datetime,
    console: Console | None = None,
) -> int:
    """The finished vision challenge: shortlist → one stage raced on the part photos →
    closed at its deadline → winner named. Returns its id."""
    story = load_vision_story()
    with Session(engine) as session:
        actors = {u.username: actor_for(u) for u in session.scalars(select(User))}
        operator = actors["operator"]
        org_id = session.scalars(
            select(Organisation.id).where(Organisation.name_zh == story["demand_organisation"])
        ).one()
        version, made = load_parts(session, operator, story, org_id)
        challenge_id = _shortlist(session, story, actors, settings, org_id, now.date())
        opens = now.replace(second=0, microsecond=0) - dt.timedelta(hours=3)
        spec = races.StageSpec(
            name="初赛",
            task=VISION_TASK,
            dataset_version_id=version.id,
            mode=SubmissionMode.endpoint,
            opens_at=opens,
            closes_at=opens + dt.timedelta(hours=2),
            cut_rule=CutRule.top_k,
            cut_value=2,
            split_seed=1,  # 12 public, 12 private
            daily_limit=3,
            total_limit=5,
        )
        stage = races.add_stage(session, actor=operator, challenge_id=challenge_id, spec=spec)
        _race(engine, session, settings, story, actors, stage, made, console)
        session.expire_all()
        races.close_stage(  # what the stage's close job does at the deadline
            session,
            actor=races.SYSTEM,
            stage_id=stage.id,
            data_dir=settings.data_dir,
            now=stage.closes_at,
        )
        board = stage.leaderboard_final
        assert board is not None
        races.decide(
            session,
            actor=operator,
            challenge_id=challenge_id,
            entry_ids=[board["rows"][0]["entry_id"]],
            reason=story["winner_reason"],
        )
        session.commit()
    worker = Worker(engine, kinds=[races.CLOSE_JOB], data_dir=settings.data_dir)
    while worker.run_once():  # the close job finds its stage closed and ends
        pass
    return challenge_id


__all__ = [
    "VISION_TASK",
    "answer_key",
    "build_vision",
    "load_parts",
    "load_vision_story",
    "vision_server",
]
