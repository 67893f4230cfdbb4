"""Suppliers read us in their language: the catalogues are complete and faithful, every template's words are in
them, every email renders in every language with the English below, and the language is chosen the same way
wherever it is chosen (outreach.i18n)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from hypothesis import given, settings, strategies as st

from outreach import i18n
from outreach.emails import SUPPLIER_TEMPLATES, email_templates, render_email
from outreach.settings import PROJECT_ROOT
from tests.test_survey_emails import CASES

CATALOGUES = sorted(p.parent.parent.name for p in i18n.LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|<[^>]+>")


def test_every_supported_language_has_a_catalogue():
    assert sorted(set(i18n.SUPPORTED) - {"en"}) == CATALOGUES


def _pot():
    with (i18n.LOCALE_DIR / "messages.pot").open("rb") as fh:
        return read_po(fh)


@pytest.mark.parametrize("code", CATALOGUES)
def test_catalogue_is_complete_and_keeps_every_placeholder(code):
    """No untranslated, fuzzy or stale entry; every %(name)s and every HTML tag of the English is kept."""
    with i18n.catalogue_path(code).open("rb") as fh:
        catalog = read_po(fh, locale=code.replace("zh_Hant", "zh_Hant_TW"))
    expected = {m.id for m in _pot() if m.id}
    have = {m.id for m in catalog if m.id}
    assert expected - have == set(), f"{code}: not in the catalogue (run `make messages`)"
    assert have - expected == set(), f"{code}: entries no template uses any more"
    problems = []
    for m in catalog:
        if not m.id:
            continue
        if m.fuzzy:
            problems.append(("fuzzy", m.id))
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strs = m.string if isinstance(m.string, tuple) else (m.string,)
        if not all(s and s.strip() for s in strs):
            problems.append(("untranslated", m.id))
            continue
        for n, s in enumerate(strs):
            # A plural form may say its number with either English form's placeholders.
            allowed = [sorted(PLACEHOLDER.findall(i)) for i in ids]
            if sorted(PLACEHOLDER.findall(s)) not in allowed:
                problems.append(("placeholder", m.id, s))
    assert problems == []


def test_the_catalogue_holds_every_string_the_code_marks():
    """The .pot is what `make messages` extracts today: a new marked string fails here until it is added and
    translated."""
    method_map, options = [], {}
    cfg = (PROJECT_ROOT / "babel.cfg").read_text()
    from babel.messages.frontend import parse_mapping_cfg
    import io

    method_map, options = parse_mapping_cfg(io.StringIO(cfg))
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "i18n.N_": None, "supplier_text": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(PROJECT_ROOT), method_map, options, keywords=keywords):
        found.add(message)
    expected = {m.id for m in _pot() if m.id}
    assert found == expected, (sorted(map(str, found - expected))[:5], sorted(map(str, expected - found))[:5])


# The templates a supplier reads, and the partials they include.
SUPPLIER_FILES = sorted(
    [p for t in SUPPLIER_TEMPLATES for p in (PROJECT_ROOT / "templates" / "email" / t).iterdir()]
    + [PROJECT_ROOT / "templates" / "email" / n for n in ("_layout.html", "_footer.txt", "_greeting.txt",
                                                          "_greeting.html", "_program.txt", "_correction.txt",
                                                          "_correction.html", "_correction_info.txt")]
    + [PROJECT_ROOT / "templates" / "email" / "decision_notice" / n for n in ("subject.txt", "body.txt", "body.html")]
    + [PROJECT_ROOT / "templates" / "web" / n for n in ("portal.html", "message.html", "public.html")])
# A trans block, or a block that only names a CSS class ({% block main_class %}narrow{% endblock %}).
_TRANS = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}|{%\s*block \w+_class\s*%}\w*{%\s*endblock\s*%}", re.S)
_TAGS = re.compile(r"{#.*?#}|{{.*?}}|{%.*?%}", re.S)
_HTML = re.compile(r"<[^>]*>|&\w+;|https?://\S+")


def words_outside_the_catalogue(source: str) -> list[str]:
    """Words a template would print as they are: not inside {% trans %}, not an expression, not markup."""
    text = _HTML.sub(" ", _TAGS.sub(" ", _TRANS.sub(" ", source)))
    return re.findall(r"[^\W\d_]{2,}", text)


@pytest.mark.parametrize("path", SUPPLIER_FILES, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_supplier_templates_have_no_string_outside_the_catalogue(path):
    assert words_outside_the_catalogue(path.read_text()) == []


def test_the_template_check_sees_a_plain_sentence():
    assert words_outside_the_catalogue('<p class="x">{{ _("Hi") }} Dear {{ name }},</p>') == ["Dear"]
    assert words_outside_the_catalogue("{% trans %}Dear {{ name }}{% endtrans %} <a href='https://x.test'>") == []


# --- every email in every language ------------------------------------------------------------------

SUPPLIER_CASES = {name: ctx for name, (ctx, _said) in CASES.items()
                  if name.removesuffix("_declared") in SUPPLIER_TEMPLATES}
SUPPLIER_CASES["decision_notice_supplier"] = dict(CASES["decision_notice"][0], audience="supplier",
                                                  contact_name="Jane Doe")
RULE = "\n" + "—" * 24 + "\nEnglish\n" + "—" * 24 + "\n\n"


def test_every_supplier_email_is_covered():
    assert {n.removesuffix("_declared").removesuffix("_supplier") for n in SUPPLIER_CASES} == \
        set(SUPPLIER_TEMPLATES) | {"decision_notice"}
    assert set(SUPPLIER_TEMPLATES) <= set(email_templates())


@pytest.mark.parametrize("code", CATALOGUES)
@pytest.mark.parametrize("case", sorted(SUPPLIER_CASES))
def test_supplier_email_in_its_language_with_the_english_below(case, code):
    template = case.removesuffix("_declared").removesuffix("_supplier")
    context = dict(SUPPLIER_CASES[case], language=code.replace("_", "-"))
    english = render_email(template, dict(context, language="en"))
    mail = render_email(template, context)
    own, _, copy = mail.text.partition(RULE)
    assert copy == english.text  # the English text below, whole
    assert own.strip() and own.strip() != english.text.strip()
    assert mail.subject != english.subject and "\n" not in mail.subject
    assert mail.html and english.html
    assert f'<html lang="{code.replace("_", "-")}">' in mail.html
    assert mail.html.count('<div lang="en">') == 1
    # What the supplier must not miss is in its own part too: the link, the names, the action.
    for fact in (context.get("portal_url"), "Acme &lt;Components&gt;", "Example Manufacturing Inc.", "Drop the refinery"):
        if fact and fact.replace("&lt;", "<").replace("&gt;", ">") in english.text:
            assert fact.replace("&lt;", "<").replace("&gt;", ">") in own
        if fact and fact in english.html:
            assert fact in mail.html.partition('<div lang="en">')[0]
    assert "%(" not in mail.text + mail.subject + mail.html


@pytest.mark.parametrize("code", CATALOGUES)
def test_dates_in_emails_read_as_the_locale_writes_them(code):
    mail = render_email("request", dict(SUPPLIER_CASES["request"], language=code))
    own = mail.text.partition(RULE)[0]
    assert i18n.format_day(date(2026, 3, 1), code) in own and i18n.format_day(date(2026, 3, 1), code) in mail.subject
    assert "01 March 2026" in mail.text.partition(RULE)[2]  # the English copy as the workflow wrote it


def test_english_emails_are_as_before_and_carry_no_copy():
    mail = render_email("request", dict(SUPPLIER_CASES["request"], language="en-US"))
    assert RULE not in mail.text and mail.subject.endswith("by 01 March 2026")


def test_internal_emails_stay_in_the_company_language():
    context, _ = CASES["escalation_to_vp"]
    for language in ("ja", "de"):
        mail = render_email("escalation_to_vp", dict(context, language=language))
        assert mail == render_email("escalation_to_vp", dict(context, language="en"))
    chase = render_email("due_date_chase", dict(CASES["due_date_chase"][0], language="ja"))
    assert chase.text.startswith("Dear Carl") and RULE not in chase.text
    # A company that works in German reads its own mail in German.
    lapsed = dict(CASES["decision_notice"][0], decision=None, decision_reason=None, audience="compliance")
    assert "Supply Chain VP" in render_email("decision_notice", lapsed, company_language="de").text
    assert "Eskalation" in render_email("decision_notice", lapsed, company_language="de").text


def test_counts_follow_the_language_plural_rules():
    one = dict(SUPPLIER_CASES["correction_request"], language="de", findings=[SUPPLIER_CASES["correction_request"]
                                                                              ["findings"][0]])
    assert "1 Fehler zu korrigieren" in render_email("correction_request", one).subject
    assert "2 Fehler zu korrigieren" in render_email("correction_request", dict(one, findings=SUPPLIER_CASES[
        "correction_request"]["findings"])).subject
    fr = render_email("correction_request", dict(one, language="fr")).subject
    assert "1 erreur à corriger" in fr


# --- choosing the language --------------------------------------------------------------------------

NORMALISED = {
    "EN": "en", "en": "en", "en-US": "en", "en_GB": "en", "de-DE": "de", "DE": "de", "de_at": "de", "ja-JP": "ja",
    "ko": "ko", "ko-KR": "ko", "fr-CA": "fr", "es-MX": "es", "it": "it", "tr-TR": "tr", "pt-BR": "pt",
    "pt_PT": "pt", "zh": "zh", "zh-CN": "zh", "zh_cn": "zh", "zh-SG": "zh", "zh-Hans": "zh", "zh-Hans-CN": "zh",
    "zh-TW": "zh_Hant", "zh-HK": "zh_Hant", "zh-MO": "zh_Hant", "zh-Hant": "zh_Hant", "zh-Hant-TW": "zh_Hant",
    # the CMRT's language selector (Declaration!D3), in the template's own words and in English
    "日本語": "ja", "中文": "zh", "한국어": "ko", "Deutsch": "de", "Português": "pt", "Türkçe": "tr", "Español": "es",
    "Italiano": "it", "Français": "fr", "English": "en", "Chinese": "zh", "Japanese": "ja", " German ": "de",
    "中文 Chinese": "zh", "日本語 Japanese": "ja", "한국어 Korean": "ko", "Deutsch German": "de", "中文 Japanese": None,
    # nothing we have a catalogue for
    "nl": None, "nl-NL": None, "": None, None: None, "xx-YY": None, "english!": None, "../../etc/passwd": None,
    "en-XX": "en", "de-419": "de",
}


@pytest.mark.parametrize("given_,expected", NORMALISED.items())
def test_language_codes_are_normalised(given_, expected):
    assert i18n.normalise(given_) == expected


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_text_is_a_language_or_none_and_the_choice_is_always_one_we_have(text):
    code = i18n.normalise(text)
    assert code is None or code in i18n.SUPPORTED
    assert i18n.supplier_locale(chosen=text, contact=text, last_cmrt=text) in i18n.SUPPORTED


@given(st.sampled_from([None, "", "nl", "ja", "de-DE", "pt-BR"]), st.sampled_from([None, "", "xx", "ko", "es"]),
       st.sampled_from([None, "", "Italiano", "日本語", "Klingon"]))
def test_the_choice_is_the_portal_then_the_contact_then_the_last_cmrt_then_english(chosen, contact, last):
    expected = i18n.normalise(chosen) or i18n.normalise(contact) or i18n.normalise(last) or "en"
    assert i18n.supplier_locale(chosen=chosen, contact=contact, last_cmrt=last) == expected


def test_browser_languages_are_negotiated():
    assert i18n.negotiate("nl-NL,nl;q=0.9,de;q=0.8,en;q=0.7") == "de"
    assert i18n.negotiate("en;q=0.2, ja;q=0.9") == "ja"
    assert i18n.negotiate("zh-TW,zh;q=0.9") == "zh_Hant"
    assert i18n.negotiate("") is None and i18n.negotiate("q=;;,,") is None


# --- dates and numbers ------------------------------------------------------------------------------

DAY = date(2026, 12, 23)
DATES = {"en": "December 23, 2026", "de": "23. Dezember 2026", "ja": "2026年12月23日", "zh": "2026年12月23日",
         "zh_Hant": "2026年12月23日", "ko": "2026년 12월 23일", "fr": "23 décembre 2026", "es": "23 de diciembre de 2026",
         "pt": "23 de dezembro de 2026", "it": "23 dicembre 2026", "tr": "23 Aralık 2026"}
NUMBERS = {"en": "1,234,567.5", "de": "1.234.567,5", "ja": "1,234,567.5", "fr": "1\u202f234\u202f567,5",
           "pt": "1.234.567,5", "es": "1,234,567.5", "it": "1.234.567,5", "tr": "1.234.567,5"}


@pytest.mark.parametrize("code", sorted(DATES))
def test_dates_per_locale(code):
    assert i18n.format_day(DAY, code) == DATES[code]
    assert i18n.localise_day_text("23 December 2026", code) == ("23 December 2026" if code == "en" else DATES[code])
    assert i18n.localise_day_text("not a date", code) == "not a date"


@pytest.mark.parametrize("code", sorted(NUMBERS))
def test_numbers_per_locale(code):
    assert i18n.format_number(1234567.5, code) == NUMBERS[code]


def test_moments_name_the_time_zone():
    at = datetime(2026, 12, 23, 14, 5, tzinfo=timezone.utc)
    assert i18n.format_moment(at, "de").endswith("UTC") and "14:05" in i18n.format_moment(at, "de")


# --- the finding hook -------------------------------------------------------------------------------


def test_finding_text_is_the_english_sentence_until_a_finding_catalogue_speaks_the_language():
    english = "The contact email is missing."
    assert i18n.finding_text("contact_email_missing", {}, english, "en") == english
    text = i18n.finding_text("contact_email_missing", {}, english, "ja")
    assert text  # the finding catalogue's Japanese once it has one, the English sentence before
    assert i18n.finding_text(None, None, english, "ja") == english


def test_finding_text_takes_the_finding_catalogue_in_the_language():
    """Pages and emails say a stored finding through cmrt's own catalogue, and fall back to the English the
    check wrote when the record lacks what the sentence needs or the code is unknown."""
    from cmrt import messages

    params = {"template_sheet": "Smelter List", "limit": "10000"}
    english = messages.message("too_many_rows", **params)
    japanese = i18n.finding_text("too_many_rows", params, english, "ja")
    assert japanese == messages.render("too_many_rows", params, "ja")
    assert japanese != english and "10,000" in japanese  # the number as Japanese writes it
    assert i18n.finding_text("too_many_rows", params, english, "de") == messages.render("too_many_rows", params, "de")
    assert i18n.finding_text("too_many_rows", {}, english, "ja") == english  # parameters not kept: English, whole
    assert i18n.finding_text("no_such_code", params, "as written", "ja") == "as written"
    assert i18n.finding_text("too_many_rows", params, english, "en") == english


# --- the last CMRT's language -----------------------------------------------------------------------


def test_the_reader_reports_the_language_a_workbook_was_filled_in():
    import cmrt
    from cmrt.builder import valid_cmrt

    for selector, code in (("Deutsch", "de"), ("日本語", "ja"), ("English", "en")):
        result = cmrt.check(valid_cmrt(language=selector), filename="x.xlsx")
        assert i18n.normalise(result.template.language) == code


def test_the_official_template_saved_in_chinese_reads_as_chinese():
    from tests.conftest import cmrt_template
    import cmrt

    path = cmrt_template("6.5")  # skips, saying why, where the RMI's templates are absent
    assert i18n.normalise(cmrt.check(path.read_bytes(), filename=path.name).template.language) == "zh"


@pytest.fixture
def any_engine(any_db_url):
    from outreach.db import make_engine

    eng = make_engine(any_db_url)
    yield eng
    eng.dispose()


def test_the_supplier_language_comes_from_the_database(any_engine):
    """On SQLite and PostgreSQL (the migration adds supplier.portal_language)."""
    engine = any_engine
    from models.tables import Campaign, StoredFile, Submission, Supplier, Survey
    from outreach.db import session_scope
    from outreach.languages import remember_choice, supplier_locale
    from outreach import audit

    now = datetime.now(timezone.utc)
    with session_scope(engine) as s:
        s.add(Campaign(id="c-2024", year=2024, name="2024", state="closed"))
        s.add(Campaign(id="c-2025", year=2025, name="2025", state="running"))
        s.add(Supplier(id="S-9", name="São Paulo Metais"))
        s.add(StoredFile(sha256="a" * 64, size=1))
        s.flush()
        s.add(Survey(id="survey/c-2024/S-9", campaign_id="c-2024", supplier_id="S-9", state="closed"))
        s.add(Survey(id="survey/c-2025/S-9", campaign_id="c-2025", supplier_id="S-9", state="awaiting_response"))
        s.flush()
        # Last year's CMRT was filled in Portuguese; this year's first answer has no selector value.
        s.add(Submission(id="survey/c-2024/S-9/submission/1", survey_id="survey/c-2024/S-9", file_sha256="a" * 64,
                         received_at=now - timedelta(days=300), result={"template": {"language": "Português"}}))
        s.add(Submission(id="survey/c-2025/S-9/submission/1", survey_id="survey/c-2025/S-9", file_sha256="a" * 64,
                         received_at=now - timedelta(days=1), result={"template": {"language": None}}))
    assert supplier_locale(engine, "S-9", "") == "pt"  # no language on the contact list: the last CMRT's
    assert supplier_locale(engine, "S-9", "es-MX") == "es"  # the contact list's comes first
    assert supplier_locale(engine, "S-NONE", "") == "en"
    assert remember_choice(engine, "S-9", "Klingon", by="x@y") is None
    assert remember_choice(engine, "S-9", "ja-JP", by="buyer@sp.test") == "ja"
    assert supplier_locale(engine, "S-9", "es-MX") == "ja"  # the supplier's own choice comes first
    assert remember_choice(engine, "S-9", "ja", by="buyer@sp.test") == "ja"  # unchanged: not audited again
    entries = [e for e in audit.iter_entries(engine, audit.AuditFilter()) if e.action == "supplier.language_chosen"]
    assert [(e.actor, e.object_id, e.before, e.after) for e in entries] == [
        ("buyer@sp.test", "S-9", {"portal_language": None}, {"portal_language": "ja"})]


def test_the_import_understands_language_codes_as_people_write_them(engine):
    from sqlmodel import Session, select

    from models.tables import SupplierContact
    from outreach.suppliers import import_suppliers, write_supplier_csv

    rows = [{"supplier_id": f"S-{n}", "name": f"Supplier {n}", "contact_email": f"c{n}@x.test",
             "contact_language": lang} for n, lang in enumerate(["EN", "en-US", "zh-CN", "zh-TW", "pt-BR", "日本語", ""])]
    report = import_suppliers(engine, write_supplier_csv(rows), "suppliers.csv")
    assert report.imported and not report.errors
    with Session(engine) as s:
        stored = {c.supplier_id: c.language for c in s.exec(select(SupplierContact))}
    assert [stored[f"S-{n}"] for n in range(7)] == ["en", "en-US", "zh-CN", "zh-TW", "pt-BR", "ja", ""]
    assert [i18n.supplier_locale(contact=stored[f"S-{n}"]) for n in range(7)] == \
        ["en", "en", "zh", "zh_Hant", "pt", "ja", "en"]
