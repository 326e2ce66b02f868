"""How much work one import may cost: rows, the size of a cell and of a row, and how far an
archive (a CMMLU zip, the zip inside every xlsx) may unpack.

Every reader of an upload (CSV, JSON lines, xlsx, CMMLU) takes a :class:`ReadLimits` and
refuses, naming the limit, what would go past it; nothing is truncated. Pure: no I/O here.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING
from xml.parsers import expat

from mosu.core.errors import (
    CELL_TOO_LONG,
    ROW_TOO_LONG,
    TOO_MANY_CELLS,
    TOO_MANY_ROWS,
    UNPACKS_TOO_LARGE,
    MosuError,
)
from mosu.core.text import Param

if TYPE_CHECKING:
    from mosu.core.settings import Settings

MIB = 1024 * 1024
UNPACK_FACTOR = 5
"""An archive may unpack to this many times ``MOSU_MAX_UPLOAD_MB``, each member and in all."""
ROW_FACTOR = 4
"""A row may hold this many cells' worth of text."""
CELL_SLOT_BYTES = 16
"""Cells kept in all: one per this many bytes an archive may unpack (each kept cell costs
at least a pointer, and a sheet's empty cells cost nothing in the file)."""
CHUNK = 1 << 16


class LimitExceeded(ValueError):
    """An upload goes past a :class:`ReadLimits` bound. ``error`` is the catalogued error
    naming the bound (raise it, or show its ``text``, in the reader's language)."""

    def __init__(self, error: MosuError) -> None:
        super().__init__(error.message)
        self.error = error
        self.text = error.text


@dataclass(frozen=True)
class ReadLimits:
    """The bounds of one import: ``rows`` in all, ``cell_chars`` per cell, ``row_chars``
    per row (a CSV record, an xlsx row, a JSON line), ``unpacked_bytes`` per archive."""

    rows: int = 100_000
    cell_chars: int = 100_000
    unpacked_bytes: int = UNPACK_FACTOR * 20 * MIB

    @property
    def row_chars(self) -> int:
        return ROW_FACTOR * self.cell_chars

    @property
    def cells(self) -> int:
        return self.unpacked_bytes // CELL_SLOT_BYTES

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadLimits:
        return cls(
            rows=settings.max_import_rows,
            cell_chars=settings.max_cell_chars,
            unpacked_bytes=UNPACK_FACTOR * settings.max_upload_mb * MIB,
        )

    def too_many_rows(self) -> LimitExceeded:
        return LimitExceeded(TOO_MANY_ROWS(rows=self.rows))

    def too_many_cells(self) -> LimitExceeded:
        return LimitExceeded(TOO_MANY_CELLS(cells=self.cells))

    def too_large_unpacked(self, name: str) -> LimitExceeded:
        return LimitExceeded(UNPACKS_TOO_LARGE(name=name, mib=self.unpacked_bytes // MIB))

    def check_cell(self, length: int, where: Param) -> None:
        """Refuse a cell of ``length`` characters over the limit; ``where`` names the cell
        (a name, or a catalogued :class:`~mosu.core.text.Text` such as 第 3 行)."""
        if length > self.cell_chars:
            raise LimitExceeded(CELL_TOO_LONG(where=where, cell_chars=self.cell_chars))

    def check_row_length(self, length: int, where: Param) -> None:
        """Refuse a row of ``length`` characters over the limit."""
        if length > self.row_chars:
            raise LimitExceeded(ROW_TOO_LONG(where=where, row_chars=self.row_chars))

    def check_row(self, values: Iterable[object], where: Param) -> None:
        """Refuse a row whose text cells, alone or together, go past the limits."""
        total = 0
        for value in values:
            if isinstance(value, str):
                self.check_cell(len(value), where)
                total += len(value)
        self.check_row_length(total, where)


def check_archive(archive: zipfile.ZipFile, name: str, limits: ReadLimits) -> None:
    """Refuse an archive whose members declare more than ``limits.unpacked_bytes``, one or
    together. :mod:`zipfile` never yields more than a member declares (it stops there and
    then fails the CRC), so what a reader gets through it is bounded as well."""
    total = 0
    for info in archive.infolist():
        total += info.file_size
        if total > limits.unpacked_bytes:
            raise limits.too_large_unpacked(name)


def read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: ReadLimits, spent: int
) -> bytes:
    """A member's bytes, counted as they unpack: past ``limits.unpacked_bytes`` with the
    ``spent`` bytes of earlier members is refused, whatever its header says."""
    parts: list[bytes] = []
    with archive.open(info) as stream:
        while chunk := stream.read(CHUNK):
            spent += len(chunk)
            if spent > limits.unpacked_bytes:
                raise limits.too_large_unpacked(name)
            parts.append(chunk)
    return b"".join(parts)


_CELL_TAGS = frozenset({"c", "si", "is"})
XLSX_TEXT_PARTS = re.compile(r"^xl/(sharedStrings\.xml|worksheets/[^/]+\.xml)$")


def scan_xml_cells(stream: IO[bytes], name: str, limits: ReadLimits) -> None:
    """Stream an xlsx part (shared strings or a sheet) through expat and refuse a cell or
    shared string whose text passes ``limits.cell_chars``, before any library builds it.
    Text is counted as it arrives, in pieces, so a huge cell costs no memory here."""
    parser = expat.ParserCreate()
    where = name
    run = 0
    strings = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal run, where, strings
        local = tag.rpartition(":")[2]
        if local in _CELL_TAGS:
            run = 0
            if local == "si":
                strings += 1
                where = f"{name} #{strings}"
            elif local == "c":
                where = f"{name} {attrs.get('r', '')}".rstrip()

    def text(data: str) -> None:
        nonlocal run
        run += len(data)
        limits.check_cell(run, where)

    parser.StartElementHandler = start
    parser.CharacterDataHandler = text
    while chunk := stream.read(CHUNK):
        parser.Parse(chunk, False)
    parser.Parse(b"", True)


def check_xlsx(content: IO[bytes], limits: ReadLimits) -> None:
    """Refuse an xlsx whose zip unpacks past the limit or holds a cell past it, before
    openpyxl reads it. A file that is not a zip or not XML is left for openpyxl to refuse."""
    try:
        archive = zipfile.ZipFile(content)
    except zipfile.BadZipFile:
        return
    with archive:
        check_archive(archive, "xlsx", limits)
        for info in archive.infolist():
            if XLSX_TEXT_PARTS.match(info.filename):
                try:
                    with archive.open(info) as stream:
                        scan_xml_cells(stream, info.filename, limits)
                except (expat.ExpatError, zipfile.BadZipFile, EOFError, OSError):
                    continue  # damaged: openpyxl refuses it if the sheet is read
