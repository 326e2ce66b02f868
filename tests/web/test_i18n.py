"""The message catalogue and enum labels (mosu/i18n/) and their use in the templates."""

from __future__ import annotations

import ast
import enum
import re
from pathlib import Path

import pytest

import mosu.web
from mosu import i18n
from mosu.challenges.models import ApplicationState, ChallengeKind, ChallengeState
from mosu.permissions import Role
from mosu.registry.models import FilingKind, FilingStatus, Layer, Modality, Tier
from mosu.scenarios.models import ScenarioStatus

WEB = Path(mosu.web.__file__).parent
_TEMPLATE_CALL = re.compile(r"""\b_\(\s*(["'])(.+?)\1""")


def _template_strings() -> set[str]:
    found: set[str] = set()
    for path in (WEB / "templates").rglob("*.html"):
        found.update(m.group(2) for m in _TEMPLATE_CALL.finditer(path.read_text("utf-8")))
    return found


def _python_strings() -> set[str]:
    """Literal texts passed to ``i18n.gettext(lang, …)`` or a ``partial`` of it in mosu/web."""
    found: set[str] = set()
    for path in WEB.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            args = node.args[1:] if name == "gettext" else node.args if name == "t" else []
            if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                found.add(args[0].value)
    return found


def test_every_template_string_has_an_english_translation() -> None:
    strings = _template_strings()
    assert len(strings) > 100
    missing = sorted(s for s in strings if s not in i18n.CATALOGUE)
    assert not missing, f"add to a mosu/i18n/messages module: {missing}"


def test_every_python_string_has_an_english_translation() -> None:
    strings = _python_strings() | set(i18n._PYDANTIC_MESSAGES.values())
    assert "请选择文件" in strings and "按梯队" in strings
    missing = sorted(s for s in strings if s not in i18n.CATALOGUE)
    assert not missing, f"add to a mosu/i18n/messages module: {missing}"


def test_translations_keep_their_placeholders() -> None:
    for zh, en in i18n.CATALOGUE.items():
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), zh


def test_a_label_must_cover_every_member() -> None:
    with pytest.raises(ValueError, match="without a label"):
        i18n.register_labels(Tier, {Tier.core: ("北斗七星", "Big Dipper (core)")})


@pytest.mark.parametrize(
    "cls",
    [
        *(Tier, Layer, Modality, FilingKind, FilingStatus, Role, ScenarioStatus),
        *(ChallengeKind, ChallengeState, ApplicationState),
    ],
)
def test_every_enum_member_has_labels_both_ways(cls: type[enum.Enum]) -> None:
    for member in cls:
        zh, en = i18n.label(member, "zh"), i18n.label(member, "en")
        assert zh != en and zh != member.value
        for text in (zh, en, str(member.value), f" {en.upper()} "):
            assert i18n.parse_label(cls, text) is member
    assert i18n.parse_label(cls, "nonsense") is None
    assert i18n.parse_label(cls, "") is None


def test_members_with_the_same_value_keep_their_own_labels() -> None:
    """ChallengeState.open and ScenarioStatus.open are both "open" (a StrEnum member equals
    its value), yet a challenge open for applications is 待揭榜 and a scenario 对接中."""
    assert i18n.label(ChallengeState.open, "zh") == "待揭榜"
    assert i18n.label(ScenarioStatus.open, "zh") == "对接中"
    assert i18n.parse_label(ChallengeState, "对接中") is None


def test_labels_match_the_field_words() -> None:
    assert [i18n.label(t, "zh") for t in Tier] == ["北斗七星", "群星", "其他"]
    assert [i18n.label(x, "zh") for x in Layer] == ["算力", "语料", "模型", "应用", "服务"]
    assert i18n.label(FilingKind.beian, "zh") == "备案"
    assert i18n.label(Role.supplier, "en") == "Supplier"


def test_gettext_and_messages() -> None:
    assert i18n.gettext("zh", "共 {n} 条", n=3) == "共 3 条"
    assert i18n.gettext("en", "共 {n} 条", n=3) == "3 in total"
    assert i18n.gettext("en", "不在目录里的话") == "不在目录里的话"
    assert i18n.normalise("en") == "en"
    assert i18n.normalise("fr") == "zh"
    assert i18n.normalise(None, "en") == "en"
    assert i18n.local_message("请先登录 / sign in first", "en") == "sign in first"
    assert i18n.local_message("请先登录 / sign in first", "zh") == "请先登录"
    assert i18n.local_message("组织 3 不存在", "en") == "组织 3 不存在"
    assert i18n.validation_message("missing", "Field required", "zh") == "此项必填"
    assert i18n.validation_message("value_error", "Value error, 校验位错误", "en") == "校验位错误"
