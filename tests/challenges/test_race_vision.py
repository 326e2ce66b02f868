"""A vision race on the platform (mosu/race on an image corpus): the stage's template places
the image, the entry's endpoint (a fake server answering by the image's SHA-256) is raced
through the engine, and the scores are exactly the answer key's; the report's gallery and
the per-sample images are for operators only."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session

import mosu.race.handlers  # noqa: F401  registers the race's job handlers
from mosu import race as races
from mosu.challenges.models import Stage, SubmissionState
from mosu.core.settings import Settings
from mosu.evals.fakeserver import FakeConfig, image_key, serve_in_thread
from mosu.evals.image_links import ImageLinks
from mosu.evals.images import decode_data_url
from mosu.race import builder, views
from mosu.race.report import report_data
from mosu.race.scoring import stage_data
from tests.conftest import LiveServer, World, on_primary_database
from tests.helpers.corpus import import_rows
from tests.helpers.images import image_zip, png_of
from tests.helpers.races import (
    OPERATOR,
    Race,
    drain,
    endpoint,
    racing_challenge,
    stage_spec,
    supplier,
)

LABELS = ["有缺陷", "无缺陷"]
TASK = {
    "prompt": {"template": "零件照片：{{ image }}\n这个零件有缺陷吗？只回答 有缺陷 或 无缺陷。"},
    "parser": "label",
    "scorers": ["accuracy"],
}
WRONG = {"x1", "x4", "x7"}
"""Test rows the fake endpoint answers wrongly (its key gives the other label)."""


@dataclass
class VisionStage:
    rows: list[dict[str, object]]
    images: dict[str, bytes]
    race: Race
    stage: Stage
    key: dict[str, str]
    """The fake endpoint's answers by image hash: right but for :data:`WRONG`."""


def vision_stage(db: Session, world: World, task: dict[str, object]) -> VisionStage:
    """A racing challenge with one stage of ``task`` over 17 part photos (12 test rows)."""
    rows: list[dict[str, object]] = [{"id": f"t{i}", "split": "train"} for i in range(3)]
    rows += [{"id": f"d{i}", "split": "dev"} for i in range(2)]
    rows += [{"id": f"x{i}", "split": "test"} for i in range(12)]
    images: dict[str, bytes] = {}
    for n, row in enumerate(rows):
        row.update(image=f"{row['id']}.png", label=LABELS[n % 2])
        images[f"{row['id']}.png"] = png_of(1000 + n)
    result = import_rows(db, image_zip(rows, images), filename="parts.zip", name="零件缺陷")
    assert result.version is not None, result.report
    race = racing_challenge(db, world, version=result.version, teams=("甲队",))
    spec = stage_spec("初赛", version_id=result.version.id, daily=5, total=5)
    stage = races.add_stage(
        db,
        actor=OPERATOR,
        challenge_id=race.challenge.id,
        spec=races.StageSpec(**{**spec.__dict__, "task": task}),
    )
    races.start_race(db, actor=OPERATOR, challenge_id=race.challenge.id)
    key = {}
    for row in rows:
        gold = str(row["label"])
        answer = LABELS[1 - LABELS.index(gold)] if row["id"] in WRONG else gold
        key[image_key(hashlib.sha256(images[str(row["image"])]).hexdigest())] = answer
    return VisionStage(rows, images, race, stage, key)


@on_primary_database  # the engine's path; image storage is tested on both in tests/corpus
def test_a_vision_race_scores_exactly_and_shows_images_to_operators_only(
    db: Session, world: World, settings: Settings
) -> None:
    vs = vision_stage(db, world, TASK)
    images, race, stage, key = vs.images, vs.race, vs.stage, vs.key
    version_id = stage.dataset_version_id
    shown = builder.preview(db, actor=OPERATOR, version_id=version_id, task=TASK)
    [_, part, _] = shown.messages[-1]["content"]  # text, the dev row's image, text
    sent = hashlib.sha256(decode_data_url(part["image_url"]["url"])).hexdigest()
    assert shown.split == "dev" and sent == hashlib.sha256(images["d0.png"]).hexdigest()
    data = stage_data(db, stage)
    assert data.public and data.private
    with serve_in_thread(FakeConfig(answers=key, choices=LABELS)) as (url, server):
        ep = endpoint(db, world.org_a, url, "vision-model")
        member = supplier(world, "supplier_a", world.org_a)
        made = races.submit(
            db, actor=member, stage_id=stage.id, endpoint_id=ep.id, data_dir=settings.data_dir
        )
        drain(db, settings.data_dir, [races.SUBMISSION_JOB])
    db.refresh(made)
    assert made.state is SubmissionState.succeeded, made.error
    assert server.stats()["received"] == 12  # every test image, each once
    for part, ids in (("public", data.public), ("private", data.private)):
        expected = len(ids - WRONG) / len(ids)
        assert getattr(made, f"{part}_score") == expected, part

    gallery = report_data(db, OPERATOR, race.challenge, settings.data_dir)["stages"][0]["gallery"]
    [entry] = gallery
    assert entry["entry"] == "甲队"
    shown = entry["right"] + entry["wrong"]
    assert {e["sample_id"] for e in entry["wrong"]} == WRONG & data.public
    assert all(e["thumb"].startswith("data:image/png;base64,") for e in shown)
    assert all(e["sample_id"] in data.public for e in shown)
    assert all((e["answer"] == e["label"]) == e["right"] for e in shown)
    report = report_data(db, member, race.challenge, settings.data_dir)
    assert report["stages"][0]["gallery"] == []

    seen = views.submission_samples(db, OPERATOR, made.id, settings.data_dir)
    assert len(seen) == 12 and all(s.image and "/images/image" in s.image for s in seen)
    own = views.submission_samples(db, member, made.id, settings.data_dir)
    assert len(own) == 12 and all(s.image is None for s in own)


@on_primary_database
def test_a_stage_sending_signed_links_races_the_same_and_the_links_expire(
    db: Session, world: World, settings: Settings, live: LiveServer
) -> None:
    """``image_delivery: signed_url``: the endpoint gets links to the platform instead of
    base64, fetches each image from the live app, and the scores are the base64 race's;
    a link serves its image until it expires, and a changed or stale link serves nothing."""
    vs = vision_stage(db, world, {**TASK, "image_delivery": "signed_url"})
    site = settings.model_copy(update={"site_url": live.url})
    data = stage_data(db, vs.stage)
    with serve_in_thread(FakeConfig(answers=vs.key, choices=LABELS)) as (url, server):
        ep = endpoint(db, world.org_a, url, "vision-model")
        member = supplier(world, "supplier_a", world.org_a)
        made = races.submit(
            db, actor=member, stage_id=vs.stage.id, endpoint_id=ep.id, data_dir=settings.data_dir
        )
        drain(db, settings.data_dir, [races.SUBMISSION_JOB], settings=site)
        sent = [part for body in server.bodies for part in _image_parts(body)]
    db.refresh(made)
    assert made.state is SubmissionState.succeeded, made.error
    assert server.stats()["fetched"] == 12 and len(sent) == 12
    assert all(p.startswith(f"{live.url}/api/v1/corpus/images/") for p in sent)
    for part, ids in (("public", data.public), ("private", data.private)):
        assert getattr(made, f"{part}_score") == len(ids - WRONG) / len(ids), part

    picture = vs.images["x0.png"]
    sha = hashlib.sha256(picture).hexdigest()
    links = ImageLinks.for_site(live.url, settings.secret_key)
    fresh = httpx.get(links.url(sha))
    assert fresh.status_code == 200 and fresh.content == picture
    assert fresh.headers["content-type"] == "image/png"
    assert "private" in fresh.headers["cache-control"]
    stale = links.url(sha, now=time.time() - links.ttl - 1)
    other = hashlib.sha256(vs.images["x1.png"]).hexdigest()
    forged = links.url(sha).replace(sha, other)  # another image under this link's signature
    wrong_key = ImageLinks.for_site(live.url, "another-secret-key-of-32-characters!").url(sha)
    for refused in (stale, forged, wrong_key, links.url(sha).replace("sig=", "sig=0")):
        answer = httpx.get(refused)
        assert answer.status_code in (403, 422) and answer.content != picture, refused
    assert httpx.get(links.url(sha).partition("?")[0]).status_code == 403  # no link at all


def _image_parts(body: dict[str, object]) -> list[str]:
    messages = body["messages"]
    assert isinstance(messages, list)
    content = messages[-1]["content"]
    return [p["image_url"]["url"] for p in content if p.get("type") == "image_url"]
