"""Request bodies over the limit, sent over real HTTP: refused with 413 before the route
reads them, nothing written, and the server goes on answering."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from mosu.accounts.models import User
from mosu.accounts.service import start_web_session
from mosu.corpus.models import Dataset, DatasetVersion
from mosu.registry.models import Organisation
from mosu.scenarios.models import Scenario
from mosu.supply.models import VoucherApplication
from tests.conftest import LiveServer, World, on_primary_database
from tests.helpers.sheets import SHEET, cmmlu_zip, jsonl, sheet_xml, text_of, xlsx

pytestmark = on_primary_database  # limits hold before any database work: one dialect suffices

MIB = 1024 * 1024
BOUNDARY = "b0undary"
MULTIPART_HEAD = (
    f"--{BOUNDARY}\r\n"
    'Content-Disposition: form-data; name="file"; filename="bomb.csv"\r\n'
    "Content-Type: text/csv\r\n\r\n"
).encode()


@dataclass
class Answer:
    status: int
    body: bytes
    sent: int


def bomb(
    port: int,
    path: str,
    *,
    total: int,
    head: bytes = b"",
    content_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
    chunked: bool = False,
    timeout: float = 60,
) -> Answer:
    """POST ``total`` bytes (``head`` then filler) without building them: declared by
    Content-Length or sent chunked, and stop sending as soon as the server answers."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Type: {content_type}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    block = b"x" * 65536
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    sock.setblocking(False)
    pending = b""
    sent = 0
    answered = False
    while not answered:
        if not pending and sent < total:
            piece = head if sent == 0 and head else block[: total - sent]
            sent += len(piece)
            pending = (b"%x\r\n" % len(piece) + piece + b"\r\n") if chunked else piece
        if not pending and sent >= total:
            if chunked:
                sock.setblocking(True)
                sock.sendall(b"0\r\n\r\n")
            break
        readable, writable, _ = select.select([sock], [sock], [], timeout)
        if readable:
            answered = True
        elif writable:
            try:
                pending = pending[sock.send(pending) :]
            except (BrokenPipeError, ConnectionResetError):
                answered = True
        else:
            raise AssertionError("the server neither read nor answered")
    sock.setblocking(True)
    data = b""
    while True:
        try:
            piece = sock.recv(65536)
        except ConnectionResetError:
            break
        if not piece:
            break
        data += piece
        header, _, body = data.partition(b"\r\n\r\n")
        length = [
            int(line.split(b":")[1])
            for line in header.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ]
        if length and len(body) >= length[0]:
            break
    sock.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else 0
    return Answer(status, data.partition(b"\r\n\r\n")[2], sent)


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def counts(db: Session) -> dict[str, int]:
    db.expire_all()
    tables = {"orgs": Organisation, "datasets": Dataset, "versions": DatasetVersion}
    tables |= {"scenarios": Scenario, "applications": VoucherApplication}
    return {k: db.scalar(sql_select(func.count()).select_from(t)) or 0 for k, t in tables.items()}


@pytest.fixture
def small_limit(app: FastAPI) -> int:
    """The signed-in limit set to 1 MiB, so the bombs stay quick."""
    app.state.settings = app.state.settings.model_copy(update={"max_upload_mb": 1})
    return 1


def still_serving(live: LiveServer) -> None:
    response = httpx.get(f"{live.url}/api/v1/orgs", timeout=30)
    assert response.status_code == 200


def test_anonymous_json_bomb_is_refused_before_the_body(
    live: LiveServer, world: World, db: Session, settings_dir: Path
) -> None:
    before = counts(db)
    answer = bomb(
        live.port,
        "/api/v1/scenarios",
        total=600 * MIB,
        head=b'{"title": "',
        content_type="application/json",
    )
    assert answer.status == 413
    assert b"64 KiB" in answer.body and b'"uploads.too_large_anonymous"' in answer.body
    assert answer.sent < 64 * MIB  # cut off: the server read none of it
    assert counts(db) == before and files_under(settings_dir) == []
    still_serving(live)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_anonymous_multipart_to_login_is_refused(
    live: LiveServer, world: World, db: Session, settings_dir: Path, chunked: bool
) -> None:
    answer = bomb(
        live.port,
        "/login",
        total=1024 * MIB,
        head=MULTIPART_HEAD,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        chunked=chunked,
    )
    assert answer.status == 413
    assert b"64 KiB" in answer.body and "请先登录".encode() in answer.body
    assert answer.sent < 64 * MIB
    assert files_under(settings_dir) == []
    still_serving(live)


@pytest.fixture
def settings_dir(app: FastAPI) -> Path:
    data_dir: Path = app.state.settings.data_dir
    return data_dir


@pytest.fixture
def operator_cookie(db: Session, world: World) -> str:
    user = db.get(User, world.user_ids["operator"])
    assert user is not None
    token = start_web_session(db, user=user, hours=1)
    db.commit()
    return f"mosu_session={token}"


def dataset_id(live: LiveServer, world: World) -> int:
    with httpx.Client(
        base_url=live.url + "/api/v1",
        headers={"Authorization": f"Bearer {world.tokens['supplier_a']}"},
        timeout=30,
    ) as client:
        answer = client.post("/corpus/datasets", json={"name": "炸弹"})
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])


def form_paths(live: LiveServer, world: World) -> Iterator[str]:
    yield "/corpus/new"
    yield f"/corpus/{dataset_id(live, world)}/import"
    yield "/supply/applications/new"
    yield "/import"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_signed_in_web_forms_refuse_a_body_over_the_limit(
    live: LiveServer,
    world: World,
    db: Session,
    settings_dir: Path,
    operator_cookie: str,
    small_limit: int,
    chunked: bool,
) -> None:
    for path in form_paths(live, world):
        before = counts(db)
        answer = bomb(
            live.port,
            path,
            total=256 * MIB,
            head=MULTIPART_HEAD,
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
            headers={"Cookie": operator_cookie, "Origin": live.url},
            chunked=chunked,
        )
        assert answer.status == 413, (path, answer.body[:300])
        assert f"{small_limit} MiB".encode() in answer.body  # an HTML page naming the limit
        assert answer.body.lstrip().lower().startswith(b"<!doctype html")
        assert answer.sent < 64 * MIB
        assert counts(db) == before
        assert files_under(settings_dir) == []
        still_serving(live)


def test_signed_in_api_upload_over_the_limit_is_refused(
    live: LiveServer, world: World, db: Session, settings_dir: Path, small_limit: int
) -> None:
    before = counts(db)
    for chunked in (False, True):
        answer = bomb(
            live.port,
            "/api/v1/import/orgs",
            total=256 * MIB,
            head=MULTIPART_HEAD,
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
            headers={"Authorization": f"Bearer {world.tokens['operator']}"},
            chunked=chunked,
        )
        assert answer.status == 413
        assert b'"uploads.too_large"' in answer.body and b"1 MiB" in answer.body
        assert answer.sent < 64 * MIB
    # a JSON body route: FastAPI turns the cut-off read into a 400, which becomes the 413
    answer = bomb(
        live.port,
        "/api/v1/scenarios",
        total=256 * MIB,
        head=b'{"title": "',
        content_type="application/json",
        headers={"Authorization": f"Bearer {world.tokens['demand']}"},
        chunked=True,
    )
    assert answer.status == 413 and b"1 MiB" in answer.body
    assert answer.sent < 64 * MIB
    assert counts(db) == before and files_under(settings_dir) == []
    still_serving(live)


def test_a_body_a_little_over_the_limit_is_read_and_answered(
    live: LiveServer, world: World, small_limit: int
) -> None:
    """Up to four times the limit the body is drained, so a client that sends its whole
    body before reading (httpx, curl, browsers) sees the 413 rather than a reset."""
    with httpx.Client(base_url=live.url, timeout=30) as client:
        answer = client.post("/api/v1/scenarios", content=b"x" * (100 * 1024))
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "uploads.too_large_anonymous"
        assert client.post("/login", data={"username": "a", "password": "b"}).status_code != 413
    headers = {"Authorization": f"Bearer {world.tokens['operator']}"}
    answer = httpx.post(
        f"{live.url}/api/v1/scenarios", content=b"x" * (2 * MIB), headers=headers, timeout=30
    )
    assert answer.status_code == 413 and "1 MiB" in answer.json()["error"]["message"]


def test_signed_in_bodies_within_the_limit_pass(live: LiveServer, world: World) -> None:
    """A signed-in JSON body over the anonymous 64 KiB reaches the route."""
    headers = {"Authorization": f"Bearer {world.tokens['operator']}"}
    answer = httpx.post(
        f"{live.url}/api/v1/scenarios",
        json={"title": "场景", "description": "长" * 40_000},
        headers=headers,
        timeout=30,
    )
    assert answer.status_code != 413


def cmmlu_bomb() -> bytes:
    """A CMMLU zip that unpacks to 512 MiB (64 members of 8 MiB)."""
    row = b"0,q,a,b,c,d,A\n" * 4096
    members = {f"test/s{n}.csv": (row for _ in range(8 * MIB // len(row))) for n in range(64)}
    return cmmlu_zip(members)


def huge_inline_row() -> Iterator[bytes]:
    """A row whose cell is 300 MB of 字, in pieces (compressed as they come)."""
    yield b'<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="inlineStr"><is>'
    yield from text_of(100 * MIB, "字".encode())
    yield b"</is></c></row>"


IMPORT_BOMBS = {
    "xlsx-300MB-cell": lambda: (  # the issue's: 311 KB, one inline string of 300 MB
        "bomb.xlsx",
        xlsx([["id", "text"]], {SHEET: sheet_xml(huge_inline_row())}),
        "解压后超过 100 MiB 上限",
    ),
    "jsonl-4MB-row": lambda: (
        "rows.jsonl",
        jsonl({"id": n, "text": "字" * (4 * MIB // 3)} for n in range(3)),
        "一行超过 400000 字符上限",
    ),
    "jsonl-120k-rows": lambda: (
        "many.jsonl",
        jsonl({"id": n, "text": f"第{n}行"} for n in range(120_000)),
        "超过 100000 行上限",
    ),
    "cmmlu-512MiB": lambda: ("cmmlu.zip", cmmlu_bomb(), "解压后超过 100 MiB 上限"),
}


@pytest.mark.parametrize("name", list(IMPORT_BOMBS))
def test_import_bombs_are_refused_with_the_limit_named(
    live: LiveServer, world: World, db: Session, name: str
) -> None:
    filename, content, reason = IMPORT_BOMBS[name]()
    assert len(content) < 20 * MIB
    dataset = dataset_id(live, world)
    before = counts(db)
    headers = {"Authorization": f"Bearer {world.tokens['supplier_a']}"}
    answer = httpx.post(
        f"{live.url}/api/v1/corpus/datasets/{dataset}/versions",
        files={"file": (filename, content)},
        headers=headers,
        timeout=120,
    )
    assert answer.status_code == 422, answer.text[:300]
    assert reason in answer.json()["error"]["details"]["file_problem"]
    assert counts(db) == before
    still_serving(live)
