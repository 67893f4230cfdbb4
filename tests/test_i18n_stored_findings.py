"""Stored findings keep the values their sentence was written with (finding.params, the workflow's payload,
the emails' context), so a supplier reads them in its own language on the portal and in the correction email;
rows stored before (no params) keep the English sentence the check wrote."""

from __future__ import annotations

import httpx
import pytest
from markupsafe import escape
from sqlmodel import select

import cmrt
from cmrt.builder import invalid_cmrt
from cmrt.messages import finding_text
from models.enums import SurveyState
from models.survey import Contact, SubmitCmrt, Withdraw
from models.tables import Finding, Submission
from outreach.db import session_scope
from outreach.links import LinkSigner
from tests.survey_harness import SUPPLIER, rig, running  # noqa: F401 (fixtures)
from tests.survey_scenarios import SHORT
from tests.web_support import make_web

BAD = invalid_cmrt(problem="missing_contact_email")


def _errors_in(language: str) -> list[tuple[str, str]]:
    """(English, translated) for each error of the file, from cmrt's own catalogue (the real one)."""
    result = cmrt.check(BAD, filename="cmrt.xlsx", campaign_year=2025)
    out = [(f.message, finding_text(f, language)) for f in result.findings if f.severity == "error"]
    assert out and all(english != said for english, said in out)  # the file's errors have translations
    return out


@pytest.mark.parametrize("language", ["ja", "de"])
async def test_a_supplier_reads_its_stored_findings_in_its_language_in_the_email_and_on_the_portal(rig, language):
    from workflows.survey import SupplierSurveyWorkflow

    errors = _errors_in(language)
    async with running(rig):
        h = await rig.start(SHORT, contact=Contact(name="Ken Sato", email=SUPPLIER, language=language))
        await rig.skip(hours=2)
        await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(BAD)))
        await rig.skip(hours=1)
        status = await h.query(SupplierSurveyWorkflow.status)
        assert status.state == SurveyState.correction_requested
        # the workflow's payload carries what the sentence was written from
        assert all(f.params is not None for f in status.last_findings if f.code != "more_findings"), status.last_findings
        mail = [m for m in rig.smtp.to(SUPPLIER) if m.template == "correction_request"][-1]
        own, _, english_copy = mail.text.partition("\nEnglish\n")
        for english, said in errors:
            assert said in own, (said, own)
            assert english not in own and english in english_copy
        survey_id = rig.started[-1]

        # every finding row keeps its parameters, as cmrt gave them
        with session_scope(rig.engine) as s:
            rows = s.exec(select(Finding).join(Submission, Submission.id == Finding.submission_id)
                          .where(Submission.survey_id == survey_id)).all()
            assert rows and all(r.params is not None for r in rows)
            by_code = {r.code: r.params for r in rows}
        for f in cmrt.check(BAD, filename="cmrt.xlsx", campaign_year=2025).findings:
            assert by_code.get(f.code) == f.params

        # the portal says them in the supplier's language; a row stored before params were kept, in English
        web = make_web(rig.settings, rig.engine)
        try:
            url = LinkSigner.from_settings(rig.settings).portal_url(survey_id).removeprefix("http://portal.test")
            page = (await web.client.get(url)).text
            assert f'<html lang="{language}">' in page
            for english, said in errors:
                assert str(escape(said)) in page and str(escape(english)) not in page
            with session_scope(rig.engine) as s:
                for r in s.exec(select(Finding).where(Finding.id.in_([r.id for r in rows]))).all():
                    r.params = None
                    s.add(r)
            page = (await web.client.get(url)).text
            for english, said in errors:
                assert str(escape(english)) in page and str(escape(said)) not in page
        finally:
            await web.client.aclose()
        await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana"))
        await h.result()
