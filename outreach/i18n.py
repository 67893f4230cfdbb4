"""The languages a supplier reads us in: the CMRT's ten, chosen once, formatted by Babel.

- ``normalise("en-US")`` -> "en", ``normalise("zh-TW")`` -> "zh_Hant": the ONE function that turns whatever a
  contact list, a browser or a CMRT's language selector says into a catalogue we have (or None).
- ``supplier_locale(...)``: the supplier's choice on the portal, else the contact's language from the import,
  else the language its last CMRT was filled in (the template's selector, Declaration!D3), else English.
- ``translations(locale)``: the gettext catalogue (``locale/<code>/LC_MESSAGES/messages.po``, read directly:
  nothing to compile, a clean checkout works). Managed with ``make messages`` (pybabel extract/update).
- ``format_day`` / ``format_number``: dates and numbers as the locale writes them (Babel's CLDR data).
- ``finding_text(...)``: the one way a finding's sentence is obtained for a locale.

Chinese: the CMRT ships one Chinese, Simplified (``zh``). Suppliers in Taiwan, Hong Kong and Macau read
Traditional characters, so ``zh-TW``/``zh-HK``/``zh-Hant`` get the ``zh_Hant`` catalogue: the same texts in
Traditional characters and Taiwan usage, keeping the RMI's Chinese terms.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, Iterator, Optional

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from outreach.settings import PROJECT_ROOT

LOCALE_DIR = PROJECT_ROOT / "locale"
DOMAIN = "messages"
ENGLISH = "en"

# The CMRT's ten languages, in the order of its language selector, and the name each is chosen by.
CMRT_LANGUAGES: dict[str, str] = {
    "en": "English", "zh": "中文", "ja": "日本語", "ko": "한국어", "fr": "Français",
    "pt": "Português", "de": "Deutsch", "es": "Español", "it": "Italiano", "tr": "Türkçe",
}
# Chinese in Traditional characters (Taiwan, Hong Kong, Macau): see the module's docstring.
SUPPORTED: dict[str, str] = {**CMRT_LANGUAGES, "zh_Hant": "繁體中文"}
# How Babel formats each catalogue's dates and numbers (Portuguese and Spanish as our suppliers write them).
FORMAT_LOCALE = {"zh": "zh_Hans_CN", "zh_Hant": "zh_Hant_TW", "pt": "pt_BR", "es": "es_MX"}


def normalise(value: Optional[str]) -> Optional[str]:
    """A catalogue code for a language code (``EN``, ``en-US``, ``pt_BR``, ``zh-TW``, ``zh-Hans-CN``) or a CMRT
    selector name (``日本語``, ``German``); None for anything we have no catalogue for. cmrt reads it (one
    reading for findings and for these catalogues); Simplified Chinese is this catalogue's ``zh``."""
    from cmrt.i18n import catalogue_language

    code = catalogue_language(value)
    return "zh" if code == "zh_Hans" else code


def negotiate(accept_language: Optional[str]) -> Optional[str]:
    """The first language of a browser's Accept-Language header we have a catalogue for."""
    ranked = []
    for n, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, n, tag.strip()))
    for _, _, tag in sorted(ranked):
        code = normalise(tag)
        if code:
            return code
    return None


def supplier_locale(*, chosen: Optional[str] = None, contact: Optional[str] = None,
                    last_cmrt: Optional[str] = None) -> str:
    """The language a supplier reads: its choice on the portal, else the contact's language from the import,
    else the one its last CMRT was filled in, else English."""
    for candidate in (chosen, contact, last_cmrt):
        code = normalise(candidate)
        if code:
            return code
    return ENGLISH


def company_locale(setting: Optional[str]) -> str:
    """The company's language (compliance pages, the VP's, internal mail): a setting, English by default."""
    return normalise(setting) or ENGLISH


# --- catalogues -------------------------------------------------------------------------------------


def catalogue_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=None)
def translations(code: str) -> NullTranslations:
    """The catalogue for a code, read from its .po (fuzzy entries are left out, as gettext does); English,
    and any code without a catalogue, read the message IDs themselves."""
    path = catalogue_path(code)
    if code == ENGLISH or not path.exists():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=code.replace("zh_Hant", "zh_Hant_TW"))
    buf = BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(fp=buf, domain=DOMAIN)


_current: contextvars.ContextVar[str] = contextvars.ContextVar("outreach_locale", default=ENGLISH)


def current() -> str:
    return _current.get()


@contextmanager
def using(code: Optional[str]) -> Iterator[str]:
    """Texts rendered inside read this locale (templates' ``_``/``trans``, ``gettext`` below, the date filters)."""
    code = normalise(code) or ENGLISH
    token = _current.set(code)
    try:
        yield code
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Marks a text for the catalogue where it is defined; translated where it is shown."""
    return message


def install(env) -> None:
    """Jinja2's i18n extension, reading the current locale on every call (one environment for all)."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(gettext, ngettext, newstyle=True)


# --- dates and numbers ------------------------------------------------------------------------------


def babel_locale(code: Optional[str] = None) -> str:
    code = code or current()
    return FORMAT_LOCALE.get(code, code)


def format_day(value: date | datetime | None, code: Optional[str] = None) -> str:
    """A date as the locale writes it in a letter: "23 December 2026", "2026年12月23日", "23. Dezember 2026"."""
    if value is None:
        return ""
    return format_date(value, format="long", locale=babel_locale(code))


def format_moment(value: datetime | None, code: Optional[str] = None) -> str:
    if value is None:
        return ""
    return format_datetime(value, format="medium", tzinfo=value.tzinfo, locale=babel_locale(code)) + " UTC"


def format_number(value: float | int | None, code: Optional[str] = None) -> str:
    if value is None:
        return ""
    return format_decimal(value, locale=babel_locale(code))


_ENGLISH_DAY = re.compile(r"^\d{1,2} [A-Z][a-z]+ \d{4}$")


def localise_day_text(value: Any, code: Optional[str] = None) -> Any:
    """A date the workflow wrote in words ("23 December 2026", models.facts.correction.day), in the locale;
    anything else unchanged. Workflows stay as they are: the locale is applied where the email is rendered."""
    if (code or current()) == ENGLISH:
        return value  # as the workflow wrote it
    if isinstance(value, str) and _ENGLISH_DAY.match(value):
        try:
            return format_day(datetime.strptime(value, "%d %B %Y").date(), code)
        except ValueError:
            return value
    return value


# --- findings ---------------------------------------------------------------------------------------

_UNFILLED = re.compile(r"{\w+}")


def finding_text(code: Optional[str], params: Optional[Mapping[str, Any]], english: str,
                 code_locale: Optional[str] = None, *, cell: Optional[str] = None) -> str:
    """THE way a supplier-facing finding's sentence is obtained for a locale: the finding catalogue
    (cmrt.messages) in that language when it has one, else the English sentence the check wrote.
    ``cell``: the finding's cell, which its sentence may name (cmrt keeps it apart from the parameters)."""
    code_locale = code_locale or current()
    if not code or code_locale == ENGLISH or params is None:
        return english  # no parameters (a row stored before they were kept): the English sentence says it whole
    from cmrt import messages

    if code not in messages.CATALOGUE:
        return english  # a code the finding catalogue does not know (an older record): as the check wrote it
    text = messages.render(code, {"cell": cell or "", **params}, code_locale)
    # A stored finding without its parameters would show "{row}": the English sentence says it whole.
    if not text or text == code or _UNFILLED.search(text):
        return english
    return text


def languages(codes: Iterable[str] = SUPPORTED) -> list[tuple[str, str]]:
    """(code, name in its own language) for a language switcher."""
    return [(c, SUPPORTED[c]) for c in codes]
