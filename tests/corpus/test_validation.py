"""Import checks (mosu/corpus/validation.py): every flaw is named by row and reason."""

from __future__ import annotations

from mosu.corpus.readers import Record
from mosu.corpus.schemas import ImportOptions, Roles
from mosu.corpus.validation import check, guess_roles, near_duplicates

ROLES = Roles(id_field="id", input_fields=["text"], label_field="label", date_fields=["date"])


def records(*rows: dict[str, object], split: str | None = None) -> list[Record]:
    return [Record(f"f.jsonl:{i + 1}", split, dict(r)) for i, r in enumerate(rows)]


def kinds(rows: list[Record], **options: object) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for p in check(rows, ROLES, ImportOptions.model_validate(options)).problems:
        found.setdefault(p.row, set()).add(p.kind)
    return found


def test_a_clean_file_has_no_problems() -> None:
    rows = records(
        {"id": 1, "text": "第一条留言内容", "label": "甲", "date": "2020/1/6 12:09:38"},
        {"id": 2, "text": "另一条完全不同的话", "label": "乙", "date": "2019-02-14"},
    )
    assert kinds(rows) == {}


def test_missing_and_empty_fields_are_named() -> None:
    rows = records(
        {"id": 1, "text": "  ", "label": "甲"},
        {"id": 2, "label": "甲"},
        {"id": 3, "text": "有内容", "label": ""},
    )
    checked = check(rows, ROLES, ImportOptions())
    reasons = {(p.row, p.field, p.kind) for p in checked.problems}
    assert reasons == {(1, "text", "empty"), (2, "text", "missing"), (3, "label", "empty")}


def test_conflicting_labels_name_every_row_of_the_id() -> None:
    rows = records(
        {"id": 37042, "text": "甲文", "label": "城乡建设"},
        {"id": 7, "text": "乙文", "label": "教育"},
        {"id": 37042, "text": "丙文", "label": "劳动和社会保障"},
        {"id": 7, "text": "丁文", "label": "教育"},
    )
    checked = check(rows, ROLES, ImportOptions())
    conflict = [p for p in checked.problems if p.kind == "conflicting_label"]
    assert [(p.row, p.row_id) for p in conflict] == [(1, "37042"), (3, "37042")]
    assert "城乡建设" in conflict[0].reason and "劳动和社会保障" in conflict[0].reason
    repeated = [p for p in checked.problems if p.kind == "duplicate_id"]
    assert [(p.row, p.row_id) for p in repeated] == [(4, "7")]
    assert checked.drop == {1, 3, 4}


def test_exact_and_near_duplicates_within_and_across_splits() -> None:
    base = (
        "市民反映小区门口的垃圾桶已经三天没人清运，气味很大，夏天更明显，老人孩子经过时"
        "都捂着鼻子；物业说不归他们管，街道也没有回复，之前打过两次电话但没有改善，"
        "附近学校的家长意见很大，希望有关部门尽快安排清运并说明以后的清运时间，谢谢。"
    )
    near = base.replace("三天", "两天")
    rows = [
        *records({"id": 1, "text": base, "label": "甲"}, split="train"),
        *records({"id": 2, "text": "\t" + base + "\n", "label": "甲"}, split="train"),
        *records({"id": 3, "text": near, "label": "甲"}, split="test"),
        *records({"id": 4, "text": "完全无关的另一条内容，讲的是公交站牌。", "label": "乙"}),
    ]
    rows = [r.__class__(f"f:{i}", r.split, r.values) for i, r in enumerate(rows)]
    checked = check(rows, ROLES, ImportOptions())
    found = {p.row: p for p in checked.problems}
    assert found[2].kind == "duplicate" and "同在 train" in found[2].reason
    assert found[3].kind == "near_duplicate" and "跨划分 train↔test" in found[3].reason
    assert 1 not in found and 4 not in found


def test_dates_labels_lengths_and_splits() -> None:
    rows = records(
        {"id": 1, "text": "一", "label": "甲", "date": "2020年13月45日"},
        {"id": 2, "text": "二", "label": "丙", "date": "2020/1/6"},
        {"id": 3, "text": "三" * 50, "label": "甲", "date": "2020-01-06", "split": "holdout"},
    )
    roles = ROLES.model_copy(update={"split_field": "split"})
    checked = check(rows, roles, ImportOptions(label_set=["甲", "乙"], max_length=10))
    found = {(p.row, p.kind) for p in checked.problems}
    assert found == {(1, "bad_date"), (2, "unknown_label"), (3, "too_long"), (3, "bad_split")}
    assert any("2 种日期写法" in n for n in checked.notes)


def test_normalisation_strips_and_makes_half_width() -> None:
    rows = records({"id": 1, "text": "\n\tＡＢＣ１２３，你好　", "label": "甲"})
    plain = check(rows, ROLES, ImportOptions()).rows[0]
    assert plain.fields["text"] == "\n\tＡＢＣ１２３，你好　"
    clean = check(rows, ROLES, ImportOptions(normalise={"strip": True, "half_width": True}))  # type: ignore[arg-type]
    assert clean.rows[0].fields["text"] == "ABC123,你好"


def test_roles_are_guessed_from_names() -> None:
    cmmlu = ["Question", "A", "B", "C", "D", "Answer", "subject", "id"]
    roles = guess_roles(Roles(), cmmlu, [], "cmmlu")
    assert roles.input_fields == ["Question", "A", "B", "C", "D"]
    assert (roles.label_field, roles.category_field, roles.id_field) == ("Answer", "subject", "id")
    clue = guess_roles(Roles(), ["label", "label_desc", "sentence", "keywords", "id"], [], "clue")
    assert clue.label_field == "label_desc" and clue.input_fields == ["sentence"]


def test_near_duplicates_against_exact_jaccard() -> None:
    base = "".join(chr(0x4E00 + (i * 7919) % 2000) for i in range(200))
    texts = [base, base[:195] + "结尾不同哦", base[::-1], base[:100]]
    found = near_duplicates(texts, 0.9)
    assert [(i, j) for i, j, _ in found] == [(0, 1)]
    shingles = [{t[k : k + 5] for k in range(len(t) - 4)} for t in texts[:2]]
    exact = len(shingles[0] & shingles[1]) / len(shingles[0] | shingles[1])
    assert abs(found[0][2] - exact) < 1e-9
