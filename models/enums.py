"""The words of the lifecycle: where a survey stands, how it ended, what the VP decided."""

from __future__ import annotations

from enum import StrEnum


class SurveyState(StrEnum):
    """Where one supplier's survey stands (DESIGN.md, the lifecycle)."""

    requested = "requested"  # request about to be (or just) sent
    awaiting_response = "awaiting_response"  # reminders on the policy's cadence
    chasing = "chasing"  # past due: the commodity manager chases the supplier directly
    validating = "validating"  # a submission is being checked
    correction_requested = "correction_requested"  # invalid: the supplier must correct and resubmit
    risk_review = "risk_review"  # valid: smelters and program strength reviewed
    product_level_requested = "product_level_requested"  # high risk at company level
    corrective_action = "corrective_action"  # a corrective action plan is open
    escalated = "escalated"  # waiting for the Supply Chain VP's decision
    closed = "closed"  # ended with an outcome


class SurveyOutcome(StrEnum):
    valid = "valid"
    valid_with_cap = "valid_with_cap"
    invalid_uncorrected = "invalid_uncorrected"
    non_responsive = "non_responsive"
    # A valid declaration, but the corrective action plan its risk required was not completed (overdue or
    # refused) and the VP let the escalation lapse: the supplier answered, so it is not non-responsive.
    cap_not_completed = "cap_not_completed"
    suspended = "suspended"
    disengaged = "disengaged"
    waived = "waived"
    withdrawn = "withdrawn"


class Decision(StrEnum):
    """What the Supply Chain VP can decide on an escalation."""

    suspend = "suspend"
    disengage = "disengage"
    corrective_action = "corrective_action"
    waive = "waive"


class CampaignState(StrEnum):
    draft = "draft"
    running = "running"
    paused = "paused"
    cancelled = "cancelled"
    closed = "closed"


class CorrectiveActionStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    reported_done = "reported_done"  # the supplier says it is done
    verified = "verified"  # the compliance team checked it
    refused = "refused"


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    bounced = "bounced"  # permanent SMTP failure (5xx)
