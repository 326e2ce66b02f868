"""Builds a racing challenge for race tests: the demo hotline corpus, entries, endpoints."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu import race as races
from mosu.challenges.models import (
    Application,
    ApplicationMember,
    ApplicationState,
    Challenge,
    ChallengeKind,
    ChallengeState,
    CutRule,
    Entry,
    Stage,
    SubmissionMode,
)
from mosu.core import clock
from mosu.core.settings import Settings
from mosu.corpus.models import DatasetRow, DatasetVersion
from mosu.demo.loader import load_hotline
from mosu.evals import FakeConfig, serve_in_thread
from mosu.evals.netpolicy import LOCAL
from mosu.jobs.worker import Worker
from mosu.permissions import Actor, Role
from mosu.registry.models import ModelEndpoint
from mosu.scenarios.models import Scenario
from tests.conftest import World

OPERATOR = Actor(user_id=None, role=Role.operator, username="tests")
TASK = {
    "prompt": {
        "system": "判断市民留言应由哪个部门受理，只回答部门名称。",
        "template": "工单编号：{{ 编号 }}\n标题：{{ 标题 }}\n内容：{{ 内容 }}\n受理部门：",
    },
    "parser": "label",
    "scorers": ["accuracy", "macro_f1"],
}


def supplier(world: World, who: str, org: int) -> Actor:
    return Actor(user_id=world.user_ids[who], role=Role.supplier, organisation_id=org, username=who)


def hotline_version(session: Session) -> DatasetVersion:
    load_hotline(session, organisation_id=None)
    session.flush()
    version = session.scalars(select(DatasetVersion).order_by(DatasetVersion.id.desc())).first()
    assert version is not None
    return version


def answer_key(session: Session, version: DatasetVersion) -> dict[str, str]:
    rows = session.scalars(select(DatasetRow).where(DatasetRow.version_id == version.id))
    return {r.row_id: r.label or "" for r in rows}


@contextmanager
def fake_endpoints(
    answers: dict[str, str], labels: list[str], faults: dict[str, float] | None = None
) -> Iterator[str]:
    config = FakeConfig(
        answers=answers,
        id_pattern=r"工单编号：(\S+)",
        choices=labels,
        accuracy_by_model={"strong": 0.95, "middling": 0.75, "weak": 0.3},
        faults=faults or {},
        retry_after=0.05,
        hang=1.0,
    )
    with serve_in_thread(config) as (url, _server):
        yield url


@dataclass
class Race:
    challenge: Challenge
    version: DatasetVersion
    entries: dict[str, Entry] = field(default_factory=dict)
    endpoints: dict[str, ModelEndpoint] = field(default_factory=dict)


def shortlisting_challenge(
    session: Session, world: World, *, title: str, shortlist_places: int, winner_places: int
) -> Challenge:
    """A 政府榜 of org_demand from a new scenario, already in the shortlisting state (added,
    not yet flushed)."""
    scenario = Scenario(organisation_id=world.org_demand, title="热线工单智能分拨", domain="政务")
    session.add(scenario)
    session.flush()
    today = clock.today()
    challenge = Challenge(
        scenario_id=scenario.id,
        organisation_id=world.org_demand,
        kind=ChallengeKind.government,
        title=title,
        valid_from=today - dt.timedelta(days=30),
        valid_until=today + dt.timedelta(days=60),
        issuer="丙区政务服务中心",
        state=ChallengeState.shortlisting,
        shortlist_places=shortlist_places,
        winner_places=winner_places,
    )
    session.add(challenge)
    return challenge


def racing_challenge(
    session: Session,
    world: World,
    *,
    winners: int = 1,
    version: DatasetVersion | None = None,
    teams: tuple[str, ...] = ("甲队", "乙队"),
) -> Race:
    """A challenge in the shortlisting state with supplier entries: 甲队 of org_a, 乙队 of
    org_b in a consortium with org_a."""
    version = version or hotline_version(session)
    challenge = shortlisting_challenge(
        session, world, title="热线工单智能分拨揭榜", shortlist_places=5, winner_places=winners
    )
    session.flush()
    race = Race(challenge, version)
    for name, org, member in (("甲队", world.org_a, None), ("乙队", world.org_b, world.org_a)):
        if name not in teams:
            continue
        application = Application(
            challenge_id=challenge.id, organisation_id=org, state=ApplicationState.shortlisted
        )
        if member is not None:
            application.members.append(ApplicationMember(organisation_id=member, position=1))
        session.add(application)
        session.flush()
        entry = Entry(
            challenge_id=challenge.id,
            application_id=application.id,
            organisation_id=org,
            name=name,
        )
        session.add(entry)
        session.flush()
        race.entries[name] = entry
    return race


def endpoint(session: Session, org: int, url: str, model: str) -> ModelEndpoint:
    ep = ModelEndpoint(
        organisation_id=org,
        name=f"{model}-{url.rsplit(':', 1)[-1]}",
        base_url=url,
        model_name=model,
    )
    session.add(ep)
    session.flush()
    return ep


def stage_spec(
    name: str,
    *,
    rule: CutRule = CutRule.top_k,
    value: float = 1,
    mode: SubmissionMode = SubmissionMode.endpoint,
    version_id: int,
    opens: dt.datetime | None = None,
    hours: float = 2,
    daily: int = 3,
    total: int = 5,
) -> races.StageSpec:
    start = opens or clock.now() - dt.timedelta(minutes=5)
    return races.StageSpec(
        name=name,
        task=TASK,
        dataset_version_id=version_id,
        mode=mode,
        opens_at=start,
        closes_at=start + dt.timedelta(hours=hours),
        cut_rule=rule,
        cut_value=value,
        daily_limit=daily,
        total_limit=total,
    )


def predictions_race(session: Session, race: Race) -> Stage:
    """``race`` started with one open predictions stage, 初赛."""
    stage = races.add_stage(
        session,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=stage_spec("初赛", mode=SubmissionMode.predictions, version_id=race.version.id),
    )
    races.start_race(session, actor=OPERATOR, challenge_id=race.challenge.id)
    return stage


def drain(
    session: Session,
    data_dir: Path,
    kinds: list[str] | None = None,
    *,
    settings: Settings | None = None,
) -> int:
    """Run queued jobs in this thread until none is claimable; returns how many ran."""
    session.commit()
    worker = Worker(
        session.get_bind(),  # type: ignore[arg-type]
        data_dir=data_dir,
        kinds=kinds,
        lease_seconds=60,
        address_policy=LOCAL,  # the races' endpoints are fake servers on loopback
        settings=settings,
    )
    ran = 0
    while worker.run_once():
        ran += 1
    session.expire_all()
    return ran


def predictions_file(answers: dict[str, str], ids: list[str], wrong: int = 0) -> bytes:
    lines = []
    for i, sid in enumerate(ids):
        label = answers[sid] if i >= wrong else "不是部门"
        lines.append(json.dumps({"id": sid, "prediction": label}, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode()


def future_window(days: int = 1) -> dict[str, str]:
    """A stage's ``opens_at`` and ``closes_at`` for a request body: ``days`` from now, one
    day long (inside the helpers' challenge windows)."""
    opens = clock.local(clock.now()).replace(microsecond=0) + dt.timedelta(days=days)
    return {
        "opens_at": opens.isoformat(),
        "closes_at": (opens + dt.timedelta(days=1)).isoformat(),
    }
