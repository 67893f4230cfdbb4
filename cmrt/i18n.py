"""Finding texts in the CMRT's ten languages: the `findings` gettext domain under cmrt/locale/.

Catalogues are bilingual gettext files: the msgid is the English template of cmrt/messages.py and the
msgctxt is the finding code (the stable key), because that is what translation vendors' tools show and
check best (source text beside the translation, placeholders compared, a changed English text turned
fuzzy by `pybabel update` so it is translated again). Numbers and dates in the parameters are written
the locale's way with Babel; English stays exactly as `finding()` wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from cmrt import messages
from cmrt.locales import LANGUAGES, SOURCE, cmrt_language

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "findings"

# Parameters that are quantities (written with the locale's digits grouping and decimal sign). Row
# numbers, years and versions are not: Excel and the template show them without grouping.
NUMBER_PARAMS = frozenset({"size_mb", "limit_mb", "cells", "limit", "count", "score", "memory_mb", "seconds"})
# Findings whose `value` is a date the check wrote as ISO (effective_date_*).
DATE_CODES = frozenset({"effective_date_out_of_range", "effective_date_future", "effective_date_stale"})
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d+)?$|^-?\d+(\.\d+)?$")


def language(locale: str | Iterable[str] | None) -> str:
    """The catalogue for a locale code ("EN", "en-US", "zh-CN", "zh-TW", "pt-BR", "ja_JP"), a CMRT
    language name ("日本語 Japanese"), or a list of them in order of preference; English when none
    is one of ours."""
    if locale is None:
        return SOURCE
    # an Accept-Language header ("de-DE,de;q=0.9,en;q=0.8") lists its preferences in order, like a list
    preferences = locale.split(",") if isinstance(locale, str) else locale
    for each in preferences:
        found = catalogue_language(each)
        if found:
            return found
    return SOURCE


def known(locale: str | None) -> bool:
    """Whether a locale names one of our languages (English included), so a typo can be told apart."""
    return any(catalogue_language(each) for each in (locale or "").split(","))


def catalogue_language(code: object) -> str | None:
    """THE one reading of a language a person or a file gives us: a locale code ("EN", "en-US", "zh-TW",
    "pt_BR", "de;q=0.9", "de-XX" with a region Babel does not know) or a CMRT selector name ("日本語",
    "中文 Chinese") -> one of LANGUAGES, or None when we have no catalogue for it."""
    text = code.strip() if isinstance(code, str) else ""
    if not text:
        return None
    by_name = cmrt_language(text)
    if by_name:
        return by_name
    tag = text.split(";")[0].strip().replace("-", "_")
    try:
        parsed = Locale.parse(tag)
    except (ValueError, TypeError, UnknownLocaleError):
        try:  # an unknown region or script still says the language
            parsed = Locale.parse(tag.split("_")[0].lower())
        except (ValueError, TypeError, UnknownLocaleError):
            return None
    if parsed.language == "zh":
        # zh-TW, zh-HK, zh-MO and zh-Hant parse with the Hant script (Babel's likely subtags)
        return "zh_Hant" if parsed.script == "Hant" or parsed.territory in ("TW", "HK", "MO") else "zh_Hans"
    return parsed.language if parsed.language in LANGUAGES else None


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of a language (NullTranslations, so English, when it has none)."""
    return Translations.load(str(LOCALE_DIR), [lang], DOMAIN)


@lru_cache(maxsize=len(LANGUAGES))
def babel_locale(lang: str) -> Locale:
    return Locale.parse(lang)


def render(code: str, params: dict[str, str], locale: str | Iterable[str] | None = None) -> str:
    lang = language(locale)
    if lang == SOURCE:
        return messages.message(code, **params)
    t = translations(lang)
    params = {k: "" if v is None else str(v) for k, v in params.items()}  # as finding() keeps them
    entry = messages.CATALOGUE.get(code)
    template = t.pgettext(code, entry[1]) if entry else code
    values = {k: _value(code, k, v, params, lang, t) for k, v in params.items()}
    try:
        return template.format_map(messages._Lenient(values))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template


def _value(code: str, name: str, value: str, params: dict[str, str], lang: str, t: NullTranslations) -> str:
    """One parameter, said in the language: its words translated, its numbers and dates localised."""
    if value is None or value == "":
        return ""
    keys = params.get(name + "_phrases")
    if keys:  # built from PHRASES in English: built again from their translations, listed with the locale's "and"
        others = {k: _value(code, k, v, params, lang, t) for k, v in params.items()
                  if k != name and not k.endswith("_phrases")}
        parts = []
        for spec in keys.split(","):
            key, _, n = spec.partition("@")  # key@n: a phrase said more than once, each with its own name@n values
            if key not in messages.PHRASES:
                continue
            own = dict(others)
            if n:
                own.update({k[:-len(n) - 1]: _value(code, k[:-len(n) - 1], v, params, lang, t)
                            for k, v in params.items() if k.endswith("@" + n)})
            parts.append(t.pgettext("phrase:" + key, messages.PHRASES[key]).format_map(messages._Lenient(own)))
        return format_list(parts, locale=babel_locale(lang)) if parts else value
    if value in messages.PARAM_TERMS.get(name, ()):
        return t.pgettext("param:" + name, value)
    if name in NUMBER_PARAMS and _NUMBER.match(value):
        return _number(value, lang)
    if name == "value" and code in DATE_CODES and _ISO_DATE.match(value):
        try:
            return format_date(date.fromisoformat(value), format="medium", locale=babel_locale(lang))
        except ValueError:
            return value
    return value


def _number(text: str, lang: str) -> str:
    """A number as the check wrote it ("1,234,567", "12.5"), in the locale's way, same decimals."""
    plain = text.replace(",", "")
    try:
        number = Decimal(plain)
    except InvalidOperation:
        return text
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(number, format=pattern, locale=babel_locale(lang))


# -- the catalogues themselves: checked and compiled by one call (`python -m cmrt.i18n`) -----------------

def catalogue_path(lang: str, suffix: str = "po") -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.{suffix}"


def problems(lang: str) -> list[str]:
    """Why a language's catalogue is not ready: an entry of cmrt/messages.py missing, untranslated or
    fuzzy, or a translation that drops, adds or renames a {placeholder}. Empty when it is ready."""
    from babel.messages.pofile import read_po

    from cmrt.i18n_extract import extract, placeholders

    path = catalogue_path(lang)
    if not path.exists():
        return [f"{path}: no catalogue"]
    with path.open("rb") as f:
        catalogue = read_po(f, locale=lang)
    with (Path(messages.__file__)).open("rb") as f:
        expected = [(ctx, text) for _, _, (ctx, text), _ in extract(f, None, None, None)]
    out = []
    for context, text in expected:
        entry = catalogue.get(text, context=context)
        where = f"{path.name} ({lang}) {context}"
        if entry is None or not entry.string:
            out.append(f"{where}: untranslated")
        elif entry.fuzzy:
            out.append(f"{where}: fuzzy")
        elif sorted(placeholders(entry.string)) != sorted(placeholders(text)):
            out.append(f"{where}: placeholders {placeholders(entry.string)} instead of {placeholders(text)}")
    return out


def compile_catalogues() -> list[str]:
    """Write every language's .mo from its .po; the problems found (nothing is written for a language
    that has any). `pybabel compile` also works, but takes the "% r" of "100% recycled" for an old-style
    placeholder; this checks the {placeholders} the templates really use."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    found: list[str] = []
    for lang in LANGUAGES:
        if lang == SOURCE:
            continue
        issues = problems(lang)
        found += issues
        if issues:
            continue
        with catalogue_path(lang).open("rb") as f:
            catalogue = read_po(f, locale=lang)
        with catalogue_path(lang, "mo").open("wb") as f:
            write_mo(f, catalogue)
    translations.cache_clear()
    return found


if __name__ == "__main__":
    issues = compile_catalogues()
    print("\n".join(issues) or f"{len(LANGUAGES) - 1} catalogues compiled in {LOCALE_DIR}")
    raise SystemExit(1 if issues else 0)
