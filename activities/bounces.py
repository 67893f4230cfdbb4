"""Reading the bounce mailbox (the side effect behind workflows/bounce_watch.py).

One pass: every unread message of the bounce mailbox is parsed (outreach/bounces/parse.py), recorded once
and tied to its outbox row (outreach/bounces/record.py), then marked done in the mailbox; soft-bounced
messages whose retry time has come are sent again, with the same Message-ID and return path. The
workflow is told the hard bounces of survey messages, to pause those surveys and fall back to the next
contact. A message is marked done only after it is recorded: a crash in between reads it again, and the
digest makes the second reading change nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Optional

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.columns import utcnow
from models.facts.bounces import HARD, NOT_A_BOUNCE, SOFT
from models.survey import Contact, MailBounced
from outreach.bounces.mailbox import BounceMailboxError, open_bounce_mailbox
from outreach.bounces.parse import read_bounce
from outreach.bounces.record import RecordedBounce, mark_told, record_bounce, retried, soft_retries_due, \
    untold_survey_bounces
from outreach.settings import Settings

log = logging.getLogger("outreach.bounces")


class SurveyBounce(BaseModel):
    survey_id: str
    bounce: MailBounced


class BouncePass(BaseModel):
    """What one reading of the bounce mailbox found."""

    read: int = 0
    hard: int = 0
    soft: int = 0
    not_bounces: int = 0
    unmatched: int = 0
    already_read: int = 0
    retried: int = 0
    surveys: list[SurveyBounce] = Field(default_factory=list)


class BounceActivities:
    def __init__(self, settings: Settings, engine: Engine, email=None):
        from activities.email import EmailActivities

        self.settings = settings
        self.engine = engine
        self.email = email or EmailActivities(settings, engine)

    def read_mailbox(self) -> BouncePass:
        result = BouncePass()
        try:
            box = open_bounce_mailbox(self.settings)
        except BounceMailboxError as exc:
            # Retried by Temporal; the message says what to fix (host, user, folder).
            raise ApplicationError(str(exc), type="BounceMailboxUnavailable") from None
        try:
            for item in box.unread():
                try:
                    reading = read_bounce(item.raw, self.settings.effective_bounce_address)
                    recorded = record_bounce(self.engine, self.settings, item.raw, reading, utcnow())
                    box.done(item.key)
                except Exception as exc:  # noqa: BLE001 - left unread, tried on the next pass; the others go on
                    log.warning("bounce mailbox message %s not recorded: %s", item.key, exc)
                    continue
                result.read += 1
                _count(result, recorded)
        finally:
            box.close()
        return result

    async def retry_soft_bounces(self) -> int:
        """Send again every soft-bounced message whose time has come (the same Message-ID: a relay that did
        deliver it meanwhile drops the duplicate)."""
        sent = 0
        for row in await asyncio.to_thread(soft_retries_due, self.engine, utcnow()):
            try:
                await self.email._deliver(row)
            except Exception as exc:  # noqa: BLE001 - tried again on the next pass
                log.warning("soft-bounced message %s not sent again: %s", row.idempotency_key, exc)
                continue
            await asyncio.to_thread(retried, self.engine, row.id, utcnow())
            sent += 1
        return sent

    @activity.defn(name="read_bounces")
    async def read_bounces(self) -> BouncePass:
        result = await asyncio.to_thread(self.read_mailbox)
        result.retried = await self.retry_soft_bounces()
        for b in await asyncio.to_thread(untold_survey_bounces, self.engine):
            fb = b.fallback
            result.surveys.append(SurveyBounce(survey_id=b.survey_id or "", bounce=MailBounced(
                email=b.email or "", detail=b.detail, message_id=b.message_id, bounce_id=b.bounce_id,
                fallback=Contact(email=fb.email, name=fb.name, language=fb.language) if fb else None)))
        if result.read or result.retried:
            log.info("bounce mailbox: %d read (%d hard, %d soft, %d not bounces, %d unmatched), %d retried",
                     result.read, result.hard, result.soft, result.not_bounces, result.unmatched, result.retried)
        return result

    def all(self) -> list:
        return [self.read_bounces, self.bounces_told]

    @activity.defn(name="bounces_told")
    def bounces_told(self, bounce_ids: list[int]) -> None:
        """The surveys of these bounces were signalled: not told again."""
        mark_told(self.engine, bounce_ids, utcnow())


def _count(result: BouncePass, recorded: Optional[RecordedBounce]) -> None:
    if recorded is None:
        result.already_read += 1
        return
    if recorded.kind == NOT_A_BOUNCE:
        result.not_bounces += 1
        return
    result.hard += recorded.kind == HARD
    result.soft += recorded.kind == SOFT
    if recorded.email is None:
        result.unmatched += 1
