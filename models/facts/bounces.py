"""What a bounce means: hard or soft, when soft bounces give up, which contact is asked next, and the
return path (VERP) that ties a bounce to the message it is about.

Pure: plain values in, plain values out. The bounce reader (outreach/bounces/), the survey workflow and
the pages read these; none decides the same thing again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Optional, Sequence

HARD = "hard"
SOFT = "soft"
NOT_A_BOUNCE = "not_a_bounce"

# A DSN status 4.x.x is a condition that may pass (mailbox full, greylisting) even when the relay stopped
# trying; 5.x.x is final (RFC 3463).
_TEMPORARY_STATUS = re.compile(r"^4\.\d{1,3}\.\d{1,3}$")


def bounce_kind(temporary: Iterable[str], permanent: Iterable[str], statuses: Iterable[str] = ()) -> str:
    """hard, soft or not_a_bounce, from the failed recipients a bounce parser found and the DSN status
    codes: a failure whose every status is 4.x.x is soft (the relay gave up on a full mailbox), a
    permanent failure otherwise hard, a delay soft."""
    permanent, temporary = list(permanent), list(temporary)
    codes = [c.strip() for c in statuses if c and c.strip()]
    if permanent:
        if codes and all(_TEMPORARY_STATUS.match(c) for c in codes):
            return SOFT
        return HARD
    if temporary:
        return SOFT
    return NOT_A_BOUNCE


@dataclass(frozen=True)
class SoftVerdict:
    give_up: bool
    retry_at: Optional[datetime]
    reason: str


def after_soft_bounce(*, soft_bounces: int, first_soft_at: datetime, now: datetime, limit: int,
                      period: timedelta, retry_after: timedelta) -> SoftVerdict:
    """A message soft-bounced ``soft_bounces`` times (this one counted) since ``first_soft_at``: tried
    again after ``retry_after``, or given up (a hard bounce) once ``limit`` soft bounces fall within
    ``period``. A soft bounce after the period starts a new count (the caller resets first_soft_at)."""
    if soft_bounces >= limit and now - first_soft_at <= period:
        return SoftVerdict(True, None, f"{soft_bounces} temporary failures since {first_soft_at:%d %b %Y %H:%M} UTC")
    return SoftVerdict(False, now + retry_after, f"temporary failure {soft_bounces} of {limit}: tried again later")


def soft_period_restarts(first_soft_at: Optional[datetime], now: datetime, period: timedelta) -> bool:
    """A soft bounce long after the first one counted starts a new count."""
    return first_soft_at is None or now - first_soft_at > period


@dataclass(frozen=True)
class ContactOption:
    email: str
    name: Optional[str] = None
    language: str = "en"


def next_contact(contacts: Sequence[ContactOption], failed: Iterable[str], current: str) -> Optional[ContactOption]:
    """The supplier's next contact after ``current`` bounced: the first in the supplier list's order
    (primary first, then as imported) whose address neither is the current one nor has bounced."""
    skip = {a.strip().lower() for a in failed} | {current.strip().lower()}
    return next((c for c in contacts if c.email.strip().lower() not in skip), None)


def why_not_bounce(s: Any, email: str) -> Optional[str]:
    """Why a bounce read later changes nothing on the survey (``s``: its carried state), else None: it is
    about an address that is no longer the contact, the contact already bounced, or the survey closed."""
    if str(getattr(s.state, "value", s.state)) == "closed":
        return "the survey is closed"
    if email.strip().lower() != s.contact.email.strip().lower():
        return f"{email} is not the survey's contact any more"
    if s.bounced:
        return "the contact already bounced"
    return None


# --- The return path (VERP) -------------------------------------------------------------------------

def return_path(bounce_address: str, token: str) -> str:
    """bounces@example.com and token t -> bounces+t@example.com."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{token}@{domain}"


def token_in(address: str, bounce_address: str) -> Optional[str]:
    """The token of a return path built by :func:`return_path` from this bounce address, else None."""
    local, _, domain = bounce_address.rpartition("@")
    m = re.search(rf"(?<![\w.+-]){re.escape(local)}\+([A-Za-z0-9]{{6,32}})@{re.escape(domain)}\b", address or "",
                  re.IGNORECASE)
    return m.group(1) if m else None
