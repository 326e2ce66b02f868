"""Every page in both languages in Debian's Chromium: no English word in the Chinese UI
outside names, codes and units, no Chinese in the English UI outside proper names and user
data. The names and user data are read from the walked world's database, not typed here."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import JSON, Enum, String, Text, select
from sqlalchemy.orm import Session

from mosu.app import API_PREFIX
from mosu.i18n import LANG_COOKIE
from mosu.registry.models import Organisation
from mosu.tables import Base
from tests.conftest import LiveServer, World
from tests.helpers import scenarios as factory
from tests.helpers.chromium import browser, settled
from tests.helpers.routes import RouteInfo, checked_routes, requirements_of
from tests.test_permissions import build_walk, fill, login

__all__ = ["browser"]

#: Routes that answer no page of their own: the language switch redirects (and would change
#: the language under the walk), health and metrics are for machines, an image is an image.
NOT_PAGES = {"/lang/{code}", "/healthz", "/readyz", "/metrics", "/arena/{arena_id}/images/{sha256}"}

#: Latin words a Chinese page may show besides names from the data (compared ignoring case).
#: Kept short on purpose, anything else is interface text still to translate:
ZH_ALLOWED = {
    # the language switch; the platform's own name (模速 mosu)
    *("English", "mosu"),
    # file formats and protocols a user must recognise as written (an upload's type, a link)
    *("API", "HTTP", "HTTPS", "URL", "CSV", "JSON", "JSONL", "XLSX", "HTML", "PDF", "ZIP", "BOM"),
    # units and the standard abbreviations of the field, written so in Chinese too
    *("KB", "MB", "KiB", "MiB", "ms", "p95", "tokens", "n-gram"),
    # statistics named after their authors or abbreviated in every textbook (arena, panel)
    *("Bradley-Terry", "Kendall", "ICC", "CI", "df", "Elo"),
    # metrics known by their acronyms in Chinese texts too
    *("BLEU", "ROUGE-L", "F1"),
    # public benchmarks and licences a corpus is imported from, and the language named
    *("CMMLU", "CLUE", "CC", "BY-NC-SA", "Python"),
}
ZH_ALLOWED_FOLDED = {word.casefold() for word in ZH_ALLOWED}
#: Chinese an English page may show besides names and user data: the language switch.
EN_ALLOWED = {"中文"}

LATIN_WORD = re.compile(r"(?<![\w.@/-])[A-Za-z][\w.@/+-]*[A-Za-z0-9]")
CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+")
#: Codes: anything with a digit (ids, versions, hashes, dates), a dot, an @ or a slash (file
#: names, dotted names, addresses, paths).
CODE = re.compile(r".*[\d.@/]")

#: Columns of texts the platform writes (reasons and rules of decisions, failures, audit,
#: notifications, jobs, the words of a vote): interface text in a language, not user data, so
#: they earn no exemption. A reason an operator types for a decision is theirs, and is data.
WRITTEN_BY_THE_PLATFORM = {
    *("entries.cut_reason", "expert_conflicts.reason"),
    *("panel_members.recusal_reason", "run_results.error", "run_results.finish_reason"),
    *("submissions.failure", "arena_answers.error", "users.language", "arena_votes.judge"),
    *("arena_votes.source", "arena_votes.winner", "grades.preference", "dataset_rows.split"),
    *("compute_usage.reference_kind", "notice_preferences.topic"),
}
PLATFORM_TABLES = {"challenge_events", "notifications", "jobs", "run_meta", "worker_beats"}
#: What a person typed into a platform table: the reason an operator gives for a step of the
#: audit trail (closing a stage early, say) is theirs, and is data.
TYPED_IN_PLATFORM_TABLES = {"challenge_events": {"reason"}}
#: JSON columns of user data: tags, keywords, data set rows (their column names too), label
#: sets, review criteria, regions.
USER_JSON = {"capability_tags", "industry_tags", "keywords", "capabilities", "fields"}
USER_JSON |= {"label_set", "criteria", "regions"}
#: JSON columns the platform shapes around user data (a stage's task holds the prompt an
#: operator wrote, a version's schema the file's column names): only their free text counts,
#: not their keys and codes (``label``, ``train``, ``accuracy``).
SHAPED_JSON = {"task", "schema"}
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
TEMPLATE_GAP = re.compile(r"\{\{.*?\}\}|\n")

SIGNED_IN = ("operator", "expert", "supplier_a", "demand")
#: A challenge is published from a scenario.
QUERIES = {"/challenges/new": "?scenario_id={scenario_id}"}
EDITS = ("/edit", "/rubric")
#: The page's visible text and labels, the code it shows as code (monospaced), the words it
#: highlights (a matcher's terms, found in user data), and what it marks as Chinese.
PAGE_TEXT = """() => {
  const seen = [document.title, document.body.innerText];
  for (const el of document.querySelectorAll("[placeholder], [title], [aria-label]")) {
    for (const name of ["placeholder", "title", "aria-label"]) {
      const value = el.getAttribute(name);
      if (value) seen.push(value);
    }
  }
  const code = [];
  for (const el of document.querySelectorAll("code, pre, kbd, samp, .mono")) {
    code.push(el.innerText, el.getAttribute("placeholder") || "");
  }
  const marked = [...document.querySelectorAll("mark")].map(el => el.innerText.trim());
  const chinese = [...document.querySelectorAll("[lang=zh-CN]")].map(el => el.innerText.trim());
  return [seen, code.filter(c => c.trim().length > 1), marked.filter(m => m), chinese];
}"""


def strings_in(value: object, keys: bool = False) -> Iterator[str]:
    """The strings in a stored value (JSON text is read as JSON); with ``keys``, the keys of
    its mappings too."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if keys:
                yield str(key)
            yield from strings_in(item, keys)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item, keys)


@dataclass(frozen=True)
class Known:
    """Names and user data: taken out of a page's text before its words are judged."""

    values: tuple[str, ...]

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        # longest first, so a name goes before a shorter one inside it; never part of a word
        return re.compile("|".join(whole(v) for v in sorted(self.values, key=len, reverse=True)))

    def strip(self, text: str) -> str:
        return self.pattern.sub("\x00", text) if self.values else text

    def holds(self, fragment: str) -> bool:
        """Whether ``fragment`` is part of a value (a matcher's term highlighted)."""
        return any(fragment in v for v in self.values)

    def cut_short(self, text: str, m: re.Match[str]) -> bool:
        """A value cut short for a table cell (``…``)."""
        return text[m.end() : m.end() + 1] == "…" and self.holds(m.group())


def whole(value: str) -> str:
    """``value`` as a pattern matching it where it is not part of a longer Latin word."""
    return edge(value[0], "(?<!{})") + re.escape(value) + edge(value[-1], "(?!{})")


def edge(char: str, look: str) -> str:
    """A letter may not touch another letter, a digit another digit."""
    if char.isascii() and char.isalpha():
        return look.format("[A-Za-z]")
    return look.format("[0-9]") if char.isascii() and char.isdigit() else ""


def meaningful(value: str) -> bool:
    """A name worth taking out: one Chinese character is (a label 甲), one letter is not."""
    return len(value) > 1 or (len(value) == 1 and not value.isascii())


def user_data(db: Session) -> Known:
    """Every name, title, email, address and other user-written value the database holds."""
    found: set[str] = set()
    for table in Base.metadata.sorted_tables:
        if table.name in PLATFORM_TABLES and table.name not in TYPED_IN_PLATFORM_TABLES:
            continue
        for column in table.columns:
            text = isinstance(column.type, String | Text) and not isinstance(column.type, Enum)
            shaped = isinstance(column.type, JSON) and column.name in SHAPED_JSON
            stored = text or shaped or (isinstance(column.type, JSON) and column.name in USER_JSON)
            if f"{table.name}.{column.name}" in WRITTEN_BY_THE_PLATFORM or not stored:
                continue
            typed = TYPED_IN_PLATFORM_TABLES.get(table.name)
            if typed is not None and column.name not in typed:
                continue
            for value in db.scalars(select(column)):
                for whole_value in strings_in(value, keys=column.name == "fields"):
                    # a prompt template's text shows around the row's values it is filled with
                    parts = TEMPLATE_GAP.split(whole_value) if shaped else []
                    for s in (p.strip() for p in [whole_value, *parts]):
                        if meaningful(s) and not (shaped and IDENTIFIER.fullmatch(s)):
                            found.add(s)
    return Known(tuple(found))


def context_of(text: str, start: int, end: int) -> str:
    return text[max(0, start - 20) : end + 20].replace("\n", " ").replace("\x00", "…")


def foreign_words(
    lang: str, texts: Iterable[str], known: Known, code: Iterable[str] = ()
) -> list[str]:
    """The other language's words in a page's ``texts``, each with a little context; the
    ``code`` shown as code (YAML, identifiers) is left out."""
    found: list[str] = []
    for text in texts:
        rest = known.strip(text)
        for snippet in code:
            rest = rest.replace(snippet, "\x00")
        if lang == "zh":
            for m in LATIN_WORD.finditer(rest):
                word = m.group()
                if word.casefold() not in ZH_ALLOWED_FOLDED and not CODE.match(word):
                    found.append(f"{word!r} in {context_of(rest, m.start(), m.end())!r}")
        else:
            for m in CJK_RUN.finditer(rest):
                if m.group() not in EN_ALLOWED and not known.cut_short(rest, m):
                    found.append(f"{m.group()!r} in {context_of(rest, m.start(), m.end())!r}")
    return found


def test_the_word_filter_flags_the_other_language() -> None:
    data = Known(("甲大模型", "Org 1", "tech", "甲案例1"))
    zh = ["甲大模型（Org 1）的 Leaderboard：p95 12 ms，下载 CSV，SHA-256 3f2a9c1d，English"]
    assert [w.split()[0] for w in foreign_words("zh", zh, data)] == ["'Leaderboard'"]
    en = ["Model 甲大模型 of Org 1: 状态 open, 中文"]
    assert [w.split()[0] for w in foreign_words("en", en, data)] == ["'状态'"]
    assert foreign_words("en", ["Score 12.5 for 甲大…"], data) == []
    assert [w.split()[0] for w in foreign_words("zh", ["技术 technical"], data)] == ["'technical'"]
    assert foreign_words("en", ["甲案例1Delete"], data) == []
    assert foreign_words("zh", ["示例 metric: cost"], data, code=["metric: cost"]) == []
    names = Names({"甲科技": "Jia Tech"}, Known(("甲科技的场景",)))
    assert len(names.in_chinese(["Issuer: 甲科技 · 甲科技的场景", "Jia Tech"])) == 1
    assert names.in_chinese(["Jia Tech 甲科技"], marked=["甲科技"]) == []


def pages(app: FastAPI) -> list[RouteInfo]:
    return [
        r
        for r in checked_routes(app)
        if "GET" in r.methods
        and not r.path.startswith((API_PREFIX, "/static"))
        and r.path not in NOT_PAGES
    ]


def is_public(route: RouteInfo) -> bool:
    assert route.dependant is not None
    return not any(r.authenticated for r in requirements_of(route.dependant))


@dataclass(frozen=True)
class Names:
    """The organisations with an English name, by their Chinese name, and the user data that
    quotes such a name (a scenario's text, say)."""

    english: dict[str, str]
    others: Known

    @classmethod
    def of(cls, db: Session, data: Known) -> Names:
        rows = db.execute(
            select(Organisation.name_zh, Organisation.name_en).where(Organisation.name_en != "")
        )
        english = {zh: en for zh, en in rows}
        quoting = [v for v in data.values if v not in english and any(n in v for n in english)]
        return cls(english, Known(tuple(quoting)))

    def in_chinese(self, texts: Iterable[str], marked: Iterable[str] = ()) -> list[str]:
        """Organisations an English page names in Chinese outside what it marks as Chinese
        (``lang="zh-CN"``), although they have an English name."""
        found = []
        for text in texts:
            for snippet in marked:
                text = text.replace(snippet, "\x00")
            rest = self.others.strip(text)
            for zh, en in self.english.items():
                for m in re.finditer(re.escape(zh), rest):
                    shown = context_of(rest, m.start(), m.end())
                    found.append(f"{zh!r} in {shown!r}, not its English name {en!r}")
        return found


@dataclass
class Reader:
    """A tab of one identity in one language, gathering the other language's words."""

    context: BrowserContext
    lang: str
    data: Known
    names: Names

    def read(self, paths: list[str], who: str) -> tuple[list[str], list[str]]:
        """(the leaks found, the paths refused to ``who``); a path answering no HTML (a PDF,
        an image) is passed over."""
        page = self.context.new_page()
        leaks: list[str] = []
        refused: list[str] = []
        for path in paths:
            try:
                response = page.goto(path, wait_until="domcontentloaded")
            except PlaywrightError as error:  # a file (a PDF) is downloaded, not shown
                assert "Download is starting" in error.message, (who, path, error)
                continue
            assert response is not None
            if response.status in (403, 404):  # another's object: someone else reads it
                refused.append(path)
                continue
            if not response.headers.get("content-type", "").startswith("text/html"):
                continue
            assert response.ok, (who, path, response.status)
            for chart in page.locator("[data-figure]").all():
                chart.locator(".main-svg").first.wait_for()
            settled(page)
            texts, code, marked, chinese = page.evaluate(PAGE_TEXT)
            code += [m for m in marked if self.data.holds(m)]
            found = foreign_words(self.lang, texts, self.data, code)
            if self.lang == "en":
                found += self.names.in_chinese(texts, chinese)
            leaks += [f"{self.lang} {who} {path}: {leak}" for leak in found]
        page.close()
        return leaks, refused


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.loopback_endpoints  # the walked race's fake endpoints run on loopback
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("lang", ["zh", "en"])  # apart, so two workers can share the walk
def test_every_page_speaks_one_language(
    browser: Browser, app: FastAPI, live: LiveServer, world: World, db: Session, lang: str
) -> None:
    with ThreadPoolExecutor(1) as thread:  # the worker's event loop, away from Playwright's
        walk = thread.submit(build_walk, app, db, world).result()
    draft = {"challenge_id": factory.make_challenge(db, world, publish=False).id}
    db.commit()

    def filled(route: RouteInfo) -> str:  # a challenge's forms are a draft's
        editing = route.path.startswith("/challenges/") and route.path.endswith(EDITS)
        path = route.path + QUERIES.get(route.path, "")
        return fill(walk, app, path, "GET", draft if editing else None)

    routes = pages(app)
    every = [filled(r) for r in routes]
    public = [filled(r) for r in routes if is_public(r)]
    data = user_data(db)
    names = Names.of(db, data)
    cookies = {who: login(live, walk, who) for who in SIGNED_IN}
    leaks: list[str] = []
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": LANG_COOKIE, "value": lang, "url": live.url}])
    reader = Reader(context, lang, data, names)
    try:
        found, _ = reader.read(public, "public")
        leaks += found
        left = every  # the operator reads them all; what it may not, the others do
        for who in SIGNED_IN:
            jar = [{"name": k, "value": v, "url": live.url} for k, v in cookies[who].items()]
            context.add_cookies(jar)  # type: ignore[arg-type]
            found, left = reader.read(left, who)
            leaks += found
        assert not left, f"refused to everyone signed in: {left}"
    finally:
        context.close()
    assert not leaks, "the other language's words:\n" + "\n".join(leaks)
