"""Sending the product's emails exactly once per idempotency key.

The workflow computes the key (campaign, supplier, step, round). The first attempt renders the message
and inserts it into the outbox under that key (a unique row); every later attempt, retry or replay finds
the row and, once it is marked sent, sends nothing. The one window left is a crash after the SMTP server
accepted the message and before the row is marked sent: the retry then sends it again with the SAME
Message-ID, which mail systems use to drop duplicates.

A permanent refusal (SMTP 5xx) is a bounce: the activity returns ``bounced`` instead of retrying, so the
survey can pause that contact. Anything else (server down, 4xx) raises and Temporal retries with backoff.

Every attempt is counted on the row (attempts, last_attempt_at, last_error): a message that stays pending is
an outage the dashboard and /healthz show (outreach/health.py). A failed attempt logs one warning line, not
a traceback: an outage of hours retries thousands of messages. A message no server has accepted yet (its
last attempt failed) is rendered again from the attempt's context, so a survey that re-sends its request
with the due date counted from now states that date (workflows/survey.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Literal, Optional

import aiosmtplib
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select, update
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from models.columns import utcnow
from models.enums import OutboxStatus
from models.facts.bounces import return_path
from models.tables import OutboxMessage
from outreach.db import session_scope
from outreach.emails import build_mime, render_email
from outreach.languages import supplier_language_facts
from outreach.links import LinkSigner
from outreach.settings import Settings

log = logging.getLogger("outreach.mail")
# The failure type a workflow sees for a message the relay did not take (retried with backoff).
NOT_DELIVERED = "MailNotDelivered"


class EmailRequest(BaseModel):
    idempotency_key: str = Field(description="Computed in the workflow: the same key never sends twice.")
    template: str
    to: str
    cc: list[str] = Field(default_factory=list)
    survey_id: Optional[str] = None
    # Escalation emails carry the VP's decision link.
    escalation_id: Optional[str] = None
    context: dict[str, Any] = Field(default_factory=dict)


class EmailResult(BaseModel):
    status: Literal["sent", "already_sent", "bounced"]
    message_id: str
    detail: Optional[str] = None


class SmtpConnections:
    """A few open SMTP sessions, reused from one message to the next.

    A campaign sends thousands of requests in minutes; a new connection (TCP, greeting, EHLO, STARTTLS,
    AUTH, QUIT) per message costs more than the message. A session idle longer than the server would
    keep it is closed and opened again; a session that failed in any way is dropped, never reused.
    """

    IDLE_SECONDS = 30.0  # below every common server's idle timeout (RFC 5321 asks servers for 5 minutes)

    def __init__(self, settings: Settings, size: int = 4):
        self.settings = settings
        self.size = size
        # Set by _check_loop on first use, for the running event loop.
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        self._slots: Optional[asyncio.BoundedSemaphore] = None

    async def _open(self) -> aiosmtplib.SMTP:
        s = self.settings
        smtp = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_user,
                               password=s.smtp_password, start_tls=s.smtp_starttls, timeout=s.smtp_timeout_seconds)
        await smtp.connect()
        return smtp

    def _check_loop(self) -> None:
        """Sessions belong to the event loop that opened them (a test may run several loops in turn)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._idle, self._slots = loop, [], asyncio.BoundedSemaphore(self.size)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[aiosmtplib.SMTP]:
        self._check_loop()
        assert self._slots is not None
        async with self._slots:
            smtp = None
            while self._idle:
                candidate, since = self._idle.pop()
                if candidate.is_connected and time.monotonic() - since < self.IDLE_SECONDS:
                    smtp = candidate
                    break
                candidate.close()
            if smtp is None:
                smtp = await self._open()
            try:
                yield smtp
            except BaseException:
                smtp.close()
                raise
            self._idle.append((smtp, time.monotonic()))

    async def send(self, msg: Any, sender: Optional[str] = None) -> None:
        """Send on a reused session; a session the server closed meanwhile is replaced once. `sender`: the
        envelope sender (Return-Path) when it is not the From address."""
        for last_try in (False, True):
            try:
                async with self.session() as smtp:
                    await smtp.send_message(msg, sender=sender)
                return
            except aiosmtplib.SMTPServerDisconnected:
                if last_try:
                    raise


class EmailActivities:
    def __init__(self, settings: Settings, engine: Engine):
        self.settings = settings
        self.engine = engine
        self.links = LinkSigner.from_settings(settings)
        self.smtp = SmtpConnections(settings)

    def _message_id(self, key: str) -> str:
        domain = self.settings.mail_from.rsplit("@", 1)[-1].strip(">").strip() or "outreach.local"
        return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"

    def _context(self, req: EmailRequest, session: Optional[Session] = None) -> dict[str, Any]:
        """The template's context. `session`: the caller's open transaction, read in rather than a second
        session beside it (on SQLite a second one would wait for the first one's write lock)."""
        ctx = dict(req.context)
        ctx.setdefault("base_url", self.settings.public_base_url)
        if req.survey_id:
            ctx.setdefault("portal_url", self.links.portal_url(req.survey_id))
        if req.escalation_id:
            ctx.setdefault("decision_url", self.links.decision_url(req.escalation_id))
        if ctx.get("supplier_id"):  # the supplier's language: its portal choice, its last CMRT's (outreach.languages)
            if session is not None:
                facts = supplier_language_facts(session, str(ctx["supplier_id"]))
            else:
                with Session(self.engine) as own:
                    facts = supplier_language_facts(own, str(ctx["supplier_id"]))
            for key, value in facts.items():
                ctx.setdefault(key, value)
        return ctx

    def _render(self, req: EmailRequest, session: Optional[Session] = None):
        return render_email(req.template, self._context(req, session), company_language=self.settings.company_language)

    def _claim(self, req: EmailRequest) -> OutboxMessage:
        """The outbox row for this key, created (rendered) on first sight; every attempt is counted."""
        with session_scope(self.engine) as session:
            row = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == req.idempotency_key)).first()
            if row is not None:
                row.attempts += 1
                row.last_attempt_at = utcnow()
                if row.status == OutboxStatus.pending and row.last_error is not None:
                    # Never accepted by a server: this attempt's context holds (e.g. a due date counted anew).
                    rendered = self._render(req, session)
                    row.subject, row.body_text, row.body_html = rendered.subject, rendered.text, rendered.html
                session.add(row)
                return row
        rendered = self._render(req)
        row = OutboxMessage(
            idempotency_key=req.idempotency_key, survey_id=req.survey_id, template=req.template, to_addr=req.to,
            cc_addrs=list(req.cc), subject=rendered.subject, body_text=rendered.text, body_html=rendered.html,
            message_id=self._message_id(req.idempotency_key), attempts=1, last_attempt_at=utcnow(),
            return_token=secrets.token_hex(10),
            campaign_id=OutboxMessage.campaign_of_key(req.idempotency_key),
        )
        try:
            with session_scope(self.engine) as session:
                session.add(row)
        except IntegrityError:  # a concurrent attempt inserted it first
            with session_scope(self.engine) as session:
                return session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == req.idempotency_key)).one()
        return row

    def _mark(self, key: str, status: OutboxStatus, error: str | None = None) -> None:
        values: dict[str, Any] = {"status": status.value, "last_error": error}
        if status == OutboxStatus.sent:
            values["sent_at"] = utcnow()
        with session_scope(self.engine) as session:  # one UPDATE: the row was claimed before sending
            session.exec(update(OutboxMessage).where(OutboxMessage.idempotency_key == key).values(**values))

    def return_path(self, row: OutboxMessage) -> Optional[str]:
        """The row's own envelope sender, bounces+<token>@<domain>, so that a bounce names it (VERP); None
        (the From address) without a token (rows written before) or with VERP turned off."""
        if not (self.settings.bounce_verp and row.return_token):
            return None
        return return_path(self.settings.effective_bounce_address, row.return_token)

    async def _deliver(self, row: OutboxMessage) -> None:
        s = self.settings
        msg = build_mime(sender=s.mail_from, to=row.to_addr, cc=row.cc_addrs, subject=row.subject,
                         text=row.body_text, html=row.body_html, message_id=row.message_id,
                         headers={"X-Outreach-Template": row.template})
        await self.smtp.send(msg, sender=self.return_path(row))

    @activity.defn(name="send_email")
    async def send_email(self, req: EmailRequest) -> EmailResult:
        row = await asyncio.to_thread(self._claim, req)
        if row.status == OutboxStatus.sent:
            return EmailResult(status="already_sent", message_id=row.message_id)
        if row.status == OutboxStatus.bounced:
            return EmailResult(status="bounced", message_id=row.message_id, detail=row.last_error)
        try:
            await self._deliver(row)
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException) as exc:
            code = _smtp_code(exc)
            if code is not None and code >= 500:
                detail = f"{code} {_smtp_text(exc)}"
                await asyncio.to_thread(self._mark, req.idempotency_key, OutboxStatus.bounced, detail)
                return EmailResult(status="bounced", message_id=row.message_id, detail=detail)
            await self._not_delivered(row, f"{code} {_smtp_text(exc)}" if code else str(exc))
        except Exception as exc:
            await self._not_delivered(row, f"{type(exc).__name__}: {exc}")
        await asyncio.to_thread(self._mark, req.idempotency_key, OutboxStatus.sent)
        return EmailResult(status="sent", message_id=row.message_id)

    async def _not_delivered(self, row: OutboxMessage, error: str) -> None:
        """Record the failed attempt and hand Temporal a retryable failure: one warning line here, no
        traceback from the SDK (a benign failure is logged at debug level)."""
        await asyncio.to_thread(self._mark, row.idempotency_key, OutboxStatus.pending, error)
        log.warning("mail not delivered (attempt %d): %s to %s: %s", row.attempts, row.template, row.to_addr, error)
        raise ApplicationError(error, type=NOT_DELIVERED, category=ApplicationErrorCategory.BENIGN) from None


def _smtp_code(exc: Exception) -> int | None:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        return min(codes) if codes else None
    return getattr(exc, "code", None)


def _smtp_text(exc: Exception) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.recipient}: {r.message}" for r in exc.recipients)
    return getattr(exc, "message", str(exc))
