"""Reading cells and files the way operators make them, and writing inert spreadsheets."""

from __future__ import annotations

import codecs
import datetime as dt

import pytest

from mosu.registry.sheets import (
    CellError,
    FileProblem,
    clean_cell,
    decode_csv,
    neutralise,
    parse_bool,
    parse_date,
    parse_number,
    read_csv,
    split_list,
)

SEPT_1 = dt.date(2023, 9, 1)


@pytest.mark.parametrize(
    "value",
    [
        "2023-09-01",
        "2023-9-1",
        "2023/9/1",
        "2023/09/01",
        "2023.9.1",
        "2023年9月1日",
        "2023 年 9 月 1 日",
        "２０２３－０９－０１",
        "20230901",
        "2023-09-01 00:00:00",
        "2023/9/1 0:00",
        20230901,
        45170,
        45170.0,
        SEPT_1,
        dt.datetime(2023, 9, 1, 14, 30),
    ],
)
def test_dates_in_the_formats_operators_use(value: object) -> None:
    assert parse_date(value) == SEPT_1


@pytest.mark.parametrize("value", ["2023-02-30", "9/1/2023", "下个月", "2023年13月1日", "202309"])
def test_unreadable_dates_say_so(value: object) -> None:
    with pytest.raises(CellError, match="日期无法识别"):
        parse_date(value)


def test_booleans_numbers_and_lists() -> None:
    assert [parse_bool(v) for v in ("是", "否", "Y", "n", "TRUE", "false", 1, 0.0, True)] == [
        True, False, True, False, True, False, True, False, True,
    ]  # fmt: skip
    with pytest.raises(CellError):
        parse_bool("可能")
    assert [parse_number(v) for v in ("7", "1.8", "1,000", "7B", 13, 0.5)] == [
        7.0, 1.8, 1000.0, 7.0, 13.0, 0.5,
    ]  # fmt: skip
    with pytest.raises(CellError):
        parse_number("很多")
    assert split_list("算力、模型,应用，服务;语料；x\ny") == [
        "算力", "模型", "应用", "服务", "语料", "x", "y",
    ]  # fmt: skip


def test_cells_are_stripped_and_export_escaping_undone() -> None:
    assert clean_cell(" \t甲公司\u3000 ") == "甲公司"
    assert clean_cell("  ") is None
    assert clean_cell("'=SUM(A1)") == "=SUM(A1)"
    assert clean_cell("'-2") == "-2"
    assert clean_cell("'quoted'") == "'quoted'"
    assert clean_cell(0) == 0


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_neutralise_formula_triggers(text: str) -> None:
    assert neutralise(text) == "'" + text
    assert clean_cell(neutralise(text)) == text.strip()


def test_safe_text_is_left_alone() -> None:
    assert neutralise("甲公司") == "甲公司"
    assert neutralise("a=b") == "a=b"


@pytest.mark.parametrize(
    "text", ["甲", "名称\r\n甲乙", "名称,信用代码\r\n上海模速科技有限公司,x\r\n"]
)
def test_short_gbk_is_not_misdetected(text: str) -> None:
    assert decode_csv(text.encode("gbk")) == (text, "gb18030")


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (codecs.BOM_UTF8 + "名称".encode(), "utf-8-sig"),
        ("名称".encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + "名称".encode("utf-16-be"), "utf-16"),
        ("name,x".encode("utf-16-le"), "utf-16-le"),
        ("名称".encode(), "utf-8"),
    ],
)
def test_encodings(raw: bytes, encoding: str) -> None:
    text, found = decode_csv(raw)
    assert found == encoding
    assert text.lstrip("\ufeff") in {"名称", "name,x"}


def test_broken_utf8_after_a_bom_is_a_file_problem() -> None:
    with pytest.raises(FileProblem, match="第 2 行"):
        decode_csv(codecs.BOM_UTF8 + b"a\n\xff\xfe\xfd")


def test_csv_delimiter_is_sniffed_from_the_header() -> None:
    text = "名称\t梯队\r\n甲,乙公司\t群星\r\n"
    rows, encoding = read_csv(text.encode("utf-16"), headers={"名称", "梯队"})
    assert encoding == "utf-16"
    assert rows == [(1, ["名称", "梯队"]), (2, ["甲,乙公司", "群星"])]
