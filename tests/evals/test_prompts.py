"""Prompt templates: the direct fill-in of plain templates renders what Jinja2 renders."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mosu.evals.prompts import Template

NAMES = ["q", "a", "题目"]
VALUES = st.one_of(st.text(), st.integers(), st.floats(allow_nan=False), st.none(), st.booleans())


@st.composite
def _plain_templates(draw: st.DrawFn) -> str:
    """Text (without Jinja2 syntax) and ``{{ name }}`` in any order and spacing."""
    text = st.text(alphabet=st.characters(blacklist_characters="{}%#"), max_size=12)
    parts = draw(st.lists(st.one_of(text, st.sampled_from(NAMES)), max_size=6))
    spaces = st.sampled_from(["", " ", "  "])
    return "".join(f"{{{{{draw(spaces)}{p}{draw(spaces)}}}}}" if p in NAMES else p for p in parts)


@settings(max_examples=300, deadline=None)
@given(_plain_templates(), st.fixed_dictionaries({n: VALUES for n in NAMES}))
def test_a_plain_template_is_filled_in_as_jinja_renders_it(
    source: str, values: dict[str, Any]
) -> None:
    template = Template(source, where="t")
    assert template._pieces is not None
    assert template.render(values) == template._template.render(values).strip()


@pytest.mark.parametrize(
    "source", ["{{ q | upper }}", "{% if a %}{{ q }}{% endif %}", "{{ q[0] }}", "{{ 'x' }}"]
)
def test_other_templates_are_rendered_by_jinja(source: str) -> None:
    template = Template(source, where="t")
    assert template._pieces is None
    assert template.render({"q": "ab", "a": 1}) == template._template.render(q="ab", a=1)


def test_a_missing_variable_is_still_jinjas_error() -> None:
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        Template("{{ q }} {{ a }}", where="t").render({"q": "x"})
