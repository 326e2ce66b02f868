"""The hand-written relevance set (手写相关性集): ``data/handset.yaml``.

Written by hand for mosu, entry by entry, not by :mod:`mosu.matching.synth`: realistic
scenarios and supplier profiles that say the same thing in different words (OCR and 文字识别,
RAG and 检索增强, English inside Chinese text), with lexical traps (camera installers for a
video-AI scenario, a law firm for a legal-AI one, demand-side bodies that offer nothing) and
grades 0/1/2 given by a person. Held out from the generator, it keeps the engine honest about
words the generated set never varies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mosu.matching.profiles import (
    CaseStudy,
    ModelBrief,
    RelevanceSet,
    ScenarioProfile,
    SupplierProfile,
)

__all__ = ["HANDSET_PATH", "RelevanceSet", "load"]

HANDSET_PATH = Path(__file__).resolve().parent / "data" / "handset.yaml"


def _supplier(row: dict[str, Any]) -> SupplierProfile:
    return SupplierProfile(
        organisation_id=row["id"],
        name=row["name"],
        description=row.get("desc", ""),
        layers=tuple(row.get("layers") or ()),
        regions=tuple(row.get("regions") or ()),
        models=tuple(
            ModelBrief(
                name=m["name"],
                capability_tags=tuple(m.get("tags") or ()),
                description=m.get("desc", ""),
                filed=bool(m.get("filed")),
            )
            for m in row.get("models") or ()
        ),
        case_studies=tuple(
            CaseStudy(c["title"], c.get("customer", ""), c.get("text", ""))
            for c in row.get("cases") or ()
        ),
    )


def _scenario(row: dict[str, Any]) -> ScenarioProfile:
    return ScenarioProfile(
        scenario_id=row["id"],
        title=row["title"],
        description=row.get("desc", ""),
        domain=row.get("domain", ""),
        required_capabilities=tuple(row.get("caps") or ()),
        region=row.get("region", ""),
    )


def load(path: Path = HANDSET_PATH) -> RelevanceSet:
    """The set, grades as written (0 kept: a trap's grade records the intent)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return RelevanceSet(
        suppliers=[_supplier(row) for row in data["suppliers"]],
        scenarios=[_scenario(row) for row in data["scenarios"]],
        labels={
            row["id"]: {k: int(v) for k, v in row["labels"].items()} for row in data["scenarios"]
        },
        notice=data["notice"],
    )
