"""Logs (日志): one line per event, as text or JSON, with what it belongs to and no secrets.

Each line carries the request id of the HTTP request it was written for, or the job id and
race id of the job that wrote it: context variables set by the request middleware and the
worker, copied onto every record by :class:`ContextFilter` (asyncio tasks and threads started
from a job carry them along, see :func:`bound`). ``MOSU_LOG_FORMAT=json`` writes one JSON
object a line, for a collector (Loki, Elasticsearch); ``text`` a readable line.

Secrets never reach a line: :func:`redact` masks bearer tokens, API tokens (``mosu_…``),
session cookies, ``password=`` / ``api_key=`` pairs and anything in a URL's user
information, in the message and the exception's text alike.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any, Literal

from mosu.core import clock

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mosu_request_id", default=None
)
JOB_ID: contextvars.ContextVar[int | None] = contextvars.ContextVar("mosu_job_id", default=None)
RACE_ID: contextvars.ContextVar[int | None] = contextvars.ContextVar("mosu_race_id", default=None)
Format = Literal["text", "json"]

_SECRETS = [
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (re.compile(r"\bmosu_[A-Za-z0-9_-]{8,}"), "mosu_[redacted]"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), "sk-[redacted]"),
    (
        re.compile(
            r"(?i)\b(password|passwd|secret|secret_key|token|api_key|apikey|authorization"
            r"|mosu_session|csrf_token)(\"?\s*[:=]\s*\"?)[^\s\"&,;}]+"
        ),
        r"\1\2[redacted]",
    ),
    (re.compile(r"(://[^/\s:@]+):[^@\s/]+@"), r"\1:[redacted]@"),
]


def redact(text: str) -> str:
    """``text`` with every secret-looking part masked."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class ContextFilter(logging.Filter):
    """Puts ``request_id``, ``job_id`` and ``race_id`` on every record, and masks secrets
    in its message (formatted with its arguments) and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        record.job_id = JOB_ID.get()
        record.race_id = RACE_ID.get()
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def _context(record: logging.LogRecord) -> dict[str, Any]:
    keys = ("request_id", "job_id", "race_id")
    return {k: getattr(record, k) for k in keys if getattr(record, k, None) is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (Beijing, ISO 8601), level, logger, message, the
    context ids, and the exception's text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": clock.local(clock.from_timestamp(record.created)).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
        }
        if record.exc_text:
            line["error"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger [request_id=… job_id=…] message``."""

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(f"{k}={v}" for k, v in _context(record).items())
        at = clock.local(clock.from_timestamp(record.created)).strftime("%Y-%m-%d %H:%M:%S")
        line = f"{at} {record.levelname:<7} {record.name}"
        line += f" [{context}] " if context else " "
        line += record.getMessage()
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


def handler(fmt: Format, stream: Any = None) -> logging.Handler:
    """A stream handler (stderr by default) writing ``fmt`` lines through the filter."""
    out = logging.StreamHandler(stream or sys.stderr)
    out.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    out.addFilter(ContextFilter())
    return out


LOGGERS = ("mosu", "uvicorn", "uvicorn.error", "uvicorn.access")
QUIET = ("alembic",)
"""Loggers whose INFO lines are noise in a service's log (Alembic's plugin set-up)."""


def configure(fmt: Format, level: str = "INFO", stream: Any = None) -> logging.Handler:
    """Send mosu's, Uvicorn's and Alembic's lines to one handler of ``fmt`` at ``level``."""
    out = handler(fmt, stream)
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "mosu", False)]
    out.mosu = True  # type: ignore[attr-defined]
    root.addHandler(out)
    root.setLevel(level.upper())
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    return out


def uvicorn_log_config(fmt: Format, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config`` dictionary for Uvicorn's own processes (``--workers N``), so
    each web process logs as :func:`configure` does."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {
            "mosu": {"()": JsonFormatter if fmt == "json" else TextFormatter},
        },
        "handlers": {
            "mosu": {
                "class": "logging.StreamHandler",
                "formatter": "mosu",
                "filters": ["context"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["mosu"], "level": level.upper()},
        "loggers": {
            **{name: {"handlers": [], "propagate": True} for name in LOGGERS},
            **{name: {"level": "WARNING"} for name in QUIET},
        },
    }


@contextlib.contextmanager
def bound(*, job_id: int | None = None, race_id: int | None = None) -> Iterator[None]:
    """Within the block, lines carry ``job_id`` and ``race_id`` (a worker's job)."""
    tokens = [JOB_ID.set(job_id), RACE_ID.set(race_id)]
    try:
        yield
    finally:
        RACE_ID.reset(tokens[1])
        JOB_ID.reset(tokens[0])
