"""Rendering the figures: the dashboard fragment and the draft "Due Diligence Results" section.

Both use the product's one Jinja2 environment (outreach.emails.template_environment) and the
templates under templates/reports/.
"""

from __future__ import annotations

from typing import Any

from outreach.emails import template_environment
from outreach.wording import humanise

# The shares every face of the report shows (the page, the CLI, the workbook), in this order, in groups whose
# counts add up: where the surveyed suppliers stand, then what the responses received were.
SURVEYED_PARTS: tuple[tuple[str, str], ...] = (
    ("Valid CMRT", "valid"),
    ("Invalid, never corrected", "invalid_uncorrected"),
    ("Still correcting an invalid CMRT", "awaiting_correction"),
    ("No CMRT submitted", "not_submitted"),
)
SHARES: tuple[tuple[str, str], ...] = (
    ("Submitted a CMRT", "submitted"),
    *SURVEYED_PARTS,
    ("Corrected an invalid CMRT", "corrected"),
    ("Q6: fewer than 100% of their suppliers answered", "q6_below_100"),
    ("Company-level declaration", "company_level"),
    ("Could not be read", "unreadable"),
    ("Weak program (not Yes to A, D, F and G)", "weak_program"),
)
DENOMINATORS = {"surveyed": "suppliers surveyed", "responses": "responses received", "smelters": "smelters and refiners"}


def scope_parts(figures: dict[str, Any]) -> list[tuple[str, int]]:
    """(label, count) of the responses by scope: they add up to ``figures["responses"]``."""
    return [(humanise(scope), n) for scope, n in (figures.get("scopes") or {}).items()]


# The parts of the corrective action plan count, in order; open and closed are always said. An overdue plan
# is escalated to the Supply Chain VP (workflows/corrective_action.py).
PLAN_PARTS: tuple[tuple[str, str], ...] = (
    ("open", "plans_open"),
    ("closed", "plans_closed"),
    ("overdue and escalated to the VP", "plans_overdue"),
    ("refused", "plans_refused"),
    ("in another state", "plans_other"),
)


def plan_parts(caps: dict[str, Any] | None) -> list[tuple[str, int]]:
    """(label, count) for every part of the plan count that is said: they add up to ``caps["plans"]``."""
    if not caps:
        return []
    return [(label, caps.get(key, 0)) for label, key in PLAN_PARTS
            if caps.get(key, 0) or key in ("plans_open", "plans_closed")]


def plan_parts_text(caps: dict[str, Any] | None) -> str:
    """"0 open, 0 closed, 2 overdue and escalated to the VP"."""
    return ", ".join(f"{n} {label}" for label, n in plan_parts(caps))


def report_title(figures: dict[str, Any]) -> str:
    src = figures["source"]
    if src.get("kind") == "campaign":
        return src.get("name") or f"campaign {src.get('year')}"
    return f"{src.get('files', 0)} CMRT file(s) from {src.get('path')}"


def rcoi_page_context(figures: dict[str, Any]) -> dict[str, Any]:
    """What templates/reports/rcoi.html.j2 needs (the web app may add its own keys)."""
    return {"f": figures, "title": report_title(figures), "shares": [(label, figures[key]) for label, key in SHARES],
            "denominators": DENOMINATORS, "scope_parts": scope_parts(figures),
            "plan_parts": plan_parts_text(figures.get("corrective_actions"))}


def render_rcoi_html(figures: dict[str, Any]) -> str:
    return template_environment().get_template("reports/rcoi.html.j2").render(**rcoi_page_context(figures))


def render_due_diligence_draft(figures: dict[str, Any], *, company: str, year: int | str | None = None,
                               as_of: str | None = None) -> str:
    """The report's "Due Diligence Results" paragraphs (Markdown) with the figures filled in."""
    year = year or figures["source"].get("year") or "reporting"
    emrt = figures["source"].get("template") == "EMRT"  # an EMRT campaign: per mineral, no 3TG wording
    name = "reports/due_diligence_results_emrt.md.j2" if emrt else "reports/due_diligence_results.md.j2"
    return template_environment().get_template(name).render(
        figures=figures, company=company, year=year, as_of=as_of,
        plan_parts=plan_parts_text(figures.get("corrective_actions")),
    )
