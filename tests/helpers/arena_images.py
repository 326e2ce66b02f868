"""Arena prompts with images: small pictures drawn with Pillow, a prompt zip, an arena."""

from __future__ import annotations

import csv
import io
import zipfile

from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from mosu.arena import images, service
from mosu.arena.models import Arena
from mosu.arena.schemas import ArenaIn, CompetitorIn
from tests.conftest import World
from tests.helpers.arena import actor

QUESTIONS = {
    "gauge.png": "表盘读数是多少？",
    "sign.png": "这块牌子上写着什么颜色的字？",
}


def picture(colour: tuple[int, int, int], mark: int, size: tuple[int, int] = (48, 32)) -> bytes:
    """A small PNG: a coloured field with a bar, ``mark`` making each one unique."""
    image = Image.new("RGB", size, (240, 240, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, size[0] - 5, size[1] // 2), fill=colour)
    image.putpixel((0, 0), (mark, 255 - mark, mark // 2))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def prompt_zip(rows: list[dict[str, str]], files: dict[str, bytes]) -> bytes:
    """A zip of ``files`` and a ``manifest.csv`` of ``rows`` (prompt, image, key)."""
    manifest = io.StringIO()
    writer = csv.DictWriter(manifest, fieldnames=["key", "prompt", "image"])
    writer.writeheader()
    writer.writerows(rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.csv", manifest.getvalue())
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def image_files() -> dict[str, bytes]:
    return {
        "gauge.png": picture((30, 90, 200), 1, size=(480, 320)),
        "sign.png": picture((200, 40, 40), 2, size=(400, 240)),
    }


TEXT_QUESTION = "没有图片的问题：今天星期几？"


def make_image_arena(
    db: Session, world: World, name: str = "图片问答竞技场", *, text_prompt: bool = True
) -> Arena:
    """An arena of two image prompts (and a text one), answered by two pre-written models."""
    rows = [
        {"key": "gauge", "prompt": QUESTIONS["gauge.png"], "image": "gauge.png"},
        {"key": "sign", "prompt": QUESTIONS["sign.png"], "image": "sign.png"},
    ]
    if text_prompt:
        rows.append({"key": "text", "prompt": TEXT_QUESTION, "image": ""})
    parsed = images.read_prompt_zip(prompt_zip(rows, image_files()))
    operator = actor(world, "operator")
    data = ArenaIn(name=name, prompts=[r.text for r in parsed])
    arena = service.create_arena(db, actor=operator, data=data, rows=parsed)
    for model, answer in (("看图详答", "图中可见：{}，已仔细查看。"), ("看图简答", "{}")):
        answers = {p.key: answer.format(p.key) for p in arena.prompts}
        service.add_competitor(
            db, actor=operator, arena=arena, data=CompetitorIn(name=model, answers=answers)
        )
    db.commit()
    return arena
