"""Keeping the gettext catalogues in step with the code: ``python -m mosu.i18n.catalogues``.

Babel extracts every string the templates pass to ``_()`` and the code passes to
``i18n.gettext(lang, …)``, to a ``t(…)`` partial of it, or marks with ``N_()``, every catalogued ``Error``'s message and
every ``Text`` written with its source. The update
adds the new strings to both catalogues and drops the ones no longer written anywhere. The
Chinese catalogue starts each new string as written (the source language); the English one
starts it empty, and the tests fail until it is translated.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from mosu import i18n

PACKAGE = Path(i18n.__file__).parents[1]
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "gettext": (2,),
    "t": None,
    "N_": None,
    "Error": (3,),
    "Text": None,
}
"""``_`` in templates, ``gettext(lang, text)``, ``t(text)`` (a partial of it), ``N_`` markers."""


def extract() -> Catalog:
    """Every catalogued string written in the package, with where it is written."""
    template = Catalog(domain=i18n.DOMAIN, project="mosu")
    found = extract_from_dir(
        str(PACKAGE),
        METHODS,
        options_map={"**/templates/**.html": {"encoding": "utf-8"}},
        keywords=KEYWORDS,
        comment_tags=(),
        strip_comment_tags=True,
    )
    for filename, lineno, message, _comments, context in found:
        if isinstance(message, str) and message:
            template.add(message, locations=[(filename, lineno)], context=context)
    return template


def read(lang: i18n.Language) -> Catalog:
    with i18n.catalogue_path(lang).open("rb") as f:
        return read_po(f, locale=i18n.LOCALES[lang], domain=i18n.DOMAIN)


def write(lang: i18n.Language, catalogue: Catalog) -> None:
    with i18n.catalogue_path(lang).open("wb") as f:
        write_po(f, catalogue, width=0, no_location=True, omit_header=True, sort_output=True)


def update() -> dict[i18n.Language, list[str]]:
    """Bring both catalogues in step with the code; the new strings of each language."""
    template = extract()
    added: dict[i18n.Language, list[str]] = {}
    for lang in i18n.LANGUAGES:
        catalogue = read(lang)
        before = {m.id for m in catalogue if m.id}
        catalogue.update(
            copy.deepcopy(template), no_fuzzy_matching=True, update_header_comment=False
        )
        catalogue.obsolete.clear()
        for message in catalogue:
            if message.id and lang == "zh" and not message.string:
                message.string = message.id
        added[lang] = sorted(str(m.id) for m in catalogue if m.id and m.id not in before)
        write(lang, catalogue)
    return added


def main() -> None:
    added = update()
    untranslated = [m for m in (str(m.id) for m in read("en") if m.id and not m.string)]
    for lang, texts in added.items():
        print(f"{i18n.LOCALES[lang]}: {len(texts)} new")
    if untranslated:
        print(f"en: {len(untranslated)} to translate in {i18n.catalogue_path('en')}:")
        for text in untranslated:
            print(f"  {text}")
        sys.exit(1)


if __name__ == "__main__":
    main()
