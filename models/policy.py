"""The campaign policy: every wait in the lifecycle comes from here.

A real year waits weeks between steps; the demo runs the same workflows in minutes; tests use the
time-skipping server with the real policy. Workflows never hold a literal duration.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field, model_validator


class CampaignPolicy(BaseModel):
    # Survey request -> response
    reminder_offsets: list[timedelta] = Field(
        default_factory=lambda: [timedelta(days=14), timedelta(days=28), timedelta(days=42)],
        description="After the request, when to remind (each reminder is firmer than the last).",
    )
    response_due: timedelta = Field(default=timedelta(days=60), description="Due date after the request.")
    chase_reminder_every: timedelta = Field(
        default=timedelta(days=7), description="Past due: how often the supplier is reminded while the commodity manager chases."
    )
    grace_period: timedelta = Field(
        default=timedelta(days=30), description="Past the due date, how long before the case goes to the VP."
    )

    # Correction loop
    correction_window: timedelta = Field(default=timedelta(days=21), description="Time the supplier has per correction round.")
    correction_reminder_offsets: list[timedelta] = Field(
        default_factory=lambda: [timedelta(days=7), timedelta(days=14)],
        description="Inside a correction round, when to remind.",
    )
    max_correction_rounds: int = Field(default=3, ge=1)

    # Risk review
    product_level_window: timedelta = Field(
        default=timedelta(days=30), description="Time to send a product-level CMRT after high-risk smelters at company level."
    )
    high_risk_on_product_scope: Literal["corrective_action", "review"] = Field(
        default="corrective_action",
        description="A product-level or user-defined declaration that lists high-risk smelters: ask for a corrective "
                    "action plan (the seeds' rule: the supplier shows the smelter is not in our supply chain or "
                    "provides a plan), or hold the survey for the compliance team's risk review (accept the "
                    "submission to close it valid, reject it to ask for the plan).",
    )

    # Corrective action plan
    cap_plan_window: timedelta = Field(default=timedelta(days=30), description="Time to submit the plan's actions.")
    cap_reminder_before_target: timedelta = Field(default=timedelta(days=7))
    cap_reminder_after_target_every: timedelta = Field(default=timedelta(days=7))
    cap_overdue_escalation: timedelta = Field(
        default=timedelta(days=30), description="How long an action may be overdue before the plan escalates."
    )
    cap_review_every: timedelta = Field(default=timedelta(days=30), description="Cadence of the compliance team's plan review reminder.")

    # Escalation to the Supply Chain VP
    vp_reminder_every: timedelta = Field(default=timedelta(days=7))
    vp_max_reminders: int = Field(default=4, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> "CampaignPolicy":
        if sorted(self.reminder_offsets) != list(self.reminder_offsets):
            raise ValueError("reminder_offsets must be in increasing order")
        if self.reminder_offsets and self.reminder_offsets[-1] >= self.response_due:
            raise ValueError("every reminder must come before response_due")
        if sorted(self.correction_reminder_offsets) != list(self.correction_reminder_offsets):
            raise ValueError("correction_reminder_offsets must be in increasing order")
        if self.correction_reminder_offsets and self.correction_reminder_offsets[-1] >= self.correction_window:
            raise ValueError("every correction reminder must come before the correction_window ends")
        for name, value in self:
            if isinstance(value, timedelta) and value <= timedelta(0):
                raise ValueError(f"{name} must be positive")
        return self

    @classmethod
    def annual(cls) -> "CampaignPolicy":
        """The defaults for a real reporting year."""
        return cls()

    @classmethod
    def demo(cls) -> "CampaignPolicy":
        """The same lifecycle in minutes, so a newcomer sees every step in one sitting."""
        m = lambda n: timedelta(minutes=n)  # noqa: E731
        return cls(
            reminder_offsets=[m(1), m(2)],
            response_due=m(3),
            chase_reminder_every=m(1),
            grace_period=m(2),
            correction_window=m(3),
            correction_reminder_offsets=[m(1)],
            max_correction_rounds=2,
            product_level_window=m(3),
            cap_plan_window=m(3),
            cap_reminder_before_target=m(1),
            cap_reminder_after_target_every=m(1),
            cap_overdue_escalation=m(3),
            cap_review_every=m(3),
            vp_reminder_every=m(2),
            vp_max_reminders=3,
        )
