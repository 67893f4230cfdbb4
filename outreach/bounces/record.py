"""Recording a bounce read from the bounce mailbox: tied to the outbox row it is about, written once.

Tied by the return path's token first (VERP: the relay sent the bounce to bounces+<token>@...), else by
the bounced message's Message-ID. The bounce, its outbox row and the audit entry are written in one
transaction; a message read again (the same bytes) changes nothing. A bounce tied to no message is kept
(``bounce_mail`` with no outbox row) and shown to the compliance team.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, or_, select

from models.enums import OutboxStatus
from models.facts.bounces import HARD, NOT_A_BOUNCE, SOFT, ContactOption, after_soft_bounce, next_contact, \
    soft_period_restarts
from models.tables import BounceMail, OutboxMessage, Survey, SupplierContact
from outreach import audit
from outreach.bounces.parse import BounceReading
from outreach.db import session_scope
from outreach.settings import Settings

MAX_RAW = 256 * 1024


@dataclass(frozen=True)
class RecordedBounce:
    """What the poller tells the survey: only for a hard bounce of a message that belongs to a survey."""

    bounce_id: int
    kind: str  # hard, soft, not_a_bounce (a soft one given up is hard)
    survey_id: Optional[str] = None
    email: Optional[str] = None
    detail: str = ""
    message_id: Optional[str] = None
    fallback: Optional[ContactOption] = None


def digest_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def record_bounce(engine: Engine, settings: Settings, raw: bytes, reading: BounceReading,
                  now: datetime) -> Optional[RecordedBounce]:
    """Record one message of the bounce mailbox; None when it was recorded before."""
    digest = digest_of(raw)
    try:
        with session_scope(engine) as session:
            if session.exec(select(BounceMail.id).where(BounceMail.digest == digest)).first() is not None:
                return None
            row, matched_by = _tie(session, reading)
            mail = BounceMail(digest=digest, received_at=now, from_addr=reading.from_addr[:320] or None,
                              subject=reading.subject[:500] or None, kind=reading.kind, recipients=reading.recipients,
                              diagnostic=reading.diagnostic or None, matched_by=matched_by,
                              outbox_id=row.id if row else None, raw=raw[:MAX_RAW].decode("utf-8", "replace"))
            if row is not None:
                mail.survey_id = row.survey_id or OutboxMessage.survey_of_key(row.idempotency_key)
            session.add(mail)
            session.flush()
            assert mail.id is not None
            if reading.kind == NOT_A_BOUNCE:
                return RecordedBounce(mail.id, NOT_A_BOUNCE)
            if row is None:
                audit.record(session, actor=None, action="mail.bounce_unmatched", object_type="bounce",
                             object_id=str(mail.id), reason=reading.diagnostic or reading.subject,
                             after={"kind": reading.kind, "recipients": reading.recipients, "from": reading.from_addr})
                return RecordedBounce(mail.id, reading.kind, detail=reading.diagnostic)
            return _on_message(session, settings, mail, row, reading, matched_by or "", now)
    except IntegrityError:  # another poller recorded the same message at the same moment
        return None


def _tie(session: Session, reading: BounceReading) -> tuple[Optional[OutboxMessage], Optional[str]]:
    if reading.token:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.return_token == reading.token)).first()
        if row is not None:
            return row, "return path"
    for mid in reading.message_ids:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.message_id == mid)
                           .order_by(OutboxMessage.id.desc())).first()
        if row is not None:
            return row, "message id"
    return None, None


def _on_message(session: Session, settings: Settings, mail: BounceMail, row: OutboxMessage, reading: BounceReading,
                matched_by: str, now: datetime) -> RecordedBounce:
    before = {"status": row.status, "bounce_kind": row.bounce_kind, "soft_bounces": row.soft_bounces}
    detail = reading.diagnostic or reading.subject or "bounced"
    kind = reading.kind
    if kind == SOFT and row.bounce_kind != HARD:
        if soft_period_restarts(row.first_soft_bounce_at, now, timedelta(hours=settings.bounce_soft_period_hours)):
            row.first_soft_bounce_at, row.soft_bounces = now, 0
        row.soft_bounces += 1
        assert row.first_soft_bounce_at is not None
        verdict = after_soft_bounce(soft_bounces=row.soft_bounces, first_soft_at=row.first_soft_bounce_at, now=now,
                                    limit=settings.bounce_soft_limit,
                                    period=timedelta(hours=settings.bounce_soft_period_hours),
                                    retry_after=timedelta(minutes=settings.bounce_soft_retry_minutes))
        row.bounce_kind, row.bounce_detail, row.bounced_at = SOFT, detail, now
        row.retry_at = verdict.retry_at
        if verdict.give_up:
            kind, detail = HARD, f"{detail} ({verdict.reason})"
    if kind == HARD:
        row.bounce_kind, row.bounce_detail, row.bounced_at, row.retry_at = HARD, detail, now, None
        row.status, row.last_error = OutboxStatus.bounced.value, detail
    session.add(row)
    audit.record(session, actor=None, action="mail.bounced", object_type="message", object_id=row.idempotency_key,
                 campaign_id=row.campaign_id, reason=detail, before=before,
                 after={"status": row.status, "bounce_kind": kind, "soft_bounces": row.soft_bounces,
                        "to": row.to_addr, "tied_by": matched_by, "bounce": mail.id})
    mail.kind = kind  # what it amounted to: a soft bounce past the limit is hard
    session.add(mail)
    return RecordedBounce(mail.id or 0, kind, survey_id=mail.survey_id, email=row.to_addr, detail=detail,
                          message_id=row.message_id)


def untold_survey_bounces(engine: Engine, limit: int = 500) -> list[RecordedBounce]:
    """Hard bounces of survey messages whose survey has not been told yet (``survey_told_at``), each with the
    supplier's next contact: a pass that crashed after recording is told on the next one."""
    with session_scope(engine) as session:
        rows = session.exec(select(BounceMail, OutboxMessage)
                            .join(OutboxMessage, OutboxMessage.id == BounceMail.outbox_id)
                            .where(BounceMail.kind == HARD, BounceMail.survey_id.is_not(None),
                                   BounceMail.survey_told_at.is_(None))
                            .order_by(BounceMail.id).limit(limit)).all()
        return [RecordedBounce(mail.id or 0, HARD, survey_id=mail.survey_id, email=row.to_addr,
                               detail=row.bounce_detail or mail.diagnostic or "", message_id=row.message_id,
                               fallback=_fallback(session, mail.survey_id or "", row.to_addr))
                for mail, row in rows]


def mark_told(engine: Engine, bounce_ids: list[int], now: datetime) -> None:
    with session_scope(engine) as session:
        for mail in session.exec(select(BounceMail).where(BounceMail.id.in_(bounce_ids))):
            mail.survey_told_at = now
            session.add(mail)


def _fallback(session: Session, survey_id: str, failed_address: str) -> Optional[ContactOption]:
    """The supplier's next contact (models.facts.bounces.next_contact), skipping every address of the
    survey that bounced."""
    survey = session.get(Survey, survey_id)
    if survey is None:
        return None
    contacts = session.exec(select(SupplierContact).where(SupplierContact.supplier_id == survey.supplier_id)
                            .order_by(SupplierContact.is_primary.desc(), SupplierContact.id)).all()
    failed = session.exec(select(OutboxMessage.to_addr).where(
        or_(OutboxMessage.survey_id == survey_id, OutboxMessage.idempotency_key.startswith(f"{survey_id}/", autoescape=True)),
        OutboxMessage.status == OutboxStatus.bounced.value)).all()
    options = [ContactOption(email=c.email, name=c.name, language=c.language or "en") for c in contacts]
    return next_contact(options, [*failed, failed_address], failed_address)


def soft_retries_due(engine: Engine, now: datetime, limit: int = 100) -> list[OutboxMessage]:
    """Messages that soft-bounced and whose retry time has come."""
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.retry_at.is_not(None),
                                                             OutboxMessage.retry_at <= now,
                                                             OutboxMessage.bounce_kind == SOFT)
                                 .order_by(OutboxMessage.retry_at).limit(limit)))


def retried(engine: Engine, outbox_id: int, now: datetime) -> None:
    """A soft-bounced message went out again: no retry pending until the next bounce says so."""
    with session_scope(engine) as session:
        row = session.get(OutboxMessage, outbox_id)
        if row is not None and row.bounce_kind == SOFT:
            row.retry_at = None
            row.attempts += 1
            row.last_attempt_at = now
            session.add(row)
            audit.record(session, actor=None, action="mail.retried", object_type="message",
                         object_id=row.idempotency_key, campaign_id=row.campaign_id,
                         reason=f"sent again after temporary failure {row.soft_bounces}")


# --- Reading: the bounce list (the /bounces page, `outreach bounces list`) ------------------------

KIND_WORDS = {HARD: "bounced", SOFT: "temporary failure", NOT_A_BOUNCE: "not a bounce"}


@dataclass(frozen=True)
class BounceLine:
    id: int
    received_at: datetime
    kind: str
    kind_words: str
    from_addr: Optional[str]
    subject: Optional[str]
    recipients: list
    diagnostic: Optional[str]
    matched_by: Optional[str]
    message_to: Optional[str] = None
    message_template: Optional[str] = None
    survey_id: Optional[str] = None
    supplier_id: Optional[str] = None

    @property
    def unmatched(self) -> bool:
        """A bounce for no message the product knows: the compliance team looks at it by hand."""
        return self.kind != NOT_A_BOUNCE and self.matched_by is None


def recent_bounces(engine: Engine, *, unmatched_only: bool = False, limit: int = 200) -> list[BounceLine]:
    """What the bounce mailbox held, newest first, each with the message and supplier it is about."""
    with session_scope(engine) as session:
        q = (select(BounceMail, OutboxMessage.to_addr, OutboxMessage.template, Survey.supplier_id)
             .join(OutboxMessage, OutboxMessage.id == BounceMail.outbox_id, isouter=True)
             .join(Survey, Survey.id == BounceMail.survey_id, isouter=True))
        if unmatched_only:
            q = q.where(BounceMail.outbox_id.is_(None), BounceMail.kind != NOT_A_BOUNCE)
        rows = session.exec(q.order_by(BounceMail.id.desc()).limit(limit)).all()
        return [BounceLine(id=m.id or 0, received_at=m.received_at, kind=m.kind, kind_words=KIND_WORDS.get(m.kind, m.kind),
                           from_addr=m.from_addr, subject=m.subject, recipients=list(m.recipients or []),
                           diagnostic=m.diagnostic, matched_by=m.matched_by, message_to=to, message_template=template,
                           survey_id=m.survey_id, supplier_id=supplier)
                for m, to, template, supplier in rows]
