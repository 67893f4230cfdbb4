"""The company's own CMRT declaration, rolled up from its suppliers' declarations that count.

Pure functions over plain data (no Temporal, no database, no workbook): the campaign's read side gathers
one :class:`SupplierDeclaration` per surveyed supplier and :func:`roll_up` says what the company answers.

The CMRT's own instructions (../shared/cmrt/NOTES.md) say what each question means: Q1 a metal is
intentionally added or used in the product or its production; Q2 it remains in the product; Q3 a smelter
sources from the covered countries; Q4 from conflict-affected and high-risk areas; Q5 100% recycled or
scrap; Q6 the share of relevant suppliers that responded; Q7 all smelters identified; Q8 all smelter
information received has been reported. A metal is in scope when neither Q1 nor Q2 is "No"; Q3-Q8 are
asked only for metals in scope. The rules are conservative: a "No" or "100%" is said only when every
supplier's answer supports it, as a reviewer of the company's own CMRT would ask.

Per metal, over the suppliers whose declaration counts ("responding"), "in scope" meaning that supplier
declares the metal in scope (Q1 Yes and Q2 not No):

| question | the company answers |
| --- | --- |
| Q1 | Yes if any responding supplier says Yes; else No |
| Q2 | Yes if any responding supplier has the metal in scope; else No |
| Q3, Q4 | Yes if any in-scope supplier says Yes (Q4 also Yes when Q3 is Yes: a covered country is a CAHRA); No only if every in-scope supplier says No, Q6 is 100% and Q7 is Yes; else Unknown |
| Q5 | Yes only if every in-scope supplier says Yes and Q6 is 100%; No if any says No; else Unknown |
| Q6 | the share of surveyed suppliers whose declaration counts: 100%, Greater than 90%, Greater than 75%, Greater than 50%, 50% or less, None |
| Q7, Q8 | Yes only if every in-scope supplier says Yes and Q6 is 100%; else No |

Q3-Q8 stay blank for a metal whose Q1 or Q2 is No (the template asks them only for metals in scope).
Smelter List: every known smelter once by CID across the in-scope suppliers' lists (of metals the company
has in scope), and every name the reference list does not know once per metal and name, as "Smelter not
listed" with the country the supplier gave (a name without a country cannot be listed: the template
requires one; it is returned apart so the team can ask).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

METALS: tuple[str, ...] = ("Tantalum", "Tin", "Gold", "Tungsten")  # the template's row order
Q6_BANDS: tuple[str, ...] = ("100%", "Greater than 90%", "Greater than 75%", "Greater than 50%", "50% or less", "None")
COMPANY_LETTERS: tuple[str, ...] = ("A", "B", "C", "D", "E", "F", "G", "H")


@dataclass(frozen=True)
class Facility:
    """One smelter or refiner: known (a CID, with the reference list's name and country) or not listed."""

    metal: str
    name: str
    country: str | None = None
    cid: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.metal, self.cid) if self.cid else (self.metal, " ".join(self.name.casefold().split()))


@dataclass(frozen=True)
class SupplierDeclaration:
    """A surveyed supplier; ``answers`` (Q -> metal -> answer) and ``facilities`` of its declaration that
    counts, or ``responded=False`` when none counts (not submitted, or never valid)."""

    supplier: str
    responded: bool
    answers: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    facilities: Sequence[Facility] = ()

    def answer(self, q: str, metal: str) -> str | None:
        return (self.answers.get(q) or {}).get(metal)

    def in_scope(self, metal: str) -> bool:
        return self.responded and self.answer("Q1", metal) == "Yes" and self.answer("Q2", metal) != "No"


@dataclass
class OwnDeclaration:
    """The company's Declaration answers (Q -> metal -> answer; absent: left blank) and Smelter List."""

    answers: dict[str, dict[str, str]]
    facilities: list[Facility]
    without_country: list[Facility]  # names the reference list does not know, given with no country
    surveyed: int
    responded: int

    @property
    def metals_in_scope(self) -> list[str]:
        return [m for m in METALS if self.answers["Q1"].get(m) == "Yes" and self.answers["Q2"].get(m) == "Yes"]


def q6_band(responded: int, surveyed: int) -> str:
    """The CMRT's Q6 choice for ``responded`` of ``surveyed`` (an empty campaign: None)."""
    if surveyed <= 0 or responded <= 0:
        return "None"
    if responded >= surveyed:
        return "100%"
    ratio = responded / surveyed
    for band, above in (("Greater than 90%", 0.9), ("Greater than 75%", 0.75), ("Greater than 50%", 0.5)):
        if ratio > above:
            return band
    return "50% or less"


def _yes_no_unknown(answers: list[str | None], *, no_allowed: bool) -> str:
    if "Yes" in answers:
        return "Yes"
    if answers and all(a == "No" for a in answers) and no_allowed:
        return "No"
    return "Unknown"


def roll_up(suppliers: Sequence[SupplierDeclaration]) -> OwnDeclaration:
    """The company's answers and Smelter List from its surveyed suppliers (rules: the module's table)."""
    responding = [s for s in suppliers if s.responded]
    q6 = q6_band(len(responding), len(suppliers))
    complete = q6 == "100%"
    answers: dict[str, dict[str, str]] = {q: {} for q in ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7", "Q8")}
    for metal in METALS:
        answers["Q1"][metal] = "Yes" if any(s.answer("Q1", metal) == "Yes" for s in responding) else "No"
        in_scope = [s for s in responding if s.in_scope(metal)]
        answers["Q2"][metal] = "Yes" if in_scope else "No"
        if not in_scope:
            continue
        every = {q: [s.answer(q, metal) for s in in_scope] for q in ("Q3", "Q4", "Q5", "Q7", "Q8")}
        answers["Q6"][metal] = q6
        q7 = "Yes" if complete and all(a == "Yes" for a in every["Q7"]) else "No"
        q8 = "Yes" if complete and all(a == "Yes" for a in every["Q8"]) else "No"
        answers["Q7"][metal], answers["Q8"][metal] = q7, q8
        supported = complete and q7 == "Yes"
        q3 = _yes_no_unknown(every["Q3"], no_allowed=supported)
        q4 = "Yes" if q3 == "Yes" else _yes_no_unknown(every["Q4"], no_allowed=supported)
        answers["Q3"][metal], answers["Q4"][metal] = q3, q4
        if "No" in every["Q5"]:
            answers["Q5"][metal] = "No"
        elif complete and all(a == "Yes" for a in every["Q5"]):
            answers["Q5"][metal] = "Yes"
        else:
            answers["Q5"][metal] = "Unknown"
    facilities, without_country = _facilities(responding, answers)
    return OwnDeclaration(answers, facilities, without_country, surveyed=len(suppliers), responded=len(responding))


def _facilities(responding: Sequence[SupplierDeclaration],
                answers: dict[str, dict[str, str]]) -> tuple[list[Facility], list[Facility]]:
    seen: dict[tuple[str, str], Facility] = {}
    for s in responding:
        for f in s.facilities:
            if f.metal not in METALS or answers["Q2"].get(f.metal) != "Yes" or not s.in_scope(f.metal):
                continue  # a smelter listed for a metal out of scope is what reviewers flag
            have = seen.get(f.key)
            if have is None or (not have.country and f.country):
                seen[f.key] = f
    order = {m: i for i, m in enumerate(METALS)}
    ranked = sorted(seen.values(), key=lambda f: (order[f.metal], f.cid is None, f.name.casefold(), f.cid or ""))
    return [f for f in ranked if f.cid or f.country], [f for f in ranked if not f.cid and not f.country]


# --- the company's own fields and questions A-H ------------------------------------------------------

COMPANY_FIELDS: tuple[str, ...] = (
    "name", "scope", "scope_description", "unique_id", "unique_id_authority", "address", "contact_name",
    "contact_email", "contact_phone", "authorizer", "authorizer_title", "authorizer_email", "authorizer_phone",
    "effective_date",
)
REQUIRED_FIELDS: tuple[str, ...] = ("name", "contact_name", "contact_email", "contact_phone", "authorizer",
                                    "authorizer_email", "effective_date")
COMPANY_ANSWERS: dict[str, tuple[str, ...]] = {
    "A": ("Yes", "No"), "B": ("Yes", "No"), "C": ("Yes", "No"), "D": ("Yes", "No"),
    "E": ("Yes, in conformance with IPC1755 (e.g., CMRT)", "Yes, using other format (describe)", "No"),
    "F": ("Yes", "No"), "G": ("Yes", "No"),
    "H": ("Yes, with the SEC", "Yes, with the EU", "Yes, with the SEC and the EU", "No"),
}
SCOPES: dict[str, str] = {"company": "A. Company", "product": "B. Product (or List of Products)",
                          "user_defined": "C. User defined [Specify in 'Description of scope']"}


def company_problems(company: Mapping[str, object], needs_questions: bool) -> list[str]:
    """What is missing or wrong in the company's own answers, one sentence each naming the key to set
    (``company`` holds COMPANY_FIELDS and A..H, with ``B_comment`` etc. for comments)."""
    problems = []
    for key in REQUIRED_FIELDS:
        if not str(company.get(key) or "").strip():
            problems.append(f"'{key}' is not set: the CMRT requires it")
    for key in ("contact_email", "authorizer_email"):
        value = str(company.get(key) or "")
        if value and "@" not in value:
            problems.append(f"'{key}' is not an e-mail address: {value!r}")
    scope = str(company.get("scope") or "company")
    if scope not in SCOPES:
        problems.append(f"'scope' must be one of {', '.join(SCOPES)} (got {scope!r})")
    elif scope != "company":
        problems.append("'scope' other than company is not supported yet: the roll-up covers all the company's suppliers")
    if needs_questions:
        for letter, allowed in COMPANY_ANSWERS.items():
            value = company.get(letter)
            if value not in allowed:
                said = "is not set" if value in (None, "") else f"is {value!r}"
                problems.append(f"company question '{letter}' {said}: answer one of {', '.join(map(repr, allowed))}")
        if company.get("B") == "Yes" and len(str(company.get("B_comment") or "").strip()) <= 1:
            problems.append("'B_comment' must give the policy's web address when company question B is Yes")
    return problems
