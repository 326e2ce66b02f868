"""The catalogue's rules (mosu/corpus: catalogue, imports, reading, screening), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.core.errors import Conflict, Forbidden, Unauthenticated
from mosu.corpus import catalogue, reading, screening, views
from mosu.corpus.models import Dataset, DatasetRow, DatasetVersion
from mosu.corpus.schemas import DatasetIn, DatasetPatch
from mosu.permissions import PUBLIC, Actor, Role
from tests.conftest import World
from tests.helpers.corpus import OP, import_rows

LABELS = ("城乡建设", "教育文体", "交通运输")


def messages(n: int = 60, *, offset: int = 0) -> list[dict[str, object]]:
    """Distinct fictional messages, labels in turn."""
    return [
        {
            "id": f"m{i}",
            "text": f"第{i}号留言：编号{i * 7919 % 10007}的居民反映第{i % 13}街区的问题{i * i}",
            "label": LABELS[i % 3],
        }
        for i in range(offset, offset + n)
    ]


def count(db: Session, model: type[object]) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0  # type: ignore[arg-type]


def test_identical_content_makes_no_new_version(db: Session) -> None:
    first = import_rows(db, messages())
    db.commit()
    assert first.report.created and first.version is not None and first.version.number == 1
    again = import_rows(db, messages())
    db.commit()
    assert again.report.existing and not again.report.created
    assert again.version is not None and again.version.id == first.version.id
    assert count(db, DatasetVersion) == 1 and count(db, DatasetRow) == 60
    changed = import_rows(db, messages(61))
    db.commit()
    assert changed.version is not None and changed.version.number == 2
    assert changed.report.content_hash != first.report.content_hash


def test_splits_are_stratified_stored_and_stable(db: Session) -> None:
    result = import_rows(db, messages(90), seed=3)
    db.commit()
    version = result.version
    assert version is not None
    stored = {
        r.row_id: (r.split, r.label)
        for r in db.scalars(select(DatasetRow).where(DatasetRow.version_id == version.id))
    }
    by = Counter(stored.values())
    for label in LABELS:
        assert (by["test", label], by["dev", label], by["train", label]) == (3, 3, 24)
    assert version.provenance["split"] == {
        "how": "platform",
        "seed": 3,
        "ratios": {"train": 0.8, "dev": 0.1, "test": 0.1},
        "stratified_by": "label",
    }
    again = import_rows(db, messages(90), seed=3, name="另一个语料")
    db.commit()
    assert again.version is not None
    other = {
        r.row_id: r.split
        for r in db.scalars(select(DatasetRow).where(DatasetRow.version_id == again.version.id))
    }
    assert other == {k: v[0] for k, v in stored.items()}
    assert again.version.content_hash == version.content_hash


def test_a_split_column_is_used_as_given(db: Session) -> None:
    rows = messages(6)
    for row, split in zip(
        rows, ["train", "训练集", "validation", "dev", "test", "TEST"], strict=True
    ):
        row["split"] = split
    result = import_rows(db, rows)
    assert result.version is not None
    assert result.version.stats["rows"] == {"train": 2, "dev": 2, "test": 2}
    assert result.version.provenance["split"]["how"] == "data"


def test_flagged_rows_refuse_drop_keep(db: Session) -> None:
    rows = messages(30)
    rows.append({"id": "m3", "text": "同一编号不同标签", "label": "交通运输"})
    rows.append({"id": "x", "text": "", "label": "教育文体"})
    refused = import_rows(db, rows)
    assert refused.version is None and count(db, DatasetVersion) == 0
    assert refused.report.counts == {"conflicting_label": 2, "empty": 1}
    db.rollback()
    dropped = import_rows(db, rows, flagged="drop", name="丢弃")
    assert dropped.version is not None and dropped.version.row_count == 29
    assert dropped.version.provenance["flagged_choice"] == "drop"
    assert dropped.version.provenance["dropped_rows"] == 3
    kept = import_rows(db, rows, flagged="keep", name="保留", normalise={"strip": True})
    assert kept.version is not None and kept.version.row_count == 32
    assert kept.version.provenance["flagged_choice"] == "keep"
    assert kept.version.provenance["normalisation"] == {"strip": True, "half_width": False}
    assert {p["kind"] for p in kept.version.provenance["problems"]} == {
        "conflicting_label",
        "empty",
    }


def test_unknown_role_field_and_unreadable_file_write_nothing(db: Session) -> None:
    bad = import_rows(db, messages(5), roles={"label_field": "类别"})
    assert bad.version is None and bad.report.file_problem is not None
    assert "类别" in bad.report.file_problem and "text" in bad.report.file_problem
    broken = import_rows(db, b"PK\x03\x04broken", filename="x.xlsx", name="坏文件")
    assert broken.version is None and "xlsx" in (broken.report.file_problem or "")


def test_contamination_against_public_splits_and_other_corpora(db: Session) -> None:
    leaked = "这是一道会被泄露到其他语料里去的隐藏测试题目，文字足够长以便检测"
    rows = messages(20)
    for row in rows:
        row["split"] = "train"
    rows.append({"id": "t1", "text": leaked, "label": "城乡建设", "split": "test"})
    rows.append(
        {
            "id": "t2",
            "text": "另一道独有的测试题，不会出现在任何地方",
            "label": "教育文体",
            "split": "test",
        }
    )
    first = import_rows(db, rows, name="被测语料")
    db.commit()
    assert first.version is not None
    assert first.version.contamination["flagged_rows"] == 0
    other = import_rows(
        db, [{"id": "o1", "text": "转载：" + leaked, "label": "x"}], name="网上语料", flagged="keep"
    )
    db.commit()
    assert other.version is not None
    found = screening.recheck_contamination(db, actor=OP, version=first.version)
    assert found["flagged_rows"] == 1 and found["corpora_checked"] == 1
    (source,) = found["sources"]
    assert source["dataset_name"] == "网上语料" and source["flagged"] == 1
    assert source["examples"][0]["test_id"] == "t1"
    assert screening.contamination_warning(first.version) is not None
    supplier = Actor(user_id=1, role=Role.supplier, organisation_id=1)
    seen = views.version_out(first.version, actor=supplier).contamination
    assert seen["flagged_rows"] == 1 and "examples" not in seen["sources"][0]
    assert leaked not in str(views.version_out(first.version, actor=supplier).model_dump())
    assert leaked in str(views.version_out(first.version, actor=OP).model_dump())


def test_contamination_against_other_hidden_splits_is_for_operators_only(db: Session) -> None:
    """The oracle of issue 14: a supplier's corpus whose test row holds a 13-character
    piece of another corpus's hidden row must not learn so from its own card."""
    hidden = "这是另一家语料隐藏测试集里的一条独有文本，外人不应该能够猜出来"
    public = "这是另一家语料公开训练集里的一条文本内容，谁都可以下载阅读"
    victim = messages(6)
    for row in victim:
        row["split"] = "train"
    victim.append({"id": "v1", "text": public, "label": "城乡建设", "split": "train"})
    victim.append({"id": "v2", "text": hidden, "label": "教育文体", "split": "test"})
    assert import_rows(db, victim, name="受害语料").version is not None
    guesses = [
        {"id": "g1", "text": hidden[3:16], "label": "x", "split": "test"},
        {"id": "g2", "text": "转载：" + public, "label": "x", "split": "test"},
        {
            "id": "g3",
            "text": "一条与谁都不重合的测试文本，长度也足够",
            "label": "x",
            "split": "test",
        },
        {"id": "p1", "text": "攻击者自己的公开训练文本", "label": "x", "split": "train"},
    ]
    result = import_rows(db, guesses, name="探测语料", organisation_id=None)
    db.commit()
    assert result.version is not None
    stored = result.version.contamination
    by_reference = {s["reference"]: s for s in stored["sources"] if s["kind"] == "corpus"}
    assert by_reference["hidden"]["any_gram"] == 1 and by_reference["public"]["flagged"] == 1
    assert stored["flagged_rows"] == 2 and stored["public_flagged_rows"] == 1
    supplier = Actor(user_id=1, role=Role.supplier, organisation_id=1)
    for reader in (supplier, PUBLIC):
        seen = views.version_out(result.version, actor=reader).contamination
        assert seen["flagged_rows"] == 1 and "public_flagged_rows" not in seen
        assert [(s["kind"], s["reference"]) for s in seen["sources"]] == [("corpus", "public")]
        assert seen["sources"][0]["any_gram"] == 1 and "examples" not in seen["sources"][0]
        warning = screening.contamination_warning(result.version, actor=reader)
        assert warning is not None and "隐藏" not in warning
    full = views.version_out(result.version, actor=OP).contamination
    assert full == stored and full["flagged_rows"] == 2
    hidden_warning = screening.contamination_warning(result.version, actor=OP)
    assert hidden_warning is not None and "hidden" in hidden_warning


def test_results_stored_before_the_split_of_sources_show_other_corpora_to_operators() -> None:
    """A result stored before sources carried ``reference`` compared every row of the other
    corpora: only the version's own public splits are shown to others until re-run."""
    legacy = {
        "test_rows": 3,
        "flagged_rows": 2,
        "corpora_checked": 1,
        "sources": [
            {"kind": "public", "dataset_id": None, "flagged": 1, "any_gram": 1, "examples": []},
            {
                "kind": "corpus",
                "dataset_id": 7,
                "dataset_name": "别家",
                "flagged": 1,
                "any_gram": 2,
            },
        ],
    }
    supplier = Actor(user_id=1, role=Role.supplier, organisation_id=1)
    seen = screening.contamination_view(legacy, actor=supplier)
    assert seen["flagged_rows"] == 1 and [s["kind"] for s in seen["sources"]] == ["public"]
    assert screening.contamination_view(legacy, actor=OP) == legacy
    assert screening.contamination_view({}, actor=supplier) == {"sources": []}


def test_hidden_split_is_for_operators_only(db: Session, world: World) -> None:
    rows = [dict(r, split="test" if i < 3 else "dev") for i, r in enumerate(messages(6))]
    result = import_rows(db, rows, organisation_id=world.org_a)
    assert result.version is not None
    version = result.version
    supplier_a = Actor(
        user_id=world.user_ids["supplier_a"], role=Role.supplier, organisation_id=world.org_a
    )
    for actor in (supplier_a, PUBLIC):
        assert reading.rows_page(db, actor=actor, version=version, split="dev").total == 3
        error = Unauthenticated if actor is PUBLIC else Forbidden
        with pytest.raises(error):
            reading.rows_page(db, actor=actor, version=version, split="test")
        with pytest.raises(error):
            reading.export_split(db, actor=actor, version=version, split="test", fmt="csv")
        assert "test" not in views.version_out(version, actor=actor).stats["labels"]
    assert reading.rows_page(db, actor=OP, version=version, split="test").total == 3
    assert "test" in views.version_out(version, actor=OP).stats["labels"]


def test_cards_belong_to_their_organisation(db: Session, world: World) -> None:
    supplier_a = Actor(
        user_id=world.user_ids["supplier_a"], role=Role.supplier, organisation_id=world.org_a
    )
    supplier_b = Actor(
        user_id=world.user_ids["supplier_b"], role=Role.supplier, organisation_id=world.org_b
    )
    demand = Actor(
        user_id=world.user_ids["demand"], role=Role.demand, organisation_id=world.org_demand
    )
    card = catalogue.create_dataset(db, actor=supplier_a, data=DatasetIn(name="甲的语料"))
    assert card.organisation_id == world.org_a
    with pytest.raises(Forbidden):
        catalogue.create_dataset(
            db, actor=supplier_a, data=DatasetIn(name="冒名", organisation_id=world.org_b)
        )
    with pytest.raises(Forbidden):
        catalogue.create_dataset(db, actor=demand, data=DatasetIn(name="需求方"))
    with pytest.raises(Conflict):
        catalogue.create_dataset(db, actor=OP, data=DatasetIn(name="甲的语料"))
    with pytest.raises(Forbidden):
        catalogue.update_dataset(
            db, actor=supplier_b, dataset_id=card.id, data=DatasetPatch(licence="MIT")
        )
    catalogue.update_dataset(
        db, actor=supplier_a, dataset_id=card.id, data=DatasetPatch(licence=" ")
    )
    out = views.dataset_out(catalogue.get_dataset(db, card.id), actor=PUBLIC)
    assert out.licence == "unknown" and not out.licence_known
    assert db.get(Dataset, card.id) is not None
