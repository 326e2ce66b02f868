"""What the matching engine reads: supplier profiles (供给方画像) and scenarios (应用场景).

Plain dataclasses, so the engine is a pure function of them; :mod:`mosu.search.live` builds
them from the registry's and the board's objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mosu.i18n import N_

LAYER_ZH = {
    "compute": N_("算力"),
    "corpus": N_("语料"),
    "model": N_("模型"),
    "application": N_("应用"),
    "service": N_("服务"),
}
NATIONWIDE = "全国"
AI_LAYERS = frozenset({"compute", "corpus", "model", "application"})
"""Layers that are AI supply in themselves; 服务 (service) also covers consultancies,
outsourced call centres and installers, so it counts only with a model behind it."""


@dataclass(frozen=True)
class ModelBrief:
    """A model a supplier offers, with its capability tags (能力标签) and filing facts."""

    name: str
    capability_tags: tuple[str, ...] = ()
    description: str = ""
    filed: bool = False
    """Has an active 备案."""
    filing_numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseStudy:
    """A delivered project (落地案例): title, customer type (政府, 医院, 银行 …) and text."""

    title: str
    customer_type: str = ""
    text: str = ""


@dataclass(frozen=True)
class SupplierProfile:
    """An organisation as a supplier: who it is, where it serves, what its models can do."""

    organisation_id: str
    name: str
    description: str = ""
    layers: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    models: tuple[ModelBrief, ...] = ()
    case_studies: tuple[CaseStudy, ...] = ()
    has_offer: bool = False
    """Lists an offer in the supply catalogue (compute pool, corpus offer, model service)."""

    @property
    def is_supplier(self) -> bool:
        """Offers something: a model, a case study, a catalogue offer or a chain layer. A
        hotline centre or a hospital in the registry is demand, never recommended."""
        return bool(self.models or self.case_studies or self.has_offer or self.layers)

    @property
    def shows_ai_supply(self) -> bool:
        """Has a model, a catalogue offer or an AI layer (the layer prior's question)."""
        return bool(self.models or self.has_offer or AI_LAYERS.intersection(self.layers))

    @property
    def capability_tags(self) -> tuple[str, ...]:
        """Every model's tags, first occurrence first, without repeats."""
        return tuple(dict.fromkeys(tag for m in self.models for tag in m.capability_tags))

    @property
    def filed_models(self) -> tuple[str, ...]:
        """Names of the models with an active 备案."""
        return tuple(m.name for m in self.models if m.filed)

    @property
    def has_filed_model(self) -> bool:
        return any(m.filed for m in self.models)

    def text(self) -> str:
        """The searchable text. Tags and model names count twice: they are the profile's
        own summary of what it offers, while descriptions carry more incidental words."""
        parts = [self.name, self.description]
        parts += [" ".join(LAYER_ZH.get(layer, layer) for layer in self.layers)]
        tags = " ".join(self.capability_tags)
        parts += [tags, tags]
        for m in self.models:
            parts += [m.name, m.description]
        for case in self.case_studies:
            parts += [case.title, case.customer_type, case.text]
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class ScenarioProfile:
    """An application scenario a demand organisation posts (应用场景需求)."""

    scenario_id: str
    title: str
    description: str = ""
    domain: str = ""
    required_capabilities: tuple[str, ...] = ()
    region: str = ""
    budget_min: float | None = None
    """万元; None when open or 面议."""
    budget_max: float | None = None
    status: str = "open"

    def text(self) -> str:
        """The searchable text; the title and required capabilities count twice."""
        caps = " ".join(self.required_capabilities)
        parts = [self.title, self.title, self.domain, caps, caps, self.description]
        return "\n".join(p for p in parts if p)


@dataclass
class RelevanceSet:
    """Scenarios with graded relevant suppliers (2 strong, 1 partial) among profiles."""

    suppliers: list[SupplierProfile]
    scenarios: list[ScenarioProfile]
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    notice: str = ""


def serves_region(regions: Iterable[str], wanted: str) -> bool:
    """Whether a supplier serving ``regions`` covers ``wanted`` (全国 covers everywhere)."""
    regions = tuple(regions)
    return not wanted or wanted in regions or NATIONWIDE in regions or wanted == NATIONWIDE
