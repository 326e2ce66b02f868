"""Ecosystem charts: plotly figures built on the server, drawn by plotly.js in the page."""

from __future__ import annotations

import enum
import json
import math
from functools import lru_cache, partial
from typing import Any

import plotly.graph_objects as go
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from mosu import i18n
from mosu.challenges.models import ChallengeState
from mosu.core.money import fmt_yuan
from mosu.desk.community import Community
from mosu.registry.models import FilingKind, Layer, Modality, Tier
from mosu.registry.schemas import CountRow, Overview
from mosu.web import formats

FONT = (
    'system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", '
    '"WenQuanYi Micro Hei", sans-serif'
)
MONTH_BAR_MS = 20 * 24 * 3600 * 1000
COLOURS = ("#2563eb", "#0d9488", "#f59e0b", "#db2777", "#7c3aed", "#64748b")


def layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "font": {"family": FONT, "size": 12, "color": "#1f2937"},
        "margin": {"l": 40, "r": 16, "t": 44, "b": 40},
        "height": 300,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "showlegend": False,
        **extra,
    }


def _integer_step(maximum: int, ticks: int = 5) -> int:
    """A whole-number tick step giving about ``ticks`` ticks up to ``maximum``."""
    return max(1, math.ceil(maximum / ticks))


def figure_dict(figure: go.Figure) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(figure.to_json())
    return {"data": data["data"], "layout": data["layout"]}


def _counts_bar(
    rows: list[CountRow], cls: type[enum.Enum], title: str, lang: i18n.Language, link: str
) -> dict[str, Any]:
    """A bar per member of ``cls``; a click on a bar opens ``link`` with its key (mosu.js
    follows a point's ``customdata`` when it is a path on this site)."""
    labels = [i18n.label(cls(r.key), lang) for r in rows]
    counts = [r.count for r in rows]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=counts,
            customdata=[link.format(r.key) for r in rows],
            text=counts,
            textposition="outside",
            textangle=0,
            cliponaxis=False,
            marker={"color": list(COLOURS[: len(rows)])},
            hovertemplate="%{x}: %{y}<extra></extra>",
        ),
        layout=layout(title, yaxis={"rangemode": "tozero", "gridcolor": "#e5e7eb"}),
    )
    return figure_dict(figure)


def filings_timeline(overview: Overview, lang: i18n.Language) -> dict[str, Any]:
    """Monthly 备案 and 登记 bars, stacked, with the cumulative count as a line."""
    rows = overview.filings_by_month
    months = [f"{m.month}-01" for m in rows]
    monthly_max = max((m.beian + m.dengji for m in rows), default=0)
    cumulative_max = max((m.cumulative for m in rows), default=0)
    t = partial(i18n.gettext, lang)
    figure = go.Figure(
        layout=layout(
            t("备案登记趋势"),
            barmode="stack",
            showlegend=True,
            legend={"orientation": "h", "y": -0.18, "traceorder": "normal"},
            margin={"l": 48, "r": 56, "t": 44, "b": 40},
            xaxis={"type": "date", "tickformat": "%Y-%m", "hoverformat": "%Y-%m"},
            yaxis={
                "title": {"text": t("数量")},
                "rangemode": "tozero",
                "gridcolor": "#e5e7eb",
                "dtick": _integer_step(monthly_max),
            },
            yaxis2={
                "title": {"text": t("累计")},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "showgrid": False,
                "dtick": _integer_step(cumulative_max),
            },
        )
    )
    for kind, colour in ((FilingKind.beian, COLOURS[0]), (FilingKind.dengji, COLOURS[1])):
        figure.add_trace(
            go.Bar(
                x=months,
                y=[getattr(m, kind.value) for m in rows],
                name=i18n.label(kind, lang),
                marker={"color": colour},
                width=MONTH_BAR_MS,
            )
        )
    figure.add_trace(
        go.Scatter(
            x=months,
            y=[m.cumulative for m in rows],
            name=t("累计"),
            mode="lines+markers",
            yaxis="y2",
            line={"color": COLOURS[2], "width": 2},
        )
    )
    return figure_dict(figure)


def overview_charts(overview: Overview, lang: i18n.Language) -> dict[str, Markup]:
    """Every chart of the overview page, by element id, as the JSON the page embeds.

    Cached by the overview's content: plotly spends tens of milliseconds building these
    figures, and the figures change only when the registry does; they are kept serialised,
    since writing their JSON cost a third of the page."""
    return _overview_charts(overview.model_dump_json(), lang)


@lru_cache(maxsize=64)
def _overview_charts(content: str, lang: i18n.Language) -> dict[str, Markup]:
    overview = Overview.model_validate_json(content)
    t = partial(i18n.gettext, lang)
    charts = {
        "chart-tier": _counts_bar(overview.by_tier, Tier, t("按梯队"), lang, "/orgs?tier={}"),
        "chart-layer": _counts_bar(
            overview.by_layer, Layer, t("按产业链层级"), lang, "/orgs?layer={}"
        ),
        "chart-modality": _counts_bar(
            overview.by_modality, Modality, t("按模态"), lang, "/models?modality={}"
        ),
    }
    if overview.filings_by_month:
        charts["chart-filings"] = filings_timeline(overview, lang)
    # what the templates' ``tojson`` filter writes: HTML-safe, keys sorted
    return {key: htmlsafe_json_dumps(figure, sort_keys=True) for key, figure in charts.items()}


def community_charts(figures: Community, lang: i18n.Language) -> dict[str, Markup]:
    """The overview's community charts: challenges by state, and the vouchers committed and
    paid by kind (in 万元 in Chinese, the exact yuan on hover); each bar opens its list."""
    t = partial(i18n.gettext, lang)
    states = [CountRow(key=s.state.value, count=s.count) for s in figures.challenges]
    charts = {
        "chart-challenges": _counts_bar(
            states, ChallengeState, t("榜单（按状态）"), lang, "/challenges?state={}"
        )
    }
    if figures.committed_fen or figures.paid_fen:
        charts["chart-vouchers"] = _vouchers_bar(figures, lang)
    return {key: htmlsafe_json_dumps(figure, sort_keys=True) for key, figure in charts.items()}


def _vouchers_bar(figures: Community, lang: i18n.Language) -> dict[str, Any]:
    t = partial(i18n.gettext, lang)
    series = {
        t("已承诺"): [v.committed_fen for v in figures.vouchers],
        t("已兑付"): [v.paid_fen for v in figures.vouchers],
    }
    yuan = [f / 100 for amounts in series.values() for f in amounts]
    shown, in_wan = formats.money_axis(yuan, lang)  # the axis in 万元 as the supply report's
    figure = go.Figure(
        layout=layout(
            t("补贴券：已承诺与已兑付"),
            barmode="group",
            showlegend=True,
            legend={"orientation": "h", "y": -0.18},
            yaxis={
                "title": {"text": t("万元") if in_wan else t("元")},
                "rangemode": "tozero",
                "gridcolor": "#e5e7eb",
            },
        )
    )
    n = len(figures.vouchers)
    for i, (name, amounts) in enumerate(series.items()):
        figure.add_trace(
            go.Bar(
                x=[i18n.label(v.kind, lang) for v in figures.vouchers],
                y=shown[i * n : (i + 1) * n],
                name=name,
                customdata=[v.link for v in figures.vouchers],
                hovertext=[f"{name} ¥{fmt_yuan(f)}" for f in amounts],
                hoverinfo="text",
                marker={"color": COLOURS[i]},
            )
        )
    return figure_dict(figure)
