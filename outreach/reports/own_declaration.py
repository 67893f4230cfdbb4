"""The company's own CMRT for its customers: a campaign's roll-up written into the official blank.

The edge around :mod:`models.facts.own_declaration` (the rules) and :mod:`cmrt.writer` (the workbook):
gathers each surveyed supplier's declaration that counts (the same choice the campaign report makes),
its smelters matched to the reference list, the company's own answers (settings, or an answers file),
writes the file and records an audit entry. The CLI and the report page call :func:`produce`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine

from cmrt.writer import SmelterEntry, TemplateRefused, fill_official_template
from models.facts import own_declaration as own
from models.facts.figures import supplier_standing
from models.facts.survey import effective_verdict
from models.tables import Campaign, Survey
from outreach.reports.figures import ReportInputError, counted_declarations
from outreach.reports.smelters import current_reference, supplier_smelters

ACTION = "report.own_declaration"
SETTING = "OUTREACH_OWN_DECLARATION"


class OwnDeclarationRefused(ValueError):
    """The company's declaration cannot be produced as asked; the message says what to set or give."""


@dataclass
class Produced:
    data: bytes
    roll_up: own.OwnDeclaration
    version: str


def campaign_suppliers(engine: Engine, campaign_id: str) -> list[own.SupplierDeclaration]:
    """One entry per supplier surveyed in the campaign (its latest survey; withdrawn ones left out), with
    the answers and smelters of its declaration that counts when that one is valid."""
    from outreach.db import session_scope

    reference = current_reference(engine)
    with session_scope(engine) as session:
        if session.get(Campaign, campaign_id) is None:
            raise ReportInputError(f"no campaign {campaign_id!r} in the database")
        latest: dict[str, Any] = {}
        for sv in sorted(session.execute(sa_select(Survey.id, Survey.supplier_id, Survey.outcome, Survey.created_at)
                                         .where(Survey.campaign_id == campaign_id)).all(),
                         key=lambda s: (s.created_at, s.id)):
            latest[sv.supplier_id] = sv
        counted = counted_declarations(session, sa_select(Survey.id).where(Survey.campaign_id == campaign_id),
                                       keep=lambda result: result)
    out = []
    for supplier_id, sv in sorted(latest.items()):
        if sv.outcome == "withdrawn":
            continue
        sub = counted.get(sv.id)
        valid = sub is not None and effective_verdict(sub) == "valid" and isinstance(sub.result, dict)
        standing = supplier_standing([effective_verdict(sub)] if sub is not None else [], final=sv.outcome is not None)
        if not valid or standing != "valid":
            out.append(own.SupplierDeclaration(supplier_id, responded=False))
            continue
        result = sub.result
        answers = {q: {m: (a or {}).get("answer") for m, a in per_metal.items()}
                   for q, per_metal in (result.get("questions") or {}).items()}
        found = supplier_smelters(result, reference)
        facilities = [own.Facility(s.metal, s.standard_name, s.country, s.cid) for s in found.known.values()]
        facilities += [own.Facility(e.metal, e.name, e.country) for e in found.unknown.values() if e.metal]
        out.append(own.SupplierDeclaration(supplier_id, True, answers, tuple(facilities)))
    return out


def company_answers(settings_value: Mapping[str, Any] | None, answers_file: Path | None,
                    default_name: str | None) -> dict[str, Any]:
    """The company's own fields and questions A-H: the setting (a JSON object), then the answers file."""
    merged: dict[str, Any] = {"name": default_name, "scope": "company"}
    merged.update(settings_value or {})
    if answers_file is not None:
        try:
            loaded = json.loads(answers_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise OwnDeclarationRefused(f"the answers file {answers_file} cannot be read as JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise OwnDeclarationRefused(f"the answers file {answers_file} must hold one JSON object")
        merged.update(loaded)
    return merged


def _effective_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise OwnDeclarationRefused(f"'effective_date' must be a date such as 2026-05-01 (got {value!r})") from None


def produce(engine: Engine, campaign_id: str, blank: bytes, company: Mapping[str, Any], *, by: str) -> Produced:
    """The filled official template for the campaign, its audit entry written once the file exists."""
    from cmrt.writer import template_version
    from outreach import audit

    try:
        version = template_version(blank)
    except TemplateRefused as exc:
        raise OwnDeclarationRefused(str(exc)) from None
    rolled = own.roll_up(campaign_suppliers(engine, campaign_id))
    problems = own.company_problems(company, needs_questions=bool(rolled.metals_in_scope))
    if problems:
        raise OwnDeclarationRefused(
            "the company's own answers are incomplete; set them in " + SETTING + " (a JSON object) or an "
            "answers file (--answers):\n  " + "\n  ".join(problems))
    fields = {k: company.get(k) for k in own.COMPANY_FIELDS if k not in ("scope", "effective_date")}
    fields["scope"] = own.SCOPES[str(company.get("scope") or "company")]
    fields["effective_date"] = _effective_date(company.get("effective_date"))
    letters = {letter: (company.get(letter), company.get(f"{letter}_comment")) for letter in own.COMPANY_LETTERS}
    if not rolled.metals_in_scope:
        letters = {}  # the template asks A-H only when a metal is in scope
    entries = [SmelterEntry(f.metal, f.name, f.country, f.cid) for f in rolled.facilities]
    try:
        data = fill_official_template(blank, company=fields, answers=rolled.answers, company_answers=letters,
                                      facilities=entries)
    except TemplateRefused as exc:
        raise OwnDeclarationRefused(str(exc)) from None
    audit.record_now(engine, actor=by, action=ACTION, object_type="campaign", object_id=campaign_id,
                     campaign_id=campaign_id,
                     after={"template": f"CMRT {version}", "surveyed": rolled.surveyed, "responded": rolled.responded,
                            "metals_in_scope": rolled.metals_in_scope, "smelters": len(rolled.facilities),
                            "names_without_country": len(rolled.without_country)})
    return Produced(data, rolled, version)
