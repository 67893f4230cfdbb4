"""Smelter risk from RMAP status and location.

The rule (one place; reports and the risk review use it through :func:`smelter_risk`):

- ``Conformant`` (including re-audit in progress) -> ``low``
- ``Active`` (committed, assessment scheduled) -> ``medium``
- any other status (``Not Enrolled``, ``Non-Conformant``, a service provider's own state) or no
  status -> ``high`` when the smelter is in one of the :data:`COVERED_COUNTRIES` or the status is
  ``Non-Conformant``, else ``medium``
- a row that matched no smelter -> ``unknown`` (decided by the matcher, not here)

Covered countries: the Democratic Republic of the Congo and its nine adjoining countries, as in
CMRT question 3 and Form SD.
"""

from __future__ import annotations

from functools import lru_cache, wraps
from typing import Callable, Literal, TypeVar

Risk = Literal["low", "medium", "high", "unknown"]
_T = TypeVar("_T")


def cache_text(fn: Callable[[object], _T]) -> Callable[[object], _T]:
    """Memoise a pure one-argument normaliser for str input (cell values: the same few names and
    codes recur in every row and every file); other input is computed each time."""
    cached = lru_cache(maxsize=16384)(fn)

    @wraps(fn)
    def normalise(value: object) -> _T:
        return cached(value) if type(value) is str else fn(value)

    return normalise

# Country names as the CMRT's country list (hidden sheet C) spells them.
COVERED_COUNTRIES: frozenset[str] = frozenset({
    "CONGO, DEMOCRATIC REPUBLIC OF THE",
    "CONGO",  # Republic of the Congo
    "CENTRAL AFRICAN REPUBLIC",
    "SOUTH SUDAN",
    "RWANDA",
    "UGANDA",
    "ZAMBIA",
    "BURUNDI",
    "TANZANIA, UNITED REPUBLIC OF",
    "ANGOLA",
})

# Other spellings seen in supplier files and older lists -> the CMRT spelling.
_COUNTRY_SYNONYMS = {
    "DRC": "CONGO, DEMOCRATIC REPUBLIC OF THE",
    "DR CONGO": "CONGO, DEMOCRATIC REPUBLIC OF THE",
    "DEMOCRATIC REPUBLIC OF THE CONGO": "CONGO, DEMOCRATIC REPUBLIC OF THE",
    "DEMOCRATIC REPUBLIC OF CONGO": "CONGO, DEMOCRATIC REPUBLIC OF THE",
    "CONGO, THE DEMOCRATIC REPUBLIC OF THE": "CONGO, DEMOCRATIC REPUBLIC OF THE",
    "CONGO (KINSHASA)": "CONGO, DEMOCRATIC REPUBLIC OF THE",
    "CONGO-KINSHASA": "CONGO, DEMOCRATIC REPUBLIC OF THE",
    "REPUBLIC OF THE CONGO": "CONGO",
    "REPUBLIC OF CONGO": "CONGO",
    "CONGO (BRAZZAVILLE)": "CONGO",
    "CONGO-BRAZZAVILLE": "CONGO",
    "CAR": "CENTRAL AFRICAN REPUBLIC",
    "TANZANIA": "TANZANIA, UNITED REPUBLIC OF",
    "UNITED REPUBLIC OF TANZANIA": "TANZANIA, UNITED REPUBLIC OF",
    "USA": "UNITED STATES OF AMERICA",
    "US": "UNITED STATES OF AMERICA",
    "U.S.A.": "UNITED STATES OF AMERICA",
    "UNITED STATES": "UNITED STATES OF AMERICA",
    "UK": "UNITED KINGDOM OF GREAT BRITAIN AND NORTHERN IRELAND",
    "UNITED KINGDOM": "UNITED KINGDOM OF GREAT BRITAIN AND NORTHERN IRELAND",
    "SOUTH KOREA": "KOREA, REPUBLIC OF",
    "KOREA": "KOREA, REPUBLIC OF",
    "REPUBLIC OF KOREA": "KOREA, REPUBLIC OF",
    "TAIWAN": "TAIWAN, PROVINCE OF CHINA",
    "VIETNAM": "VIET NAM",
    "CZECH REPUBLIC": "CZECHIA",
    "RUSSIA": "RUSSIAN FEDERATION",
    "BOLIVIA": "BOLIVIA (PLURINATIONAL STATE OF)",
    "LAOS": "LAO PEOPLE'S DEMOCRATIC REPUBLIC",
    "TURKIYE": "TURKEY",
    "NORTH MACEDONIA, REPUBLIC OF": "NORTH MACEDONIA",
    "PRC": "CHINA",
    "P.R. CHINA": "CHINA",
    "PEOPLE'S REPUBLIC OF CHINA": "CHINA",
}


@cache_text
def country_key(country: object) -> str:
    """The CMRT spelling of a country (upper case, blanks collapsed, common synonyms mapped); '' if none."""
    if country is None:
        return ""
    text = " ".join(str(country).split()).upper()
    if text in ("", "0", "UNKNOWN", "N/A"):
        return ""
    return _COUNTRY_SYNONYMS.get(text, text)


def is_covered_country(country: object) -> bool:
    return country_key(country) in COVERED_COUNTRIES


def canonical_status(status: object) -> str | None:
    """RMAP status as the product names it: Conformant, Active, Not Enrolled, Non-Conformant, or as given.

    RMI's own wording varies over the years and between exports ("Conformant (Re-assessment in
    progress)", "Not enrolled", "Compliant" in CFSI days).
    """
    text = " ".join(str(status or "").split())
    low = text.casefold()
    if not low or low in ("0", "none", "n/a"):
        return None
    if "non-conformant" in low or "non conformant" in low or "nonconformant" in low:
        return "Non-Conformant"
    if "not enrolled" in low or "not-enrolled" in low:
        return "Not Enrolled"
    if low.startswith(("conformant", "compliant")):
        return "Conformant"
    if low.startswith("active"):
        return "Active"
    return text


@lru_cache(maxsize=4096)
def smelter_risk(rmap_status: str | None, country: str | None) -> Risk:
    """Risk of a matched smelter (see the module docstring for the rule)."""
    status = canonical_status(rmap_status)
    if status == "Conformant":
        return "low"
    if status == "Active":
        return "medium"
    if status == "Non-Conformant" or is_covered_country(country):
        return "high"
    return "medium"
