"""Reading uploads (mosu/corpus/readers.py): encodings reported, damaged files named."""

from __future__ import annotations

import codecs
import io
import zipfile

import pytest
from openpyxl import Workbook

from mosu.corpus.readers import Part, detect_format, read_part, read_parts
from mosu.registry.sheets import FileProblem

CSV_TEXT = "id,text,label\n1,市民反映路灯不亮,城乡建设\n2,咨询社保缴费,劳动和社会保障\n"


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (CSV_TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + CSV_TEXT.encode("utf-8"), "utf-8-sig"),
        (CSV_TEXT.encode("gbk"), "gb18030"),
        (codecs.BOM_UTF16_LE + CSV_TEXT.encode("utf-16-le"), "utf-16"),
        (CSV_TEXT.encode("utf-16-le"), "utf-16-le"),
    ],
)
def test_csv_encodings_are_detected_and_reported(content: bytes, encoding: str) -> None:
    table = read_part(Part("messages.csv", content=content))
    assert table.encodings == {"messages.csv": encoding}
    assert [r.values["label"] for r in table.records] == ["城乡建设", "劳动和社会保障"]
    assert table.records[1].where == "messages.csv:3"


def _xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_sheet_is_chosen_and_a_truncated_file_is_a_clear_error() -> None:
    content = _xlsx(
        {"说明": [["这是说明页"]], "数据": [["id", "text"], [1, "第一条"], [2, "第二条"]]}
    )
    table = read_part(Part("book.xlsx", content=content), sheet="数据")
    assert [r.values["text"] for r in table.records] == ["第一条", "第二条"]
    assert table.records[0].where == "book.xlsx:2"
    with pytest.raises(FileProblem, match="工作表“缺失”不存在"):
        read_part(Part("book.xlsx", content=content), sheet="缺失")
    with pytest.raises(FileProblem, match="无法读取 xlsx 文件"):
        read_part(Part("book.xlsx", content=content[: len(content) // 2]))


def test_jsonl_errors_name_the_line() -> None:
    with pytest.raises(FileProblem, match="第 2 行不是有效的 JSON"):
        read_part(Part("a.jsonl", content=b'{"a": 1}\n{"a": \n'))
    with pytest.raises(FileProblem, match="第 2 行应是一个 JSON 对象"):
        read_part(Part("a.jsonl", content=b'{"a": 1}\n"text"\n'))
    with pytest.raises(FileProblem, match="JSON 数组的每一项都应是对象"):
        read_part(Part("a.json", content=b"[1, 2]"))


def test_cmmlu_zip_with_dev_and_test_folders() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        header = ",Question,A,B,C,D,Answer\n"
        archive.writestr("cmmlu/dev/agronomy.csv", header + "0,肉牛哪个部位好,胸,腹,大腿,小腿,C\n")
        archive.writestr(
            "cmmlu/test/agronomy.csv", header + "0,鸭品种产蛋量,高邮鸭,北京鸭,樱桃谷鸭,绍鸭,D\n"
        )
        archive.writestr("../evil.csv", header)
    part = Part("cmmlu.zip", content=out.getvalue())
    assert detect_format(part) == "cmmlu"
    table = read_parts([part])
    assert [(r.split, r.values["id"], r.values["Answer"]) for r in table.records] == [
        ("dev", "agronomy-0", "C"),
        ("test", "agronomy-0", "D"),
    ]
    with pytest.raises(FileProblem, match="zip"):
        read_part(Part("cmmlu.zip", content=out.getvalue()[:100]), "cmmlu")
