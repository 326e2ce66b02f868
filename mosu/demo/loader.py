"""Loads the demo community (``data/community.json``) through the registry's own rules."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.service import create_user
from mosu.corpus.models import Dataset, DatasetVersion
from mosu.demo.arena import load_demo_arena
from mosu.demo.supply import load_supply
from mosu.permissions import Actor, Role
from mosu.registry.ai_models import create_model
from mosu.registry.figures import set_regional_total
from mosu.registry.filings import create_filing
from mosu.registry.models import FilingKind, FilingStatus
from mosu.registry.organisations import create_organisation
from mosu.registry.schemas import Contact, FilingIn, ModelIn, OrganisationIn

COMMUNITY = Path(__file__).parent / "data" / "community.json"
HOTLINE = Path(__file__).parent / "data" / "hotline_messages.jsonl"
HOTLINE_PROVIDER = "徐汇区智慧政务服务中心"
HOTLINE_DATASET = "区政务热线留言分类（演示数据）"
HOTLINE_SPLIT = (0.5, 0.1, 0.4)
"""The demo community's split of the hotline corpus (train, dev, test): a test split of 60
rows, so that each race stage has a public and a private part of about 30."""
DEMO_PASSWORD = "mosu-demo-2026"
_LOADER = Actor(user_id=None, role=Role.operator, username="demo-loader")


@dataclass(frozen=True)
class DemoSummary:
    organisations: int
    models: int
    filings: int
    users: list[tuple[str, str, str]]  # username, password, role


def load_community(session: Session, path: Path = COMMUNITY) -> DemoSummary:
    """Create every organisation, model, filing and user of the demo file; flush, not commit."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    org_ids = _organisations(session, data["organisations"])
    model_ids = _models(session, data["models"], org_ids)
    filings = sorted(data["filings"], key=lambda f: (f["kind"] != "beian", f["filed_on"]))
    for f in filings:
        based_on = f.get("based_on_model")
        create_filing(
            session,
            actor=_LOADER,
            data=FilingIn(
                model_id=model_ids[f["model"]],
                kind=FilingKind(f["kind"]),
                number=f["number"],
                filed_on=dt.date.fromisoformat(f["filed_on"]),
                status=FilingStatus(f.get("status", "active")),
                based_on_model_id=model_ids[based_on] if based_on else None,
            ),
        )
    regional = data.get("regional_filed_total")
    if regional:
        set_regional_total(
            session, actor=_LOADER, region=regional["region"], total=int(regional["total"])
        )
    users = []
    for u in data["users"]:
        org_name = u.get("organisation")
        create_user(
            session,
            username=u["username"],
            password=u["password"],
            role=Role(u["role"]),
            organisation_id=org_ids[org_name] if org_name else None,
            display_name=u.get("display_name", ""),
        )
        users.append((u["username"], u["password"], u["role"]))
    session.flush()
    hotline = load_hotline(
        session, organisation_id=org_ids.get(HOTLINE_PROVIDER), split=HOTLINE_SPLIT
    )
    load_supply(session, actor=_LOADER)
    load_demo_arena(session, version=hotline)
    return DemoSummary(
        organisations=len(org_ids),
        models=len(model_ids),
        filings=len(filings),
        users=users,
    )


def _organisations(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """The demo's organisations; their ids by Chinese name."""
    org_ids: dict[str, int] = {}
    for o in rows:
        org = create_organisation(
            session,
            actor=_LOADER,
            data=OrganisationIn(
                name_zh=o["name_zh"],
                name_en=o.get("name_en", ""),
                credit_code=o["credit_code"],
                tier=o["tier"],
                layers=o["layers"],
                resident=o.get("resident", False),
                resident_since=o.get("resident_since"),
                website=o.get("website", ""),
                description=o.get("description", ""),
                regions=o.get("regions", []),
                contact=Contact(**o.get("contact", {})),
            ),
        )
        org_ids[o["name_zh"]] = org.id
    return org_ids


def _models(
    session: Session, rows: list[dict[str, Any]], org_ids: dict[str, int]
) -> dict[str, int]:
    """The demo's models; their ids by ``organisation/name``."""
    model_ids: dict[str, int] = {}
    by_name: dict[str, int] = {}
    for m in rows:
        base_name = m.get("base_model")
        model = create_model(
            session,
            actor=_LOADER,
            data=ModelIn(
                organisation_id=org_ids[m["organisation"]],
                name=m["name"],
                modality=m["modality"],
                open_weights=m.get("open_weights", False),
                parameters_b=m.get("parameters_b"),
                base_model_id=by_name[base_name] if base_name else None,
                base_model_text=m.get("base_model_text", ""),
                capability_tags=m.get("capability_tags", []),
                description=m.get("description", ""),
            ),
        )
        model_ids[f"{m['organisation']}/{m['name']}"] = model.id
        by_name.setdefault(m["name"], model.id)
    return model_ids


def load_hotline(
    session: Session,
    *,
    organisation_id: int | None,
    split: tuple[float, float, float] | None = None,
) -> DatasetVersion:
    """The demo corpus: 150 fictional hotline messages labelled by department, written for
    mosu's demo (no real person or message), split by the platform with a hidden test split
    (``split``: shares of train, dev and test; the import's default when omitted).

    Loaded again with another split, it becomes a new version of the same data set."""
    from mosu.corpus.catalogue import create_dataset
    from mosu.corpus.imports import import_version
    from mosu.corpus.readers import Part
    from mosu.corpus.schemas import DatasetIn, ImportOptions, Roles, SplitRatios

    dataset = session.scalar(select(Dataset).where(Dataset.name == HOTLINE_DATASET))
    dataset = dataset or create_dataset(
        session,
        actor=_LOADER,
        data=DatasetIn(
            name=HOTLINE_DATASET,
            organisation_id=organisation_id,
            licence="CC0 1.0",
            source="mosu 演示数据 / mosu demo data",
            provenance="为 mosu 演示编写的虚构留言，不含真实人物或真实留言。",
            industry_tags=["政务", "文本分类"],
            description="150 条虚构的区政务热线留言，按受理部门分为 6 类；测试集隐藏。",
        ),
    )
    result = import_version(
        session,
        actor=_LOADER,
        dataset=dataset,
        parts=[Part(HOTLINE.name, path=HOTLINE)],
        options=ImportOptions(
            roles=Roles(id_field="编号", input_fields=["标题", "内容"], label_field="受理部门"),
            ratios=SplitRatios(train=split[0], dev=split[1], test=split[2])
            if split
            else SplitRatios(),
        ),
    )
    if result.version is None:
        raise RuntimeError(f"demo corpus did not import: {result.report.problems[:3]}")
    return result.version
