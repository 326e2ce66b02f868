"""Reading an image corpus upload (图像语料): a zip of images with a manifest (CSV, JSON lines
or xlsx) whose rows name each image by its path inside the zip.

The archive is refused whole, before any image is decoded, when it could cost more than it
should: more than :data:`MAX_MEMBERS` members, a member whose path leaves the archive
(absolute, ``..``), a member compressed more than :data:`MAX_RATIO` times (a zip bomb), or
members declaring more than ``ReadLimits.unpacked_bytes`` together. Members are read in
chunks and counted as they unpack (:func:`mosu.core.limits.read_member`), so a member that
lies about its size is stopped at the limit. A member larger than an image may be
(:data:`mosu.evals.images.MAX_BYTES`) is not read: its row is flagged instead. Nothing here
decodes an image or touches the database.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from mosu.core.limits import ReadLimits, check_archive, read_member
from mosu.evals.images import MAX_BYTES
from mosu.registry.sheets import FileProblem

MAX_MEMBERS = 50_000
"""Members an image zip may hold (images and the manifest)."""
MAX_RATIO = 200
"""How many times a member may unpack its compressed size (PNGs and JPEGs barely compress;
a zip bomb's members unpack thousands of times)."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MANIFEST_SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".json", ".ndjson", ".xlsx")
IMAGE_NAMES = ("image", "img", "image_path", "图片", "图像", "photo", "picture")
"""Field names taken as image fields when none are named."""


@dataclass
class ImageArchive:
    """The manifest (name and bytes) and each image member's bytes by its path; members too
    large to be an image are named in ``oversized`` with their declared size, unread."""

    manifest_name: str
    manifest: bytes
    images: dict[str, bytes] = field(default_factory=dict)
    oversized: dict[str, int] = field(default_factory=dict)


def is_image_zip(names: list[str]) -> bool:
    """Whether a zip's member names look like an image corpus (any image member)."""
    return any(n.lower().endswith(IMAGE_SUFFIXES) for n in names)


def member_path(value: str) -> str:
    """A manifest's image path as the zip names it (``./a.png`` and ``a\\b.png`` too)."""
    text = value.strip().replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text


def _safe(info: zipfile.ZipInfo, name: str) -> PurePosixPath:
    member = PurePosixPath(info.filename.replace("\\", "/"))
    if member.is_absolute() or ".." in member.parts or ":" in info.filename:
        raise FileProblem(
            f"{name}：成员路径“{info.filename}”越出压缩包，已拒绝 / a member path leaves the "
            "archive: refused"
        )
    return member


def _check_members(archive: zipfile.ZipFile, name: str, limits: ReadLimits) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise FileProblem(
            f"{name}：压缩包成员超过 {MAX_MEMBERS} 个 / more than {MAX_MEMBERS} members"
        )
    try:
        check_archive(archive, name, limits)
    except ValueError as exc:
        raise FileProblem(str(exc)) from None
    for info in infos:
        _safe(info, name)
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1 << 20:
            raise FileProblem(
                f"{name}：成员“{info.filename}”压缩比超过 {MAX_RATIO} 倍，疑似压缩炸弹，已拒绝 / "
                f"a member unpacks more than {MAX_RATIO} times its size: refused as a zip bomb"
            )


def _manifest(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    """The one manifest: a CSV, JSON lines or xlsx member, at the top level if several."""
    found = [
        i
        for i in archive.infolist()
        if not i.is_dir()
        and i.filename.lower().endswith(MANIFEST_SUFFIXES)
        and not PurePosixPath(i.filename).name.startswith(".")
    ]
    top = [i for i in found if "/" not in i.filename.strip("/")]
    chosen = top if len(top) == 1 else found
    if len(chosen) != 1:
        listed = "、".join(i.filename for i in found) or "无 / none"
        raise FileProblem(
            f"{name}：应有且只有一个清单文件（CSV、JSON lines 或 xlsx），找到：{listed} / "
            "the zip needs exactly one manifest"
        )
    return chosen[0]


def read_image_zip(content: bytes, name: str, limits: ReadLimits) -> ImageArchive:
    """The manifest and images of an image corpus zip (see the module); :class:`FileProblem`
    for an archive that is damaged or refused."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise FileProblem(f"{name}：zip 文件损坏或不完整") from None
    with archive:
        _check_members(archive, name, limits)
        manifest = _manifest(archive, name)
        spent = 0
        try:
            data = read_member(archive, manifest, name, limits, spent)
            out = ImageArchive(PurePosixPath(manifest.filename).name, data)
            spent += len(data)
            for info in archive.infolist():
                if info.is_dir() or not info.filename.lower().endswith(IMAGE_SUFFIXES):
                    continue
                path = member_path(info.filename)
                if info.file_size > MAX_BYTES:
                    out.oversized[path] = info.file_size
                    continue
                data = read_member(archive, info, name, limits, spent)
                spent += len(data)
                out.images[path] = data
        except (zipfile.BadZipFile, OSError, EOFError):
            raise FileProblem(f"{name}：zip 文件损坏或不完整") from None
        except ValueError as exc:  # a LimitExceeded while unpacking
            raise FileProblem(str(exc)) from None
    return out
