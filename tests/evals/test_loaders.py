from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from mosu.evals.errors import DataError
from mosu.evals.loaders import load_samples, read_cmmlu, read_xlsx
from mosu.evals.tasks import DataSpec


def test_csv_in_gbk_and_field_mapping(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes("编号,标题,类别\n1,今天股市大涨,财经\n2,球队夺冠,体育\n".encode("gbk"))
    spec = DataSpec(
        format="csv", path=str(path), id_field="编号", label_field="类别", input_fields=["标题"]
    )
    samples = load_samples(spec)
    assert [(s.id, s.fields, s.label) for s in samples] == [
        ("1", {"标题": "今天股市大涨"}, "财经"),
        ("2", {"标题": "球队夺冠"}, "体育"),
    ]


def test_missing_field_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"id": 1, "text": "a", "label": "x"}\n{"id": 2, "text": "b"}\n', encoding="utf-8"
    )
    with pytest.raises(DataError, match="row 2 has no field 'label'"):
        load_samples(DataSpec(format="jsonl", path=str(path), id_field="id", label_field="label"))


def test_bad_json_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"d.jsonl:2: not valid JSON"):
        load_samples(DataSpec(format="jsonl", path=str(path), label_field="id"))


def test_xlsx_matches_jsonl(shared_data: Path) -> None:
    folder = shared_data / "teddycup2020"
    rows = list(read_xlsx(folder / "messages_classification_sample.xlsx"))
    spec = DataSpec(
        format="jsonl",
        path=str(folder / "messages_classification_sample.jsonl"),
        label_field="一级分类",
        id_field="留言编号",
        duplicates="keep_first",
    )
    from_jsonl = load_samples(spec)
    assert len(rows) == 495
    assert {str(r["留言编号"]) for r in rows} == {s.id for s in from_jsonl}


def test_xlsx_roundtrip(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "text", "label"])
    sheet.append([1, "好", "pos"])
    sheet.append([None, None, None])
    sheet.append([2, "坏", "neg"])
    book.save(tmp_path / "d.xlsx")
    spec = DataSpec(
        format="xlsx", path=str(tmp_path / "d.xlsx"), id_field="id", label_field="label"
    )
    assert [(s.id, s.label) for s in load_samples(spec)] == [("1", "pos"), ("2", "neg")]


def test_cmmlu_layout(shared_data: Path) -> None:
    rows = list(read_cmmlu(shared_data / "cmmlu" / "dev"))
    assert len(rows) == 335
    assert rows[0]["id"] == "agronomy-0" and rows[0]["subject"] == "agronomy"
    assert {r["Answer"] for r in rows} == {"A", "B", "C", "D"}
