"""Starting a campaign from the dashboard or the API, and reading its progress from the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Optional

from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy.engine import Engine

from models.campaign import SupplierSelection, default_campaign_id
from models.policy import CampaignPolicy
from outreach import campaigns
from outreach.progress import CampaignNotFound, CampaignProgress, campaign_progress
from outreach.temporal_client import TemporalUnavailable
from outreach.web.actions import ActionRejected
from outreach.wording import validation_sentence


# The start form's fields as the page names them: every refusal names the field a person sees.
FIELD_LABELS = {
    "year": "Reporting year", "campaign_id": "Campaign ID", "name": "Name", "selection": "Which suppliers",
    "kind": "Which suppliers", "share": "Share of spend", "categories": "Categories", "policy": "Timing",
    "ends_at": "Closes on", "template": "Template", "minerals": "Minerals",
}


class FormErrors(ValueError):
    """What is wrong with the start form, field by field, in sentences (never a validator's dump)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


def field_errors(exc: ValidationError, *, prefix: tuple[str, ...] = ()) -> dict[str, str]:
    """A validation error as {form field: sentence}; the share is a percentage on the form, a fraction inside."""
    out: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in (*prefix, *err.get("loc", ())) if str(p) in FIELD_LABELS]
        field = loc[-1] if loc else ("categories" if "categor" in str(err.get("msg", "")) else "form")
        if field == "kind":
            field = "selection"
        if field == "share" and err.get("type") in ("greater_than", "less_than_equal", "greater_than_equal"):
            sentence = "Share of spend: give a percentage above 0 and at most 100."
        elif field == "year" and err.get("type") in ("greater_than_equal", "less_than_equal", "int_parsing"):
            sentence = "Reporting year: give a year between 2000 and 2100, e.g. 2025."
        else:
            sentence = validation_sentence(err, FIELD_LABELS.get(field, "The form"))
        out.setdefault(field, sentence)
    return out


class CampaignRequest(BaseModel):
    """What the start form (and POST /api/v1/campaigns) asks for."""

    year: int = Field(ge=2000, le=2100, description="The reporting year surveyed, e.g. 2025.")
    campaign_id: Optional[str] = Field(None, description="Default: cmrt-YEAR, or emrt-YEAR for an EMRT campaign.")
    template: Literal["CMRT", "EMRT"] = Field("CMRT", description="The template asked for: CMRT (3TG) or EMRT "
                                                                 "(extended minerals).")
    minerals: list[str] = Field(default_factory=list, description="EMRT: the minerals asked about (default: all).")
    name: str = Field("", max_length=200)
    selection: SupplierSelection = Field(default_factory=SupplierSelection)
    policy: Literal["annual", "demo"] = Field("annual", description="annual: weeks between steps; demo: minutes.")
    high_risk_on_product_scope: Literal["corrective_action", "review"] = Field(
        "corrective_action", description="High-risk smelters on a product-level or user-defined declaration: ask "
                                         "for a corrective action plan, or hold it for the compliance team's review.")
    ends_at: Optional[datetime] = Field(
        None, description="When the campaign closes (UTC when no offset is given); after its surveys are due. "
                          "Default: the policy's due date, grace period and correction rounds from now.")

    @field_validator("campaign_id", "ends_at", mode="before")
    @classmethod
    def _blank(cls, v: Any) -> Any:
        return v or None

    @property
    def effective_id(self) -> str:
        return self.campaign_id or default_campaign_id(self.year, self.template)

    @classmethod
    def from_form(cls, form: dict[str, Any]) -> "CampaignRequest":
        """The request from the start form; FormErrors lists every field that is wrong, each in a sentence."""
        errors: dict[str, str] = {}
        kind = form.get("selection") or "spend_share"
        categories = [c for c in str(form.get("categories") or "").split(",") if c.strip()]
        share_text = str(form.get("share") or "99").strip().rstrip("%")
        try:
            share = float(share_text) / 100
        except ValueError:
            errors["share"] = f"Share of spend: {share_text!r} is not a number; give a percentage such as 99."
            share = 0.99
        selection = None
        try:
            selection = SupplierSelection(kind=kind, share=share, categories=categories)
        except ValidationError as exc:
            for field, sentence in field_errors(exc).items():
                errors.setdefault(field, sentence)
        ends_text = str(form.get("ends_at") or "").strip()
        ends_at = None
        try:  # a date closes the campaign at the end of that day (UTC), as on the command line
            ends_at = campaigns.parse_when(ends_text) if ends_text else None
        except ValueError as exc:
            errors["ends_at"] = f"Closes on: {str(exc).rstrip('.')}."
        try:
            req = cls(year=form.get("year"), campaign_id=form.get("campaign_id"), name=form.get("name") or "",
                      selection=selection or SupplierSelection(), policy=form.get("policy") or "annual",
                      ends_at=ends_at, template=form.get("template") or "CMRT",
                      minerals=[m for m in str(form.get("minerals") or "").split(",") if m.strip()],
                      high_risk_on_product_scope=form.get("high_risk_on_product_scope") or "corrective_action")
        except ValidationError as exc:
            for field, sentence in field_errors(exc).items():
                errors.setdefault(field, sentence)
            req = None
        if errors or req is None:
            raise FormErrors(errors or {"form": "The form could not be read; please fill it in again."})
        return req


class CampaignRefused(ActionRejected):
    """The campaign was not started: one sentence per field (``errors``), and all of them as the message."""

    def __init__(self, errors: dict[str, str], status_code: int):
        super().__init__(" ".join(errors.values()), status_code)
        self.errors = errors


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] + "."


async def _client(ctx):
    try:
        return await ctx.temporal()
    except TemporalUnavailable as exc:
        raise ActionRejected(f"The workflow engine is not reachable right now; try again in a minute. ({exc})", 503)


async def start_campaign(ctx, req: CampaignRequest, *, by: str) -> str:
    """Start the campaign workflow; the campaign row appears once it has frozen its selection."""
    policy = CampaignPolicy.demo() if req.policy == "demo" else CampaignPolicy.annual()
    policy = policy.model_copy(update={"high_risk_on_product_scope": req.high_risk_on_product_scope})
    kwargs = dict(year=req.year, campaign_id=req.effective_id, name=req.name, selection=req.selection, policy=policy,
                  ends_at=req.ends_at, kind=req.template, minerals=req.minerals)
    try:  # checked before connecting: a wrong field is the answer even while Temporal is down
        campaigns.campaign_input(ctx.settings, **kwargs)
    except campaigns.EndDateRefused as exc:
        raise CampaignRefused({"ends_at": f"Closes on: {_sentence(str(exc))}"}, 422) from None
    except ValidationError as exc:  # the campaign input's own validation (e.g. the ID's shape)
        raise CampaignRefused(field_errors(exc), 422) from None
    except ValueError as exc:  # minerals the template does not report on
        raise CampaignRefused({"minerals": f"Minerals: {_sentence(str(exc))}"}, 422) from None
    client = await _client(ctx)
    try:
        inp = await campaigns.start_campaign(client, ctx.settings, engine=ctx.engine, by=by, **kwargs)
    except ValidationError as exc:
        raise CampaignRefused(field_errors(exc), 422) from None
    except campaigns.CampaignExists:
        raise CampaignRefused({"campaign_id": f"Campaign ID: a campaign with the ID {req.effective_id} already "
                                              "exists. Open the existing campaign, or choose another campaign ID."},
                              409) from None
    return inp.campaign_id


CAMPAIGN_ACTIONS = {
    "pause": ("Pause the campaign", campaigns.pause_campaign),
    "resume": ("Resume the campaign", campaigns.resume_campaign),
    "cancel": ("Cancel the campaign", campaigns.cancel_campaign),
}


async def campaign_action(ctx, campaign_id: str, action: str, *, by: str, reason: str = "") -> str:
    """Pause, resume or cancel (cancelling withdraws the open surveys); returns the campaign's answer."""
    client = await _client(ctx)
    try:
        ack = await CAMPAIGN_ACTIONS[action][1](client, campaign_id, by=by, reason=reason, engine=ctx.engine)
    except campaigns.ActionRefused as exc:
        raise ActionRejected(str(exc), 409) from None
    return ack.message


def campaign_progress_or_none(engine: Engine, campaign_id: str) -> CampaignProgress | None:
    """The campaign's funnel from the read model, or None when there is no such campaign."""
    try:
        return campaign_progress(engine, campaign_id, overdue_limit=20)
    except CampaignNotFound:
        return None


async def add_suppliers(ctx, campaign_id: str, supplier_ids: list[str], *, by: str) -> str:
    """Bring suppliers into a running campaign; says which were added and which were not, and why."""
    client = await _client(ctx)
    try:
        result = await campaigns.add_suppliers(client, campaign_id, supplier_ids, by=by, engine=ctx.engine)
    except campaigns.ActionRefused as exc:
        raise ActionRejected(str(exc), 409) from None
    parts = [f"{len(result.added)} added (their surveys start with the next page)"]
    for label, ids in (("already in the campaign", result.already_in_campaign), ("unknown", result.unknown),
                       ("without a contact", result.without_contact)):
        if ids:
            parts.append(f"{label}: {', '.join(ids)}")
    return "; ".join(parts) + "."
