"""A seeded ``limit`` reads the file in two passes and makes samples of the drawn rows only,
choosing exactly what sampling the whole population chooses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mosu.evals import loaders
from mosu.evals.loaders import load_samples, stratified_sample
from mosu.evals.tasks import DataSpec, load_task


def write_rows(path: Path, n: int, *, repeat: int | None = None) -> Path:
    """``n`` rows over three unequal labels, a blank line after every 100th; ``repeat``
    gives row ``repeat + 1`` the id of row ``repeat``."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            label = "甲" if i % 7 < 4 else ("乙" if i % 7 < 6 else "丙")
            sid = repeat if repeat is not None and i == repeat + 1 else i
            out.write(json.dumps({"id": sid, "q": f"问题{i}", "y": label}, ensure_ascii=False))
            out.write("\n" if i % 100 != 99 else "\n\n")
    return path


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many samples the loader has built."""
    count = [0]
    plain = loaders._sample

    def counting(*args: Any) -> loaders.Sample:
        count[0] += 1
        return plain(*args)

    monkeypatch.setattr(loaders, "_sample", counting)
    return count


@pytest.mark.parametrize("select", [None, (0.0, 0.6)])
def test_a_limit_draws_what_the_whole_population_draws(
    tmp_path: Path, built: list[int], select: tuple[float, float] | None
) -> None:
    path = write_rows(tmp_path / "data.jsonl", 700)
    spec = DataSpec(format="jsonl", path=str(path), id_field="id", label_field="y", select=select)
    population = load_samples(spec)
    built[0] = 0
    for limit, seed in ((50, 0), (50, 3), (2, 1), (699, 2)):
        limited = spec.model_copy(update={"limit": limit, "limit_seed": seed})
        assert load_samples(limited) == stratified_sample(population, limit, seed)
    assert built[0] == 50 + 50 + 2 + min(699, len(population))  # only the drawn rows


def test_a_csv_limit_streams_too(tmp_path: Path, built: list[int]) -> None:
    path = tmp_path / "data.csv"
    path.write_text("id,q,y\n" + "".join(f"{i},问{i},{'AB'[i % 3 == 0]}\n" for i in range(90)))
    spec = DataSpec(format="csv", path=str(path), id_field="id", label_field="y")
    population = load_samples(spec)
    built[0] = 0
    assert load_samples(spec.model_copy(update={"limit": 10})) == stratified_sample(
        population, 10, 0
    )
    assert built[0] == 10


def test_repeated_ids_under_a_limit_are_named_or_dropped_as_without(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "data.jsonl", 60, repeat=10)
    spec = DataSpec(format="jsonl", path=str(path), id_field="id", label_field="y", limit=20)
    with pytest.raises(loaders.DataError, match="id 10 repeated at row 12"):
        load_samples(spec)
    keep = spec.model_copy(update={"duplicates": "keep_first"})
    population = load_samples(keep.model_copy(update={"limit": None}))
    assert load_samples(keep) == stratified_sample(population, 20, 0)
    assert next(s for s in population if s.id == "10").warnings


def test_a_task_with_a_limit_never_reads_its_population(tmp_path: Path, built: list[int]) -> None:
    write_rows(tmp_path / "data.jsonl", 400)
    task_file = tmp_path / "task.yaml"
    task_file.write_text(
        "name: t\nsplits:\n  test: {format: jsonl, path: data.jsonl, id_field: id, "
        "label_field: y, input_fields: [q], limit: 30}\n"
        "prompt: {template: '{{ q }}'}\nscorers: [accuracy]\n",
        encoding="utf-8",
    )
    task = load_task(task_file, data_dir=tmp_path)
    assert len(task.samples()) == 30 and built[0] == 30
