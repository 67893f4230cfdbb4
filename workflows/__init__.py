"""Deterministic orchestration only. Every workflow the worker runs is listed in ALL_WORKFLOWS."""

from workflows.campaign import CampaignWorkflow
from workflows.mail_check import MailCheckWorkflow

ALL_WORKFLOWS: list[type] = [CampaignWorkflow, MailCheckWorkflow]
