"""THE catalogue of finding codes: code -> (severity, message template for the supplier's contact person).

One place, plain data: the English templates here are the msgids of the `findings` gettext domain
(cmrt/locale/, the finding code is each entry's msgctxt), so `finding_text(finding, locale)` gives the
same finding in any of the CMRT's ten languages. A new entry needs its translations in every catalogue
(tests/test_cmrt_i18n.py fails until they are there). Templates use `str.format` placeholders;
`finding()` fills them and never fails on a missing parameter.
Severity: `error` makes the declaration invalid, `warning` needs a reviewer's look, `info` is a note.

What may be an error (the severity audit; the reasons are beside the entries):
- the file cannot be read or is not the CMRT (wrong kind, a version before 6.0, a template sheet missing):
  there is no declaration to judge;
- a required field of the template's own Checker is missing (`cmrt.rules.checker`: the Checker
  formulas are the definition, so "toru,nishio@..." passes them: it has an "@");
- a real contradiction: two statements of the same declaration that cannot both be true, so the
  Conflict Minerals Report cannot rely on either (smelters listed for a metal declared not used, "all
  smelters identified" beside none or unidentified ones, 100% recycled beside mined feedstock, a public
  policy that does not exist, a smelter ID of another metal, an answer that is none of the template's);
- a declaration dated before the reporting year the survey asks about (only when a campaign year is given).
Everything else the RMI Checker does not enforce is a warning for a reviewer, or a note.
"""

from __future__ import annotations

from typing import Any

from cmrt.types import Finding, Severity

CATALOGUE: dict[str, tuple[Severity, str]] = {
    # -- the file itself -----------------------------------------------------------------------
    "file_empty": ("error", "The file is empty. Please send your filled CMRT workbook (.xlsx) again."),
    "file_too_large": ("error", "The file is {size_mb} MB, larger than the {limit_mb} MB we accept. A CMRT is normally "
                       "under 3 MB: please remove pictures or extra sheets and send the workbook again."),
    "not_a_spreadsheet": ("error", "This file is not an Excel workbook (its content looks like {detected}). Please send "
                          "your CMRT as an .xlsx file saved from Excel."),
    "corrupt_workbook": ("error", "The workbook is damaged and cannot be opened ({detail}). Please save it again "
                         "from Excel as .xlsx and resend it."),
    "zip_bomb": ("error", "The workbook expands to far more data than a CMRT can hold ({detail}), so we did not "
                 "open it. Please send the original CMRT file saved from Excel."),
    "sheet_too_large": ("error", "A sheet of the workbook reaches cell {extent}, a grid of {cells} cells, far beyond "
                        "any CMRT, so we did not open it. Please copy your answers into an unmodified CMRT template "
                        "and send that file."),
    "too_many_rows": ("error", "The '{template_sheet}' sheet has more than {limit} filled rows, far more than any CMRT; "
                      "we read only the first {limit}. Please list each smelter or product once and send the file again."),
    "encrypted_workbook": ("error", "The workbook is protected with a password, so we cannot read it. Please remove "
                           "the password (File > Info > Protect Workbook > Encrypt with Password, clear it) and send it again."),
    "encrypted_default_password": ("info", "The workbook was encrypted with Excel's default password; we opened it with that."),
    "xls_format": ("warning", "The file is in the old Excel 97-2003 format (.xls). We read it, but please send an "
                   ".xlsx workbook next time, as the current CMRT template is."),
    # -- which template --------------------------------------------------------------------
    "wrong_template_kind": ("error", "This is an {kind} (template for {what}), not a Conflict Minerals Reporting "
                            "Template (CMRT). Please send the CMRT (version {current}) for tin, tantalum, tungsten and gold."),
    # a survey that asks for the EMRT (extended minerals) got another workbook
    "not_emrt": ("error", "This workbook is {what_it_is}, not the Extended Minerals Reporting Template (EMRT) "
                 "this request asks for. Please send the EMRT (version {current}) for the minerals we asked about."),
    # an EMRT version without a cell map of its own: read with the nearest layout, which may have moved
    "emrt_old_version": ("warning", "This EMRT is version {version}; the current template is {current}. Please use "
                         "version {current} next time."),
    "emrt_version_unmapped": ("warning", "This EMRT is version {version}, which we read with the layout of version "
                              "{used}. Please use the current EMRT template (version {current}) next time."),
    # before 6.0 the Declaration's questions sit elsewhere (no CAHRA question, other company questions):
    # one verdict, no cell-by-cell findings at 6.x addresses
    "template_outdated": ("error", "This CMRT is version {version}, which is no longer accepted. We did not check its "
                          "answers. Please copy your answers into the current CMRT template (version {current}) from "
                          "the RMI website and send that."),
    # an older 6.x has the same input cells as the current one: judged in full, so whether it is accepted
    # follows from its other findings, not from the version
    "template_old_6x": ("warning", "This CMRT is version {version}; the current template is {current}. Please use "
                        "version {current} next time."),
    # a newer minor version moves few cells: read with the newest map of its major version, and said so
    "template_version_unmapped": ("info", "This {kind} is version {version}, newer than the versions we know: we read "
                                  "it with the layout of version {used}. If an answer below looks misplaced, please "
                                  "tell us."),
    # a newer major version may move every cell: refused rather than read wrongly
    "template_version_unsupported": ("error", "This {kind} is version {version}, a major version we cannot read yet, "
                                     "so we did not check its answers. Please send your answers in the {kind} "
                                     "template version {current}."),
    "template_version_unknown": ("warning", "We could not find the template version in Declaration cell J3. Please use "
                                 "the unmodified RMI CMRT template (version {current})."),
    "sheet_missing": ("error", "The workbook has no '{template_sheet}' sheet. Please do not rename or delete the template's sheets: "
                      "copy your answers into an unmodified CMRT template (version {current})."),
    "sheet_renamed": ("warning", "The sheet '{found}' seems to be the template's '{template_sheet}' sheet under another name. "
                      "Please keep the template's sheet names."),
    # -- the template's own Checker (completeness) --------------------------------------------
    "missing_company_name": ("error", "Company name is required: enter your legal company name in Declaration cell {cell}."),
    "missing_scope": ("error", "Declaration scope is required: choose A. Company, B. Product or C. User defined in "
                      "Declaration cell {cell}."),
    "missing_scope_description": ("error", "You chose a user-defined scope, so describe it in Declaration cell {cell} "
                                  "(Description of scope)."),
    "missing_contact_name": ("error", "Contact name is required: enter the person we can ask about this declaration "
                             "in Declaration cell {cell}."),
    "missing_contact_email": ("error", "Contact email is required: enter a valid email address (name@company.com) "
                              "in Declaration cell {cell}."),
    "missing_contact_phone": ("error", "Contact phone is required: enter a phone number in Declaration cell {cell}."),
    "missing_authorizer": ("error", "Authorizer is required: enter the name of the person who authorizes this "
                           "declaration in Declaration cell {cell}."),
    "missing_authorizer_email": ("error", "Authorizer email is required: enter a valid email address "
                                 "(name@company.com) in Declaration cell {cell}."),
    "missing_effective_date": ("error", "Effective date is required: enter the date of this declaration in "
                               "Declaration cell {cell} (for example 15-Jan-2025)."),
    "missing_answer": ("error", "Question {question} for {metal} is not answered: select an answer in Declaration "
                       "cell {cell}."),
    "missing_answer_blocked": ("error", "Question {question} for {metal} counts as unanswered because question {blocker} "
                               "for {metal} is not answered Yes or No: answer question {blocker} first, then "
                               "question {question} in Declaration cell {cell}."),
    "missing_company_answer": ("error", "Company question {letter} is not answered: select an answer in Declaration "
                               "cell {cell}."),
    "missing_policy_url": ("error", "You answered Yes to company question B (policy publicly available): enter the "
                           "link to your policy in Declaration cell {cell}."),
    "missing_products": ("error", "Your declaration scope is B. Product: list the product numbers it covers on the "
                         "Product List sheet, starting in cell {cell}."),
    "missing_minerals": ("error", "Select at least one mineral in scope in Declaration cells {cell} to {last_cell}."),
    "missing_emrt_smelters": ("error", "{metal} is in scope (questions 1 and 2 are answered neither No nor Unknown), "
                              "but the Smelter List has no {metal} smelter or processor. Add at least one row with "
                              "Metal = {metal} and a Smelter Look-up value."),
    "missing_smelters": ("error", "{metal} is in scope (Q1 and Q2 are not No), but the Smelter List has no {metal} "
                         "smelter. Add at least one row with Metal = {metal} and a Smelter Look-up value."),
    "unlisted_smelter_incomplete": ("error", "Smelter List row(s) {rows}: 'Smelter not listed' is selected, so enter "
                                    "the smelter's name (column D) and country (column E)."),
    # CMRT 6.6: the Checker asks a 'Smelter not listed' row for its name only; the country still helps
    "unlisted_smelter_unnamed": ("error", "Smelter List row(s) {rows}: 'Smelter not listed' is selected, so enter "
                                 "the smelter's name (column D)."),
    "unlisted_smelter_country_missing": ("warning", "Smelter List row(s) {rows}: 'Smelter not listed' is selected "
                                         "without the smelter's country (column E). Please add it: it tells smelters "
                                         "of the same name apart."),
    "value_spacing": ("warning", "Declaration cell {cell} holds '{value}' with extra spaces or tabs around it, so "
                      "the template's Checker does not recognise the answer. Select it again from the list."),
    "smelter_value_spacing": ("warning", "Smelter List column {column}, row(s) {rows}: the value has extra spaces or "
                              "tabs around it, so the template does not recognise it. Select it again from the list."),
    # -- contradictions the Checker misses ------------------------------------------------------
    # error: Q1/Q2 say the metal is not used or does not remain, the Smelter List says it comes from
    # smelters; the scope of the report depends on which is true
    "smelters_out_of_scope": ("error", "The Smelter List has {count} {metal} row(s) (first: row {row}), but Q1 or Q2 "
                              "says {metal} is not used or does not remain in your products. Either correct Q1/Q2 "
                              "or remove those rows."),
    # error (both Q7 rules): "all smelters identified" beside a list that identifies none, or holds
    # 'Smelter not yet identified' rows, cannot both be true
    "q7_yes_without_smelters": ("error", "Question 7 for {metal} says all smelters were identified, but the Smelter "
                                "List has no identified {metal} smelter. List them, or answer Q7 No."),
    "q7_yes_not_identified": ("error", "Question 7 for {metal} says all smelters were identified, but row(s) {rows} "
                              "say 'Smelter not yet identified'. Identify them, or answer Q7 No."),
    # warning: unlikely, not impossible (the suppliers that did not respond may use the same smelters)
    "q7_yes_partial_response": ("warning", "Question 7 for {metal} says all smelters were identified, but question 6 "
                                "says only '{q6}' of your suppliers responded. Please check: answer Q7 No unless the "
                                "suppliers who did not respond use only smelters you already list, or Q6 100% if all "
                                "did respond."),
    # warning: a "No" the rest of the declaration does not support, but does not contradict either
    "q3_no_unsupported": ("warning", "Question 3 for {metal} says no smelter sources from the covered countries, but "
                          "{reason}. Please answer Q3 Unknown unless you have evidence for every smelter."),
    # warning: the DRC is a conflict-affected area, but not every adjoining country is on the CAHRA lists
    "q3_yes_q4_no": ("warning", "For {metal}, question 3 says a smelter sources from the DRC or an adjoining country, "
                     "but question 4 says none sources from conflict-affected and high-risk areas. Sources in the "
                     "DRC and several adjoining countries are such areas: please check question 4 (cell {cell})."),
    # error: "100% recycled or scrap" beside the declaration's own rows with mined feedstock
    "q5_yes_not_recycled": ("error", "Question 5 for {metal} says 100% comes from recycled or scrap sources, but "
                            "Smelter List row(s) {rows} show non-recycled feedstock or mines. Correct Q5 or those rows."),
    "q6_low_response": ("warning", "Question 6 for {metal}: only '{q6}' of your relevant suppliers responded. "
                        "Please keep collecting their responses and send an update."),
    "q8_no": ("warning", "Question 8 for {metal} says not all smelter information you received is reported. "
              "Please add every smelter your suppliers reported to the Smelter List."),
    # error: a policy cannot be public and not exist
    "policy_public_without_policy": ("error", "Company question A says you have no policy, but question B says it "
                                     "is publicly available. Correct A or B."),
    # warning: the Checker only needs the comment (G77) to be given; a policy named instead of linked
    "policy_url_invalid": ("warning", "Company question B says your policy is publicly available: Declaration cell "
                           "{cell} should give the link to it (https://...), but it says '{value}'. Please add the "
                           "link."),
    # warning: the Checker does not require the description
    "other_format_without_comment": ("warning", "Company question E: you survey suppliers using another format; describe "
                                     "it in Declaration cell {cell}."),
    # warning: the Checker's test is an "@"; an address that passes it but is mistyped needs a look
    "email_malformed": ("warning", "The {field} '{value}' in Declaration cell {cell} does not look like a valid email "
                        "address. Please check it (name@company.com)."),
    # warnings (both): the Checker counts any text in a required field as given; optional fields (the
    # authorizer's title and phone) are not looked at, "N/A" is a fair answer there
    "contact_placeholder": ("warning", "Declaration cell {cell} says '{value}'. Please enter the {field} itself, "
                            "not a reference to another field."),
    "contact_not_given": ("warning", "Declaration cell {cell} says '{value}', but the {field} is a required field. "
                          "Please enter it."),
    # warnings (invalid, out of range, future): the Checker only needs D22 given; a reviewer reads the date
    "effective_date_invalid": ("warning", "The effective date in Declaration cell {cell} ('{value}') is not a date. "
                               "Enter it as a date, for example 15-Jan-2025."),
    "effective_date_out_of_range": ("warning", "The effective date in Declaration cell {cell} ({value}) is not after "
                                    "31-Dec-2006, as the template requires. Enter the date the declaration was completed."),
    "effective_date_future": ("warning", "The effective date in Declaration cell {cell} ({value}) is in the future. "
                              "Please check it: it should be the date the declaration was completed."),
    # error: a declaration covering an earlier year does not answer the survey (only with a campaign year)
    "effective_date_stale": ("error", "The effective date in Declaration cell {cell} ({value}) is before {year}. "
                             "This survey asks for your declaration covering {year}: please update it and resend."),
    # error: a required answer that is none of the template's is no answer (Q2-Q8 and the company questions
    # follow from Q1/Q2 being exactly Yes or No); answers the Checker does not need are not judged
    "answer_not_allowed": ("error", "Declaration cell {cell} says '{value}', which is not one of the template's "
                           "answers ({allowed}). Please select an answer from the list."),
    # warning, never an error: a group's other company, a trade name or a renamed company is no mistake
    "company_name_mismatch": ("warning", "The company name in Declaration cell {cell} is '{found}', but this "
                              "declaration was requested from {expected}. If this is another company's CMRT (one of "
                              "your suppliers', for example), please send your own; if it is your company under "
                              "another name, nothing needs to change."),
    # -- smelter rows ------------------------------------------------------------------------
    # warnings (metal invalid or missing, malformed CID): the row does not count as a smelter; if that leaves
    # an in-scope metal without one, missing_smelters (the Checker's) says so
    "smelter_metal_invalid": ("warning", "Smelter List row {row}: the metal '{value}' is not one of Tantalum, Tin, Gold "
                              "or Tungsten. Select the metal in cell {cell}."),
    "smelter_metal_missing": ("warning", "Smelter List row {row} has smelter details but no metal. Select the metal "
                              "in cell {cell}."),
    "smelter_lookup_missing": ("warning", "Smelter List row {row} has a metal but no Smelter Look-up value. Select "
                               "the smelter in cell {cell} (or 'Smelter not listed' and type its name)."),
    "smelter_duplicate": ("info", "Smelter List rows {rows} list the same {metal} smelter ({cid}); we count it once."),
    "smelter_not_identified": ("info", "Smelter List row {row}: the {metal} smelter is not yet identified."),
    "smelter_recycled_mine_conflict": ("warning", "Smelter List row {row}: column P says the feedstock is 100% "
                                       "recycled or scrap, but a mine is named in column N. Please check the row."),
    "cid_malformed": ("warning", "Smelter List row {row}: '{value}' is not a smelter ID. A smelter ID looks like "
                      "CID000123: correct cell {cell} or leave it blank and pick the smelter from the Look-up list."),
    "cid_unknown": ("warning", "Smelter List row {row}: the smelter ID {value} is not on our reference list. Please "
                    "check it against the RMI's current list."),
    # error: the row's smelter ID and metal name two different smelters
    "cid_other_metal": ("error", "Smelter List row {row}: the smelter ID {value} belongs to a {other_metal} smelter, "
                        "but the row says {metal}. Correct the metal or the ID."),
    "smelter_needs_review": ("warning", "Smelter List row {row}: '{value}' resembles '{standard_name}' ({score}% alike). "
                             "Please select it from the Smelter Look-up list if it is the same smelter."),
    "smelter_not_in_reference": ("warning", "Smelter List row {row}: we could not find the {metal} smelter '{value}' on "
                                 "the smelter reference list. Please give its smelter ID (CID) if it has one."),
    "smelter_high_risk": ("warning", "Smelter List row {row}: {standard_name} ({country}) is a high-risk source "
                          "({reasons}). We may ask you for a product-level declaration or a "
                          "corrective action plan for it."),
    "smelter_listed_elsewhere": ("info", "Smelter List row {row}: '{value}' is on the smelter list as {standard_name} "
                                 "({cid}). Please select it in the Smelter Look-up column instead of 'Smelter not listed'."),
    "smelter_not_conformant": ("info", "Smelter List row {row}: {standard_name} is {status_text}; we encourage "
                               "sourcing from RMAP conformant smelters."),
    "smelter_status_unknown": ("info", "Smelter List row {row}: {standard_name} ({cid}) has no RMAP status on our "
                               "reference list, so its RMAP status is unknown to us. Nothing to correct in your file; "
                               "we will look it up on the RMI's current list."),
    "reader_failed": ("error", "We could not read this workbook safely ({detail}). "
                      "Please copy your answers into an unmodified CMRT template, save it from Excel as .xlsx and "
                      "send that file."),
    "internal_error": ("error", "We could not finish checking this workbook ({detail}). Please send it again; if it "
                       "keeps failing, contact us."),
}


# English words the checks put into a template's parameters (what a file looks like, which field, which
# template). Each is translated as its own msgid under the msgctxt "param:<name>"; any other value (a
# cell's content, a smelter's name, an answer of the template, a metal of the Metal column) is shown as
# written, because that is what the supplier sees in the workbook.
PARAM_TERMS: dict[str, tuple[str, ...]] = {
    "detected": (
        "a PDF document", "a JPEG image", "a PNG image", "a GIF image", "a TIFF image", "a RAR archive",
        "a 7-Zip archive", "a gzip archive", "an RTF document", "a web page (HTML)",
        "an XML file (perhaps 'XML Spreadsheet 2003')", "a text or CSV file", "a text file",
        "an unknown binary format", "a Word document", "a PowerPoint presentation",
        "an OpenDocument file (save it as .xlsx)", "a zip archive", "a Word or PowerPoint document",
    ),
    "what": (
        "tin, tantalum, tungsten and gold", "cobalt, mica and other extended minerals", "cobalt",
        "additional minerals", "pyrite", "other raw materials", "conflict minerals", "other minerals",
    ),
    "field": ("contact email", "authorizer email", "contact name", "contact phone", "authorizer's name"),
    "status_text": ("unknown to us",),
    "country": ("unknown country",),
}

# Parameters said in sentences of their own: a finding that fills {x} from these also gets the
# parameter x_phrases (their keys, comma-separated) and their own parameters, so {x} can be said again
# in any language (several are listed with the language's "and"). q3_no_unsupported's reasons,
# not_emrt's description of the workbook received, reader_failed's reason.
PHRASES: dict[str, str] = {
    "q6_partial": "question 6 says only '{q6}' of your suppliers responded",
    "q7_no": "question 7 says not all smelters were identified",
    "other_template": "a {kind} (template for {what})",
    "no_template": "not a template we recognise",
    "reader_memory": "reading it needed more than {memory_mb} MB of memory, far more than any CMRT needs",
    "reader_timeout": "reading it took longer than {seconds} seconds, far longer than any CMRT needs",
    "reader_slow": "reading it took too long, far longer than any CMRT needs",
    "reader_stopped": "the spreadsheet reader stopped on it",
    # smelter_high_risk's reasons (cmrt.risk.supplier_reasons); country names and RMAP statuses stay as written
    "risk_override": "our compliance team's own assessment",
    "risk_reported_by": "reported by {source}",
    "risk_located_covered": "Geographic proximity to the Covered Countries: located in {country}, a Covered Country",
    "risk_declared_covered": "Geographic proximity to the Covered Countries: the supplier gives its country as "
                             "{country}, a Covered Country",
    "risk_origin_covered": "Known mineral source country of origin: the supplier declares minerals from {countries}, "
                           "a Covered Country",
    "risk_rmap_status": "RMAP audit status: {rmap_status}",
    "risk_rmap_status_text": "RMAP status: {status_text}",
}


def phrase(key: str, **params: Any) -> str:
    """The English text of a PHRASES entry (the checks build their parameters from these)."""
    return PHRASES[key].format_map(_Lenient(params))


class _Lenient(dict):  # type: ignore[type-arg]
    """Format map that leaves unknown placeholders visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def message(code: str, **params: Any) -> str:
    severity_template = CATALOGUE.get(code)
    template = severity_template[1] if severity_template else code
    try:
        return template.format_map(_Lenient({k: "" if v is None else v for k, v in params.items()}))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template


def finding(code: str, *, sheet: str | None = None, cell: str | None = None, severity: Severity | None = None,
            **params: Any) -> Finding:
    """A Finding from the catalogue. Unknown codes become errors with the code as message."""
    default_severity = CATALOGUE[code][0] if code in CATALOGUE else "error"
    # every value the message used, None as the "" it showed, so render() gives back the same text
    text_params = {k: "" if v is None else str(v) for k, v in params.items()}
    return Finding(
        code=code,
        severity=severity or default_severity,
        sheet=sheet,
        cell=cell,
        message=message(code, cell=cell, **params),
        params=text_params,
    )


def render(code: str, params: dict[str, str], locale: str | None = None) -> str:
    """A finding's text in a locale ("de", "pt-BR", "zh-TW", a CMRT language name, ...); English, exactly
    as `finding()` wrote it, for English or a locale we have no catalogue for."""
    from cmrt import i18n  # Babel is loaded only when a translation is asked for

    return i18n.render(code, params, locale)


def finding_text(f: Finding, locale: str | None = None) -> str:
    """The supplier-facing text of a Finding in a locale (see render)."""
    return render(f.code, {**f.params, "cell": f.cell or ""}, locale)


def in_language(findings: list[Finding], locale: str | None) -> list[Finding]:
    """The same findings with their message in a locale (a copy; English returns them as they are)."""
    return [f.model_copy(update={"message": finding_text(f, locale)}) for f in findings]
