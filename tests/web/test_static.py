"""Static files under fingerprinted names, gzip for them and for pages, and the favicon."""

from __future__ import annotations

import asyncio
import gzip
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from mosu.public_cache import new_store
from mosu.web.assets import IMMUTABLE, Assets, StaticAssets, assets
from mosu.web.compression import Compression
from tests.conftest import LiveServer
from tests.helpers.public_cache import Clock, cache_of
from tests.helpers.signin import browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Client:
    """Requests straight to an ASGI app, no server (httpx decodes gzip as a browser does)."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] | None = None) -> None:
        self.app, self.headers = app, headers or {}

    def request(
        self, method: str, url: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await client.request(
                    method, url, headers={**self.headers, **(headers or {})}
                )

        return asyncio.run(go())

    def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("GET", url, headers)

    def head(self, url: str) -> httpx.Response:
        return self.request("HEAD", url)

    def post(self, url: str) -> httpx.Response:
        return self.request("POST", url)


@pytest.fixture
def files(tmp_path: Path) -> Assets:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "site.css").write_text("body { color: #111; }\n" * 200)
    (tmp_path / "vendor" / "lib.js").write_text("var x = 1;\n" * 300)
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return Assets(tmp_path)


def test_fingerprinted_names_are_immutable_and_gzipped(files: Assets) -> None:
    client = Client(StaticAssets(Starlette(), files))
    url = files.url("vendor/lib.js")
    assert re.fullmatch(r"/static/vendor/lib\.[0-9a-f]{12}\.js", url)
    answer = client.get(url, headers={"accept-encoding": "gzip"})
    assert answer.status_code == 200 and answer.text == "var x = 1;\n" * 300
    assert answer.headers["cache-control"] == IMMUTABLE
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["vary"] == "Accept-Encoding"
    assert answer.headers["content-type"].startswith("text/javascript")
    assert int(answer.headers["content-length"]) < 200  # 3,300 bytes of a repeated line
    plain = client.get(url, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == answer.content
    refused = client.get(url, headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    again = client.get(url, headers={"if-none-match": answer.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = client.head(url)
    assert head.status_code == 200 and head.content == b""


def test_plain_names_revalidate_and_the_rest_is_refused(files: Assets) -> None:
    def page(request: Request) -> Response:
        return HTMLResponse("<p>模速</p>")

    client = Client(StaticAssets(Starlette(routes=[Route("/", page)]), files))
    css = client.get("/static/site.css")
    assert css.headers["x-content-type-options"] == "nosniff"  # answered first, headers too
    assert "frame-ancestors 'none'" in css.headers["content-security-policy"]
    assert client.get("/").text == "<p>模速</p>"  # anything else goes on to the app
    assert css.status_code == 200 and css.headers["cache-control"] == "no-cache"
    assert css.headers["etag"] == f'"{files.by_name["site.css"].digest}"'
    png = client.get(files.url("logo.png"), headers={"accept-encoding": "gzip"})
    assert png.headers["content-type"] == "image/png" and "content-encoding" not in png.headers
    wrong = files.url("site.css").replace(files.by_name["site.css"].digest, "0" * 12)
    for missing in (wrong, "/static/../site.css", "/static/nothing.js", "/static/vendor"):
        assert client.get(missing).status_code == 404, missing
    assert client.post(files.url("site.css")).status_code == 405


async def _csv() -> AsyncIterator[bytes]:
    for n in range(50):
        yield f"{n},名称{n},说明说明说明说明\n".encode()


def test_pages_and_text_downloads_are_gzipped_not_spreadsheets() -> None:
    def page(request: Request) -> Response:
        return HTMLResponse("<p>模速</p>" * 200)

    def sheet(request: Request) -> Response:
        return Response(b"PK\x03\x04" + b"\x00" * 2000, media_type=XLSX)

    def small(request: Request) -> Response:
        return HTMLResponse("<p>ok</p>")

    def csv(request: Request) -> Response:
        return StreamingResponse(_csv(), media_type="text/csv; charset=utf-8")

    routes = [Route("/page", page), Route("/sheet", sheet), Route("/small", small)]
    app = Compression(Starlette(routes=[*routes, Route("/csv", csv)]))
    client = Client(app, headers={"accept-encoding": "gzip"})
    assert client.get("/page").headers["content-encoding"] == "gzip"
    assert client.get("/page").text == "<p>模速</p>" * 200
    assert "content-encoding" not in client.get("/sheet").headers
    assert "content-encoding" not in client.get("/small").headers
    streamed = client.get("/csv")
    assert streamed.headers["content-encoding"] == "gzip"
    assert streamed.text.splitlines()[49] == "49,名称49,说明说明说明说明"


def test_the_package_files_and_the_favicon() -> None:
    shipped = assets()
    assert {"favicon.svg", "vendor/plotly-cartesian.min.js", "mosu.css"} <= shipped.by_name.keys()
    favicon = shipped.by_name["favicon.svg"]
    assert favicon.media_type == "image/svg+xml" and favicon.body.startswith(b"<svg")
    plotly = shipped.by_name["vendor/plotly-cartesian.min.js"]
    assert len(plotly.gzipped()) < len(plotly.body) // 2
    assert gzip.decompress(plotly.gzipped()) == plotly.body


@SQLITE
def test_the_overview_links_fingerprints_and_comes_gzipped(app: FastAPI, live: LiveServer) -> None:
    app.middleware_stack = app.build_middleware_stack()
    cache = cache_of(app)
    cache.entries = new_store(cache.seconds, Clock())  # stopped: nothing expires meanwhile
    with browser(live) as client:
        overview = client.get("/", headers={"accept-encoding": "gzip"})
        assert overview.headers["content-encoding"] == "gzip"
        linked = re.findall(r'(?:src|href|data-plotly)="(/static/[^"]+)"', overview.text)
        assert {u.split("/")[-1].split(".")[0] for u in linked} >= {
            "mosu",
            "favicon",
            "htmx",
            "plotly-cartesian",
        }
        for url in linked:
            answer = client.get(url, headers={"accept-encoding": "gzip"})
            assert answer.status_code == 200 and answer.headers["cache-control"] == IMMUTABLE
        api = client.get("/api/v1/orgs", headers={"accept-encoding": "gzip"})
        assert api.status_code == 200 and api.headers.get("content-encoding") in {"gzip", None}
        assert "Accept-Encoding" in api.headers.get("vary", "") or len(api.content) < 500
        orgs = client.get("/orgs", headers={"accept-encoding": "identity"})
        assert orgs.status_code == 200 and "content-encoding" not in orgs.headers
        # the micro-cache keeps the gzipped page apart from the plain one, each with its ETag
        again = client.get("/", headers={"accept-encoding": "gzip"})
        assert (
            again.headers["x-mosu-cache"] == "hit" and again.headers["content-encoding"] == "gzip"
        )
        plain = client.get("/", headers={"accept-encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.text == again.text
        assert plain.headers["etag"] != again.headers["etag"]
    assert httpx.get(live.url + "/static/favicon.svg").status_code == 200
