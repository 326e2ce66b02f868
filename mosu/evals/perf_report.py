"""The service performance report: a plotly chart of p95 latency and output tokens per second
against concurrency (one line pair per endpoint), and the table of every step. The chart's
figure is shared with the platform's perf board; the HTML page inlines plotly.js's cartesian
bundle (no CDN). Everything shown is autoescaped."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import Environment

from mosu.evals.perf import PerfResult, StepResult
from mosu.evals.report import plotly_js
from mosu.evals.service import ms


def perf_figure(
    series: Mapping[str, Sequence[StepResult]], slo_p95: float | None, title: str = ""
) -> dict[str, Any]:
    """Plotly figure: per endpoint, p95 latency (solid, left axis, ms) and output tokens per
    second (dotted, right axis) at each concurrency step (log axis); the SLO as a line."""
    data: list[dict[str, Any]] = []
    steps = sorted({s.concurrency for rows in series.values() for s in rows})
    for name, rows in series.items():
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{name} p95",
                "x": [s.concurrency for s in rows],
                "y": [None if s.latency_p95 is None else s.latency_p95 * 1000 for s in rows],
                "hovertemplate": "%{x}: %{y:.0f} ms<extra>" + name + "</extra>",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "line": {"dash": "dot"},
                "name": f"{name} tokens/s",
                "x": [s.concurrency for s in rows],
                "y": [s.output_tokens_per_s for s in rows],
                "yaxis": "y2",
                "hovertemplate": "%{x}: %{y:.0f} tokens/s<extra>" + name + "</extra>",
            }
        )
    if slo_p95 is not None and steps:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "SLO p95",
                "x": [steps[0], steps[-1]],
                "y": [slo_p95 * 1000] * 2,
                "line": {"color": "#b00", "dash": "dash"},
            }
        )
    return {
        "data": data,
        "layout": {
            "title": {"text": title},
            "xaxis": {"title": {"text": "concurrency"}, "type": "log", "tickvals": steps},
            "yaxis": {"title": {"text": "p95 latency (ms)"}, "rangemode": "tozero"},
            "yaxis2": {
                "title": {"text": "output tokens/s"},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
            },
            "legend": {"orientation": "h"},
            "margin": {"l": 60, "r": 60, "t": 40, "b": 40},
            "height": 420,
        },
    }


def figure_json(figure: Mapping[str, Any]) -> str:
    """A figure as JSON safe to put inside a ``<script>`` element."""
    return json.dumps(figure, ensure_ascii=False).replace("</", "<\\/")


_TEMPLATE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{{ r.model }} — 性能压测 perf</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px}table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}.no{color:#b00}</style>
<script>{{ plotly_js | safe }}</script></head><body>
<h1>{{ r.model }} 性能压测 Service performance</h1>
<p>SLO：p95 延迟 ≤ {{ r.slo_p95 }} s，错误率 ≤ {{ '%.0f'|format(r.max_error_rate*100) }}%。
SLO 内最大并发 Max concurrency within SLO：<b>{{ r.max_concurrency_within_slo if r.max_concurrency_within_slo is not none else '无 none' }}</b>
{% if r.tokens_per_s_within_slo is not none %}（{{ '%.0f'|format(r.tokens_per_s_within_slo) }} tokens/s）{% endif %}</p>
{% if r.stopped %}<p class="no">{{ r.stopped }}</p>{% endif %}{% if r.ended_early %}<p>{{ r.ended_early }}</p>{% endif %}
<div id="perf"></div>
<table><tr><th>并发</th><th>请求</th><th>错误率</th><th>req/s</th><th>tokens/s</th><th>TTFT p50 (ms)</th><th>TTFT p95</th>
<th>TPOT (ms)</th><th>延迟 p50 (ms)</th><th>p90</th><th>p95</th><th>p99</th><th>tokens/答</th><th>SLO</th></tr>
{% for s in r.steps %}<tr><td>{{ s.concurrency }}</td><td>{{ s.requests }}</td><td>{{ '%.1f'|format(s.error_rate*100) }}%</td>
<td>{{ '%.1f'|format(s.requests_per_s) }}</td><td>{{ '%.0f'|format(s.output_tokens_per_s) }}</td><td>{{ ms(s.ttft_p50) }}</td><td>{{ ms(s.ttft_p95) }}</td>
<td>{{ '%.2f'|format(s.tpot_mean*1000) if s.tpot_mean is not none else '' }}</td><td>{{ ms(s.latency_p50) }}</td><td>{{ ms(s.latency_p90) }}</td>
<td>{{ ms(s.latency_p95) }}</td><td>{{ ms(s.latency_p99) }}</td><td>{{ '%.1f'|format(s.output_tokens_mean) if s.output_tokens_mean is not none else '' }}</td>
<td>{{ '✓' if s.within_slo else '✗' }}</td></tr>{% endfor %}</table>
<script>const fig = {{ figure | safe }}; Plotly.newPlot("perf", fig.data, fig.layout, {responsive: true});</script>
</body></html>"""

_ENV = Environment(autoescape=True)


def render_perf_report(result: PerfResult) -> str:
    """The whole report as one self-contained HTML page."""

    figure = perf_figure({result.model: result.steps}, result.slo_p95, result.model)
    return _ENV.from_string(_TEMPLATE).render(
        r=result, figure=figure_json(figure), ms=ms, plotly_js=plotly_js()
    )
