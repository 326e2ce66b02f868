"""Every reader of an upload is bounded: rows in every format, the length of a cell and of
a row, cells in all, and how far a zip (a CMMLU archive, the zip inside an xlsx) unpacks."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable

import pytest

from mosu.core.limits import MIB, ReadLimits, read_member
from mosu.core.settings import Settings
from mosu.corpus.readers import Part, read_part, read_parts
from mosu.registry.sheets import FileProblem, read_csv, read_xlsx
from tests.conftest import TEST_SECRET
from tests.helpers.sheets import SHEET, cmmlu_zip, jsonl, sheet_xml, text_of, xlsx

SMALL = ReadLimits(rows=100, cell_chars=1000, unpacked_bytes=1 * MIB)
STRINGS = "xl/sharedStrings.xml"


def shared_strings(*texts: Iterable[bytes]) -> Iterable[bytes]:
    yield b'<?xml version="1.0" encoding="UTF-8"?>'
    yield b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    for pieces in texts:
        yield b"<si>"
        yield from pieces
        yield b"</si>"
    yield b"</sst>"


def test_limits_come_from_the_settings() -> None:
    settings = Settings.from_env(
        {"MOSU_MAX_IMPORT_ROWS": "7", "MOSU_MAX_CELL_CHARS": "9", "MOSU_MAX_UPLOAD_MB": "3"},
        secret_key=TEST_SECRET,
    )
    limits = ReadLimits.from_settings(settings)
    assert (limits.rows, limits.cell_chars, limits.row_chars) == (7, 9, 36)
    assert limits.unpacked_bytes == 15 * MIB and limits.cells == 15 * MIB // 16


def test_a_huge_shared_string_is_refused_before_openpyxl_builds_it() -> None:
    """The issue's bomb, scaled: one cell of 300 MB in a file of a few hundred KB. The zip
    declares more than the archive may unpack, so nothing of it is read."""
    bomb = xlsx([["id"]], {STRINGS: shared_strings(text_of(300 * MIB))})
    assert len(bomb) < 1 * MIB
    with pytest.raises(FileProblem, match="解压后超过 100 MiB 上限"):
        read_xlsx(bomb)
    small = xlsx([["id"]], {STRINGS: shared_strings(text_of(2000))})
    with pytest.raises(FileProblem, match=r"sharedStrings\.xml #1：单元格超过 1000 字符上限"):
        read_xlsx(small, limits=SMALL)


def test_a_shared_string_in_many_runs_is_counted_whole() -> None:
    runs = [b"<r>" + b"".join(text_of(400)) + b"</r>" for _ in range(3)]
    bomb = xlsx([["id"]], {STRINGS: shared_strings([b"<t>ok</t>"], runs)})
    with pytest.raises(FileProblem, match=r"#2：单元格超过 1000 字符上限"):
        read_xlsx(bomb, limits=SMALL)


def test_an_inline_string_cell_over_the_limit_is_refused() -> None:
    cell = b'<row r="1"><c r="B1" t="inlineStr"><is>' + b"".join(text_of(1001)) + b"</is></c></row>"
    bomb = xlsx([["id"]], {SHEET: sheet_xml([cell])})
    with pytest.raises(FileProblem, match=r"sheet1\.xml B1：单元格超过 1000 字符上限"):
        read_xlsx(bomb, limits=SMALL)
    fits = '<row r="1"><c r="B1" t="inlineStr"><is><t>好</t></is></c></row>'.encode()
    assert read_xlsx(xlsx([["id"]], {SHEET: sheet_xml([fits])}), limits=SMALL) == [
        (1, [None, "好"])
    ]


def test_a_row_of_many_cells_over_the_row_limit_is_refused() -> None:
    row = [["y" * 900] * 5]  # each cell fits, the row (5 × 900 > 4 × 1000) does not
    with pytest.raises(FileProblem, match="第 1 行 / row 1：一行超过 4000 字符上限"):
        read_xlsx(xlsx(row), limits=SMALL)


def test_wide_rows_are_bounded_by_the_cells_in_all() -> None:
    """One cell at column XFD makes openpyxl hand over 16,384 values a row."""
    rows = (b'<row r="%d"><c r="XFD%d"><v>1</v></c></row>' % (n, n) for n in range(1, 50))
    bomb = xlsx([["id"]], {SHEET: sheet_xml(rows)})
    with pytest.raises(FileProblem, match="个单元格上限"):
        read_xlsx(bomb, limits=ReadLimits(unpacked_bytes=4 * MIB))


def test_xlsx_rows_over_the_cap_are_refused() -> None:
    with pytest.raises(FileProblem, match="超过 100 行上限"):
        read_xlsx(xlsx([[n] for n in range(101)]), limits=SMALL)
    assert len(read_xlsx(xlsx([[n] for n in range(100)]), limits=SMALL)) == 100


def test_csv_cells_rows_and_row_count_are_bounded() -> None:
    with pytest.raises(FileProblem, match="第 2 行 / line 2：单元格超过 1000 字符上限"):
        read_csv(b"id,text\n1," + b"x" * 1001 + b"\n", limits=SMALL)
    with pytest.raises(FileProblem, match="一行超过 4000 字符上限"):
        read_csv(b"a,b,c,d,e\n" + b",".join([b"x" * 900] * 5), limits=SMALL)
    with pytest.raises(FileProblem, match="超过 100 行上限"):
        read_csv(b"id\n" + b"1\n" * 100, limits=SMALL)


def test_jsonl_rows_are_bounded_before_they_are_parsed() -> None:
    """JSON lines had no row cap at all, and a 4 MB line was parsed and kept."""
    big = jsonl([{"id": 1, "text": "ok"}, {"id": 2, "text": "x" * (4 * MIB)}])
    with pytest.raises(FileProblem, match=r"big\.jsonl:2：一行超过 400000 字符上限"):
        read_part(Part("big.jsonl", content=big), limits=ReadLimits())
    many = jsonl({"id": n, "text": "t"} for n in range(101))
    with pytest.raises(FileProblem, match="超过 100 行上限"):
        read_part(Part("many.jsonl", content=many), limits=SMALL)
    array = json.dumps([{"id": n} for n in range(101)]).encode()
    with pytest.raises(FileProblem, match="超过 100 行上限"):
        read_part(Part("many.json", content=array), limits=SMALL)
    cell = jsonl([{"id": 1, "text": "字" * 1001}])
    with pytest.raises(FileProblem, match=r"cell\.jsonl:1：单元格超过 1000 字符上限"):
        read_part(Part("cell.jsonl", content=cell), limits=SMALL)
    fits = read_part(
        Part("ok.jsonl", content=jsonl([{"id": 1, "text": "字" * 1000}])), limits=SMALL
    )
    assert len(fits.records) == 1


def cmmlu_rows(n: int, start: int = 0) -> Iterable[bytes]:
    yield b",Question,A,B,C,D,Answer\n"
    for i in range(start, start + n):
        yield f"{i},问题{i},甲,乙,丙,丁,A\n".encode()


def test_cmmlu_zip_rows_and_size_are_bounded() -> None:
    """A CMMLU zip of 120,000 rows was written; the cap now holds across its files."""
    many = cmmlu_zip({"test/a.csv": cmmlu_rows(60), "test/b.csv": cmmlu_rows(60)})
    with pytest.raises(FileProblem, match="超过 100 行上限"):
        read_part(Part("cmmlu.zip", content=many), limits=SMALL)
    filler = (b"0,q,a,b,c,d,A\n" * 8192 for _ in range(8))  # ~0.9 MiB each
    big = cmmlu_zip({"a.csv": filler, "b.csv": (b"0,q,a,b,c,d,A\n" * 8192 for _ in range(8))})
    assert len(big) < 64 * 1024
    with pytest.raises(FileProblem, match=r"cmmlu\.zip：解压后超过 1 MiB 上限"):
        read_part(Part("cmmlu.zip", content=big), limits=SMALL)


def test_a_member_that_lies_about_its_size_is_not_unpacked_past_it() -> None:
    """Headers are not trusted: the bytes are counted as they unpack, and zipfile stops at
    what the member declares (then fails its CRC), so a lie gains nothing."""
    honest = cmmlu_zip({"a.csv": [b"x" * (2 * MIB)]})
    archive = zipfile.ZipFile(io.BytesIO(honest))
    info = archive.infolist()[0]
    with pytest.raises(ValueError, match="解压后超过 1 MiB 上限"):
        read_member(archive, info, "a.zip", SMALL, spent=0)
    info.file_size = 1000  # the central directory now claims 1000 bytes
    with pytest.raises(zipfile.BadZipFile):
        read_member(archive, info, "a.zip", SMALL, spent=0)
    lying = honest.replace((2 * MIB).to_bytes(4, "little"), (1000).to_bytes(4, "little"))
    with pytest.raises(FileProblem, match="zip 文件损坏或不完整"):
        read_part(Part("lying.zip", content=lying), limits=SMALL)


def test_the_row_cap_holds_across_the_parts_of_one_import() -> None:
    parts = [
        Part("train.jsonl", content=jsonl({"id": n} for n in range(60)), split="train"),
        Part("test.jsonl", content=jsonl({"id": n} for n in range(60, 120)), split="test"),
    ]
    with pytest.raises(FileProblem, match="超过 100 行上限"):
        read_parts(parts, limits=SMALL)
    assert len(read_parts(parts[:1], limits=SMALL).records) == 60
