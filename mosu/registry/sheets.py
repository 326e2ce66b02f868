"""Spreadsheets as operators make them: reading xlsx and CSV (any encoding Excel writes),
reading cells typed by hand, and writing files that are safe to open in Excel.

Pure functions of bytes and values, no database: :mod:`mosu.registry.imports` and
:mod:`mosu.registry.exports` build the registry's import and export on them.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
import warnings
from collections.abc import Callable, Collection, Iterable
from decimal import Decimal

from mosu.core.limits import LimitExceeded, ReadLimits, check_xlsx

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make Excel or LibreOffice read a cell as a formula (OWASP)."""

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

Rows = list[tuple[int, list[object]]]
"""Rows with the number Excel shows for each (1 = the first line of the file)."""

_SEPARATORS = re.compile(r"[、,，;；\n]+")
_DATE_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_BOOLS = {
    **dict.fromkeys(("是", "y", "yes", "true", "1", "t", "对", "√"), True),
    **dict.fromkeys(("否", "n", "no", "false", "0", "f", "错", "×"), False),
}


class CellError(ValueError):
    """A cell that cannot be read; the message is the reason shown to the operator."""


class FileProblem(Exception):
    """The file as a whole cannot be read; the message is shown to the operator."""


# ---------------------------------------------------------------- cells


def norm(text: str) -> str:
    """A key for loose matching: NFKC (full-width → half-width), no spaces, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def as_text(value: object) -> str:
    """A cell as text: integral floats without ``.0``, dates in ISO form, booleans 是/否."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def clean_cell(value: object) -> object:
    """A raw cell with padding stripped and export escaping undone; ``None`` when empty."""
    if isinstance(value, str):
        if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_TRIGGERS:
            value = value[1:]
        return value.strip() or None
    return value


def is_blank(values: Iterable[object]) -> bool:
    return all(clean_cell(v) is None for v in values)


def choice(table: dict[str, str], what: str, allowed: str) -> Callable[[object], str]:
    """A parser mapping any spelling in ``table`` (matched loosely) to its value."""
    index = {norm(k): v for k, v in table.items()}

    def parse(value: object) -> str:
        text = as_text(value)
        hit = index.get(norm(text))
        if hit is None:
            raise CellError(f"{what}“{text}”无法识别，应为 {allowed}")
        return hit

    return parse


def split_list(value: object) -> list[str]:
    """A list typed in one cell, separated by 、 , ， ; ； or line breaks."""
    return [part.strip() for part in _SEPARATORS.split(as_text(value)) if part.strip()]


def parse_bool(value: object) -> bool:
    """是/否, Y/N, yes/no, true/false, 1/0 or a boolean cell."""
    if isinstance(value, bool):
        return value
    text = as_text(value)
    hit = _BOOLS.get(norm(text))
    if hit is None:
        raise CellError(f"“{text}”应为 是 或 否")
    return hit


def parse_number(value: object) -> float:
    """A number cell, or text such as ``7``, ``1.8``, ``1,000`` or ``7B``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = norm(as_text(value)).replace(",", "").removesuffix("b")
    try:
        return float(text)
    except ValueError:
        raise CellError(f"“{as_text(value)}”不是数字") from None


def parse_date(value: object) -> dt.date:
    """A date as operators type it or Excel stores it: 2023-09-01, 2023/9/1, 2023.9.1,
    2023年9月1日, 20230901, with or without a time, a date or datetime cell, or an
    Excel serial number."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = as_text(value)
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if 19000101 <= value <= 29991231:
                return dt.datetime.strptime(f"{int(value)}", "%Y%m%d").date()
            if 1 <= value < 2958466:
                return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        elif re.fullmatch(r"\d{8}", text):
            return dt.datetime.strptime(text, "%Y%m%d").date()
        elif m := _DATE_RE.match(unicodedata.normalize("NFKC", text)):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        pass
    raise CellError(f"日期无法识别：“{text}”（请写成 2023-09-01）")


# ---------------------------------------------------------------- reading files


def decode_csv(content: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was read with.

    A BOM decides (UTF-8, UTF-16 LE/BE); then NUL bytes mean UTF-16 without a BOM;
    otherwise strict UTF-8, then GB18030 (a superset of GBK, what Excel writes on
    Chinese Windows), and only then charset-normalizer's guess, which is unreliable
    on short Chinese text. Raises :class:`FileProblem` when nothing fits.
    """
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
        (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
    )
    for bom, codec, name in boms:
        if content.startswith(bom):
            body = content[len(bom) :]
            try:
                return body.decode(codec), name
            except UnicodeDecodeError as exc:
                line = body[: exc.start].count(b"\n") + 1
                raise FileProblem(f"文件按 {name} 编码，但第 {line} 行有无法解码的字节") from None
    head = content[:4096]
    if b"\x00" in head:
        codec = "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
        try:
            return content.decode(codec), codec
        except UnicodeDecodeError:
            raise FileProblem("文件含有空字节，不是文本 CSV；请上传 xlsx 或 CSV") from None
    for codec in ("utf-8", "gb18030"):
        try:
            return content.decode(codec), codec
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(content).best()
    if best is not None:
        return str(best), best.encoding
    raise FileProblem("文件编码无法识别（不是 UTF-8，也不是 GBK）；请在 Excel 中另存为“CSV UTF-8”")


def read_csv(
    content: bytes, *, headers: Collection[str] = (), limits: ReadLimits = ReadLimits()
) -> tuple[Rows, str]:
    """The rows of a CSV file and its encoding.

    The delimiter (comma, tab as in Excel's "Unicode text", or semicolon) is the one
    under which the first lines name most of ``headers`` (keys as :func:`norm` makes).
    A file past ``limits`` (rows, cell or row length) is a :class:`FileProblem`.
    """
    text, encoding = decode_csv(content)
    head = [line for line in text[: 20 * (limits.row_chars + 2)].splitlines()[:20] if line.strip()]

    def score(delimiter: str) -> tuple[int, int]:
        rows = list(csv.reader(head, delimiter=delimiter))
        known = max((sum(norm(c) in headers for c in r) for r in rows), default=0)
        return known, len(rows[0]) if rows else 0

    delimiter = max((",", "\t", ";"), key=score)
    rows: Rows = []
    number = cells = 0
    try:
        for number, record in enumerate(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1
        ):
            if number > limits.rows:
                raise limits.too_many_rows()
            cells += len(record)
            if cells > limits.cells:
                raise limits.too_many_cells()
            limits.check_row(record, f"第 {number} 行 / line {number}")
            rows.append((number, list(record)))
    except LimitExceeded as exc:
        raise FileProblem(str(exc)) from None
    except csv.Error as exc:
        raise FileProblem(f"第 {number + 1} 行无法按 CSV 读取：{exc}") from None
    return rows, encoding


#: Blank rows in a row after which a sheet's data is taken to have ended.
MAX_BLANK_RUN = 1000


def read_xlsx(
    content: bytes, *, sheet: str | None = None, limits: ReadLimits = ReadLimits()
) -> Rows:
    """The rows of the named worksheet, or the first; a damaged file, or one past
    ``limits`` (unpacked size, rows, cells, cell or row length), is a :class:`FileProblem`."""
    import openpyxl

    try:
        check_xlsx(io.BytesIO(content), limits)
    except LimitExceeded as exc:
        raise FileProblem(str(exc)) from None
    rows: Rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about features it drops on reading
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise FileProblem(
                f"无法读取 xlsx 文件（文件损坏、不完整或不是 xlsx）：{type(exc).__name__}"
            ) from None
        try:
            if sheet is not None and sheet not in workbook.sheetnames:
                names = "、".join(workbook.sheetnames)
                raise FileProblem(f"工作表“{sheet}”不存在；文件中的工作表：{names}")
            worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
            worksheet.reset_dimensions()
            blank_run = cells = 0
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                if all(v is None or v == "" for v in values):
                    blank_run += 1
                    if blank_run > MAX_BLANK_RUN:  # formatted but empty rows to the sheet's end
                        break
                    continue
                blank_run = 0
                if number > limits.rows:
                    raise limits.too_many_rows()
                cells += len(values)
                if cells > limits.cells:
                    raise limits.too_many_cells()
                limits.check_row(values, f"第 {number} 行 / row {number}")
                rows.append((number, list(values)))
        except FileProblem:
            raise
        except LimitExceeded as exc:
            raise FileProblem(str(exc)) from None
        except Exception as exc:  # a truncated sheet fails only while it is read
            raise FileProblem(
                f"无法读取 xlsx 文件（文件损坏或不完整）：{type(exc).__name__}"
            ) from None
        finally:
            workbook.close()
    return rows


def read_table(
    content: bytes,
    *,
    filename: str,
    sheet: str | None = None,
    headers: Collection[str] = (),
    limits: ReadLimits = ReadLimits(),
) -> tuple[Rows, str | None]:
    """The rows of an xlsx or CSV file, and the encoding for a CSV (``None`` for xlsx).

    A zip is read as xlsx whatever its name; anything else named ``.xlsx`` is refused.
    """
    name = filename.lower()
    if content.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise FileProblem("不支持旧版 .xls 或加密的工作簿；请另存为 .xlsx 或 CSV")
    if content.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm")):
        return read_xlsx(content, sheet=sheet, limits=limits), None
    return read_csv(content, headers=headers, limits=limits)


# ---------------------------------------------------------------- writing files


def neutralise(text: str) -> str:
    """``text`` made inert in a spreadsheet: a leading ``'`` when it would start a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(str(value))


def write_csv(headers: list[str], rows: Iterable[list[object]]) -> bytes:
    """A CSV in UTF-8 with a BOM (so Excel reads the Chinese right), every field quoted."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv_text(v) for v in row])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def write_xlsx(
    title: str, headers: list[str], rows: Iterable[list[object]], widths: list[int]
) -> bytes:
    """An xlsx with a bold, frozen header; text is always a string cell, never a formula."""
    return write_xlsx_sheets([(title, headers, rows, widths)])


Sheet = tuple[str, list[str], Iterable[list[object]], list[int]]


def write_xlsx_sheets(sheets: Iterable[Sheet], *, number_format: str | None = None) -> bytes:
    """An xlsx of several sheets (title, headers, rows, column widths), each with a bold,
    frozen header; text is always a string cell, never a formula. ``number_format`` is
    given to ``Decimal`` cells (money)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, headers, rows, widths in sheets:
        sheet = workbook.create_sheet(title)
        sheet.freeze_panes = "A2"
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        header = [WriteOnlyCell(sheet, value=h) for h in headers]
        for cell in header:
            cell.font = bold
        sheet.append(header)
        for row in rows:
            cells: list[object] = []
            for value in row:
                if isinstance(value, str):  # never starts with "=" now, so never a formula
                    cells.append(neutralise(ILLEGAL_CHARACTERS_RE.sub("", value)))
                elif isinstance(value, dt.date):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = "yyyy-mm-dd"
                    cells.append(cell)
                elif isinstance(value, Decimal) and number_format:
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = number_format
                    cells.append(cell)
                else:
                    cells.append(value)
            sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
