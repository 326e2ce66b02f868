"""One error type for the rules to raise; the web and API layers render it."""

from __future__ import annotations

from typing import Any


class MosuError(Exception):
    """A failure the user should see: a stable ``code``, an HTTP status and a message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
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

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after
