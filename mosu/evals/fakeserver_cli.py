"""``python -m mosu.evals.fakeserver``: the fake server's command line (flags in
:func:`parser`, documented by ``--help``)."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from mosu.evals import aio
from mosu.evals.fakeserver import FAULTS, JUDGE_PATTERN, FakeConfig, FakeServer, load_answer_key
from mosu.evals.settings import EvalSettings


def parser() -> argparse.ArgumentParser:
    """Every flag of the fake server, each with what it does, its unit and default."""
    parser = argparse.ArgumentParser(
        description="mosu's fake OpenAI-compatible chat server on loopback: answers "
        "POST /v1/chat/completions from an answer key with a chosen accuracy, after a chosen "
        "latency (streamed as server-sent events when a request asks), injecting faults at "
        "chosen shares; GET /stats counts requests per prompt. "
        "Shares are fractions of requests (0 to 1; the fault shares add up to at most 1).",
        epilog="Answer key (--answers): JSON lines, one answer each, either "
        '{"prompt": "<the last user message, as sent>", "answer": "B"} (matched on the '
        'stripped text), {"image_sha256": "<hex>", "answer": "B"} (matched on the sha256 of '
        "the last image_url part's decoded bytes) or "
        '{"id": "7", "answer": "B"} (matched on the id that --id-pattern '
        "finds in the prompt). A prompt not in the key is answered 不知道. Image parts must "
        "be data:image/(jpeg|png|webp);base64 URLs of decodable images, else HTTP 400.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on; 0 picks a free one (default 0)"
    )
    parser.add_argument(
        "--latency",
        type=float,
        metavar="SECONDS",
        default=0.0,
        help="seconds before an answer (its first token, when streamed or paced by "
        "--token-rate) is sent (default %(default)s)",
    )
    parser.add_argument(
        "--accuracy",
        type=float,
        metavar="SHARE",
        default=1.0,
        help="share of prompts in the key answered right, 0 to 1, the same prompts on every "
        "run for a given --seed and model (default %(default)s)",
    )
    parser.add_argument(
        "--answers",
        type=Path,
        metavar="KEY.jsonl",
        help="answer key file, JSON lines (format below); default: none, every prompt "
        "is answered 不知道",
    )
    parser.add_argument(
        "--choices",
        default="",
        help="comma-separated answers that a wrong reply is drawn from, e.g. A,B,C,D "
        "(default: none, a wrong reply is 不知道)",
    )
    parser.add_argument(
        "--template",
        default="{answer}",
        help="how a reply is written around the answer, e.g. '答案：{answer}' "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--id-pattern",
        metavar="REGEX",
        help="regular expression whose group 1 finds a sample id in the prompt, to look the "
        'answer up by {"id": ...} lines of the key (default: none, prompts are matched '
        "whole)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of which prompts are answered right and of the fault draws "
        "(default %(default)s)",
    )
    _behaviour(parser)
    return parser


def _behaviour(parser: argparse.ArgumentParser) -> None:
    """Flags of how the server answers: pacing, logprobs, key, judge, faults."""
    parser.add_argument(
        "--retry-after",
        type=float,
        metavar="SECONDS",
        default=1.0,
        help="seconds sent in the Retry-After header of a --rate-limit answer "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--token-rate",
        type=float,
        metavar="TOKENS_PER_SECOND",
        default=0.0,
        help="tokens (characters) per second after the first, which comes after --latency; "
        "0 sends the whole answer at once (default 0)",
    )
    parser.add_argument(
        "--capacity",
        type=int,
        metavar="ANSWERS",
        default=0,
        help="answers produced at once, as a replica's batch slots; further requests wait "
        "first come first served (default 0: no limit)",
    )
    parser.add_argument(
        "--no-logprobs",
        action="store_true",
        help="answer requests that ask for logprobs without them, as many vendors do "
        "(default: the first token's top alternatives, the answer's first character first)",
    )
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        help="refuse with HTTP 401 requests without 'Authorization: Bearer KEY' "
        "(default: none, no key needed)",
    )
    parser.add_argument(
        "--judge",
        action="store_true",
        help="grade prompts written from the engine's judge template (评分：10 right, 评分：2 "
        "wrong); default off",
    )
    fault_help = {
        "rate_limit": "HTTP 429 with Retry-After",
        "server_error": "HTTP 500",
        "timeout": "no answer (the connection is held for 60 s)",
        "malformed": "a 200 answer whose JSON is cut off",
        "empty": "a 200 answer with empty content",
        "disconnect": "the connection closed without an answer",
    }
    for name in FAULTS:
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=float,
            default=0.0,
            dest=name,
            metavar="SHARE",
            help=f"share of requests, 0 to 1, answered with {fault_help[name]} (default 0)",
        )


def main(argv: list[str] | None = None) -> None:
    """Serve until stopped, on the loop that ``MOSU_EVAL_LOOP`` chooses."""
    settings = EvalSettings.from_env(os.environ)
    parser_ = parser()
    args = parser_.parse_args(argv)
    config = FakeConfig(
        latency=args.latency,
        accuracy=args.accuracy,
        faults={name: getattr(args, name) for name in FAULTS if getattr(args, name)},
        retry_after=args.retry_after,
        seed=args.seed,
        answers=load_answer_key(args.answers) if args.answers else {},
        id_pattern=args.id_pattern,
        choices=[c for c in args.choices.split(",") if c],
        template=args.template,
        judge_pattern=JUDGE_PATTERN if args.judge else None,
        api_key=args.api_key,
        token_rate=args.token_rate,
        logprobs=not args.no_logprobs,
        capacity=args.capacity,
    )

    async def serve() -> None:
        server = FakeServer(config)
        port = await server.start(args.host, args.port)
        print(f"listening on http://{args.host}:{port}/v1", flush=True)
        await asyncio.Event().wait()

    aio.run(serve(), settings.loop)
