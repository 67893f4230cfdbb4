"""Findings in the CMRT's ten languages (cmrt/locale, cmrt.i18n): complete catalogues, placeholders
intact, the same finding in every language, the RMI's own words, English unchanged."""

from __future__ import annotations

import ast
import re
import unicodedata
from datetime import date
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cmrt
import cmrt.messages
import cmrt.risk
from cmrt import i18n, sniff
from cmrt.builder import valid_builder
from cmrt.i18n_extract import placeholders
from cmrt.locales import CMRT_LANGUAGES, LANGUAGES, SOURCE, cmrt_language
from cmrt.messages import CATALOGUE, PARAM_TERMS, PHRASES, finding, finding_text, message, render
from tests.test_cmrt_rules import CASES, run

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [lang for lang in LANGUAGES if lang != SOURCE]
TEMPLATES = ROOT.parent / "shared" / "cmrt" / "templates"
CMRT_65 = TEMPLATES / "RMI_CMRT_6.5.xlsx"


def _po(lang: str):  # type: ignore[no-untyped-def]
    with i18n.catalogue_path(lang).open("rb") as f:
        return read_po(f, locale=lang)


# -- the catalogues -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_has_every_entry_translated_not_fuzzy_with_its_placeholders(lang: str) -> None:
    assert i18n.problems(lang) == []


def test_problems_name_an_untranslated_a_fuzzy_and_a_changed_placeholder(tmp_path: Path, monkeypatch) -> None:
    """The check above can fail: a damaged copy of a catalogue is reported entry by entry."""
    catalogue = _po("de")
    catalogue.get(CATALOGUE["file_empty"][1], context="file_empty").string = ""
    catalogue.get(CATALOGUE["q8_no"][1], context="q8_no").flags.add("fuzzy")
    entry = catalogue.get(CATALOGUE["missing_answer"][1], context="missing_answer")
    entry.string = entry.string.replace("{metal}", "{metall}")
    from babel.messages.pofile import write_po
    target = tmp_path / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "findings.po").open("wb") as f:
        write_po(f, catalogue)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    found = "\n".join(i18n.problems("de"))
    assert "file_empty: untranslated" in found
    assert "q8_no: fuzzy" in found
    assert "missing_answer: placeholders" in found
    assert len(i18n.problems("de")) == 3


@pytest.mark.parametrize("lang", TRANSLATED)
def test_compiled_catalogue_is_the_po(lang: str) -> None:
    """The committed .mo says what the .po says (run `python -m cmrt.i18n` after editing a .po)."""
    with i18n.catalogue_path(lang, "mo").open("rb") as f:
        compiled = {(m.context, m.id): m.string for m in read_mo(f) if m.id}
    written = {(m.context, m.id): m.string for m in _po(lang) if m.id and not m.fuzzy}
    assert compiled == written


def test_template_lists_exactly_what_the_catalogue_module_holds() -> None:
    """cmrt/locale/findings.pot is up to date with cmrt/messages.py (`pybabel extract`, README)."""
    with (ROOT / "cmrt" / "locale" / "findings.pot").open("rb") as f:
        pot = {(m.context, m.id) for m in read_po(f) if m.id}
    expected = {(code, text) for code, (_, text) in CATALOGUE.items()}
    expected |= {("phrase:" + key, text) for key, text in PHRASES.items()}
    expected |= {("param:" + name, word) for name, words in PARAM_TERMS.items() for word in words}
    assert pot == expected


# -- every code cmrt can emit is in the catalogue ----------------------------------------------------------

def _finding_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for path in sorted((ROOT / "cmrt").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "finding" and node.args:
                calls.append((path.name, node))
    return calls


def test_every_code_written_in_cmrt_is_catalogued() -> None:
    """Derived from the code: each finding("...") literal, each f-string code's expansions, each code
    a problem or field maps to. A new code without a catalogue entry (and so without translations) fails."""
    literal, dynamic = set(), 0
    for _, call in _finding_calls():
        arg = call.args[0]
        if isinstance(arg, ast.Constant):
            literal.add(arg.value)
        else:
            dynamic += 1
    assert literal and literal <= set(CATALOGUE), literal - set(CATALOGUE)
    # the codes chosen at run time: the Checker's (a field -> code table), smelter matching's problems,
    # the EMRT's missing_<field> for every field its template maps require
    from cmrt import maps, rules
    built = set(rules.CHECKER_CODES) | set(cmrt._PROBLEM_CODES.values())
    for version in maps.known_versions("EMRT"):
        checker = maps.template_map("EMRT", version)["checker"]
        built |= {f"missing_{name}" for name in (*checker["required"], *checker["required_before_minerals"])}
    built |= {"unlisted_smelter_incomplete", "unlisted_smelter_unnamed"}  # what the template's map needs of the row
    assert built <= set(CATALOGUE), built - set(CATALOGUE)
    # rules.py: the Checker's table and Q2's (answered or blocked), one conditional of two literals, and
    # the 'Smelter not listed' rule's two codes; __init__.py: smelter problems; emrt.py: missing_<field>
    assert dynamic == 6, "a new finding(<variable>) call: add where its codes come from to this test"


def test_parameter_words_the_code_writes_are_in_the_vocabulary() -> None:
    """Words put into a translatable parameter (what a file looks like, which template, which field)
    are each one msgid, so a new word without translations fails here."""
    for _, call in _finding_calls():
        for kw in call.keywords:
            if kw.arg in PARAM_TERMS and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                assert kw.value.value in PARAM_TERMS[kw.arg], (kw.arg, kw.value.value)
    assert {what for _, what in sniff._OTHER_FORMATS} <= set(PARAM_TERMS["detected"])
    assert set(cmrt._KIND_WHAT.values()) <= set(PARAM_TERMS["what"])
    source = (ROOT / "cmrt" / "sniff.py").read_text(encoding="utf-8")
    described = re.findall(r'return "([^"]+)"', source[source.index("def _describe_unknown"):source.index("def _check_zip")])
    assert described and set(described) <= set(PARAM_TERMS["detected"])
    rules_source = (ROOT / "cmrt" / "rules.py").read_text(encoding="utf-8")
    labels = {label for label in re.findall(r'\("(?:contact|authorizer)\w*", "([^"]+)"\)', rules_source)
              if not label.startswith("missing_")}
    assert labels == set(PARAM_TERMS["field"])


# -- one finding, every language ---------------------------------------------------------------------

def _corpus() -> list[cmrt.CheckResult]:
    results = []
    for _code, failing, _passing, kw in CASES:
        b = valid_builder()
        failing(b)
        results.append(run(b, **kw))
    for magic, _ in sniff._OTHER_FORMATS:
        results.append(cmrt.check(magic + b"\x00" * 64, filename="x.xlsx"))
    for data in (b"", b"<html><body>hi</body></html>", b"<?xml version='1.0'?><a/>", b"a,b\n1,2\n", b"hello",
                 b"\x00\x01\x02\x03" * 8):
        results.append(cmrt.check(data, filename="x.xlsx"))
    results.append(cmrt.check(valid_builder().to_bytes(), filename="x.xlsx", expected_kind="EMRT"))
    return results


# parameters whose every value is a word of the vocabulary (country and status_text have one fallback
# word; their other values are names: a country, an RMAP status)
CLOSED_VOCABULARY = {"detected", "what", "field"}


@pytest.fixture(scope="module")
def corpus() -> list[cmrt.CheckResult]:
    return _corpus()


def test_corpus_reaches_most_codes(corpus: list[cmrt.CheckResult]) -> None:
    seen = {f.code for r in corpus for f in r.findings}
    assert len(seen) >= 60 and seen <= set(CATALOGUE)


def test_english_text_is_the_message_the_check_wrote(corpus: list[cmrt.CheckResult]) -> None:
    for result in corpus:
        for f in result.findings:
            for locale in (None, "en", "EN", "en-US", "en_GB", "xx-unknown", "klingon"):
                assert finding_text(f, locale) == f.message, (f.code, locale)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_finding_of_the_corpus_renders_in_the_language(lang: str, corpus: list[cmrt.CheckResult]) -> None:
    for result in corpus:
        for f in result.findings:
            text = finding_text(f, lang)
            assert text and text != f.message, (lang, f.code)
            assert not re.search(r"\{[a-z_]+\}", text) or re.search(r"\{[a-z_]+\}", f.message), (lang, f.code, text)
            for name in set(f.params) & CLOSED_VOCABULARY:
                assert f.params[name] in PARAM_TERMS[name], (f.code, name, f.params[name])
            for name in [n[:-len("_phrases")] for n in f.params if n.endswith("_phrases")]:
                # key@n: the same phrase said again with its own values (cmrt.risk.supplier_reasons)
                assert {k.partition("@")[0] for k in f.params[name + "_phrases"].split(",")} <= set(PHRASES)
                assert f.params[name] not in text, (lang, f.code, name)  # said again, not left in English
            if f.code == "q3_no_unsupported":
                assert "says only" not in text and PHRASES["q7_no"] not in text, text


SENTINEL = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=st.sampled_from(sorted(CATALOGUE)), lang=st.sampled_from(LANGUAGES), data=st.data())
def test_any_parameters_any_language_every_placeholder_is_filled(code: str, lang: str, data: st.DataObject) -> None:
    """Property: whatever the values (braces, percent signs, any script), each placeholder of the
    template shows its value in every language, and English is exactly `message()`."""
    names = placeholders(CATALOGUE[code][1])
    values = {n: "⟦" + data.draw(SENTINEL, label=n) + "⟧" for n in names}
    text = render(code, values, lang)
    if lang == SOURCE:
        assert text == message(code, **values)
    for n in names:  # none is a word of the vocabulary or has *_phrases here: each is shown as given
        assert values[n] in text, (code, lang, n, text)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translation_uses_every_placeholder_of_the_english(lang: str) -> None:
    for entry in _po(lang):
        if entry.id:
            parsed = [name for _, name, _, _ in Formatter().parse(entry.string) if name is not None]
            assert sorted(set(parsed)) == sorted(set(placeholders(entry.id))), (lang, entry.context)


# -- locales, numbers, dates ----------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "expected"), [
    ("EN", "en"), ("en-US", "en"), ("en_GB", "en"), ("zh-CN", "zh_Hans"), ("zh_CN", "zh_Hans"), ("zh", "zh_Hans"),
    ("zh-Hans", "zh_Hans"), ("zh-SG", "zh_Hans"), ("zh-TW", "zh_Hant"), ("zh_HK", "zh_Hant"), ("zh-Hant", "zh_Hant"),
    ("zh-MO", "zh_Hant"), ("ja_JP", "ja"), ("JA", "ja"), ("ko-KR", "ko"), ("fr-CA", "fr"), ("fr_FR", "fr"),
    ("pt-BR", "pt"), ("pt_PT", "pt"), ("de-AT", "de"), ("de_CH", "de"), ("es-MX", "es"), ("es-419", "es"),
    ("it_IT", "it"), ("tr-TR", "tr"), ("ru", "en"), ("nl-NL", "en"), ("", "en"), (None, "en"), ("  ", "en"),
    ("not a locale", "en"), ("x" * 300, "en"), ("日本語 Japanese", "ja"), ("中文 Chinese", "zh_Hans"),
    ("Türkçe", "tr"), ("português", "pt"), ("de;q=0.9", "de"), (["xx", "pt-BR", "fr"], "pt"), (["nope"], "en"),
    ("de-DE,de;q=0.9,en;q=0.8", "de"), ("xx,ja;q=0.5", "ja"), (",,", "en"), ([None, 3, "ko"], "ko"),
])
def test_locale_normalisation(given: object, expected: str) -> None:
    assert i18n.language(given) == expected  # type: ignore[arg-type]


def test_numbers_are_written_the_locale_way() -> None:
    f = finding("file_too_large", size_mb="1234.5", limit_mb="20")
    assert "1234.5 MB" in finding_text(f, "en")  # English as the check wrote it
    assert "1.234,5 MB" in finding_text(f, "de")
    assert "1 234,5 Mo" in finding_text(f, "fr").replace("\u202f", " ").replace("\xa0", " ")
    assert "1.234,5" in finding_text(f, "tr") and "1.234,5" in finding_text(f, "it")
    assert "1,234.5" in finding_text(f, "ja") and "1,234.5" in finding_text(f, "zh_Hans")
    big = finding("sheet_too_large", extent="XFD1048576", cells=f"{17_179_869_184:,}")
    assert "17.179.869.184" in finding_text(big, "de") and "17.179.869.184" in finding_text(big, "es")
    assert "XFD1048576" in finding_text(big, "de")  # a cell reference is no number
    row = finding("smelter_not_identified", sheet="Smelter List", cell="C1234", row=1234, metal="Tin")
    assert "1234" in finding_text(row, "de") and "1.234" not in finding_text(row, "de")  # rows as Excel shows them


def test_dates_are_written_the_locale_way() -> None:
    f = finding("effective_date_future", sheet="Declaration", cell="D22", value=date(2027, 3, 5).isoformat())
    assert "(2027-03-05)" in finding_text(f, "en")
    assert "05.03.2027" in finding_text(f, "de")
    assert "2027年3月5日" in finding_text(f, "zh_Hans") and "2027/03/05" in finding_text(f, "ja")
    assert "5 mars 2027" in finding_text(f, "fr").replace("\xa0", " ")
    stale = finding("effective_date_stale", sheet="Declaration", cell="D22", value="2023-12-31", year=2024)
    assert "2024" in finding_text(stale, "de") and "2.024" not in finding_text(stale, "de")
    not_a_date = finding("effective_date_invalid", sheet="Declaration", cell="D22", value="2027-13-45")
    assert "2027-13-45" in finding_text(not_a_date, "de")  # shown as written


def test_reasons_are_said_in_the_language_with_its_and() -> None:
    b = valid_builder()
    b.answer("Q3", "Tin", "No").answer("Q6", "Tin", "50% or less").answer("Q7", "Tin", "No")
    f = next(f for f in run(b).findings if f.code == "q3_no_unsupported")
    assert "question 6 says only '50% or less' of your suppliers responded and question 7 says" in f.message
    de = finding_text(f, "de")
    assert "laut Frage 6 haben nur „50% or less“ Ihrer Lieferanten geantwortet und laut Frage 7" in de
    assert " e la domanda 7" in finding_text(f, "it") and " ve 7. soruya" in finding_text(f, "tr")


def test_a_reader_failure_and_another_template_are_said_in_the_language() -> None:
    from cmrt.isolation import ReaderFailed, reader_failure

    memory = reader_failure(ReaderFailed("memory", ""), 4096)
    assert "(reading it needed more than 4,096 MB of memory, far more than any CMRT needs)" in memory.message
    assert "das Lesen brauchte mehr als 4.096 MB Arbeitsspeicher" in finding_text(memory, "de")
    slow = ReaderFailed("timeout", "took longer than 0.5 seconds")
    slow.timeout_s = 0.5
    assert "(reading it took longer than 0.5 seconds, far longer" in reader_failure(slow, 512).message
    assert "länger als 0,5 Sekunden" in finding_text(reader_failure(slow, 512), "de")
    assert "試算表讀取程式" in finding_text(reader_failure(ReaderFailed("crash", "x"), 512), "zh-TW")
    other = cmrt.check(valid_builder().to_bytes(), filename="x.xlsx", expected_kind="EMRT").findings[0]
    assert other.code == "not_emrt" and "a CMRT (template for tin, tantalum, tungsten and gold)" in other.message
    assert "un CMRT (modèle pour l'étain, le tantale, le tungstène et l'or)" in finding_text(other, "fr")


def test_unknown_code_stays_as_written_in_every_language() -> None:
    assert render("no_such_code", {"x": "1"}, "de") == "no_such_code" == render("no_such_code", {}, "en")


def test_values_that_are_not_text_are_said_as_finding_would() -> None:
    assert render("smelters_out_of_scope", {"count": 1200, "metal": "Tin", "row": 7}, "de").startswith(
        "Die „Smelter List“ (Schmelzhüttenliste) enthält 1.200 Zeile(n) für Tin (erste: Zeile 7)")
    assert "{metal}" not in render("smelter_not_identified", {"row": 3, "metal": None}, "fr")


# -- the reader says which language the workbook was filled in --------------------------------------------

@pytest.mark.parametrize(("selector", "expected"), [(name, code) for name, code in CMRT_LANGUAGES.items()]
                         + [("Klingon", None)])
def test_reader_exposes_the_language_of_the_workbook(selector: str, expected: str | None) -> None:
    written = {"english": "English", "中文 chinese": "中文 Chinese", "日本語 japanese": "日本語 Japanese",
               "한국어 korean": "한국어 Korean", "français": "Français", "português": "Português",
               "deutsch": "Deutsch", "español": "Español", "italiano": "Italiano", "türkçe": "Türkçe"}
    b = valid_builder()
    b.language = written.get(selector, selector)
    result = run(b)
    assert result.template.language == b.language
    assert result.template.locale == expected
    assert cmrt_language(f"  {b.language}  ") == expected


@pytest.mark.skipif(not CMRT_65.exists(), reason=f"the RMI templates are not in {TEMPLATES}")
def test_reader_reads_the_language_selector_of_the_rmi_template() -> None:
    result = cmrt.check(CMRT_65)
    assert result.template.language == "中文 Chinese" and result.template.locale == "zh_Hans"
    english = TEMPLATES / "RMI_CMRT_6.4_English.xlsx"
    if english.exists():
        assert cmrt.check(english).template.locale == "en"


# -- the RMI's own words (docs/glossary.md) -------------------------------------------------------------

def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.replace("’", "'").replace("İ", "I")).casefold()
    return "".join(c for c in text if not unicodedata.combining(c) or c in "\u3099\u309a")  # keep kana marks


def _glossary() -> tuple[list[str], list[dict[str, str]]]:
    lines = [line for line in (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8").splitlines()
             if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(header, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]
    return header[3:], rows


def test_glossary_terms_are_used_in_every_finding_that_says_them() -> None:
    langs, rows = _glossary()
    assert set(langs) == set(TRANSLATED) - {"zh_Hant"} and len(rows) >= 10
    for lang in langs:
        catalogue = _po(lang)
        for row in rows:
            if row["checked"] != "every finding":
                continue
            forms = [_normal(form) for form in row[lang].split(" / ")]
            for entry in catalogue:
                if entry.id and _normal(row["term"]) in _normal(entry.id):
                    assert any(form in _normal(entry.string) for form in forms), (lang, row["term"], entry.context)


@pytest.mark.skipif(not CMRT_65.exists(), reason=f"the RMI templates are not in {TEMPLATES}")
def test_glossary_words_are_the_rmi_template_words() -> None:
    """Each word is the one the template's hidden translation sheet L gives at the source key."""
    import openpyxl

    wb = openpyxl.load_workbook(CMRT_65, read_only=True)
    sheet = wb["L"]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows)
    column = {cmrt_language(str(h)): i for i, h in enumerate(header) if h and cmrt_language(str(h))}
    by_key = {f"{row[1]}{row[2]}": row for row in rows if row and row[1]}  # column A is =B&C
    wb.close()
    langs, glossary = _glossary()
    for entry in glossary:
        source = by_key[entry["source"]]
        assert _normal(entry["term"]) in _normal(str(source[column["en"]])), entry["term"]
        for lang in langs:
            rmi = _normal(str(source[column[lang]]))
            assert _normal(entry[lang].split(" / ")[0]) in rmi, (entry["term"], lang, entry[lang])


# --- smelter_high_risk's reasons: said in the supplier's language (cmrt.risk.supplier_reasons) -------------

def _reasons_before(assessment) -> str:
    """supplier_reason_text as the five-factor risk release wrote it: the English must not change."""
    parts = []
    for r in assessment.reasons:
        if r.points_to != assessment.level:
            continue
        if r.factor == "override":
            parts.append("our compliance team's own assessment")
        elif r.factor == "evidence":
            parts.append(f"reported by {r.source.removeprefix('watch list: ')}")
        else:
            parts.append(r.text.split(" (")[0])
    return "; ".join(dict.fromkeys(parts))


def _high_risk(**factors):
    from cmrt.risk import supplier_reasons

    english, said = supplier_reasons(cmrt.risk.assess_smelter(**factors))
    return english, finding("smelter_high_risk", sheet="Smelter List", cell="C12", row=12, standard_name="Example Smelter",
                            country="RWANDA", status_text="Non-Conformant", reasons=english, **said)


RISKY = dict(rmap_status="Non-Conformant", country="Rwanda", declared_countries=["DRC"],
             source_countries=["Congo, Democratic Republic of the", "Rwanda"],
             watch=[cmrt.risk.WatchHit("Global Witness"), cmrt.risk.WatchHit("UN Group of Experts")])


def test_high_risk_reasons_are_said_in_the_suppliers_language_and_the_english_is_unchanged() -> None:
    english, f = _high_risk(**RISKY)
    assert english == _reasons_before(cmrt.risk.assess_smelter(**RISKY))
    assert f.message == message("smelter_high_risk", row=12, standard_name="Example Smelter", country="RWANDA",
                                reasons=english)
    assert finding_text(f, "en") == f.message
    ja = finding_text(f, "ja")
    assert "当社" not in ja  # no override here
    for said in ("対象国", "RMAP 監査ステータス: Non-Conformant", "Global Witness による報告", "UN Group of Experts による報告"):
        assert said in ja, ja
    for english_word in ("Geographic proximity", "reported by", "RMAP audit status", "a Covered Country"):
        assert english_word not in ja
    de = finding_text(f, "de")
    assert "gemeldet von Global Witness" in de and "gemeldet von UN Group of Experts" in de and " und " in de, de
    assert "RMAP-Auditstatus: Non-Conformant" in de


def test_high_risk_override_and_the_rmap_only_fallback_are_translated() -> None:
    factors = dict(rmap_status="Conformant", country="Germany",
                   override=cmrt.risk.RiskOverride(level="high", reason="internal note, never shown", by="anna"))
    english, f = _high_risk(**factors)
    assert english == _reasons_before(cmrt.risk.assess_smelter(**factors)) == "our compliance team's own assessment"
    assert "当社のコンプライアンスチーム自身の評価" in finding_text(f, "ja")
    assert "internal note" not in finding_text(f, "ja") and "internal note" not in f.message
    # a smelter assessed without the five factors: its RMAP status, the status words translated too
    fallback = finding("smelter_high_risk", row=3, standard_name="X", country="unknown country",
                       status_text="unknown to us", reasons=cmrt.messages.phrase("risk_rmap_status_text",
                                                                               status_text="unknown to us"),
                       reasons_phrases="risk_rmap_status_text")
    assert "(RMAP status: unknown to us)" in fallback.message
    assert "RMAP ステータス:" in finding_text(fallback, "ja") and "unknown to us" not in finding_text(fallback, "ja")


def test_a_reason_no_phrase_says_exactly_stays_english_inside_the_translated_sentence() -> None:
    from cmrt.risk import RiskAssessment, RiskReason, supplier_reasons

    odd = RiskAssessment(level="high", reasons=(RiskReason("location", "reference list", "Something new (x)", "high"),))
    english, said = supplier_reasons(odd)
    assert english == "Something new" and said == {}
    f = finding("smelter_high_risk", row=1, standard_name="X", country="Y", reasons=english, **said)
    ja = finding_text(f, "ja")
    assert "Something new" in ja and "高リスク" in ja
