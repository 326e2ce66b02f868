from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from openpyxl import Workbook

from mosu.evals.errors import DataError
from mosu.evals.loaders import Sample, load_samples, read_cmmlu, read_xlsx, stratified_sample
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


def test_tsv_without_header_takes_named_columns(tmp_path: Path) -> None:
    path = tmp_path / "d.tsv"
    path.write_bytes("1\t今天股市大涨\t财经\n\n2\t球队夺冠\t体育\n".encode("gbk"))
    spec = DataSpec(
        format="csv",
        path=str(path),
        delimiter="\t",
        header=False,
        columns=["编号", "标题", "类别"],
        id_field="编号",
        label_field="类别",
        input_fields=["标题"],
    )
    samples = load_samples(spec)  # GBK is still detected
    assert [(s.id, s.fields, s.label) for s in samples] == [
        ("1", {"标题": "今天股市大涨"}, "财经"),
        ("2", {"标题": "球队夺冠"}, "体育"),
    ]


def test_semicolons_and_a_row_of_the_wrong_width_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id;text;label\n1;好;pos\n2;坏\n", encoding="utf-8")
    spec = DataSpec(format="csv", path=str(path), delimiter=";", label_field="label")
    with pytest.raises(DataError, match=r"d.csv:3: 2 fields where 3 are named"):
        load_samples(spec)


def test_omitted_id_field_numbers_the_data_rows_from_zero(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"t": "a", "y": "x"}\n\n{"t": "b", "y": "z"}\n', encoding="utf-8")
    spec = DataSpec(format="jsonl", path=str(path), label_field="y")
    assert [s.id for s in load_samples(spec)] == ["0", "1"]


def test_integer_labels_and_categories_go_through_the_label_map(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"id": 1, "t": "股市", "y": 0, "c": 0}\n{"id": 2, "t": "夺冠", "y": 1, "c": "其他"}\n',
        encoding="utf-8",
    )
    spec = DataSpec.model_validate(
        {
            "format": "jsonl",
            "path": str(path),
            "id_field": "id",
            "label_field": "y",
            "category_field": "c",
            "label_map": {0: "财经", 1: "体育"},
        }
    )
    samples = load_samples(spec)
    assert [(s.label, s.category) for s in samples] == [("财经", "财经"), ("体育", "其他")]


def _sorted_by_label(counts: dict[str, int]) -> list[Sample]:
    labels = [label for label, count in counts.items() for _ in range(count)]
    return [Sample(str(i), {}, label) for i, label in enumerate(labels)]


def test_stratified_sample_keeps_label_shares_and_file_order() -> None:
    samples = _sorted_by_label({"a": 50, "b": 30, "c": 15, "d": 5})
    chosen = stratified_sample(samples, 20, seed=1)
    assert Counter(s.label for s in chosen) == {"a": 10, "b": 6, "c": 3, "d": 1}
    assert [int(s.id) for s in chosen] == sorted(int(s.id) for s in chosen)
    assert chosen == stratified_sample(samples, 20, seed=1)
    assert chosen != stratified_sample(samples, 20, seed=2)
    assert Counter(s.label for s in samples[:20]) == {"a": 20}  # what first-N gave


def test_stratified_sample_rounds_by_largest_remainder_and_keeps_every_label() -> None:
    samples = _sorted_by_label({"a": 96, "b": 2, "c": 2})
    # exact shares 4.8, 0.1, 0.1: largest remainder gives 5/0/0, then b and c take one from a
    assert Counter(s.label for s in stratified_sample(samples, 5, seed=0)) == {
        "a": 3,
        "b": 1,
        "c": 1,
    }
    samples = _sorted_by_label({"a": 5, "b": 3, "c": 2})
    # exact shares 3.5, 2.1, 1.4 for n=7: floors 3/2/1, the spare one goes to a (0.5)
    assert Counter(s.label for s in stratified_sample(samples, 7, seed=0)) == {
        "a": 4,
        "b": 2,
        "c": 1,
    }
    assert len(stratified_sample(samples, 2, seed=0)) == 2  # fewer than the labels
    assert stratified_sample(samples, 50, seed=0) == samples


def test_data_source_limit_is_stratified(tmp_path: Path) -> None:
    rows = [{"id": i, "y": "x" if i < 80 else "z"} for i in range(100)]
    spec = DataSpec(format="inline", rows=rows, id_field="id", label_field="y", limit=10)
    assert Counter(s.label for s in load_samples(spec)) == {"x": 8, "z": 2}
