"""Scoring a supplier's conflict-minerals compliance: components, weights, grade and reasons.

Pure: no database, no clock. :func:`score` turns :class:`ScoreInputs` (gathered from the read model by
``outreach.scorecards``) into a :class:`ScoreResult`.

Components, each scored 0..100 (``None`` while it cannot be judged yet; it then carries no weight):

============================  ==========================================================  ======
component                     levels (default points)                                     weight
============================  ==========================================================  ======
responsiveness                on time 100 · late 60 · only after escalation 25 · never 0    25
data_quality                  valid first time 100 · each correction round -20 (floor 40)   20
                              · uncorrected 0
program_strength              25 per Yes to A (policy), D (due diligence), F (review),      15
                              G (corrective action management); all four = "strong"
sourcing                      share of the supplier's known smelters that are Conformant,   25
                              Active counting half: 100 * (conformant + 0.5 * active) / known
scope                         product-level 100 · user defined 80 · company-level 50         5
corrective_actions            none needed 100 · closed 90 · on track 70 · overdue 20 ·      10
                              refused 0
============================  ==========================================================  ======

The total is the weighted mean of the scored components. Grades: A >= 85, B >= 70, C >= 55,
D >= 40, else E. Every number above is configurable: pass a :class:`ScoringConfig`, or set (see outreach/settings.py)
``OUTREACH_SCORECARD_WEIGHTS='{"sourcing": 40}'`` (JSON; unnamed weights keep their default),
``OUTREACH_SCORECARD_GRADES='{"A": 90}'`` or ``OUTREACH_SCORECARD_POINTS='{"late": 50}'``.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field, field_validator

COMPONENTS: tuple[str, ...] = (
    "responsiveness", "data_quality", "program_strength", "sourcing", "scope", "corrective_actions",
)
LABELS: dict[str, str] = {
    "responsiveness": "Responsiveness",
    "data_quality": "Data quality",
    "program_strength": "Program strength",
    "sourcing": "Sourcing (Conformant smelters)",
    "scope": "Declaration scope",
    "corrective_actions": "Corrective actions",
}
# The company questions that make a program "strong" (the seeds' four criteria).
PROGRAM_QUESTIONS: dict[str, str] = {
    "A": "a conflict minerals sourcing policy",
    "D": "due diligence measures",
    "F": "a review of its suppliers' information",
    "G": "a corrective action process",
}

Responsiveness = Literal["on_time", "late", "after_escalation", "never"]
DataQuality = Literal["valid_first_time", "corrected", "awaiting_correction", "uncorrected"]
ScopeLevel = Literal["product", "user_defined", "company"]
CorrectiveActions = Literal["none_needed", "closed", "on_track", "overdue", "refused"]

DEFAULT_WEIGHTS: dict[str, float] = {
    "responsiveness": 25, "data_quality": 20, "program_strength": 15, "sourcing": 25, "scope": 5,
    "corrective_actions": 10,
}
DEFAULT_GRADES: dict[str, float] = {"A": 85, "B": 70, "C": 55, "D": 40}
DEFAULT_POINTS: dict[str, float] = {
    # responsiveness
    "on_time": 100, "late": 60, "after_escalation": 25, "never": 0,
    # data quality
    "valid_first_time": 100, "per_correction_round": 20, "corrected_floor": 40, "uncorrected": 0,
    # program strength: per Yes among A, D, F, G
    "per_program_answer": 25,
    # sourcing: how much an Active smelter counts next to a Conformant one
    "active_share": 0.5,
    # scope
    "product": 100, "user_defined": 80, "company": 50,
    # corrective actions
    "none_needed": 100, "closed": 90, "on_track": 70, "overdue": 20, "refused": 0,
}


class ScoringConfig(BaseModel):
    """Weights, grade bands and points; defaults above, overridable per key."""

    weights: dict[str, float] = Field(default_factory=dict)
    grades: dict[str, float] = Field(default_factory=dict)
    points: dict[str, float] = Field(default_factory=dict)

    @field_validator("weights")
    @classmethod
    def _known_weights(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown scorecard components {sorted(unknown)}; known: {list(COMPONENTS)}")
        if any(w < 0 for w in v.values()):
            raise ValueError("weights must not be negative")
        return v

    @field_validator("grades")
    @classmethod
    def _known_grades(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(DEFAULT_GRADES)
        if unknown:
            raise ValueError(f"unknown grades {sorted(unknown)}; known: {list(DEFAULT_GRADES)} (E is the rest)")
        return v

    @field_validator("points")
    @classmethod
    def _known_points(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(DEFAULT_POINTS)
        if unknown:
            raise ValueError(f"unknown point keys {sorted(unknown)}; known: {list(DEFAULT_POINTS)}")
        return v

    @classmethod
    def from_settings(cls, settings=None) -> "ScoringConfig":
        """The configured values (OUTREACH_SCORECARD_WEIGHTS, _GRADES, _POINTS)."""
        if settings is None:
            from outreach.settings import load_settings

            settings = load_settings()
        return cls(weights=settings.scorecard_weights, grades=settings.scorecard_grades,
                   points=settings.scorecard_points)

    def weight(self, component: str) -> float:
        return self.weights.get(component, DEFAULT_WEIGHTS[component])

    def point(self, key: str) -> float:
        return self.points.get(key, DEFAULT_POINTS[key])

    def grade_for(self, total: float | None) -> str | None:
        if total is None:
            return None
        bands = {**DEFAULT_GRADES, **self.grades}
        for grade in sorted(bands, key=lambda g: -bands[g]):
            if total >= bands[grade]:
                return grade
        return "E"


class ScoreInputs(BaseModel):
    """What the read model says about one supplier in one campaign year (None: not known yet)."""

    responsiveness: Optional[Responsiveness] = None
    days_late: Optional[int] = None
    data_quality: Optional[DataQuality] = None
    correction_rounds: int = 0
    # Answers to the company questions A..H of the declaration used, when there is one.
    company_answers: Optional[dict[str, Optional[str]]] = None
    # The supplier's smelters, unique by CID: counts by RMAP status, and rows that are no known smelter.
    metals_in_scope: Optional[list[str]] = None
    conformant: int = 0
    active: int = 0
    not_enrolled: int = 0  # any other status (Not Enrolled, Non-Conformant, ...)
    unknown_entities: int = 0
    high_risk: int = 0
    scope_level: Optional[ScopeLevel] = None
    corrective_actions: Optional[CorrectiveActions] = None
    actions_open: int = 0
    actions_overdue: int = 0
    actions_closed: int = 0
    outcome: Optional[str] = None
    decision: Optional[str] = None


class Component(BaseModel):
    score: Optional[float]
    weight: float
    status: Optional[str]
    label: str
    detail: dict = Field(default_factory=dict)


class Reason(BaseModel):
    component: str
    text: str
    points: float = 0.0  # weighted points this cost the total (0 for good news and notes)


class ScoreResult(BaseModel):
    components: dict[str, Component]
    total: Optional[float]
    grade: Optional[str]
    reasons: list[Reason]


def _responsiveness(i: ScoreInputs, cfg: ScoringConfig) -> tuple[Optional[float], Optional[str], str]:
    if i.responsiveness is None:
        return None, None, "No answer yet; the due date has not passed."
    texts = {
        "on_time": "Answered by the due date.",
        "late": f"Answered {i.days_late} day(s) after the due date." if i.days_late else "Answered after the due date.",
        "after_escalation": "Answered only after the escalation to the Supply Chain VP.",
        "never": "Never answered the survey.",
    }
    return cfg.point(i.responsiveness), i.responsiveness, texts[i.responsiveness]


def _data_quality(i: ScoreInputs, cfg: ScoringConfig) -> tuple[Optional[float], Optional[str], str]:
    if i.data_quality is None:
        return None, None, "No CMRT received yet."
    if i.data_quality == "valid_first_time":
        return cfg.point("valid_first_time"), i.data_quality, "The first CMRT was valid."
    if i.data_quality == "uncorrected":
        return cfg.point("uncorrected"), i.data_quality, "The CMRT was invalid and never corrected."
    rounds = max(i.correction_rounds, 1)
    value = max(cfg.point("valid_first_time") - cfg.point("per_correction_round") * rounds, cfg.point("corrected_floor"))
    if i.data_quality == "corrected":
        return value, i.data_quality, f"Valid after {rounds} correction round(s)."
    return value, i.data_quality, f"Invalid CMRT; correction round {rounds} requested."


def _program(i: ScoreInputs, cfg: ScoringConfig) -> tuple[Optional[float], Optional[str], str]:
    if i.company_answers is None:
        return None, None, "No declaration to judge the program by."
    missing = [q for q in PROGRAM_QUESTIONS if (i.company_answers.get(q) or "").strip().casefold() != "yes"]
    value = cfg.point("per_program_answer") * (len(PROGRAM_QUESTIONS) - len(missing))
    if not missing:
        return min(value, 100.0), "strong", "Strong program: policy, due diligence, review and corrective action process."
    lacks = ", ".join(f"{q} ({PROGRAM_QUESTIONS[q]})" for q in missing)
    return min(value, 100.0), "weak", f"Weak program: no Yes to {lacks}."


def _sourcing(i: ScoreInputs, cfg: ScoringConfig) -> tuple[Optional[float], Optional[str], str]:
    if i.metals_in_scope is None:
        return None, None, "No declaration listing smelters yet."
    known = i.conformant + i.active + i.not_enrolled
    if not i.metals_in_scope:
        return None, "no_3tg", "Declares no 3TG in scope."
    if known == 0:
        return 0.0, "no_known_smelters", "Lists no known smelter for the metals in scope."
    value = 100.0 * (i.conformant + cfg.point("active_share") * i.active) / known
    status = "all_conformant" if i.conformant == known else ("conformant_or_active" if i.not_enrolled == 0 else "mixed")
    text = f"{i.conformant} of {known} known smelters Conformant, {i.active} Active, {i.not_enrolled} neither"
    if i.high_risk:
        text += f"; {i.high_risk} high-risk"
    if i.unknown_entities:
        text += f"; {i.unknown_entities} listed entities are not known smelters"
    return round(value, 1), status, text + "."


def _scope(i: ScoreInputs, cfg: ScoringConfig) -> tuple[Optional[float], Optional[str], str]:
    if i.scope_level is None:
        return None, None, "No declaration yet."
    texts = {"product": "Product-level declaration.", "user_defined": "User-defined scope.",
             "company": "Company-level declaration: smelters may not be in our products."}
    return cfg.point(i.scope_level), i.scope_level, texts[i.scope_level]


def _corrective(i: ScoreInputs, cfg: ScoringConfig) -> tuple[Optional[float], Optional[str], str]:
    if i.corrective_actions is None:
        return None, None, "Not assessed yet."
    texts = {
        "none_needed": "No corrective action needed.",
        "closed": f"Corrective action plan closed ({i.actions_closed} action(s) verified).",
        "on_track": f"Corrective actions on track ({i.actions_open} open).",
        "overdue": f"{i.actions_overdue} corrective action(s) overdue.",
        "refused": "Refused or abandoned the corrective action plan.",
    }
    return cfg.point(i.corrective_actions), i.corrective_actions, texts[i.corrective_actions]


_SCORERS = {
    "responsiveness": _responsiveness,
    "data_quality": _data_quality,
    "program_strength": _program,
    "sourcing": _sourcing,
    "scope": _scope,
    "corrective_actions": _corrective,
}

# The inputs each component shows next to its score (what the supplier page and exports explain).
_DETAIL_FIELDS = {
    "responsiveness": ("days_late",),
    "data_quality": ("correction_rounds",),
    "program_strength": (),
    "sourcing": ("conformant", "active", "not_enrolled", "unknown_entities", "high_risk"),
    "scope": (),
    "corrective_actions": ("actions_open", "actions_overdue", "actions_closed"),
}

_OUTCOME_NOTES = {
    "suspended": "The Supply Chain VP suspended the supplier.",
    "disengaged": "The Supply Chain VP decided to disengage from the supplier.",
    "waived": "The Supply Chain VP accepted (waived) the open issue.",
    "withdrawn": "Withdrawn from the campaign's scope: not scored.",
}


def score(inputs: ScoreInputs, config: ScoringConfig | None = None) -> ScoreResult:
    cfg = config or ScoringConfig.from_settings()
    components: dict[str, Component] = {}
    reasons: list[Reason] = []
    withdrawn = inputs.outcome == "withdrawn"
    for name in COMPONENTS:
        value, status, text = _SCORERS[name](inputs, cfg)
        if withdrawn:
            value = None
        detail = {"text": text, **{f: getattr(inputs, f) for f in _DETAIL_FIELDS[name]}}
        if name == "program_strength" and inputs.company_answers is not None:
            detail["answers"] = {q: inputs.company_answers.get(q) for q in PROGRAM_QUESTIONS}
        components[name] = Component(score=value, weight=cfg.weight(name), status=status, label=LABELS[name], detail=detail)
    scored = {n: c for n, c in components.items() if c.score is not None and c.weight > 0}
    weight_sum = sum(c.weight for c in scored.values())
    total = round(sum(c.score * c.weight for c in scored.values()) / weight_sum, 1) if weight_sum else None
    for name, comp in components.items():
        lost = round((100.0 - comp.score) * comp.weight / weight_sum, 1) if name in scored else 0.0
        reasons.append(Reason(component=name, text=comp.detail["text"], points=lost))
    reasons.sort(key=lambda r: (-r.points, COMPONENTS.index(r.component)))
    note = _OUTCOME_NOTES.get(inputs.outcome or "") or (
        f"Supply Chain VP decision: {inputs.decision}." if inputs.decision else None
    )
    if note:
        reasons.insert(0, Reason(component="decision", text=note))
    return ScoreResult(components=components, total=total, grade=cfg.grade_for(total), reasons=reasons)


def trend(current: float | None, previous: float | None) -> dict:
    """Year-over-year movement of a total: up / down / same, new (no previous year), none (no score now)."""
    if current is None:
        return {"direction": "none", "delta": None, "previous": previous}
    if previous is None:
        return {"direction": "new", "delta": None, "previous": None}
    delta = round(current - previous, 1)
    direction = "same" if abs(delta) < 0.05 else ("up" if delta > 0 else "down")
    return {"direction": direction, "delta": delta, "previous": previous}
