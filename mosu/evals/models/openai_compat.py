"""Any OpenAI-compatible chat endpoint (MiniMax, SenseNova, StepFun, vLLM, Ollama, ...).

Requests go through one pooled aiohttp ``ClientSession`` per model: keep-alive connections,
at most ``concurrency`` open, no cookies, no proxies from the environment, no compression,
no redirects (a ``Location`` could name any address). Host names are resolved through
:class:`~mosu.evals.netpolicy.GuardedResolver`, so connections go only to addresses the
:class:`~mosu.evals.netpolicy.AddressPolicy` allows.
aiohttp was measured against httpx for this hot path (``bench/engine.py``); httpx's pool
spent milliseconds of CPU per request at 64 connections.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from mosu.evals.limits import Limits, parse_retry_after
from mosu.evals.models.base import ModelError
from mosu.evals.netpolicy import LOCAL, AddressPolicy, AddressRefused, GuardedResolver, check_url
from mosu.evals.prompts import Message

if TYPE_CHECKING:
    from mosu.evals.tasks import Task

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
UNREACHABLE = "endpoint unreachable"
log = logging.getLogger("mosu.evals")


def transport_error(exc: aiohttp.ClientError) -> ModelError:
    """The recorded failure of an exchange that got no HTTP answer. The reason says only what
    kind of failure it was (``endpoint unreachable``, closed early, not HTTP), never which
    address, port or socket error, so that teams cannot map a network through it; the
    detail goes to the ``mosu.evals`` log for operators. An address the policy refuses is
    final; the rest are retryable."""
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, AddressRefused):
        log.warning("refused endpoint address: %s", exc.os_error)
        return ModelError(
            "endpoint address not allowed", retryable=False, unreachable=True, refused=True
        )
    log.info("transport failure: %s: %s", type(exc).__name__, exc)
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = UNREACHABLE
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        reason = "connection closed before a full response"
    elif isinstance(exc, aiohttp.ClientResponseError):
        reason = "response is not valid HTTP/1.1"
    else:
        reason = f"transport error: {type(exc).__name__}"
    return ModelError(reason, unreachable=True)


class OpenAIChatModel:
    """``POST {base_url}/chat/completions`` through one pooled keep-alive client per model."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        limits: Limits | None = None,
        params: dict[str, Any] | None = None,
        policy: AddressPolicy = LOCAL,
    ) -> None:
        check_url(base_url, policy)  # ValueError naming why; host names again at each connection
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.model = model
        self.limits = limits or Limits()
        self.params = dict(params or {})
        self._headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._session: aiohttp.ClientSession | None = None
        self._url = URL(self.base_url + "/chat/completions")
        self._prefix = ""

    @property
    def identity(self) -> str:
        params = json.dumps(self.params, sort_keys=True, ensure_ascii=False)
        return f"openai|{self.base_url}|{self.model}|{params}"

    @property
    def endpoint(self) -> str:
        """URL, model and a digest of the key: providers count limits per key."""
        key = self._headers.get("Authorization", "")
        return f"{self.base_url}|{self.model}|{hashlib.sha256(key.encode()).hexdigest()[:16]}"

    async def prepare(self, task: Task) -> None:
        """Take the task's generation parameters the spec did not set (the spec's own win)
        and its ``extra_body``, all part of :attr:`identity`; build the request body's
        prefix once; open the connection pool."""
        generation = task.spec.generation
        for name, value in (
            ("temperature", generation.temperature),
            ("max_tokens", generation.max_tokens),
            ("top_p", generation.top_p),
            ("seed", generation.seed),
            ("stop", generation.stop),
            *(generation.extra_body or {}).items(),
        ):
            if value is not None:
                self.params.setdefault(name, value)
        await self.aclose()
        self._open()
        self._prefix = json.dumps({"model": self.model, **self.params}, ensure_ascii=False)[:-1]

    def _open(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self.limits.concurrency, resolver=GuardedResolver(self.policy)
            ),
            timeout=aiohttp.ClientTimeout(total=None),  # the executor times each attempt
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        )

    def __getstate__(self) -> dict[str, Any]:
        """A prepared model travels (to a Ray worker) without its connections; the copy
        opens its own pool on first use."""
        return {**self.__dict__, "_session": None}

    async def complete(self, sample_id: str, messages: list[Message]) -> str:
        if self._session is None:
            if not self._prefix:
                raise RuntimeError("prepare() the model before calling it")
            self._open()
            assert self._session is not None
        body = f'{self._prefix}, "messages": {json.dumps(messages, ensure_ascii=False)}}}'.encode()
        try:
            async with self._session.post(
                self._url, data=body, headers=self._headers, allow_redirects=False
            ) as response:
                status, data = response.status, await response.read()
                retry_after = response.headers.get("Retry-After")
        except aiohttp.ClientError as exc:
            raise transport_error(exc) from None
        if status != 200:
            detail = data[:200].decode("utf-8", "replace")
            raise ModelError(
                f"HTTP {status}: {detail}",
                retryable=status in RETRYABLE_STATUS,
                retry_after=parse_retry_after(retry_after),
                status=status,
            )
        try:
            content = json.loads(data)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ModelError("malformed JSON response") from None
        if not isinstance(content, str) or not content.strip():
            raise ModelError("empty content")
        return content

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
