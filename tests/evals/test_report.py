from __future__ import annotations

from pathlib import Path

from mosu.evals import run
from mosu.evals.report import figure, render_report
from tests.helpers.evals import toy_task


def test_report_escapes_model_names_and_inlines_plotly(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 12)
    result = run(
        task, {"<script>alert(1)</script>": "baseline:majority"}, store=tmp_path / "r.sqlite"
    )
    html = render_report(result)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script src" not in html  # plotly.js is inlined, nothing is fetched
    assert len(html.encode()) < 2_000_000  # the cartesian bundle (1.5 MB), not the full 4.8 MB
    fig = figure(result)
    assert fig["data"][0]["name"] == "accuracy"  # type: ignore[index]


def test_a_p_value_below_one_over_b_is_printed_as_a_bound(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 200)
    models = {"echo": "python:tests.evals.toy_model:echo", "maj": "baseline:majority"}
    result = run(task, models, store=tmp_path / "r.sqlite", replicates=1000)
    assert result.comparisons[0].p_value == 0.0  # the JSON keeps the number
    html = render_report(result)
    assert "<td>&lt; 0.001</td>" in html
    assert "<td>0.000</td>" not in html
