"""The corpus API over real HTTP: imports (encodings, reports, re-imports), who may read
the hidden split, and formula-safe downloads."""

from __future__ import annotations

import codecs
import io
import json

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from tests.conftest import LiveServer, World, client_for

IDENTITIES = ("public", "supplier_a", "supplier_b", "demand", "expert", "operator")
ROWS = [
    {
        "id": "a1",
        "text": '=HYPERLINK("http://evil.example","点我")',
        "label": "甲",
        "split": "train",
    },
    {"id": "a2", "text": "+1 开头的普通训练文本", "label": "乙", "split": "train"},
    {"id": "a3", "text": "验证集里的一条公开文本", "label": "甲", "split": "dev"},
    {"id": "a4", "text": "隐藏测试集的秘密题目文本一", "label": "乙", "split": "test"},
]


def make_dataset(client: httpx.Client, name: str = "甲的热线语料") -> int:
    answer = client.post("/corpus/datasets", json={"name": name, "licence": "CC BY-NC-SA 4.0"})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def upload(
    client: httpx.Client, dataset_id: int, files: dict[str, tuple[str, bytes]], **data: str
) -> httpx.Response:
    return client.post(f"/corpus/datasets/{dataset_id}/versions", files=files, data=data)


def test_gbk_csv_import_reimport_and_flawed_upload(live: LiveServer, world: World) -> None:
    with client_for(live, world, "supplier_a") as client:
        dataset_id = make_dataset(client)
        content = (
            "id,text,label\n1,市民反映路灯不亮,城乡建设\n2,咨询社保缴费,劳动和社会保障\n".encode(
                "gbk"
            )
        )
        first = upload(client, dataset_id, {"file": ("热线.csv", content)})
        assert first.status_code == 201, first.text
        report = first.json()
        assert report["encodings"] == {"热线.csv": "gb18030"} and report["version"] == 1
        again = upload(client, dataset_id, {"file": ("again.csv", content)})
        assert (
            again.status_code == 200 and again.json()["existing"] and again.json()["version"] == 1
        )
        flawed = "id,text,label\n1,甲,城乡建设\n1,乙,教育文体\n2,,教育文体\n3,好,交通\n".encode(
            "gbk"
        )
        refused = upload(client, dataset_id, {"file": ("flawed.csv", flawed)})
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert error["code"] == "corpus.import_invalid"
        assert error["message"] == "未写入任何数据：3 行有问题"
        client.cookies.set("lang", "en")
        english = upload(client, dataset_id, {"file": ("flawed.csv", flawed)}).json()["error"]
        client.cookies.delete("lang")
        assert english["message"] == "Nothing was written: 3 row(s) flagged"
        details = error["details"]
        assert {(p["where"], p["kind"]) for p in details["problems"]} == {
            ("flawed.csv:2", "conflicting_label"),
            ("flawed.csv:3", "conflicting_label"),
            ("flawed.csv:4", "empty"),
        }
        dropped = upload(client, dataset_id, {"file": ("flawed.csv", flawed)}, flagged="drop")
        assert dropped.status_code == 201 and dropped.json()["written_rows"] == 1
        card = client.get(f"/corpus/datasets/{dataset_id}").json()
        assert [v["number"] for v in card["versions"]] == [1, 2]
        assert card["versions"][1]["provenance"]["flagged_choice"] == "drop"
        assert "problems" not in card["versions"][1]["provenance"]


def test_truncated_xlsx_and_utf16_csv(live: LiveServer, world: World) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["id", "text", "label"])
    for i in range(200):
        book.active.append([i, f"第{i}条文本内容", "甲"])
    out = io.BytesIO()
    book.save(out)
    with client_for(live, world, "operator") as client:
        dataset_id = make_dataset(client, "工作簿语料")
        broken = upload(client, dataset_id, {"file": ("book.xlsx", out.getvalue()[:3000])})
        assert broken.status_code == 422
        error = broken.json()["error"]
        assert error["code"] == "corpus.import_invalid"
        assert "无法读取 xlsx 文件" in error["details"]["file_problem"]
        assert error["message"] == f"未写入任何数据：{error['details']['file_problem']}"
        utf16 = codecs.BOM_UTF16_LE + "id,text,label\n1,文本一,甲\n2,文本二,乙\n".encode(
            "utf-16-le"
        )
        ok = upload(client, dataset_id, {"file": ("u16.csv", utf16)})
        assert ok.status_code == 201 and ok.json()["encodings"] == {"u16.csv": "utf-16"}


def test_upload_over_the_limit_is_refused(app: FastAPI, live: LiveServer, world: World) -> None:
    app.state.settings = app.state.settings.model_copy(update={"max_upload_mb": 1})
    with client_for(live, world, "operator") as client:
        dataset_id = make_dataset(client, "大文件")
        big = upload(client, dataset_id, {"file": ("big.csv", b"id,text\n" + b"1,x\n" * 400_000)})
        assert big.status_code == 413 and big.json()["error"]["code"] == "uploads.too_large"


@pytest.fixture
def split_dataset(live: LiveServer, world: World) -> int:
    with client_for(live, world, "supplier_a") as client:
        dataset_id = make_dataset(client)
        content = "\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS).encode()
        answer = upload(client, dataset_id, {"file": ("rows.jsonl", content)})
        assert answer.status_code == 201, answer.text
    return dataset_id


def test_hidden_split_only_for_operators_through_every_route(
    live: LiveServer, world: World, split_dataset: int
) -> None:
    base = f"/corpus/datasets/{split_dataset}/versions/1"
    secret = "隐藏测试集的秘密题目文本一"
    for who in IDENTITIES:
        with client_for(live, world, None if who == "public" else who) as client:
            for path in (
                f"{base}/splits/test/rows",
                *(f"{base}/splits/test.{f}" for f in ("csv", "jsonl", "xlsx")),
            ):
                answer = client.get(path)
                expected = 200 if who == "operator" else 401 if who == "public" else 403
                assert answer.status_code == expected, (who, path)
                if who != "operator":
                    code = (
                        "corpus.hidden_split_sign_in" if who == "public" else "corpus.hidden_split"
                    )
                    assert answer.json()["error"]["code"] == code, (who, path)
            for path in (
                f"{base}/splits/dev/rows",
                f"{base}/splits/train.csv",
                f"{base}/splits/dev.jsonl",
            ):
                assert client.get(path).status_code == 200, (who, path)
            for path in ("/corpus/datasets", f"/corpus/datasets/{split_dataset}", base):
                answer = client.get(path)
                assert answer.status_code == 200
                assert (secret in answer.text) is False
                stats = answer.json() if path == base else None
                if stats is not None:
                    assert ("test" in stats["stats"]["labels"]) is (who == "operator")
    with client_for(live, world, "operator") as client:
        rows = client.get(f"{base}/splits/test/rows").json()
        assert rows["total"] == 1 and rows["rows"][0]["fields"]["text"] == secret
        assert rows["rows"][0]["label"] == "乙"


def test_downloads_are_formula_safe(live: LiveServer, world: World, split_dataset: int) -> None:
    base = f"/corpus/datasets/{split_dataset}/versions/1/splits/train"
    with client_for(live, world, "demand") as client:
        csv_text = client.get(f"{base}.csv").content.decode("utf-8-sig")
        assert "\"'=HYPERLINK(" in csv_text and "\"'+1 开头" in csv_text
        book = load_workbook(io.BytesIO(client.get(f"{base}.xlsx").content))
        cells = [c.value for row in book.active.iter_rows() for c in row]
        assert '\'=HYPERLINK("http://evil.example","点我")' in cells
        assert all(c.data_type != "f" for row in book.active.iter_rows() for c in row)
        lines = client.get(f"{base}.jsonl").text.splitlines()
        assert json.loads(lines[0])["text"].startswith("=HYPERLINK")
        assert json.loads(lines[0])["label"] == "甲"
