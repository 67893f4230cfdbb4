"""The read model: what the dashboards, the CLI and the reports read without asking Temporal.

Temporal holds the truth about where each survey is; activities write every transition here.
Rows written by activities carry a key computed in the workflow so that a retried activity
changes nothing (unique constraints below).
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.columns import UTCDateTime, utcnow


def _ts():
    return Field(default=None, sa_type=UTCDateTime, nullable=True)


def _created():
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# --- Suppliers and people -----------------------------------------------------------------


class Supplier(SQLModel, table=True):
    __tablename__ = "supplier"

    id: str = Field(primary_key=True, max_length=64, description="The supplier ID from the company's master data.")
    name: str = Field(max_length=300)
    category: Optional[str] = Field(default=None, max_length=64, index=True, description="e.g. preferred, strategic")
    annual_spend: float = Field(default=0.0, description="Annual direct spend, in the company's currency.")
    commodity_manager_name: Optional[str] = Field(default=None, max_length=200)
    commodity_manager_email: Optional[str] = Field(default=None, max_length=320, index=True)
    country: Optional[str] = Field(default=None, max_length=100)
    # Set by the VP's decision: active, suspended, disengaged.
    status: str = Field(default="active", max_length=32, index=True)
    # The language the supplier chose on its portal (outreach.i18n code): first choice for its pages and emails.
    portal_language: Optional[str] = Field(default=None, max_length=16)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class SupplierContact(SQLModel, table=True):
    __tablename__ = "supplier_contact"
    __table_args__ = (UniqueConstraint("supplier_id", "email"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    supplier_id: str = Field(foreign_key="supplier.id", index=True, max_length=64)
    name: Optional[str] = Field(default=None, max_length=200)
    email: str = Field(max_length=320)
    language: str = Field(default="en", max_length=16)
    is_primary: bool = Field(default=True)


class User(SQLModel, table=True):
    """A compliance team member (dashboard, CLI and API)."""

    __tablename__ = "app_user"

    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: Optional[str] = Field(default=None, max_length=200)
    password_hash: str = Field(max_length=300)
    api_token_hash: Optional[str] = Field(default=None, max_length=300, index=True)
    # What the account may do: outreach/roles.py (admin, analyst, auditor, executive, commodity_manager).
    role: str = Field(default="analyst", max_length=32)
    created_at: datetime = _created()
    # A deactivated account signs in no more, its sessions and API token are worth nothing; the row stays
    # (its email names who did what in the timelines).
    deactivated_at: Optional[datetime] = _ts()


class SignInFailure(SQLModel, table=True):
    """A failed dashboard sign-in, kept while it counts towards the lockout: in the database, so every
    web replica sees the same count."""

    __tablename__ = "sign_in_failure"

    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, index=True, description="normalised, whether or not an account has it")
    # Where the attempt came from: one address trying many accounts is slowed down too (outreach/users.py).
    client_address: Optional[str] = Field(default=None, max_length=64, index=True)
    at: datetime = _created()


class UserSession(SQLModel, table=True):
    """A signed-in browser. The cookie carries a random token; this row makes it worth something, so
    signing out (or an administrator) ends the session on the server, not only in that browser."""

    __tablename__ = "user_session"

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True, description="SHA-256 of the cookie's token")
    user_id: int = Field(foreign_key="app_user.id", index=True)
    client_address: Optional[str] = Field(default=None, max_length=64)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ended_at: Optional[datetime] = _ts()


# --- Campaigns and surveys ----------------------------------------------------------------


class Campaign(SQLModel, table=True):
    __tablename__ = "campaign"

    id: str = Field(primary_key=True, max_length=64, description="e.g. 'cmrt-2026'")
    year: int = Field(index=True, description="The reporting year surveyed.")
    name: str = Field(max_length=200)
    state: str = Field(default="draft", max_length=32, index=True)
    # The template asked for, CMRT or EMRT (models.facts.template_kind), and its minerals (empty: all).
    kind: str = Field(default="CMRT", max_length=8, sa_column_kwargs={"server_default": "CMRT"})
    minerals: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    policy: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    selection: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    workflow_id: Optional[str] = Field(default=None, max_length=200)
    suppliers_selected: int = Field(default=0)
    surveys_started: int = Field(default=0)
    starts_at: Optional[datetime] = _ts()
    ends_at: Optional[datetime] = _ts()
    closed_at: Optional[datetime] = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Survey(SQLModel, table=True):
    """One supplier in one campaign: the current state of its durable workflow."""

    __tablename__ = "survey"
    __table_args__ = (UniqueConstraint("campaign_id", "supplier_id"),)

    id: str = Field(primary_key=True, max_length=200, description="The survey workflow's ID.")
    campaign_id: str = Field(foreign_key="campaign.id", index=True, max_length=64)
    supplier_id: str = Field(foreign_key="supplier.id", index=True, max_length=64)
    state: str = Field(default="requested", max_length=40, index=True)
    outcome: Optional[str] = Field(default=None, max_length=40, index=True)
    contact_name: Optional[str] = Field(default=None, max_length=200)
    contact_email: Optional[str] = Field(default=None, max_length=320)
    language: str = Field(default="en", max_length=16)
    paused: bool = Field(default=False)
    contact_bounced: bool = Field(default=False)
    correction_round: int = Field(default=0)
    reminders_sent: int = Field(default=0)
    requested_at: Optional[datetime] = _ts()
    due_at: Optional[datetime] = _ts()
    # By when the supplier must act in the current step: the due date, or the end of the correction or
    # product-level window (models.facts.deadlines.answer_by, computed by the workflow). Every face states it.
    answer_by: Optional[datetime] = _ts()
    first_submission_at: Optional[datetime] = _ts()
    last_submission_id: Optional[str] = Field(default=None, max_length=200)
    next_step: Optional[str] = Field(default=None, max_length=200)
    next_step_at: Optional[datetime] = _ts()
    program_strength: Optional[str] = Field(default=None, max_length=16)
    declaration_scope: Optional[str] = Field(default=None, max_length=32)
    # The workflow's event counter: a write with an older sequence number is stale and ignored.
    seq: int = Field(default=0)
    closed_at: Optional[datetime] = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class SurveyEvent(SQLModel, table=True):
    """The timeline: one row per transition, with when and why."""

    __tablename__ = "survey_event"
    __table_args__ = (UniqueConstraint("survey_id", "seq"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    survey_id: str = Field(foreign_key="survey.id", index=True, max_length=200)
    seq: int = Field(description="Position in the survey's timeline, computed in the workflow.")
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    kind: str = Field(max_length=64, index=True)
    state: Optional[str] = Field(default=None, max_length=40)
    actor: Optional[str] = Field(default=None, max_length=320)
    reason: Optional[str] = Field(default=None, sa_column=Column(Text))
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# --- Files, submissions, findings --------------------------------------------------------


class StoredFile(SQLModel, table=True):
    """A file kept once under its SHA-256; workflows pass this reference, never the bytes."""

    __tablename__ = "stored_file"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    content_type: Optional[str] = Field(default=None, max_length=120)
    original_filename: Optional[str] = Field(default=None, max_length=300)
    stored_at: datetime = _created()


class Submission(SQLModel, table=True):
    __tablename__ = "submission"

    id: str = Field(primary_key=True, max_length=200, description="Computed in the workflow (survey, sequence).")
    survey_id: str = Field(foreign_key="survey.id", index=True, max_length=200)
    file_sha256: str = Field(foreign_key="stored_file.sha256", max_length=64)
    filename: Optional[str] = Field(default=None, max_length=300)
    channel: str = Field(default="portal", max_length=32, description="portal, cli, email, api")
    submitted_by: Optional[str] = Field(default=None, max_length=320)
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    round: int = Field(default=0, description="0 for the first answer, then each correction round.")
    purpose: str = Field(default="declaration", max_length=32, description="declaration or product_level")
    verdict: Optional[str] = Field(default=None, max_length=16, index=True)
    template_version: Optional[str] = Field(default=None, max_length=32)
    checker_remaining: Optional[int] = Field(default=None)
    program_strength: Optional[str] = Field(default=None, max_length=16)
    declaration_scope: Optional[str] = Field(default=None, max_length=32)
    # Accepted or rejected by hand, overriding the verdict.
    manual_decision: Optional[str] = Field(default=None, max_length=16)
    manual_reason: Optional[str] = Field(default=None, sa_column=Column(Text))
    result: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Finding(SQLModel, table=True):
    __tablename__ = "finding"

    id: Optional[int] = Field(default=None, primary_key=True)
    submission_id: str = Field(foreign_key="submission.id", index=True, max_length=200)
    code: str = Field(max_length=64, index=True)
    severity: str = Field(max_length=16)
    sheet: Optional[str] = Field(default=None, max_length=64)
    cell: Optional[str] = Field(default=None, max_length=32)
    message: str = Field(sa_column=Column(Text, nullable=False))
    # the values the sentence was written with (cmrt's Finding.params), so the portal and the emails can say
    # it in the supplier's language; None on rows stored before they were kept (those stay in English)
    params: Optional[dict] = Field(default=None, sa_column=Column(JSON, nullable=True))


# --- Corrective actions and escalations --------------------------------------------------


class CorrectiveActionPlan(SQLModel, table=True):
    __tablename__ = "corrective_action_plan"

    id: str = Field(primary_key=True, max_length=200, description="The plan workflow's ID.")
    survey_id: str = Field(foreign_key="survey.id", index=True, max_length=200)
    reason: Optional[str] = Field(default=None, sa_column=Column(Text))
    state: str = Field(default="requested", max_length=32, index=True)
    opened_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    closed_at: Optional[datetime] = _ts()


class CorrectiveAction(SQLModel, table=True):
    __tablename__ = "corrective_action"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="corrective_action_plan.id", index=True, max_length=200)
    number: int
    description: str = Field(sa_column=Column(Text, nullable=False))
    owner: str = Field(max_length=200)
    target_date: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: str = Field(default="open", max_length=32)
    status_note: Optional[str] = Field(default=None, sa_column=Column(Text))
    reported_at: Optional[datetime] = _ts()
    verified_at: Optional[datetime] = _ts()
    verified_by: Optional[str] = Field(default=None, max_length=320)


class Escalation(SQLModel, table=True):
    __tablename__ = "escalation"

    id: str = Field(primary_key=True, max_length=200, description="The escalation workflow's ID.")
    survey_id: str = Field(foreign_key="survey.id", index=True, max_length=200)
    reason: str = Field(max_length=64)
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    opened_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reminders_sent: int = Field(default=0)
    decision: Optional[str] = Field(default=None, max_length=32, index=True)
    decided_by: Optional[str] = Field(default=None, max_length=320)
    decided_at: Optional[datetime] = _ts()
    decision_reason: Optional[str] = Field(default=None, sa_column=Column(Text))
    # Open while closed_at is empty. closed_as: decided (the VP's decision above), lapsed (no decision
    # after every reminder: the survey closed with its provisional outcome) or withdrawn (the supplier
    # answered late, or the survey was withdrawn).
    closed_at: Optional[datetime] = _ts()
    closed_as: Optional[str] = Field(default=None, max_length=16, index=True)


# --- Outgoing mail -------------------------------------------------------------------------


class OutboxMessage(SQLModel, table=True):
    """One row per email the product means to send; the unique key makes each send happen once."""

    __tablename__ = "outbox_message"

    id: Optional[int] = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=300, unique=True, index=True)
    survey_id: Optional[str] = Field(default=None, index=True, max_length=200)
    template: str = Field(max_length=64)
    to_addr: str = Field(max_length=320)
    cc_addrs: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subject: str = Field(max_length=500)
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: Optional[str] = Field(default=None, sa_column=Column(Text))
    # Indexed: a bounce without its return path is tied to its message by this (outreach/bounces/record.py).
    message_id: str = Field(max_length=300, index=True)
    # The campaign the message belongs to (from its idempotency key), for the campaign page's list of
    # messages that wait.
    campaign_id: Optional[str] = Field(default=None, index=True, max_length=64)
    status: str = Field(default="pending", max_length=16, index=True)
    # Delivery state: every attempt counts, with when it ran and why it failed; a message still pending
    # long after `created_at` is an outage the dashboard and /healthz show (outreach/health.py).
    attempts: int = Field(default=0)
    last_error: Optional[str] = Field(default=None, sa_column=Column(Text))
    last_attempt_at: Optional[datetime] = _ts()
    created_at: datetime = _created()
    sent_at: Optional[datetime] = _ts()
    # The message's own return path is bounces+<return_token>@<domain> (VERP): a delivery-status
    # notification sent there names this row (outreach/bounces/). A random token, stored, never derived.
    return_token: Optional[str] = Field(default=None, max_length=32, unique=True, index=True)
    # What the relay reported after accepting it: "hard" (the address is dead) or "soft" (mailbox full,
    # retried at retry_at), with its diagnostic; soft_bounces count within the policy's period.
    bounce_kind: Optional[str] = Field(default=None, max_length=8)
    bounce_detail: Optional[str] = Field(default=None, sa_column=Column(Text))
    bounced_at: Optional[datetime] = _ts()
    soft_bounces: int = Field(default=0)
    first_soft_bounce_at: Optional[datetime] = _ts()
    retry_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime, nullable=True, index=True)

    @staticmethod
    def campaign_of_key(key: str) -> Optional[str]:
        """The campaign an idempotency key belongs to: survey, plan and escalation keys start with the
        survey's ID (`survey/<campaign>/<supplier>/...`), the campaign's own with `campaign/<campaign>/`."""
        parts = key.split("/")
        if len(parts) > 2 and parts[0] in ("survey", "campaign") and parts[1]:
            return parts[1][:64]
        return None

    @staticmethod
    def survey_of_key(key: str) -> Optional[str]:
        """The survey a survey, plan or escalation message belongs to (`survey/<campaign>/<supplier>`)."""
        parts = key.split("/")
        return "/".join(parts[:3]) if len(parts) > 3 and parts[0] == "survey" else None


# --- Operations ----------------------------------------------------------------------------


class ActivityFailure(SQLModel, table=True):
    """An activity that keeps failing (from its third attempt, OUTREACH_HEALTH_ACTIVITY_ATTEMPTS): written by
    the worker on each failed attempt, deleted when that activity succeeds. The dashboard's banner and
    /healthz read it; a row not seen for an hour belongs to an activity no longer retried."""

    __tablename__ = "activity_failure"

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(max_length=400, unique=True, description="workflow ID, run ID and activity ID")
    activity: str = Field(max_length=100, index=True)
    workflow_id: str = Field(max_length=300)
    campaign_id: Optional[str] = Field(default=None, index=True, max_length=64)
    attempts: int = Field(default=0)
    last_error: Optional[str] = Field(default=None, sa_column=Column(Text))
    first_seen_at: datetime = _created()
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)


class BounceMail(SQLModel, table=True):
    """One message read from the bounce mailbox, kept whatever it was: a bounce tied to the message it is
    about (``outbox_id``), a bounce for no message the product knows (unmatched: shown to the compliance
    team, never dropped), or not a bounce at all (an auto-reply). ``digest`` (SHA-256 of the raw message)
    makes a re-read change nothing."""

    __tablename__ = "bounce_mail"

    id: Optional[int] = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True)
    received_at: datetime = _created()
    from_addr: Optional[str] = Field(default=None, max_length=320)
    subject: Optional[str] = Field(default=None, max_length=500)
    kind: str = Field(max_length=16, index=True, description="hard, soft or not_a_bounce")
    recipients: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    diagnostic: Optional[str] = Field(default=None, sa_column=Column(Text))
    # How it was tied to the outbox: "return path" (VERP token) or "message id"; None: unmatched.
    matched_by: Optional[str] = Field(default=None, max_length=16)
    outbox_id: Optional[int] = Field(default=None, foreign_key="outbox_message.id", index=True)
    survey_id: Optional[str] = Field(default=None, max_length=200, index=True)
    # When the survey was signalled (workflows/bounce_watch.py); a hard bounce without it is told on the next pass.
    survey_told_at: Optional[datetime] = _ts()
    raw: str = Field(sa_column=Column(Text, nullable=False), description="the message as read (first 256 KB)")


# --- The audit trail ------------------------------------------------------------------------------


class AuditEntry(SQLModel, table=True):
    """One thing a person or the product did: who, when, what, on which object, before and after.

    Written once and never changed (outreach/audit.py is the one writer). Each entry carries the hash of
    the one before (``prev_hash``) and its own hash over both, so an edited, deleted or inserted row breaks
    the chain and ``outreach audit verify`` names it. ``seq`` is the position in the chain, 1, 2, 3...;
    the unique ``prev_hash`` means two writers can never both extend the same entry (a fork).
    """

    __tablename__ = "audit_entry"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    actor: str = Field(max_length=320, index=True, description="An account's email, or 'the product'.")
    action: str = Field(max_length=64, index=True, description="What was done, e.g. survey.extend_deadline.")
    object_type: str = Field(max_length=32, index=True, description="campaign, survey, supplier, user, ...")
    object_id: str = Field(max_length=200, index=True)
    campaign_id: Optional[str] = Field(default=None, max_length=64, index=True)
    reason: Optional[str] = Field(default=None, sa_column=Column(Text))
    before: Optional[dict] = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: Optional[dict] = Field(default=None, sa_column=Column(JSON, nullable=True))
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64, unique=True)


# --- Legal holds ---------------------------------------------------------------------------------


class LegalHold(SQLModel, table=True):
    """A supplier's or a campaign's records that no retention purge may remove while the hold is on
    (litigation, an investigation, a regulator's request). Released, the row stays: who held what, when
    and why is itself a record (and in the audit trail)."""

    __tablename__ = "legal_hold"

    id: Optional[int] = Field(default=None, primary_key=True)
    scope: str = Field(max_length=16, index=True, description="supplier or campaign")
    target_id: str = Field(max_length=64, index=True, description="The supplier's or the campaign's ID.")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    placed_by: str = Field(max_length=320)
    placed_at: datetime = _created()
    released_by: Optional[str] = Field(default=None, max_length=320)
    released_at: Optional[datetime] = _ts()
    release_reason: Optional[str] = Field(default=None, sa_column=Column(Text))
# --- The review desk ------------------------------------------------------------------------------


class ReviewAnswer(SQLModel, table=True):
    """A person's answer to one review item (models/facts/review.py derives the items from the records; the
    queue is the items without an answer). One answer per item: a second one is refused."""

    __tablename__ = "review_answer"

    id: Optional[int] = Field(default=None, primary_key=True)
    item_key: str = Field(max_length=400, unique=True)
    kind: str = Field(max_length=32, index=True)
    campaign_id: Optional[str] = Field(default=None, max_length=64, index=True)
    survey_id: Optional[str] = Field(default=None, max_length=200, index=True)
    answer: str = Field(max_length=32, description="confirm, choose, not-a-smelter, accept, send-back, decline")
    cid: Optional[str] = Field(default=None, max_length=16, description="The smelter confirmed or chosen.")
    # metal|name, case and blanks forgiven: a "not a smelter" answer holds for this spelling everywhere.
    spelling_key: Optional[str] = Field(default=None, max_length=400, index=True)
    reason: Optional[str] = Field(default=None, sa_column=Column(Text))
    answered_by: str = Field(max_length=320)
    answered_at: datetime = _created()


class ContactProposal(SQLModel, table=True):
    """A new contact a supplier proposed on its portal, until compliance confirms or declines it."""

    __tablename__ = "contact_proposal"

    id: Optional[int] = Field(default=None, primary_key=True)
    supplier_id: str = Field(foreign_key="supplier.id", index=True, max_length=64)
    survey_id: str = Field(foreign_key="survey.id", index=True, max_length=200)
    name: Optional[str] = Field(default=None, max_length=200)
    email: str = Field(max_length=320)
    language: str = Field(default="en", max_length=16)
    proposed_at: datetime = _created()
