"""The contract of the campaign workflow: its ID, input, Updates, query and result.

One ``CampaignWorkflow`` per reporting year (ID ``campaign_workflow_id(campaign_id)``). It freezes the
selection of suppliers once, starts one survey per supplier as abandoned children in pages (a bounded
window of concurrent starts, continue-as-new after each page, carrying the cursor), waits until the end
date, then records the campaign as closed and sends the compliance team a summary.

    from workflows.campaign import CampaignWorkflow
    handle = client.get_workflow_handle(campaign_workflow_id("cmrt-2026"))
    await handle.execute_update(CampaignWorkflow.pause, CampaignAction(by="ana", reason="template fix"))
    await handle.execute_update(CampaignWorkflow.resume, CampaignAction(by="ana"))
    await handle.execute_update(CampaignWorkflow.add_suppliers, AddSuppliers(supplier_ids=["S-9"], by="ana"))
    await handle.execute_update(CampaignWorkflow.cancel, CancelCampaign(by="ana", reason="wrong year"))
    await handle.query(CampaignWorkflow.status)  # -> CampaignStatus (the fan-out only)

Progress (who answered, who is overdue...) is not the workflow's business: it comes from the database
(`outreach.progress.campaign_progress`).

Cancelling stops new surveys and, by default, withdraws every survey still open (outcome
``withdrawn``): a cancelled campaign must not keep reminding suppliers. ``withdraw_surveys=False``
leaves the running surveys to finish on their own.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal, Optional

from pydantic import BaseModel, Field, field_validator, model_validator

from models.enums import CampaignState
from models.facts.template_kind import TemplateKind, campaign_title, default_campaign_id, parse_minerals
from models.policy import CampaignPolicy
from models.survey import Contact

# Pages stay well under Temporal's limit of 2,000 pending children per run (DESIGN.md).
MAX_PAGE_SIZE = 500
_CAMPAIGN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def campaign_workflow_id(campaign_id: str) -> str:
    return f"campaign/{campaign_id}"


def campaign_length(policy: CampaignPolicy) -> timedelta:
    """How long a campaign stays open when no end date is given: the due date, the grace period
    and every correction round a late answer may still need."""
    return policy.response_due + policy.grace_period + policy.max_correction_rounds * policy.correction_window


class SupplierSelection(BaseModel):
    """Which suppliers a campaign surveys.

    - ``all``: every active supplier;
    - ``category``: the active suppliers in ``categories`` (e.g. preferred, strategic);
    - ``spend_share``: the smallest set of active suppliers, biggest spenders first, whose annual spend
      covers ``share`` of the total (the seeds survey 99%), plus every supplier in ``categories``.
    """

    kind: Literal["all", "category", "spend_share"] = "spend_share"
    share: float = Field(default=0.99, gt=0, le=1)
    categories: list[str] = Field(default_factory=list)

    @field_validator("categories")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return sorted({c.strip().lower() for c in v if c.strip()})

    @model_validator(mode="after")
    def _needs_categories(self) -> "SupplierSelection":
        if self.kind == "category" and not self.categories:
            raise ValueError("a category selection needs at least one category")
        return self

    @classmethod
    def parse(cls, text: str) -> "SupplierSelection":
        """``all``, ``category:strategic,preferred``, ``spend:0.99`` or ``spend:99%+strategic,preferred``."""
        kind, _, rest = text.strip().partition(":")
        kind = kind.lower()
        if kind == "all" and not rest:
            return cls(kind="all")
        if kind == "category" and rest:
            return cls(kind="category", categories=rest.split(","))
        if kind == "spend" and rest:
            share_text, _, cats = rest.partition("+")
            share_text = share_text.strip()
            try:
                share = float(share_text.rstrip("%")) / (100 if share_text.endswith("%") else 1)
            except ValueError:
                raise ValueError(f"{share_text!r} is not a share of spend (e.g. 0.99 or 99%)") from None
            return cls(kind="spend_share", share=share, categories=cats.split(",") if cats else [])
        raise ValueError(f"{text!r} is not a selection: use all, category:NAME[,NAME], or spend:0.99[+CATEGORY,...]")

    def describe(self) -> str:
        if self.kind == "all":
            return "all active suppliers"
        if self.kind == "category":
            return "suppliers in " + ", ".join(self.categories)
        extra = f", plus every {' and '.join(self.categories)} supplier" if self.categories else ""
        return f"the biggest suppliers covering {self.share:.0%} of annual spend{extra}"


class CampaignCarry(BaseModel):
    """What a run hands to the next across continue-as-new: the fan-out's position, nothing else."""

    cursor: int = 0  # position in the frozen selection of the next supplier to start
    selected: int = 0  # size of the frozen selection (grows with late additions)
    started: int = 0  # surveys this campaign started (children already running are not counted)
    already_running: int = 0  # starts refused because that survey already existed
    ends_at: datetime
    paused: bool = False
    cancel: Optional["CancelCampaign"] = None
    runs: int = 1


class CampaignInput(BaseModel):
    campaign_id: str
    year: int
    name: str = ""
    selection: SupplierSelection = Field(default_factory=SupplierSelection)
    policy: CampaignPolicy = Field(default_factory=CampaignPolicy.annual)
    ends_at: Optional[datetime] = None  # default: start + campaign_length(policy)
    vp_email: str
    compliance_email: str
    company_name: str = "Example Manufacturing Inc."
    # The template the campaign asks for, and the minerals (empty: all of the template's). Defaults keep the
    # inputs of campaigns started before EMRT campaigns decoding as the CMRT campaigns they were.
    kind: TemplateKind = "CMRT"
    minerals: list[str] = Field(default_factory=list)
    page_size: int = Field(default=200, ge=1, le=MAX_PAGE_SIZE)
    start_window: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE, description="Survey starts in flight at once.")
    # False only on a server without the custom search attributes (the time-skipping test server).
    search_attributes: bool = True
    carried: Optional[CampaignCarry] = None  # set by continue-as-new only

    @field_validator("campaign_id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _CAMPAIGN_ID.match(v):
            raise ValueError("a campaign ID is 1-64 letters, digits, '.', '_' or '-', e.g. cmrt-2026")
        return v

    @model_validator(mode="after")
    def _minerals_of_kind(self) -> "CampaignInput":
        self.minerals = parse_minerals(self.kind, self.minerals)
        return self

    @property
    def display_name(self) -> str:
        return self.name or campaign_title(self.year, self.kind)



class YearlyCampaign(BaseModel):
    """What a yearly Schedule starts: next year's campaign, its year taken from the day it runs."""

    template: CampaignInput  # campaign_id, year, name and ends_at are replaced at each start
    year_offset: int = Field(default=-1, description="A campaign started in 2027 surveys the reporting year 2026.")

    def for_year(self, year: int) -> CampaignInput:
        return self.template.model_copy(update={
            "campaign_id": default_campaign_id(year), "year": year, "name": f"CMRT campaign {year}",
            "ends_at": None, "carried": None})


def yearly_schedule_id(prefix: str = "outreach") -> str:
    return f"{prefix}-yearly-campaign"


# --- Updates ------------------------------------------------------------------------------------


class CampaignAction(BaseModel):
    """Updates `pause` and `resume`: who and why."""

    by: str = Field(min_length=1)
    reason: str = ""


class CancelCampaign(BaseModel):
    by: str = Field(min_length=1)
    reason: str = ""
    withdraw_surveys: bool = True


class AddSuppliers(BaseModel):
    """Update `add_suppliers`: suppliers brought into scope after the campaign started."""

    supplier_ids: list[str] = Field(min_length=1, max_length=MAX_PAGE_SIZE)
    by: str = Field(min_length=1)


class AddSuppliersResult(BaseModel):
    added: list[str] = Field(default_factory=list)  # their surveys start with the next page
    already_in_campaign: list[str] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list)  # not in the supplier master data
    without_contact: list[str] = Field(default_factory=list)
    selected: int = 0  # the selection's new size


class CampaignAck(BaseModel):
    state: CampaignState
    message: str


class CampaignStatus(BaseModel):
    """The `status` query: the fan-out's position (progress comes from the database)."""

    campaign_id: str
    state: CampaignState
    selected: int
    cursor: int
    started: int
    already_running: int
    ends_at: datetime
    runs: int


class CampaignResult(BaseModel):
    campaign_id: str
    state: CampaignState  # closed or cancelled
    selected: int
    started: int
    withdrawn: int = 0
    ended_at: datetime


# --- Activity payloads ------------------------------------------------------------------------


class OpenCampaign(BaseModel):
    campaign_id: str
    year: int
    name: str
    workflow_id: str
    selection: SupplierSelection
    policy: CampaignPolicy
    starts_at: datetime
    ends_at: datetime
    kind: str = "CMRT"
    minerals: list[str] = Field(default_factory=list)


class CampaignOpened(BaseModel):
    selected: int
    without_contact: int = 0
    spend_covered: float = 0.0
    total_spend: float = 0.0


class SurveyTarget(BaseModel):
    """One supplier to survey, as the page activity read it from the master data."""

    supplier_id: str
    supplier_name: str
    contact: Contact
    commodity_manager_name: Optional[str] = None
    commodity_manager_email: Optional[str] = None
    spend: float = 0.0


class CampaignPageRequest(BaseModel):
    campaign_id: str
    cursor: int
    limit: int


class CampaignPage(BaseModel):
    targets: list[SurveyTarget]
    next_cursor: int


class AddSuppliersRequest(BaseModel):
    campaign_id: str
    supplier_ids: list[str]


class CampaignRecord(BaseModel):
    campaign_id: str
    state: CampaignState
    surveys_started: Optional[int] = None
    closed_at: Optional[datetime] = None


class WithdrawSurveys(BaseModel):
    campaign_id: str
    by: str
    reason: str


CampaignCarry.model_rebuild()


class WithdrawResult(BaseModel):
    withdrawn: int = 0
    not_running: int = 0  # already ended, or never started (cancelled before its page)
    refused: int = 0


class SummaryRequest(BaseModel):
    campaign_id: str
    state: CampaignState
