"""One error type for the rules to raise, and the catalogue of the errors users see.

Each error a user can meet is declared once as an :class:`Error`: a stable code, the
exception class that carries its HTTP status, and its message in Chinese, a gettext
``msgid`` whose English is in the catalogue (``mosu/i18n/locale``). A domain declares its
errors in its ``errors.py`` and raises them by calling them with the message's fields::

    NO_SUCH_SPLIT = Error("corpus.no_such_split", NotFound, "没有名为 {split} 的划分")
    raise NO_SUCH_SPLIT(split=name)

The web and API layers render the message in the reader's language; :func:`catalogue`
lists every error (the docs' error reference is made from it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticCustomError

from mosu.core.text import Param, Text

_DECLARED: dict[str, Error] = {}
_CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")


class MosuError(Exception):
    """A failure the user should see: a stable ``code``, an HTTP status and a message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str | Text, *, details: Any = None, code: str | None = None):
        self.text = message if isinstance(message, Text) else Text(message)
        self.message = str(self.text)
        super().__init__(self.message)
        self.details = details
        if code is not None:
            self.code = code


class NotFound(MosuError):
    status = 404
    code = "not_found"


class Unauthenticated(MosuError):
    status = 401
    code = "unauthenticated"


class Forbidden(MosuError):
    status = 403
    code = "forbidden"


class Conflict(MosuError):
    status = 409
    code = "conflict"


class Invalid(MosuError):
    status = 422
    code = "invalid"


class TooManyRequests(MosuError):
    """Refused for now: retry after ``retry_after`` seconds (sent as ``Retry-After``)."""

    status = 429
    code = "too_many_requests"

    def __init__(
        self,
        message: str | Text,
        *,
        retry_after: int,
        details: dict[str, Any] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(
            message, details={**(details or {}), "retry_after": retry_after}, code=code
        )
        self.retry_after = retry_after


class Unavailable(MosuError):
    status = 503
    code = "unavailable"


class Internal(MosuError):
    status = 500
    code = "internal"


@dataclass(frozen=True)
class Error:
    """One catalogued error: ``code`` (``domain.what``), the exception class that carries it
    (its HTTP status) and ``message``, the Chinese text with ``{field}`` names."""

    code: str
    kind: type[MosuError]
    message: str

    def __post_init__(self) -> None:
        if not _CODE.fullmatch(self.code):
            raise ValueError(f"an error code is domain.what in lower case: {self.code!r}")
        known = _DECLARED.setdefault(self.code, self)
        if known != self:
            raise ValueError(f"error code {self.code} is declared twice")

    def text(self, **params: Param) -> Text:
        return Text(self.message, params)

    def in_validator(self, **params: Param) -> PydanticCustomError:
        """The error as a pydantic validator raises it: its type is the code, its context the
        fields, so the answer shows it in the reader's language (``i18n.validation_message``)."""
        return PydanticCustomError(self.code, self.message, params)

    def __call__(self, *, details: Any = None, **params: Param) -> MosuError:
        """The exception to raise, with the message's fields filled from ``params``."""
        if issubclass(self.kind, TooManyRequests):
            retry_after = int(params["retry_after"])
            return self.kind(
                self.text(**params), retry_after=retry_after, details=details, code=self.code
            )
        return self.kind(self.text(**params), details=details, code=self.code)


def declared(code: str) -> Error | None:
    """The catalogued error of ``code``, if there is one."""
    return _DECLARED.get(code)


def catalogue() -> list[Error]:
    """Every error declared so far (import the domains first), by code."""
    return sorted(_DECLARED.values(), key=lambda e: e.code)


NOT_ALLOWED = Error("core.not_allowed", Forbidden, "无权访问")
SIGN_IN = Error("core.sign_in", Unauthenticated, "请先登录")
ROLE_NOT_ALLOWED = Error("core.role_not_allowed", Forbidden, "当前角色无权执行此操作")
INVALID_REQUEST = Error("core.invalid_request", Invalid, "请求数据不合法")
OUT_OF_RANGE = Error("core.out_of_range", Invalid, "数值超出范围")
DATABASE_BUSY = Error("core.database_busy", Unavailable, "数据库繁忙，请稍后重试")
INTERNAL = Error("core.internal", Internal, "服务器内部错误")
PAGE_NOT_FOUND = Error("core.page_not_found", NotFound, "页面不存在")
METHOD_NOT_ALLOWED = Error("core.method_not_allowed", MosuError, "不支持这种请求方法")
HTTP_ERROR = Error("core.http_error", MosuError, "请求无法处理（HTTP {status}）")

# files (mosu.core.files)
FILE_TOO_LARGE = Error("core.file_too_large", Invalid, "{what}超过 {max_mib} MiB 上限")
NOT_A_PDF = Error("core.not_a_pdf", Invalid, "{what}须为 PDF 文件")
FILE_MISSING = Error("core.file_missing", NotFound, "文件不存在")

# the bounds of an import (mosu.core.limits)
TOO_MANY_ROWS = Error("core.too_many_rows", Invalid, "超过 {rows} 行上限，请分批导入")
TOO_MANY_CELLS = Error("core.too_many_cells", Invalid, "超过 {cells} 个单元格上限，请分批导入")
UNPACKS_TOO_LARGE = Error("core.unpacks_too_large", Invalid, "{name}：解压后超过 {mib} MiB 上限")
CELL_TOO_LONG = Error("core.cell_too_long", Invalid, "{where}：单元格超过 {cell_chars} 字符上限")
ROW_TOO_LONG = Error("core.row_too_long", Invalid, "{where}：一行超过 {row_chars} 字符上限")

# money (mosu.core.money)
NOT_AN_AMOUNT = Error("core.not_an_amount", Invalid, "不是金额：{amount}")
FRACTION_OF_FEN = Error("core.fraction_of_fen", Invalid, "金额最多两位小数（分）：{amount}")
