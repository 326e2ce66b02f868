"""The project's fake OpenAI-compatible chat server: a real HTTP server on loopback.

It answers ``POST /v1/chat/completions`` from an answer key with a configurable accuracy,
after a configurable latency, and injects each kind of fault at a configurable share:
HTTP 429 with ``Retry-After``, HTTP 500, a timeout (no answer), malformed JSON, empty
content and a closed connection. ``GET /stats`` returns how often each prompt was
requested, so tests can prove that no completed request was repeated, and how many
requests of any kind arrived (``received``: refused, unknown paths and faults included),
so tests can count what a failing endpoint was sent.

Whether an answer is right is a pure function of the prompt and ``seed``, so a race against
it has a known expected order and the same results on every run. It can also act as an LLM
judge in two ways. With ``judge_pattern`` (:data:`JUDGE_PATTERN` reads the engine's own judge
template) a grading prompt is graded, right when the answer equals the reference. With
``pair_pattern`` (a regex with groups ``a`` and ``b``, as the arena's judge writes) a prompt
holding two answers gets ``[[A]]`` or ``[[B]]`` for the longer one (``[[C]]`` when equally
long), except for a ``judge_bias`` share of prompts, where it says ``[[A]]`` whatever the
answers (position bias). With ``api_key`` set it refuses, with HTTP 401, a request that does
not carry that key. Written on raw asyncio so that one core serves well over a thousand
requests per second.

It speaks as a served model does: tokens are characters, counted in ``usage``; an answer
longer than the request's ``max_tokens`` is cut there with ``finish_reason: "length"``; the
first token comes after ``latency`` seconds and each further one ``1 / token_rate`` seconds
later (``token_rate`` 0: all at once). A request with ``"stream": true`` is answered with
server-sent events, one chunk per token, and the usage in a last chunk when
``stream_options.include_usage`` asks for it, so a client measures exactly the time to first
token and per output token the server was told to produce. A request asking for
``logprobs`` gets the first token's ``top_logprobs``: the answer's first character most
likely, then the other ``choices`` (unless ``logprobs`` is off, as with many vendors).
With ``capacity`` K it produces at
most K answers at once, as a replica with K batch slots does: a request beyond them waits,
first come first served, for one to finish before its latency begins, so under a closed loop
of C > K clients each answer takes C / K times as long (the service's queue, seen in p95).

A vision request (a user message of ``text`` and ``image_url`` parts) is checked as a vision
endpoint would: each image must be a ``data:image/...;base64,`` URL, or an ``http(s)`` link
the server fetches (answering 200, as a stage sending signed links gives), whose bytes are a
JPEG, PNG or WebP image within :mod:`mosu.evals.images`' limits that decodes, else HTTP 400
(``bad image: ...``); its answer can be keyed by the sha256 of the image's bytes (:func:`image_key`),
so a vision race's expected scores are known.

Run it with ``python -m mosu.evals.fakeserver --port 8000 --answers key.jsonl``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mosu.evals import aio
from mosu.evals.images import ImageError, fetch_linked_images, linked_images, read_content

if TYPE_CHECKING:
    import aiohttp

FAULTS = ("rate_limit", "server_error", "timeout", "malformed", "empty", "disconnect")
# the reference and the answer in a prompt rendered from mosu.evals.scorers.JUDGE_TEMPLATE
JUDGE_PATTERN = r"参考答案：\n(?P<reference>.*?)\n\n待评回答：\n(?P<answer>.*?)\n\n请只输出"


def prompt_key(text: str) -> str:
    """How the server (and tests) name a prompt: sha256 of the stripped last user message."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:32]


def request_key(prompt: str, images: tuple[str, ...] = ()) -> str:
    """How the server counts a request: :func:`prompt_key` of the text and its images' hashes."""
    return prompt_key(prompt + "".join(f"\n{digest}" for digest in images))


def image_key(sha256: str) -> str:
    """How the answer key names an image: by the sha256 of its bytes."""
    return f"sha256:{sha256}"


def _fraction(*parts: object) -> float:
    digest = hashlib.sha256(":".join(map(str, parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class FakeConfig:
    """What the fake server does. ``faults`` maps a name in :data:`FAULTS` to its share."""

    latency: float = 0.0
    accuracy: float = 1.0
    faults: dict[str, float] = field(default_factory=dict)
    retry_after: float = 1.0
    hang: float = 60.0
    seed: int = 0
    answers: dict[str, str] = field(default_factory=dict)
    id_pattern: str | None = None
    choices: list[str] = field(default_factory=list)
    template: str = "{answer}"
    accuracy_by_model: dict[str, float] = field(default_factory=dict)
    judge_pattern: str | None = None
    judge_replies: tuple[str, str] = ("评分：10", "评分：2")
    pair_pattern: str | None = None
    judge_bias: float = 0.0
    api_key: str | None = None
    token_rate: float = 0.0
    logprobs: bool = True
    capacity: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {', '.join(FAULTS)}")
        if sum(self.faults.values()) > 1:
            raise ValueError("fault shares add up to more than 1")


class FakeServer:
    """The server; :meth:`start` binds it, :attr:`counts` records requests per prompt key,
    :attr:`bodies` the last 64 chat requests' bodies as received (what the engine sent)."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.counts: Counter[str] = Counter()
        self.requests = 0
        self.received = 0
        self.first_request = 0.0
        self.last_request = 0.0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.bodies: deque[dict[str, object]] = deque(maxlen=64)
        self.serving = 0
        self.waiting: deque[Callable[[], object]] = deque()
        self._rng = random.Random(config.seed)
        self._id_re = re.compile(config.id_pattern) if config.id_pattern else None
        self._judge_re = re.compile(config.judge_pattern, re.S) if config.judge_pattern else None
        self._pair_re = re.compile(config.pair_pattern) if config.pair_pattern else None
        self._server: asyncio.Server | None = None
        self.fetching: set[asyncio.Task[None]] = set()
        self.fetched = 0
        """Images fetched from the links requests carried."""
        self._client: aiohttp.ClientSession | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Protocol(self), host, port, backlog=1024)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._client is not None:
            await self._client.close()

    async def fetch_images(self, content: list[Any]) -> list[Any]:
        """``content`` with each linked image fetched and put in as a ``data:`` URL;
        :class:`ImageError` for a link that does not answer 200 with an image within
        :data:`~mosu.evals.images.MAX_BYTES`."""
        if self._client is None:  # aiohttp is imported by the first linked image, not at start
            import aiohttp

            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        content, fetched = await fetch_linked_images(self._client, content)
        self.fetched += fetched
        return content

    def stats(self) -> dict[str, object]:
        """What ``GET /stats`` answers: request counts and times, the peak in flight."""
        return {
            "requests": self.requests,
            "received": self.received,
            "first": self.first_request,
            "last": self.last_request,
            "peak_in_flight": self.peak_in_flight,
            "fetched": self.fetched,
            "by_prompt": dict(self.counts),
        }

    def answer(self, model: str, prompt: str, images: tuple[str, ...] = ()) -> str:
        """The reply to ``prompt`` (with ``images``, the sha256 of each image it carries):
        right with probability ``accuracy``, else a wrong choice; for a grading prompt,
        ``judge_replies[0]`` when the answer is the reference, else ``judge_replies[1]``;
        for a pairwise prompt, :meth:`verdict`. The gold answer is the last image's in the
        key (the question's: few-shot examples come first), else the prompt's, else the id's."""
        cfg = self.config
        if self._judge_re is not None:
            judged = self._judge_re.search(prompt)
            if judged is not None:
                right = judged["answer"].strip() == judged["reference"].strip()
                return cfg.judge_replies[0 if right else 1]
        key = request_key(prompt, images)
        if self._pair_re is not None:
            pair = self._pair_re.search(prompt)
            if pair is not None:
                return self.verdict(key, pair.group("a"), pair.group("b"))
        gold = cfg.answers.get(image_key(images[-1])) if images else None
        if gold is None:
            gold = cfg.answers.get(prompt_key(prompt))
        if gold is None and self._id_re is not None:
            match = self._id_re.search(prompt)
            gold = cfg.answers.get(match.group(1)) if match else None
        if gold is None:
            return cfg.template.format(answer="不知道")
        accuracy = cfg.accuracy_by_model.get(model, cfg.accuracy)
        if _fraction(cfg.seed, model, key) < accuracy:
            return cfg.template.format(answer=gold)
        wrong = [c for c in cfg.choices if c != gold] or ["不知道"]
        return cfg.template.format(
            answer=wrong[int(_fraction(cfg.seed, "wrong", key) * len(wrong))]
        )

    def verdict(self, key: str, a: str, b: str) -> str:
        """A judge's reply: the longer answer wins, unless this prompt falls in the biased share."""
        if _fraction(self.config.seed, "bias", key) < self.config.judge_bias:
            return "A 在前，A 更好。\n[[A]]"
        letter = "A" if len(a) > len(b) else "B" if len(b) > len(a) else "C"
        return f"比较两者的完整程度。\n[[{letter}]]"

    def logprobs(self, content: str, top: int) -> dict[str, object]:
        """The first token's log-probabilities: the answer's first character most likely,
        the other configured choices after it, ``top`` alternatives in all."""
        first = content[:1]
        others = [c for c in self.config.choices if c != first]
        ranked = [first, *others][:top]
        alternatives = [
            {"token": token, "logprob": -0.1 - 2.0 * rank} for rank, token in enumerate(ranked)
        ]
        return {"content": [{"token": first, "logprob": -0.1, "top_logprobs": alternatives}]}

    def fault(self) -> str | None:
        draw = self._rng.random()
        for name, share in self.config.faults.items():
            if draw < share:
                return name
            draw -= share
        return None


def _bad_image(exc: ImageError) -> bytes:
    error = {"error": {"message": f"bad image: {exc}", "type": "invalid_image"}}
    return _http(400, json.dumps(error).encode())


def _http(status: int, body: bytes, extra: str = "") -> bytes:
    reason = {
        200: "OK",
        401: "Unauthorized",
        404: "Not Found",
        400: "Bad Request",
        429: "Too Many Requests",
        500: "Internal Server Error",
    }
    head = (
        f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode("latin-1") + body


class _Protocol(asyncio.Protocol):
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # any event loop's stream transport (asyncio's, uvloop's) has these; check the
        # methods, not the class: uvloop's TCPTransport does not subclass asyncio.Transport
        if not all(hasattr(transport, m) for m in ("write", "close", "is_closing")):
            raise TypeError(f"the fake server needs a stream transport, got {transport!r}")
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            authorization = ""
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "authorization":
                    authorization = value.strip()
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, path, *_ = head.split(" ", 2)
            self.handle(method, path, body, authorization)

    def send(self, payload: bytes | None) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if payload is None:
            self.transport.close()
        else:
            self.transport.write(payload)

    def handle(self, method: str, path: str, body: bytes, authorization: str = "") -> None:
        server = self.server
        if method == "GET" and path.startswith("/stats"):
            self.send(_http(200, json.dumps(server.stats()).encode()))
            return
        server.received += 1
        if (
            method != "POST"
            or not path.startswith("/v1/")
            or not path.endswith("/chat/completions")
        ):
            self.send(_http(404, b'{"error": {"message": "not found"}}'))
            return
        key = server.config.api_key
        if key is not None and authorization != f"Bearer {key}":
            self.send(_http(401, b'{"error": {"message": "invalid api key"}}'))
            return
        try:
            request = json.loads(body)
            messages = request["messages"]
            content = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        except (ValueError, KeyError, StopIteration, TypeError, AttributeError):
            self.send(_http(400, b'{"error": {"message": "bad request"}}'))
            return
        if linked_images(content):
            task = self.loop.create_task(self.fetch_then_respond(request, content))
            server.fetching.add(task)
            task.add_done_callback(server.fetching.discard)
            return
        self.respond(request, content)

    async def fetch_then_respond(self, request: dict[str, Any], content: list[Any]) -> None:
        """Fetch the images the request links to (as an endpoint reading ``image_url`` links
        does), then answer as if they had come in the body."""
        try:
            content = await self.server.fetch_images(content)
        except ImageError as exc:
            self.send(_bad_image(exc))
            return
        self.respond(request, content)

    def respond(self, request: dict[str, Any], content: Any) -> None:
        server = self.server
        try:
            prompt, digests = read_content(content)
            images = tuple(digests)
            model = str(request.get("model", ""))
            stream = request.get("stream") is True
            include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
            max_tokens = request.get("max_tokens")
            top = int(request.get("top_logprobs") or 0) if request.get("logprobs") else 0
            if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
                raise ValueError(max_tokens)
        except ImageError as exc:
            self.send(_bad_image(exc))
            return
        except (ValueError, KeyError, TypeError, AttributeError):
            self.send(_http(400, b'{"error": {"message": "bad request"}}'))
            return
        server.requests += 1
        server.bodies.append(request)
        server.last_request = self.loop.time()
        if server.requests == 1:
            server.first_request = server.last_request
        server.counts[request_key(prompt, images)] += 1
        fault = server.fault()
        cfg = server.config
        payload: bytes | None
        if fault == "timeout":
            self.loop.call_later(cfg.hang, self.send, None)
            return
        if fault == "disconnect":
            payload = None
        elif fault == "rate_limit":
            payload = _http(
                429,
                b'{"error": {"message": "rate limited"}}',
                f"Retry-After: {cfg.retry_after:g}\r\n",
            )
        elif fault == "server_error":
            payload = _http(500, b'{"error": {"message": "internal error"}}')
        elif fault == "malformed":
            payload = _http(200, b'{"choices": [{"message": {"content": ')
        else:
            content = "" if fault == "empty" else server.answer(model, prompt, images)
            finish = "stop"
            if max_tokens is not None and len(content) > max_tokens:
                content, finish = content[:max_tokens], "length"
            tokens = max(len(content), 1)
            if stream:
                self.stream(model, prompt, content, finish, include_usage)
                return
            logprobs = server.logprobs(content, top) if top and cfg.logprobs else None
            payload = _http(200, _completion(model, prompt, content, finish, logprobs))
            if cfg.token_rate > 0:
                self.hold(cfg.latency + (tokens - 1) / cfg.token_rate, payload)
                return
        self.hold(cfg.latency, payload)

    def hold(self, delay: float, payload: bytes | None) -> None:
        """Send ``payload`` after ``delay`` seconds, counted as in flight till then."""
        if delay > 0:
            self.occupy(lambda: self.loop.call_later(delay, self.reply, payload))
        else:
            self.send(payload)

    def occupy(self, start: Callable[[], object]) -> None:
        """Count a request in flight and ``start`` it, at once or, when ``capacity`` answers
        are already being produced, once one of them is done (first come, first served)."""
        server = self.server
        server.in_flight += 1
        server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
        if server.config.capacity and server.serving >= server.config.capacity:
            server.waiting.append(start)
        else:
            server.serving += 1
            start()

    def stream(
        self, model: str, prompt: str, content: str, finish: str, include_usage: bool
    ) -> None:
        """Answer with server-sent events: the head at once, the first token after
        ``latency``, each next one ``1 / token_rate`` later, then the finish reason, the
        usage (if asked) and ``[DONE]``."""
        cfg = self.server.config
        self.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        step = 1 / cfg.token_rate if cfg.token_rate > 0 else 0.0
        chunks = [_event(model, {"content": token}, None) for token in content]
        chunks.append(_event(model, {}, finish))
        if include_usage:
            chunks.append(_event(model, None, None, _usage(prompt, content)))
        chunks.append(b"data: [DONE]\n\n")
        framed = [b"%x\r\n%s\r\n" % (len(c), c) for c in chunks] + [b"0\r\n\r\n"]
        # one send per token time, the closing events with the last token: timers due at
        # the same moment need not run in the order they were set
        cut = max(len(content), 1) if step else 1
        batches = [b"".join(framed[i : i + 1]) for i in range(cut - 1)]
        batches.append(b"".join(framed[cut - 1 :]))

        def start() -> None:
            for index, batch in enumerate(batches):
                last = index == len(batches) - 1
                self.loop.call_later(
                    cfg.latency + index * step, self.reply if last else self.send, batch
                )

        self.occupy(start)

    def reply(self, payload: bytes | None) -> None:
        """Answer a request held for the configured latency (counted as in flight till then)."""
        server = self.server
        server.in_flight -= 1
        server.serving -= 1
        self.send(payload)
        if server.waiting:
            server.serving += 1
            server.waiting.popleft()()


def _usage(prompt: str, content: str) -> dict[str, int]:
    """Tokens as the server counts them: characters."""
    return {
        "prompt_tokens": len(prompt),
        "completion_tokens": len(content),
        "total_tokens": len(prompt) + len(content),
    }


def _event(
    model: str,
    delta: dict[str, str] | None,
    finish: str | None,
    usage: dict[str, int] | None = None,
) -> bytes:
    """One server-sent event of a streamed chat completion."""
    chunk: dict[str, object] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [] if delta is None else [
            {"index": 0, "delta": delta, "finish_reason": finish}
        ],
    }  # fmt: skip
    if usage is not None:
        chunk["usage"] = usage
    return b"data: " + json.dumps(chunk, ensure_ascii=False).encode("utf-8") + b"\n\n"


def _completion(
    model: str,
    prompt: str,
    content: str,
    finish: str = "stop",
    logprobs: dict[str, object] | None = None,
) -> bytes:
    """An OpenAI chat completion answering ``content`` (tokens counted as characters)."""
    reply = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
                "logprobs": logprobs,
            }
        ],
        "usage": _usage(prompt, content),
    }
    return json.dumps(reply, ensure_ascii=False).encode("utf-8")


@contextmanager
def serve_in_thread(
    config: FakeConfig, loop_kind: str = "uvloop", port: int = 0
) -> Iterator[tuple[str, FakeServer]]:
    """Run a fake server on its own event loop (of ``loop_kind``: ``uvloop`` where installed,
    or ``asyncio``) in a thread, on loopback at ``port`` (0: any free one); yields its base
    URL and itself. A port that cannot be bound raises :class:`OSError` here."""
    server = FakeServer(config)
    loop = aio.new_event_loop(loop_kind)
    ready = threading.Event()
    bound: list[int] = []
    failed: list[OSError] = []

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            bound.append(loop.run_until_complete(server.start(port=port)))
        except OSError as exc:
            failed.append(exc)
            return
        finally:
            ready.set()
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    ready.wait(10)
    if failed:
        thread.join(5)
        loop.close()
        raise failed[0]
    try:
        yield f"http://127.0.0.1:{bound[0]}/v1", server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def load_answer_key(path: Path) -> dict[str, str]:
    """An answer key file: JSON lines of ``{"prompt": ..., "answer": ...}`` (keyed by
    :func:`prompt_key`), ``{"image_sha256": ..., "answer": ...}`` (by :func:`image_key`) or
    ``{"id": ..., "answer": ...}`` (used with ``--id-pattern``)."""
    key: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if "prompt" in row:
                name = prompt_key(row["prompt"])
            elif "image_sha256" in row:
                name = image_key(str(row["image_sha256"]).lower())
            else:
                name = str(row["id"])
            key[name] = str(row["answer"])
    return key


if __name__ == "__main__":
    from mosu.evals.fakeserver_cli import main

    main()
