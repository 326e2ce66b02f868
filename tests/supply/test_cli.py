"""``mosu supply report`` and ``mosu supply check`` on the demo community."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from mosu import migrate
from mosu.cli import app
from mosu.core.db import make_engine, make_sessionmaker, transaction
from mosu.demo.loader import load_community
from mosu.supply import cli as supply_cli
from tests.conftest import TEST_SECRET

runner = CliRunner()


def test_report_and_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supply_cli.console, "width", 200)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        load_community(session)
    env = {"MOSU_DATABASE_URL": url, "MOSU_SECRET_KEY": TEST_SECRET}
    out = tmp_path / "vouchers.xlsx"
    result = runner.invoke(app, ["supply", "report", "--xlsx", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "2025 年度算力券（演示）" in result.output
    assert "2,100,000.00" in result.output  # compute: 1,200,000 paid + 900,000 approved
    book = openpyxl.load_workbook(out)
    assert "台账" in book.sheetnames
    checked = runner.invoke(app, ["supply", "check"], env=env)
    assert checked.exit_code == 0 and "台账无误" in checked.output
    with engine.begin() as conn:
        conn.execute(text("UPDATE voucher_programmes SET committed_fen = committed_fen + 1"))
    broken = runner.invoke(app, ["supply", "check"], env=env)
    assert broken.exit_code == 1
    engine.dispose()
