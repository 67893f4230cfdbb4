"""The supplier portal: one survey, reached from the signed link in every email, no account.

Everything on the page is read through the survey the link names; a tampered or expired link gets a
page that says what to do and shows nothing else.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from types import SimpleNamespace

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from pydantic import ValidationError

from models import survey as contract
from models.enums import SurveyState
from models.facts.correction import correction_request
from models.facts.lifecycle import OPEN_FOR_DECLARATION, why_not_submit
from outreach import i18n, review
from outreach.i18n import N_
from outreach.languages import remember_choice, supplier_locale
from outreach.links import PORTAL, LinkExpired, LinkInvalid
from outreach.web import queries
from outreach.wording import humanise
from outreach.web.auth import authorize
from outreach.web.actions import ActionRejected, ReplaceContactBody, report_action_status, submit_plan
from outreach.web.context import LANGUAGE_COOKIE, ctx_of, flash, render, require_csrf
from outreach.web.uploads import submit_upload

router = APIRouter(include_in_schema=False, dependencies=[Depends(authorize)])  # public by link
PLAN_ROWS = 5

# What the supplier reads about where things stand: short sentences, no jargon, easy to translate.
STATUS_TEXT = {
    "requested": (N_("Waiting for your CMRT"), N_("Please fill in the Conflict Minerals Reporting Template (CMRT) and upload it here.")),
    "awaiting_response": (N_("Waiting for your CMRT"), N_("Please fill in the Conflict Minerals Reporting Template (CMRT) and upload it here.")),
    "chasing": (N_("Your CMRT is overdue"), N_("The due date has passed. Please upload your CMRT as soon as you can.")),
    "validating": (N_("We are checking your file"), N_("This takes a few seconds. Reload the page to see the result.")),
    "correction_requested": (N_("Please correct your CMRT"), N_("Your last file has errors. Correct each point listed below in your workbook and upload it again.")),
    "risk_review": (N_("Thank you — we are reviewing your answer"), N_("Your CMRT is complete. We are reviewing the smelters it lists. Nothing is needed from you now.")),
    "product_level_requested": (N_("Please send a product-level CMRT"), N_("Your company-level CMRT lists smelters we must look at more closely. Please send a CMRT that covers only the products you supply to us (scope B, with the Product List filled in).")),
    "corrective_action": (N_("Please send a corrective action plan"), N_("List the actions you will take, who owns each one and by when. Then tell us here when each action is done.")),
    "escalated": (N_("Your case is with our management"), N_("We have not been able to close your survey with you. We will contact you about the next steps.")),
    "closed": (N_("This survey is closed"), N_("Thank you. Nothing more is needed from you for this survey.")),
}
# Statuses as the supplier reads them on its page (the compliance team's pages keep outreach.wording's).
SUPPLIER_WORDS = {
    "valid": N_("Valid"), "invalid": N_("Invalid"), "unreadable": N_("Could not be read"), "accepted": N_("Accepted"),
    "rejected": N_("Rejected"), "in_progress": N_("In progress"), "reported_done": N_("Reported done"),
    "verified": N_("Verified"), "refused": N_("Refused"), "open": N_("Open"), "pending": N_("Pending"),
}
RMI_CMRT_URL = "https://www.responsiblemineralsinitiative.org/reporting-templates/cmrt/"


def supplier_words(code: str | None) -> str:
    return i18n.gettext(SUPPLIER_WORDS[code]) if code in SUPPLIER_WORDS else i18n.gettext(humanise(code))


# States in which the portal shows the date the supplier must answer by.
CAN_SUBMIT = {s.value for s in OPEN_FOR_DECLARATION} | {SurveyState.product_level_requested.value}


def can_submit(view) -> bool:
    """Whether the survey takes a file now: the same rule its `submit` validator applies
    (models.facts.lifecycle.why_not_submit), read from the read model."""
    esc = view.open_escalation
    state = SurveyState(view.survey.state)
    survey = SimpleNamespace(state=state, escalation_reason=esc.reason if esc is not None else None)
    purpose = "product_level" if state == SurveyState.product_level_requested else "declaration"
    return why_not_submit(survey, purpose) is None


def link_error(request: Request, exc: Exception, *, decision: bool = False):
    """The 403/410 page: in the supplier's language on the portal (its last choice in this browser, else the
    browser's), in the company's on the VP's decision page."""
    expired = isinstance(exc, LinkExpired)
    if decision:
        what_to_do = ("Use the link in the most recent escalation email, or ask the compliance team "
                      f"({ctx_of(request).settings.compliance_email}) to send the case again.")
    else:
        what_to_do = N_("Open the most recent email we sent you about the conflict-minerals survey and use its link, "
                        "or reply to that email and we will send you a new one.")
    return render(
        request, "message.html", status_code=410 if expired else 403, public=True,
        heading=N_("This link has expired") if expired else N_("This link is not valid"),
        text=(N_("Links in our emails stay valid for a limited time, to protect your information.")
              if expired else N_("The link is incomplete or has been changed, so we cannot show this page.")),
        next_step=what_to_do,
    )


def _use_locale(request: Request, view) -> str:
    """The survey's supplier's language for this request (outreach.languages), for its page and its messages."""
    code = supplier_locale(ctx_of(request).engine, view.survey.supplier_id, view.survey.language)
    request.state.locale = code
    return code


def _say(request: Request, text: str, kind: str, **values) -> None:
    """A flash message in the page's language."""
    with i18n.using(getattr(request.state, "locale", None)):
        flash(request, i18n.gettext(text) % values if values else i18n.gettext(text), kind)


def _survey_for(request: Request, token: str):
    ctx = ctx_of(request)
    survey_id = ctx.signer.subject(PORTAL, token)
    view = queries.survey_view(ctx.engine, survey_id)
    if view is None:
        raise HTTPException(404, N_("We cannot find this survey. Please use the link from our most recent email."))
    return view


def _page(request: Request, token: str, view, *, outcome=None, status_code: int = 200):
    ctx = ctx_of(request)
    _use_locale(request, view)
    sup = queries.supplier(ctx.engine, view.survey.supplier_id)
    latest = view.submissions[0] if view.submissions else None
    state = view.survey.state
    heading, text = STATUS_TEXT.get(state, (N_("Your survey"), ""))
    if state == "closed" and view.survey.outcome in ("valid", "valid_with_cap", "waived"):
        heading, text = N_("Thank you — your CMRT is accepted"), N_("Nothing more is needed from you for this survey.")
    plan = view.open_plan
    if state == SurveyState.corrective_action.value and plan and plan.actions:
        heading, text = N_("Your corrective actions"), N_("Thank you for your plan. Tell us below when each action is done.")
    open_for_files = can_submit(view)
    if state == SurveyState.escalated.value and open_for_files:
        heading, text = (N_("Your CMRT is overdue"), N_("We have asked our management to decide about your company. "
                                                       "Please upload your CMRT now: a valid answer closes the case."))
    # What to correct, from the read model (every finding kept, the recorded deadline); an upload's answer
    # reads its own submission there as soon as it is recorded, else the verdict's (bounded) list.
    correction = view.correction_for()
    upload_facts = None
    if outcome is not None:
        upload_facts = (view.correction_for(outcome.submission_id) if outcome.submission_id else None) or \
            correction_request(outcome.findings, deadline=None)
        if correction is not None and outcome.submission_id and view.submissions and \
                view.submissions[0].submission.id == outcome.submission_id:
            upload_facts = correction
    return render(
        request, "portal.html", status_code=status_code, token=token, v=view, supplier=sup.supplier if sup else None,
        correction=correction, upload_facts=upload_facts,
        company_name=ctx.settings.company_name, heading=heading, status_text=text, latest=latest,
        can_submit=open_for_files, show_due=state in CAN_SUBMIT, outcome=outcome, plan_rows=range(1, PLAN_ROWS + 1),
        max_mb=ctx.settings.max_upload_bytes // 1048576, today=date.today().isoformat(),
        product_level=state == SurveyState.product_level_requested.value,
        earlier=review.earlier_declarations(ctx.engine, view.survey.id), languages=i18n.languages(),
        contact_language=i18n.normalise(view.survey.language),
        supplier_words=supplier_words, rmi_link=Markup('<a href="%s" rel="noopener noreferrer" target="_blank">%s</a>')
        % (RMI_CMRT_URL, "Responsible Minerals Initiative"),
    )


@router.get("/portal/{token}")
def portal(request: Request, token: str):
    try:
        view = _survey_for(request, token)
    except (LinkInvalid, LinkExpired) as exc:
        return link_error(request, exc)
    return _page(request, token, view)


@router.post("/portal/{token}/upload", dependencies=[Depends(require_csrf)])
async def portal_upload(request: Request, token: str, file: UploadFile = File(...)):
    ctx = ctx_of(request)
    try:
        view = _survey_for(request, token)
    except (LinkInvalid, LinkExpired) as exc:
        return link_error(request, exc)
    try:
        outcome = await submit_upload(ctx.temporal, ctx.store, view.survey, file, max_bytes=ctx.settings.max_upload_bytes,
                                      channel="portal", submitted_by=view.survey.contact_email)
    except ActionRejected as exc:
        _use_locale(request, view)
        if exc.status_code >= 500:
            _say(request, N_("Your file was not submitted: we cannot take files for a few minutes. Please try again later."),
                 "error")
        else:
            _say(request, N_("Your file was not submitted: we are not expecting a file from you at the moment (%(why)s)."),
                 "error", why=exc.message)
        return RedirectResponse(f"/portal/{token}", status_code=303)
    # Show the verdict at once; the page's other parts come from the read model, which may lag a moment.
    return _page(request, token, queries.survey_view(ctx.engine, view.survey.id) or view, outcome=outcome)


def _parse_plan(form) -> list[contract.PlannedAction]:
    actions = []
    for n in range(1, PLAN_ROWS + 1):
        description = str(form.get(f"description_{n}") or "").strip()
        owner = str(form.get(f"owner_{n}") or "").strip()
        target = str(form.get(f"target_{n}") or "").strip()
        if not (description or owner or target):
            continue
        if not (description and owner and target):
            raise ValueError(i18n.gettext("Action %(n)d: please give a description, an owner and a target date.") % {"n": n})
        try:
            day = date.fromisoformat(target)
        except ValueError:
            raise ValueError(i18n.gettext("Action %(n)d: the target date must be a date such as %(example)s.")
                             % {"n": n, "example": i18n.format_day(date(2026, 3, 31))}) from None
        actions.append(contract.PlannedAction(description=description, owner=owner,
                                              target_date=datetime.combine(day, time(23, 59), tzinfo=timezone.utc)))
    if not actions:
        raise ValueError(i18n.gettext("Please enter at least one action."))
    return actions


@router.post("/portal/{token}/plan", dependencies=[Depends(require_csrf)])
async def portal_plan(request: Request, token: str):
    ctx = ctx_of(request)
    try:
        view = _survey_for(request, token)
    except (LinkInvalid, LinkExpired) as exc:
        return link_error(request, exc)
    plan = view.open_plan
    code = _use_locale(request, view)
    if plan is None:
        _say(request, N_("No corrective action plan is open for this survey."), "error")
        return RedirectResponse(f"/portal/{token}", status_code=303)
    try:
        with i18n.using(code):
            actions = _parse_plan(await request.form())
        await submit_plan(ctx.temporal, plan.plan.id, actions, view.survey.contact_email)
    except (ValueError, ValidationError) as exc:
        flash(request, str(exc), "error")
    except ActionRejected as exc:
        _say(request, N_("Your plan was not accepted: %(why)s"), "error", why=exc.message)
    else:
        with i18n.using(code):
            flash(request, i18n.ngettext("Thank you. Your plan with %(num)d action was received.",
                                         "Thank you. Your plan with %(num)d actions was received.",
                                         len(actions)) % {"num": len(actions)}, "ok")
    return RedirectResponse(f"/portal/{token}", status_code=303)


@router.post("/portal/{token}/actions/{number}", dependencies=[Depends(require_csrf)])
async def portal_action_status(request: Request, token: str, number: int):
    ctx = ctx_of(request)
    try:
        view = _survey_for(request, token)
    except (LinkInvalid, LinkExpired) as exc:
        return link_error(request, exc)
    plan = view.open_plan
    form = await request.form()
    _use_locale(request, view)
    if plan is None:
        _say(request, N_("No corrective action plan is open for this survey."), "error")
        return RedirectResponse(f"/portal/{token}", status_code=303)
    try:
        report = contract.ActionStatusReport(number=number, status=form.get("status"), note=str(form.get("note") or ""),
                                             reported_by=view.survey.contact_email)
        await report_action_status(ctx.temporal, plan.plan.id, report)
    except ValidationError:
        _say(request, N_("Please choose the action's status."), "error")
    except ActionRejected as exc:
        _say(request, N_("Not recorded: %(why)s"), "error", why=exc.message)
    else:
        _say(request, N_("Thank you. The status of action %(n)d was recorded."), "ok", n=number)
    return RedirectResponse(f"/portal/{token}", status_code=303)


@router.post("/portal/{token}/contact", dependencies=[Depends(require_csrf)])
async def portal_contact(request: Request, token: str):
    """The supplier proposes a new contact; compliance confirms it on the review desk."""
    ctx = ctx_of(request)
    try:
        view = _survey_for(request, token)
    except (LinkInvalid, LinkExpired) as exc:
        return link_error(request, exc)
    form = await request.form()
    _use_locale(request, view)
    # the languages the portal offers (outreach.i18n), however the browser or a hand-made form wrote it
    language = i18n.normalise(str(form.get("language") or "en"))
    if language is None:
        _say(request, N_("Please choose one of the languages in the list."), "error")
        return RedirectResponse(f"/portal/{token}", status_code=303)
    try:
        body = ReplaceContactBody(email=str(form.get("email") or "").strip(), name=str(form.get("name") or "").strip()
                                  or None, language=language)
    except ValidationError:
        _say(request, N_("Please give a valid email address for the new contact."), "error")
        return RedirectResponse(f"/portal/{token}", status_code=303)
    review.propose_contact(ctx.engine, view.survey.id, name=body.name, email=body.email, language=body.language)
    _say(request, N_("Thank you. We will confirm %(email)s as your contact shortly."), "ok", email=body.email)
    return RedirectResponse(f"/portal/{token}", status_code=303)


@router.post("/portal/{token}/language", dependencies=[Depends(require_csrf)])
async def portal_language(request: Request, token: str):
    """The supplier's language switcher: remembered for this supplier (its pages and emails) and this browser."""
    ctx = ctx_of(request)
    try:
        view = _survey_for(request, token)
    except (LinkInvalid, LinkExpired) as exc:
        return link_error(request, exc)
    form = await request.form()
    code = remember_choice(ctx.engine, view.survey.supplier_id, str(form.get("language") or ""),
                           by=view.survey.contact_email)
    if code is None:
        _use_locale(request, view)
        _say(request, N_("Please choose one of the languages in the list."), "error")
        return RedirectResponse(f"/portal/{token}", status_code=303)
    response = RedirectResponse(f"/portal/{token}", status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 86400, httponly=True, samesite="lax",
                        path="/portal")
    return response
