"""The HTML race report: leaderboard with intervals, a plotly chart (plotly.js's cartesian
bundle inlined from ``vendor/``, no CDN), each model's service figures (coverage, latency,
first token, tokens, cost) with quality against cost and its Pareto front, models that were
incomplete or failed entirely with the reason, per-category scores and confusion matrices.
Model outputs never appear unescaped: the template autoescapes everything."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jinja2 import Environment

from mosu.evals.results import RaceResult
from mosu.evals.service import ms, pareto
from mosu.evals.stats import format_p_value

_TEMPLATE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{{ r.task }} — 赛马报告</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px}table{border-collapse:collapse;margin:1rem 0}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}th:first-child,td:nth-child(2){text-align:left}
.note{color:#555;font-size:.9rem}.warn{color:#8a5a00}</style>
<script>{{ plotly_js | safe }}</script></head><body>
<h1>{{ r.task }} 赛马报告</h1><p>{{ r.description }}</p>
<p>{{ r.samples }} 个样本{% if r.epochs > 1 %}，每个问 {{ r.epochs }} 次（epochs）{% endif %}；主指标 <b>{{ r.primary }}</b>；{{ r.replicates }} 次自助抽样，种子 {{ r.seed }}。</p>
{% for w in r.warnings %}<p class="warn">⚠ {{ w }}</p>{% endfor %}
<div id="scores" style="height:420px"></div>
<h2>排行榜 Leaderboard</h2><table><tr><th>名次</th><th>模型</th>{% for m in metrics %}<th>{{ m }} [95% CI]</th>{% endfor %}
{% if r.epochs > 1 %}<th>{{ r.primary }} 各轮 per epoch: mean ± std [min–max]</th>{% endif %}<th>错误</th><th>未解析</th><th>调用</th><th>缓存</th></tr>
{% for m in r.models %}<tr><td>{{ m.rank }}</td><td>{{ m.name }}</td>{% for k in metrics %}{% set v = m.metrics[k] %}
<td>{{ '%.1f'|format(v.value*100) }} [{{ '%.1f'|format(v.low*100) }}, {{ '%.1f'|format(v.high*100) }}]</td>{% endfor %}
{% if r.epochs > 1 %}{% set e = m.epochs %}<td title="{{ e.values if e else '' }}">{% if e %}{{ '%.1f'|format(e.mean*100) }} ± {{ '%.1f'|format(e.std*100) }} [{{ '%.1f'|format(e.minimum*100) }}–{{ '%.1f'|format(e.maximum*100) }}]{% endif %}</td>{% endif %}
<td title="{{ m.error_reasons }}">{{ m.errors }}</td><td>{{ m.unparsed }}</td><td>{{ m.requests }}</td><td>{{ m.cached }}</td></tr>{% endfor %}</table>
<p class="note">{{ r.method }}</p>
<h2>服务指标 Service: coverage, speed, tokens, cost</h2><table><tr><th>模型</th><th>覆盖率</th><th>仅已答 {{ r.primary }}</th>
<th>延迟 p50 (ms)</th><th>p95 (ms)</th><th>首字 TTFT p50 (ms)</th><th>每 token (ms)</th><th>每答 token</th><th>截断</th><th>成本 (元)</th><th>每千样本 (元)</th></tr>
{% for m in r.models + r.incomplete %}{% set f = m.service %}{% if f %}<tr><td style="text-align:left">{{ m.name }}{% if m.incomplete %} （不完整）{% endif %}</td>
<td>{{ '%.1f'|format(f.coverage*100) }}%</td><td>{{ '%.1f'|format(m.answered_score*100) if m.answered_score is not none else '' }}</td>
<td>{{ ms(f.latency_p50) }}</td><td>{{ ms(f.latency_p95) }}</td><td>{{ ms(f.ttft_p50) }}</td><td>{{ '%.1f'|format(f.tpot_p50*1000) if f.tpot_p50 is not none else '' }}</td>
<td>{{ '%.1f'|format(f.tokens_per_answer) if f.tokens_per_answer is not none else '' }}</td><td>{{ f.truncated }}</td>
<td>{{ '%.4f'|format(f.cost) if f.cost is not none else '' }}</td><td>{{ '%.4f'|format(f.cost_per_1k) if f.cost_per_1k is not none else '' }}</td></tr>{% endif %}{% endfor %}</table>
{% if cost_figure %}<div id="cost" style="height:420px"></div>{% endif %}
{% if r.incomplete %}<h2>不完整 Incomplete (not ranked: coverage below {{ '%.0f'|format(r.min_coverage*100) }}%)</h2><table><tr><th>模型</th><th>原因 Reason</th><th>错误</th></tr>
{% for m in r.incomplete %}<tr><td style="text-align:left">{{ m.name }}</td><td style="text-align:left">{{ m.incomplete }}</td>
<td title="{{ m.error_reasons }}">{{ m.errors }}</td></tr>{% endfor %}</table>{% endif %}
{% if r.failed %}<h2>失败的模型 Failed models (not ranked)</h2><table><tr><th>模型</th><th>原因 Reason</th><th>错误</th><th>调用</th></tr>
{% for f in r.failed %}<tr><td style="text-align:left">{{ f.name }}</td><td style="text-align:left">{{ f.reason }}</td>
<td title="{{ f.error_reasons }}">{{ f.errors }}</td><td>{{ f.requests }}</td></tr>{% endfor %}</table>{% endif %}
<h2>两两比较 Paired comparisons ({{ r.primary }})</h2><table><tr><th>A</th><th>B</th><th>A − B</th><th>95% CI</th><th>p</th><th>显著</th></tr>
{% for c in r.comparisons %}<tr><td>{{ c.a }}</td><td>{{ c.b }}</td><td>{{ '%.2f'|format(c.difference*100) }}</td>
<td>[{{ '%.2f'|format(c.low*100) }}, {{ '%.2f'|format(c.high*100) }}]</td><td>{{ c.p_value | p_value(r.replicates) }}</td><td>{{ '是' if c.significant else '否' }}</td></tr>{% endfor %}</table>
{% if categories %}<h2>分类别 By category ({{ r.primary }})</h2><table><tr><th>类别</th><th>n</th>{% for m in r.models %}<th>{{ m.name }}</th>{% endfor %}</tr>
{% for cat in categories %}<tr><td style="text-align:left">{{ cat }}</td><td>{{ r.models[0].by_category[cat].n }}</td>{% for m in r.models %}
<td>{{ '%.1f'|format(m.by_category[cat].value*100) if cat in m.by_category else '' }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}
{% for m in r.models %}{% if m.confusion %}<h3>混淆矩阵 Confusion matrix — {{ m.name }}</h3><table><tr><th>真实 \\ 预测</th>
{% for lab in m.confusion.labels %}<th>{{ lab }}</th>{% endfor %}<th>(无)</th></tr>{% for row in m.confusion.matrix %}
<tr><th>{{ m.confusion.labels[loop.index0] }}</th>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}{% endfor %}
<script>const fig = {{ figure | safe }}; Plotly.newPlot("scores", fig.data, fig.layout, {responsive: true});
{% if cost_figure %}const cost = {{ cost_figure | safe }}; Plotly.newPlot("cost", cost.data, cost.layout, {responsive: true});{% endif %}</script>
</body></html>"""

_ENV = Environment(autoescape=True)
_ENV.filters["p_value"] = format_p_value


def figure(result: RaceResult) -> dict[str, object]:
    """Plotly figure: every metric per model, with 95% intervals as error bars."""
    names = [m.name for m in result.models]
    data = []
    for metric in result.models[0].metrics if result.models else []:
        values = [m.metrics[metric] for m in result.models]
        data.append(
            {
                "type": "bar",
                "name": metric,
                "x": names,
                "y": [v.value * 100 for v in values],
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [(v.high - v.value) * 100 for v in values],
                    "arrayminus": [(v.value - v.low) * 100 for v in values],
                },
            }
        )
    layout = {
        "barmode": "group",
        "yaxis": {"title": "score (%)", "range": [0, 100]},
        "title": f"{result.task}: scores with 95% CI",
    }
    return {"data": data, "layout": layout}


def cost_figure(result: RaceResult) -> dict[str, object] | None:
    """Plotly figure: the primary metric against cost per 1,000 samples, the Pareto front
    (no model both better and cheaper) joined by a line; ``None`` when no model is priced."""
    points = {
        m.name: (m.metrics[result.primary].value, m.service.cost_per_1k)
        for m in result.models
        if m.service is not None and m.service.cost_per_1k is not None
    }
    if not points:
        return None
    front = sorted(pareto(points), key=lambda n: points[n][1])
    names = list(points)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": "models",
                "x": [points[n][1] for n in names],
                "y": [points[n][0] * 100 for n in names],
                "text": names,
                "textposition": "top center",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Pareto front",
                "x": [points[n][1] for n in front],
                "y": [points[n][0] * 100 for n in front],
            },
        ],
        "layout": {
            "xaxis": {"title": "cost per 1,000 samples (yuan)"},
            "yaxis": {"title": f"{result.primary} (%)"},
            "title": f"{result.task}: quality against cost",
        },
    }


PLOTLY_JS = Path(__file__).parent / "vendor" / "plotly-cartesian.min.js"
"""plotly.js's cartesian bundle (npm ``plotly.js-cartesian-dist-min``, MIT, see
``vendor/plotly.LICENSE.txt``): bar, scatter and heatmap traces, 1.5 MB against the full
bundle's 4.8 MB. The reports inline it; the web serves it as ``vendor/plotly-cartesian.min.js``."""


@cache
def plotly_js() -> str:
    return PLOTLY_JS.read_text("utf-8")


def render_report(result: RaceResult) -> str:
    """The whole report as one self-contained HTML page."""
    categories = sorted({c for m in result.models for c in m.by_category})
    metrics = list(result.models[0].metrics) if result.models else []
    fig = json.dumps(figure(result), ensure_ascii=False).replace("</", "<\\/")
    costs = cost_figure(result)
    return _ENV.from_string(_TEMPLATE).render(
        r=result,
        metrics=metrics,
        categories=categories,
        figure=fig,
        cost_figure=json.dumps(costs, ensure_ascii=False).replace("</", "<\\/") if costs else "",
        ms=ms,
        plotly_js=plotly_js(),
    )
