"""Any OpenAI-compatible chat endpoint (MiniMax, SenseNova, StepFun, vLLM, Ollama, ...).

Requests go through one :class:`~mosu.evals.http.Pool` per model: keep-alive connections,
at most ``concurrency`` open, no cookies, no proxies from the environment, no compression,
no redirects (a ``Location`` could name any address), answers of bounded size. Host names
are resolved at each new connection and only addresses the
:class:`~mosu.evals.netpolicy.AddressPolicy` allows are connected.
The client was chosen by ``bench/engine.py``: aiohttp's spent half as much CPU again per
sample, httpx's pool milliseconds per request at 64 connections.
"""

from __future__ import annotations

import hashlib
import json
import logging
import string
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from mosu.evals.http import (
    BadResponse,
    Closed,
    HTTPError,
    Pool,
    Response,
    TooLarge,
    Unreachable,
    request_head,
)
from mosu.evals.limits import Limits, parse_retry_after
from mosu.evals.models.base import Completion, ModelError, Price
from mosu.evals.netpolicy import LOCAL, AddressPolicy, AddressRefused, check_url
from mosu.evals.prompts import Message

if TYPE_CHECKING:
    from mosu.evals.image_links import ImageLinks
    from mosu.evals.tasks import Task

TOP_LOGPROBS = 20
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
UNREACHABLE = "endpoint unreachable"
log = logging.getLogger("mosu.evals")


def transport_error(exc: HTTPError | AddressRefused) -> ModelError:
    """The recorded failure of an exchange that got no HTTP answer. The reason says only what
    kind of failure it was (``endpoint unreachable``, closed early, not HTTP), never which
    address, port or socket error, so that teams cannot map a network through it; the
    detail goes to the ``mosu.evals`` log for operators. An address the policy refuses is
    final; the rest are retryable."""
    if isinstance(exc, AddressRefused):
        log.warning("refused endpoint address: %s", exc)
        return ModelError(
            "endpoint address not allowed", retryable=False, unreachable=True, refused=True
        )
    if isinstance(exc, TooLarge):  # an answer, but one not read: asking again costs as much
        log.info("endpoint answer refused: %s", exc)
        return ModelError(f"{exc}", retryable=False)
    log.info("transport failure: %s: %s", type(exc).__name__, exc)
    if isinstance(exc, Unreachable):
        reason = UNREACHABLE
    elif isinstance(exc, Closed):
        reason = "connection closed before a full response"
    elif isinstance(exc, BadResponse):
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
        stream: bool = False,
        price: Price | None = None,
    ) -> None:
        check_url(base_url, policy)  # ValueError naming why; host names again at each connection
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.model = model
        self.limits = limits or Limits()
        self.params = dict(params or {})
        self.stream = stream
        self.price = price
        self.image_links: ImageLinks | None = None
        """Set by a stage that sends images as signed links (:mod:`mosu.evals.image_links`)."""
        self._headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._pool: Pool | None = None
        self._head = request_head("POST", self.base_url + "/chat/completions", self._headers)
        self._prefix = b""
        self.letters: str | None = None  # choice letters, when answering by logprobs
        self._logprob_prefix = b""

    @property
    def identity(self) -> str:
        """Streamed or not, the answer is the same: ``stream`` is not part of it; reading
        the choice from logprobs is."""
        params = json.dumps(self.params, sort_keys=True, ensure_ascii=False)
        how = f"|logprobs:{self.letters}" if self.letters else ""
        return f"openai|{self.base_url}|{self.model}|{params}{how}"

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
        head: dict[str, Any] = {"model": self.model, **self.params}
        if self.stream:
            head |= {"stream": True, "stream_options": {"include_usage": True}}
        self._prefix = orjson.dumps(head)[:-1] + b',"messages":'
        self.letters = _choice_letters(task)
        if self.letters:
            probe = {"model": self.model, **self.params}
            probe |= {"max_tokens": 1, "logprobs": True, "top_logprobs": TOP_LOGPROBS}
            self._logprob_prefix = orjson.dumps(probe)[:-1] + b',"messages":'

    def _open(self) -> None:
        self._pool = Pool(self.base_url, self.limits.concurrency, self.policy)

    def __getstate__(self) -> dict[str, Any]:
        """A prepared model travels (to a Ray worker) without its connections; the copy
        opens its own pool on first use."""
        return {**self.__dict__, "_pool": None}

    async def complete(self, sample_id: str, messages: list[Message]) -> Completion:
        if self._pool is None:
            if not self._prefix:
                raise RuntimeError("prepare() the model before calling it")
            self._open()
        if self.image_links is not None:
            messages = self.image_links.linked(messages)
        text = orjson.dumps(messages)
        if self.letters:
            chosen = await self._by_logprobs(text, self.letters)
            if chosen is not None:
                return chosen
            answer = await self._post(self._prefix + text + b"}")
            return replace(answer, method="generate")
        return await self._post(self._prefix + text + b"}")

    async def _by_logprobs(self, messages: bytes, letters: str) -> Completion | None:
        """The choice whose letter the first token most likely is, among the top
        log-probabilities; ``None`` when the endpoint gives none for any letter (or refuses
        ``logprobs`` with HTTP 400, after which this model stops asking)."""
        body = self._logprob_prefix + messages + b"}"
        try:
            reply = await self._post(body, raw=True)
        except ModelError as exc:
            if exc.status in (400, 422):
                self.letters = None
                log.info("endpoint refused logprobs (%s); generating answers instead", exc.reason)
                return None
            raise
        best = _best_letter(reply.text, letters)
        if best is None:
            return None
        return replace(reply, text=best, method="logprobs", finish_reason="stop")

    async def _post(self, body: bytes, *, raw: bool = False) -> Completion:
        """One request; with ``raw`` the reply's ``text`` is its JSON (for the logprobs)."""
        assert self._pool is not None
        start = time.perf_counter()
        try:
            if self.stream and not raw:
                return await self._streamed(body, start)
            response = await self._pool.request(self._head, body)
        except (HTTPError, AddressRefused) as exc:
            raise transport_error(exc) from None
        if response.status != 200:
            raise _status_error(response)
        try:
            reply = orjson.loads(response.body)
            choice = reply["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ModelError("malformed JSON response") from None
        if raw:
            usage = reply.get("usage")
            return Completion(
                json.dumps(choice.get("logprobs")),
                _count(usage, "prompt_tokens"),
                _count(usage, "completion_tokens"),
            )
        return _completion(content, reply.get("usage"), choice.get("finish_reason"), None)

    async def _streamed(self, body: bytes, start: float) -> Completion:
        """A streamed request: the answer read as its events arrive; a status other than 200
        is an error like any other."""
        assert self._pool is not None
        async with aclosing(self._pool.stream(self._head, body)) as parts:
            response = await anext(parts)
            assert isinstance(response, Response)
            if response.status != 200:
                raise _status_error(response)
            return await _read_stream(parts, start)

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.close()


def _status_error(response: Response) -> ModelError:
    """An answer other than 200: retryable when the status says the endpoint is busy or
    failing for now, after its ``Retry-After`` if it gave one."""
    status = response.status
    return ModelError(
        f"HTTP {status}: {response.body[:200].decode('utf-8', 'replace')}",
        retryable=status in RETRYABLE_STATUS,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        status=status,
    )


def _count(usage: Any, name: str) -> int | None:
    value = usage.get(name) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and value >= 0 else None


def _completion(content: Any, usage: Any, finish_reason: Any, ttft: float | None) -> Completion:
    """The answer with its usage; an empty one is a retryable failure, as a vendor's
    overloaded replica may send one, unless it was cut at ``max_tokens`` (a reasoning model
    that spent them all thinking: asking again would spend them again). An answer cut at
    ``max_tokens`` keeps its ``finish_reason`` (``length``) so that the results count it."""
    if finish_reason == "length" and (content is None or content == ""):
        content = ""  # cut while thinking: an answer with nothing to read, not a failure
    elif not isinstance(content, str) or not content.strip():
        raise ModelError("empty content")
    return Completion(
        content,
        prompt_tokens=_count(usage, "prompt_tokens"),
        completion_tokens=_count(usage, "completion_tokens"),
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        ttft=ttft,
    )


async def _read_stream(body: AsyncIterator[Response | bytes], start: float) -> Completion:
    """A streamed answer (server-sent events, ``data: {chunk}`` lines, ``data: [DONE]``):
    the text of its deltas, the seconds to the first token (of the answer or of a reasoning
    model's ``reasoning_content``), its finish reason and the usage of its last chunk."""
    parts: list[str] = []
    ttft: float | None = None
    finish_reason: Any = None
    usage: Any = None
    async for line in _lines(body):
        if not line.startswith(b"data:"):
            continue
        payload = line[5:].strip()
        if payload == b"[DONE]":
            break
        try:
            chunk = orjson.loads(payload)
            choices = chunk.get("choices") or []
            usage = chunk.get("usage") or usage
        except (ValueError, AttributeError):
            raise ModelError("malformed JSON response") from None
        for choice in choices[:1]:
            if not isinstance(choice, dict) or not isinstance(choice.get("delta"), dict):
                continue
            delta = choice["delta"]
            text, thought = delta.get("content"), delta.get("reasoning_content")
            if ttft is None and (text or thought):
                ttft = time.perf_counter() - start
            if isinstance(text, str):
                parts.append(text)
            finish_reason = choice.get("finish_reason") or finish_reason
    return _completion("".join(parts), usage, finish_reason, ttft)


async def _lines(body: AsyncIterator[Response | bytes]) -> AsyncIterator[bytes]:
    """The lines of a body read as it arrives, stripped; the last even without an end."""
    pending = b""
    async for chunk in body:
        assert isinstance(chunk, bytes)
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.strip()
    if pending.strip():
        yield pending.strip()


def _choice_letters(task: Task) -> str | None:
    """The option letters when the task reads multiple choice by logprobs."""
    if getattr(task.spec.generation, "choice_by", "generate") != "logprobs":
        return None
    return str(task.spec.parser.options.get("letters", "ABCD"))


_NOT_LETTER = string.whitespace + string.punctuation + "（）【】。、：:"


def _best_letter(logprobs_json: str, letters: str) -> str | None:
    """The option letter the first token most likely is (``A``, `` A``, ``(A`` and ``a``
    all count as A), when the most likely first token names a letter at all: a model
    about to write ``答案是…`` has not chosen yet, and its answer is generated instead."""
    try:
        first = json.loads(logprobs_json)["content"][0]
        options = [first, *first.get("top_logprobs", [])]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    ranked: list[tuple[float, str]] = []
    for option in options:
        if not isinstance(option, dict) or not isinstance(option.get("logprob"), int | float):
            continue
        ranked.append((float(option["logprob"]), str(option.get("token", ""))))
    if not ranked:
        return None
    token = max(ranked)[1].strip(_NOT_LETTER).upper()
    return token if len(token) == 1 and token in letters else None
