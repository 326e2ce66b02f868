"""The model adapter interface shared by endpoints, local models and predictions files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mosu.evals.limits import Limits
from mosu.evals.prompts import Message

if TYPE_CHECKING:
    from mosu.evals.tasks import Task


class ModelError(Exception):
    """A failed call. ``retryable`` failures are retried within the endpoint's limits.

    ``status`` is the HTTP status the endpoint answered, if it answered; ``unreachable``
    marks an attempt that got no HTTP answer at all (no connection, closed early, not HTTP);
    ``refused`` an address the network policy refuses. The executor's circuit breaker
    (:class:`~mosu.evals.executor.Breaker`) reads them.
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        status: int | None = None,
        unreachable: bool = False,
        refused: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.unreachable = unreachable
        self.refused = refused


@dataclass(frozen=True, slots=True)
class Completion:
    """An answer with what the endpoint said of it: the tokens its ``usage`` counted, why it
    stopped (``length``: cut at ``max_tokens``) and, for a streamed answer, the seconds to
    its first token; ``method`` says whether a multiple-choice letter was read from the
    first token's log-probabilities (``logprobs``) or from a generated answer
    (``generate``). A model that knows none of these may return the bare text instead."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    ttft: float | None = None
    method: str | None = None  # how a multiple-choice answer was read: logprobs or generate


@dataclass(frozen=True, slots=True)
class Price:
    """What a model's tokens cost, in yuan per million input and output tokens."""

    input: float
    output: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


class Model(Protocol):
    """What the executor needs from a model.

    ``identity`` names the endpoint, model and generation parameters for the response
    cache (``None``: do not cache, e.g. a local model that answers in microseconds).
    ``endpoint`` names the service whose ``limits`` the calls count against, whatever the
    generation parameters: every race calling the same endpoint shares one set of limits on
    a Ray cluster (``None``: a model of this race alone).
    """

    limits: Limits

    @property
    def identity(self) -> str | None: ...

    @property
    def endpoint(self) -> str | None: ...

    async def prepare(self, task: Task) -> None:
        """Train on the task's train split, read a predictions file, open connections."""

    async def complete(self, sample_id: str, messages: list[Message]) -> str | Completion:
        """The model's raw answer (with its usage, where known), or :class:`ModelError`."""

    async def aclose(self) -> None:
        """Release connections."""
