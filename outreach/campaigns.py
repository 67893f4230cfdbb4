"""Running campaigns and acting on surveys from outside Temporal: what the CLI and the web app call.

Every function takes a connected Temporal client (``outreach.temporal_client.connect``) and raises
:class:`ActionRefused` with one sentence when the workflow says no (or is not there), so both faces
show the same message.

    await start_campaign(client, settings, year=2026, selection=SupplierSelection.parse("spend:0.99"))
    await pause_campaign(client, "cmrt-2026", by="ana")        # resume_campaign, cancel_campaign
    await add_suppliers(client, "cmrt-2026", ["S-9"], by="ana")
    await schedule_yearly_campaign(client, settings, month=1, day=15)
    await submit_file(client, settings, engine, survey_id, data, filename, channel="cli")  # the portal's gate
    await survey_status(client, survey_id)
    await decide_escalation(client, escalation_id, Decision.suspend, by="vp@...", reason="...")
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Optional

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models.campaign import (
    AddSuppliers,
    AddSuppliersResult,
    CampaignAck,
    CampaignAction,
    CampaignInput,
    CampaignStatus,
    CancelCampaign,
    SupplierSelection,
    YearlyCampaign,
    campaign_length,
    campaign_workflow_id,
    default_campaign_id,
    yearly_schedule_id,
)
from models.enums import Decision
from models.facts.template_kind import parse_kind, parse_minerals
from models.policy import CampaignPolicy
from models.survey import (
    ActionAck,
    EscalationStatus,
    ExtendDeadline,
    SubmissionVerdict,
    SubmitCmrt,
    SurveyStatus,
    VpDecision,
    Withdraw,
    survey_workflow_id,
)
from models.tables import Survey
from outreach.intake import UploadOutcome, submit_workbook
from outreach.settings import Settings


class ActionRefused(RuntimeError):
    """The campaign or survey refused the action, or does not exist; the message says why."""


def _reason(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    while cause is not None and getattr(cause, "cause", None) is not None and not str(cause):
        cause = cause.cause
    return str(cause or exc) or type(exc).__name__


async def _update(handle: WorkflowHandle, name: str, arg: Any, result_type: type, what: str, **kw) -> Any:
    try:
        return await handle.execute_update(name, arg, result_type=result_type, **kw)
    except WorkflowUpdateFailedError as exc:
        raise ActionRefused(f"{what}: {_reason(exc)}") from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ActionRefused(f"{what}: {handle.id} is not running") from None
        raise


class CampaignExists(ActionRefused):
    """A campaign with that ID was started before (each face says what to do: the CLI's --id, the form's field)."""


class EndDateRefused(ValueError):
    """The end date asked for a campaign cannot be its end; the message says why and what would do."""


# --- Campaigns ---------------------------------------------------------------------------------


def _when(value: datetime) -> str:
    return f"{value.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def check_end_date(ends_at: datetime, policy: CampaignPolicy, *, now: datetime | None = None) -> None:
    """A campaign closes after its surveys are due, never before.

    On its end date a campaign records itself closed and mails the compliance team its closing summary:
    an end date in the past (or before the suppliers' answers are even due) would report the campaign
    closed within seconds while every survey goes on. The surveys themselves keep their own dates.
    """
    now = now or datetime.now(timezone.utc)
    if ends_at.tzinfo is None:
        ends_at = ends_at.replace(tzinfo=timezone.utc)
    due = now + policy.response_due
    default = _when(now + campaign_length(policy))
    if ends_at <= now:
        raise EndDateRefused(f"{_when(ends_at)} is in the past; a campaign closes after its surveys are due "
                             f"({_when(due)} for one started now). Leave the end date out to close it on {default}.")
    if ends_at <= due:
        raise EndDateRefused(f"the campaign would close on {_when(ends_at)}, before its surveys are due on "
                             f"{_when(due)}. Choose a later end date, or leave it out to close it on {default}.")


def campaign_input(settings: Settings, *, year: int, campaign_id: str | None = None, name: str = "",
                   selection: SupplierSelection | None = None, policy: CampaignPolicy | None = None,
                   ends_at: datetime | None = None, page_size: int | None = None,
                   start_window: int | None = None, kind: str = "CMRT",
                   minerals: list[str] | str | None = None) -> CampaignInput:
    """The campaign's input, checked: refused (:class:`EndDateRefused`, or pydantic's ValidationError for a
    malformed ID) before anything starts. ``kind``: CMRT or EMRT; ``minerals``: those an EMRT campaign asks
    about (default: all of them). A CMRT and an EMRT campaign of the same year have different IDs."""
    kind = parse_kind(kind)
    minerals = parse_minerals(kind, minerals)
    policy = policy or CampaignPolicy.annual()
    if ends_at is not None:
        check_end_date(ends_at, policy)
    extra = {k: v for k, v in (("page_size", page_size), ("start_window", start_window)) if v is not None}
    return CampaignInput(
        campaign_id=campaign_id or default_campaign_id(year, kind), year=year, name=name, kind=kind, minerals=minerals,
        selection=selection or SupplierSelection(), policy=policy, ends_at=ends_at,
        vp_email=settings.vp_email, compliance_email=settings.compliance_email,
        company_name=settings.company_name, **extra,
    )


async def start_campaign(client: Client, settings: Settings, *, engine: Engine | None = None, by: str | None = None,
                         **kw) -> CampaignInput:
    """Start a campaign (see :func:`campaign_input` for the options and the checks); refused when the ID
    was used. The CLI, the dashboard's form and the API all start campaigns here (with ``engine``, the
    start lands in the audit trail as ``by``'s)."""
    inp = campaign_input(settings, **kw)
    try:
        await client.start_workflow(
            "CampaignWorkflow", inp, id=campaign_workflow_id(inp.campaign_id), task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        raise CampaignExists(f"a campaign with the ID {inp.campaign_id} already exists") from None
    _audit(engine, "campaign.started", inp.campaign_id, by, None, None,
           {"year": inp.year, "name": inp.name, "kind": inp.kind, "minerals": inp.minerals,
            "selection": inp.selection, "policy": inp.policy})
    return inp


def _audit(engine: Engine | None, action: str, campaign_id: str, by: str | None, reason: str | None,
           before: Any, after: Any) -> None:
    """A person's campaign action in the audit trail, once the campaign accepted it (its own state follows
    in the read model a moment later, so ``after`` says what the campaign answered)."""
    if engine is None:
        return
    from outreach import audit

    audit.record_now(engine, actor=by, action=action, object_type="campaign", object_id=campaign_id,
                     campaign_id=campaign_id, reason=reason, before=before, after=after)


def _campaign_state(engine: Engine | None, campaign_id: str) -> dict | None:
    if engine is None:
        return None
    from models.tables import Campaign
    from outreach.db import session_scope

    with session_scope(engine) as session:
        row = session.get(Campaign, campaign_id)
        return {"state": row.state} if row is not None else None


def _campaign(client: Client, campaign_id: str) -> WorkflowHandle:
    return client.get_workflow_handle(campaign_workflow_id(campaign_id))


async def campaign_status(client: Client, campaign_id: str) -> CampaignStatus:
    try:
        return await _campaign(client, campaign_id).query("status", result_type=CampaignStatus)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ActionRefused(f"no campaign {campaign_id} in Temporal") from None
        raise


async def _audited_action(client: Client, campaign_id: str, action: str, arg: Any, *, by: str, reason: str,
                          engine: Engine | None, **extra: Any) -> CampaignAck:
    """A campaign Update (pause, resume, cancel), written to the audit trail with the state before and after."""
    before = _campaign_state(engine, campaign_id)
    ack = await _update(_campaign(client, campaign_id), action, arg, CampaignAck, f"cannot {action} {campaign_id}")
    _audit(engine, f"campaign.{action}", campaign_id, by, reason, before,
           {"state": ack.state, "answer": ack.message, **extra})
    return ack


async def pause_campaign(client: Client, campaign_id: str, *, by: str, reason: str = "",
                         engine: Engine | None = None) -> CampaignAck:
    return await _audited_action(client, campaign_id, "pause", CampaignAction(by=by, reason=reason), by=by,
                                 reason=reason, engine=engine)


async def resume_campaign(client: Client, campaign_id: str, *, by: str, reason: str = "",
                          engine: Engine | None = None) -> CampaignAck:
    return await _audited_action(client, campaign_id, "resume", CampaignAction(by=by, reason=reason), by=by,
                                 reason=reason, engine=engine)


async def cancel_campaign(client: Client, campaign_id: str, *, by: str, reason: str = "",
                          withdraw_surveys: bool = True, engine: Engine | None = None) -> CampaignAck:
    return await _audited_action(client, campaign_id, "cancel",
                                 CancelCampaign(by=by, reason=reason, withdraw_surveys=withdraw_surveys), by=by,
                                 reason=reason, engine=engine, withdraw_surveys=withdraw_surveys)


async def add_suppliers(client: Client, campaign_id: str, supplier_ids: list[str], *, by: str,
                        engine: Engine | None = None) -> AddSuppliersResult:
    result = await _update(_campaign(client, campaign_id), "add_suppliers",
                           AddSuppliers(supplier_ids=supplier_ids, by=by), AddSuppliersResult,
                           f"cannot add suppliers to {campaign_id}")
    _audit(engine, "campaign.suppliers_added", campaign_id, by, None, None, result)
    return result


async def schedule_yearly_campaign(client: Client, settings: Settings, *, month: int = 1, day: int = 15, hour: int = 8,
                                   selection: SupplierSelection | None = None, policy: CampaignPolicy | None = None,
                                   schedule_id: str | None = None, replace: bool = False,
                                   engine: Engine | None = None, by: str | None = None) -> str:
    """A Temporal Schedule that opens each year's campaign on MONTH/DAY at HOUR (UTC).

    The campaign opened in year Y surveys the reporting year Y-1, under the ID ``cmrt-<Y-1>``. With
    ``engine``, creating or replacing it lands in the audit trail as ``by``'s.
    """
    template = campaign_input(settings, year=datetime.now(timezone.utc).year - 1, selection=selection, policy=policy)
    schedule_id = schedule_id or yearly_schedule_id()
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            "YearlyCampaignWorkflow", YearlyCampaign(template=template), id=f"{schedule_id}/starter",
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(calendars=[ScheduleCalendarSpec(
            month=[ScheduleRange(month)], day_of_month=[ScheduleRange(day)], hour=[ScheduleRange(hour)],
            minute=[ScheduleRange(0)], second=[ScheduleRange(0)],
            comment="open the year's responsible-minerals campaign")]),
    )
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        if not replace:
            raise ActionRefused(f"the schedule {schedule_id} already exists (use --replace to change it)") from None
        await client.get_schedule_handle(schedule_id).update(lambda _input: ScheduleUpdate(schedule=schedule))
        action = "campaign.schedule_replaced"
    else:
        action = "campaign.scheduled"
    if engine is not None:
        from outreach import audit

        audit.record_now(engine, actor=by, action=action, object_type="schedule", object_id=schedule_id,
                         after={"month": month, "day": day, "hour": hour, "selection": template.selection,
                                "policy": template.policy})
    return schedule_id


# --- Surveys -----------------------------------------------------------------------------------


def find_survey_id(engine: Engine, supplier_id: str, campaign_id: str | None = None) -> str:
    """The survey of a supplier: in the given campaign, else its latest survey."""
    if campaign_id:
        return survey_workflow_id(campaign_id, supplier_id)
    with Session(engine) as session:
        survey = session.exec(select(Survey).where(Survey.supplier_id == supplier_id)
                              .order_by(Survey.created_at.desc())).first()
    if survey is None:
        raise ActionRefused(f"supplier {supplier_id} has no survey yet; name the campaign with --campaign")
    return survey.id


async def survey_status(client: Client, survey_id: str) -> SurveyStatus:
    try:
        return await client.get_workflow_handle(survey_id).query("status", result_type=SurveyStatus)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ActionRefused(f"no survey {survey_id} in Temporal") from None
        raise


async def submit_file(client: Client | Callable[[], Awaitable[Client]], settings: Settings, engine: Engine,
                      survey_id: str, data: bytes, filename: str, *, channel: str = "portal",
                      submitted_by: str | None = None, purpose: str = "declaration") -> UploadOutcome:
    """Hand a workbook to the survey through the gate the portal and the API use (outreach.intake): the
    same bytes are refused the same way, or stored under their hash and submitted. ``client`` may be a
    function that connects: a refused file then needs no Temporal, as on the portal."""
    from outreach.storage import FileStore

    async def send(arg: SubmitCmrt, update_id: str) -> SubmissionVerdict:
        connected = client if isinstance(client, Client) else await client()
        return await _update(connected.get_workflow_handle(survey_id), "submit", arg, SubmissionVerdict,
                             f"submission refused by {survey_id}", id=update_id)

    return await submit_workbook(survey_id, data, filename, store=FileStore(settings.file_store_path, engine),
                                 max_bytes=settings.max_upload_bytes, send=send, channel=channel,
                                 submitted_by=submitted_by, purpose=purpose)


async def extend_deadline(client: Client, survey_id: str, new_due_at: datetime, *, by: str, reason: str = "") -> ActionAck:
    return await _update(client.get_workflow_handle(survey_id), "extend_deadline",
                         ExtendDeadline(new_due_at=new_due_at, by=by, reason=reason), ActionAck,
                         f"cannot extend {survey_id}")


async def withdraw_survey(client: Client, survey_id: str, *, by: str, reason: str = "") -> ActionAck:
    return await _update(client.get_workflow_handle(survey_id), "withdraw", Withdraw(by=by, reason=reason), ActionAck,
                         f"cannot withdraw {survey_id}")


async def decide_escalation(client: Client, escalation_id: str, decision: Decision, *, by: str,
                            reason: str = "") -> EscalationStatus:
    """The VP's decision, sent to the escalation itself (its validator answers precisely)."""
    return await _update(client.get_workflow_handle(escalation_id), "decide",
                         VpDecision(decision=decision, decided_by=by, reason=reason), EscalationStatus,
                         f"decision refused by {escalation_id}")


async def open_escalation_id(client: Client, survey_id: str) -> str:
    status = await survey_status(client, survey_id)
    if not status.open_escalation_id:
        raise ActionRefused(f"{survey_id} has no open escalation (state: {status.state.value})")
    return status.open_escalation_id


def parse_when(text: str, *, now: Optional[datetime] = None) -> datetime:
    """``2026-06-30`` (end of that day, UTC), an ISO date-time, or ``+14d`` / ``+36h`` from now."""
    now = now or datetime.now(timezone.utc)
    text = text.strip()
    if text.startswith("+") and text[-1:] in ("d", "h") and text[1:-1].isdigit():
        amount = int(text[1:-1])
        return now + (timedelta(days=amount) if text.endswith("d") else timedelta(hours=amount))
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
            return day + timedelta(days=1) - timedelta(seconds=1)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date: use 2026-06-30, 2026-06-30T17:00+02:00, +14d or +36h") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
