"""Prompt templates: a plain template is recognised as Jinja2 parses it, and its direct
fill-in renders what Jinja2 renders."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from mosu.evals.errors import TaskError
from mosu.evals.prompts import Template

NAMES = ["q", "a", "题目"]
VALUES = st.one_of(st.text(), st.integers(), st.floats(allow_nan=False), st.none(), st.booleans())
JINJA = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def jinja_pieces(source: str) -> tuple[str | tuple[str], ...] | None:
    """The reference: text and ``(name,)`` read off Jinja2's own parse tree, ``None`` when
    the tree holds anything else."""
    pieces: list[str | tuple[str]] = []
    for node in JINJA.parse(source).body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                pieces.append(child.data)
            elif isinstance(child, nodes.Name) and child.ctx == "load":
                pieces.append((child.name,))
            else:
                return None
    return tuple(pieces)


@st.composite
def _plain_templates(draw: st.DrawFn) -> str:
    """Text (without Jinja2 syntax) and ``{{ name }}`` in any order and spacing."""
    text = st.text(alphabet=st.characters(blacklist_characters="{}%#\r"), max_size=12)
    parts = draw(st.lists(st.one_of(text, st.sampled_from(NAMES)), max_size=6))
    spaces = st.sampled_from(["", " ", "  ", "\n"])
    return "".join(f"{{{{{draw(spaces)}{p}{draw(spaces)}}}}}" if p in NAMES else p for p in parts)


# pieces of Jinja2 syntax, words it reads as constants or operators, and text around them
_ANY = st.lists(
    st.sampled_from(
        [
            *NAMES,
            "{{",
            "}}",
            "{%",
            "%}",
            "{#",
            "#}",
            "{",
            "}",
            " ",
            "\n",
            "\r",
            "-",
            "|",
            "x1",
            "1",
            "true",
            "None",
            "not",
            "in",
            "if",
            "self",
            "loop",
            "range",
            "'s'",
            ".",
            "[0]",
            "文",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_plain_templates(), st.fixed_dictionaries({n: VALUES for n in NAMES}))
def test_a_plain_template_is_filled_in_as_jinja_renders_it(
    source: str, values: dict[str, Any]
) -> None:
    template = Template(source, where="t")
    assert template._pieces is not None
    assert template.render(values) == JINJA.from_string(source).render(values).strip()


@settings(max_examples=400, deadline=None)
@given(st.one_of(_ANY, _plain_templates()))
def test_a_template_is_taken_as_plain_only_when_jinja_parses_it_so(source: str) -> None:
    try:
        reference = jinja_pieces(source)
    except TemplateSyntaxError:
        with pytest.raises(TaskError, match="template syntax error"):
            Template(source, where="t")
        return
    template = Template(source, where="t")
    variables = meta.find_undeclared_variables(JINJA.parse(source))
    assert template.variables == variables
    if template._pieces is not None:
        assert template._pieces == reference


@pytest.mark.parametrize(
    "source",
    [
        "{{ q | upper }}",
        "{% if a %}{{ q }}{% endif %}",
        "{{ q[0] }}",
        "{{ 'x' }}",
        "{{ true }}",
        "a\r\n{{ q }}",
        "{{- q }}",
        "{# note #}{{ q }}",
    ],
)
def test_other_templates_are_rendered_by_jinja(source: str) -> None:
    template = Template(source, where="t")
    assert template._pieces is None
    values = {"q": "ab", "a": 1}
    assert template.render(values) == JINJA.from_string(source).render(values).strip()


def test_a_missing_variable_is_still_jinjas_error() -> None:
    with pytest.raises(UndefinedError):
        Template("{{ q }} {{ a }}", where="t").render({"q": "x"})


def test_a_plain_template_does_not_load_jinja() -> None:
    """A race whose templates are text and ``{{ name }}`` never imports Jinja2."""
    import subprocess
    import sys

    code = (
        "import sys; from mosu.evals.prompts import Template; "
        "t = Template('第{{ i }}题：{{ q }}', where='t'); "
        "assert t.render({'i': 1, 'q': '?'}) == '第1题：?'; "
        "print('jinja2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
