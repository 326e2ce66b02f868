"""Model specs: one string names a model and how to reach it.

==================================================  ==========================================
``openai:BASE_URL#MODEL?concurrency=64&rpm=600``    an OpenAI-compatible chat endpoint; options
                                                    ``concurrency``, ``rpm``, ``timeout``,
                                                    ``retries``, ``backoff``,
                                                    ``max_unreachable``, ``key_env`` (the
                                                    environment variable holding the key),
                                                    ``key_ref`` (a key in the platform's store),
                                                    ``temperature``, ``max_tokens``,
                                                    ``top_p``, ``seed``, ``stop``
                                                    (repeatable, at most 4),
                                                    ``extra_body`` (a JSON object),
                                                    ``stream`` (1: server-sent events, to
                                                    time the first token), ``price_in``,
                                                    ``price_out`` (yuan per million tokens)
``baseline:majority`` / ``baseline:tfidf``          built-in baselines trained on the train split
``python:package.module:function``                  a local callable ``f(messages) -> str``
``predictions:PATH.jsonl``                          an entrant's predictions file
==================================================  ==========================================

Other packages add kinds through the ``mosu.model_kinds`` entry point group (see
:mod:`mosu.evals.registry`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from mosu.evals.errors import ModelSpecError
from mosu.evals.limits import Limits
from mosu.evals.models.base import Model, Price
from mosu.evals.models.local import BASELINES, PythonModel
from mosu.evals.models.openai_compat import OpenAIChatModel
from mosu.evals.models.predictions import PredictionsFile
from mosu.evals.netpolicy import LOCAL, AddressPolicy
from mosu.evals.registry import Registry
from mosu.evals.tasks import RESERVED_BODY, GenerationSpec, check_stop

SecretLookup = Callable[[str], str | None]
_LIMIT_OPTIONS = {
    "concurrency": int,
    "rpm": float,
    "timeout": float,
    "retries": int,
    "backoff": float,
    "max_unreachable": int,
}
_PARAM_OPTIONS = {"temperature": float, "max_tokens": int, "top_p": float, "seed": int}
_PRICE_OPTIONS = ("price_in", "price_out")
_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _extra_body(value: str) -> dict[str, Any]:
    """``extra_body={"enable_thinking": false}``: vendor fields for this model's requests,
    a JSON object (URL-encode ``&`` and ``#`` in a spec). They win over the task's
    ``generation.extra_body``; the engine's own fields may not be set this way."""
    try:
        body = json.loads(value)
    except ValueError:
        raise ModelSpecError(f"option extra_body={value!r} is not a JSON object") from None
    if not isinstance(body, dict):
        raise ModelSpecError(f"option extra_body={value!r} is not a JSON object")
    for key in body:
        if key in RESERVED_BODY or key in GenerationSpec.model_fields:
            raise ModelSpecError(f"extra_body may not set {key!r}: the engine or the spec sets it")
    return body


def _stored_key(secrets: SecretLookup | None, ref: str) -> str:
    """The key ``key_ref`` names, from the lookup the platform passes (its encrypted store)."""
    if secrets is None:
        raise ModelSpecError(
            f"key_ref={ref!r}: no key store here (use key_env outside the platform)"
        )
    try:
        key = secrets(ref)
    except ValueError as exc:  # e.g. sealed with another secret key
        raise ModelSpecError(f"stored key {ref!r} (key_ref) cannot be read: {exc}") from None
    if not key:
        raise ModelSpecError(f"no stored key named {ref!r} (key_ref)")
    return key


def _openai(
    rest: str, environ: Mapping[str, str], secrets: SecretLookup | None, policy: AddressPolicy
) -> OpenAIChatModel:
    address, _, query = rest.partition("?")
    base_url, _, model = address.rpartition("#")
    if not base_url or not model:
        raise ModelSpecError(f"openai spec needs 'openai:BASE_URL#MODEL', got 'openai:{rest}'")
    limits: dict[str, Any] = {}
    params: dict[str, Any] = {}
    api_key: str | None = None
    stop: list[str] = []
    prices: dict[str, float] = {}
    stream = False
    for name, value in parse_qsl(query, keep_blank_values=True):
        try:
            if name == "stop":
                stop.append(value)
            elif name in _LIMIT_OPTIONS:
                limits[name] = _LIMIT_OPTIONS[name](value)
            elif name in _PARAM_OPTIONS:
                params[name] = _PARAM_OPTIONS[name](value)
            elif name == "key_env":
                api_key = environ.get(value)
                if not api_key:
                    raise ModelSpecError(f"environment variable {value} (key_env) is not set")
            elif name == "key_ref":
                api_key = _stored_key(secrets, value)
            elif name in _PRICE_OPTIONS:
                prices[name] = float(value)
                if not prices[name] >= 0:
                    raise ValueError(value)
            elif name == "extra_body":
                params.update(_extra_body(value))
            elif name == "stream":
                if value.lower() not in _FLAGS:
                    raise ModelSpecError(f"option stream={value!r} must be 1 or 0")
                stream = _FLAGS[value.lower()]
            else:
                known = ", ".join(
                    [
                        *_LIMIT_OPTIONS,
                        *_PARAM_OPTIONS,
                        "stop",
                        *_PRICE_OPTIONS,
                        "stream",
                        "extra_body",
                        "key_env",
                        "key_ref",
                    ]
                )
                raise ModelSpecError(f"unknown option {name!r} in openai spec; known: {known}")
        except ValueError:
            raise ModelSpecError(
                f"option {name}={value!r} is not a valid number"
                + (" (0 or more)" if name in _PRICE_OPTIONS else "")
            ) from None
    if stop:
        try:
            params["stop"] = check_stop(stop)
        except ValueError as exc:
            raise ModelSpecError(f"openai spec: {exc}") from None
    if len(prices) == 1:
        raise ModelSpecError(
            "give both price_in and price_out (yuan per million tokens), or neither"
        )
    price = Price(prices["price_in"], prices["price_out"]) if prices else None
    try:
        return OpenAIChatModel(
            base_url,
            model,
            api_key=api_key,
            limits=Limits(**limits),
            params=params,
            policy=policy,
            stream=stream,
            price=price,
        )
    except ValueError as exc:
        raise ModelSpecError(f"openai spec: {exc}") from None


@dataclass(frozen=True)
class SpecContext:
    """What building a model may need beside its spec: the environment that ``key_env``
    names a variable of, the platform's key store (``key_ref``), and the addresses an
    endpoint may resolve to."""

    environ: Mapping[str, str]
    secrets: SecretLookup | None
    policy: AddressPolicy


ModelKind = Callable[[str, SpecContext], Model]
MODEL_KINDS: Registry[ModelKind] = Registry("mosu.model_kinds", "model kind")
"""Model kinds by the word before the spec's first colon; plug-ins add theirs through the
``mosu.model_kinds`` entry point group (a function of the rest of the spec and a
:class:`SpecContext`, returning a :class:`~mosu.evals.models.base.Model`)."""


@MODEL_KINDS.register("openai")
def openai_model(rest: str, context: SpecContext) -> Model:
    """``openai:BASE_URL#MODEL?options``: an OpenAI-compatible chat endpoint."""
    return _openai(rest, context.environ, context.secrets, context.policy)


@MODEL_KINDS.register("baseline")
def baseline_model(rest: str, context: SpecContext) -> Model:
    """``baseline:NAME``: a built-in baseline trained on the train split."""
    if rest not in BASELINES:
        raise ModelSpecError(f"unknown baseline {rest!r}; known: {', '.join(BASELINES)}")
    return BASELINES[rest]()


@MODEL_KINDS.register("python")
def python_model(rest: str, context: SpecContext) -> Model:
    """``python:package.module:function``: a local callable ``f(messages) -> str``."""
    return PythonModel(rest)


@MODEL_KINDS.register("predictions")
def predictions_model(rest: str, context: SpecContext) -> Model:
    """``predictions:PATH.jsonl``: an entrant's predictions file."""
    return PredictionsFile(Path(rest))


def build_model(
    spec: str,
    *,
    environ: Mapping[str, str] | None = None,
    secrets: SecretLookup | None = None,
    policy: AddressPolicy = LOCAL,
) -> Model:
    """Build the model a spec names; raises :class:`ModelSpecError` with the reason.

    ``policy`` says which addresses an endpoint may resolve to (default: private networks
    allowed, as on a laptop; the platform passes its own)."""
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ModelSpecError(
            f"model spec {spec!r} must look like KIND:..., KIND one of {', '.join(MODEL_KINDS.names())}"
        )
    factory = MODEL_KINDS.get(kind)
    if factory is None:
        raise ModelSpecError(
            f"unknown model kind {kind!r} in {spec!r}; known: {', '.join(MODEL_KINDS.names())}"
        )
    context = SpecContext(os.environ if environ is None else environ, secrets, policy)
    return factory(rest, context)


def parse_model_option(value: str) -> tuple[str, str]:
    """``NAME=SPEC`` as given to ``--model``; a bare spec is named after itself."""
    name, sep, spec = value.partition("=")
    if sep and ":" not in name and name:
        return name, spec
    return value, value
