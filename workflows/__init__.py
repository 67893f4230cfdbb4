"""Deterministic orchestration only. Every workflow the worker runs is listed in ALL_WORKFLOWS."""

from workflows.campaign import CampaignWorkflow, YearlyCampaignWorkflow
from workflows.corrective_action import CorrectiveActionWorkflow
from workflows.demo import DemoScriptWorkflow
from workflows.escalation import EscalationWorkflow
from workflows.mail_check import MailCheckWorkflow
from workflows.survey import SupplierSurveyWorkflow

ALL_WORKFLOWS: list[type] = [CampaignWorkflow, YearlyCampaignWorkflow, DemoScriptWorkflow, MailCheckWorkflow,
                             SupplierSurveyWorkflow, CorrectiveActionWorkflow, EscalationWorkflow]
