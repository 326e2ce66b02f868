"""Arena prompts with images: a zip of prompts checked row by row, images stored once by
hash, sent to competitors and judges as ``image_url`` parts, shown and exported by reference."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import re
import resource
import zipfile
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.arena import board, images, service
from mosu.arena.judge import JUDGE_PATTERN
from mosu.arena.models import Answer, Arena, ArenaImage
from mosu.arena.schemas import ArenaIn, CompetitorIn, JudgeIn
from mosu.core.errors import Invalid, NotFound
from mosu.evals.fakeserver import FakeConfig, image_key, prompt_key, serve_in_thread
from mosu.evals.images import MAX_BYTES
from mosu.evals.netpolicy import LOCAL
from tests.conftest import LiveServer, World, client_for
from tests.evals.test_vision import bomb_png
from tests.helpers.arena import actor
from tests.helpers.arena_images import (
    QUESTIONS,
    TEXT_QUESTION,
    image_files,
    make_image_arena,
    picture,
    prompt_zip,
)

SHA = {name: hashlib.sha256(data).hexdigest() for name, data in image_files().items()}
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _turned_jpeg() -> bytes:
    """A wide JPEG that EXIF turns upright (orientation 6), carrying a location."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8825).update({1: "N", 2: (31.0, 11.0, 0.0)})
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (20, 160, 60)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_a_zip_of_prompts_makes_an_arena_with_images_stored_once(db: Session, world: World) -> None:
    arena = make_image_arena(db, world)
    carried = {p.key: p.image_sha256 for p in arena.prompts}
    assert carried == {"gauge": SHA["gauge.png"], "sign": SHA["sign.png"], "text": None}
    stored = {i.sha256: i for i in db.scalars(select(ArenaImage))}
    assert stored.keys() == {SHA["gauge.png"], SHA["sign.png"]}
    sign = stored[SHA["sign.png"]]
    assert (sign.format, sign.width, sign.height) == ("PNG", 400, 240)
    assert sign.data == image_files()["sign.png"], "an image without EXIF is kept as sent"
    # a second arena reusing an image stores it once; a turned JPEG is kept upright, no EXIF
    turned = _turned_jpeg()
    rows = images.read_prompt_zip(
        prompt_zip(
            [
                {"key": "again", "prompt": "同一张图", "image": "gauge.png"},
                {"key": "turned", "prompt": "这是什么颜色？", "image": "photos/turned.jpg"},
            ],
            {"gauge.png": image_files()["gauge.png"], "photos/turned.jpg": turned},
        )
    )
    data = ArenaIn(name="第二个图片竞技场", prompts=[r.text for r in rows])
    second = service.create_arena(db, actor=actor(world, "operator"), data=data, rows=rows)
    db.commit()
    assert db.scalar(select(func.count()).select_from(ArenaImage)) == 3
    upright = db.scalar(select(ArenaImage).where(ArenaImage.format == "JPEG"))
    assert upright is not None and (upright.width, upright.height) == (20, 40)
    assert upright.sha256 != hashlib.sha256(turned).hexdigest()
    assert dict(Image.open(io.BytesIO(upright.data)).getexif()) == {}, "the location is gone"
    assert images.arena_image(db, second, upright.sha256).id == upright.id
    with pytest.raises(NotFound):
        images.arena_image(db, arena, upright.sha256)  # not a prompt of the first arena


def _zip_with(members: dict[str, bytes], manifest: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr("manifest.jsonl", manifest)
    return buffer.getvalue()


def test_every_bad_row_is_reported_and_bombs_are_refused_with_bounded_memory() -> None:
    zeros = _zip_with({"zeros.png": b"\0" * (MAX_BYTES + 1)}, "")  # 20 MiB in about 20 KiB
    members = {
        "good.png": picture((10, 10, 10), 3),
        "bomb.png": bomb_png(50_000, 50_000),
        "zeros.png": zipfile.ZipFile(io.BytesIO(zeros)).read("zeros.png"),
        "note.gif": b"GIF89a not allowed",
    }
    manifest = "\n".join(
        json.dumps(r, ensure_ascii=False)
        for r in (
            {"prompt": "好的一行", "image": "good.png"},
            {"prompt": "像素炸弹", "image": "bomb.png"},
            {"prompt": "压缩炸弹", "image": "zeros.png"},
            {"prompt": "动图", "image": "note.gif"},
            {"prompt": "缺图", "image": "missing.png"},
            {"prompt": "", "image": "good.png"},
            {"key": "p1", "prompt": "重复的键", "image": ""},
        )
    )
    content = _zip_with(members, manifest)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(Invalid) as refused:
        images.read_prompt_zip(content)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 40_000  # KiB
    problems = {p["row"]: p["problem"] for p in refused.value.details}
    assert sorted(problems) == [2, 3, 4, 5, 6, 7], "every bad row, and only those"
    for row, reason in (
        (2, "decompression bomb"),
        (3, "over the limit"),
        (4, "not a JPEG, PNG or WebP"),
        (5, "not in the zip"),
        (6, "missing prompt text"),
        (7, "repeated"),
    ):
        assert reason in problems[row], problems[row]
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    for bad, reason in ((b"not a zip", "zip"), (empty.getvalue(), "manifest")):
        with pytest.raises(Invalid, match=reason):
            images.read_prompt_zip(bad)


def _sent_images(body: dict[str, Any]) -> tuple[str, list[str]]:
    """The text and the image hashes of a request's user message, as sent."""
    content = body["messages"][-1]["content"]
    if isinstance(content, str):
        return content, []
    text = "".join(p["text"] for p in content if p["type"] == "text")
    urls = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
    assert all(u.startswith("data:image/png;base64,") for u in urls)
    return text, [hashlib.sha256(base64.b64decode(u.split(",", 1)[1])).hexdigest() for u in urls]


@SQLITE
def test_competitors_and_the_judge_are_sent_the_image(db: Session, world: World) -> None:
    arena = make_image_arena(db, world)
    operator = actor(world, "operator")
    gold = {
        image_key(SHA["gauge.png"]): "读数为 42",
        image_key(SHA["sign.png"]): "红色的字",
        prompt_key(TEXT_QUESTION): "星期三",
    }
    expected = {
        QUESTIONS["gauge.png"]: [SHA["gauge.png"]],
        QUESTIONS["sign.png"]: [SHA["sign.png"]],
    }
    with serve_in_thread(FakeConfig(answers=gold, pair_pattern=JUDGE_PATTERN)) as (url, server):
        data = CompetitorIn(name="看图模型", spec=f"openai:{url}#seer?retries=0")
        seer = service.add_competitor(db, actor=operator, arena=arena, data=data, policy=LOCAL)
        report = service.generate_answers(db, actor=operator, arena=arena, policy=LOCAL)
        assert (report.generated, report.errors) == (3, 0), report.problems
        answers = {
            a.prompt_id: a.text
            for a in db.scalars(select(Answer).where(Answer.competitor_id == seer.id))
        }
        keys = {p.id: p.key for p in arena.prompts}
        assert {keys[k]: v for k, v in answers.items()} == {
            "gauge": "读数为 42",
            "sign": "红色的字",
            "text": "星期三",
        }, "the fake server read each image and answered by its hash"
        for body in list(server.bodies):
            text, sent = _sent_images(body)
            assert sent == expected.get(text, []), text
        server.bodies.clear()
        judge = JudgeIn(name="看图裁判", spec=f"openai:{url}#judge?retries=0", new_battles=8)
        judged = service.run_judge(
            db, actor=operator, arena=arena, data=judge, policy=LOCAL, rng=random.Random(5)
        )
        assert (judged.judged, judged.errors) == (8, 0)
        seen_images = 0
        for body in list(server.bodies):
            text, sent = _sent_images(body)
            question = re.search(r"\[问题\]\n(.*?)\n", text)
            assert question is not None
            assert sent == expected.get(question.group(1), []), question.group(1)
            seen_images += len(sent)
        assert seen_images > 0, "some judged battles had an image prompt"
    db.commit()
    keys = {p.key: p.image_sha256 for p in arena.prompts}
    records = board.export_records(db, arena, selection="judge")
    assert {r["question_id"] for r in records} == set(keys)
    for r in records:
        assert r.get("image_sha256") == keys[r["question_id"]], "the reference, if any"


def _arena_id_by_upload(ops: httpx.Client) -> int:
    rows = [
        {"key": "gauge", "prompt": QUESTIONS["gauge.png"], "image": "gauge.png"},
        {"key": "sign", "prompt": QUESTIONS["sign.png"], "image": "sign.png"},
    ]
    content = prompt_zip(rows, image_files())
    bad = ops.post(
        "/arenas/upload",
        data={"name": "坏图竞技场"},
        files={"file": ("p.zip", prompt_zip(rows, {"gauge.png": b"GIF89a"}), "application/zip")},
    )
    assert bad.status_code == 422
    assert [d["row"] for d in bad.json()["error"]["details"]] == [1, 2]
    created = ops.post(
        "/arenas/upload",
        data={"name": "上传的图片竞技场", "votes_per_minute": "30"},
        files={"file": ("p.zip", content, "application/zip")},
    )
    assert created.status_code == 201, created.text
    assert created.json()["prompts"] == 2 and created.json()["votes_per_minute"] == 30
    return int(created.json()["id"])


@SQLITE
def test_upload_battle_image_route_and_export(live: LiveServer, db: Session, world: World) -> None:
    with client_for(live, world, "operator") as ops:
        arena_id = _arena_id_by_upload(ops)
        arena = service.get_arena(db, arena_id)
        for name in ("甲", "乙"):
            answers = {p.key: f"{name}看到了{p.key}" for p in arena.prompts}
            added = ops.post(
                f"/arenas/{arena_id}/competitors", json={"name": name, "answers": answers}
            )
            assert added.status_code == 201
    with client_for(live, world, "expert") as expert:
        battle = expert.post(f"/arenas/{arena_id}/battles").json()
        url, sha = battle["image"]["url"], battle["image"]["sha256"]
        assert (url, sha in SHA.values()) == (images.image_path(arena_id, sha), True)
        assert battle["image"]["width"] in (480, 400)
        image = expert.get(live.url + url)
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.headers["x-content-type-options"] == "nosniff"
        assert image.content in image_files().values()
        vote = {"winner": "model_a"}
        assert expert.post(f"/arenas/{arena_id}/battles/{battle['id']}/vote", json=vote).is_success
    public = httpx.get(f"{live.url}{url}")
    assert public.status_code == 200 and "max-age" in public.headers["cache-control"]
    assert httpx.get(f"{live.url}/arena/{arena_id}/images/{'0' * 64}").status_code == 404
    elsewhere = make_image_arena(db, world, "另一个竞技场", text_prompt=False)
    assert httpx.get(f"{live.url}/arena/{elsewhere.id}/images/{sha}").status_code == 200
    assert httpx.get(f"{live.url}/arena/{arena_id + 99}/images/{sha}").status_code == 404
    exported = httpx.get(f"{live.url}/api/v1/arenas/{arena_id}/votes.jsonl").text
    records = [json.loads(line) for line in exported.splitlines()]
    assert len(records) == 1
    assert records[0]["image_sha256"] == sha
    assert records[0]["image_url"] == url
    arena = db.get(Arena, arena_id)
    assert arena is not None
    (record,) = board.export_records(db, arena)
    assert record["image_url"] == images.image_path(arena_id, sha)
