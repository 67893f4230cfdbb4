"""Deterministic orchestration only. Every workflow the worker runs is listed in ALL_WORKFLOWS.

The list is built on first use, not at import: the sandbox imports this package afresh for every
workflow instance it creates, and importing every workflow module each time cost ≈65 ms per
instance (measured with bench/bench_campaign.py), the worker's biggest cost in a campaign.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name != "ALL_WORKFLOWS":
        raise AttributeError(f"module 'workflows' has no attribute {name!r}")
    from workflows.bounce_watch import BounceWatchWorkflow
    from workflows.campaign import CampaignWorkflow, YearlyCampaignWorkflow
    from workflows.corrective_action import CorrectiveActionWorkflow
    from workflows.demo import DemoScriptWorkflow
    from workflows.escalation import EscalationWorkflow
    from workflows.mail_check import MailCheckWorkflow
    from workflows.survey import SupplierSurveyWorkflow

    return [CampaignWorkflow, YearlyCampaignWorkflow, DemoScriptWorkflow, MailCheckWorkflow,
            SupplierSurveyWorkflow, CorrectiveActionWorkflow, EscalationWorkflow, BounceWatchWorkflow]
