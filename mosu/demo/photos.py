"""The demo arena's photos (演示照片): small pictures a citizen might attach to a hotline
message, drawn with Pillow when the demo is built.

They are fictional and written for mosu's demo (no photograph of any real place), and each
is labelled so in its corner. Each is a PNG of :data:`SIZE` pixels, drawn the same way every
time, so its bytes (and its SHA-256) are the same on every build.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw

SIZE = (240, 160)
LABEL = "mosu demo - fictional"
_SKY, _GROUND, _DARK, _GREY = (206, 224, 240), (190, 190, 182), (60, 60, 64), (140, 140, 136)


@dataclass(frozen=True)
class Photo:
    """A demo photo: the message's title, the department it goes to, how it is drawn."""

    title: str
    department: str
    draw: Callable[[ImageDraw.ImageDraw], None]


def _lamp(d: ImageDraw.ImageDraw) -> None:
    d.rectangle((0, 0, 239, 159), fill=(40, 44, 70))
    d.rectangle((0, 120, 239, 159), fill=_GREY)
    d.rectangle((112, 30, 120, 120), fill=_DARK)
    d.rectangle((96, 24, 150, 34), fill=_DARK)
    d.ellipse((138, 32, 156, 46), fill=(90, 90, 90))  # the lamp, dark


def _pavement(d: ImageDraw.ImageDraw) -> None:
    d.rectangle((0, 0, 239, 159), fill=_GROUND)
    for x in range(0, 240, 40):
        d.line((x, 0, x, 159), fill=_GREY, width=2)
    for y in range(0, 160, 40):
        d.line((0, y, 239, y), fill=_GREY, width=2)
    d.line((70, 30, 110, 80, 95, 120, 150, 150), fill=_DARK, width=4)  # the crack
    d.polygon((118, 70, 160, 64, 150, 104, 112, 98), fill=(120, 96, 70))  # a missing slab


def _bin(d: ImageDraw.ImageDraw) -> None:
    d.rectangle((0, 0, 239, 159), fill=_SKY)
    d.rectangle((0, 128, 239, 159), fill=_GREY)
    d.rectangle((90, 60, 150, 130), fill=(40, 120, 60))
    for k, colour in enumerate(((200, 60, 50), (230, 200, 60), (240, 240, 240), (90, 60, 40))):
        d.ellipse((70 + 22 * k, 38 - 6 * (k % 2), 100 + 22 * k, 66), fill=colour)
    d.ellipse((40, 120, 70, 136), fill=(230, 200, 60))  # spilled beside it


def _manhole(d: ImageDraw.ImageDraw) -> None:
    d.rectangle((0, 0, 239, 159), fill=(110, 110, 112))
    d.line((0, 80, 239, 80), fill=(230, 230, 230), width=3)
    d.ellipse((80, 40, 160, 120), fill=(20, 20, 22))  # the open hole
    d.ellipse((170, 100, 230, 150), outline=_DARK, width=4)  # the cover, moved


PHOTOS = (
    Photo("路灯不亮（附照片）", "市容环卫", _lamp),
    Photo("人行道地砖破损（附照片）", "交通管理", _pavement),
    Photo("小区垃圾桶满溢（附照片）", "市容环卫", _bin),
    Photo("路口井盖缺失（附照片）", "住房物业", _manhole),
)


def render(photo: Photo) -> bytes:
    """The photo as PNG bytes, labelled fictional in its corner."""
    image = Image.new("RGB", SIZE, _GROUND)
    draw = ImageDraw.Draw(image)
    photo.draw(draw)
    draw.rectangle((0, SIZE[1] - 14, 130, SIZE[1] - 1), fill=(255, 255, 255))
    draw.text((3, SIZE[1] - 13), LABEL, fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()
