"""Checking the images of an image corpus import (图像校验): each row's images checked as the
engine checks them (:func:`mosu.evals.images.check_image`), and duplicates found by the
SHA-256 of the checked bytes (exact) and by a perceptual hash (near: a resized, re-encoded
or slightly retouched copy).

The perceptual hashes are dHash and aHash, 64 bits each, computed with Pillow and numpy:
dHash compares each pixel of a 9 × 8 grey thumbnail with its right neighbour, aHash each
pixel of an 8 × 8 one with their mean. Two images are near-duplicates when both hashes
differ in at most :data:`NEAR_BITS` bits. Candidates are found without comparing every pair:
the dHash is cut into :data:`BANDS` bands, and two hashes within ``NEAR_BITS`` bits agree
on at least one band (pigeonhole), so only images sharing a band are compared.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mosu.corpus.image_zip import member_path
from mosu.evals.images import ImageData, ImageError, check_image

NEAR_BITS = 4
"""Bits two perceptual hashes may differ by (of 64) for the images to be near-duplicates."""
BANDS = NEAR_BITS + 1
THUMB_SIDE = 160
"""The longest side of a card's thumbnail, in pixels."""

Flag = Callable[[int, str, Any, str, bool], None]


@dataclass(frozen=True)
class Hashes:
    """An image's perceptual hashes, as 64-bit integers."""

    dhash: int
    ahash: int


def _bits(values: np.ndarray) -> int:
    out = 0
    for bit in values.ravel().tolist():
        out = (out << 1) | int(bit)
    return out


def perceptual_hashes(image: ImageData) -> Hashes:
    """dHash and aHash of a checked image (see the module)."""
    return derive(image)[0]


def thumbnail(image: ImageData) -> bytes:
    """A small PNG of the image (longest side :data:`THUMB_SIDE`), for the card's grid."""
    return derive(image)[1]


def derive(image: ImageData) -> tuple[Hashes, bytes]:
    """The perceptual hashes and the thumbnail of a checked image, from one decode."""
    from PIL import Image

    with Image.open(io.BytesIO(image.data)) as opened:
        opened.draft("RGB", (THUMB_SIDE * 2, THUMB_SIDE * 2))  # JPEG: decode at a smaller scale
        small = opened.convert("RGBA" if opened.mode in ("RGBA", "LA", "P", "PA") else "RGB")
    small.thumbnail((THUMB_SIDE, THUMB_SIDE))
    buffer = io.BytesIO()
    small.save(buffer, "PNG")
    grey = small.convert("L")
    wide = np.asarray(grey.resize((9, 8), Image.Resampling.LANCZOS), dtype=np.int16)
    tiny = np.asarray(grey.resize((8, 8), Image.Resampling.LANCZOS), dtype=np.float64)
    hashes = Hashes(_bits(wide[:, 1:] > wide[:, :-1]), _bits(tiny > tiny.mean()))
    return hashes, buffer.getvalue()


def distance(a: int, b: int) -> int:
    """Bits in which two 64-bit hashes differ."""
    return (a ^ b).bit_count()


def near_duplicate_pairs(hashes: list[Hashes]) -> list[tuple[int, int, int]]:
    """Pairs ``(i, j, bits)``, ``i < j``, of near-duplicate images (both hashes within
    :data:`NEAR_BITS` bits; ``bits`` the dHash distance); each ``j`` against its first match."""
    if len(hashes) < 2:
        return []
    values = np.array([h.dhash for h in hashes], dtype=np.uint64)
    averages = np.array([h.ahash for h in hashes], dtype=np.uint64)
    width = -(-64 // BANDS)
    candidates: set[tuple[int, int]] = set()
    for band in range(BANDS):
        keys = (values >> np.uint64(band * width)) & np.uint64((1 << width) - 1)
        order = np.argsort(keys, kind="stable")
        ranked = keys[order]
        step = 1
        # hashes sharing the band's bits are neighbours once sorted: compare each with the
        # one ``step`` places on, until no group is that long
        while step < len(order):
            same = ranked[step:] == ranked[:-step]
            if not same.any():
                break
            a, b = order[:-step][same], order[step:][same]
            near = _popcount(values[a] ^ values[b]) <= NEAR_BITS
            near &= _popcount(averages[a] ^ averages[b]) <= NEAR_BITS
            low, high = np.minimum(a, b)[near], np.maximum(a, b)[near]
            candidates.update(zip(low.tolist(), high.tolist(), strict=True))
            step += 1
    found: list[tuple[int, int, int]] = []
    matched: set[int] = set()
    for i, j in sorted(candidates, key=lambda p: (p[1], p[0])):
        if j not in matched:
            found.append((i, j, distance(hashes[i].dhash, hashes[j].dhash)))
            matched.add(j)
    return found


def _popcount(values: np.ndarray) -> np.ndarray:
    as_bytes = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    counts: np.ndarray = np.unpackbits(as_bytes, axis=1).sum(axis=1)
    return counts


@dataclass
class CheckedImage:
    """A row's checked image: what is stored, its perceptual hashes, the row and field."""

    position: int
    field: str
    image: ImageData
    hashes: Hashes
    thumb: bytes = dataclasses.field(repr=False)


def check_row_images(
    position: int,
    values: dict[str, Any],
    names: list[str],
    images: Mapping[str, bytes],
    oversized: Mapping[str, int],
    flag: Flag,
) -> list[CheckedImage]:
    """The row's images checked: a missing, oversized or bad image is flagged (the row is
    dropped by "drop"); the field's value becomes the SHA-256 of the checked bytes."""
    out: list[CheckedImage] = []
    for name in names:
        value = values.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        path = member_path(value)
        reason: str | None = None
        if path in oversized:
            reason = f"图片“{path}”有 {oversized[path]:,} 字节，超过上限"
        elif path not in images:
            reason = f"压缩包中没有图片“{path}” / no such image in the zip"
        else:
            try:
                image = check_image(images[path], where=path)
            except ImageError as exc:
                reason = f"图片无法使用 / bad image: {exc}"
            else:
                values[name] = image.sha256
                hashes, thumb = derive(image)
                out.append(CheckedImage(position, name, image, hashes, thumb))
        if reason is not None:
            flag(position, name, "bad_image", reason, True)
    return out


def check_image_duplicates(
    found: list[CheckedImage], where: Callable[[int, int], tuple[str, str]], flag: Flag
) -> None:
    """Flag the later row of each exact (same checked bytes) and near (perceptual hash)
    duplicate image, within and across splits; ``where(a, b)`` gives the earlier row's id
    and how the two rows' splits relate."""
    first: dict[str, CheckedImage] = {}
    unique: list[CheckedImage] = []
    for item in found:
        seen = first.get(item.image.sha256)
        if seen is None:
            first[item.image.sha256] = item
            unique.append(item)
        elif seen.position != item.position:
            row_id, splits = where(seen.position, item.position)
            flag(
                item.position,
                item.field,
                "duplicate_image",
                f"图片与第 {seen.position} 行（编号 {row_id}）相同（{splits}）",
                True,
            )
    pairs = near_duplicate_pairs([u.hashes for u in unique])
    for i, j, bits in pairs:
        a, b = unique[i], unique[j]
        if a.position == b.position:
            continue
        row_id, splits = where(a.position, b.position)
        flag(
            b.position,
            b.field,
            "near_duplicate_image",
            f"图片与第 {a.position} 行（编号 {row_id}）近似重复，感知哈希相差 {bits} 位（{splits}）",
            True,
        )
