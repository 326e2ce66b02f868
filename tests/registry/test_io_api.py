"""Bulk import and export over real HTTP: who may, what comes back, how big a file may be."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.core.settings import Settings
from mosu.registry.models import Organisation
from tests.conftest import TEST_SECRET, LiveServer, World, client_for, credit_code
from tests.helpers.sheets import csv_bytes, org_row

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The shared settings with a 1 MiB upload limit, so that "too large" is cheap to test."""
    return Settings.from_env(
        {"MOSU_MAX_UPLOAD_MB": "1"},
        database_url=database_url,
        secret_key=TEST_SECRET,
        data_dir=tmp_path / "data",
    )


def org_total(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Organisation)) or 0


def upload(content: bytes, name: str = "orgs.csv") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, content, "text/csv")}


def test_import_and_export_need_an_operator(live: LiveServer, world: World, db: Session) -> None:
    before = org_total(db)
    content = csv_bytes([org_row(10)])
    for who, status in ((None, 401), ("supplier_a", 403), ("demand", 403), ("expert", 403)):
        with client_for(live, world, who) as client:
            assert client.post("/import/orgs", files=upload(content)).status_code == status
            assert client.get("/export/orgs.csv").status_code == status
            assert client.get("/export/models.xlsx").status_code == status
    assert org_total(db) == before


def test_operator_imports_a_gbk_csv(live: LiveServer, world: World, db: Session) -> None:
    before = org_total(db)
    content = csv_bytes([org_row(10, "上海稀宇极智科技有限公司"), org_row(11)], "gbk")
    with client_for(live, world, "operator") as client:
        response = client.post("/import/orgs", files=upload(content, "名录.csv"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["committed"] and body["ok"] and body["written"] == 2
        assert body["encoding"] == "gb18030" and body["filename"] == "名录.csv"
        found = client.get("/orgs", params={"q": "稀宇"}).json()
        assert [o["name_zh"] for o in found["items"]] == ["上海稀宇极智科技有限公司"]
    assert org_total(db) == before + 2


def test_invalid_import_is_422_with_the_report(live: LiveServer, world: World, db: Session) -> None:
    before = org_total(db)
    rows = [org_row(10), org_row(11, 梯队="超新星"), org_row(12, "甲智能科技有限公司")]
    with client_for(live, world, "operator") as client:
        response = client.post("/import/orgs", files=upload(csv_bytes(rows)))
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "registry.import_invalid"
        report = error["details"]
        assert report["written"] == 0 and not report["committed"]
        assert [(p["row"], p["column"]) for p in report["problems"]] == [(3, "梯队"), (4, "名称")]
        assert org_total(db) == before

        response = client.post(
            "/import/orgs", files=upload(csv_bytes(rows)), data={"drop_invalid": "true"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["dropped_rows"] == [3, 4]
        assert org_total(db) == before + 1


def test_models_import_with_query_flag_and_sheet(live: LiveServer, world: World) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.create_sheet("模型")
    sheet.append(["所属组织", "模型名称", "模态"])
    sheet.append(["甲智能科技有限公司", "Chat", "文本"])
    sheet.append(["无此公司", "Lost", "文本"])
    out = io.BytesIO()
    workbook.save(out)
    files = {"file": ("models.xlsx", out.getvalue(), XLSX)}
    with client_for(live, world, "operator") as client:
        response = client.post(
            "/import/models", files=files, params={"drop_invalid": True, "sheet": "模型"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["written"] == 1 and response.json()["dropped_rows"] == [3]
        models = client.get("/models", params={"organisation_id": world.org_a}).json()
        assert [m["name"] for m in models["items"]] == ["Chat"]


def test_bad_requests(live: LiveServer, world: World) -> None:
    with client_for(live, world, "operator") as client:
        response = client.post("/import/orgs", data={"x": "1"})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "registry.upload_multipart"
        response = client.post("/import/people", files=upload(b"a,b\n"))
        assert response.status_code == 422
        response = client.post("/import/orgs", files=upload(b"PK\x03\x04broken", "x.xlsx"))
        assert response.status_code == 422
        problem = response.json()["error"]["details"]["problems"][0]
        assert problem["row"] == 0 and "xlsx" in problem["reason"]
        assert client.get("/export/orgs.pdf").status_code == 422


def test_oversized_upload_is_413(live: LiveServer, world: World, db: Session) -> None:
    before = org_total(db)
    big = csv_bytes([org_row(10)]) + b"#" * (1024 * 1024 + 10)
    with client_for(live, world, "operator") as client:
        response = client.post("/import/orgs", files=upload(big))
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "uploads.too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
            boundary = b"--b0undary\r\n"
            yield (
                boundary + b'Content-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
            )
            for _ in range(20):
                yield b"#" * 65536
            yield b"\r\n--b0undary--\r\n"

        response = client.post(
            "/import/orgs",
            content=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
        )
        assert response.status_code == 413
    assert org_total(db) == before


def test_export_downloads(live: LiveServer, world: World) -> None:
    with client_for(live, world, "operator") as client:
        response = client.get("/export/orgs.csv")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        assert response.headers["content-disposition"].endswith('.csv"')
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["名称", "英文名称", "统一社会信用代码"]
        assert {r[2] for r in rows[1:]} == {credit_code(1), credit_code(2), credit_code(3)}
        assert "联系人1" in {r[10] for r in rows[1:]}

        response = client.get("/export/models.xlsx")
        assert response.status_code == 200
        assert response.headers["content-type"] == XLSX
        ws = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
        assert ws["A1"].value == "所属组织"
