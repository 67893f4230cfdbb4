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

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "findings"
SOURCE = "en"
# Catalogue folders: the CMRT's ten languages (Chinese as the template has it, Simplified) and
# Traditional Chinese for suppliers in Taiwan and Hong Kong.
LANGUAGES: tuple[str, ...] = ("en", "zh_Hans", "zh_Hant", "ja", "ko", "fr", "pt", "de", "es", "it", "tr")

# The CMRT's language selector (Declaration!D3) as the template writes it.
CMRT_LANGUAGES: dict[str, str] = {
    "english": "en", "中文 chinese": "zh_Hans", "日本語 japanese": "ja", "한국어 korean": "ko",
    "français": "fr", "português": "pt", "deutsch": "de", "español": "es", "italiano": "it", "türkçe": "tr",
}

# Parameters that are quantities (written with the locale's digits grouping and decimal sign). Row
# numbers, years and versions are not: Excel and the template show them without grouping.
NUMBER_PARAMS = frozenset({"size_mb", "limit_mb", "cells", "limit", "count", "score"})
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
    if not isinstance(locale, str):
        for each in locale:
            found = _one(each)
            if found:
                return found
        return SOURCE
    return _one(locale) or SOURCE


def _one(code: str | None) -> str | None:
    text = (code or "").strip()
    if not text:
        return None
    by_name = CMRT_LANGUAGES.get(text.casefold())
    if by_name:
        return by_name
    try:
        parsed = Locale.parse(text.split(";")[0].strip().replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if parsed.language == "zh":
        # zh-TW, zh-HK, zh-MO and zh-Hant parse with the Hant script (Babel's likely subtags)
        return "zh_Hant" if parsed.script == "Hant" or parsed.territory in ("TW", "HK", "MO") else "zh_Hans"
    return parsed.language if parsed.language in LANGUAGES else None


def cmrt_language(selector: str | None) -> str | None:
    """The catalogue for the language a CMRT was filled in (its Declaration!D3 selector), or None."""
    return CMRT_LANGUAGES.get((selector or "").strip().casefold())


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of a language (NullTranslations, so English, when it has none)."""
    return Translations.load(str(LOCALE_DIR), [lang], DOMAIN)


def babel_locale(lang: str) -> Locale:
    return Locale.parse(lang)


def render(code: str, params: dict[str, str], locale: str | Iterable[str] | None = None) -> str:
    lang = language(locale)
    if lang == SOURCE:
        return messages.message(code, **params)
    t = translations(lang)
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
    if name == "reason" and params.get("reasons"):
        parts = [t.pgettext("phrase:" + key, messages.PHRASES[key]).format_map(messages._Lenient(params))
                 for key in params["reasons"].split(",") if key in messages.PHRASES]
        return format_list(parts, locale=babel_locale(lang)) if parts else value
    if name == "what_it_is" and "kind" in params:
        if params["kind"]:
            what = _value(code, "what", params.get("what", ""), params, lang, t)
            text = t.pgettext("phrase:other_template", messages.PHRASES["other_template"])
            return text.format_map(messages._Lenient({"kind": params["kind"], "what": what}))
        return t.pgettext("phrase:no_template", messages.PHRASES["no_template"])
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
