"""Service performance under load: figures checked against what the fake server was told to do.

The fake server sends the first token after ``latency`` seconds and each further one
``1 / token_rate`` later, counts tokens as characters and, with ``capacity``, produces at
most that many answers at once; so each figure has a known lower bound or an exact value.
No test asserts a wall-clock upper bound except as an order with a wide gap.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest

from mosu.evals.fakeserver import FakeConfig, serve_in_thread
from mosu.evals.perf import (
    RequestRecord,
    StepResult,
    max_within_slo,
    measure,
    summarise,
)

ANSWER = "abcdefghij"  # every answer: 10 tokens (characters)
LATENCY, RATE = 0.2, 100.0  # long enough that a loaded machine's delays stay small beside it


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_step_figures_follow_the_servers_latency_and_token_rate() -> None:
    peaks: list[int] = []
    config = FakeConfig(latency=LATENCY, token_rate=RATE, template=ANSWER)
    # asyncio's timers start from the present moment; libuv's from the moment its loop last
    # woke, so uvloop may send a token up to a millisecond before its time
    with serve_in_thread(config, loop_kind="asyncio") as (url, server):

        def on_step(step: StepResult) -> None:
            peaks.append(server.peak_in_flight)
            server.peak_in_flight = 0

        result = measure(
            f"openai:{url}#m?stream=1",
            ["一", "二", "三"],
            steps=(1, 4),
            requests_per_step=6,
            slo_p95=5.0,
            on_step=on_step,
        )
        sent = server.requests
    assert [s.requests for s in result.steps] == [6, 8]  # at least 2 rounds per worker
    assert sent == 14 and peaks == [1, 4]
    assert [s.peak_in_flight for s in result.steps] == [1, 4]
    for step in result.steps:
        assert step.errors == 0 and step.error_rate == 0.0 and step.answered == step.requests
        assert all(r.output_tokens == len(ANSWER) for r in step.records)
        assert step.output_tokens_mean == len(ANSWER)
        assert all(r.ttft is not None and r.ttft >= LATENCY for r in step.records)
        assert all(r.latency >= LATENCY + (len(ANSWER) - 1) / RATE for r in step.records)
        # no lower bound on TPOT: a first token read late (a loaded client) shortens the
        # gap to the last one; the latency bound above is the server's schedule
        assert step.tpot_mean is not None and step.tpot_mean > 0
        by_hand = [(r.latency - (r.ttft or 0)) / (len(ANSWER) - 1) for r in step.records]
        assert step.tpot_mean == pytest.approx(float(np.mean(by_hand)))
        assert step.tpot_p50 == pytest.approx(float(np.percentile(by_hand, 50)))
        latencies = [r.latency for r in step.records]
        assert step.latency_p95 == pytest.approx(float(np.percentile(latencies, 95)))
        assert step.requests_per_s == pytest.approx(step.requests / step.duration)
        assert step.output_tokens_per_s == pytest.approx(
            step.requests * len(ANSWER) / step.duration
        )
        assert step.duration >= max(r.start + r.latency for r in step.records)
        assert step.within_slo
    # four workers answer about four times as many requests per second as one
    assert result.steps[1].requests_per_s > 2 * result.steps[0].requests_per_s
    assert result.max_concurrency_within_slo == 4
    assert result.tokens_per_s_within_slo == result.steps[1].output_tokens_per_s
    assert result.failed is None and result.stopped is None and result.ended_early is None


def test_max_tokens_cuts_every_answer() -> None:
    with serve_in_thread(FakeConfig(template=ANSWER)) as (url, _):
        result = measure(
            f"openai:{url}#m", ["q"], steps=(2,), requests_per_step=4, slo_p95=5, max_tokens=3
        )
    (step,) = result.steps
    assert step.output_tokens_mean == 3 and step.truncated == 4


def test_errors_are_counted_not_retried_and_end_the_steps() -> None:
    config = FakeConfig(faults={"server_error": 1.0})
    with serve_in_thread(config) as (url, server):
        result = measure(f"openai:{url}#m", ["q"], steps=(1, 4, 16), requests_per_step=5)
        sent = server.requests
    (step,) = result.steps
    assert step.requests == 5 and sent == 5  # no retry: one request each
    assert step.errors == 5 and step.error_rate == 1.0 and step.answered == 0
    assert step.error_reasons == {"HTTP 500": 5}
    assert not step.within_slo and step.latency_p95 is None
    assert result.ended_early == "every request at concurrency 1 failed"
    assert result.max_concurrency_within_slo is None
    assert result.failed == "every request failed"


def test_max_concurrency_within_slo_is_the_servers_capacity() -> None:
    """With 4 answer slots of 0.5 s, C clients wait C / 4 × 0.5 s beyond 4: an SLO of
    0.95 s holds up to 4 exactly (step 8 waits 1 s at least); at 16 (2 s at least, over twice
    the SLO) the steps stop. A loaded machine's own delays only lengthen answers, so the SLO
    sits just under step 8's floor: step 4 stays within it unless they add 0.45 s to an
    answer, and step 8 goes on unless they add 0.9 s. (At 0.75 s, a run on four workers of
    two CPUs added over 0.25 s even at concurrency 1.)"""
    config = FakeConfig(latency=0.5, capacity=4, template=ANSWER)
    with serve_in_thread(config) as (url, server):
        result = measure(
            f"openai:{url}#m", ["q"], steps=(1, 2, 4, 8, 16, 32), requests_per_step=4,
            slo_p95=0.95,
        )  # fmt: skip
    assert [s.concurrency for s in result.steps] == [1, 2, 4, 8, 16]
    assert [s.within_slo for s in result.steps] == [True, True, True, False, False]
    assert result.max_concurrency_within_slo == 4
    assert result.steps[3].latency_p50 is not None and result.steps[3].latency_p50 >= 0.95
    assert result.ended_early is not None and "concurrency 16" in result.ended_early
    assert server.peak_in_flight == 16


def test_a_refusing_endpoint_stops_at_its_first_answer() -> None:
    with serve_in_thread(FakeConfig(api_key="right")) as (url, server):
        result = measure(f"openai:{url}#m", ["q"], steps=(1, 4), requests_per_step=8)
        received = server.received
    assert received == 1
    assert result.stopped == "stopped: HTTP 401 from the endpoint"
    assert result.failed == result.stopped and result.max_concurrency_within_slo is None


def test_a_dead_endpoint_stops_after_k_attempts() -> None:
    spec = f"openai:http://127.0.0.1:{_dead_port()}/v1#m?max_unreachable=3"
    result = measure(spec, ["q"], steps=(1, 4), requests_per_step=8)
    assert [s.requests for s in result.steps] == [3]
    assert result.stopped == "stopped: endpoint unreachable (3 attempts in a row)"


def test_a_refused_address_is_not_measured() -> None:
    from mosu.evals.errors import ModelSpecError
    from mosu.evals.netpolicy import AddressPolicy

    with pytest.raises(ModelSpecError, match="openai spec"):
        measure(
            "openai:http://127.0.0.1:9/v1#m",
            ["q"],
            network=AddressPolicy(allow_private=False),
        )


def test_summarise_against_numpy() -> None:
    records = [
        RequestRecord(start=0.0, latency=1.0, ttft=0.2, output_tokens=5),
        RequestRecord(start=0.1, latency=2.0, ttft=0.4, output_tokens=9),
        RequestRecord(start=0.2, latency=0.5, error="HTTP 500: boom"),
        RequestRecord(start=0.3, latency=3.0, ttft=1.0, output_tokens=1),
    ]
    step = summarise(2, records, 4.0, slo_p95=2.5, max_error_rate=0.3)
    assert (step.requests, step.answered, step.errors) == (4, 3, 1)
    assert step.error_rate == 0.25 and step.error_reasons == {"HTTP 500": 1}
    assert step.requests_per_s == 1.0 and step.output_tokens_per_s == 15 / 4
    assert step.latency_p95 == pytest.approx(float(np.percentile([1.0, 2.0, 3.0], 95)))
    assert step.ttft_p50 == pytest.approx(0.4)
    assert step.tpot_mean == pytest.approx(np.mean([0.8 / 4, 1.6 / 8]))  # one token: no TPOT
    assert not step.within_slo  # p95 2.9 s > 2.5 s
    passing = summarise(1, records[:2], 2.0, slo_p95=2.5)
    assert passing.within_slo
    assert max_within_slo([passing, step, passing]) is passing  # the run from the first step


@pytest.mark.parametrize("steps", [(), (4, 1), (0, 1), (1, 1)])
def test_steps_must_rise(steps: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="steps"):
        measure("baseline:majority", ["q"], steps=steps)
