"""Where an image corpus's images live (图像存储): one ``dataset_images`` row per checked
image, by its SHA-256, with its perceptual hash and thumbnail; shared by every version
(and data set) that holds the same bytes. Who may read an image is decided by the row that
names it (:func:`mosu.corpus.reading.row_image`), never here."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mosu.corpus.image_checks import CheckedImage
from mosu.corpus.models import DatasetImage

CHUNK = 500


def store_images(session: Session, items: Iterable[CheckedImage]) -> int:
    """Store the images not stored yet (with their thumbnails); how many were new."""
    by_hash = {i.image.sha256: i for i in items}
    if not by_hash:
        return 0
    hashes = list(by_hash)
    known: set[str] = set()
    for start in range(0, len(hashes), CHUNK):
        chunk = hashes[start : start + CHUNK]
        known |= set(
            session.scalars(select(DatasetImage.sha256).where(DatasetImage.sha256.in_(chunk)))
        )
    new = [by_hash[h] for h in hashes if h not in known]
    for start in range(0, len(new), CHUNK):
        session.execute(
            insert(DatasetImage),
            [
                {
                    "sha256": i.image.sha256,
                    "format": i.image.format,
                    "width": i.image.width,
                    "height": i.image.height,
                    "size": len(i.image.data),
                    "dhash": f"{i.hashes.dhash:016x}",
                    "data": i.image.data,
                    "thumb": i.thumb,
                }
                for i in new[start : start + CHUNK]
            ],
        )
    return len(new)


def image_data(session: Session, hashes: Iterable[str]) -> dict[str, bytes]:
    """The stored bytes of the images named by ``hashes`` (those stored)."""
    wanted = list(dict.fromkeys(hashes))
    out: dict[str, bytes] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        rows = session.execute(
            select(DatasetImage.sha256, DatasetImage.data).where(DatasetImage.sha256.in_(chunk))
        )
        out.update({sha: bytes(data) for sha, data in rows})
    return out


def get_image(session: Session, sha256: str) -> DatasetImage | None:
    return session.get(DatasetImage, sha256)
