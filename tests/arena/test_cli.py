"""``arena rank`` through Typer's runner on the arena's own app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from mosu.arena import rate, write_votes
from mosu.arena.cli import app
from tests.arena.helpers import arena

runner = CliRunner()


def test_rank_json(tmp_path: Path) -> None:
    battles = arena(6, 3_000, seed=1)
    path = tmp_path / "votes.jsonl"
    write_votes(battles, path)
    result = runner.invoke(
        app, ["rank", str(path), "--json", "--bootstrap", "40", "--seed", "3", "--elo"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    board = rate(battles, rounds=40, seed=3)
    by_model = {row["model"]: row for row in data["models"]}
    for i, model in enumerate(board.models):
        assert by_model[model]["rating"] == board.rating[i]
        assert by_model[model]["lower"] == board.lower[i]
        assert by_model[model]["upper"] == board.upper[i]
        assert by_model[model]["rank"] == board.ranks[i]
        assert "elo" in by_model[model]
    assert data["battles"] == 3_000


def test_rank_table_anchor_and_sandwich(tmp_path: Path) -> None:
    battles = arena(4, 2_000, seed=2)
    path = tmp_path / "votes.json"
    write_votes(battles, path, fmt="json")
    anchor = battles.models[2]
    result = runner.invoke(
        app,
        [
            "rank",
            str(path),
            "--interval",
            "sandwich",
            "--anchor",
            anchor,
            "--anchor-rating",
            "1200",
        ],
    )
    assert result.exit_code == 0, result.output
    assert anchor in result.stdout and "1200.0" in result.stdout
    assert "sandwich" in result.stdout


def test_rank_reads_stdin() -> None:
    text = "\n".join(
        json.dumps({"model_a": a, "model_b": b, "winner": w})
        for a, b, w in [("x", "y", "model_a"), ("y", "x", "tie"), ("y", "x", "model_b")]
    )
    result = runner.invoke(app, ["rank", "-", "--json", "--bootstrap", "0"], input=text)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["models"]
    assert [r["model"] for r in rows] == ["x", "y"]
    assert np.isclose(rows[0]["rating"] - rows[1]["rating"], 400 * np.log10(2.5 / 0.5))


def test_bad_votes_exit_1_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"model_a": "a", "model_b": "b", "winner": "tie"}\n{"model_a": "a"}\n')
    result = runner.invoke(app, ["rank", str(path)])
    assert result.exit_code == 1
    assert "line 2: missing field 'model_b'" in result.output
    result = runner.invoke(app, ["rank", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 1
    result = runner.invoke(app, ["rank", str(path), "--interval", "wild"])
    assert result.exit_code == 2


def test_errors_are_plain_and_unwrapped(tmp_path: Path) -> None:
    path = tmp_path / ("[red]votes-" + "x" * 90 + ".jsonl")
    path.write_text('{"model_a": "a", "model_b": "a", "winner": "tie"}\n')
    result = runner.invoke(app, ["rank", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) > 120
    assert lines[0].startswith(str(path)) and "[/red]" not in lines[0]
    assert "line 1: model 'a' battles itself" in lines[0]
    result = runner.invoke(app, ["rank", str(path), "--interval", "wild"])
    assert result.stderr.strip() == "unknown interval 'wild': use bootstrap, sandwich or none"


def test_rank_counts_anonymous_battles_unless_told(tmp_path: Path) -> None:
    rows = [("x", "y", "model_a", True), ("y", "x", "model_a", True), ("x", "y", "tie", False)]
    path = tmp_path / "lmarena.jsonl"
    path.write_text(
        "".join(
            json.dumps({"model_a": a, "model_b": b, "winner": w, "anony": anony}) + "\n"
            for a, b, w, anony in rows
        )
    )
    result = runner.invoke(app, ["rank", str(path), "--json", "--bootstrap", "0"])
    assert json.loads(result.stdout)["battles"] == 2
    assert "left out: 1 named (non-anonymous) battles" in result.stderr
    result = runner.invoke(app, ["rank", str(path), "--json", "--bootstrap", "0", "--all-battles"])
    assert json.loads(result.stdout)["battles"] == 3


def test_rank_table_shows_groups_and_insufficient_data(tmp_path: Path) -> None:
    rows = [("a", "b", "model_a"), ("b", "a", "model_a"), ("a", "c", "model_a")]
    rows += [("x", "y", "model_a"), ("y", "x", "tie")]
    path = tmp_path / "two.jsonl"
    path.write_text(
        "".join(json.dumps({"model_a": a, "model_b": b, "winner": w}) + "\n" for a, b, w in rows)
    )
    result = runner.invoke(app, ["rank", str(path), "--ridge", "0.1", "--bootstrap", "20"])
    assert result.exit_code == 0, result.output
    assert "2 groups of models never met" in result.stdout
    lines = [line for line in result.stdout.splitlines() if "│ c " in line]
    assert lines and "insufficient data" in lines[0], "c never won: its rating is the penalty's"
