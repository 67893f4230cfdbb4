"""The demo's script: which demo supplier answers what, and when (after the campaign starts)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel

AnswerKind = Literal["valid", "invalid", "corrected", "high_risk", "high_risk_product_level", "weak_program"]


class DemoStep(BaseModel):
    after: timedelta
    supplier_id: str
    answer: AnswerKind
    note: str  # what a person should notice


class DemoScript(BaseModel):
    campaign_id: str
    steps: list[DemoStep]


class DemoAnswer(BaseModel):
    campaign_id: str
    step: DemoStep
