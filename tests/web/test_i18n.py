"""The gettext catalogues and enum labels (mosu/i18n/) and their use in the templates and code."""

from __future__ import annotations

import enum
import re

import pytest

from mosu import i18n
from mosu.challenges.models import ApplicationState, ChallengeKind, ChallengeState
from mosu.i18n import catalogues
from mosu.permissions import Role
from mosu.registry.models import FilingKind, FilingStatus, Layer, Modality, Tier
from mosu.scenarios.models import ScenarioStatus

UPDATE = "run `python -m mosu.i18n.catalogues` and translate in mosu/i18n/locale/en"


@pytest.fixture(scope="module")
def written() -> set[str]:
    """Every string the templates and the code hand to the catalogues, as Babel extracts it."""
    return {str(m.id) for m in catalogues.extract() if m.id}


def test_the_extraction_finds_templates_code_and_markers(written: set[str]) -> None:
    assert len(written) > 1000
    assert "请选择文件" in written  # i18n.gettext(lang, …) in mosu/web
    assert "按梯队" in written  # a t(…) partial
    assert "生态概览" in written  # _(…) in a template
    assert "72 小时内截止的赛马阶段" in written  # N_(…) where a desk section is written
    assert "此项必填" in written  # pydantic's messages


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_each_catalogue_holds_exactly_the_strings_written(
    written: set[str], lang: i18n.Language
) -> None:
    held = {str(m.id) for m in catalogues.read(lang) if m.id}
    assert not sorted(written - held), f"not in {lang}'s catalogue: {UPDATE}"
    assert not sorted(held - written), f"no longer written anywhere: {UPDATE}"


def test_every_string_written_has_its_english(written: set[str]) -> None:
    missing = sorted(s for s in written if s not in i18n.CATALOGUES["en"])
    assert not missing, f"{UPDATE}: {missing}"
    assert all(s in i18n.CATALOGUES["zh"] for s in written)


def test_translations_keep_their_placeholders() -> None:
    for lang in i18n.LANGUAGES:
        for source, shown in i18n.CATALOGUES[lang].items():
            assert set(re.findall(r"{(\w+)}", source)) == set(re.findall(r"{(\w+)}", shown)), source


def test_an_untranslated_string_fails_the_check(tmp_path, monkeypatch) -> None:
    """The update adds a new string to both catalogues: the Chinese as written, the English
    empty, which the check reports (so a string cannot reach the English page untranslated)."""
    package = tmp_path / "mosu"
    for lang in i18n.LANGUAGES:
        target = package / "i18n/locale" / i18n.LOCALES[lang] / "LC_MESSAGES"
        target.mkdir(parents=True)
        target.joinpath("mosu.po").write_bytes(i18n.catalogue_path(lang).read_bytes())
    (package / "new.py").write_text('from mosu.i18n import N_\nTITLE = N_("新的标题")\n', "utf-8")
    monkeypatch.setattr(catalogues, "PACKAGE", package)
    monkeypatch.setattr(i18n, "LOCALE_DIR", package / "i18n/locale")
    added = catalogues.update()
    assert added == {"zh": ["新的标题"], "en": ["新的标题"]}
    zh = {m.id: m.string for m in catalogues.read("zh")}
    en = {m.id: m.string for m in catalogues.read("en")}
    assert zh["新的标题"] == "新的标题" and en["新的标题"] == ""
    assert "生态概览" not in zh  # only new.py is written in this package


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
    bilingual = "Value error, 下限不能高于上限 / the lower bound is above the upper"
    assert (
        i18n.validation_message("value_error", bilingual, "en")
        == "the lower bound is above the upper"
    )
    assert i18n.validation_message("value_error", bilingual, "zh") == "下限不能高于上限"
    # a string marked N_ where it is written is shown from the catalogue by local()/render
    assert i18n.render("（双盲评审，已隐去）", "en") == "(masked for double-blind review)"
    assert i18n.render("（双盲评审，已隐去）", "zh") == "（双盲评审，已隐去）"
    assert i18n.render("甲公司", "en") == "甲公司"  # a name stays as it is


def test_a_validators_own_error_reads_in_the_readers_language() -> None:
    """A validator raises a catalogued error (with its fields) or a catalogued text: forms and
    the API show it in the reader's language, never as a "中文 / English" pair."""
    from pydantic import ValidationError

    from mosu.review.schemas import RubricIn
    from mosu.scenarios.schemas import ScenarioIn

    criterion = {"key": "q", "name": "质量", "weight": 60}
    try:
        RubricIn.model_validate({"criteria": [criterion]})
    except ValidationError as exc:
        error = exc.errors()[0]
    assert error["type"] == "review.weights_sum_to_100"
    shown = {
        lang: i18n.validation_message(error["type"], error["msg"], lang, error.get("ctx"))
        for lang in i18n.LANGUAGES
    }
    assert shown == {
        "zh": "各项权重之和须为 100（现为 60）",
        "en": "The weights must sum to 100 (they sum to 60)",
    }
    try:
        ScenarioIn.model_validate({"title": "场景", "budget_min_yuan": 9, "budget_max_yuan": 1})
    except ValidationError as exc:
        budget = next(e for e in exc.errors() if e["type"] == "value_error")
    assert i18n.validation_message(budget["type"], budget["msg"], "en") == (
        "The budget's lower bound is above its upper bound"
    )
