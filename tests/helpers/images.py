"""Tiny images drawn with Pillow and image corpus zips for the tests."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from typing import Any

import numpy as np
from PIL import Image, ImageDraw


def picture(seed: int, size: int = 32) -> Image.Image:
    """A small picture of a few seeded rectangles: pictures of different seeds differ in
    their perceptual hashes, a resized copy of one does not."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x0, y0 = (int(v) for v in rng.integers(0, size - 8, 2))
        w, h = (int(v) for v in rng.integers(4, 16, 2))
        colour = tuple(int(v) for v in rng.integers(0, 200, 3))
        draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
    return image


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def png_of(seed: int, size: int = 32) -> bytes:
    return png(picture(seed, size))


def jpeg_with_gps(seed: int) -> bytes:
    """A JPEG whose EXIF carries a location (GPS IFD)."""
    image = picture(seed)
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def pixel_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG of a few dozen bytes whose header declares ``width`` × ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def image_zip(
    rows: list[dict[str, Any]], images: dict[str, bytes], manifest: str = "manifest.jsonl"
) -> bytes:
    """A zip of ``images`` (by path) and a JSON lines (or CSV) manifest of ``rows``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if manifest.endswith(".csv"):
            names = list(rows[0])
            lines = [",".join(names)] + [",".join(str(r[n]) for n in names) for r in rows]
            archive.writestr(manifest, "\n".join(lines))
        else:
            archive.writestr(manifest, "\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
        for path, data in images.items():
            archive.writestr(path, data)
    return buffer.getvalue()
