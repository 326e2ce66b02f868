"""The command line against a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from mosu import migrate
from mosu.accounts.models import ApiToken, User
from mosu.accounts.security import token_digest
from mosu.challenges.models import Challenge, ChallengeState
from mosu.cli import app
from mosu.core.db import make_engine, make_sessionmaker
from mosu.demo.loader import COMMUNITY
from mosu.jobs.models import RunResult
from mosu.registry.models import Filing, FilingKind, Model, Organisation, Tier
from tests.conftest import TEST_SECRET

runner = CliRunner()


def _env(tmp_path: Path) -> dict[str, str]:
    return {"MOSU_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "MOSU_SECRET_KEY": TEST_SECRET}


def test_db_upgrade_user_and_token(tmp_path: Path) -> None:
    env = _env(tmp_path)
    result = runner.invoke(app, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    engine = make_engine(env["MOSU_DATABASE_URL"])
    assert migrate.current_revision(engine) == migrate.head_revision()

    result = runner.invoke(
        app, ["user", "create", "admin", "--role", "operator", "--password", "s3cret-pass"], env=env
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["token", "create", "admin", "--name", "laptop"], env=env)
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("mosu_")
    with make_sessionmaker(engine)() as session:
        user = session.scalar(select(User).where(User.username == "admin"))
        assert user is not None and "s3cret-pass" not in user.password_hash
        row = session.scalar(select(ApiToken))
        assert row is not None and row.token_hash == token_digest(token)


def test_settings_errors_are_reported_not_raised(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"], env={**_env(tmp_path), "MOSU_SECRET_KEY": ""})
    assert result.exit_code == 2
    assert "MOSU_SECRET_KEY" in result.output


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve"], env=_env(tmp_path))
    assert result.exit_code == 1
    assert "mosu db upgrade" in result.output


def test_user_create_rejects_unknown_organisation(tmp_path: Path) -> None:
    env = _env(tmp_path)
    runner.invoke(app, ["db", "upgrade"], env=env)
    result = runner.invoke(
        app,
        [
            "user",
            "create",
            "sup",
            "--role",
            "supplier",
            "--org",
            "不存在的公司",
            "--password",
            "x" * 10,
        ],
        env=env,
    )
    assert result.exit_code == 1
    assert "不存在" in result.output


@pytest.mark.slow
def test_demo_loads_the_community(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["demo", "--no-serve"], env={"MOSU_PORT": "8123"})
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123" in result.output
    assert "operator" in result.output
    assert "覆盖 cov." in result.output and "¥/1k" in result.output  # the board's service figures
    data = json.loads(COMMUNITY.read_text(encoding="utf-8"))
    assert "fictional" in data["notice"]["en"].lower()
    engine = make_engine(f"sqlite:///{tmp_path / 'mosu-demo.db'}")
    with make_sessionmaker(engine)() as session:
        orgs = session.scalars(select(Organisation)).all()
        assert len(orgs) >= 30
        assert {o.tier for o in orgs} == set(Tier)
        assert {layer for o in orgs for layer in o.layers} >= {
            "compute",
            "corpus",
            "model",
            "application",
            "service",
        }
        assert len(session.scalars(select(Model)).all()) >= 40
        kinds = {f.kind for f in session.scalars(select(Filing))}
        assert kinds == {FilingKind.beian, FilingKind.dengji}
        challenges = session.scalars(select(Challenge).order_by(Challenge.id)).all()
        assert [c.state for c in challenges] == [
            ChallengeState.delivery,
            ChallengeState.open,
            ChallengeState.decided,  # the vision race on the drawn part photos
        ]
        finished, vision = challenges[0], challenges[2]
        runs = session.scalars(select(RunResult.run).distinct()).all()
    assert f"http://127.0.0.1:8123/challenges/{finished.id}" in result.output
    assert f"http://127.0.0.1:8123/challenges/{vision.id}/race" in result.output
    assert "supplier3" in result.output  # the challenge story's own logins are listed
    # the races' per-sample outcomes sit in the demo's database, one run per submission:
    # the text race's 8 and the vision race's 2
    assert len(runs) == 10 and all(run.startswith("submission-") for run in runs)
    assert not list((tmp_path / "mosu-demo-data").rglob("submission-*.sqlite"))
    # running it again rebuilds rather than failing on duplicates
    again = runner.invoke(app, ["demo", "--no-serve"], env={})
    assert again.exit_code == 0, again.output


def test_import_reports_bad_rows_and_export_round_trips(tmp_path: Path) -> None:
    from tests.conftest import credit_code

    env = _env(tmp_path)
    runner.invoke(app, ["db", "upgrade"], env=env)
    good = f"徐汇测试智能科技有限公司,{credit_code(7)},群星,模型、应用"
    bad = "坏代码公司,913101040000000000,北斗七星,模型"
    csv_file = tmp_path / "orgs.csv"
    csv_file.write_bytes(f"名称,统一社会信用代码,梯队,产业链层级\n{good}\n{bad}\n".encode("gbk"))

    result = runner.invoke(app, ["import", "orgs", str(csv_file)], env=env)
    assert result.exit_code == 1
    assert "gb18030" in result.output and "3" in result.output and "校验位" in result.output

    result = runner.invoke(app, ["import", "orgs", str(csv_file), "--drop-invalid"], env=env)
    assert result.exit_code == 0, result.output

    out = tmp_path / "orgs.xlsx"
    result = runner.invoke(app, ["export", "orgs", str(out)], env=env)
    assert result.exit_code == 0, result.output
    import openpyxl

    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["徐汇测试智能科技有限公司"]
