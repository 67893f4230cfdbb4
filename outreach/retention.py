"""Records retention: what a purge would remove (the plan) and removing it (the purge).

The rule is ``models.facts.retention``: a campaign's records go ``OUTREACH_RETENTION_YEARS`` (5) after it
closed, except what a legal hold keeps (outreach/holds.py). Per campaign due, one transaction removes its
surveys' timelines, submissions, findings, corrective action plans, escalations, e-mails (outbox),
scorecards and failure records, and writes one ``retention.purged`` entry with the counts. Stored files
go afterwards, by content hash, only when no record left references them and they are older than the
period; each batch's entry names every file removed (hash, size, name). Last, the audit trail's prefix older than the period goes behind a
checkpoint entry (``outreach.audit.purge_prefix``), so ``outreach audit verify`` still proves the rest.

Every step reads the database afresh, so a purge interrupted anywhere is finished by running it again,
and a second run finds nothing to do.

Temporal keeps a closed workflow's history only :data:`TEMPORAL_HISTORY_DAYS` (the namespace retention in
docker-compose.yml): the read model, written as each survey moves, is the record kept for years.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator, Optional

from sqlalchemy import and_, func, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, delete, select

from models.columns import utcnow
from models.facts import retention as rule
from models.scorecards import Scorecard, ScorecardEventApplied
from models.tables import (ActivityFailure, AuditEntry, Campaign, CorrectiveAction, CorrectiveActionPlan,
                           Escalation, Finding, OutboxMessage, StoredFile, Submission, Survey, SurveyEvent)
from outreach import audit
from outreach.db import session_scope
from outreach.holds import active_holds
from outreach.storage import FileStore

# The Temporal namespace's retention (docker-compose.yml RETENTION, deploy/temporal/setup-namespace.sh):
# long enough to look at a closed workflow in the Temporal UI, far shorter than the read model's years.
# A yearly campaign and a little more: a reopen (outreach/review.py) starts from the closed run's history.
TEMPORAL_HISTORY_DAYS = 400
_CHUNK = 500

# What a campaign's purge counts, in the order the plan shows it.
COUNTED = ("surveys", "events", "submissions", "findings", "plans", "actions", "escalations", "emails",
           "scorecards", "files", "file_bytes", "audit_entries")


@dataclass(frozen=True)
class CampaignPlan:
    campaign_id: str
    name: str
    state: str
    closed_at: Optional[datetime]
    retention: rule.CampaignRetention
    counts: dict[str, int] = field(default_factory=dict)  # what goes (all zero unless due)
    held_surveys: int = 0  # surveys of held suppliers that stay

    @property
    def whole(self) -> bool:
        """The campaign itself goes (no held supplier's survey keeps its row)."""
        return self.retention.status == rule.DUE and self.held_surveys == 0


@dataclass(frozen=True)
class RetentionPlan:
    now: datetime
    years: int
    campaigns: list[CampaignPlan]
    holds: rule.Holds
    orphan_files: int  # stored files no record references, older than the period (besides the campaigns')
    orphan_bytes: int
    audit_prefix: int  # the oldest audit entries that go
    audit_through: Optional[int]  # ... up to this entry
    audit_first_kept: Optional[tuple[int, str]]  # the first entry that stays, and why
    temporal_history_days: int = TEMPORAL_HISTORY_DAYS

    @property
    def due(self) -> list[CampaignPlan]:
        return [c for c in self.campaigns if c.retention.status == rule.DUE]

    @property
    def anything_goes(self) -> bool:
        """A purge would remove something (a due campaign whose held suppliers are all that is left does not count)."""
        return bool(self.orphan_files or self.audit_prefix or any(
            c.whole or any(n for k, n in c.counts.items() if k != "audit_entries") for c in self.due))

    def as_json(self) -> dict:
        return {
            "now": self.now.isoformat(), "retention_years": self.years,
            "temporal_history_days": self.temporal_history_days,
            "holds": {"campaigns": sorted(self.holds.campaigns), "suppliers": sorted(self.holds.suppliers)},
            "campaigns": [{"campaign_id": c.campaign_id, "name": c.name, "state": c.state,
                           "closed_at": c.closed_at.isoformat() if c.closed_at else None,
                           "status": c.retention.status, "why": c.retention.why,
                           "purge_after": c.retention.purge_after.isoformat() if c.retention.purge_after else None,
                           "held_suppliers": list(c.retention.held_suppliers), "held_surveys": c.held_surveys,
                           "campaign_goes": c.whole, "goes": c.counts} for c in self.campaigns],
            "orphan_files": {"files": self.orphan_files, "bytes": self.orphan_bytes},
            "audit": {"entries": self.audit_prefix, "through": self.audit_through,
                      "first_kept": self.audit_first_kept[0] if self.audit_first_kept else None,
                      "first_kept_because": self.audit_first_kept[1] if self.audit_first_kept else None},
        }


# --- Which rows ---------------------------------------------------------------------------------


def _surveys(campaign_id: str, holds: rule.Holds):
    """The campaign's surveys that go: all but those of held suppliers."""
    return select(Survey.id).where(Survey.campaign_id == campaign_id, Survey.supplier_id.not_in(sorted(holds.suppliers)))


def _submissions(surveys):
    return select(Submission.id).where(Submission.survey_id.in_(surveys))


def _plans(surveys):
    return select(CorrectiveActionPlan.id).where(CorrectiveActionPlan.survey_id.in_(surveys))


def _scorecards(campaign_id: str, surveys, holds: rule.Holds):
    return select(Scorecard.id).where(or_(Scorecard.survey_id.in_(surveys),
                                          and_(Scorecard.campaign_id == campaign_id,
                                               Scorecard.supplier_id.not_in(sorted(holds.suppliers)))))


def _emails(campaign_id: str, surveys, whole: bool):
    # The campaign's own messages (its summary) go with the campaign; a survey's with the survey.
    own = and_(OutboxMessage.campaign_id == campaign_id, OutboxMessage.survey_id.is_(None))
    return or_(OutboxMessage.survey_id.in_(surveys), own) if whole else OutboxMessage.survey_id.in_(surveys)


def _count(session: Session, model, *where) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def _chunks(items: list) -> Iterator[list]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def _files_going(session: Session, campaign_id: str, holds: rule.Holds, going_campaigns: set[str]) -> dict[str, int]:
    """The campaign's stored files no kept record references: {sha256: size}."""
    shas = sorted(set(session.exec(select(Submission.file_sha256).where(
        Submission.survey_id.in_(_surveys(campaign_id, holds)))).all()))
    still_used: set[str] = set()
    for part in _chunks(shas):
        still_used |= set(session.exec(
            select(Submission.file_sha256).join(Survey, Survey.id == Submission.survey_id)
            .where(Submission.file_sha256.in_(part),
                   or_(Survey.campaign_id.not_in(sorted(going_campaigns)), Survey.supplier_id.in_(sorted(holds.suppliers))))).all())
    going = [s for s in shas if s not in still_used]
    sizes: dict[str, int] = {}
    for part in _chunks(going):
        sizes.update(dict(session.exec(select(StoredFile.sha256, StoredFile.size)
                                       .where(StoredFile.sha256.in_(part))).all()))
    return sizes


def _counts(session: Session, campaign_id: str, holds: rule.Holds, whole: bool, going: set[str]) -> dict[str, int]:
    surveys = _surveys(campaign_id, holds)
    files = _files_going(session, campaign_id, holds, going)
    return {
        "surveys": _count(session, Survey, Survey.id.in_(surveys)),
        "events": _count(session, SurveyEvent, SurveyEvent.survey_id.in_(surveys)),
        "submissions": _count(session, Submission, Submission.survey_id.in_(surveys)),
        "findings": _count(session, Finding, Finding.submission_id.in_(_submissions(surveys))),
        "plans": _count(session, CorrectiveActionPlan, CorrectiveActionPlan.survey_id.in_(surveys)),
        "actions": _count(session, CorrectiveAction, CorrectiveAction.plan_id.in_(_plans(surveys))),
        "escalations": _count(session, Escalation, Escalation.survey_id.in_(surveys)),
        "emails": _count(session, OutboxMessage, _emails(campaign_id, surveys, whole)),
        "scorecards": _count(session, Scorecard, Scorecard.id.in_(_scorecards(campaign_id, surveys, holds))),
        "files": len(files),
        "file_bytes": sum(files.values()),
        "audit_entries": _count(session, AuditEntry, AuditEntry.campaign_id == campaign_id),
    }


# --- The plan -----------------------------------------------------------------------------------


def _campaign_plans(session: Session, years: int, now: datetime, holds: rule.Holds) -> list[CampaignPlan]:
    # Closed first, oldest first; running ones last (the same order on SQLite and PostgreSQL).
    rows = session.exec(select(Campaign).order_by(Campaign.closed_at.is_(None), Campaign.closed_at, Campaign.id)).all()
    verdicts = {}
    for c in rows:
        suppliers = session.exec(select(Survey.supplier_id).where(Survey.campaign_id == c.id,
                                                                  Survey.supplier_id.in_(sorted(holds.suppliers)))).all()
        verdicts[c.id] = rule.campaign_retention(c.id, c.state, c.closed_at, years=years, now=now, holds=holds,
                                                 suppliers=suppliers)
    going = {cid for cid, v in verdicts.items() if v.status == rule.DUE}
    plans = []
    for c in rows:
        v = verdicts[c.id]
        held = _count(session, Survey, Survey.campaign_id == c.id, Survey.supplier_id.in_(sorted(holds.suppliers))) \
            if v.status == rule.DUE else 0
        counts = _counts(session, c.id, holds, held == 0, going) if v.status == rule.DUE else dict.fromkeys(COUNTED, 0)
        if v.status != rule.DUE:
            counts["audit_entries"] = 0
        plans.append(CampaignPlan(c.id, c.name, c.state, c.closed_at, v, counts, held))
    return plans


def _old_unreferenced_files(session: Session, years: int, now: datetime) -> list[tuple[str, int]]:
    """Stored files older than the period that no submission references (what the campaigns' purges leave)."""
    roughly = now - timedelta(days=365 * years - 2)  # the SQL narrows, the rule decides to the day
    rows = session.exec(select(StoredFile.sha256, StoredFile.size, StoredFile.stored_at)
                        .where(StoredFile.stored_at <= roughly,
                               StoredFile.sha256.not_in(select(Submission.file_sha256)))).all()
    return [(sha, size) for sha, size, at in rows if rule.years_after(at, years) <= now]


def _audit_prefix(session: Session, years: int, now: datetime, holds: rule.Holds,
                  kept_campaigns: frozenset[str]) -> tuple[int, Optional[int], Optional[tuple[int, str]]]:
    """(how many, through which entry, the first that stays and why) of the audit trail's purgeable prefix."""
    n, through, first_kept = 0, None, None
    rows = session.exec(select(AuditEntry.seq, AuditEntry.at, AuditEntry.campaign_id, AuditEntry.object_type,
                               AuditEntry.object_id).order_by(AuditEntry.seq).execution_options(yield_per=2000))
    for row in rows:
        facts = rule.AuditFacts(*row)
        why = rule.why_audit_entry_stays(facts, years=years, now=now, kept_campaigns=kept_campaigns, holds=holds)
        if why is not None:
            first_kept = (facts.seq, why)
            break
        n, through = n + 1, facts.seq
    return n, through, first_kept


def plan(engine: Engine, *, years: int, now: Optional[datetime] = None) -> RetentionPlan:
    """What a purge would remove now, per campaign, and what stays and why (a dry run: nothing changes)."""
    now = now or utcnow()
    with Session(engine) as session:
        holds = active_holds(session)
        campaigns = _campaign_plans(session, years, now, holds)
        # Files the campaigns' purges free are counted there; these are the ones already unreferenced.
        orphans = _old_unreferenced_files(session, years, now)
        # A due campaign's entries go (those about its held suppliers stay by the hold).
        kept = frozenset(c.campaign_id for c in campaigns if c.retention.status != rule.DUE)
        n, through, first_kept = _audit_prefix(session, years, now, holds, kept)
    return RetentionPlan(now, years, campaigns, holds, len(orphans), sum(s for _, s in orphans), n, through,
                         first_kept)


# --- The purge ----------------------------------------------------------------------------------


@dataclass
class PurgeResult:
    campaigns: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    files: int = 0
    file_bytes: int = 0
    audit_entries: int = 0
    checkpoint: Optional[int] = None

    @property
    def nothing(self) -> bool:
        return not self.campaigns and not self.files and not self.audit_entries


def _purge_campaign(session: Session, c: CampaignPlan, holds: rule.Holds, going: set[str], *, by: str,
                    reason: str) -> Optional[dict[str, int]]:
    whole = _count(session, Survey, Survey.campaign_id == c.campaign_id,
                   Survey.supplier_id.in_(sorted(holds.suppliers))) == 0
    counts = _counts(session, c.campaign_id, holds, whole, going)
    counts.pop("files"), counts.pop("file_bytes")  # the files go in their own step, once unreferenced
    counts.pop("audit_entries")  # these go with the chain's prefix
    exists = session.get(Campaign, c.campaign_id) is not None
    if not any(counts.values()) and not (whole and exists):
        return None  # done before (a held supplier's surveys are all that is left)
    surveys = _surveys(c.campaign_id, holds)
    cards = list(session.exec(_scorecards(c.campaign_id, surveys, holds)).all())
    for part in _chunks(cards):
        session.exec(delete(ScorecardEventApplied).where(ScorecardEventApplied.scorecard_id.in_(part)))
        session.exec(delete(Scorecard).where(Scorecard.id.in_(part)))
    session.exec(delete(Finding).where(Finding.submission_id.in_(_submissions(surveys))))
    session.exec(delete(Submission).where(Submission.survey_id.in_(surveys)))
    session.exec(delete(CorrectiveAction).where(CorrectiveAction.plan_id.in_(_plans(surveys))))
    session.exec(delete(CorrectiveActionPlan).where(CorrectiveActionPlan.survey_id.in_(surveys)))
    session.exec(delete(Escalation).where(Escalation.survey_id.in_(surveys)))
    session.exec(delete(SurveyEvent).where(SurveyEvent.survey_id.in_(surveys)))
    session.exec(delete(OutboxMessage).where(_emails(c.campaign_id, surveys, whole)))
    session.exec(delete(Survey).where(Survey.campaign_id == c.campaign_id,
                                      Survey.supplier_id.not_in(sorted(holds.suppliers))))
    if whole:
        session.exec(delete(ActivityFailure).where(ActivityFailure.campaign_id == c.campaign_id))
        session.exec(delete(Campaign).where(Campaign.id == c.campaign_id))
    audit.record(session, actor=by, action="retention.purged", object_type="campaign", object_id=c.campaign_id,
                 campaign_id=c.campaign_id, reason=f"{reason}: {c.retention.why}",
                 before={**counts, "closed_at": c.closed_at, "campaign": exists},
                 after={"campaign": exists and not whole, "kept_for_hold": list(c.retention.held_suppliers)})
    return counts


def purge(engine: Engine, store: FileStore, *, years: int, by: str, now: Optional[datetime] = None) -> PurgeResult:
    """Remove what :func:`plan` says goes, each step in its own transaction with its audit entry."""
    now = now or utcnow()
    reason = f"retention policy: records are kept {years} years after their campaign closed"
    result = PurgeResult()
    with Session(engine) as session:
        holds = active_holds(session)
        campaigns = _campaign_plans(session, years, now, holds)
    going = {c.campaign_id for c in campaigns if c.retention.status == rule.DUE}
    for c in campaigns:
        if c.retention.status != rule.DUE:
            continue
        with session_scope(engine) as session:
            # Holds are read again in the campaign's transaction: one placed meanwhile wins.
            holds = active_holds(session)
            if c.campaign_id in holds.campaigns:
                continue
            counts = _purge_campaign(session, c, holds, going, by=by, reason=reason)
        if counts is not None:
            result.campaigns.append((c.campaign_id, counts))
    with Session(engine) as session:
        orphans = [sha for sha, _ in _old_unreferenced_files(session, years, now)]
    for part in _chunks(orphans):
        n, size = _remove_files(engine, store, part, years=years, now=now, by=by, reason=reason)
        result.files, result.file_bytes = result.files + n, result.file_bytes + size
    with session_scope(engine) as session:
        holds = active_holds(session)
        kept = frozenset(session.exec(select(Campaign.id)).all()) - going
        n, through, _ = _audit_prefix(session, years, now, holds, kept)
        if n:
            checkpoint = audit.purge_prefix(session, through, actor=by, reason=reason)
            result.audit_entries, result.checkpoint = n, checkpoint.seq if checkpoint else None
    return result


def _remove_files(engine: Engine, store: FileStore, shas: list[str], *, years: int, now: datetime, by: str,
                  reason: str) -> tuple[int, int]:
    """Stored files, a batch at a time: their rows and one audit entry naming each file (hash, size, name) in
    one transaction, the bytes removed before it commits (a failed commit leaves the rows, and the next run
    removes them: the bytes are gone either way)."""
    with session_scope(engine) as session:
        # Looked at again inside the transaction: a submission may have taken a file up again meanwhile.
        used = set(session.exec(select(Submission.file_sha256).where(Submission.file_sha256.in_(shas))).all())
        rows = [r for r in session.exec(select(StoredFile).where(StoredFile.sha256.in_(shas))).all()
                if r.sha256 not in used and rule.years_after(r.stored_at, years) <= now]
        if not rows:
            return 0, 0
        removed = {r.sha256: {"size": r.size, "filename": r.original_filename, "stored_at": r.stored_at} for r in rows}
        audit.record(session, actor=by, action="retention.file_removed", object_type="files",
                     object_id=f"{len(rows)} files" if len(rows) > 1 else rows[0].sha256, reason=reason,
                     before={"files": removed}, after=None)
        session.exec(delete(StoredFile).where(StoredFile.sha256.in_(list(removed))))
        for sha in removed:
            store.path_for(sha).unlink(missing_ok=True)
    return len(removed), sum(r.size for r in rows)
