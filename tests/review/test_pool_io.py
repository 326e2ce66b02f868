"""The expert pool's import and export over real HTTP: a good file, bad rows reported with
nothing written, export → import round trip, and files too large or hostile."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.accounts.models import User
from mosu.core.settings import Settings
from mosu.permissions import Role
from mosu.review.models import ExpertConflict, ExpertProfile
from tests.conftest import TEST_SECRET, LiveServer, World, client_for, credit_code
from tests.helpers.sheets import csv_bytes, sheet_xml, text_of, xlsx
from tests.helpers.signin import browser, sign_in

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """A 1 MiB upload limit, so that "too large" is cheap to test."""
    return Settings.from_env(
        {"MOSU_MAX_UPLOAD_MB": "1"},
        database_url=database_url,
        secret_key=TEST_SECRET,
        data_dir=tmp_path / "data",
    )


def expert_row(username: str, **cells: object) -> dict[str, object]:
    row: dict[str, object] = {
        "用户名": username,
        "姓名": f"专家{username}",
        "职称": "研究员",
        "专业领域": "政务；自然语言处理",
        "任职单位": "",
        "利益冲突单位": "",
        "在库": "是",
    }
    row.update(cells)
    return row


def upload(content: bytes, name: str = "experts.csv") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, content, "text/csv")}


def listing(client: httpx.Client) -> list[dict[str, object]]:
    return [
        {k: v for k, v in e.items() if k != "has_profile"} for e in client.get("/experts").json()
    ]


def counts(db: Session) -> tuple[int, int, int]:
    db.expire_all()
    experts = db.scalar(select(func.count()).select_from(User).where(User.role == Role.expert))
    profiles = db.scalar(select(func.count()).select_from(ExpertProfile))
    conflicts = db.scalar(select(func.count()).select_from(ExpertConflict))
    return experts or 0, profiles or 0, conflicts or 0


def test_a_good_file_creates_and_updates_experts(
    live: LiveServer, world: World, db: Session
) -> None:
    rows = [
        expert_row("liwenlan", 任职单位=credit_code(1), 利益冲突单位="乙大模型有限公司"),
        # the walked world's expert: updated, not created; fields split on any separator
        expert_row("expert", 专业领域="政务, 模型评测、数据治理", 在库="否", 任职单位="丙区政务服务中心"),
    ]  # fmt: skip
    with client_for(live, world, "operator") as client:
        response = client.post("/experts/import", files=upload(csv_bytes(rows, "gbk")))
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["ok"] and report["created"] == 1 and report["updated"] == 1
        assert report["created_usernames"] == ["liwenlan"] and report["encoding"] == "gb18030"
        listed = {e["username"]: e for e in client.get("/experts").json()}
    new = listed["liwenlan"]
    assert new["display_name"] == "专家liwenlan" and new["fields"] == ["政务", "自然语言处理"]
    assert new["affiliation_id"] == world.org_a and new["in_pool"]
    assert [c["organisation_id"] for c in new["conflicts"]] == [world.org_b]
    old = listed["expert"]
    assert old["fields"] == ["政务", "模型评测", "数据治理"] and not old["in_pool"]
    assert old["affiliation"] == "丙区政务服务中心"
    user = db.scalar(select(User).where(User.username == "liwenlan"))
    assert user is not None and not user.password_hash.startswith("$argon2")
    with browser(live) as client:  # no password opens the new account, not even its "hash"
        for password in ("", user.password_hash, "pw-expert-123"):
            assert sign_in(client, "liwenlan", password).status_code != 303


def test_bad_rows_are_reported_and_nothing_is_written(
    live: LiveServer, world: World, db: Session
) -> None:
    before = counts(db)
    rows = [
        expert_row("good-one"),
        expert_row("supplier_a"),  # a supplier, not an expert
        expert_row("x"),  # too short a username
        expert_row("good-two", 任职单位="不存在的单位"),
        expert_row("good-one"),  # the same username again
        expert_row("good-three", 利益冲突单位="甲智能科技有限公司；查无此单位", 在库="也许"),
    ]
    with client_for(live, world, "operator") as client:
        response = client.post("/experts/import", files=upload(csv_bytes(rows)))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "registry.import_invalid"
    problems = [(p["row"], p["column"]) for p in error["details"]["problems"]]
    assert problems == [
        (3, "用户名"),
        (4, "用户名"),
        (5, "任职单位"),
        (6, "用户名"),
        (7, "在库"),
        (7, "利益冲突单位"),
    ]
    reasons = {p["row"]: p["reason"] for p in error["details"]["problems"]}
    assert "不是专家" in reasons[3] and "第 2 行重复" in reasons[6]
    assert "查无此单位" in [p for p in error["details"]["problems"] if p["row"] == 7][1]["reason"]
    assert counts(db) == before


def test_export_imports_again_as_it_is(live: LiveServer, world: World, db: Session) -> None:
    rows = [
        expert_row("zhouyh", 任职单位="甲智能科技有限公司", 利益冲突单位="乙大模型有限公司；丙区政务服务中心"),
        expert_row("chensy", 专业领域="", 在库="否"),
        expert_row("formula", 姓名="=HYPERLINK(\"http://x\")", 职称="+1"),
    ]  # fmt: skip
    with client_for(live, world, "operator") as client:
        assert client.post("/experts/import", files=upload(csv_bytes(rows))).status_code == 200
        before = client.get("/experts").json()
        listing_before = listing(client)
        for fmt in ("csv", "xlsx"):
            response = client.get("/experts/export", params={"format": fmt})
            assert response.status_code == 200
            assert response.headers["content-disposition"].endswith(f'.{fmt}"')
            if fmt == "xlsx":
                assert response.headers["content-type"] == XLSX
                sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
                assert [c.value for c in sheet[1]] == list(expert_row("x"))
                assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
            else:
                table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
                assert table[0] == list(expert_row("x"))
                assert '\'=HYPERLINK("http://x")' in {r[1] for r in table}
            again = client.post("/experts/import", files=upload(response.content, f"export.{fmt}"))
            assert again.status_code == 200, again.text
            assert again.json()["created"] == 0
            # an expert without a profile comes back with one, out of the pool: the same
            assert listing(client) == listing_before
    found = {e["username"]: e for e in before}
    assert found["formula"]["display_name"] == '=HYPERLINK("http://x")'
    assert len(found["zhouyh"]["conflicts"]) == 2 and not found["chensy"]["in_pool"]


def test_files_too_large_or_hostile_are_refused(
    live: LiveServer, world: World, db: Session
) -> None:
    before = counts(db)
    with client_for(live, world, "operator") as client:
        big = csv_bytes([expert_row("bigfile")]) + b"#" * (1024 * 1024 + 10)
        response = client.post("/experts/import", files=upload(big))
        assert (
            response.status_code == 413 and response.json()["error"]["code"] == "uploads.too_large"
        )
        # a small xlsx that unpacks past the limit (a zip bomb): refused, nothing written
        cell = itertools.chain(
            [b"<row r='1'><c r='A1' t='inlineStr'><is>"],
            text_of(6 * 1024 * 1024),
            [b"</is></c></row>"],
        )
        bomb = xlsx([["用户名"], ["bomb1"]], replace={"xl/worksheets/sheet1.xml": sheet_xml(cell)})
        assert len(bomb) < 1024 * 1024
        response = client.post("/experts/import", files=upload(bomb, "bomb.xlsx"))
        assert response.status_code == 422
        problem = response.json()["error"]["details"]["problems"][0]
        assert problem["row"] == 0
        response = client.post("/experts/import", files=upload(b"PK\x03\x04broken", "x.xlsx"))
        assert response.status_code == 422
        response = client.post("/experts/import", files=upload(b"\xff\xfe\x00garbage"))
        assert response.status_code == 422
        response = client.post("/experts/import", files=upload("姓名\n张三\n".encode()))
        problem = response.json()["error"]["details"]["problems"][0]
        assert problem["reason"] == "缺少必填列“用户名”"
    for who, status in ((None, 401), ("expert", 403), ("supplier_a", 403)):
        with client_for(live, world, who) as client:
            files = upload(csv_bytes([expert_row("sneaky")]))
            assert client.post("/experts/import", files=files).status_code == status
            assert client.get("/experts/export").status_code == status
    assert counts(db) == before
