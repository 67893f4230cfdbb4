"""The review desk: what needs a person, derived from the records (never stored), and the answers it takes.

A survey's items come from the declaration that counts (models.facts.survey.declaration_that_counts):
- ``smelter_match``: a smelter name matched only in the review band (75-90): confirm the suggestion,
  choose another smelter, or say it is not a smelter;
- ``unknown_smelter``: a named entity that matched nothing: choose a smelter, or not a smelter;
- ``high_risk_smelter``, ``company_name_mismatch``, ``accepted_with_warnings`` (valid declarations only):
  accept, or send back to the supplier with a reason;
- ``contact_proposal``: a new contact the supplier proposed on its portal: confirm or decline.

The queue is the items minus the answered ones, riskiest then newest first. Plain data in, plain data out:
the pages, the API, the CLI and the report figures all call :func:`open_items`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Optional, Sequence

SMELTER_MATCH = "smelter_match"
UNKNOWN_SMELTER = "unknown_smelter"
HIGH_RISK_SMELTER = "high_risk_smelter"
COMPANY_NAME_MISMATCH = "company_name_mismatch"
ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
CONTACT_PROPOSAL = "contact_proposal"

KINDS = (SMELTER_MATCH, UNKNOWN_SMELTER, HIGH_RISK_SMELTER, COMPANY_NAME_MISMATCH, ACCEPTED_WITH_WARNINGS,
         CONTACT_PROPOSAL)

CONFIRM, CHOOSE, NOT_A_SMELTER, ACCEPT, SEND_BACK, DECLINE = (
    "confirm", "choose", "not-a-smelter", "accept", "send-back", "decline")

# The one-click answers each kind takes.
ANSWERS: dict[str, tuple[str, ...]] = {
    SMELTER_MATCH: (CONFIRM, CHOOSE, NOT_A_SMELTER),
    UNKNOWN_SMELTER: (CHOOSE, NOT_A_SMELTER),
    HIGH_RISK_SMELTER: (ACCEPT, SEND_BACK),
    COMPANY_NAME_MISMATCH: (ACCEPT, SEND_BACK),
    ACCEPTED_WITH_WARNINGS: (ACCEPT, SEND_BACK),
    CONTACT_PROPOSAL: (CONFIRM, DECLINE),
}
# Answers that need a reason (the supplier or the team reads it).
NEEDS_REASON = frozenset({SEND_BACK, DECLINE})

# Riskiest first: a high-risk smelter in the supply chain, then what decides whether a smelter is known,
# then what the declaration says about itself, then the supplier's own details.
RISK_RANK = {HIGH_RISK_SMELTER: 3, SMELTER_MATCH: 2, UNKNOWN_SMELTER: 2, COMPANY_NAME_MISMATCH: 1,
             ACCEPTED_WITH_WARNINGS: 1, CONTACT_PROPOSAL: 0}

KIND_WORDS = {
    SMELTER_MATCH: "Smelter name to confirm",
    UNKNOWN_SMELTER: "Unknown smelter",
    HIGH_RISK_SMELTER: "High-risk smelter reported",
    COMPANY_NAME_MISMATCH: "Company name differs",
    ACCEPTED_WITH_WARNINGS: "Accepted with warnings",
    CONTACT_PROPOSAL: "New contact proposed",
}


@dataclass(frozen=True)
class SmelterFact:
    """One declared smelter row as the records hold it, with what the reference list says of it now."""

    metal: Optional[str]
    lookup_name: Optional[str] = None
    name: Optional[str] = None
    country: Optional[str] = None
    cid: Optional[str] = None  # the CID the check gave the row
    match: str = "unmatched"
    problems: tuple[str, ...] = ()
    risk: str = "unknown"
    rmap_status: Optional[str] = None
    standard_name: Optional[str] = None
    row: Optional[int] = None
    # The reference list as it is now (an alias learned since the check gives the row a CID) ...
    cid_now: Optional[str] = None
    # ... and its suggestion for a person (review band): CID, standard name, score.
    suggested_cid: Optional[str] = None
    suggested_name: Optional[str] = None
    score: float = 0.0

    @property
    def spelling(self) -> str:
        """The name as the supplier wrote it: what an answer teaches the reference list."""
        if "not_listed" in self.problems:  # "Smelter not listed" chosen, the name typed beside it
            return (self.name or "").strip()
        return (self.lookup_name or self.name or "").strip()


@dataclass(frozen=True)
class FindingFact:
    code: str
    severity: str
    message: str
    cell: Optional[str] = None


@dataclass(frozen=True)
class DeclarationFacts:
    """A survey's declaration that counts, as plain data."""

    survey_id: str
    campaign_id: str
    supplier_id: str
    supplier_name: str
    submission_id: str
    received_at: datetime
    valid: bool  # the effective verdict (a person's decision over the check's)
    smelters: Sequence[SmelterFact] = ()
    findings: Sequence[FindingFact] = ()


@dataclass(frozen=True)
class ProposalFacts:
    id: int
    survey_id: str
    campaign_id: str
    supplier_id: str
    supplier_name: str
    name: Optional[str]
    email: str
    language: str
    proposed_at: datetime


@dataclass(frozen=True)
class ReviewItem:
    key: str
    kind: str
    survey_id: str
    campaign_id: str
    supplier_id: str
    supplier_name: str
    submission_id: Optional[str]
    since: datetime  # when the item appeared (the file received, the contact proposed)
    title: str
    evidence: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def risk_rank(self) -> int:
        return RISK_RANK[self.kind]

    @property
    def answers(self) -> tuple[str, ...]:
        return ANSWERS[self.kind]


def spelling_key(metal: Optional[str], spelling: str) -> str:
    """Metal and name, case and blanks forgiven (as the reference list's alias table compares names)."""
    return f"{(metal or '').casefold()}|{' '.join(spelling.split()).casefold()}"


def declaration_items(d: DeclarationFacts, *, not_smelters: frozenset[str] = frozenset()) -> list[ReviewItem]:
    """Every item the declaration raises. ``not_smelters``: spelling keys a person already said are not
    smelters (for any supplier): they raise nothing again."""
    items: dict[str, ReviewItem] = {}

    def add(kind: str, suffix: str, title: str, evidence: dict) -> None:
        key = f"{d.submission_id}#{kind}:{suffix}" if suffix else f"{d.submission_id}#{kind}"
        items.setdefault(key, ReviewItem(key, kind, d.survey_id, d.campaign_id, d.supplier_id, d.supplier_name,
                                         d.submission_id, d.received_at, title, evidence))

    for s in d.smelters:
        spelling = s.spelling
        if not spelling or s.cid_now:
            continue
        skey = spelling_key(s.metal, spelling)
        if skey in not_smelters:
            continue
        evidence = {"metal": s.metal, "name": spelling, "country": s.country, "row": s.row}
        if "needs_review" in s.problems:
            add(SMELTER_MATCH, skey, f"{s.metal}: “{spelling}” — is it {s.suggested_name or '?'}?", dict(
                evidence, suggested_cid=s.suggested_cid, suggested_name=s.suggested_name, score=s.score))
        elif s.match == "unmatched" and not s.cid:
            add(UNKNOWN_SMELTER, skey, f"{s.metal}: “{spelling}” is not on the reference list", evidence)
    if d.valid:
        for s in d.smelters:
            if s.risk == "high":
                ident = s.cid or s.cid_now or s.spelling
                add(HIGH_RISK_SMELTER, spelling_key(s.metal, ident),
                    f"{s.metal}: {s.standard_name or s.spelling} ({s.country or 'country unknown'}) is high risk",
                    {"metal": s.metal, "cid": ident, "name": s.standard_name or s.spelling, "country": s.country,
                     "rmap_status": s.rmap_status, "row": s.row})
        for f in d.findings:
            if f.code == "company_name_mismatch":
                add(COMPANY_NAME_MISMATCH, "", "The company name in the file is not the supplier's",
                    {"message": f.message, "cell": f.cell})
        warnings = [f for f in d.findings if f.severity == "warning" and f.code != "company_name_mismatch"]
        if warnings:
            add(ACCEPTED_WITH_WARNINGS, "", f"Accepted with {len(warnings)} warning(s)",
                {"warnings": [f"{f.cell + ': ' if f.cell else ''}{f.message}" for f in warnings[:20]],
                 "count": len(warnings)})
    return list(items.values())


def proposal_item(p: ProposalFacts) -> ReviewItem:
    return ReviewItem(f"contact/{p.id}", CONTACT_PROPOSAL, p.survey_id, p.campaign_id, p.supplier_id,
                      p.supplier_name, None, p.proposed_at, f"New contact proposed: {p.email}",
                      {"name": p.name, "email": p.email, "language": p.language})


def sort_queue(items: Iterable[ReviewItem]) -> list[ReviewItem]:
    """Riskiest first, then newest, then by key (a stable page order)."""
    by_key = sorted(items, key=lambda i: i.key)
    by_age = sorted(by_key, key=lambda i: i.since, reverse=True)
    return sorted(by_age, key=lambda i: -i.risk_rank)


def open_items(items: Iterable[ReviewItem], answered: Iterable[str], *, campaign_id: Optional[str] = None,
               kind: Optional[str] = None) -> list[ReviewItem]:
    """The queue: the items no one has answered yet (filtered by campaign and kind), in queue order."""
    done = set(answered)
    return sort_queue(i for i in items if i.key not in done and (campaign_id is None or i.campaign_id == campaign_id)
                      and (kind is None or i.kind == kind))


def why_not_answer(item: ReviewItem, answer: str, *, reason: str = "", cid: Optional[str] = None) -> Optional[str]:
    """The sentence a refused answer gets, or None when the answer fits the item."""
    if answer not in item.answers:
        return f"“{answer}” is not an answer to this item; it takes {', '.join(item.answers)}."
    if answer in NEEDS_REASON and not reason.strip():
        return "Please give a reason: the supplier (or the team) reads it."
    if answer == CHOOSE and not (cid or "").strip():
        return "Please name the smelter's CID (for example CID001234)."
    if answer == CONFIRM and item.kind == SMELTER_MATCH and not item.evidence.get("suggested_cid"):
        return "The reference list has no single suggestion for this name: choose the smelter by its CID."
    return None


# Outcomes a person may reopen (the supplier's declaration was accepted).
REOPENABLE_OUTCOMES = frozenset({"valid", "valid_with_cap"})
ENDED_CAMPAIGN_STATES = frozenset({"closed", "cancelled"})


def why_not_reopen(*, campaign_state: Optional[str], campaign_ends_at: Optional[datetime], survey_state: str,
                   outcome: Optional[str], reason: str, now: datetime) -> Optional[str]:
    """A closed survey whose declaration was accepted can be reopened while its campaign runs."""
    if not reason.strip():
        return "Please give a reason: the supplier reads it in the correction request."
    if campaign_state in ENDED_CAMPAIGN_STATES or (campaign_ends_at is not None and campaign_ends_at <= now):
        return "The campaign has ended, so its surveys can no longer be reopened."
    if survey_state != "closed":
        return None  # still running: the survey's own reject path applies (not a reopen)
    if outcome not in REOPENABLE_OUTCOMES:
        return f"Only an accepted declaration can be reopened; this survey closed as {outcome or 'no outcome'}."
    return None
