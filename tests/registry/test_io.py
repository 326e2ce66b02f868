"""Bulk import and export of the registry, on real files generated in each test."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mosu.core.errors import Forbidden
from mosu.permissions import Actor, Role
from mosu.registry.ai_models import create_model
from mosu.registry.columns import COLUMNS, Kind
from mosu.registry.exports import export_table
from mosu.registry.imports import ImportReport, import_table
from mosu.registry.models import Layer, Modality, Model, Organisation, Tier
from mosu.registry.schemas import ModelIn
from tests.conftest import OPERATOR, credit_code, make_org
from tests.helpers.sheets import csv_bytes, org_row

ORG_HEADERS = [c.header for c in COLUMNS["orgs"]]
MODEL_HEADERS = [c.header for c in COLUMNS["models"]]
PARAMS = "参数规模（十亿）"
SUPPLIER = Actor(user_id=9, role=Role.supplier, organisation_id=1)


def xlsx_bytes(rows: Sequence[Sequence[object]], sheet: str = "Sheet1") -> bytes:
    workbook = openpyxl.Workbook()
    ws = workbook.active
    assert ws is not None
    ws.title = sheet
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def table(rows: Sequence[dict[str, object]]) -> list[list[object]]:
    return [list(rows[0]), *[list(r.values()) for r in rows]]


def save(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def run(
    db: Session, path: Path, kind: Kind = "orgs", *, drop: bool = False, sheet: str | None = None
) -> ImportReport:
    report = import_table(
        db,
        actor=OPERATOR,
        kind=kind,
        filename=path.name,
        content=path.read_bytes(),
        drop_invalid=drop,
        sheet=sheet,
    )
    if report.committed:
        db.commit()
    else:
        db.rollback()
    return report


def org_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Organisation)) or 0


def problems(report: ImportReport) -> list[tuple[int, str]]:
    return [(p.row, p.column) for p in report.problems]


# ---------------------------------------------------------------- encodings


def test_gbk_csv_reads_chinese(db: Session, tmp_path: Path) -> None:
    rows = [
        org_row(1, "上海稀宇极智科技有限公司", 梯队="北斗七星", 服务地区="上海；北京"),
        org_row(2, "阶跃星辰（上海）智能科技有限公司", 产业链层级="算力,语料", 简介="多模态；推理"),
    ]
    path = save(tmp_path, "名录-gbk.csv", csv_bytes(rows, "gbk"))
    report = run(db, path)
    assert report.ok, report.problems
    assert report.encoding == "gb18030"
    assert (report.total_rows, report.valid_rows, report.written) == (2, 2, 2)
    orgs = db.scalars(select(Organisation).order_by(Organisation.id)).all()
    assert [o.name_zh for o in orgs] == [
        "上海稀宇极智科技有限公司",
        "阶跃星辰（上海）智能科技有限公司",
    ]
    assert orgs[0].tier == Tier.core and orgs[0].regions == ["上海", "北京"]
    assert orgs[1].layers == ["compute", "corpus"] and orgs[1].description == "多模态；推理"
    assert orgs[0].resident_since == dt.date(2023, 9, 1) and orgs[0].contact_name == "张1"


def test_short_gbk_csv_with_one_row(db: Session, tmp_path: Path) -> None:
    content = f"名称,统一社会信用代码,产业链层级\r\n甲乙,{credit_code(7)},模型\r\n".encode("gbk")
    report = run(db, save(tmp_path, "a.csv", content))
    assert report.ok and report.encoding == "gb18030"
    assert db.scalar(select(Organisation.name_zh)) == "甲乙"


def test_utf8_bom_csv(db: Session, tmp_path: Path) -> None:
    path = save(tmp_path, "bom.csv", csv_bytes([org_row(1), org_row(2)], "utf-8-sig"))
    report = run(db, path)
    assert report.ok and report.encoding == "utf-8-sig" and report.written == 2
    assert (
        db.scalar(select(Organisation.name_zh).where(Organisation.id == 1))
        == "模速测试1号科技有限公司"
    )


def test_utf16_tab_separated_csv_as_excel_saves_unicode_text(db: Session, tmp_path: Path) -> None:
    path = save(tmp_path, "u16.txt", csv_bytes([org_row(1), org_row(2)], "utf-16", "\t"))
    report = run(db, path)
    assert report.ok, report.problems
    assert report.encoding == "utf-16" and report.written == 2
    assert org_count(db) == 2


def test_undecodable_csv_is_a_file_problem(db: Session, tmp_path: Path) -> None:
    content = "名称,统一社会信用代码,产业链层级\r\n".encode() + bytes(range(0x80, 0x100)) * 4
    report = run(db, save(tmp_path, "x.csv", content))
    assert not report.committed
    assert problems(report) and report.problems[0].row == 0
    assert org_count(db) == 0


# ---------------------------------------------------------------- xlsx and values


def test_xlsx_with_mixed_date_formats(db: Session, tmp_path: Path) -> None:
    dates: list[object] = [
        "2023-09-01",
        "2023/9/2",
        "2023年9月3日",
        "20230904",
        dt.date(2023, 9, 5),
        dt.datetime(2023, 9, 6, 9, 30),
        20230907,
        45177,  # an Excel serial, i.e. 2023-09-08, in a cell without a date format
        " 2023.9.9\t",
    ]
    rows = [org_row(n, 入驻日期=d) for n, d in enumerate(dates, start=1)]
    rows[0]["是否入驻"] = True
    rows[1]["是否入驻"] = "Y"
    path = save(tmp_path, "dates.xlsx", xlsx_bytes(table(rows)))
    report = run(db, path)
    assert report.ok, report.problems
    assert report.encoding is None and report.written == len(dates)
    got = db.scalars(select(Organisation.resident_since).order_by(Organisation.id)).all()
    assert got == [dt.date(2023, 9, day) for day in range(1, 10)]
    workbook = openpyxl.load_workbook(path)  # the file really holds date cells and strings
    ws = workbook.active
    assert ws is not None
    assert ws["G6"].is_date and isinstance(ws["G2"].value, str)


def test_unreadable_date_names_row_and_column(db: Session, tmp_path: Path) -> None:
    rows = [org_row(1), org_row(2, 入驻日期="九月初"), org_row(3, 入驻日期="2023-02-30")]
    report = run(db, save(tmp_path, "d.xlsx", xlsx_bytes(table(rows))))
    assert problems(report) == [(3, "入驻日期"), (4, "入驻日期")]
    assert all(p.reason.startswith("日期无法识别") for p in report.problems)
    assert org_count(db) == 0


def test_one_bad_credit_code_writes_nothing_then_drop_invalid_writes_the_rest(
    db: Session, tmp_path: Path
) -> None:
    rows = [org_row(n) for n in range(1, 6)]
    rows[2]["统一社会信用代码"] = credit_code(3)[:-1] + ("0" if credit_code(3)[-1] != "0" else "1")
    path = save(tmp_path, "orgs.xlsx", xlsx_bytes(table(rows)))
    report = run(db, path)
    assert not report.ok and not report.committed
    assert report.problems == [
        type(report.problems[0])(4, "统一社会信用代码", "统一社会信用代码校验位错误")
    ]
    assert (report.total_rows, report.valid_rows, report.written) == (5, 4, 0)
    assert org_count(db) == 0

    report = run(db, path, drop=True)
    assert report.committed and report.written == 4 and report.dropped_rows == [4]
    assert org_count(db) == 4


def test_named_sheet_and_title_rows(db: Session, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.append(["说明：本表仅供参考"])
    sheet = workbook.create_sheet("企业名录")
    sheet.append(["2024 年模速空间入驻企业名单"])
    sheet.append([])
    sheet.append(["序号", "名称*", "统一社会信用代码", "产业链层级", "备注"])
    sheet.append([1, "丁公司", credit_code(4), "服务", "新入驻"])
    sheet.append([])
    sheet.append([2, "戊公司", credit_code(5), "service", ""])
    out = io.BytesIO()
    workbook.save(out)
    path = save(tmp_path, "multi.xlsx", out.getvalue())

    report = run(db, path, sheet="不存在")
    assert report.problems[0].row == 0 and "不存在" in report.problems[0].reason
    report = run(db, path, sheet="企业名录")
    assert report.ok, report.problems
    assert report.written == 2 and report.ignored_columns == ["序号", "备注"]
    assert report.total_rows == 2


def test_bad_cells_name_row_column_and_reason(db: Session, tmp_path: Path) -> None:
    rows = [
        org_row(1, 梯队="超新星"),
        org_row(2, 产业链层级="算力、芯片"),
        org_row(3, 是否入驻="也许"),
        org_row(4, 产业链层级=""),
        org_row(5, 网址="www.example.cn"),
        org_row(6, 名称=""),
        org_row(7, 是否入驻="否"),
        org_row(8, 名称="x" * 201),
        org_row(9, 梯队="core", 产业链层级="Model; application", 是否入驻="1"),
    ]
    report = run(db, save(tmp_path, "bad.csv", csv_bytes(rows)))
    by_row = {p.row: (p.column, p.reason) for p in report.problems}
    assert by_row[2] == ("梯队", "梯队“超新星”无法识别，应为 北斗七星、群星 或 其他")
    assert by_row[3][0] == "产业链层级" and "芯片" in by_row[3][1]
    assert by_row[4][0] == "是否入驻" and "是 或 否" in by_row[4][1]
    assert by_row[5] == ("产业链层级", "必填，不能为空")
    assert by_row[6] == ("网址", "网址须以 http:// 或 https:// 开头")
    assert by_row[7] == ("名称", "必填，不能为空")
    assert by_row[8] == ("入驻日期", "非入驻企业不应填写入驻日期")
    assert by_row[9] == ("名称", "过长，最多 200 个字符")
    assert 10 not in by_row and report.valid_rows == 1
    assert len(report.problems) == 8 and org_count(db) == 0


def test_header_problems(db: Session, tmp_path: Path) -> None:
    content = f"名称,层级,梯队,地址\r\n甲,模型,群星,徐汇\r\n{credit_code(1)},,,\r\n".encode()
    report = run(db, save(tmp_path, "h.csv", content), drop=True)
    assert ("地址" in {p.column for p in report.problems}) and not report.committed
    missing = [p for p in report.problems if p.reason.startswith("缺少必填列")]
    assert [(p.row, p.column) for p in missing] == [(1, "统一社会信用代码")]

    content = b"name,credit_code,layers,Tier\r\n"
    report = run(db, save(tmp_path, "empty.csv", content))
    assert problems(report) == [(0, "")] and "没有数据行" in report.problems[0].reason

    report = run(db, save(tmp_path, "nothing.csv", b""))
    assert problems(report) == [(0, "")]

    content = f"名称,name,统一社会信用代码,产业链层级\r\n甲,甲,{credit_code(1)},模型\r\n".encode()
    report = run(db, save(tmp_path, "twice.csv", content))
    assert problems(report) == [(1, "name")] and org_count(db) == 0


def test_english_headers_and_padding(db: Session, tmp_path: Path) -> None:
    content = (
        "Name , Credit code,Layers,Tier,Resident,Resident since,Contact email\r\n"
        f" 甲公司\t,{credit_code(1).lower()} ,模型,cluster,yes,2024/1/2,a@b.cn\r\n"
        "\r\n,,,,,,\r\n"
    ).encode()
    report = run(db, save(tmp_path, "en.csv", content))
    assert report.ok, report.problems
    org = db.scalars(select(Organisation)).one()
    assert (org.name_zh, org.credit_code, org.tier) == ("甲公司", credit_code(1), Tier.cluster)
    assert org.contact_email == "a@b.cn" and org.resident_since == dt.date(2024, 1, 2)


# ---------------------------------------------------------------- duplicates


def test_duplicates_within_the_file_and_against_the_registry(db: Session, tmp_path: Path) -> None:
    make_org(db, 1, "甲智能科技（上海）有限公司")
    db.commit()
    rows = [
        org_row(2, "甲智能科技(上海)有限公司"),  # the registered one, with half-width brackets
        org_row(3, "乙公司", 统一社会信用代码=credit_code(1)),  # registered credit code
        org_row(4, "丙公司"),
        org_row(5, "丙公司"),  # repeats row 4
        org_row(6, "丁公司", 统一社会信用代码=credit_code(4)),  # repeats row 4's code
    ]
    report = run(db, save(tmp_path, "dup.csv", csv_bytes(rows)))
    assert problems(report) == [
        (2, "名称"),
        (3, "统一社会信用代码"),
        (5, "名称"),
        (6, "统一社会信用代码"),
    ]
    reasons = [p.reason for p in report.problems]
    assert "已登记" in reasons[0] and "甲智能科技（上海）有限公司" in reasons[0]
    assert "第 4 行" in reasons[2] and "第 4 行" in reasons[3]
    assert org_count(db) == 1

    report = run(db, save(tmp_path, "dup.csv", csv_bytes(rows)), drop=True)
    assert report.written == 1 and report.dropped_rows == [2, 3, 5, 6]
    assert db.scalar(select(Organisation.name_zh).where(Organisation.id != 1)) == "丙公司"


# ---------------------------------------------------------------- models


def model_row(org: str, name: str, **cells: object) -> dict[str, object]:
    row: dict[str, object] = {
        "所属组织": org,
        "模型名称": name,
        "模态": "文本",
        "是否开源": "否",
        "参数规模（十亿）": "",
        "基座模型": "",
        "能力标签": "对话、代码",
        "简介": "",
    }
    row.update(cells)
    return row


def test_models_import(db: Session, tmp_path: Path) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    b = make_org(db, 2, "乙大模型有限公司")
    create_model(
        db, actor=OPERATOR, data=ModelIn(organisation_id=a, name="Base-1", modality=Modality.text)
    )
    db.commit()
    rows = [
        model_row("甲智能科技有限公司", "Chat-7B", **{PARAMS: 7}, 基座模型="Base-1"),
        model_row(credit_code(2), "Vision", 模态="image", 是否开源="是", **{PARAMS: "1.8"}),
        model_row("乙大模型有限公司", "Tuned", 基座模型="Vision"),  # a model of this file
        model_row("乙大模型有限公司", "Free", 基座模型="Qwen/Qwen2-7B", 模态="多模态"),
    ]
    report = run(db, save(tmp_path, "m.xlsx", xlsx_bytes(table(rows))), "models")
    assert report.ok, report.problems
    assert report.written == 4
    models = {m.name: m for m in db.scalars(select(Model))}
    assert models["Chat-7B"].base_model_id == models["Base-1"].id
    assert models["Chat-7B"].parameters_b == 7.0 and models["Chat-7B"].organisation_id == a
    assert models["Vision"].organisation_id == b and models["Vision"].open_weights
    assert models["Vision"].modality == Modality.image and models["Vision"].parameters_b == 1.8
    assert models["Tuned"].base_model_id == models["Vision"].id
    assert (
        models["Free"].base_model_text == "Qwen/Qwen2-7B" and models["Free"].base_model_id is None
    )
    assert models["Free"].modality == Modality.multimodal
    assert models["Chat-7B"].capability_tags == ["对话", "代码"]


def test_model_problems(db: Session, tmp_path: Path) -> None:
    a = make_org(db, 1, "甲智能科技有限公司")
    b = make_org(db, 2, "乙大模型有限公司")
    for org in (a, b):
        data = ModelIn(organisation_id=org, name="Same", modality=Modality.text)
        create_model(db, actor=OPERATOR, data=data)
    db.commit()
    rows = [
        model_row("未登记公司", "X"),
        model_row("甲智能科技有限公司", "Same"),  # registered already
        model_row("乙大模型有限公司", "New"),
        model_row("乙大模型有限公司", "New"),  # repeats row 4
        model_row("乙大模型有限公司", "Child", 基座模型="Same"),  # two models are called Same
        model_row("乙大模型有限公司", "Self", 基座模型="Self"),
        model_row("乙大模型有限公司", "Big", **{PARAMS: "很大"}, 模态="气味"),
        model_row("乙大模型有限公司", "Zero", **{PARAMS: 0}),
        model_row("乙大模型有限公司", "Picked", 基座模型="甲智能科技有限公司/Same"),
    ]
    report = run(db, save(tmp_path, "m.csv", csv_bytes(rows)), "models")
    assert problems(report) == [
        (2, "所属组织"),
        (3, "模型名称"),
        (5, "模型名称"),
        (6, "基座模型"),
        (7, "基座模型"),
        (8, "模态"),
        (8, "参数规模（十亿）"),
        (9, "参数规模（十亿）"),
    ]
    assert "未登记" in report.problems[0].reason
    assert "组织名称/模型名称" in report.problems[3].reason
    assert report.problems[-1].reason == "应大于 0.0"
    assert db.scalar(select(func.count()).select_from(Model)) == 2

    report = run(db, save(tmp_path, "m.csv", csv_bytes(rows)), "models", drop=True)
    assert report.written == 2 and report.dropped_rows == [2, 3, 5, 6, 7, 8, 9]
    picked = db.scalars(select(Model).where(Model.name == "Picked")).one()
    assert picked.base_model is not None and picked.base_model.organisation_id == a


def test_dropped_base_row_keeps_the_base_name_as_text(db: Session, tmp_path: Path) -> None:
    make_org(db, 1, "甲智能科技有限公司")
    db.commit()
    rows = [
        model_row("甲智能科技有限公司", "Base", 模态="气味"),
        model_row("甲智能科技有限公司", "Child", 基座模型="Base"),
    ]
    report = run(db, save(tmp_path, "m.csv", csv_bytes(rows)), "models", drop=True)
    assert report.written == 1 and report.dropped_rows == [2]
    child = db.scalars(select(Model)).one()
    assert child.base_model_id is None and child.base_model_text == "Base"


# ---------------------------------------------------------------- damaged files


def test_truncated_and_fake_xlsx_are_clear_problems(db: Session, tmp_path: Path) -> None:
    good = xlsx_bytes(table([org_row(1)]))
    cases = {
        "truncated.xlsx": good[: len(good) // 2],
        "text.xlsx": b"this is not a workbook",
        "old.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
    }
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("hello.txt", "not a spreadsheet")
    cases["zip.xlsx"] = broken.getvalue()
    for name, content in cases.items():
        report = run(db, save(tmp_path, name, content))
        assert not report.committed, name
        assert problems(report) == [(0, "")], name
        assert "xls" in report.problems[0].reason, name
    assert org_count(db) == 0


def test_only_operators_import_and_export(db: Session, tmp_path: Path) -> None:
    content = csv_bytes([org_row(1)])
    with pytest.raises(Forbidden):
        import_table(db, actor=SUPPLIER, kind="orgs", filename="a.csv", content=content)
    for fmt in ("csv", "xlsx"):
        with pytest.raises(Forbidden):
            export_table(db, actor=SUPPLIER, kind="orgs", fmt=fmt)  # type: ignore[arg-type]


# ---------------------------------------------------------------- export


INJECTIONS = ['=HYPERLINK("http://evil.example","点我")', "+1", "-2", "@SUM(A1:A2)"]


def read_export_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_export_is_safe_against_formula_injection(db: Session) -> None:
    for n, name in enumerate(INJECTIONS, start=1):
        make_org(db, n, name, description="=cmd|' /C calc'!A0")
    db.commit()

    rows = read_export_csv(export_table(db, actor=OPERATOR, kind="orgs", fmt="csv"))
    assert rows[0] == ORG_HEADERS
    names = [r[0] for r in rows[1:]]
    assert names == ["'" + name for name in INJECTIONS]
    assert all(r[ORG_HEADERS.index("简介")].startswith("'=") for r in rows[1:])

    content = export_table(db, actor=OPERATOR, kind="orgs", fmt="xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    cells = [ws.cell(row=r, column=1) for r in range(2, 2 + len(INJECTIONS))]
    assert [c.value for c in cells] == ["'" + name for name in INJECTIONS]
    assert all(c.data_type == "s" for c in cells)
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def populate(db: Session) -> None:
    a = make_org(
        db,
        1,
        "=甲智能科技（上海）有限公司",
        resident=True,
        resident_since=dt.date(2023, 9, 1),
        regions=["上海", "杭州"],
        description="第一行\n第二行，含“引号”, 和逗号",
        website="https://a.example.cn",
        layers=[Layer.model, Layer.compute],
        tier=Tier.core,
    )
    b = make_org(db, 2, "+乙大模型有限公司", tier=Tier.other, layers=[Layer.service])
    for org, name, base in ((a, "Base", None), (b, "Base", None), (b, "Chat", "Base")):
        base_id = None
        if base is not None:
            base_id = db.scalar(select(Model.id).where(Model.organisation_id == a))
        data = ModelIn(
            organisation_id=org,
            name=name,
            modality=Modality.code,
            open_weights=True,
            parameters_b=12345.678,
            base_model_id=base_id,
            capability_tags=["代码", "-推理"],
            description="@描述",
        )
        create_model(db, actor=OPERATOR, data=data)
    data = ModelIn(organisation_id=a, name="Free", modality=Modality.audio, base_model_text="GPT")
    create_model(db, actor=OPERATOR, data=data)
    db.commit()


def snapshot(db: Session) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    db.expire_all()
    orgs = [
        (
            o.name_zh, o.name_en, o.credit_code, o.tier, o.layers, o.resident, o.resident_since,
            o.website, o.description, o.regions, o.contact_name, o.contact_phone, o.contact_email,
        )
        for o in db.scalars(select(Organisation).order_by(Organisation.credit_code))
    ]  # fmt: skip
    models = sorted(
        (
            m.organisation.name_zh, m.name, m.modality, m.open_weights, m.parameters_b,
            (m.base_model.organisation.name_zh, m.base_model.name) if m.base_model else None,
            m.base_model_text, m.capability_tags, m.description,
        )
        for m in db.scalars(select(Model))
    )  # fmt: skip
    return orgs, models


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_round_trip(db: Session, tmp_path: Path, fmt: str) -> None:
    populate(db)
    before = snapshot(db)
    files = {
        kind: save(
            tmp_path,
            f"{kind}.{fmt}",
            export_table(db, actor=OPERATOR, kind=kind, fmt=fmt),  # type: ignore[arg-type]
        )
        for kind in ("orgs", "models")
    }
    db.execute(delete(Model))
    db.execute(delete(Organisation))
    db.commit()
    assert snapshot(db) == ([], [])

    for kind in ("orgs", "models"):
        report = run(db, files[kind], kind)  # type: ignore[arg-type]
        assert report.ok, report.problems
        assert report.encoding == ("utf-8-sig" if fmt == "csv" else None)
    assert snapshot(db) == before
    chat = db.scalars(select(Model).where(Model.name == "Chat")).one()
    assert chat.base_model is not None and chat.base_model.organisation.credit_code == credit_code(
        1
    )


def test_export_of_an_empty_registry_has_the_headers(db: Session) -> None:
    rows = read_export_csv(export_table(db, actor=OPERATOR, kind="models", fmt="csv"))
    assert rows == [MODEL_HEADERS]


def test_five_thousand_rows(db: Session, tmp_path: Path) -> None:
    rows = [org_row(n, f"批量{n}号公司") for n in range(1, 5001)]
    report = run(db, save(tmp_path, "big.csv", csv_bytes(rows)))
    assert report.ok and report.written == 5000
    assert org_count(db) == 5000
