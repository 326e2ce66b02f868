"""Compressed answers (gzip): pages, fragments, JSON and CSV, for clients that accept it.

Starlette's ``GZipMiddleware``, set for what mosu sends:

* level 6 (not 9): a page of some 30 KB compresses in a fraction of a millisecond, and the
  last levels save a few per cent for several times the CPU;
* answers under 500 bytes go as they are (the gzip frame would eat the gain);
* files that are compressed already, spreadsheets (``.xlsx`` is a zip), archives, images,
  PDFs and opaque downloads go as they are; a streamed download of text (CSV, the race's
  standalone report) is compressed chunk by chunk as it streams, without a
  ``Content-Length``;
* the static files (:mod:`mosu.web.assets`) come gzipped already, with their
  ``Content-Encoding``: an answer that has one is left alone.

It sits inside the micro-cache (:mod:`mosu.public_cache`), whose key says whether the client
takes gzip: a public page is compressed once per stored answer, not once per request, and the
answer's ``ETag`` is that of the bytes sent. The ``Vary: Accept-Encoding`` it adds tells
shared caches the same.
"""

from __future__ import annotations

from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.types import ASGIApp

LEVEL = 6
MINIMUM_BYTES = 500
ALREADY_COMPRESSED = (
    *DEFAULT_EXCLUDED_CONTENT_TYPES,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/octet-stream",
    "application/pdf",
    "application/x-sqlite3",
    "image/x-icon",
)


class Compression(GZipMiddleware):
    """gzip for the answers worth it (see the module's text)."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(
            app,
            minimum_size=MINIMUM_BYTES,
            compresslevel=LEVEL,
            exclude_content_types=ALREADY_COMPRESSED,
        )


__all__ = ["Compression"]
