"""Images of arena prompts (竞技场图片提示): uploaded with the prompt set, checked, stored by
content hash, shown to voters and sent to the models.

A prompt set with images is a zip: ``manifest.csv`` or ``manifest.jsonl`` at its root, one
row per prompt with ``prompt`` (the question's text), ``image`` (a path inside the zip, or
empty for a text prompt) and an optional ``key``. Every image is checked by
:func:`mosu.evals.images.check_image` (format sniffed from the bytes, size and pixel limits,
decompression and pixel bombs refused before decoding, EXIF orientation applied and EXIF
location removed) and stored once, by the SHA-256 of the bytes kept, in ``arena_images``.
The zip itself is read with bounded memory: a member is never read past its limit, whatever
its header claims, and the members together are capped. Every bad row is reported; nothing
is stored unless all rows are good.

Competitors answering through endpoints, and judge models, get the image as an OpenAI
``image_url`` part with a base64 data URL (never a URL to fetch). Voters see it at
:func:`image_path`, a same-origin URL served only for prompts of that arena.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.arena.errors import (
    BAD_PROMPT_ROWS,
    EMPTY_MANIFEST,
    MANIFEST_LINE_NOT_JSON,
    MANIFEST_UNREADABLE,
    NO_MANIFEST,
    NO_SUCH_IMAGE,
    NOT_A_ZIP,
    TOO_MANY_PROMPTS,
)
from mosu.arena.models import Arena, ArenaImage, ArenaPrompt
from mosu.evals.images import MAX_BYTES, ImageData, ImageError, check_image

MANIFESTS = ("manifest.csv", "manifest.jsonl")
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
"""Largest manifest read from a zip."""
MAX_TOTAL_BYTES = 512 * 1024 * 1024
"""Most bytes the members of one zip may expand to (what its images and manifest take)."""
MAX_PROMPTS = 5000
_SHOWN_PROBLEMS = 50


@dataclass(frozen=True)
class PromptRow:
    """One prompt of an uploaded set: its key, text and checked image (if any)."""

    key: str
    text: str
    image: ImageData | None = None


def image_path(arena_id: int, sha256: str) -> str:
    """Where a voter's browser fetches an arena prompt's image (same origin)."""
    return f"/arena/{arena_id}/images/{sha256}"


def image_data(image: ArenaImage) -> ImageData:
    """A stored image as the engine sends it (an ``image_url`` part)."""
    return ImageData(image.data, image.format, image.width, image.height, image.sha256)


def prompt_content(prompt: ArenaPrompt) -> str | list[dict[str, Any]]:
    """A user message's content for ``prompt``: its text, then its image as a part."""
    if prompt.image is None:
        return prompt.text
    return [{"type": "text", "text": prompt.text}, image_data(prompt.image).part()]


def store_image(session: Session, image: ImageData) -> ArenaImage:
    """The stored image with ``image``'s hash: the one already kept, else a new row."""
    found = session.scalar(select(ArenaImage).where(ArenaImage.sha256 == image.sha256))
    if found is not None:
        return found
    stored = ArenaImage(
        sha256=image.sha256,
        format=image.format,
        width=image.width,
        height=image.height,
        size=len(image.data),
        data=image.data,
    )
    session.add(stored)
    session.flush()
    return stored


def arena_image(session: Session, arena: Arena, sha256: str) -> ArenaImage:
    """The image a prompt of ``arena`` carries; any other hash is not found there."""
    image = session.scalar(
        select(ArenaImage)
        .join(ArenaPrompt, ArenaPrompt.image_sha256 == ArenaImage.sha256)
        .where(ArenaPrompt.arena_id == arena.id, ArenaImage.sha256 == sha256.lower())
        .limit(1)
    )
    if image is None:
        raise NO_SUCH_IMAGE()
    return image


class _Zip:
    """A zip read with bounded memory: members by name, each read up to a limit."""

    def __init__(self, content: bytes) -> None:
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(content))
        except (zipfile.BadZipFile, OSError, ValueError):
            raise NOT_A_ZIP() from None
        self.members = {
            i.filename.removeprefix("./"): i for i in self.archive.infolist() if not i.is_dir()
        }
        self.read_so_far = 0

    def read(self, name: str, limit: int) -> bytes:
        """The member's bytes; :class:`ImageError` when missing, over ``limit`` or over the
        zip's total (read at most one byte past the limit, whatever the header says)."""
        info = self.members.get(name.strip().removeprefix("./"))
        if info is None:
            raise ImageError(f"{name}: not in the zip")
        if info.file_size > limit:
            raise ImageError(f"{name}: {info.file_size:,} bytes, over the limit of {limit:,}")
        room = min(limit, MAX_TOTAL_BYTES - self.read_so_far)
        try:
            with self.archive.open(info) as member:
                data = member.read(room + 1)
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError) as exc:
            raise ImageError(f"{name}: cannot be read from the zip ({exc})") from None
        if len(data) > room:
            raise ImageError(
                f"{name}: expands past its limit (of {limit:,} bytes, or "
                f"{MAX_TOTAL_BYTES:,} for the whole zip): refused as a zip bomb"
            )
        self.read_so_far += len(data)
        return data


def _manifest_rows(archive: _Zip) -> list[dict[str, Any]]:
    name = next((m for m in MANIFESTS if m in archive.members), None)
    if name is None:
        raise NO_MANIFEST()
    try:
        text = archive.read(name, MAX_MANIFEST_BYTES).decode("utf-8-sig")
    except (ImageError, UnicodeDecodeError) as exc:
        raise MANIFEST_UNREADABLE(reason=str(exc)) from None
    if name.endswith(".csv"):
        return list(csv.DictReader(io.StringIO(text)))
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MANIFEST_LINE_NOT_JSON(name=name, line=number, reason=exc.msg) from None
            rows.append(record if isinstance(record, dict) else {"": record})
    return rows


def _row(archive: _Zip, record: dict[str, Any], number: int, keys: set[str]) -> PromptRow:
    text = str(record.get("prompt") or "").strip()
    if not text:
        raise ImageError("missing prompt text (column prompt)")
    key = str(record.get("key") or f"p{number}").strip()
    if len(key) > 200 or key in keys:
        raise ImageError(f"key {key!r} repeated or longer than 200 characters")
    keys.add(key)
    name = str(record.get("image") or "").strip()
    image = check_image(archive.read(name, MAX_BYTES), where=name) if name else None
    return PromptRow(key, text, image)


def read_prompt_zip(content: bytes) -> list[PromptRow]:
    """The prompts of an uploaded zip (see the module's docstring); :class:`Invalid` naming
    every bad row (``details``: ``row`` and ``problem``) when any row is bad."""
    archive = _Zip(content)
    records = _manifest_rows(archive)
    if not records:
        raise EMPTY_MANIFEST()
    if len(records) > MAX_PROMPTS:
        raise TOO_MANY_PROMPTS(max_prompts=MAX_PROMPTS)
    rows: list[PromptRow] = []
    problems: list[dict[str, Any]] = []
    keys: set[str] = set()
    for number, record in enumerate(records, 1):
        try:
            rows.append(_row(archive, record, number, keys))
        except ImageError as exc:
            problems.append({"row": number, "problem": str(exc)})
    if problems:
        shown = "; ".join(f"#{p['row']} {p['problem']}" for p in problems[:5])
        raise BAD_PROMPT_ROWS(
            count=len(problems), problems=shown, details=problems[:_SHOWN_PROBLEMS]
        )
    return rows


def attach_images(session: Session, arena: Arena, rows: Sequence[PromptRow]) -> int:
    """Store each row's image and name it on the arena's prompt of the same key; how many
    prompts now carry an image."""
    by_key = {p.key: p for p in arena.prompts}
    count = 0
    for row in rows:
        if row.image is not None:
            by_key[row.key].image_sha256 = store_image(session, row.image).sha256
            count += 1
    session.flush()
    return count
