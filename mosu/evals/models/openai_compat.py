"""Any OpenAI-compatible chat endpoint (MiniMax, SenseNova, StepFun, vLLM, Ollama, ...)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mosu.evals.http import ConnectionPool, TransportError
from mosu.evals.limits import Limits, parse_retry_after
from mosu.evals.models.base import ModelError
from mosu.evals.prompts import Message

if TYPE_CHECKING:
    from mosu.evals.tasks import Task

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})


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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.limits = limits or Limits()
        self.params = dict(params or {})
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._pool: ConnectionPool | None = None
        self._prefix = ""

    @property
    def identity(self) -> str:
        params = json.dumps(self.params, sort_keys=True, ensure_ascii=False)
        return f"openai|{self.base_url}|{self.model}|{params}"

    async def prepare(self, task: Task) -> None:
        for name, value in (
            ("temperature", task.spec.generation.temperature),
            ("max_tokens", task.spec.generation.max_tokens),
        ):
            if value is not None:
                self.params.setdefault(name, value)
        self._pool = ConnectionPool(self.base_url, max_connections=self.limits.concurrency)
        self._prefix = json.dumps({"model": self.model, **self.params}, ensure_ascii=False)[:-1]

    async def complete(self, sample_id: str, messages: list[Message]) -> str:
        if self._pool is None:
            raise RuntimeError("prepare() the model before calling it")
        body = f'{self._prefix}, "messages": {json.dumps(messages, ensure_ascii=False)}}}'.encode()
        try:
            response = await self._pool.post("/chat/completions", body, self._headers)
        except TransportError as exc:
            raise ModelError(str(exc)) from None
        if response.status != 200:
            detail = response.body[:200].decode("utf-8", "replace")
            raise ModelError(
                f"HTTP {response.status}: {detail}",
                retryable=response.status in RETRYABLE_STATUS,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        try:
            content = json.loads(response.body)["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ModelError("malformed JSON response") from None
        if not isinstance(content, str) or not content.strip():
            raise ModelError("empty content")
        return content

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
