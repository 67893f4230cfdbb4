"""Smelter risk as the seeds define it: high, medium or low, always with its reasons.

The seed's Conflict Minerals Report says how the company grades a smelter or refiner:

    "Each smelter or refiner is assigned a risk of high, medium, or low based on the following five
    factors: (1) its geographic proximity to the Covered Countries; (2) known mineral source country
    of origin; (3) its RMAP audit status; (4) credible evidence of unethical or conflict sourcing;
    and (5) peer assessments conducted by third-party sources believed to be credible by the Service
    Provider."

Where each factor comes from (plain data in, :class:`RiskAssessment` out; no database here):

1. **Geographic proximity**: the smelter's country on the reference list, and the country the
   supplier declares for it (Smelter List column E). Either in a Covered Country counts.
2. **Known country of origin**: the mine countries the supplier declares (Smelter List column O,
   "Known Country of Origin"). One in a Covered Country counts.
3. **RMAP audit status**: the reference list (Conformant, Active, Not Enrolled, Non-Conformant).
4. **Credible evidence**: entries of the watch list compliance imports (source, date, note each).
5. **Peer assessments**: the cross-recognition lists compliance imports (LBMA Good Delivery,
   RJC Chain-of-Custody, ...).

The rule table (:func:`assess_smelter`), first line that applies wins. "Covered link" means factor 1
or 2 points to a Covered Country:

==============================================================  ======
the smelter                                                      risk
==============================================================  ======
compliance set an override                                       the override's level
is on the watch list (credible evidence)                         high
is Non-Conformant in the RMAP                                    high
is Conformant in the RMAP (the audit covers its sourcing)        low
is recognised by a peer scheme, no covered link                  low
is recognised by a peer scheme, with a covered link              medium
is Active in the RMAP (committed, audit scheduled)                medium
has any other or no RMAP status, with a covered link             high
has any other or no RMAP status, no covered link                 medium
matched no smelter of the reference list                         unknown (decided by the matcher)
==============================================================  ======

So: an override always wins; a watch-list entry never lowers risk and a peer recognition never raises
it; a Covered Country never lowers it. Without any of the new inputs the rule is the one the product
had before (RMAP status and location): :func:`smelter_risk` with two arguments still answers it.

Covered countries: the Democratic Republic of the Congo and its nine adjoining countries, as in
CMRT question 3 and Form SD.

Every assessment carries its reasons, ordered: the override first, then the reasons that decided the
level, then the others; each names its factor and its source, in the compliance team's words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache, wraps
from typing import Callable, Iterable, Literal, Mapping, TypeVar

Risk = Literal["low", "medium", "high", "unknown"]
Level = Literal["low", "medium", "high"]
LEVELS: tuple[Level, ...] = ("low", "medium", "high")
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


# --- The five factors ------------------------------------------------------------------------------

Factor = Literal["override", "location", "origin", "rmap_status", "evidence", "peer_assessment"]
# The seed's order, after the override.
FACTORS: tuple[Factor, ...] = ("override", "location", "origin", "rmap_status", "evidence", "peer_assessment")
FACTOR_WORDS: dict[str, str] = {
    "override": "Set by compliance",
    "location": "Geographic proximity to the Covered Countries",
    "origin": "Known mineral source country of origin",
    "rmap_status": "RMAP audit status",
    "evidence": "Credible evidence of unethical or conflict sourcing",
    "peer_assessment": "Peer assessment",
}


@dataclass(frozen=True)
class WatchHit:
    """One watch-list entry naming the smelter: who says so, since when, and what."""

    source: str
    listed_on: date | None = None
    note: str = ""


@dataclass(frozen=True)
class PeerAssessment:
    """The smelter is on a cross-recognition list (``scheme``: LBMA, RJC, ...)."""

    scheme: str
    listed_as: str = ""  # the name (or ID) the list gives it


@dataclass(frozen=True)
class RiskOverride:
    """Compliance's own grade for a smelter, with the reason; it wins over the rule table."""

    level: Level
    reason: str
    by: str = ""
    on: date | None = None


@dataclass(frozen=True)
class RiskReason:
    factor: Factor
    source: str  # where the fact comes from: reference list, supplier's Smelter List, a watch list, ...
    text: str  # the sentence shown, naming the factor and the source
    points_to: Level  # the level this fact alone argues for
    # how a supplier is told this fact in its language: a key of cmrt.messages.PHRASES and its values
    phrase: str = ""
    values: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class RiskAssessment:
    level: Risk
    reasons: tuple[RiskReason, ...] = ()
    rule_level: Risk = "unknown"  # what the rule table says without the override

    @property
    def overridden(self) -> bool:
        return any(r.factor == "override" for r in self.reasons)

    def reason_texts(self) -> list[str]:
        return [r.text for r in self.reasons]


@dataclass(frozen=True)
class SmelterRiskFacts:
    """What compliance's lists say about one smelter (factor 4, factor 5 and the override)."""

    watch: tuple[WatchHit, ...] = ()
    peers: tuple[PeerAssessment, ...] = ()
    override: RiskOverride | None = None


_NO_FACTS = SmelterRiskFacts()


@dataclass(frozen=True)
class RiskRegister:
    """Watch-list hits, peer recognitions and overrides by CID (loaded from the database by the product)."""

    by_cid: Mapping[str, SmelterRiskFacts] = field(default_factory=dict)

    def facts(self, cid: str | None) -> SmelterRiskFacts:
        return self.by_cid.get(cid or "", _NO_FACTS)

    def __bool__(self) -> bool:
        return bool(self.by_cid)


EMPTY_REGISTER = RiskRegister()


def _day(d: date | None) -> str:
    return f"on {d.isoformat()}" if d else "(undated)"


def _countries(values: Iterable[object]) -> list[str]:
    """Distinct CMRT spellings, in first-seen order, blanks dropped."""
    out: list[str] = []
    for v in values:
        k = country_key(v)
        if k and k not in out:
            out.append(k)
    return out


def assess_smelter(
    *,
    rmap_status: str | None,
    country: str | None,
    declared_countries: Iterable[object] = (),
    source_countries: Iterable[object] = (),
    watch: Iterable[WatchHit] = (),
    peers: Iterable[PeerAssessment] = (),
    override: RiskOverride | None = None,
) -> RiskAssessment:
    """The risk of one matched smelter and why (rule table in the module docstring).

    rmap_status, country: the reference list's. declared_countries: the country the supplier gives for
    it (Smelter List column E, one per row). source_countries: the mine countries the supplier declares
    (column O). watch, peers, override: from compliance's lists.
    """
    reasons: list[RiskReason] = []
    add = reasons.append
    watch, peers = tuple(watch), tuple(peers)

    # 1. location
    ref_country = country_key(country)
    declared = [c for c in _countries(declared_countries) if c != ref_country]
    covered_location = False
    if ref_country:
        covered = ref_country in COVERED_COUNTRIES
        covered_location |= covered
        add(RiskReason("location", "reference list",
                       f"{FACTOR_WORDS['location']}: located in {ref_country}"
                       f"{', a Covered Country' if covered else ', outside the Covered Countries'} (reference list)",
                       "high" if covered else "low",
                       *(("risk_located_covered", (("country", ref_country),)) if covered else ())))
    for c in declared:
        covered = c in COVERED_COUNTRIES
        covered_location |= covered
        add(RiskReason("location", "supplier's Smelter List",
                       f"{FACTOR_WORDS['location']}: the supplier gives its country as {c}"
                       f"{', a Covered Country' if covered else ''} (Smelter List, country column)",
                       "high" if covered else "low",
                       *(("risk_declared_covered", (("country", c),)) if covered else ())))
    if not ref_country and not declared:
        add(RiskReason("location", "reference list", f"{FACTOR_WORDS['location']}: country not known", "medium"))

    # 2. origin
    sources = _countries(source_countries)
    covered_sources = [c for c in sources if c in COVERED_COUNTRIES]
    if covered_sources:
        add(RiskReason("origin", "supplier's Smelter List",
                       f"{FACTOR_WORDS['origin']}: the supplier declares minerals from {', '.join(covered_sources)}, "
                       f"a Covered Country (Smelter List, mine country column)", "high",
                       "risk_origin_covered", (("countries", ", ".join(covered_sources)),)))
    others = [c for c in sources if c not in COVERED_COUNTRIES]
    if others:
        add(RiskReason("origin", "supplier's Smelter List",
                       f"{FACTOR_WORDS['origin']}: the supplier declares minerals from {', '.join(others)} "
                       f"(Smelter List, mine country column)", "low"))
    covered_link = covered_location or bool(covered_sources)

    # 3. RMAP status
    status = canonical_status(rmap_status)
    status_points: Level = {"Conformant": "low", "Active": "medium"}.get(status or "", "high")
    if status is None:
        status_points = "medium"
    add(RiskReason("rmap_status", "reference list",
                   f"{FACTOR_WORDS['rmap_status']}: {status or 'not known'} (reference list)", status_points,
                   *(("risk_rmap_status", (("rmap_status", status),)) if status else ())))

    # 4. evidence
    for hit in watch:
        note = f": {hit.note}" if hit.note else ""
        add(RiskReason("evidence", f"watch list: {hit.source}",
                       f"{FACTOR_WORDS['evidence']}: listed by {hit.source} {_day(hit.listed_on)}{note} (watch list)",
                       "high", "risk_reported_by", (("source", hit.source),)))

    # 5. peer assessments
    for peer in peers:
        named = f" as {peer.listed_as}" if peer.listed_as else ""
        add(RiskReason("peer_assessment", f"{peer.scheme} list",
                       f"{FACTOR_WORDS['peer_assessment']}: recognised by {peer.scheme}{named} "
                       f"(cross-recognition list)", "low"))

    # the rule table
    rule: Level
    if watch:
        rule = "high"
    elif status == "Non-Conformant":
        rule = "high"
    elif status == "Conformant":
        rule = "low"
    elif peers:
        rule = "medium" if covered_link else "low"
    elif status == "Active":
        rule = "medium"
    else:
        rule = "high" if covered_link else "medium"

    level: Level = rule
    head: list[RiskReason] = []
    if override is not None:
        level = override.level
        who = f" by {override.by}" if override.by else ""
        when = f" on {override.on.isoformat()}" if override.on else ""
        head.append(RiskReason("override", "compliance team",
                               f"{FACTOR_WORDS['override']}: {override.level}{who}{when}: {override.reason} "
                               f"(the five factors say {rule})", override.level, "risk_override"))
    # decisive reasons first, each group in the seed's factor order (sorted is stable)
    ordered = sorted(reasons, key=lambda r: r.points_to != rule)
    return RiskAssessment(level=level, reasons=tuple(head + ordered), rule_level=rule)


@lru_cache(maxsize=4096)
def _basic_risk(rmap_status: str | None, country: str | None) -> Risk:
    return assess_smelter(rmap_status=rmap_status, country=country).level


def smelter_risk(rmap_status: str | None, country: str | None, **factors) -> Risk:
    """Risk level of a matched smelter (see the module docstring for the rule). With only the RMAP status
    and the country this is the product's historical rule; ``factors`` are :func:`assess_smelter`'s
    other keywords."""
    if not factors:
        return _basic_risk(rmap_status, country)
    return assess_smelter(rmap_status=rmap_status, country=country, **factors).level


def supplier_reason_text(assessment: RiskAssessment) -> str:
    """The reasons as a supplier reads them: the decisive facts, without compliance's internal notes."""
    return supplier_reasons(assessment)[0]


def supplier_reasons(assessment: RiskAssessment) -> tuple[str, dict[str, str]]:
    """The reasons as a supplier reads them (English) and the parameters that say them again in its language:
    ``reasons_phrases`` lists PHRASES keys, ``key@n`` when one phrase comes twice with its own values
    (``source@2``). No such parameters when a reason has no phrase saying exactly its English."""
    from cmrt.messages import phrase

    parts: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
    for r in assessment.reasons:
        if r.points_to != assessment.level:
            continue
        if r.factor == "override":
            text = "our compliance team's own assessment"
        elif r.factor == "evidence":
            text = f"reported by {r.source.removeprefix('watch list: ')}"
        else:
            text = r.text.split(" (")[0]
        parts.setdefault(text, (r.phrase, r.values))
    english = "; ".join(parts)
    if not parts or any(not key or phrase(key, **dict(values)) != text for text, (key, values) in parts.items()):
        return english, {}  # a reason no phrase says exactly: the English words, inside the translated sentence
    specs: list[str] = []
    params: dict[str, str] = {}
    for i, (key, values) in enumerate(parts.values(), start=1):
        specs.append(f"{key}@{i}" if values else key)
        params.update({f"{name}@{i}": value for name, value in values})
    return english, {"reasons_phrases": ",".join(specs), **params}
