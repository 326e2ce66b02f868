"""English for service-performance stages (性能压测阶段) of a race."""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    "性能压测排行榜": "Service performance board",
    "SLO：p95 延迟 ≤ {s} 秒，错误率 ≤ {e}%": "SLO: p95 latency ≤ {s} s, error rate ≤ {e}%",
    "SLO 内最大并发": "Max concurrency within SLO",
    "该并发下输出 tokens/秒": "Output tokens/s there",
    "并发 {c}：p95 / 首字 (ms)": "At {c}: p95 / TTFT (ms)",
    "按 SLO 内最大并发排名，相同时比该并发下的输出速度，再相同时先提交者在前；测量失败（接入点拒绝或不可达）的提交不排名。": (
        "Ranked by the max concurrency within the SLO, then by output speed there, then by "
        "the earlier submission; a measurement that failed (endpoint refused or unreachable) "
        "is not ranked."
    ),
}
