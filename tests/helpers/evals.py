"""Small builders shared by the engine's tests."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from mosu.evals.fakeserver import FakeConfig, image_key, prompt_key
from mosu.evals.images import decode_data_url
from mosu.evals.prompts import content_image_parts
from mosu.evals.tasks import Task, load_task


def toy_task_file(folder: Path, n: int = 300) -> Path:
    """A four-way classification task with ``n`` inline samples, written as YAML."""
    labels = ["甲", "乙", "丙", "丁"]
    rows = [
        {
            "id": i,
            "text": f"第{i}号样本，内容{i * 7 % 13}",
            "label": labels[i % 4],
            "group": f"g{i % 3}",
        }
        for i in range(n)
    ]
    task: dict[str, Any] = {
        "name": "toy",
        "splits": {
            "test": {
                "format": "inline",
                "rows": rows,
                "id_field": "id",
                "label_field": "label",
                "category_field": "group",
            },
            "train": {
                "format": "inline",
                "rows": rows[: n // 2],
                "id_field": "id",
                "label_field": "label",
            },
        },
        "train_split": "train",
        "labels": labels,
        "prompt": {"template": "请分类：{{ text }}"},
        "parser": "label",
        "scorers": ["accuracy", "macro_f1"],
    }
    path = folder / "toy.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    return path


def answer_config(task: Task, **options: Any) -> FakeConfig:
    """A fake-server config whose answer key is the task's gold labels: by prompt, or for a
    prompt with images by its last image (the question's)."""
    answers = {}
    for sample in task.samples():
        content = task.messages(sample)[-1]["content"]
        images = content_image_parts(content)
        if images:
            data = decode_data_url(images[-1]["image_url"]["url"])
            answers[image_key(hashlib.sha256(data).hexdigest())] = sample.label
        else:
            answers[prompt_key(content)] = sample.label
    return FakeConfig(answers=answers, choices=list(task.spec.labels or []), **options)


def toy_task(folder: Path, n: int = 300) -> Task:
    return load_task(toy_task_file(folder, n))
