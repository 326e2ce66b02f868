"""Benchmark of ``mosu eval perf`` against the fake server (a script, not a test).

Starts the fake server in its own process (50 ms to the first token, 200 tokens per second
after it, every answer 20 tokens, so each request takes 50 + 19 × 5 = 145 ms of service
time) and runs ``mosu eval perf`` on it at concurrency 1, 4, 16 and 64, streamed. Prints,
per step, the request rate against the physical limit (concurrency / service time), the
output tokens per second against theirs (limit × 20), the measured TTFT, TPOT and p95
latency against the server's 50 ms, 5 ms and 145 ms, and the machine's load average.

    python bench/perf.py                      # 256 requests per step
    python bench/perf.py --requests 1024 --steps 1,4,16,64,128
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
LATENCY, RATE, TOKENS = 0.05, 200.0, 20
SERVICE = LATENCY + (TOKENS - 1) / RATE
console = Console(width=150)


def start_server() -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable, "-m", "mosu.evals.fakeserver", "--latency", str(LATENCY),
        "--token-rate", str(RATE), "--template", "答" * TOKENS,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "MOSU_EVAL_LOOP"}
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().split()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1,4,16,64")
    parser.add_argument("--requests", type=int, default=256)
    args = parser.parse_args()
    server, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            prompts = Path(tmp) / "prompts.txt"
            prompts.write_text("\n".join(f"第{i}题" for i in range(100)), encoding="utf-8")
            load = os.getloadavg()[0]
            started = time.perf_counter()
            command = [
                sys.executable, "-m", "mosu.evals.cli", "perf", f"fake=openai:{url}#m?stream=1",
                "--prompts", str(prompts), "--steps", args.steps, "--requests",
                str(args.requests), "--slo", "1", "--out", tmp, "-q",
            ]  # fmt: skip
            subprocess.run(command, cwd=REPO, check=True, capture_output=True)
            wall = time.perf_counter() - started
            result = json.loads((Path(tmp) / "perf.json").read_text(encoding="utf-8"))
    finally:
        server.terminate()
        server.wait()
    table = Table(
        title=f"mosu eval perf against the fake server: {LATENCY * 1000:.0f} ms to the first "
        f"token, {RATE:.0f} tokens/s, {TOKENS} tokens per answer (service time "
        f"{SERVICE * 1000:.0f} ms); load average {load:.1f}; {wall:.1f} s in all"
    )
    for column in (
        "concurrency", "requests", "req/s", "limit", "% of limit", "tokens/s", "tokens % of limit",
        "TTFT p50 ms", "TPOT ms", "p95 ms", "p95 / service", "errors",
    ):  # fmt: skip
        table.add_column(column, justify="right")
    for step in result["steps"]:
        limit = step["concurrency"] / SERVICE
        table.add_row(
            str(step["concurrency"]),
            str(step["requests"]),
            f"{step['requests_per_s']:.1f}",
            f"{limit:.1f}",
            f"{step['requests_per_s'] / limit:.0%}",
            f"{step['output_tokens_per_s']:.0f}",
            f"{step['output_tokens_per_s'] / (limit * TOKENS):.0%}",
            f"{step['ttft_p50'] * 1000:.1f}",
            f"{step['tpot_mean'] * 1000:.2f}",
            f"{step['latency_p95'] * 1000:.0f}",
            f"{step['latency_p95'] / SERVICE:.2f}",
            str(step["errors"]),
        )
    console.print(table)


if __name__ == "__main__":
    main()
