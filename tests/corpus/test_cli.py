"""``mosu data import`` and ``mosu data list`` against a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from mosu.cli import app
from mosu.core.db import make_engine, make_sessionmaker
from mosu.corpus.models import DatasetVersion
from mosu.demo.loader import HOTLINE
from tests.conftest import TEST_SECRET

runner = CliRunner()


def test_import_reimport_flawed_and_list(tmp_path: Path) -> None:
    env = {"MOSU_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "MOSU_SECRET_KEY": TEST_SECRET}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    args = ["data", "import", "热线演示", str(HOTLINE), "--label-field", "受理部门"]
    args += ["--input-field", "标题", "--input-field", "内容", "--licence", "CC0 1.0"]
    first = runner.invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    assert "new version v1" in first.output and "utf-8" in first.output
    again = runner.invoke(app, args, env=env)
    assert again.exit_code == 0 and "existing version v1" in again.output

    train = tmp_path / "train.jsonl"
    test = tmp_path / "test.jsonl"
    train.write_text(json.dumps({"id": 1, "text": "训练文本", "label": "甲"}, ensure_ascii=False))
    test.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in (
                {"id": 7, "text": "测试一", "label": "甲"},
                {"id": 7, "text": "测试二", "label": "乙"},
            )
        )
    )
    flawed = runner.invoke(
        app, ["data", "import", "分文件", f"train={train}", f"test={test}"], env=env
    )
    assert flawed.exit_code == 1
    assert "conflicting_label" in flawed.output and "nothing was written" in flawed.output
    kept = runner.invoke(
        app,
        ["data", "import", "分文件", f"train={train}", f"test={test}", "--flagged", "keep"],
        env=env,
    )
    assert kept.exit_code == 0, kept.output
    listing = runner.invoke(app, ["data", "list"], env=env)
    assert listing.exit_code == 0 and "热线演示" in listing.output and "test 1" in listing.output
    engine = make_engine(env["MOSU_DATABASE_URL"])
    with make_sessionmaker(engine)() as session:
        versions = session.scalars(select(DatasetVersion).order_by(DatasetVersion.id)).all()
        assert [v.row_count for v in versions] == [150, 3]
        assert versions[1].stats["rows"] == {"train": 1, "test": 2}
    engine.dispose()
