"""Static files (静态资源): served from memory under fingerprinted names, gzipped once.

Every file under ``mosu/web/static`` is read once, when the application is built, and kept
in memory with its SHA-256. Pages link to it through :func:`static_url`, which names the
file with the first 12 hex digits of that hash before its extension
(``/static/mosu.3f2a…c1.css``): a changed file has a new address, so its answer may be kept
for a year (``Cache-Control: public, max-age=31536000, immutable``) and a browser never asks
again. The plain name (``/static/mosu.css``) still answers, with ``Cache-Control: no-cache``
and an ``ETag`` (a browser revalidates it, a 304 when it did not change).

Text files (scripts, styles, SVG) are gzipped at most once per process, on the first request
that accepts gzip, and the compressed bytes are kept beside the plain ones; answers say
``Vary: Accept-Encoding``. Brotli is not offered: it is not among the locked dependencies.

No file is read, no thread is taken and no database is touched while answering: the answer is
two ASGI messages from memory, the cheapest a Python server can give (a reverse proxy in front
can still serve ``/static/`` itself, see the deployment docs).
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from mosu.evals.report import PLOTLY_JS
from mosu.web.headers import HEADERS

STATIC_DIR = Path(__file__).parent / "static"
PLOTLY = "vendor/plotly-cartesian.min.js"
"""The chart pages' plotly.js, the bundle the engine's reports inline (mosu/evals/vendor)."""
PREFIX = "/static/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
DIGEST_CHARS = 12
COMPRESSIBLE = {".js", ".css", ".svg", ".txt", ".json", ".map", ".html"}
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".ico": "image/x-icon",
}


@dataclass
class Asset:
    """One static file as served: its bytes, their digest and media type, and (once asked
    for) the gzipped bytes."""

    name: str
    body: bytes
    digest: str
    media_type: str
    _gzipped: bytes | None = field(default=None, repr=False)

    @property
    def fingerprinted(self) -> str:
        path = PurePosixPath(self.name)
        return str(path.with_name(f"{path.stem}.{self.digest}{path.suffix}"))

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'

    @property
    def compressible(self) -> bool:
        return PurePosixPath(self.name).suffix in COMPRESSIBLE

    def gzipped(self) -> bytes:
        """The gzipped body, made on the first call (the same bytes every time: no mtime)."""
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=9, mtime=0)
        return self._gzipped


def _media_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class Assets:
    """Every file under a directory, by its plain name and by its fingerprinted name."""

    def __init__(self, directory: Path, also: Mapping[str, Path] | None = None) -> None:
        """Every file under ``directory``, and the files ``also`` names (name → path)."""
        self.by_name: dict[str, Asset] = {}
        self.by_fingerprint: dict[str, Asset] = {}
        files = {p.relative_to(directory).as_posix(): p for p in directory.rglob("*")}
        files.update(also or {})
        for name, path in sorted(files.items()):
            if not path.is_file():
                continue
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:DIGEST_CHARS]
            asset = Asset(name, body, digest, _media_type(name))
            self.by_name[name] = asset
            self.by_fingerprint[asset.fingerprinted] = asset

    def url(self, name: str) -> str:
        """The fingerprinted address of ``name`` (a path under the static directory)."""
        return PREFIX + self.by_name[name].fingerprinted

    def find(self, name: str) -> tuple[Asset, bool] | None:
        """The asset a request names, and whether it named it by its fingerprint."""
        if name in self.by_fingerprint:
            return self.by_fingerprint[name], True
        if name in self.by_name:
            return self.by_name[name], False
        return None


@cache
def assets() -> Assets:
    """The package's static files, read once per process."""
    return Assets(STATIC_DIR, also={PLOTLY: PLOTLY_JS})


def static_url(name: str) -> str:
    """The address a page links ``name`` with (the template global ``static``)."""
    return assets().url(name)


def _accepts_gzip(headers: Headers) -> bool:
    for part in headers.get("accept-encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "") not in {"q=0", "q=0.0", "q=0.00", "q=0.000"}
    return False


_SECURITY = [(name.encode(), value.encode()) for name, value in HEADERS.items()]


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class StaticAssets:
    """ASGI middleware: ``/static/…`` answered from memory before any other layer, with the
    security headers (:mod:`mosu.web.headers`); GET and HEAD, 304 on a matching ``ETag``.
    Everything else goes on to ``app``. Routing a request through every page's route and
    the middlewares took longer than the answer itself (0.8 ms against 0.3 ms for a cached
    page, with one client), so a file is answered first."""

    def __init__(self, app: ASGIApp, files: Assets) -> None:
        self.app = app
        self.files = files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"].removeprefix(scope.get("root_path", "")) if "path" in scope else ""
        if scope["type"] != "http" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        found = self.files.find(path.removeprefix(PREFIX))
        if scope["method"] not in ("GET", "HEAD"):
            allow = [
                *_SECURITY,
                (b"allow", b"GET, HEAD"),
                (b"content-type", b"text/plain; charset=utf-8"),
            ]
            await _send(send, 405, allow, b"Method Not Allowed")
            return
        if found is None:
            plain = [*_SECURITY, (b"content-type", b"text/plain; charset=utf-8")]
            await _send(send, 404, plain, b"Not Found")
            return
        asset, fingerprinted = found
        request = Headers(scope=scope)
        headers = [
            *_SECURITY,
            (b"cache-control", (IMMUTABLE if fingerprinted else REVALIDATE).encode()),
            (b"etag", asset.etag.encode()),
            (b"content-type", asset.media_type.encode()),
        ]
        if asset.compressible:
            headers.append((b"vary", b"Accept-Encoding"))
        if request.get("if-none-match") == asset.etag:
            await _send(send, 304, headers, b"")
            return
        body = asset.body
        if asset.compressible and _accepts_gzip(request):
            body = asset.gzipped()
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await _send(send, 200, headers, b"" if scope["method"] == "HEAD" else body)


__all__ = ["IMMUTABLE", "Asset", "Assets", "StaticAssets", "assets", "static_url"]
