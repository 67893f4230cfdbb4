"""The review desk's calls, shared by the page, the API and the CLI: the queue, an answer, a reopen.

The items are derived by models/facts/review.py from the read model (the declaration that counts for each
survey, the contacts suppliers proposed); this module gathers those records, stores the answers
(``review_answer``), and carries each answer out:

- confirm / choose a smelter: the spelling becomes an alias of the stored reference list (an import of its
  own, ``source_kind`` "review", by whom and when), so the next check of any supplier matches it by itself;
- not a smelter: remembered for the spelling, for every supplier;
- accept: recorded; send back: the survey reopens into a correction round (:func:`reopen_survey`);
- a proposed contact confirmed: the survey's replace-contact Update (or, on a closed survey, the supplier's
  primary contact in the read model); declined: recorded with the reason.

Every answer is written to the audit trail in the transaction that stores it.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from math import ceil
from typing import Any, Callable, Iterable, Iterator, Optional

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from cmrt.reference import ReferenceAlias, ReferenceList, normalise_cid
from models.columns import utcnow
from models.facts import review as rv
from models.facts.survey import declaration_that_counts, effective_verdict, verdict_words
from models.tables import Campaign, ContactProposal, ReviewAnswer, Submission, Supplier, SupplierContact, Survey
from outreach import audit
from outreach.db import session_scope

PER_PAGE = 50


class ReviewRefused(Exception):
    """An answer or a reopen that cannot be carried out; the message says why (409, or 404 for no such item)."""

    def __init__(self, message: str, status_code: int = 409):
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass
class QueuePage:
    items: list[rv.ReviewItem]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))


# --- gathering the records ------------------------------------------------------------------------


def review_rows(result: dict) -> dict:
    """Only the rows that can raise an item (unsure, unknown or high risk), and the findings."""
    rows = [r for r in result.get("smelters") or []
            if r.get("risk") == "high" or (not r.get("cid") and r.get("match") == "unmatched")
            or "needs_review" in (r.get("problems") or ())]
    return {"smelters": rows, "findings": result.get("findings") or [], "verdict": result.get("verdict")}


def _smelter_facts(rows: list[dict], ref: ReferenceList, memo: dict) -> list[rv.SmelterFact]:
    """The stored rows, with what the reference list says of the unsure ones now (an alias learned since)."""
    out = []
    for r in rows:
        problems = tuple(r.get("problems") or ())
        cid_now = suggested_cid = suggested_name = None
        score = float(r.get("score") or 0.0)
        if not r.get("cid") and (r.get("match") == "unmatched" or "needs_review" in problems):
            key = (r.get("metal"), r.get("cid_input"), r.get("lookup_name"), r.get("name"), r.get("country"))
            m = memo.get(key)
            if m is None:
                m = memo[key] = ref.match(metal=r.get("metal"), cid=r.get("cid_input"), lookup_name=r.get("lookup_name"),
                                          name=r.get("name"), country=r.get("country"))
            cid_now = m.cid
            suggested_cid, suggested_name, score = m.candidate_cid, m.standard_name, m.score
            problems = tuple(m.problems) if not m.cid else problems
        out.append(rv.SmelterFact(
            metal=r.get("metal"), lookup_name=r.get("lookup_name"), name=r.get("name"), country=r.get("country"),
            cid=r.get("cid"), match=r.get("match") or "unmatched", problems=problems, risk=r.get("risk") or "unknown",
            rmap_status=r.get("rmap_status"), standard_name=r.get("standard_name"), row=r.get("row"),
            cid_now=cid_now, suggested_cid=suggested_cid, suggested_name=suggested_name, score=score))
    return out


def _surveys(session: Session, campaign_id: Optional[str], survey_id: Optional[str]):
    q = sa_select(Survey.id)
    if campaign_id:
        q = q.where(Survey.campaign_id == campaign_id)
    if survey_id:
        q = q.where(Survey.id == survey_id)
    return q


def not_smelter_keys(session: Session) -> frozenset[str]:
    rows = session.exec(select(ReviewAnswer.spelling_key).where(ReviewAnswer.answer == rv.NOT_A_SMELTER)).all()
    return frozenset(k for k in rows if k)


def answered_keys(session: Session, *, campaign_id: Optional[str] = None) -> set[str]:
    q = select(ReviewAnswer.item_key)
    if campaign_id:
        q = q.where(ReviewAnswer.campaign_id == campaign_id)
    return set(session.exec(q).all())


def collect_items(session: Session, ref: ReferenceList, *, campaign_id: Optional[str] = None,
                  survey_id: Optional[str] = None) -> list[rv.ReviewItem]:
    """Every review item the records raise (answered or not)."""
    from outreach.reports.figures import counted_declarations

    surveys = {s.id: s for s in session.execute(
        sa_select(Survey.id, Survey.campaign_id, Survey.supplier_id, Supplier.name)
        .join(Supplier, Supplier.id == Survey.supplier_id)
        .where(Survey.id.in_(_surveys(session, campaign_id, survey_id))))}
    counted = counted_declarations(session, _surveys(session, campaign_id, survey_id), review_rows)
    return _items(session, ref, surveys, {sid: (sub, sub.result) for sid, sub in counted.items()},
                  campaign_ids=[campaign_id] if campaign_id else None, survey_id=survey_id)


def _items(session: Session, ref: ReferenceList, surveys: dict, counted: dict[str, tuple[Any, Any]], *,
           campaign_ids: Optional[list[str]], survey_id: Optional[str] = None) -> list[rv.ReviewItem]:
    """The items of the counted declarations (``review_rows`` of each result) and of the proposed contacts."""
    not_smelters = not_smelter_keys(session)
    memo: dict = {}
    items: list[rv.ReviewItem] = []
    for sid, (sub, kept) in counted.items():
        sv = surveys.get(sid)
        if sv is None or sub.purpose not in ("declaration", "product_level"):
            continue
        result = kept if isinstance(kept, dict) else {}
        facts = rv.DeclarationFacts(
            survey_id=sid, campaign_id=sv.campaign_id, supplier_id=sv.supplier_id, supplier_name=sv.name,
            submission_id=sub.id, received_at=sub.received_at, valid=effective_verdict(sub) == "valid",
            smelters=_smelter_facts(result.get("smelters", []), ref, memo),
            findings=[rv.FindingFact(code=f.get("code", ""), severity=f.get("severity", ""),
                                     message=f.get("message", ""), cell=f.get("cell"))
                      for f in result.get("findings", [])])
        items.extend(rv.declaration_items(facts, not_smelters=not_smelters))
    q = (sa_select(ContactProposal, Survey.campaign_id, Supplier.name)
         .join(Survey, Survey.id == ContactProposal.survey_id).join(Supplier, Supplier.id == ContactProposal.supplier_id))
    if campaign_ids:
        q = q.where(Survey.campaign_id.in_(campaign_ids))
    if survey_id:
        q = q.where(ContactProposal.survey_id == survey_id)
    for p, cid, sname in session.execute(q):
        items.append(rv.proposal_item(rv.ProposalFacts(
            id=p.id, survey_id=p.survey_id, campaign_id=cid, supplier_id=p.supplier_id, supplier_name=sname,
            name=p.name, email=p.email, language=p.language, proposed_at=p.proposed_at)))
    return items


def _reference(engine: Engine) -> ReferenceList:
    from outreach.reports.smelters import current_reference

    return current_reference(engine)


def review_queue(engine: Engine, *, campaign_id: Optional[str] = None, kind: Optional[str] = None,
                 page: int = 1, per_page: int = PER_PAGE) -> QueuePage:
    """The open items, riskiest then newest first, one page of them."""
    if kind is not None and kind not in rv.KINDS:
        raise ReviewRefused(f"Unknown kind {kind!r}; the kinds are {', '.join(rv.KINDS)}.", 422)
    ref = _reference(engine)
    with session_scope(engine) as session:
        items = collect_items(session, ref, campaign_id=campaign_id)
        done = answered_keys(session, campaign_id=campaign_id)
    queue = rv.open_items(items, done, campaign_id=campaign_id, kind=kind)
    page = max(1, page)
    return QueuePage(queue[(page - 1) * per_page: page * per_page], len(queue), page, per_page)


def unreviewed_count(engine: Engine, campaign_ids: Iterable[str], *, reference: ReferenceList | None = None) -> int:
    """How many review items of these campaigns no one has answered yet (the report figures state it)."""
    ref = reference if reference is not None else _reference(engine)
    total = 0
    with session_scope(engine) as session:
        for cid in campaign_ids:
            total += len(rv.open_items(collect_items(session, ref, campaign_id=cid),
                                       answered_keys(session, campaign_id=cid)))
    return total


def unreviewed_from(engine: Engine, campaign_ids: list[str], counted: dict[str, tuple[Any, dict]], *,
                    reference: ReferenceList) -> int:
    """:func:`unreviewed_count` from declarations the caller has read already (``campaign_figures``: every
    survey of these campaigns, each with ``review_rows`` of its counted result), so no result is decoded twice."""
    with session_scope(engine) as session:
        surveys = {s.id: s for s in session.execute(
            sa_select(Survey.id, Survey.campaign_id, Survey.supplier_id, Supplier.name)
            .join(Supplier, Supplier.id == Survey.supplier_id).where(Survey.campaign_id.in_(campaign_ids)))}
        items = _items(session, reference, surveys, counted, campaign_ids=campaign_ids)
        done: set[str] = set()
        for cid in campaign_ids:
            done |= answered_keys(session, campaign_id=cid)
    return len(rv.open_items(items, done))


def _survey_of_key(key: str) -> Optional[str]:
    if "/submission/" in key:
        return key.split("/submission/", 1)[0]
    return None


def find_item(engine: Engine, key: str, *, reference: ReferenceList | None = None) -> rv.ReviewItem:
    ref = reference if reference is not None else _reference(engine)
    with session_scope(engine) as session:
        if key.startswith("contact/"):
            items = collect_items(session, ref, survey_id=_proposal_survey(session, key))
        else:
            items = collect_items(session, ref, survey_id=_survey_of_key(key) or "")
    found = next((i for i in items if i.key == key), None)
    if found is None:
        raise ReviewRefused("No review item has this key (it may have gone: a newer file counts now).", 404)
    return found


def _proposal_survey(session: Session, key: str) -> str:
    try:
        p = session.get(ContactProposal, int(key.split("/", 1)[1]))
    except ValueError:
        p = None
    return p.survey_id if p is not None else ""


# --- answering ------------------------------------------------------------------------------------


@contextmanager
def _answering(engine: Engine) -> Iterator[Session]:
    """The transaction of one answer: a second answer to the same item, racing this one, loses cleanly."""
    try:
        with session_scope(engine) as session:
            yield session
    except IntegrityError:
        raise ReviewRefused("This item has been answered already.") from None


def _store_answer(session: Session, item: rv.ReviewItem, answer: str, *, by: str, reason: str,
                  cid: Optional[str], at: datetime, spelling: Optional[str] = None) -> ReviewAnswer:
    if session.exec(select(ReviewAnswer.id).where(ReviewAnswer.item_key == item.key)).first():
        raise ReviewRefused("This item has been answered already.")
    row = ReviewAnswer(item_key=item.key, kind=item.kind, campaign_id=item.campaign_id, survey_id=item.survey_id,
                       answer=answer, cid=cid, spelling_key=spelling, reason=reason or None, answered_by=by,
                       answered_at=at)
    session.add(row)
    session.flush()
    audit.record(session, actor=by, action=f"review.{answer.replace('-', '_')}", object_type="review item",
                 object_id=item.key, campaign_id=item.campaign_id, reason=reason or None, at=at,
                 after={"kind": item.kind, "answer": answer, "cid": cid, "survey_id": item.survey_id,
                        "evidence": item.evidence})
    return row


def _learn_alias(session: Session, item: rv.ReviewItem, cid: str, *, by: str, at: datetime) -> None:
    """The supplier's spelling becomes an alias of the stored reference list, for every later check."""
    from outreach.reference_store import save_reference, stored_reference
    from cmrt.reference import default_reference

    ref = stored_reference(session) or default_reference()
    smelter = ref.get(cid)
    metal = item.evidence.get("metal")
    if smelter is None:
        raise ReviewRefused(f"{cid} is not on the reference list.")
    if metal and smelter.metal != metal:
        raise ReviewRefused(f"{cid} is a {smelter.metal} smelter; this row declares {metal}.")
    spelling = item.evidence["name"]
    learned = ReferenceList([smelter], [ReferenceAlias(metal=smelter.metal, lookup_name=spelling, cid=cid)])
    save_reference(session, learned, source_kind="review", source_name=f"{spelling} = {cid} (review {item.key})"[:500],
                   now=at, by=by)


async def answer_item(engine: Engine, key: str, answer: str, *, by: str, reason: str = "", cid: Optional[str] = None,
                      client_factory: Optional[Callable] = None, now: Optional[datetime] = None,
                      task_queue: Optional[str] = None) -> str:
    """Carry out one answer; returns a sentence for the person who answered. Raises ReviewRefused."""
    reason = (reason or "").strip()
    item = find_item(engine, key)
    if cid:
        cid, well_formed = normalise_cid(cid)
        if not well_formed:
            raise ReviewRefused("Please name the smelter by its CID (for example CID001234).")
    refusal = rv.why_not_answer(item, answer, reason=reason, cid=cid)
    if refusal:
        raise ReviewRefused(refusal)
    at = now or utcnow()
    if item.kind in (rv.SMELTER_MATCH, rv.UNKNOWN_SMELTER):
        chosen = item.evidence.get("suggested_cid") if answer == rv.CONFIRM else cid
        spelling = rv.spelling_key(item.evidence.get("metal"), item.evidence["name"])
        with _answering(engine) as session:
            if answer == rv.NOT_A_SMELTER:
                _store_answer(session, item, answer, by=by, reason=reason, cid=None, at=at, spelling=spelling)
                return f"“{item.evidence['name']}” is remembered as not a smelter, for every supplier."
            _learn_alias(session, item, chosen, by=by, at=at)
            _store_answer(session, item, answer, by=by, reason=reason, cid=chosen, at=at, spelling=spelling)
        return f"“{item.evidence['name']}” is now an alias of {chosen}: the next check matches it by itself."
    if item.kind == rv.CONTACT_PROPOSAL:
        return await _answer_proposal(engine, item, answer, by=by, reason=reason, at=at, client_factory=client_factory)
    if answer == rv.ACCEPT:
        with _answering(engine) as session:
            _store_answer(session, item, answer, by=by, reason=reason, cid=None, at=at)
        return "Accepted."
    message = await reopen_survey(engine, item.survey_id, by=by, reason=reason, submission_id=item.submission_id,
                                  client_factory=client_factory, now=at, task_queue=task_queue)
    with _answering(engine) as session:
        _store_answer(session, item, answer, by=by, reason=reason, cid=None, at=at)
    return message


async def _answer_proposal(engine: Engine, item: rv.ReviewItem, answer: str, *, by: str, reason: str, at: datetime,
                           client_factory: Optional[Callable]) -> str:
    ev = item.evidence
    if answer == rv.DECLINE:
        with _answering(engine) as session:
            _store_answer(session, item, answer, by=by, reason=reason, cid=None, at=at)
        return f"The proposed contact {ev['email']} was declined."
    with session_scope(engine) as session:
        state = session.exec(select(Survey.state).where(Survey.id == item.survey_id)).first()
    if state != "closed":
        from models import survey as contract
        from outreach.web.actions import ActionRejected, execute

        try:
            await execute(_client_factory(client_factory), item.survey_id, "replace_contact", contract.ReplaceContact(
                email=ev["email"], name=ev.get("name"), language=ev.get("language") or "en", by=by,
                reason=reason or "proposed by the supplier on its portal"), contract.ActionAck)
        except ActionRejected as exc:
            raise ReviewRefused(exc.message, exc.status_code) from None
        with _answering(engine) as session:
            _store_answer(session, item, answer, by=by, reason=reason, cid=None, at=at)
        return f"{ev['email']} is now the survey's contact."
    with _answering(engine) as session:  # no survey runs: the supplier's primary contact, for the next one
        _make_primary(session, item.supplier_id, ev)
        _store_answer(session, item, answer, by=by, reason=reason, cid=None, at=at)
    return f"{ev['email']} is now the supplier's primary contact."


def _make_primary(session: Session, supplier_id: str, ev: dict) -> None:
    rows = session.exec(select(SupplierContact).where(SupplierContact.supplier_id == supplier_id)).all()
    mine = next((c for c in rows if c.email.lower() == ev["email"].lower()), None)
    for c in rows:
        if c is not mine and c.is_primary:
            c.is_primary = False
            session.add(c)
    mine = mine or SupplierContact(supplier_id=supplier_id, email=ev["email"])
    mine.name, mine.language, mine.is_primary = ev.get("name") or mine.name, ev.get("language") or "en", True
    session.add(mine)


def _client_factory(factory: Optional[Callable]) -> Callable:
    if factory is not None:
        return factory

    async def connect():
        from outreach.settings import load_settings
        from outreach.temporal_client import connect as temporal_connect

        return await temporal_connect(load_settings())
    return connect


# --- reopening ------------------------------------------------------------------------------------


async def reopen_survey(engine: Engine, survey_id: str, *, by: str, reason: str, submission_id: Optional[str] = None,
                        client_factory: Optional[Callable] = None, now: Optional[datetime] = None,
                        task_queue: Optional[str] = None) -> str:
    """Reject the declaration a survey accepted, with a reason, while its campaign runs.

    A survey still running rejects it through its own Update (reject_submission). A closed one starts a new
    run under the same workflow ID from the closed run's state (query ``carried_input``) with
    ``SurveyInput.reopen``: the run opens a correction round, the supplier is emailed the reason, and the
    timeline, the read model and the scorecard follow from the survey's own events."""
    from temporalio.client import WorkflowExecutionStatus
    from temporalio.common import WorkflowIDReusePolicy
    from temporalio.exceptions import WorkflowAlreadyStartedError
    from temporalio.service import RPCError, RPCStatusCode

    from outreach.temporal_client import TemporalUnavailable

    from models import survey as contract
    from outreach.web.actions import ActionRejected, execute

    reason = (reason or "").strip()
    with session_scope(engine) as session:
        row = session.exec(select(Survey, Campaign).join(Campaign, Campaign.id == Survey.campaign_id)
                           .where(Survey.id == survey_id)).first()
        if row is None:
            raise ReviewRefused(f"No survey {survey_id!r}.", 404)
        survey, campaign = row
        subs = session.exec(select(Submission).where(Submission.survey_id == survey_id)
                            .order_by(Submission.received_at, Submission.id)).all()
    refusal = rv.why_not_reopen(campaign_state=campaign.state, campaign_ends_at=campaign.ends_at,
                                survey_state=survey.state, outcome=survey.outcome, reason=reason, now=now or utcnow())
    if refusal:
        raise ReviewRefused(refusal)
    counted = declaration_that_counts(subs)
    submission_id = submission_id or (counted.submission.id if counted else None)
    if submission_id is None:
        raise ReviewRefused("This survey has no declaration to reject.")
    factory = _client_factory(client_factory)
    if survey.state != "closed":
        try:
            await execute(factory, survey_id, "reject_submission", contract.ManualReview(
                submission_id=submission_id, by=by, reason=reason), contract.ActionAck)
        except ActionRejected as exc:
            raise ReviewRefused(exc.message, exc.status_code) from None
        return "The submission is rejected: the supplier is asked to correct it."
    try:
        client = await factory()
        handle = client.get_workflow_handle(survey_id)
        desc = await handle.describe()
        if desc.status == WorkflowExecutionStatus.RUNNING:
            raise ReviewRefused("The survey is running again already (reopened a moment ago?).")
        basis = await handle.query("carried_input", result_type=contract.SurveyInput)
    except TemporalUnavailable as exc:
        raise ReviewRefused(f"The workflow engine is not reachable right now; try again in a minute. ({exc})", 503) \
            from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ReviewRefused("The workflow engine no longer keeps this survey's history, so it cannot be reopened; "
                                "ask the supplier for a new declaration another way.", 410) from None
        raise ReviewRefused(f"The survey did not answer: {exc.message}", 503) from None
    inp = basis.model_copy(update={"reopen": contract.Reopen(submission_id=submission_id, by=by, reason=reason)})
    if task_queue is None:
        from outreach.settings import load_settings

        task_queue = load_settings().task_queue
    try:
        await client.start_workflow("SupplierSurvey", inp, id=survey_id, task_queue=task_queue,
                                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
    except WorkflowAlreadyStartedError:
        raise ReviewRefused("The survey is running again already (reopened a moment ago?).") from None
    return "The survey is reopened: the supplier is asked to correct its declaration."


# --- the supplier's own details (portal) ----------------------------------------------------------


def propose_contact(engine: Engine, survey_id: str, *, name: Optional[str], email: str, language: str,
                    by: Optional[str] = None) -> ContactProposal:
    with session_scope(engine) as session:
        survey = session.get(Survey, survey_id)
        if survey is None:
            raise ReviewRefused("No such survey.", 404)
        answered = {k for k in answered_keys(session) if k.startswith("contact/")}
        waiting = [p for p in session.exec(select(ContactProposal).where(ContactProposal.survey_id == survey_id)).all()
                   if f"contact/{p.id}" not in answered and p.email.casefold() == email.casefold()]
        if waiting:  # proposed again before anyone answered: the same item, not a second one
            return waiting[0]
        p = ContactProposal(supplier_id=survey.supplier_id, survey_id=survey_id, name=name or None, email=email,
                            language=language or "en")
        session.add(p)
        session.flush()
        audit.record(session, actor=by or email, action="supplier.contact_proposed", object_type="supplier",
                     object_id=survey.supplier_id, campaign_id=survey.campaign_id,
                     after={"name": p.name, "email": p.email, "language": p.language, "survey_id": survey_id})
        return p


@dataclass(frozen=True)
class EarlierDeclaration:
    campaign_id: str
    year: int
    state: str
    outcome: Optional[str]
    filename: Optional[str]
    received_at: Optional[datetime]
    verdict: str


def earlier_declarations(engine: Engine, survey_id: str) -> list[EarlierDeclaration]:
    """The same supplier's declarations in other campaigns, newest year first: the one that counted, and its
    verdict as a person reads it. Only this survey's supplier: the portal shows no one else's."""
    out = []
    with session_scope(engine) as session:
        me = session.get(Survey, survey_id)
        if me is None:
            return []
        others = session.exec(select(Survey, Campaign).join(Campaign, Campaign.id == Survey.campaign_id)
                              .where(Survey.supplier_id == me.supplier_id, Survey.id != survey_id)).all()
        for sv, camp in others:
            subs = session.exec(select(Submission).where(Submission.survey_id == sv.id)
                                .order_by(Submission.received_at, Submission.id)).all()
            counted = declaration_that_counts(subs)
            sub = counted.submission if counted else None
            out.append(EarlierDeclaration(camp.id, camp.year, sv.state, sv.outcome, sub.filename if sub else None,
                                          sub.received_at if sub else None,
                                          verdict_words(sub) if sub else "No file received"))
    return sorted(out, key=lambda e: (e.year, e.campaign_id), reverse=True)


def as_json(item: rv.ReviewItem) -> dict[str, Any]:
    return {"key": item.key, "kind": item.kind, "title": item.title, "survey_id": item.survey_id,
            "campaign_id": item.campaign_id, "supplier_id": item.supplier_id, "supplier_name": item.supplier_name,
            "submission_id": item.submission_id, "since": item.since.isoformat() if item.since else None,
            "risk_rank": item.risk_rank, "answers": list(item.answers), "evidence": item.evidence}
