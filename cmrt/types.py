"""Typed results of reading and judging a CMRT.

Pydantic v2 models, so a `CheckResult` travels through Temporal's pydantic data converter and to JSON
unchanged. `CheckResult.to_json_dict()` is the exact JSON shape `outreach cmrt check --json` prints.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

Severity = Literal["error", "warning", "info"]
Verdict = Literal["valid", "invalid", "unreadable"]
MatchKind = Literal["cid", "alias", "name", "fuzzy", "unmatched"]
Risk = Literal["low", "medium", "high", "unknown"]
ScopeLevel = Literal["company", "product", "user_defined"]

METALS: tuple[str, ...] = ("Tantalum", "Tin", "Gold", "Tungsten")
QUESTIONS: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7", "Q8")
COMPANY_QUESTIONS: tuple[str, ...] = ("A", "B", "C", "D", "E", "F", "G", "H")


class Finding(BaseModel):
    """One thing to tell the supplier: what is wrong (or worth a look), where, and what to change."""

    code: str
    severity: Severity
    sheet: str | None = None
    cell: str | None = None
    message: str
    # The values substituted into the catalogue template, kept so the message can be translated later.
    params: dict[str, str] = Field(default_factory=dict)


class Template(BaseModel):
    kind: str = "unknown"  # CMRT | EMRT | CRT | AMRT | unknown
    version: str | None = None  # "6.5", "6.01", "4.10", ...
    revision_text: str | None = None  # Declaration!J3 as written, e.g. "Revision 6.5\nApril 25, 2025"
    language: str | None = None  # Declaration!D3
    # The language the workbook was filled in, as a findings catalogue ("ja", "zh_Hans", ...; see
    # cmrt.locales): a supplier's language when nothing else says it. None when D3 names none of the ten.
    locale: str | None = None
    file_format: str | None = None  # xlsx | xls


class Declaration(BaseModel):
    company_name: str | None = None
    scope: str | None = None
    scope_description: str | None = None
    company_unique_id: str | None = None
    company_unique_id_authority: str | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    authorizer: str | None = None
    authorizer_title: str | None = None
    authorizer_email: str | None = None
    authorizer_phone: str | None = None
    effective_date: date | None = None
    effective_date_text: str | None = None  # as written, when it was text or could not be parsed


class Answer(BaseModel):
    answer: str | None = None  # normalised: trimmed, canonical case ("Yes", "100%", ...)
    comment: str | None = None


class SmelterRow(BaseModel):
    row: int
    cid_input: str | None = None  # A
    metal: str | None = None  # B
    lookup_name: str | None = None  # C
    name: str | None = None  # D
    country: str | None = None  # E
    cid: str | None = None  # F (or derived when the file has no cached formula values)
    id_source: str | None = None  # G
    street: str | None = None  # H
    city: str | None = None  # I
    state: str | None = None  # J
    contact_name: str | None = None  # K
    contact_email: str | None = None  # L
    next_steps: str | None = None  # M
    mine_name: str | None = None  # N
    mine_country: str | None = None  # O
    recycled_scrap: str | None = None  # P
    comments: str | None = None  # Q
    standard_name: str | None = None  # R (hidden) or derived
    derived: bool = False  # True when CID / standard name / country were derived, not read
    match: MatchKind = "unmatched"
    score: float = 0.0
    rmap_status: str | None = None
    risk: Risk = "unknown"
    # why, in the compliance team's words, decisive reasons first (cmrt.risk.assess_smelter)
    risk_reasons: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)


class MineRow(BaseModel):
    """A Mine List row of an EMRT: the mine (or mining site) a listed smelter or processor sources from."""

    row: int
    metal: str | None = None  # A: the mineral
    smelter_name: str | None = None  # B: a smelter or processor named on the Smelter List
    mine_name: str | None = None  # C
    mine_id: str | None = None  # D (e.g. a CID)
    id_source: str | None = None  # E
    country: str | None = None  # F
    street: str | None = None  # G
    city: str | None = None  # H
    state: str | None = None  # I
    contact_name: str | None = None  # J
    contact_email: str | None = None  # K
    next_steps: str | None = None  # L
    comments: str | None = None  # M


class ProductRow(BaseModel):
    row: int
    number: str | None = None  # the responder's (the supplier's) product number
    name: str | None = None
    comments: str | None = None
    # The requester's (the customer's) own number and name for the product: CMRT 6.6+ and the EMRT.
    # Left out of the JSON when blank, so the JSON of earlier versions stays as it was.
    requester_number: str | None = None
    requester_name: str | None = None


class Summary(BaseModel):
    metals_in_scope: list[str] = Field(default_factory=list)
    scope_level: ScopeLevel | None = None
    q6_level: dict[str, str | None] = Field(default_factory=dict)
    high_risk_smelters: int = 0
    smelter_rows: int = 0
    unique_smelters: int = 0  # distinct (metal, CID or name)
    products: int = 0


class CheckResult(BaseModel):
    file: str | None = None
    verdict: Verdict = "unreadable"
    template: Template = Field(default_factory=Template)
    declaration: Declaration = Field(default_factory=Declaration)
    questions: dict[str, dict[str, Answer]] = Field(default_factory=dict)  # Q1..Q8 -> metal -> answer
    company_questions: dict[str, Answer] = Field(default_factory=dict)  # A..H
    metals_in_scope: list[str] = Field(default_factory=list)
    # What the template's Checker counts as missing (Checker!D2); None when it was not run (an unreadable
    # file, another template, a CMRT older than 6.0: no 6.x Declaration to count on).
    checker_remaining: int | None = None
    program_strength: Literal["strong", "weak"] | None = None  # None: the declaration was not read
    summary: Summary = Field(default_factory=Summary)
    findings: list[Finding] = Field(default_factory=list)
    smelters: list[SmelterRow] = Field(default_factory=list)
    products: list[ProductRow] = Field(default_factory=list)
    # EMRT only: the minerals the declaration selects (its scope choice, before Q1/Q2 narrow it down to
    # metals_in_scope) and the Mine List. Left out of the JSON of any other template.
    minerals_selected: list[str] = Field(default_factory=list)
    mines: list[MineRow] = Field(default_factory=list)
    # How many findings / smelter rows / product rows a bounded copy (for_payload) left out; 0 in the
    # complete result that check() returns.
    findings_truncated: int = 0
    smelters_truncated: int = 0
    products_truncated: int = 0

    def for_payload(self, max_findings: int = 200, max_smelters: int = 300, max_products: int = 300) -> CheckResult:
        """A copy small enough for a Temporal payload (which fails over 2 MiB), with the verdict,
        declaration, summary and counts unchanged (they are computed over everything).

        Keeps the first ``max_findings`` findings by severity (errors, then warnings, then info; in
        check order within each), the high-risk smelter rows first and then the others in row order
        up to ``max_smelters`` (listed in row order), and the first ``max_products`` products; the
        ``*_truncated`` fields count what was left out. ``check()`` itself always returns everything.
        """
        findings = sorted(self.findings, key=lambda f: _SEVERITY_ORDER[f.severity])[:max(max_findings, 0)]
        ranked = sorted(self.smelters, key=lambda s: (s.risk != "high", s.row))[:max(max_smelters, 0)]
        smelters = sorted(ranked, key=lambda s: s.row)
        products = self.products[:max(max_products, 0)]
        return self.model_copy(update={
            "findings": findings,
            "smelters": smelters,
            "products": products,
            "findings_truncated": self.findings_truncated + len(self.findings) - len(findings),
            "smelters_truncated": self.smelters_truncated + len(self.smelters) - len(smelters),
            "products_truncated": self.products_truncated + len(self.products) - len(products),
        })

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON object issue 3 specifies for `outreach cmrt check --json` (one per file)."""
        data = self.model_dump(mode="json")
        if self.template.kind != "EMRT":  # the CMRT's JSON stays as issue 3 specifies it
            del data["minerals_selected"], data["mines"]
        for finding in data["findings"]:
            finding.pop("params", None)
        for product in data["products"]:
            for key in ("requester_number", "requester_name"):
                if product[key] is None:
                    del product[key]
        for key in ("findings_truncated", "smelters_truncated", "products_truncated"):
            if not data[key]:
                del data[key]  # only a bounded copy (for_payload) says what it left out
        return data


_SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
