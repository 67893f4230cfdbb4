"""Which language a supplier reads, from what the database knows (outreach.i18n.supplier_locale decides).

Its choice on the portal (``Supplier.portal_language``), else the contact's language from the import, else the
language its last CMRT was filled in (the template's selector, kept in the submission's check result).
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.tables import Submission, Supplier, Survey
from outreach import audit, i18n
from outreach.db import session_scope


def last_cmrt_language(session: Session, supplier_id: str) -> Optional[str]:
    """The language selector of the supplier's most recent workbook that has one (any campaign)."""
    rows = session.exec(select(Submission.result).join(Survey, Survey.id == Submission.survey_id)
                        .where(Survey.supplier_id == supplier_id)
                        .order_by(Submission.received_at.desc()).limit(5))
    for result in rows:
        language = ((result or {}).get("template") or {}).get("language")
        if i18n.normalise(language):
            return language
    return None


def supplier_language_facts(session: Session, supplier_id: str) -> dict[str, Optional[str]]:
    """What the choice reads: ``portal_language`` and ``last_cmrt_language`` (an email's context adds them)."""
    sup = session.get(Supplier, supplier_id)
    return {"portal_language": sup.portal_language if sup else None,
            "last_cmrt_language": last_cmrt_language(session, supplier_id)}


def supplier_locale(engine: Engine, supplier_id: str, contact_language: Optional[str]) -> str:
    with Session(engine) as session:
        facts = supplier_language_facts(session, supplier_id)
    return i18n.supplier_locale(chosen=facts["portal_language"], contact=contact_language,
                                last_cmrt=facts["last_cmrt_language"])


def remember_choice(engine: Engine, supplier_id: str, language: str, *, by: Optional[str]) -> Optional[str]:
    """Keeps the language a supplier chose on its portal (audited); None when it is not one we have."""
    code = i18n.normalise(language)
    if code is None:
        return None
    with session_scope(engine) as session:
        sup = session.get(Supplier, supplier_id)
        if sup is None:
            return None
        if sup.portal_language != code:
            audit.record(session, actor=by, action="supplier.language_chosen", object_type="supplier",
                         object_id=supplier_id, before={"portal_language": sup.portal_language},
                         after={"portal_language": code})
            sup.portal_language = code
            session.add(sup)
    return code
