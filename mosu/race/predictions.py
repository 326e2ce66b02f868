"""Checking an uploaded predictions file against a stage's test ids."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class PredictionProblem:
    line: int
    message: str


def check_predictions(
    content: bytes, ids: list[str]
) -> tuple[dict[str, str], list[PredictionProblem]]:
    """Read a predictions file (JSON lines of ``id`` and ``prediction``) against the test ids.

    Every problem is reported with its line: bad JSON, missing fields, duplicate and unknown
    ids, and (line 0) ids that have no prediction.
    """
    problems: list[PredictionProblem] = []
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {}, [PredictionProblem(0, "文件不是 UTF-8 编码 / the file is not UTF-8")]
    known = set(ids)
    found: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(PredictionProblem(number, f"不是合法的 JSON / not JSON ({exc.msg})"))
            continue
        if not isinstance(record, dict) or "id" not in record or "prediction" not in record:
            problems.append(
                PredictionProblem(number, "每行需要 id 和 prediction / needs id and prediction")
            )
            continue
        sid, prediction = str(record["id"]), record["prediction"]
        if not isinstance(prediction, str | int | float):
            problems.append(PredictionProblem(number, "prediction 须为文本 / must be text"))
            continue
        if sid not in known:
            problems.append(PredictionProblem(number, f"未知 id {sid} / unknown id"))
        elif sid in found:
            problems.append(
                PredictionProblem(
                    number, f"重复 id {sid}（首次在第 {first_line[sid]} 行）/ duplicate id"
                )
            )
        else:
            found[sid] = str(prediction)
            first_line[sid] = number
    missing = [i for i in ids if i not in found]
    if missing:
        shown = "、".join(missing[:10]) + ("…" if len(missing) > 10 else "")
        problems.append(
            PredictionProblem(0, f"缺少 {len(missing)} 个 id 的预测：{shown} / missing ids")
        )
    return found, problems
