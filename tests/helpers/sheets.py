"""Files to upload, made in memory: registry rows as CSV, hand-built XLSX parts, JSON lines
and CMMLU zips."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Sequence

import openpyxl

from tests.conftest import credit_code


def org_row(n: int, name: str | None = None, **cells: object) -> dict[str, object]:
    row: dict[str, object] = {
        "名称": name or f"模速测试{n}号科技有限公司",
        "英文名称": f"Test {n} Co., Ltd.",
        "统一社会信用代码": credit_code(n),
        "梯队": "群星",
        "产业链层级": "模型、应用",
        "是否入驻": "是",
        "入驻日期": "2023-09-01",
        "网址": f"https://t{n}.example.cn",
        "简介": "专注大模型研发",
        "服务地区": "上海、江苏",
        "联系人": f"张{n}",
        "联系电话": f"021-5{n:07d}",
        "联系邮箱": f"t{n}@example.cn",
    }
    row.update(cells)
    return row


def csv_bytes(
    rows: Sequence[dict[str, object]], encoding: str = "utf-8", delimiter: str = ","
) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


SHEET = "xl/worksheets/sheet1.xml"


def xlsx(rows: Iterable[list[object]], replace: dict[str, Iterable[bytes]] | None = None) -> bytes:
    """A workbook of ``rows``, with members replaced by streamed content (never built whole)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    plain = io.BytesIO()
    workbook.save(plain)
    replace = replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        names = source.namelist()
        for name in names:
            if name not in replace:
                zf.writestr(name, source.read(name))
        for name, chunks in replace.items():
            with zf.open(name, "w", force_zip64=True) as member:
                for chunk in chunks:
                    member.write(chunk)
    return out.getvalue()


def text_of(length: int, char: bytes = b"x") -> Iterable[bytes]:
    yield b"<t>"
    while length > 0:
        yield char * min(length, 1 << 20)
        length -= 1 << 20
    yield b"</t>"


def sheet_xml(rows: Iterable[bytes]) -> Iterable[bytes]:
    yield b'<?xml version="1.0" encoding="UTF-8"?>'
    yield b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    yield b"<sheetData>"
    yield from rows
    yield b"</sheetData></worksheet>"


def jsonl(rows: Iterable[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def cmmlu_zip(members: dict[str, Iterable[bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, chunks in members.items():
            with zf.open(name, "w", force_zip64=True) as member:
                for chunk in chunks:
                    member.write(chunk)
    return out.getvalue()
