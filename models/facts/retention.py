"""How long records are kept, and what a purge may remove: decided once, over plain data.

Records are kept ``years`` after their campaign closed (five by default: the EU Conflict Minerals
Regulation, Art. 4, and the seed program). A legal hold on a campaign keeps all of it; a hold on a
supplier keeps that supplier's surveys in every campaign (and so the campaign's own row). The audit
trail is purged only as a prefix of its chain: from the oldest entry up to the first one that must stay
(``audit_prefix``), so what is left still verifies from a recorded starting hash.

``outreach.retention`` (plan and purge), the CLI and the README all read these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Optional

DEFAULT_YEARS = 5
# Campaign states after which nothing more happens to its surveys.
FINISHED = ("closed", "cancelled")

OPEN = "open"          # still running (or never closed): nothing goes
KEPT = "kept"          # closed, within the retention period
HELD = "held"          # under legal hold: nothing goes, whatever its age
DUE = "due"            # past the period: its records go (except held suppliers' surveys)


@dataclass(frozen=True)
class Holds:
    """The active legal holds, by what they hold."""

    campaigns: frozenset[str] = frozenset()
    suppliers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CampaignRetention:
    status: str
    purge_after: Optional[datetime]  # when its records may go (None while it runs)
    why: str
    held_suppliers: tuple[str, ...] = field(default=())  # suppliers of a due campaign whose surveys stay


def years_after(moment: datetime, years: int) -> datetime:
    """The same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def campaign_retention(campaign_id: str, state: str, closed_at: Optional[datetime], *, years: int, now: datetime,
                       holds: Holds, suppliers: Iterable[str] = ()) -> CampaignRetention:
    """What retention says of one campaign now; ``suppliers`` are those it surveyed."""
    if state not in FINISHED or closed_at is None:
        return CampaignRetention(OPEN, None, "the campaign has not closed: its retention period has not started")
    after = years_after(closed_at, years)
    if campaign_id in holds.campaigns:
        return CampaignRetention(HELD, after, "the campaign is under legal hold")
    if now < after:
        return CampaignRetention(KEPT, after, f"kept until {after:%d %B %Y}, {years} years after the campaign closed")
    held = tuple(sorted(set(suppliers) & holds.suppliers))
    why = f"closed on {closed_at:%d %B %Y}, more than {years} years ago"
    if held:
        why += f"; the surveys of {', '.join(held)} stay under legal hold"
    return CampaignRetention(DUE, after, why, held)


def survey_of(object_type: str, object_id: str) -> Optional[tuple[str, str]]:
    """(campaign, supplier) of a survey ID (``survey/<campaign>/<supplier>``), else None."""
    parts = object_id.split("/")
    if object_type == "survey" and len(parts) >= 3 and parts[0] == "survey":
        return parts[1], parts[2]
    return None


@dataclass(frozen=True)
class AuditFacts:
    """What retention reads of one audit entry."""

    seq: int
    at: datetime
    campaign_id: Optional[str]
    object_type: str
    object_id: str


def why_audit_entry_stays(entry: AuditFacts, *, years: int, now: datetime, kept_campaigns: frozenset[str],
                          holds: Holds) -> Optional[str]:
    """Why an entry stays (None: it may go): while it is younger than the period, while its campaign is not due
    for purge (a campaign past its period, or never recorded, does not keep it), or while it concerns something
    under legal hold."""
    if now < years_after(entry.at, years):
        return f"it is younger than {years} year{'s' if years != 1 else ''}"
    if entry.campaign_id and entry.campaign_id in holds.campaigns:
        return f"its campaign {entry.campaign_id} is under legal hold"
    if entry.campaign_id and entry.campaign_id in kept_campaigns:
        return f"its campaign {entry.campaign_id} is kept"
    if entry.object_type == "campaign" and entry.object_id in holds.campaigns:
        return f"the campaign {entry.object_id} is under legal hold"
    if entry.object_type == "supplier" and entry.object_id in holds.suppliers:
        return f"the supplier {entry.object_id} is under legal hold"
    survey = survey_of(entry.object_type, entry.object_id)
    if survey is not None and survey[1] in holds.suppliers:
        return f"it concerns the supplier {survey[1]}, under legal hold"
    if survey is not None and survey[0] in holds.campaigns:
        return f"its campaign {survey[0]} is under legal hold"
    return None


def audit_entry_stays(entry: AuditFacts, **rule) -> bool:
    return why_audit_entry_stays(entry, **rule) is not None


def audit_prefix(entries: Iterable[AuditFacts], **rule) -> int:
    """How many of the oldest entries (in chain order) may go: up to the first that stays. A later entry
    that could go waits for the ones before it, so the chain left is whole from its first entry on."""
    n = 0
    for entry in entries:
        if audit_entry_stays(entry, **rule):
            break
        n += 1
    return n
