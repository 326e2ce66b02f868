"""A synthetic, labelled community for measuring matching quality (written for mosu).

Every supplier is given a hidden *true* set of capabilities and domains it has worked in;
its profile then speaks of them in varied words (tag forms and paraphrases), with some
boilerplate shared by all. A scenario asks for one capability (sometimes two) in one domain,
again in its own words. Relevance comes from the hidden truth, not from shared words:

* 2 (strong): the supplier has the scenario's main capability and has worked in its domain;
* 1 (partial): it has the main capability only, or the second one and the domain.

Deterministic for a given seed. ``python -m mosu.matching.synth`` rewrites
``mosu/matching/data/relevance.json``; ``generate_suppliers`` also feeds the 100,000-profile
benchmark.
"""

from __future__ import annotations

import json
import random
import re
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from mosu.matching.profiles import (
    CaseStudy,
    ModelBrief,
    RelevanceSet,
    ScenarioProfile,
    SupplierProfile,
)
from mosu.matching.synth_vocab import (
    CAPABILITIES,
    CASE_TEMPLATES,
    DOMAIN_CAPS,
    DOMAINS,
    FLUFF,
    MODEL_SUFFIX,
    NAME_CORES,
    NAME_KINDS,
    NAME_PLACES,
    REGIONS,
    SCENARIO_REGIONS,
    SCENARIO_TEMPLATES,
    SCENARIO_TITLES,
)

NOTICE = (
    "本文件为 mosu（模速）匹配引擎的标注相关性数据集，由 mosu/matching/synth.py 按固定随机种子"
    "生成，专为本项目编写。其中所有企业、模型、备案编号、案例与场景均为虚构，如有雷同纯属巧合。"
)
RELEVANCE_PATH = Path(__file__).resolve().parent / "data" / "relevance.json"
SEED = 20240707


@dataclass(frozen=True)
class Truth:
    capabilities: tuple[str, ...]
    domains: tuple[str, ...]


def _phrase(rng: random.Random, cap: str, *, tag_bias: float, asker: bool = False) -> str:
    """A way of saying ``cap``: suppliers draw from the first three paraphrases, scenarios
    (``asker``) from the last two, so the two sides share at most one of them."""
    _, tags, paraphrases = CAPABILITIES[cap]
    if rng.random() < tag_bias:
        return rng.choice(tags)
    return rng.choice(paraphrases[2:] if asker else paraphrases[:3])


def _name(rng: random.Random, used: set[str], serial: int) -> str:
    for _ in range(50):
        name = f"{rng.choice(NAME_PLACES)}{rng.choice(NAME_CORES)}{rng.choice(NAME_CORES)}{rng.choice(NAME_KINDS)}有限公司"
        if name not in used:
            used.add(name)
            return name
    name = f"{rng.choice(NAME_PLACES)}{rng.choice(NAME_CORES)}{serial}号{rng.choice(NAME_KINDS)}有限公司"
    used.add(name)
    return name


def _supplier(rng: random.Random, serial: int, used: set[str]) -> tuple[SupplierProfile, Truth]:
    domains = rng.sample(sorted(DOMAINS), rng.choice((1, 1, 2, 2, 3)))
    pool = sorted({c for d in domains for c in DOMAIN_CAPS[d]})
    n_caps = rng.choice((1, 1, 2, 2, 2, 3))
    caps = rng.sample(pool, min(n_caps, len(pool)))
    if rng.random() < 0.15:  # a generalist capability outside its domains
        caps.append(rng.choice(sorted(CAPABILITIES)))
    caps = list(dict.fromkeys(caps))
    name = _name(rng, used, serial)
    short = name[2:4]
    layers = sorted({CAPABILITIES[c][0] for c in caps})
    regions = sorted(set(rng.sample(REGIONS, rng.choice((1, 1, 2)))))

    models = []
    for i in range(rng.choice((1, 1, 2))):
        mine = caps if i == 0 else rng.sample(caps, 1)
        tags = [rng.choice(CAPABILITIES[c][1]) for c in mine]
        if rng.random() < 0.4:
            tags.append(rng.choice(("多轮对话", "长文本理解", "多模态", "工具调用", "摘要")))
        filed = rng.random() < 0.65
        model_name = f"{short}{rng.choice(MODEL_SUFFIX)}{' ' + str(rng.choice((7, 13, 34, 70))) + 'B' if i == 0 else ' Lite'}"
        desc = "，".join(_phrase(rng, c, tag_bias=0.2) for c in mine)
        models.append(
            ModelBrief(
                name=model_name,
                capability_tags=tuple(dict.fromkeys(tags)),
                description=f"{model_name}可用于{desc}。",
                filed=filed,
                filing_numbers=(f"Shanghai-Synth{serial:05d}{i}-2024{rng.randint(1, 12):02d}15",)
                if filed
                else (),
            )
        )

    cases = []
    for _ in range(rng.choice((0, 1, 1, 2))):
        cap = rng.choice(caps)
        domain = rng.choice(domains)
        forms, customers = DOMAINS[domain]
        template = rng.choice(CASE_TEMPLATES)
        cases.append(
            CaseStudy(
                title=f"{rng.choice(forms)}{_phrase(rng, cap, tag_bias=0.5)}项目",
                customer_type=rng.choice(customers),
                text=template.format(
                    customer=rng.choice(customers),
                    cap=_phrase(rng, cap, tag_bias=0.3),
                    para=_phrase(rng, cap, tag_bias=0.0),
                    domain=rng.choice(forms),
                ),
            )
        )
    domain_words = "、".join(rng.choice(DOMAINS[d][0]) for d in domains)
    offers = "；".join(_phrase(rng, c, tag_bias=0.35) for c in caps)
    description = f"{rng.choice(FLUFF)}面向{domain_words}等行业，提供{offers}。"
    profile = SupplierProfile(
        organisation_id=f"s{serial:05d}",
        name=name,
        description=description,
        layers=tuple(layers),
        regions=tuple(regions),
        models=tuple(models),
        case_studies=tuple(cases),
    )
    return profile, Truth(capabilities=tuple(caps), domains=tuple(domains))


def generate_suppliers(n: int, *, seed: int = SEED) -> tuple[list[SupplierProfile], list[Truth]]:
    """``n`` fictional suppliers and their hidden truths, deterministic for ``seed``."""
    rng = random.Random(seed)
    used: set[str] = set()
    pairs = [_supplier(rng, i, used) for i in range(n)]
    return [p for p, _ in pairs], [t for _, t in pairs]


def _scenario(
    rng: random.Random, serial: int, domain: str, cap: str, cap2: str | None
) -> ScenarioProfile:
    forms, customers = DOMAINS[domain]
    para = _phrase(rng, cap, tag_bias=0.0, asker=True)
    para2 = (
        _phrase(rng, cap2, tag_bias=0.3, asker=True)
        if cap2
        else rng.choice(("数据不出本单位", "支持国产化环境", "三个月内上线", "与现有系统对接"))
    )
    fields = {
        "customer": rng.choice(customers),
        "domain": rng.choice(forms),
        "para": para,
        "para2": para2,
        "tag": _phrase(rng, cap, tag_bias=0.6, asker=True),
    }
    required = [rng.choice(CAPABILITIES[cap][1])] if rng.random() < 0.6 else []
    if cap2 and rng.random() < 0.5:
        required.append(rng.choice(CAPABILITIES[cap2][1]))
    low = rng.choice((20, 50, 100, 200))
    return ScenarioProfile(
        scenario_id=f"q{serial:03d}",
        title=rng.choice(SCENARIO_TITLES).format(**fields),
        description=rng.choice(SCENARIO_TEMPLATES).format(**fields),
        domain=domain,
        required_capabilities=tuple(required),
        region=rng.choice(SCENARIO_REGIONS),
        budget_min=float(low),
        budget_max=float(low * rng.choice((2, 3, 5))),
        status="open",
    )


def grade(truth: Truth, domain: str, cap: str, cap2: str | None) -> int:
    """The hidden relevance of a supplier to a scenario (see the module docstring)."""
    if cap in truth.capabilities:
        return 2 if domain in truth.domains else 1
    if cap2 and cap2 in truth.capabilities and domain in truth.domains:
        return 1
    return 0


def build(n_suppliers: int = 320, n_scenarios: int = 60, *, seed: int = SEED) -> RelevanceSet:
    suppliers, truths = generate_suppliers(n_suppliers, seed=seed)
    rng = random.Random(seed + 1)
    scenarios: list[ScenarioProfile] = []
    labels: dict[str, dict[str, int]] = {}
    seen: set[tuple[str, str, str | None]] = set()
    for _ in range(100 * n_scenarios):
        if len(scenarios) == n_scenarios:
            break
        domain = rng.choice(sorted(DOMAINS))
        cap = rng.choice(DOMAIN_CAPS[domain])
        others = [c for c in DOMAIN_CAPS[domain] if c != cap]
        cap2 = rng.choice(others) if rng.random() < 0.3 else None
        if (domain, cap, cap2) in seen:
            continue
        graded = {
            s.organisation_id: g
            for s, t in zip(suppliers, truths, strict=True)
            if (g := grade(t, domain, cap, cap2))
        }
        if not any(g == 2 for g in graded.values()) or len(graded) > 35:
            continue
        seen.add((domain, cap, cap2))
        scenario = _scenario(rng, len(scenarios), domain, cap, cap2)
        scenarios.append(scenario)
        labels[scenario.scenario_id] = graded
    return RelevanceSet(suppliers=suppliers, scenarios=scenarios, labels=labels, notice=NOTICE)


def dump(rs: RelevanceSet) -> str:
    payload = {
        "notice": rs.notice,
        # has_offer (a catalogue offer) is a live-platform fact the generator never sets
        "suppliers": [
            {k: v for k, v in asdict(s).items() if k != "has_offer"} for s in rs.suppliers
        ],
        "scenarios": [asdict(s) for s in rs.scenarios],
        "labels": rs.labels,
    }
    return json.dumps(payload, ensure_ascii=False, indent=1) + "\n"


def load(path: Path = RELEVANCE_PATH) -> RelevanceSet:
    """The shipped relevance set."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    suppliers = [
        SupplierProfile(
            organisation_id=s["organisation_id"],
            name=s["name"],
            description=s["description"],
            layers=tuple(s["layers"]),
            regions=tuple(s["regions"]),
            models=tuple(
                ModelBrief(
                    name=m["name"],
                    capability_tags=tuple(m["capability_tags"]),
                    description=m["description"],
                    filed=m["filed"],
                    filing_numbers=tuple(m["filing_numbers"]),
                )
                for m in s["models"]
            ),
            case_studies=tuple(CaseStudy(**c) for c in s["case_studies"]),
        )
        for s in raw["suppliers"]
    ]
    scenarios = [
        ScenarioProfile(**{**q, "required_capabilities": tuple(q["required_capabilities"])})
        for q in raw["scenarios"]
    ]
    return RelevanceSet(
        suppliers=suppliers, scenarios=scenarios, labels=raw["labels"], notice=raw["notice"]
    )


def main() -> None:
    rs = build()
    RELEVANCE_PATH.write_text(dump(rs), encoding="utf-8")
    sizes = [len(v) for v in rs.labels.values()]
    print(
        f"{len(rs.suppliers)} suppliers, {len(rs.scenarios)} scenarios, "
        f"{min(sizes)}–{max(sizes)} relevant each → {RELEVANCE_PATH}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()


def _reword(rng: random.Random, text: str, pool: list[str]) -> str:
    """``text`` with a few pool words spliced into every clause, so clauses rarely repeat."""
    clauses = re.split(r"([，。；、])", text)
    out = []
    for part in clauses:
        if part and part not in "，。；、":
            words = rng.sample(pool, 2)
            cut = rng.randint(0, len(part))
            part = f"{part[:cut]}{words[0]}{part[cut:]}{words[1]}"
        out.append(part)
    return "".join(out)


def generate_varied_suppliers(n: int, *, seed: int = SEED) -> list[SupplierProfile]:
    """``n`` suppliers as ``generate_suppliers`` makes them, then reworded: every clause of
    every free text and tag gets words from the domain vocabulary spliced in, so few clauses
    repeat (the tokeniser's clause cache hits under 30%, as varied real profiles would)."""
    from mosu.matching.tokens import read_word_list

    rng = random.Random(seed + 1)
    pool = sorted({line.split()[0] for line in read_word_list("domain_dict.txt")})
    pool += sorted({w for d in DOMAINS.values() for w in d[0]})
    profiles, _ = generate_suppliers(n, seed=seed)
    out = []
    for p in profiles:
        models = tuple(
            replace(
                m,
                description=_reword(rng, m.description, pool),
                name=f"{rng.choice(pool)}{m.name.replace(' ', '')}",
                capability_tags=tuple(
                    rng.choice(pool) + t + rng.choice(pool) for t in m.capability_tags
                ),
            )
            for m in p.models
        )
        cases = tuple(
            replace(
                c,
                title=_reword(rng, c.title, pool),
                customer_type=_reword(rng, c.customer_type, pool),
                text=_reword(rng, c.text, pool),
            )
            for c in p.case_studies
        )
        out.append(
            replace(
                p,
                description=_reword(rng, p.description, pool),
                models=models,
                case_studies=cases,
            )
        )
    return out
