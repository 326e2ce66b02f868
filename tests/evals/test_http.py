"""The engine's HTTP client against raw servers on loopback that answer as told: reuse,
framing, limits, broken answers and cancelled exchanges."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from mosu.evals import http, netpolicy
from mosu.evals.http import BadResponse, Closed, Pool, Unreachable, request_head
from mosu.evals.netpolicy import LOCAL, STRICT, AddressRefused

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


def _ok(body: bytes, extra: str = "") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra.encode(), body)


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    """One request's body (the client always sends a Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.startswith(b"Content-Length")
    )
    return await reader.readexactly(length)


async def _with_server(handler: Handler, client: Callable[[str], Awaitable[Any]]) -> Any:
    """Run ``client(url)`` against a server calling ``handler(reader, writer, n)`` for its
    n-th connection; returns what the client returned and the number of connections."""
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            await handler(reader, writer, connections)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        return await client(f"http://127.0.0.1:{port}/v1/x"), connections
    finally:
        server.close()


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
    while True:
        writer.write(_ok(await _read_request(reader)))
        await writer.drain()


def _run(handler: Handler, client: Callable[[Pool, bytes], Awaitable[Any]]) -> Any:
    async def go(url: str) -> Any:
        pool = Pool(url, 2, LOCAL)
        try:
            return await client(pool, request_head("POST", url, {}))
        finally:
            pool.close()

    return asyncio.run(_with_server(handler, go))


def test_connections_are_kept_alive_and_reused() -> None:
    async def client(pool: Pool, head: bytes) -> list[bytes]:
        return [(await pool.request(head, b"%d" % i)).body for i in range(20)]

    bodies, connections = _run(_echo, client)
    assert bodies == [b"%d" % i for i in range(20)] and connections == 1


def test_at_most_limit_connections_for_many_at_once() -> None:
    async def client(pool: Pool, head: bytes) -> list[bytes]:
        replies = await asyncio.gather(*(pool.request(head, b"%d" % i) for i in range(30)))
        return [r.body for r in replies]

    bodies, connections = _run(_echo, client)
    assert bodies == [b"%d" % i for i in range(30)] and connections == 2


def test_chunked_and_until_close_bodies_are_read_whole() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await _read_request(reader)
        if n == 1:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            writer.write(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        else:  # HTTP/1.0 style: no length, the body ends with the connection
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close")
        await writer.drain()

    async def client(pool: Pool, head: bytes) -> list[bytes]:
        first = await pool.request(head, b"")
        await asyncio.sleep(0.05)  # the server closed the first connection meanwhile
        return [first.body, (await pool.request(head, b"")).body]

    bodies, connections = _run(chunked, client)
    assert bodies == [b"abcde", b"until close"] and connections == 2


def test_interim_answers_are_skipped_and_headers_read() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(_ok(b"{}", "Retry-After: 3\r\nX-Long: a\r\n"))
        await writer.drain()

    async def client(pool: Pool, head: bytes) -> http.Response:
        return await pool.request(head, b"")

    response, _ = _run(handler, client)
    assert (response.status, response.body, response.headers["retry-after"]) == (200, b"{}", "3")


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (b"SMTP ready\r\n\r\n", BadResponse, "not valid HTTP"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", Closed, "closed before"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 70_000 + b"\r\n\r\n", BadResponse, "head"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + b"a" * 3000, BadResponse, "body"),
        (b"", Closed, "closed before"),
    ],
)
def test_broken_or_oversized_answers_are_errors(
    monkeypatch: pytest.MonkeyPatch, answer: bytes, error: type[Exception], message: str
) -> None:
    monkeypatch.setattr(http, "MAX_BODY", 2000)  # a test-sized limit

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()

    async def client(pool: Pool, head: bytes) -> str:
        with pytest.raises(error) as caught:
            await pool.request(head, b"")
        return str(caught.value)

    said, _ = _run(handler, client)
    assert message in said


def test_a_cancelled_exchange_never_answers_the_next_request() -> None:
    """The first answer comes after the caller gave up: it must not be read as the second's."""

    async def late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            body = await _read_request(reader)
            if n == 1:
                await asyncio.sleep(0.3)
            writer.write(_ok(body))
            await writer.drain()

    async def client(pool: Pool, head: bytes) -> bytes:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pool.request(head, b"first"), 0.1)
        return (await pool.request(head, b"second")).body

    body, connections = _run(late, client)
    assert body == b"second" and connections == 2


def test_streamed_body_arrives_in_pieces() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b"data: 1\n", b"data: 2\n"):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def client(pool: Pool, head: bytes) -> list[Any]:
        seen: list[Any] = []
        async for part in pool.stream(head, b""):
            seen.append(part if isinstance(part, bytes) else part.status)
        return seen

    seen, _ = _run(handler, client)
    assert seen == [200, b"data: 1\n", b"data: 2\n"]


def test_refused_addresses_and_closed_ports() -> None:
    async def go() -> None:
        with pytest.raises(AddressRefused, match="loopback"):
            await Pool("http://127.0.0.1:9/v1", 1, STRICT).request(b"", b"")
        head = request_head("POST", "http://127.0.0.1:9/v1", {})
        with pytest.raises(Unreachable):
            await Pool("http://127.0.0.1:9/v1", 1, LOCAL).request(head, b"")

    asyncio.run(go())


def test_a_name_that_does_not_resolve_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    async def lookup(host: str, port: int) -> list[tuple[socket.AddressFamily, str]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(netpolicy, "lookup", lookup)
    url = "http://nowhere.example/v1"
    with pytest.raises(Unreachable, match="not known"):
        asyncio.run(Pool(url, 1, LOCAL).request(request_head("POST", url, {}), b""))


def test_a_header_cannot_be_injected() -> None:
    head = request_head("POST", "http://h.example:8080/v1/对话", {"Authorization": "Bearer k"})
    assert head.startswith(b"POST /v1/%E5%AF%B9%E8%AF%9D HTTP/1.1\r\nHost: h.example:8080\r\n")
    assert head.endswith(b"Authorization: Bearer k\r\nContent-Length: ")
    with pytest.raises(ValueError, match="line break"):
        request_head("POST", "http://h.example/v1", {"Authorization": "Bearer k\r\nX-Evil: 1"})


def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (and its key), as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize(("served", "trusted"), [("localhost", True), ("other.example", False)])
def test_https_checks_the_certificate_and_its_host_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: str, trusted: bool
) -> None:
    """The server's certificate is trusted (as a vendor's is through the system's
    authorities); one issued for another name is refused."""
    cert, key = _certificate(tmp_path, served)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)

    monkeypatch.setattr(http, "tls_context", lambda: ssl.create_default_context(cafile=str(cert)))

    async def go() -> bytes:
        server = await asyncio.start_server(
            lambda r, w: _echo(r, w, 1), "127.0.0.1", 0, ssl=server_side
        )
        url = f"https://localhost:{server.sockets[0].getsockname()[1]}/v1/x"
        pool = Pool(url, 1, LOCAL)
        try:
            return (await pool.request(request_head("POST", url, {}), b"secret")).body
        finally:
            pool.close()
            server.close()

    if trusted:
        assert asyncio.run(go()) == b"secret"
    else:
        with pytest.raises(Unreachable, match="certificate"):
            asyncio.run(go())


def test_a_stream_that_turns_bad_reports_why() -> None:
    """Invalid framing midway through a stream is reported as such, not as the closed
    connection that follows it."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\ndata: 1\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"zz\r\nnot a chunk\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)

    async def client(pool: Pool, head: bytes) -> list[Any]:
        seen: list[Any] = []
        with pytest.raises(BadResponse):
            async for part in pool.stream(head, b""):
                seen.append(part if isinstance(part, bytes) else part.status)
        return seen

    seen, _ = _run(handler, client)
    assert seen == [200, b"data: 1\n"]


def test_an_oversized_answer_is_a_final_error_of_the_model(tmp_path: Path) -> None:
    """A body over the limit is refused once read that far (not held whole), and not asked
    for again: a second request would cost as much."""
    from mosu.evals.models.base import ModelError
    from mosu.evals.models.openai_compat import OpenAIChatModel
    from tests.helpers.evals import toy_task

    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        for _ in range(2 * http.MAX_BODY // 65536):
            writer.write(b"\0" * 65536)
            await writer.drain()

    async def client(url: str) -> ModelError:
        model = OpenAIChatModel(url.removesuffix("/x"), "m", policy=LOCAL)
        await model.prepare(toy_task(tmp_path, 2))
        try:
            with pytest.raises(ModelError) as caught:
                await model.complete("1", [{"role": "user", "content": "q"}])
            return caught.value
        finally:
            await model.aclose()

    error, _ = asyncio.run(_with_server(huge, client))
    assert error.reason == f"response body over {http.MAX_BODY:,} bytes"
    assert not error.retryable and not error.unreachable
