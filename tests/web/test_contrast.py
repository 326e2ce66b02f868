"""Colour contrast of the stylesheets (WCAG 2.1, success criterion 1.4.3), computed here.

Every rule of ``mosu.css`` and ``arena.css`` that sets a text colour, a background or both is
paired with what it is shown on or with: its own background and colour where it sets both;
text colour alone is read on the page's light surfaces (or on the dark header for the
header's rules); a background alone carries the body text (or the header's). Every pair must
reach 4.5:1, the level for body-size text: no serious failure on any page."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from mosu.web.assets import STATIC_DIR

AA = 4.5
SHEETS = ("mosu.css", "arena.css")
DARK = "#0f172a"
"""The header's background: its rules are read on it, with its light text."""
DARK_TEXT = "#e2e8f0"
DARK_CONTEXT = (
    ".topbar",
    ".mainnav",
    ".brand",
    ".usernav",
    ".langswitch",
    ".whoami",
    "button.linkish",
    ".nav-toggle",
)
NAMED = {"white": "#ffffff", "black": "#000000", "#fff": "#ffffff", "#000": "#000000"}


@dataclass(frozen=True)
class Rule:
    selector: str
    colour: str | None
    background: str | None


def _variables(css: str) -> dict[str, str]:
    return dict(re.findall(r"(--[\w-]+)\s*:\s*(#[0-9a-fA-F]{3,6})\b", css))


def _colour(value: str, variables: dict[str, str]) -> str | None:
    """A declaration's solid colour as #rrggbb; ``None`` for none, gradients, currentColor."""
    value = value.strip().split("!")[0].strip()
    var = re.fullmatch(r"var\((--[\w-]+)\)", value)
    if var:
        value = variables.get(var[1], "")
    value = NAMED.get(value.lower(), value)
    if re.fullmatch(r"#[0-9a-fA-F]{3}", value):
        value = "#" + "".join(c * 2 for c in value[1:])
    return value.lower() if re.fullmatch(r"#[0-9a-fA-F]{6}", value) else None


def rules(css: str, variables: dict[str, str]) -> list[Rule]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = dict(
            (name.strip().lower(), value)
            for name, _, value in (d.partition(":") for d in body.split(";"))
            if value
        )
        colour = declarations.get("color")
        background = declarations.get("background-color") or declarations.get("background")
        if colour is None and background is None:
            continue
        found.append(
            Rule(
                " ".join(selector.split()),
                _colour(colour, variables) if colour else None,
                _colour(background, variables) if background else None,
            )
        )
    return found


def luminance(colour: str) -> float:
    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _bases(selector: str) -> list[str]:
    """The simpler selectors an element matching ``selector`` also matches, nearest first:
    ``.topbar a.button:hover`` → ``a.button``, ``.button``."""
    compound = re.split(r"[\s>+~]+", selector.strip())[-1]
    compound = re.sub(r":[\w-]+(\([^)]*\))?", "", compound)
    classes = re.findall(r"\.[\w-]+", compound)
    found = [compound] if compound != selector else []
    found += ["".join(classes[:n]) for n in range(len(classes), 0, -1)]
    return [c for c in dict.fromkeys(found) if c and c != selector]


def pairs(sheet: str) -> list[tuple[str, str, str]]:
    """(selector, text colour, background) for every pair the sheet shows."""
    main = (STATIC_DIR / "mosu.css").read_text(encoding="utf-8")
    variables = _variables(main)
    light = [variables["--surface"], variables["--bg"], "#f8fafc"]
    known: dict[str, Rule] = {}
    for rule in rules(main, variables) + rules((STATIC_DIR / sheet).read_text(), variables):
        for one in rule.selector.split(","):
            known.setdefault(one.strip(), rule)
    out = []
    for rule in rules((STATIC_DIR / sheet).read_text(encoding="utf-8"), variables):
        for selector in (s.strip() for s in rule.selector.split(",")):
            dark = selector.startswith(DARK_CONTEXT)
            # in the header a bare element inherits the header's colours, not the page's
            names = [b for b in _bases(selector) if not dark or b.startswith(".")]
            bases = [known[b] for b in names if b in known]
            colour = rule.colour or next((b.colour for b in bases if b.colour), None)
            ground = rule.background or next((b.background for b in bases if b.background), None)
            if colour and ground:
                out.append((selector, colour, ground))
            elif colour:
                out += [(selector, colour, g) for g in ([DARK] if dark else light)]
            elif ground:
                out.append((selector, DARK_TEXT if dark else variables["--text"], ground))
    return out


def test_the_computation_matches_wcag() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#2563eb", "#ffffff") == pytest.approx(5.17, abs=0.01)
    assert _bases(".topbar a.button:hover") == ["a.button", ".button"]
    assert _bases(".button.primary:hover") == [".button.primary", ".button"]
    css = ":root { --x: #2563eb; }\n.a { color: var(--x); background: white; }\n.b { color: #777; }"
    assert rules(css, _variables(css)) == [
        Rule(".a", "#2563eb", "#ffffff"),
        Rule(".b", "#777777", None),
    ]


@pytest.mark.parametrize("sheet", SHEETS)
def test_no_serious_contrast_failure(sheet: str) -> None:
    checked = pairs(sheet)
    assert len(checked) >= (40 if sheet == "mosu.css" else 1)
    failures = [
        f"{selector}: {fg} on {bg} is {contrast(fg, bg):.2f}:1"
        for selector, fg, bg in checked
        if contrast(fg, bg) < AA
    ]
    assert not failures, failures
