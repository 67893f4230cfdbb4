"""Supplier scorecards in the database: recomputed from the read model, read by the web app and exports.

:func:`update_scorecard` is what the ``update_scorecard`` activity runs. It recomputes the whole scorecard
of the survey's supplier and campaign year from the read model (surveys, submissions, corrective actions,
escalations), so retries and replays converge on the same result, and it counts each distinct event once.

Concurrency: two surveys' activities (or a retry racing its original) may update one scorecard at once.
The row is created with an insert that ignores a conflict, then locked (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE``, see outreach/db.py, already serialises writers) before the
read model is read, so the last writer always sees every earlier writer's inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from cmrt.reference import ReferenceList
from models.columns import utcnow
from models.facts.survey import effective_verdict
from models.scorecards import Scorecard, ScorecardEvent, ScorecardEventApplied, scorecard_key
from models.facts import scorecard as facts
from models.policy import CampaignPolicy
from models.tables import (
    Campaign,
    CorrectiveAction,
    CorrectiveActionPlan,
    Escalation,
    Finding,
    Submission,
    Supplier,
    Survey,
)
from outreach.db import lock_for_update, session_scope
from outreach.reports.smelters import current_reference, supplier_smelters
from outreach.scoring import ScoreInputs, ScoringConfig, score, trend


class SurveyNotFound(LookupError):
    pass


@dataclass
class ScorecardUpdate:
    supplier_id: str
    year: int
    total: float | None
    grade: str | None
    events_applied: int
    new_event: bool
    version: int


def _scope_level(text: str | None) -> str | None:
    low = (text or "").casefold()
    if "product" in low:
        return "product"
    if "company" in low:
        return "company"
    if "user" in low:
        return "user_defined"
    return None


def survey_for(session: Session, supplier_id: str, year: int) -> tuple[Survey, Campaign] | None:
    """The supplier's survey for the year (the latest when several campaigns ran that year)."""
    rows = session.exec(
        select(Survey, Campaign).join(Campaign, Campaign.id == Survey.campaign_id)
        .where(Survey.supplier_id == supplier_id, Campaign.year == year)
    ).all()
    if not rows:
        return None
    return max(rows, key=lambda r: (r[0].created_at, r[0].id))


def submission_record(sub: Submission, warnings: frozenset[str], reference: ReferenceList | None) -> facts.SubmissionRecord:
    """One submission as the scorecard's pure core reads it (verdict after a person's decision)."""
    result = sub.result or {}
    answers = result.get("company_questions")
    summary = result.get("summary") or {}
    smelters = supplier_smelters(result, reference) if result else None
    return facts.SubmissionRecord(
        received_at=sub.received_at, verdict=effective_verdict(sub), purpose=sub.purpose, round=sub.round,
        accepted_by_hand=(sub.manual_decision or "").casefold().startswith("accept"), warnings=warnings,
        readable=bool(result),
        company_answers={q: (a or {}).get("answer") for q, a in answers.items()} if answers is not None else None,
        metals_in_scope=list(result["metals_in_scope"]) if result.get("metals_in_scope") is not None else None,
        smelters=facts.SmelterCounts(
            conformant=smelters.count("Conformant"), active=smelters.count("Active"),
            not_enrolled=smelters.count("Not Enrolled"), unknown_entities=len(smelters.unknown),
            high_risk=len(smelters.high_risk)) if smelters else facts.SmelterCounts(),
        scope_level=(_scope_level(summary.get("scope_level")) or _scope_level(sub.declaration_scope)
                     or _scope_level((result.get("declaration") or {}).get("scope"))),
    )


def _plan_window(campaign: Campaign | None):
    try:
        return CampaignPolicy.model_validate(campaign.policy).cap_plan_window if campaign and campaign.policy else None
    except ValueError:
        return None


def survey_records(session: Session, survey: Survey, *, reference: ReferenceList | None = None) -> dict:
    """The survey's read-model rows as plain records: the arguments of ``facts.score_inputs``."""
    subs = session.exec(
        select(Submission).where(Submission.survey_id == survey.id).order_by(Submission.received_at, Submission.id)
    ).all()
    warnings: dict[str, set[str]] = {s.id: set() for s in subs}
    if subs:
        for sub_id, code in session.exec(select(Finding.submission_id, Finding.code).where(
                Finding.submission_id.in_(list(warnings)), Finding.severity == "warning")).all():
            warnings[sub_id].add(code)
    escalations = session.exec(select(Escalation).where(Escalation.survey_id == survey.id)).all()
    plans = session.exec(select(CorrectiveActionPlan).where(CorrectiveActionPlan.survey_id == survey.id)).all()
    actions: dict[str, list[CorrectiveAction]] = {p.id: [] for p in plans}
    if plans:
        for a in session.exec(select(CorrectiveAction).where(CorrectiveAction.plan_id.in_(list(actions)))).all():
            actions[a.plan_id].append(a)
    window = _plan_window(session.get(Campaign, survey.campaign_id)) if plans else None
    return {
        "survey": facts.SurveyRecord(
            outcome=survey.outcome, closed=survey.closed_at is not None or survey.state == "closed",
            due_at=survey.due_at, first_submission_at=survey.first_submission_at,
            correction_round=survey.correction_round, scope_level=_scope_level(survey.declaration_scope)),
        "submissions": [submission_record(s, frozenset(warnings[s.id]), reference) for s in subs],
        "escalations": [facts.EscalationRecord(opened_at=e.opened_at, decision=e.decision) for e in escalations],
        "plans": [facts.PlanRecord(
            state=p.state, opened_at=p.opened_at, actions_due=p.opened_at + window if window else None,
            actions=tuple(facts.ActionRecord(status=a.status, target_date=a.target_date) for a in actions[p.id]))
            for p in plans],
    }


def gather_inputs(session: Session, survey: Survey, *, as_of: datetime,
                  reference: ReferenceList | None = None) -> ScoreInputs:
    records = survey_records(session, survey, reference=reference)
    return facts.score_inputs(records["survey"], records["submissions"], as_of=as_of,
                              escalations=records["escalations"], plans=records["plans"])


def _insert_ignore(session: Session, table, values: dict) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on either backend; True when a row was inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING, not rowcount: with an implicit RETURNING, psycopg reports rowcount -1.
    pk = table.primary_key.columns.values()[0]
    result = session.execute(insert(table).values(**values).on_conflict_do_nothing().returning(pk))
    return result.first() is not None


def event_key(event: ScorecardEvent) -> str:
    """What makes an event distinct: the same report of the same moment, retried, has the same key."""
    parts = [event.survey_id, event.kind, event.at.isoformat(), event.submission_id or "", event.outcome or "",
             event.decision or ""]
    return "|".join(parts)[:400]


def recompute(session: Session, card: Scorecard, *, as_of: datetime, config: ScoringConfig,
              reference: ReferenceList | None) -> None:
    found = survey_for(session, card.supplier_id, card.year)
    if found is None:
        return
    survey, campaign = found
    result = score(gather_inputs(session, survey, as_of=as_of, reference=reference), config)
    card.campaign_id, card.survey_id = campaign.id, survey.id
    card.components = {k: c.model_dump() for k, c in result.components.items()}
    card.total, card.grade = result.total, result.grade
    card.reasons = [r.model_dump() for r in result.reasons]
    card.version += 1
    card.updated_at = utcnow()


def update_scorecard(engine: Engine, event: ScorecardEvent, *, config: ScoringConfig | None = None,
                     reference: ReferenceList | None = None, as_of: datetime | None = None) -> ScorecardUpdate:
    """Apply one score-moving event: count it once, recompute the scorecard from the read model."""
    config = config or ScoringConfig.from_settings()
    # Loaded before our transaction opens: on SQLite a second writer would wait on us.
    reference = reference if reference is not None else current_reference(engine)
    with session_scope(engine) as session:
        row = session.exec(
            select(Survey.supplier_id, Campaign.year).join(Campaign, Campaign.id == Survey.campaign_id)
            .where(Survey.id == event.survey_id)
        ).first()
        if row is None:
            raise SurveyNotFound(f"survey {event.survey_id!r} is not in the read model")
        supplier_id, year = row
        key = scorecard_key(supplier_id, year)
        _insert_ignore(session, Scorecard.__table__, {
            "id": key, "supplier_id": supplier_id, "year": year, "components": {}, "reasons": [],
            "events_applied": 0, "events_by_kind": {}, "version": 0, "updated_at": utcnow(),
        })
        card = lock_for_update(session, Scorecard, key)
        session.refresh(card)  # the row as locked, not as an earlier read in this session saw it
        new_event = _insert_ignore(session, ScorecardEventApplied.__table__, {
            "scorecard_id": key, "event_key": event_key(event), "survey_id": event.survey_id,
            "kind": event.kind, "at": event.at, "applied_at": utcnow(),
        })
        if new_event:
            card.events_applied += 1
            card.events_by_kind = {**card.events_by_kind, event.kind: card.events_by_kind.get(event.kind, 0) + 1}
            if card.last_event_at is None or event.at >= card.last_event_at:
                card.last_event_kind, card.last_event_at = event.kind, event.at
        recompute(session, card, as_of=as_of or utcnow(), config=config, reference=reference)
        session.add(card)
        return ScorecardUpdate(supplier_id, year, card.total, card.grade, card.events_applied, new_event, card.version)


# --- reading ---------------------------------------------------------------------------------


def _result_fields(result) -> dict:
    return {
        "components": {k: c.model_dump() for k, c in result.components.items()}, "total": result.total,
        "grade": result.grade, "reasons": [r.model_dump() for r in result.reasons],
        "provisional": result.provisional, "provisional_because": list(result.provisional_because),
        "weighted_mean": result.weighted_mean, "ceiling": result.ceiling,
    }


def _card_dict(card: Scorecard) -> dict:
    return {
        "year": card.year, "campaign_id": card.campaign_id, "survey_id": card.survey_id,
        "total": card.total, "grade": card.grade, "components": card.components, "reasons": card.reasons,
        "provisional": None, "provisional_because": [], "weighted_mean": card.total, "ceiling": None,
        "events_applied": card.events_applied, "updated_at": card.updated_at.isoformat() if card.updated_at else None,
    }


def _current_dicts(engine: Engine, cards: list[Scorecard], *, as_of: datetime | None = None) -> list[dict]:
    """The cards as of now, scored again from the read model.

    The stored card is what the last score-moving event left; the facts move without an event too (a plan
    opens, an action falls overdue, the due date passes, an action is verified, the VP decides), so every
    face reads the card scored from the read model as of the moment it is read, never a stale one.
    """
    as_of = as_of or utcnow()
    out = [_card_dict(c) for c in cards]
    if not cards:
        return out
    reference, config = current_reference(engine), ScoringConfig.from_settings()  # outside the session (SQLite)
    with session_scope(engine) as session:
        for i, card in enumerate(cards):
            found = survey_for(session, card.supplier_id, card.year)
            if found is None:
                continue
            result = score(gather_inputs(session, found[0], as_of=as_of, reference=reference), config)
            out[i].update(survey_id=found[0].id, campaign_id=found[1].id, **_result_fields(result))
    return out


def scorecard_view(engine: Engine, supplier_id: str, *, as_of: datetime | None = None) -> dict:
    """What the supplier page shows: the latest year's scorecard and the trend over every year.

    ``{"supplier_id", "supplier_name", "current": {year, total, grade, provisional, provisional_because[],
    components{name: {score, weight, status, label, pending, detail{text}}}, reasons[{component, text,
    points}], ...} or None, "previous": same or
    None, "trend": {direction: up|down|same|new|none, delta, previous}, "history": [{year, total, grade}]}``
    """
    with session_scope(engine) as session:
        supplier = session.get(Supplier, supplier_id)
        cards = session.exec(select(Scorecard).where(Scorecard.supplier_id == supplier_id).order_by(Scorecard.year)).all()
    dicts = _current_dicts(engine, list(cards), as_of=as_of)
    current = dicts[-1] if dicts else None
    previous = dicts[-2] if len(dicts) > 1 else None
    return {
        "supplier_id": supplier_id,
        "supplier_name": supplier.name if supplier else None,
        "current": current,
        "previous": previous,
        "trend": trend(current["total"] if current else None, previous["total"] if previous else None),
        "history": [{"year": c["year"], "total": c["total"], "grade": c["grade"]} for c in dicts],
    }


def scorecards_for_year(engine: Engine, year: int, *, as_of: datetime | None = None) -> list[dict]:
    """One row per supplier scored in ``year``: components, total, grade, and the trend vs the year before."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(Scorecard, Supplier).join(Supplier, Supplier.id == Scorecard.supplier_id)
            .where(Scorecard.year == year).order_by(Supplier.name, Supplier.id)
        ).all()
        before = {c.supplier_id: c for c in session.exec(select(Scorecard).where(Scorecard.year == year - 1)).all()}
    out = []
    for (card, supplier), current in zip(rows, _current_dicts(engine, [card for card, _ in rows], as_of=as_of)):
        prev = before.get(card.supplier_id)
        out.append({
            "supplier_id": supplier.id, "supplier_name": supplier.name, "category": supplier.category,
            **current,
            "previous_total": prev.total if prev else None, "previous_grade": prev.grade if prev else None,
            "trend": trend(current["total"], prev.total if prev else None),
        })
    return out
