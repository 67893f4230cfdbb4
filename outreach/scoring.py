"""Scoring a supplier's conflict-minerals compliance: components, weights, grade and reasons.

Pure: no database, no clock. :func:`score` turns :class:`ScoreInputs` (built from plain read-model records
by ``models.facts.scorecard.score_inputs``) into a :class:`ScoreResult`.

Components, each scored 0..100:

============================  ==========================================================  ======
component                     levels (default points)                                     weight
============================  ==========================================================  ======
responsiveness                on time 100 · late 60 · only after escalation 25 ·           25
                              never (or no answer past the due date) 0
data_quality                  valid first time 100 · each correction round -20 (floor 40)   20
                              · no valid declaration (none received, unreadable, invalid,
                              uncorrected, awaiting a person's review) 0
program_strength              25 per Yes to A (policy), D (due diligence), F (review),      15
                              G (corrective action management); all four = "strong"
sourcing                      share of the supplier's known smelters that are Conformant,   25
                              Active counting half: 100 * (conformant + 0.5 * active) / known;
                              no valid declaration 0
scope                         product-level 100 · user defined 80 · company-level 50         5
corrective_actions            none needed 100 · closed 90 · on track 70 · overdue 20 ·      10
                              refused 0
============================  ==========================================================  ======

A grade judges what is known: missing or unusable data is judged, not skipped. A component is left
unscored (``score`` None) only while it may still become known (``pending``: nothing received and the due
date not passed, a plan not assessed yet) or when it does not apply (no 3TG in scope, no corrective
action possible without a valid declaration). Once the due date has passed or the survey is closed, a
missing answer, declaration or program counts 0. A card with a pending component, or of a survey that is
still open, is **provisional** and says so.

The total is the weighted mean of the scored components, then held under a ceiling when the facts forbid
a better grade (each ceiling is a reason on the card; the uncapped mean is kept as ``weighted_mean``):

* no valid declaration: at most C;
* corrective actions overdue or refused: at most C;
* high-risk smelters in the declaration that counts and no closed corrective action plan: at most B;
* suspended or disengaged by the Supply Chain VP: E.

The grade is always the configured band of the total: A >= 85, B >= 70, C >= 55, D >= 40, else E. Every
number above is configurable: pass a :class:`ScoringConfig`, or set (see outreach/settings.py)
``OUTREACH_SCORECARD_WEIGHTS='{"sourcing": 40}'`` (JSON; unnamed weights keep their default),
``OUTREACH_SCORECARD_GRADES='{"A": 90}'`` (bands must fall strictly from A to D, above 0) or
``OUTREACH_SCORECARD_POINTS='{"late": 50}'``.
"""

from __future__ import annotations

import math
from datetime import datetime
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
DataQuality = Literal["valid_first_time", "corrected", "awaiting_correction", "uncorrected", "unreadable",
                      "awaiting_review"]
# The data-quality levels that mean "a valid declaration is on record".
VALID_QUALITY: tuple[str, ...] = ("valid_first_time", "corrected")
ScopeLevel = Literal["product", "user_defined", "company"]
CorrectiveActions = Literal["none_needed", "closed", "on_track", "overdue", "refused"]
GRADE_ORDER: tuple[str, ...] = ("A", "B", "C", "D", "E")

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
        bands = {**DEFAULT_GRADES, **v}
        values = [bands[g] for g in GRADE_ORDER[:-1]]
        if any(not 0 < x <= 100 for x in values) or any(a <= b for a, b in zip(values, values[1:])):
            raise ValueError(f"grade bands must fall strictly from A to D, each above 0 and at most 100: {bands}")
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

    def band(self, grade: str) -> float:
        return self.grades.get(grade, DEFAULT_GRADES[grade])

    def grade_for(self, total: float | None) -> str | None:
        if total is None:
            return None
        for grade in GRADE_ORDER[:-1]:  # bands fall strictly from A to D (validated)
            if total >= self.band(grade):
                return grade
        return "E"

    def highest_total_at(self, ceiling: str) -> float:
        """The highest total (one decimal) whose grade is no better than ``ceiling``."""
        better = GRADE_ORDER[:GRADE_ORDER.index(ceiling)]
        if not better:
            return 100.0
        limit = self.band(better[-1])
        value = max(math.ceil(round(limit * 10, 6)) / 10 - 0.1, 0.0)
        while value > 0 and GRADE_ORDER.index(self.grade_for(value)) < GRADE_ORDER.index(ceiling):
            value = max(round(value - 0.1, 1), 0.0)
        return round(value, 1)


class ScoreInputs(BaseModel):
    """What the read model says about one supplier in one campaign year (None: not known yet).

    Built from plain records by ``models.facts.scorecard.score_inputs``; every field is a fact of the
    survey as of ``as_of``.
    """

    as_of: Optional[datetime] = None
    due_at: Optional[datetime] = None
    final: bool = False  # the survey is closed: nothing more will arrive
    escalated_at: Optional[datetime] = None  # the first escalation to the Supply Chain VP
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
    actions_open: int = 0  # actions neither verified nor refused
    actions_overdue: int = 0
    actions_closed: int = 0
    plans_awaiting: int = 0  # plans requested whose actions the supplier has not sent yet
    outcome: Optional[str] = None
    decision: Optional[str] = None

    @property
    def past_due(self) -> bool:
        return self.as_of is not None and self.due_at is not None and self.as_of > self.due_at

    @property
    def answer_expected(self) -> bool:
        """An answer should be on record by now: the due date has passed, or the survey is closed."""
        return self.final or self.past_due

    @property
    def valid_declaration(self) -> bool:
        return self.data_quality in VALID_QUALITY


class Component(BaseModel):
    score: Optional[float]
    weight: float
    status: Optional[str]
    label: str
    detail: dict = Field(default_factory=dict)
    # Not judgeable yet (it may still become known): the card is provisional.
    pending: bool = False


class Reason(BaseModel):
    component: str
    text: str
    points: float = 0.0  # weighted points this cost the total (0 for good news and notes)


class ScoreResult(BaseModel):
    components: dict[str, Component]
    total: Optional[float]
    grade: Optional[str]
    reasons: list[Reason]
    provisional: bool = False
    provisional_because: list[str] = Field(default_factory=list)
    weighted_mean: Optional[float] = None  # before a ceiling
    ceiling: Optional[str] = None  # the grade the facts allow at most, when it lowered the total


_Scored = tuple[Optional[float], Optional[str], str, bool]  # score, status, text, pending


def _day(at: Optional[datetime]) -> str:
    return at.strftime("%d %B %Y") if at else ""


def _no_answer(i: ScoreInputs) -> str:
    """What the record says of a supplier who has not answered: never contradicts the dates."""
    if i.past_due:
        days = max((i.as_of - i.due_at).days, 1)
        text = f"No answer, {days} day(s) after the due date ({_day(i.due_at)})"
        if i.escalated_at is not None:
            text += f"; escalated to the Supply Chain VP on {_day(i.escalated_at)}"
        return text + "."
    if i.final:
        return "Never answered the survey."
    if i.due_at is not None and i.as_of is not None:
        return f"No answer yet; due {_day(i.due_at)}, not passed yet."
    return "No answer yet."


def _responsiveness(i: ScoreInputs, cfg: ScoringConfig) -> _Scored:
    if i.responsiveness is None or i.responsiveness == "never":
        if i.responsiveness == "never" or i.answer_expected:
            text = "Never answered the survey." if i.final else _no_answer(i)
            status = "never" if i.final else "no_answer"
            return cfg.point("never"), status, text, False
        return None, None, _no_answer(i), True
    texts = {
        "on_time": "Answered by the due date.",
        "late": f"Answered {i.days_late} day(s) after the due date." if i.days_late else "Answered after the due date.",
        "after_escalation": "Answered only after the escalation to the Supply Chain VP.",
    }
    return cfg.point(i.responsiveness), i.responsiveness, texts[i.responsiveness], False


def _data_quality(i: ScoreInputs, cfg: ScoringConfig) -> _Scored:
    q = i.data_quality
    if q is None:
        if i.answer_expected:
            return 0.0, "not_received", "No CMRT received." if i.final else "No CMRT received yet.", False
        return None, None, "No CMRT received yet.", True
    if q == "valid_first_time":
        return cfg.point("valid_first_time"), q, "The first CMRT was valid.", False
    rounds = max(i.correction_rounds, 1)
    if q == "corrected":
        value = max(cfg.point("valid_first_time") - cfg.point("per_correction_round") * rounds, cfg.point("corrected_floor"))
        return value, q, f"Valid after {rounds} correction round(s).", False
    failing = cfg.point("uncorrected")
    if q == "uncorrected":
        return failing, q, "No valid declaration: the CMRT was invalid and never corrected.", False
    if q == "unreadable":
        return failing, q, "No valid declaration: no file received could be read as a CMRT.", False
    if q == "awaiting_review":
        return failing, q, ("No valid declaration yet: the declaration names another company; it counts only "
                            "once a person accepts it by hand."), True
    return failing, q, f"No valid declaration yet: the CMRT is invalid; correction round {rounds} requested.", False


def _program(i: ScoreInputs, cfg: ScoringConfig) -> _Scored:
    if i.company_answers is None:
        if i.answer_expected:
            return 0.0, "not_shown", "No declaration shows a program.", False
        return None, None, "No declaration to judge the program by yet.", True
    missing = [q for q in PROGRAM_QUESTIONS if (i.company_answers.get(q) or "").strip().casefold() != "yes"]
    value = cfg.point("per_program_answer") * (len(PROGRAM_QUESTIONS) - len(missing))
    if not missing:
        return min(value, 100.0), "strong", "Strong program: policy, due diligence, review and corrective action process.", False
    lacks = ", ".join(f"{q} ({PROGRAM_QUESTIONS[q]})" for q in missing)
    return min(value, 100.0), "weak", f"Weak program: no Yes to {lacks}.", False


def _sourcing(i: ScoreInputs, cfg: ScoringConfig) -> _Scored:
    if not i.valid_declaration:
        if i.data_quality is None and not i.answer_expected:
            return None, None, "No declaration listing smelters yet.", True
        return 0.0, "no_valid_declaration", "No valid declaration: no smelter list to rely on.", False
    if i.metals_in_scope is None:
        return 0.0, "no_smelter_list", "The declaration lists no metals in scope and no smelters.", False
    known = i.conformant + i.active + i.not_enrolled
    if not i.metals_in_scope:
        return None, "no_3tg", "Declares no 3TG in scope: not applicable.", False
    if known == 0:
        return 0.0, "no_known_smelters", "Lists no known smelter for the metals in scope.", False
    value = 100.0 * (i.conformant + cfg.point("active_share") * i.active) / known
    status = "all_conformant" if i.conformant == known else ("conformant_or_active" if i.not_enrolled == 0 else "mixed")
    text = f"{i.conformant} of {known} known smelters Conformant, {i.active} Active, {i.not_enrolled} neither"
    if i.high_risk:
        text += f"; {i.high_risk} high-risk"
    if i.unknown_entities:
        text += f"; {i.unknown_entities} listed entities are not known smelters"
    return round(value, 1), status, text + ".", False


def _scope(i: ScoreInputs, cfg: ScoringConfig) -> _Scored:
    if i.scope_level is None:
        if i.answer_expected:
            return 0.0, "not_stated", "No declaration states its scope.", False
        return None, None, "No declaration yet.", True
    texts = {"product": "Product-level declaration.", "user_defined": "User-defined scope.",
             "company": "Company-level declaration: smelters may not be in our products."}
    return cfg.point(i.scope_level), i.scope_level, texts[i.scope_level], False


def _corrective(i: ScoreInputs, cfg: ScoringConfig) -> _Scored:
    ca = i.corrective_actions
    if ca is None:
        if i.final:
            return None, "not_applicable", "No corrective action assessed: no valid declaration.", False
        return None, None, "Not assessed yet.", True
    if ca == "on_track":
        parts = []
        if i.actions_open:
            parts.append(f"{i.actions_open} action(s) open, none overdue")
        if i.plans_awaiting:
            parts.append("the supplier's actions are not in yet")
        text = ("Corrective action plan open: " + "; ".join(parts) + ".") if parts else \
            "Every corrective action verified; the plan is closing."
        return cfg.point(ca), ca, text, False
    if ca == "overdue":
        if i.actions_overdue:
            text = f"Corrective action plan overdue: {i.actions_overdue} action(s) past their target date."
        elif i.plans_awaiting:
            text = "Corrective action plan overdue: the supplier's actions did not arrive in time."
        else:
            text = "Corrective action plan overdue."
        return cfg.point(ca), ca, text, False
    texts = {
        "none_needed": "No corrective action needed.",
        "closed": f"Corrective action plan closed ({i.actions_closed} action(s) verified)." if i.actions_closed
        else "Corrective action plan closed.",
        "refused": "Refused or abandoned the corrective action plan.",
    }
    return cfg.point(ca), ca, texts[ca], False


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
    "corrective_actions": ("actions_open", "actions_overdue", "actions_closed", "plans_awaiting"),
}

_DECISION_WORDS = {
    "suspend": "suspend the supplier", "disengage": "disengage from the supplier",
    "corrective_action": "require corrective action", "waive": "accept and waive",
}

_OUTCOME_NOTES = {
    "suspended": "The Supply Chain VP suspended the supplier.",
    "disengaged": "The Supply Chain VP decided to disengage from the supplier.",
    "waived": "The Supply Chain VP accepted (waived) the open issue.",
    "withdrawn": "Withdrawn from the campaign's scope: not scored.",
}


def ceilings(i: ScoreInputs) -> list[tuple[str, str]]:
    """The best grade the facts allow, with why: (grade, sentence), strictest last."""
    out: list[tuple[str, str]] = []
    if i.high_risk and i.valid_declaration and i.corrective_actions != "closed":
        out.append(("B", f"{i.high_risk} high-risk smelter(s) and no closed corrective action plan: "
                         "the grade cannot be above B."))
    if i.corrective_actions in ("overdue", "refused"):
        out.append(("C", "Corrective actions overdue or refused: the grade cannot be above C."))
    if not i.valid_declaration:
        out.append(("C", "No valid declaration: the grade cannot be above C."))
    if i.outcome in ("suspended", "disengaged"):
        out.append(("E", f"{'Suspended' if i.outcome == 'suspended' else 'Disengaged'} by the Supply Chain VP: "
                         "graded E."))
    return sorted(out, key=lambda c: GRADE_ORDER.index(c[0]))


def score(inputs: ScoreInputs, config: ScoringConfig | None = None) -> ScoreResult:
    cfg = config or ScoringConfig.from_settings()
    components: dict[str, Component] = {}
    reasons: list[Reason] = []
    withdrawn = inputs.outcome == "withdrawn"
    for name in COMPONENTS:
        value, status, text, pending = _SCORERS[name](inputs, cfg)
        if withdrawn:
            value, pending = None, False
        detail = {"text": text, **{f: getattr(inputs, f) for f in _DETAIL_FIELDS[name]}}
        if name == "program_strength" and inputs.company_answers is not None:
            detail["answers"] = {q: inputs.company_answers.get(q) for q in PROGRAM_QUESTIONS}
        components[name] = Component(score=value, weight=cfg.weight(name), status=status, label=LABELS[name],
                                     detail=detail, pending=pending)
    scored = {n: c for n, c in components.items() if c.score is not None and c.weight > 0}
    weight_sum = sum(c.weight for c in scored.values())
    mean = round(sum(c.score * c.weight for c in scored.values()) / weight_sum, 1) if weight_sum else None
    total, ceiling = mean, None
    for name, comp in components.items():
        lost = round((100.0 - comp.score) * comp.weight / weight_sum, 1) if name in scored else 0.0
        reasons.append(Reason(component=name, text=comp.detail["text"], points=lost))
    reasons.sort(key=lambda r: (-r.points, COMPONENTS.index(r.component)))
    if mean is not None and not withdrawn:
        limits = ceilings(inputs)
        if limits:
            grade, why = limits[-1]
            cap = cfg.highest_total_at(grade)
            if mean > cap:
                total, ceiling = cap, grade
                reasons.insert(0, Reason(component="ceiling", text=why, points=round(mean - cap, 1)))
    note = _OUTCOME_NOTES.get(inputs.outcome or "") or (
        f"Supply Chain VP decision: {_DECISION_WORDS.get(inputs.decision, inputs.decision)}." if inputs.decision else None
    )
    if note:
        reasons.insert(0, Reason(component="decision", text=note))
    because: list[str] = []
    if not withdrawn:
        if not inputs.final:
            because.append("the survey is still open")
        because += [f"{c.label.lower()}: {c.detail['text'].rstrip('.')}" for c in components.values() if c.pending]
    return ScoreResult(components=components, total=total, grade=cfg.grade_for(total), reasons=reasons,
                       provisional=bool(because), provisional_because=because, weighted_mean=mean, ceiling=ceiling)


def trend(current: float | None, previous: float | None) -> dict:
    """Year-over-year movement of a total: up / down / same, new (no previous year), none (no score now)."""
    if current is None:
        return {"direction": "none", "delta": None, "previous": previous}
    if previous is None:
        return {"direction": "new", "delta": None, "previous": None}
    delta = round(current - previous, 1)
    direction = "same" if abs(delta) < 0.05 else ("up" if delta > 0 else "down")
    return {"direction": direction, "delta": delta, "previous": previous}
