"""Testing a model endpoint (测试接入点): one chat call through the evaluation engine's
OpenAI-compatible adapter, the same client a race uses, with no retry. The outcome (status,
latency, the answer's first characters) is shown at once and kept as the endpoint's last
check."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from mosu.core import clock
from mosu.core.credentials import CredentialBox
from mosu.evals.models.base import ModelError
from mosu.evals.models.openai_compat import OpenAIChatModel
from mosu.evals.netpolicy import AddressPolicy
from mosu.evals.tasks import Task, parse_task
from mosu.permissions import Actor
from mosu.registry.endpoints import endpoint_api_key, get_endpoint

PROMPT = "你好，请用一句话介绍你自己。/ Hello, introduce yourself in one sentence."
TIMEOUT_SECONDS = 20.0
ANSWER_CHARS = 300


@dataclass(frozen=True)
class EndpointCheck:
    """One test call's outcome: ``status`` is ``HTTP 200`` or what went wrong."""

    at: str
    ok: bool
    status: str
    latency: float
    answer: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _probe_task() -> Task:
    """A one-row task that carries short greedy generation to ``Model.prepare``."""
    return parse_task(
        {
            "name": "endpoint-check",
            "splits": {
                "test": {
                    "format": "inline",
                    "rows": [{"id": "0", "text": PROMPT, "label": "-"}],
                    "id_field": "id",
                    "label_field": "label",
                }
            },
            "prompt": {"template": "{{ text }}"},
            "scorers": ["exact_match"],
            "generation": {"temperature": 0.0, "max_tokens": 64},
        },
        where="endpoint-check",
    )


async def _call(model: OpenAIChatModel, timeout: float) -> tuple[bool, str, str]:
    try:
        await model.prepare(_probe_task())
        answer = await asyncio.wait_for(
            model.complete("check", [{"role": "user", "content": PROMPT}]), timeout
        )
        return True, "HTTP 200", answer.text
    except ModelError as exc:
        return False, str(exc), ""
    except TimeoutError:
        return False, f"超时 / timed out after {timeout:.0f} s", ""
    finally:
        await model.aclose()


def _run(model: OpenAIChatModel, timeout: float) -> tuple[bool, str, str]:
    """Run the call on a fresh event loop in a helper thread (a request handler's thread
    may already have a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _call(model, timeout)).result()


def check_endpoint(
    session: Session,
    *,
    actor: Actor,
    endpoint_id: int,
    box: CredentialBox,
    policy: AddressPolicy,
    timeout: float = TIMEOUT_SECONDS,
) -> EndpointCheck:
    """Call the endpoint once (its own organisation or an operator) and keep the outcome as
    its last check."""
    endpoint = get_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    start = time.perf_counter()
    try:
        model = OpenAIChatModel(
            endpoint.base_url,
            endpoint.model_name,
            api_key=endpoint_api_key(endpoint, box),
            policy=policy,
        )
    except ValueError as exc:  # the address policy refuses the URL
        ok, status, answer = False, str(exc), ""
    else:
        ok, status, answer = _run(model, timeout)
    check = EndpointCheck(
        at=clock.now().isoformat(),
        ok=ok,
        status=status[:300],
        latency=round(time.perf_counter() - start, 3),
        answer=answer[:ANSWER_CHARS],
    )
    endpoint.last_check = check.to_json()
    session.flush()
    return check


__all__ = ["EndpointCheck", "check_endpoint"]
