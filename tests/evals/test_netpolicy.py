"""The address policy: which endpoint URLs and resolved addresses the engine may call."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path
from typing import Any

import pytest

from mosu.evals import netpolicy
from mosu.evals.fakeserver import FakeConfig, prompt_key, serve_in_thread
from mosu.evals.models.base import ModelError
from mosu.evals.models.openai_compat import OpenAIChatModel
from mosu.evals.models.specs import build_model
from mosu.evals.netpolicy import (
    LOCAL,
    STRICT,
    AddressRefused,
    allowed_addresses,
    check_url,
    refusal,
)
from tests.helpers.evals import toy_task

ALWAYS = [
    ("169.254.169.254", "cloud metadata address"),
    ("fd00:ec2::254", "cloud metadata address"),
    ("100.100.100.200", "cloud metadata address"),
    ("169.254.1.1", "link-local address"),
    ("fe80::1", "link-local address"),
    ("0.0.0.0", "unspecified address"),
    ("::", "unspecified address"),
    ("224.0.0.1", "multicast address"),
    ("ff02::1", "multicast address"),
    ("240.0.0.1", "reserved address"),
    ("255.255.255.255", "reserved address"),
    ("::ffff:169.254.169.254", "cloud metadata address"),
    ("::ffff:a9fe:a9fe", "cloud metadata address"),
    ("2002:a9fe:a9fe::1", "cloud metadata address"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata address"),
]
PRIVATE = [
    ("127.0.0.1", "loopback address"),
    ("127.8.9.10", "loopback address"),
    ("::1", "loopback address"),
    ("::ffff:127.0.0.1", "loopback address"),
    ("10.1.2.3", "private network address"),
    ("172.16.0.1", "private network address"),
    ("192.168.1.1", "private network address"),
    ("100.64.0.1", "private network address"),
    ("fc00::1", "private network address"),
    ("fd12:3456::1", "private network address"),
    ("::ffff:10.0.0.1", "private network address"),
    ("192.0.2.1", "private network address"),  # documentation: not routable
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8", "101.6.6.6"]


@pytest.mark.parametrize(("address", "why"), ALWAYS)
def test_always_refused_whatever_the_policy(address: str, why: str) -> None:
    ip = ipaddress.ip_address(address)
    assert refusal(ip, STRICT) == why
    assert refusal(ip, LOCAL) == why


@pytest.mark.parametrize(("address", "why"), PRIVATE)
def test_loopback_and_private_refused_unless_allowed(address: str, why: str) -> None:
    ip = ipaddress.ip_address(address)
    assert refusal(ip, STRICT) == why
    assert refusal(ip, LOCAL) is None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), STRICT) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://2130706433/v1", "loopback"),
        ("http://0x7f.1/v1", "loopback"),
        ("http://0x7f000001/v1", "loopback"),
        ("http://0177.0.0.1/v1", "loopback"),
        ("http://127.1/v1", "loopback"),
        ("http://[::1]:8000/v1", "loopback"),
        ("http://[::ffff:127.0.0.1]/v1", "loopback"),
        ("http://[::ffff:7f00:1]/v1", "loopback"),
        ("http://localhost:8000/v1", "loopback"),
        ("http://api.LOCALHOST./v1", "loopback"),
        ("http://10.0.0.5/v1", "private network"),
        ("http://192.168.0.10:8080/v1", "private network"),
        ("http://127.0.0.1:5432/v1", "loopback"),
    ],
)
def test_private_urls_in_every_spelling(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_url(url, STRICT)
    check_url(url, LOCAL)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://2852039166/", "cloud metadata"),  # 169.254.169.254 as one number
        ("http://0xa9.0xfe.0xa9.0xfe/", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
        ("http://100.100.100.200/", "cloud metadata"),
        ("http://0.0.0.0:8000/v1", "unspecified"),
        ("http://0/v1", "unspecified"),
        ("http://[fe80::1]/v1", "link-local"),
        ("http://224.0.0.251/v1", "multicast"),
        ("http://127.0.0.1:8133/err/internal/admin/delete-everything#", "fragment"),
        ("https://api.example.com/v1#x", "fragment"),
        ("http://user:pw@api.example.com/v1", "user name"),
        ("http://api.example.com@127.0.0.1/v1", "user name"),
        ("https://api.example.com/v1?k=1", "query"),
        ("ftp://api.example.com/v1", "only http"),
        ("file:///etc/passwd", "only http"),
        ("gopher://127.0.0.1:6379/_", "only http"),
        ("http:///v1", "no host"),
        ("http://api.example.com:99999/v1", "port"),
        ("http://bad_host name/v1", "not a valid host"),
    ],
)
def test_refused_whatever_the_policy(url: str, message: str) -> None:
    for policy in (STRICT, LOCAL):
        with pytest.raises(ValueError, match=message):
            check_url(url, policy)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/v1",
        "http://8.8.8.8:8000/v1",
        "https://模型.中国/v1",
        "HTTPS://A.B/",
    ],
)
def test_public_urls_pass(url: str) -> None:
    check_url(url, STRICT)


def test_the_model_refuses_a_url_when_built() -> None:
    with pytest.raises(ValueError, match="loopback"):
        OpenAIChatModel("http://127.0.0.1:9/v1", "m", policy=STRICT)
    with pytest.raises(Exception, match="cloud metadata"):
        build_model("openai:http://169.254.169.254/v1#m")  # refused even on a laptop
    with pytest.raises(Exception, match="fragment"):
        build_model("openai:http://127.0.0.1:8133/err/internal/admin/delete-everything##m")


def _fake_dns(monkeypatch: pytest.MonkeyPatch, addresses: list[str]) -> None:
    """Every name resolves to ``addresses``."""

    async def lookup(host: str, port: int) -> list[tuple[socket.AddressFamily, str]]:
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, a) for a in addresses]

    monkeypatch.setattr(netpolicy, "lookup", lookup)


def test_the_resolver_hands_on_only_allowed_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(monkeypatch, ["169.254.169.254", "10.0.0.1", "93.184.216.34"])
    found = asyncio.run(allowed_addresses("x.example", 80, STRICT))
    assert [a for _, a in found] == ["93.184.216.34"]
    found = asyncio.run(allowed_addresses("x.example", 80, LOCAL))
    assert [a for _, a in found] == ["10.0.0.1", "93.184.216.34"]
    _fake_dns(monkeypatch, ["169.254.169.254"])
    with pytest.raises(AddressRefused, match="cloud metadata"):
        asyncio.run(allowed_addresses("x.example", 80, LOCAL))


def test_the_system_resolver_is_asked() -> None:
    found = asyncio.run(netpolicy.lookup("127.0.0.1", 80))
    assert (socket.AF_INET, "127.0.0.1") in found


def test_a_name_resolving_to_loopback_is_never_connected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the URL passes (a public-looking name), the resolved address does not,
    and the request never reaches the server; allowed, it reaches the address checked."""
    _fake_dns(monkeypatch, ["127.0.0.1"])
    task = toy_task(tmp_path, 2)

    async def call(url: str, policy: Any) -> str:
        model = OpenAIChatModel(url, "m", policy=policy)
        await model.prepare(task)
        try:
            return (await model.complete("1", [{"role": "user", "content": "q"}])).text
        finally:
            await model.aclose()

    with serve_in_thread(FakeConfig(answers={prompt_key("q"): "甲"})) as (url, server):
        named = url.replace("127.0.0.1", "rebind.example")
        with pytest.raises(ModelError) as caught:
            asyncio.run(call(named, STRICT))
        assert caught.value.reason == "endpoint address not allowed"
        assert caught.value.refused and not caught.value.retryable
        assert server.received == 0
        assert asyncio.run(call(named, LOCAL)) == "甲"
        assert server.received == 1


def test_redirects_are_not_followed(tmp_path: Path) -> None:
    """A 307 to another address would carry the POST there; it is an error instead."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    hits: list[str] = []

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    httpd = HTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        model = OpenAIChatModel(f"http://127.0.0.1:{httpd.server_port}/v1", "m", policy=LOCAL)

        async def go() -> str:
            await model.prepare(toy_task(tmp_path, 2))
            try:
                return (await model.complete("1", [{"role": "user", "content": "q"}])).text
            finally:
                await model.aclose()

        with pytest.raises(ModelError, match="HTTP 307"):
            asyncio.run(go())
        assert hits == ["/v1/chat/completions"]
    finally:
        httpd.shutdown()
        thread.join(5)
        httpd.server_close()
