"""Image corpora (mosu/corpus: image_zip, image_checks, image_store): a zip of images with a
manifest, every image checked on import, duplicates by hash, bombs refused, hidden images
for operators only."""

from __future__ import annotations

import hashlib
import io
import re
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.core.errors import Forbidden, NotFound, Unauthenticated
from mosu.core.limits import ReadLimits
from mosu.corpus import image_zip, reading
from mosu.corpus.image_checks import near_duplicate_pairs, perceptual_hashes
from mosu.corpus.models import DatasetImage, DatasetRow
from mosu.corpus.readers import Part, read_parts
from mosu.evals.images import check_image
from mosu.permissions import PUBLIC, Actor, Role
from mosu.registry.sheets import FileProblem
from tests.conftest import LiveServer, World, on_primary_database
from tests.helpers.corpus import OP, import_rows
from tests.helpers.images import image_zip as make_zip
from tests.helpers.images import jpeg_with_gps, picture, pixel_bomb, png, png_of
from tests.helpers.signin import browser, signed_in

SPLITS = ["train", "train", "dev", "dev", "test", "test"]
LABELS = ["有缺陷", "无缺陷"]


def parts(n: int = 6, first: int = 0) -> tuple[list[dict[str, object]], dict[str, bytes]]:
    rows = [
        {"id": f"p{i}", "image": f"images/p{i}.png", "label": LABELS[i % 2], "split": SPLITS[i]}
        for i in range(n)
    ]
    return rows, {f"images/p{i}.png": png_of(first + i) for i in range(n)}


def test_an_image_corpus_imports_with_its_images_hashed(db: Session) -> None:
    rows, images = parts()
    rows[1]["image"] = "./images/p1.jpg"
    images.pop("images/p1.png")
    images["images/p1.jpg"] = jpeg_with_gps(1)
    result = import_rows(db, make_zip(rows, images), filename="parts.zip")
    db.commit()
    version = result.version
    assert version is not None, result.report
    assert result.report.format == "images"
    assert version.schema["image_fields"] == ["image"]
    assert version.schema["input_fields"] == []
    stored = {
        r.row_id: r.fields["image"]
        for r in db.scalars(select(DatasetRow).where(DatasetRow.version_id == version.id))
    }
    assert stored["p0"] == hashlib.sha256(images["images/p0.png"]).hexdigest()
    gps = db.get(DatasetImage, stored["p1"])
    assert gps is not None and gps.format == "JPEG"
    assert 0x8825 not in Image.open(io.BytesIO(gps.data)).getexif()  # location stripped
    assert stored["p1"] == hashlib.sha256(gps.data).hexdigest()
    assert db.scalar(select(func.count()).select_from(DatasetImage)) == 6
    thumb = Image.open(io.BytesIO(db.get(DatasetImage, stored["p0"]).thumb))  # type: ignore[union-attr]
    assert thumb.format == "PNG" and max(thumb.size) <= 160
    assert version.stats["labels"]["test"] == {"有缺陷": 1, "无缺陷": 1}
    # the same manifest with one image's bytes changed is another version
    images["images/p4.png"] = png_of(40)
    changed = import_rows(db, make_zip(rows, images), filename="parts.zip")
    db.commit()
    assert changed.version is not None and changed.version.number == 2
    assert changed.report.content_hash != result.report.content_hash
    assert db.scalar(select(func.count()).select_from(DatasetImage)) == 7  # shared, not copied


def test_bad_images_are_row_problems_and_nothing_is_written(db: Session) -> None:
    rows, images = parts()
    images["images/p1.png"] = b"not an image at all"
    images["images/p2.png"] = png_of(2)[:60]  # truncated
    images["images/p3.png"] = pixel_bomb()
    images.pop("images/p4.png")
    result = import_rows(db, make_zip(rows, images, "manifest.csv"), filename="parts.zip")
    assert result.version is None and result.report.file_problem is None
    problems = {(p.row_id, p.kind): p.reason for p in result.report.problems}
    assert set(problems) == {(f"p{i}", "bad_image") for i in (1, 2, 3, 4)}
    assert "not a JPEG, PNG or WebP" in problems["p1", "bad_image"]
    assert "decompression bomb" in problems["p3", "bad_image"]
    assert "images/p4.png" in problems["p4", "bad_image"]
    assert db.scalar(select(func.count()).select_from(DatasetImage)) == 0
    dropped = import_rows(db, make_zip(rows, images), filename="parts.zip", flagged="drop")
    assert dropped.version is not None and dropped.version.row_count == 2


def test_duplicates_and_near_duplicates_within_and_across_splits(db: Session) -> None:
    rows, images = parts()
    images["images/p4.png"] = images["images/p0.png"]  # test copies train
    images["images/p3.png"] = png(picture(2).resize((40, 40)))  # dev resized
    result = import_rows(db, make_zip(rows, images), filename="parts.zip")
    kinds = {(p.row_id, p.kind): p.reason for p in result.report.problems}
    assert set(kinds) == {("p4", "duplicate_image"), ("p3", "near_duplicate_image")}
    assert "跨划分 train↔test" in kinds["p4", "duplicate_image"]
    assert "同在 dev" in kinds["p3", "near_duplicate_image"]


def test_perceptual_hashes_tell_pictures_apart() -> None:
    hashes = [perceptual_hashes(check_image(png_of(seed))) for seed in range(40)]
    assert near_duplicate_pairs(hashes) == []
    resized = perceptual_hashes(check_image(png(picture(7).resize((64, 64)))))
    found = near_duplicate_pairs([*hashes, resized])
    assert [(i, j) for i, j, _ in found] == [(7, 40)]


def _zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_bombs_are_refused_with_bounded_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = b'{"id": "a", "image": "a.png", "label": "x"}'
    bomb = _zip_of({"m.jsonl": manifest, "a.png": bytes(30 * 1024 * 1024)})
    tracemalloc.start()
    with pytest.raises(FileProblem, match="zip bomb"):
        image_zip.read_image_zip(bomb, "bomb.zip", ReadLimits())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 1024 * 1024
    with pytest.raises(FileProblem, match="leaves the archive"):
        image_zip.read_image_zip(
            _zip_of({"m.jsonl": manifest, "../a.png": png_of(1)}), "x.zip", ReadLimits()
        )
    with pytest.raises(FileProblem, match="MiB"):
        image_zip.read_image_zip(
            _zip_of({"m.jsonl": manifest, "a.png": png_of(1)}),
            "x.zip",
            ReadLimits(unpacked_bytes=99),
        )
    monkeypatch.setattr(image_zip, "MAX_MEMBERS", 2)
    many = _zip_of({"m.jsonl": manifest, **{f"{i}.png": png_of(i) for i in range(3)}})
    with pytest.raises(FileProblem, match="more than 2 members"):
        image_zip.read_image_zip(many, "x.zip", ReadLimits())


def test_hidden_images_are_for_operators_only(db: Session) -> None:
    rows, images = parts()
    result = import_rows(db, make_zip(rows, images), filename="parts.zip")
    db.commit()
    version = result.version
    assert version is not None
    by_split = {
        r.split: r.index
        for r in db.scalars(select(DatasetRow).where(DatasetRow.version_id == version.id))
    }
    supplier = Actor(user_id=1, role=Role.supplier, organisation_id=1)
    for actor in (PUBLIC, supplier):
        data, media = reading.row_image(
            db, actor=actor, version=version, index=by_split["dev"], field="image"
        )
        assert media == "image/png" and data.startswith(b"\x89PNG")
    with pytest.raises(Unauthenticated):
        reading.row_image(db, actor=PUBLIC, version=version, index=by_split["test"], field="image")
    with pytest.raises(Forbidden):
        reading.row_image(
            db, actor=supplier, version=version, index=by_split["test"], field="image", thumb=True
        )
    data, _ = reading.row_image(
        db, actor=OP, version=version, index=by_split["test"], field="image"
    )
    assert hashlib.sha256(data).hexdigest() in {
        hashlib.sha256(v).hexdigest() for v in images.values()
    }
    with pytest.raises(NotFound):
        reading.row_image(db, actor=OP, version=version, index=by_split["test"], field="label")


@on_primary_database  # pages and permissions; the storage runs on both databases above
def test_card_grid_and_image_urls_over_http(live: LiveServer, world: World, db: Session) -> None:
    operator = Actor(user_id=world.user_ids["operator"], role=Role.operator)
    rows, images = parts()
    result = import_rows(
        db, make_zip(rows, images), filename="parts.zip", actor=operator, name="零件图"
    )
    db.commit()
    assert result.version is not None and result.report.dataset_id is not None
    dataset_id = result.report.dataset_id
    index = {
        r.split + r.row_id: r.index
        for r in db.scalars(select(DatasetRow).where(DatasetRow.version_id == result.version.id))
    }
    hidden_sha = hashlib.sha256(images["images/p4.png"]).hexdigest()
    base = f"/api/v1/corpus/datasets/{dataset_id}/versions/1/rows"
    with browser(live) as public:
        card = public.get(f"/corpus/{dataset_id}").text
        shown = {int(i) for i in re.findall(rf"{base}/(\d+)/images/image\?thumb=true", card)}
        assert shown == {index["trainp0"], index["trainp1"], index["devp2"], index["devp3"]}
        assert 'id="chart-labels-data"' in card and hidden_sha not in card
        thumb = public.get(f"{base}/{index['devp2']}/images/image?thumb=true")
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
        assert public.get(f"{base}/{index['testp4']}/images/image").status_code == 401
        assert hidden_sha not in public.get(f"/corpus/{dataset_id}/rows?split=dev").text
    with signed_in(live, world, "supplier_a") as supplier:
        assert supplier.get(f"{base}/{index['testp4']}/images/image?thumb=true").status_code == 403
    with signed_in(live, world, "operator") as op:
        full = op.get(f"{base}/{index['testp4']}/images/image")
        assert full.status_code == 200 and hashlib.sha256(full.content).hexdigest() == hidden_sha


def test_a_zip_given_by_path_is_read_as_an_image_corpus(tmp_path: Path) -> None:
    rows, images = parts(2)
    path = tmp_path / "parts.zip"
    path.write_bytes(make_zip(rows, images))
    table = read_parts([Part(path.name, path=path)])
    assert table.format == "images" and sorted(table.images) == sorted(images)
    assert [r.values["image"] for r in table.records] == ["images/p0.png", "images/p1.png"]
