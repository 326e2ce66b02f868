"""The demo's part photos (演示零件图): small pictures of machined washers, some with a
defect (a scratch, a chipped rim or a crack), drawn with Pillow when the demo is built.

They are fictional and written for mosu's demo (no photograph of any real part): the image
corpus they make is labelled so in its provenance. Each is a PNG of :data:`SIZE` pixels drawn
from a fixed seed, so its bytes (and its SHA-256, by which the demo's fake vision models
answer) are the same on every build.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from dataclasses import dataclass

from PIL import Image, ImageDraw

SIZE = (64, 64)
DEFECT, SOUND = "有缺陷", "无缺陷"
LABELS = [DEFECT, SOUND]
SPLITS = (("train", 8), ("dev", 4), ("test", 24))
"""How many parts each split holds: a test split of 24, so the stage's public and private
parts hold about 12 each."""
SEED = 20261206
_KINDS = ("scratch", "chip", "crack")
KIND_NAMES = {"scratch": "划痕", "chip": "缺口", "crack": "裂纹", "": "无"}
"""The manifest's defect category (缺陷类型) for each kind drawn."""


@dataclass(frozen=True)
class Part:
    """One demo photo: its id, split, label, the defect drawn (empty for a sound part), PNG."""

    id: str
    split: str
    label: str
    defect: str
    png: bytes

    @property
    def path(self) -> str:
        return f"images/{self.id}.png"


def _background(rng: random.Random) -> Image.Image:
    """The conveyor belt under the part: a shaded slope in a random direction, with slats."""
    low, high = rng.randint(50, 80), rng.randint(110, 150)
    ramp = Image.linear_gradient("L").resize(SIZE).rotate(rng.choice((0, 90, 180, 270)))
    grey = ramp.point(lambda v: low + (high - low) * v // 255)
    image = Image.merge("RGB", (grey, grey, grey.point(lambda v: min(255, v + 12))))
    d = ImageDraw.Draw(image)
    step = rng.randint(9, 16)
    for y in range(rng.randint(0, step), SIZE[1], step):
        d.line((0, y, SIZE[0], y), fill=(low - 20,) * 3)
    return image


def _draw(rng: random.Random, defect: str) -> bytes:
    image = _background(rng)
    d = ImageDraw.Draw(image)
    shade = rng.randint(170, 225)
    cx, cy, r = 32 + rng.randint(-8, 8), 32 + rng.randint(-8, 8), rng.randint(15, 22)
    box = (cx - r, cy - r, cx + r, cy + r)
    if rng.random() < 0.5:
        d.ellipse(box, fill=(shade, shade, shade + 8))  # a washer
    else:
        d.regular_polygon((cx, cy, r), 6, rotation=rng.randint(0, 59), fill=(shade,) * 3)  # a nut
    hole = rng.randint(5, 9)
    d.ellipse((cx - hole, cy - hole, cx + hole, cy + hole), fill=image.getpixel((0, 0)))
    if defect == "scratch":
        x, y = cx + rng.randint(-12, 2), cy - r + 3
        d.line((x, y, x + rng.randint(8, 14), y + rng.randint(10, 16)), fill=(40, 40, 40), width=2)
    elif defect == "chip":
        start = rng.randint(0, 300)
        d.pieslice(box, start, start + 35, fill=image.getpixel((1, 1)))
    elif defect == "crack":
        angle_x, angle_y = rng.choice(((1, 0), (0, 1), (-1, 0), (0, -1)))
        x0, y0 = cx + angle_x * hole, cy + angle_y * hole
        d.line(
            (
                x0,
                y0,
                x0 + angle_x * (r - hole) // 2 + 3,
                y0 + angle_y * (r - hole) // 2 + 3,
                x0 + angle_x * (r - hole - 4),
                y0 + angle_y * (r - hole - 4),
            ),
            fill=(30, 30, 30),
            width=2,
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def parts(seed: int = SEED) -> list[Part]:
    """The demo's parts, half with a defect in every split, drawn from ``seed``."""
    rng = random.Random(seed)
    made: list[Part] = []
    for split, count in SPLITS:
        for n in range(count):
            defect = _KINDS[(n // 2) % len(_KINDS)] if n % 2 == 0 else ""
            label = DEFECT if defect else SOUND
            made.append(Part(f"{split}-{n:02d}", split, label, defect, _draw(rng, defect)))
    return made


def corpus_zip(made: list[Part]) -> bytes:
    """The parts as an image corpus: a zip of the PNGs and a JSON lines manifest."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        rows = [
            {
                "id": p.id,
                "image": p.path,
                "label": p.label,
                "split": p.split,
                "缺陷类型": KIND_NAMES[p.defect],
            }
            for p in made
        ]
        archive.writestr(
            "manifest.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
        )
        for p in made:
            archive.writestr(p.path, p.png)
    return buffer.getvalue()


__all__ = ["DEFECT", "LABELS", "SIZE", "SOUND", "Part", "corpus_zip", "parts"]
