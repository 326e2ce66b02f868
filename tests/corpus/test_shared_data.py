"""Every file of ../shared/data imports, and the reports name the known flaws.

These are real third-party files (see ../shared/data/README.md); each test skips with the
reason when they are absent. The heavy imports run on SQLite only.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from mosu.corpus import catalogue, imports
from mosu.corpus.readers import Part
from mosu.corpus.schemas import DatasetIn, ImportOptions, ImportReport
from tests.helpers.corpus import OP, shared


def run(session: Session, name: str, parts: list[Part], **options: object) -> ImportReport:
    dataset = catalogue.create_dataset(session, actor=OP, data=DatasetIn(name=name))
    result = imports.import_version(
        session,
        actor=OP,
        dataset=dataset,
        parts=parts,
        options=ImportOptions.model_validate(options),
    )
    session.commit()
    return result.report


def rows_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def test_teddycup_sample_names_37042_and_reads_every_date(sqlite_session: Session) -> None:
    path = shared("teddycup2020/messages_classification_sample.jsonl")
    report = run(sqlite_session, "泰迪杯留言分类", [Part(path.name, path=path)])
    assert report.version is None, "the sample is not clean: nothing is written by default"
    assert report.total_rows == 495
    conflict = [p for p in report.problems if p.kind == "conflicting_label"]
    assert {p.row_id for p in conflict} == {"37042"}
    assert [p.where for p in conflict] == [f"{path.name}:99", f"{path.name}:311"]
    assert "城乡建设" in conflict[0].reason and "劳动和社会保障" in conflict[0].reason
    assert not any(p.kind == "bad_date" for p in report.problems)
    assert report.roles.date_fields == ["留言时间"]
    kept = run(
        sqlite_session,
        "泰迪杯留言分类（保留）",
        [Part(path.name, path=path)],
        flagged="drop",
        normalise={"strip": True},
    )
    assert kept.version == 1 and kept.written_rows == 495 - kept.dropped_rows


def test_teddycup_workbook_gives_the_same_report(sqlite_session: Session) -> None:
    path = shared("teddycup2020/messages_classification_sample.xlsx")
    report = run(
        sqlite_session, "泰迪杯工作簿", [Part(path.name, content=path.read_bytes())], sheet="Sheet1"
    )
    assert report.format == "xlsx" and report.total_rows == 495
    conflict = [p for p in report.problems if p.kind == "conflicting_label"]
    assert [p.where for p in conflict] == [f"{path.name}:100", f"{path.name}:312"]


def _duplicated_ids(path: Path, field: str) -> set[str]:
    """Ids of rows whose text repeats an earlier row's (white space, width and case ignored)."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for row in rows_of(path):
        key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(row[field]))).lower()
        if key in seen:
            repeated.add(str(row["留言编号"]))
        seen.add(key)
    return repeated


@pytest.mark.parametrize(
    ("name", "expected_rows"),
    [
        ("teddycup2020/messages_replies_full.jsonl", 2816),
        ("teddycup2020/messages_hotspot_full.jsonl", 4326),
    ],
)
def test_replies_and_hotspot_duplicates_are_all_found(
    sqlite_session: Session, name: str, expected_rows: int
) -> None:
    path = shared(name)
    report = run(
        sqlite_session,
        name,
        [Part(path.name, path=path)],
        roles={"input_fields": ["留言详情"]},
        flagged="keep",
    )
    assert report.total_rows == expected_rows and report.version == 1
    duplicates = {p.row_id for p in report.problems if p.kind == "duplicate"}
    assert duplicates == _duplicated_ids(path, "留言详情")
    assert report.counts.get("near_duplicate", 0) > 0
    assert any("种日期写法" in note for note in report.notes), "the dates mix formats"
    print(f"\n{name}: {expected_rows} rows in {report.seconds:.2f} s, {report.counts}")


def test_taxonomy_imports(sqlite_session: Session) -> None:
    path = shared("teddycup2020/labels_taxonomy.jsonl")
    report = run(sqlite_session, "分类体系", [Part(path.name, path=path)], flagged="keep")
    assert report.version == 1 and report.total_rows == 517
    assert report.roles.label_field == "一级分类"


def test_tnews_through_the_clue_reader(sqlite_session: Session) -> None:
    folder = shared("tnews")
    parts = [
        Part("train_few_all.json", path=folder / "train_few_all.json", split="train"),
        Part("dev_few_all.json", path=folder / "dev_few_all.json", split="dev"),
        Part("test_public.json", path=folder / "test_public.json", split="test"),
    ]
    dataset = catalogue.create_dataset(
        sqlite_session, actor=OP, data=DatasetIn(name="TNEWS", licence="unknown")
    )
    result = imports.import_version(
        sqlite_session, actor=OP, dataset=dataset, parts=parts, options=ImportOptions(format="clue")
    )
    sqlite_session.commit()
    version = result.version
    assert version is not None, result.report.problems[:5]
    assert version.stats["rows"] == {"train": 1185, "dev": 1098, "test": 2010}
    assert len(version.label_set) == 15 and "news_story" in version.label_set
    assert set(Counter(version.stats["labels"]["test"]).values()) == {134}
    assert result.report.encodings == dict.fromkeys((p.name for p in parts), "utf-8")


def test_cmmlu_dev_and_test_folders(sqlite_session: Session) -> None:
    folder = shared("cmmlu")
    report = run(sqlite_session, "CMMLU", [Part("cmmlu", path=folder)], flagged="keep")
    assert report.format == "cmmlu" and report.version == 1
    assert report.total_rows == 335 + 11582
    assert report.roles.input_fields == ["Question", "A", "B", "C", "D"]
    assert report.roles.category_field == "subject"
    assert "conflicting_label" not in report.counts, "ids repeat across dev and test, not within"
    print(f"\nCMMLU dev+test: {report.total_rows} rows in {report.seconds:.2f} s, {report.counts}")
