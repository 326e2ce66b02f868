from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mosu.evals import run
from mosu.evals.errors import ModelSpecError, PredictionsError
from mosu.evals.models.openai_compat import OpenAIChatModel
from mosu.evals.models.specs import build_model, parse_model_option
from mosu.evals.tasks import load_task
from tests.helpers.evals import toy_task


def test_openai_spec_parses_limits_params_and_key() -> None:
    model = build_model(
        "openai:https://api.example.com/v1#abab6.5?concurrency=8&rpm=120&timeout=20&temperature=0.2&key_env=K",
        environ={"K": "sk-1"},
    )
    assert isinstance(model, OpenAIChatModel)
    assert (model.base_url, model.model) == ("https://api.example.com/v1", "abab6.5")
    assert (model.limits.concurrency, model.limits.rpm, model.limits.timeout) == (8, 120.0, 20.0)
    assert model.params == {"temperature": 0.2}
    assert "sk-1" not in model.identity
    stored = build_model("openai:http://h/v1#m?key_ref=vendor", secrets={"vendor": "sk-2"}.get)
    assert isinstance(stored, OpenAIChatModel)


def test_stored_key_that_is_missing_or_unreadable_is_explained() -> None:
    def sealed_with_another_key(ref: str) -> str:
        raise ValueError("credential cannot be decrypted with this secret key")

    with pytest.raises(ModelSpecError, match="no stored key named 'endpoint:9'"):
        build_model("openai:http://h/v1#m?key_ref=endpoint:9", secrets={}.get)
    with pytest.raises(ModelSpecError, match="cannot be read: credential cannot be decrypted"):
        build_model("openai:http://h/v1#m?key_ref=endpoint:1", secrets=sealed_with_another_key)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gpt4", "must look like KIND:"),
        ("magic:x", "unknown model kind 'magic'"),
        ("openai:http://h/v1", "needs 'openai:BASE_URL#MODEL'"),
        ("openai:http://h/v1#m?speed=9", "unknown option 'speed'"),
        ("openai:http://h/v1#m?concurrency=many", "not a valid number"),
        ("openai:http://h/v1#m?concurrency=0", "concurrency must be at least 1"),
        ("openai:http://h/v1#m?key_env=NOPE", "NOPE (key_env) is not set"),
        ("openai:http://h/v1#m?key_ref=endpoint:1", "no key store here (use key_env"),
        ("baseline:oracle", "unknown baseline 'oracle'"),
        ("python:nowhere.at.all:f", "python model 'nowhere.at.all:f'"),
        ("python:nowhere.at.all:f", "with PYTHONPATH=. or python -m mosu.evals.cli"),
        ("python:json", "expected 'package.module:function'"),
    ],
)
def test_bad_specs_are_explained(spec: str, message: str) -> None:
    with pytest.raises(ModelSpecError, match=re.escape(message)):
        build_model(spec, environ={})


def test_model_option_names() -> None:
    assert parse_model_option("fast=openai:http://h/v1#m") == ("fast", "openai:http://h/v1#m")
    assert parse_model_option("baseline:tfidf") == ("baseline:tfidf", "baseline:tfidf")


def test_python_callables(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 20)
    result = run(
        task,
        {
            "sync": "python:tests.evals.toy_model:echo",
            "async": "python:tests.evals.toy_model:first_label",
        },
        store=tmp_path / "r.sqlite",
    )
    scores = {m.name: m.metrics["accuracy"].value for m in result.models}
    assert scores == {"async": 0.25, "sync": 0.0}


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_predictions_file(tmp_path: Path) -> None:
    task = toy_task(tmp_path, 8)
    gold = [{"id": s.id, "prediction": s.label} for s in task.samples()]
    good = _write(tmp_path / "good.jsonl", gold)
    result = run(task, {"upload": f"predictions:{good}"}, store=tmp_path / "r.sqlite")
    assert result.models[0].metrics["accuracy"].value == 1.0
    for name, rows, message in [
        ("missing", gold[:-1], "missing ids: 7"),
        ("dup", [*gold, gold[0]], "duplicate ids: 0"),
        ("unknown", [*gold, {"id": "x9", "prediction": "甲"}], "unknown ids: x9"),
    ]:
        with pytest.raises(PredictionsError, match=message):
            run(
                task,
                {"upload": f"predictions:{_write(tmp_path / f'{name}.jsonl', rows)}"},
                store=tmp_path / f"{name}.sqlite",
            )
    with pytest.raises(PredictionsError, match="not found"):
        run(task, {"upload": f"predictions:{tmp_path / 'none.jsonl'}"}, store=tmp_path / "n.sqlite")


def test_baselines_learn_the_government_messages(shared_data: Path, tmp_path: Path) -> None:
    task = load_task("gov_messages", data_dir=shared_data)
    result = run(
        task,
        {"majority": "baseline:majority", "tfidf": "baseline:tfidf"},
        store=tmp_path / "r.sqlite",
    )
    scores = {m.name: m.metrics["accuracy"].value for m in result.models}
    ranks = {m.name: m.rank for m in result.models}
    train = task.samples("train")
    top = max({s.label for s in train}, key=[s.label for s in train].count)
    assert scores["majority"] == pytest.approx(
        sum(s.label == top for s in task.samples()) / len(task.samples())
    )
    assert scores["tfidf"] > 0.6
    assert ranks == {"tfidf": 1, "majority": 2}
