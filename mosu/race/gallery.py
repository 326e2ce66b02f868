"""The race report's gallery (图例) of a vision stage: for each entry, a few examples of the
public part of the test split it answered right and wrong, each with its image (a
thumbnail), the expected label and the entry's answer.

The images are test rows': hidden, so the gallery is made only for readers who may read
hidden splits (operators), like the rows themselves; anyone else gets none. Thumbnails are
inlined as data URLs, so the downloaded report carries them and no image is at a URL.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.challenges.models import Stage
from mosu.corpus.models import DatasetImage, DatasetRow, DatasetVersion
from mosu.permissions import Actor, can_read_hidden_split
from mosu.race.board import counted
from mosu.race.entries import entries_of
from mosu.race.scoring import outcomes_of, stage_data

EXAMPLES = 3
"""Examples of each kind (right, wrong) per entry."""


@dataclass(frozen=True)
class Example:
    """A public-part test sample as an entry answered it."""

    sample_id: str
    label: str | None
    answer: str | None
    right: bool
    thumb: str
    """The image's thumbnail as a ``data:image/png;base64,`` URL."""


@dataclass
class EntryGallery:
    entry: str
    right: list[Example] = field(default_factory=list)
    wrong: list[Example] = field(default_factory=list)


def _thumbs(session: Session, version: DatasetVersion, ids: set[str]) -> dict[str, str]:
    """The first image field's thumbnail of each test row named in ``ids``, as data URLs."""
    name = (version.schema.get("image_fields") or [None])[0]
    rows = session.scalars(
        select(DatasetRow).where(DatasetRow.version_id == version.id, DatasetRow.split == "test")
    )
    hashes = {r.row_id: r.fields.get(name) for r in rows if r.row_id in ids}
    wanted = [h for h in hashes.values() if isinstance(h, str)]
    found = {
        sha: bytes(thumb)
        for sha, thumb in session.execute(
            select(DatasetImage.sha256, DatasetImage.thumb).where(DatasetImage.sha256.in_(wanted))
        )
    }
    return {
        i: "data:image/png;base64," + base64.b64encode(found[h]).decode("ascii")
        for i, h in hashes.items()
        if isinstance(h, str) and h in found
    }


def stage_gallery(
    session: Session, actor: Actor, stage: Stage, data_dir: Path
) -> list[dict[str, Any]]:
    """Each counted entry's right and wrong public-part examples (see the module): empty
    for a text stage and for readers who may not see hidden rows."""
    version = session.get(DatasetVersion, stage.dataset_version_id)
    if version is None or not version.schema.get("image_fields"):
        return []
    if not can_read_hidden_split(actor):
        return []
    chosen = counted(session, stage, "public")
    if not chosen:
        return []
    task = stage_data(session, stage).part_task("public")
    samples = sorted(task.samples(), key=lambda s: s.id)
    thumbs = _thumbs(session, version, {s.id for s in samples})
    names = {e.id: e.name for e in entries_of(session, stage.challenge_id)}
    out: list[dict[str, Any]] = []
    for entry_id, submission in sorted(chosen.items(), key=lambda p: names[p[0]]):
        outcomes = outcomes_of(data_dir, submission)
        gallery = EntryGallery(names[entry_id])
        for sample in samples:
            outcome = outcomes.get(sample.id)
            if outcome is None or sample.id not in thumbs:
                continue
            answer = task.parser(outcome.output) if outcome.output is not None else None
            right = answer is not None and answer == sample.label
            kind = gallery.right if right else gallery.wrong
            if len(kind) < EXAMPLES:
                kind.append(Example(sample.id, sample.label, answer, right, thumbs[sample.id]))
        out.append(asdict(gallery))
    return out


def sample_images(session: Session, actor: Actor, stage: Stage) -> dict[str, str]:
    """A vision stage's test samples' image URLs (the corpus API's row image route, which
    serves them to operators only) by sample id: for readers who may see hidden rows."""
    version = session.get(DatasetVersion, stage.dataset_version_id)
    names = list(version.schema.get("image_fields") or []) if version else []
    if version is None or not names or not can_read_hidden_split(actor):
        return {}
    base = f"/api/v1/corpus/datasets/{version.dataset_id}/versions/{version.number}/rows"
    rows = session.execute(
        select(DatasetRow.row_id, DatasetRow.index).where(
            DatasetRow.version_id == version.id, DatasetRow.split == "test"
        )
    )
    return {row_id: f"{base}/{index}/images/{names[0]}" for row_id, index in rows}
