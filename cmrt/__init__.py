"""Read and judge CMRT workbooks. Pure library: no Temporal, no database, no network.

    import cmrt
    result = cmrt.check(path_or_bytes, filename="acme.xlsx")   # never raises
    result.verdict            # "valid" | "invalid" | "unreadable"
    result.findings           # [Finding(code, severity, sheet, cell, message)]
    result.to_json_dict()     # the JSON object of `outreach cmrt check --json`

`verdict == "invalid"` iff some finding is an error; "unreadable" when the bytes are not a workbook we
can open (not a spreadsheet, corrupt, encrypted with an unknown password, too large, a zip bomb).
`check(..., expected_kind="EMRT")` reads and judges an EMRT (cmrt.emrt, cell maps in cmrt/data/emrt-*.json);
the default, "CMRT", refuses it (wrong_template_kind).
Finding codes and messages: `cmrt.messages.CATALOGUE`. Test workbooks: `cmrt.builder`.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmrt import maps
from cmrt.locales import cmrt_language
from cmrt.messages import CATALOGUE, finding, phrase
from cmrt.reader import (
    CURRENT_VERSION,
    DamagedSheet,
    MAX_PRODUCT_ROWS,
    MAX_SMELTER_ROWS,
    FileLookup,
    Workbook,
    derive_from_lookup,
    detect_template,
    formula_values,
    needs_derivation,
    read_declaration,
    read_lookup,
    read_products,
    read_smelters,
    scope_level,
    version_tuple,
)
from cmrt.rules import (
    checker,
    cid_malformed,
    company_name_findings,
    contradictions,
    in_scope_metals,
    is_not_listed,
    smelter_row_findings,
    spacing_findings,
    unlisted_smelters_without_country,
)
from cmrt.sniff import Sniffed, Unreadable
from cmrt.sniff import sniff as sniff_bytes  # keeps `cmrt.sniff` the module
from cmrt.types import (
    METALS,
    Answer,
    CheckResult,
    Declaration,
    Finding,
    MineRow,
    ProductRow,
    SmelterRow,
    Summary,
    Template,
)

if TYPE_CHECKING:  # the reference module is optional at import time
    from cmrt.reference import ReferenceList

__all__ = [
    "CATALOGUE",
    "Answer",
    "CheckResult",
    "Declaration",
    "Finding",
    "MineRow",
    "ProductRow",
    "SmelterRow",
    "Summary",
    "Template",
    "check",
    "DEFAULT_MAX_BYTES",
    "CURRENT_VERSION",
]

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
SUPPORTED_MIN = (6.0,)
EMRT_CURRENT_VERSION = "2.1"
_KIND_WHAT = {
    "CMRT": "tin, tantalum, tungsten and gold",
    "EMRT": "cobalt, mica and other extended minerals",
    "CRT": "cobalt",
    "AMRT": "additional minerals",
    "PRT": "pyrite",
    "RRT": "other raw materials",
}


def check(
    source: bytes | bytearray | str | os.PathLike[str],
    *,
    filename: str | None = None,
    reference: ReferenceList | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    campaign_year: int | None = None,
    today: date | None = None,
    expected_company: str | None = None,
    expected_kind: str = "CMRT",
) -> CheckResult:
    """Read and judge one workbook. Never raises: every input gets a verdict.

    source: the bytes, or a path. reference: the smelter reference list (default: the shipped one).
    campaign_year: the reporting year the survey asks about; a declaration effective before 1 January
    of that year is stale. today: for the "effective date in the future" rule (default: date.today()).
    expected_company: the supplier's name as the compliance team knows it; a declaration in another
    company's name gets a warning (company_name_mismatch).
    expected_kind: the template the survey asks for, "CMRT" (conflict minerals) or "EMRT" (extended
    minerals); a workbook of another kind is refused (wrong_template_kind, not_emrt).
    """
    name = filename
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            path = Path(source)
            name = name or path.name
            size = path.stat().st_size
            if size > max_bytes:
                return _unreadable(name, finding("file_too_large", size_mb=f"{size / 1048576:.1f}",
                                                 limit_mb=f"{max_bytes / 1048576:.0f}"))
            data = path.read_bytes()
    except OSError as exc:
        return _unreadable(name, finding("corrupt_workbook", detail=f"the file could not be read: {exc.strerror or exc}"))
    try:
        return _check_bytes(data, name, reference, max_bytes, campaign_year, today or date.today(),
                            expected_company, expected_kind)
    except Unreadable as exc:
        return _unreadable(name, exc.finding)
    except DamagedSheet as exc:
        return _unreadable(name, finding("corrupt_workbook", sheet=exc.sheet, detail=str(exc)))
    except Exception as exc:  # noqa: BLE001 - the contract: no exception escapes, every input gets a verdict
        return _unreadable(name, finding("internal_error", detail=type(exc).__name__))


def _unreadable(name: str | None, f: Finding, template: Template | None = None) -> CheckResult:
    return CheckResult(file=name, verdict="unreadable", template=template or Template(), findings=[f])


def _check_bytes(
    data: bytes,
    name: str | None,
    reference: ReferenceList | None,
    max_bytes: int,
    campaign_year: int | None,
    today: date,
    expected_company: str | None = None,
    expected_kind: str = "CMRT",
) -> CheckResult:
    sniffed: Sniffed = sniff_bytes(data, max_bytes=max_bytes)
    findings: list[Finding] = list(sniffed.findings)
    try:
        wb = Workbook.open(sniffed.data, sniffed.file_format, verify_sheet=sniffed.verify_sheet)
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types for damaged parts
        raise Unreadable(finding("corrupt_workbook", detail=_short(exc))) from exc

    result = CheckResult(file=name, verdict="invalid")
    decl_name = wb.find("Declaration")
    if decl_name is None:
        decl_name = _find_declaration_by_content(wb)
        if decl_name is not None:
            findings.append(finding("sheet_renamed", sheet=decl_name, found=decl_name, template_sheet="Declaration"))
    decl = wb.sheet(decl_name) if decl_name else None
    kind, version, revision, language = detect_template(wb, decl)
    result.template = Template(kind=kind, version=version, revision_text=revision, language=language,
                               locale=cmrt_language(language), file_format=sniffed.file_format)
    if sniffed.file_format == "xls":
        findings.append(finding("xls_format"))

    if expected_kind == "EMRT":
        if kind == "EMRT" and decl is not None:
            return _check_emrt(wb, decl, sniffed, result, findings, version, expected_company)
        what = _KIND_WHAT.get(kind, "conflict minerals")
        said = "other_template" if kind not in ("unknown", "EMRT") else "no_template"
        findings.append(finding("not_emrt", what_it_is=phrase(said, kind=kind, what=what), what_it_is_phrases=said,
                                kind=kind, what=what, current=EMRT_CURRENT_VERSION))
        return _finish(result, findings)
    if kind not in ("CMRT", "unknown"):
        findings.append(finding("wrong_template_kind", kind=kind, what=_KIND_WHAT.get(kind, "other minerals"),
                                current=CURRENT_VERSION))
        return _finish(result, findings)
    vt = version_tuple(version)
    if vt and vt < SUPPORTED_MIN or (version or "").endswith(".x"):
        # One verdict and nothing else: the answers of a template before 6.0 sit at other cells, so no
        # finding at a 6.x address, no Checker count (checker_remaining stays None), and no remark on the
        # file's format that a copy into the current template makes moot. The version as written ("2.03a").
        return _finish(result, [finding("template_outdated", sheet="Declaration", version=version,
                                        current=CURRENT_VERSION)])
    choice = maps.map_for("CMRT", version)
    tm = choice.map
    if choice.fit == "newer_major":
        # Another layout altogether may sit behind a new major version: one verdict, nothing read.
        return _finish(result, [finding("template_version_unsupported", sheet="Declaration", cell=tm["revision_cell"],
                                        kind="CMRT", version=version, current=CURRENT_VERSION)])
    if decl is None:
        findings.append(finding("sheet_missing", template_sheet="Declaration", current=CURRENT_VERSION))
        return _finish(result, findings)
    if kind == "unknown":
        result.template.kind = "CMRT"
    if not vt:
        findings.append(finding("template_version_unknown", sheet="Declaration", cell="J3", current=CURRENT_VERSION))
    elif vt < version_tuple(CURRENT_VERSION):
        findings.append(finding("template_old_6x", sheet="Declaration", cell="J3", version=version,
                                current=CURRENT_VERSION))
    elif choice.fit == "nearest":  # a newer minor version (or one between two we know)
        findings.append(finding("template_version_unmapped", sheet="Declaration", cell=tm["revision_cell"],
                                kind="CMRT", version=version, used=choice.version))

    declaration, questions, company = read_declaration(decl, tm)
    result.declaration, result.questions, result.company_questions = declaration, questions, company
    findings.extend(company_name_findings(declaration.company_name, expected_company))

    smelter_sheet = products_sheet = None
    for template_name in ("Smelter List", "Product List"):
        actual = wb.find(template_name)
        if actual is None:
            findings.append(finding("sheet_missing", template_sheet=template_name, current=CURRENT_VERSION))
            continue
        if template_name == "Smelter List":
            smelter_sheet = wb.sheet(actual)
        else:
            products_sheet = wb.sheet(actual)
    smelters = read_smelters(smelter_sheet, tm=tm) if smelter_sheet is not None else []
    result.products = read_products(products_sheet, tm=tm) if products_sheet is not None else []
    for rows, limit, sheet_name in ((smelters, MAX_SMELTER_ROWS, "Smelter List"),
                                    (result.products, MAX_PRODUCT_ROWS, "Product List")):
        if len(rows) > limit:  # judged on the first `limit` rows; the file is sent back all the same
            findings.append(finding("too_many_rows", sheet=sheet_name, cell=f"A{rows[limit].row}",
                                    limit=f"{limit:,}", template_sheet=sheet_name))
            del rows[limit:]

    # The file's own Smelter Look-up: derives what formulas did not cache, and its aliases join the
    # reference list for matching (the names the supplier's template version offered).
    # Skipped when it can add nothing: formula values cached and every CID known to the reference.
    ref = reference if reference is not None else _default_reference()
    derive = needs_derivation(smelters)
    lookup: FileLookup | None = None
    lookup_name = wb.find("Smelter Look-up") if derive or not _every_cid_known(smelters, ref) else None
    if lookup_name is not None:
        try:
            lookup = read_lookup(lambda: wb.sheet(lookup_name), sniffed.content_key(lookup_name))  # type: ignore[arg-type]
        except DamagedSheet:
            pass  # the reference list still derives and matches what it can
    formulas = None
    if derive:
        if lookup is not None and lookup.rows:
            derive_from_lookup(smelters, lookup.index)
        _derive_cids_from_reference(smelters, ref)
        # what the template's formulas show after recalculation, before the tolerant matching below
        formulas = formula_values(smelters)
        if lookup is not None and lookup.rows:
            _derive_with_file_aliases(smelters, lookup)

    checker_findings = checker(decl, smelter_sheet, products_sheet, formulas, tm)
    result.checker_remaining = len(checker_findings)
    findings.extend(checker_findings)
    findings.extend(spacing_findings(decl, smelter_sheet, tm))
    findings.extend(contradictions(declaration, questions, company, smelters, today=today,
                                   campaign_year=campaign_year, tm=tm))
    findings.extend(smelter_row_findings(smelters))
    findings.extend(unlisted_smelters_without_country(smelters, tm))
    findings.extend(_match_smelters(smelters, ref, lookup))
    result.smelters = smelters

    metals = in_scope_metals(questions)
    result.metals_in_scope = metals
    result.program_strength = program_strength(company)
    high_risk = {(s.metal, s.cid or s.name or s.lookup_name) for s in smelters if s.risk == "high"}
    result.summary = Summary(
        metals_in_scope=metals,
        scope_level=scope_level(declaration.scope),  # type: ignore[arg-type]
        q6_level={m: questions["Q6"][m].answer for m in METALS},
        high_risk_smelters=len(high_risk),
        smelter_rows=len(smelters),
        unique_smelters=unique_smelters(smelters),
        products=len(result.products),
    )
    return _finish(result, findings)


def _check_emrt(wb: Workbook, decl: Any, sniffed: Sniffed, result: CheckResult, findings: list[Finding],
                version: str | None, expected_company: str | None) -> CheckResult:
    """An EMRT, read and judged by its version's cell map (cmrt/data/emrt-<version>.json)."""
    from cmrt import emrt

    choice = maps.map_for("EMRT", version)
    tm = choice.map
    if choice.fit == "newer_major":
        return _finish(result, [*findings, finding("template_version_unsupported", sheet="Declaration",
                                                   cell=tm["revision_cell"], kind="EMRT", version=version,
                                                   current=EMRT_CURRENT_VERSION)])
    vt = maps.version_tuple(version)
    if choice.fit == "nearest" and vt > maps.version_tuple(EMRT_CURRENT_VERSION):
        findings.append(finding("template_version_unmapped", sheet="Declaration", cell=tm["revision_cell"],
                                kind="EMRT", version=version, used=choice.version))
    elif choice.fit == "own" and vt < maps.version_tuple(EMRT_CURRENT_VERSION):
        findings.append(finding("emrt_old_version", sheet="Declaration", cell=tm["revision_cell"], version=version,
                                current=EMRT_CURRENT_VERSION))
    elif choice.fit != "own":  # an older version, or none found: read all the same, and ask for the current one
        findings.append(finding("emrt_version_unmapped", sheet="Declaration", cell=tm["revision_cell"],
                                version=version or "unknown", used=tm["version"], current=EMRT_CURRENT_VERSION))
    declaration, minerals, questions, company = emrt.read_declaration(decl, tm)
    result.declaration, result.questions, result.company_questions = declaration, questions, company
    result.minerals_selected = minerals
    findings.extend(company_name_findings(declaration.company_name, expected_company))

    sheets: dict[str, Any] = {}
    for template_name in ("Smelter List", "Mine List", "Product List"):
        actual = wb.find(template_name)
        if actual is None:
            findings.append(finding("sheet_missing", template_sheet=template_name, current=EMRT_CURRENT_VERSION))
        else:
            sheets[template_name] = wb.sheet(actual)
    smelter_sheet, products_sheet = sheets.get("Smelter List"), sheets.get("Product List")
    smelters = read_smelters(smelter_sheet, tm=tm) if smelter_sheet is not None else []
    result.mines = emrt.read_mines(sheets["Mine List"], tm, MAX_SMELTER_ROWS) if "Mine List" in sheets else []
    result.products = emrt.read_products(products_sheet, tm, MAX_PRODUCT_ROWS) if products_sheet is not None else []
    if len(smelters) > MAX_SMELTER_ROWS:
        findings.append(finding("too_many_rows", sheet="Smelter List", cell=f"A{smelters[MAX_SMELTER_ROWS].row}",
                                limit=f"{MAX_SMELTER_ROWS:,}", template_sheet="Smelter List"))
        del smelters[MAX_SMELTER_ROWS:]

    # Without cached formula values the file's own Smelter Look-up fills what its formulas would.
    formulas = None
    lookup_name = wb.find("Smelter Look-up")
    if needs_derivation(smelters) and lookup_name is not None:
        try:
            lookup = read_lookup(lambda: wb.sheet(lookup_name), sniffed.content_key(lookup_name))
            derive_from_lookup(smelters, lookup.index)
        except DamagedSheet:
            pass
        formulas = formula_values(smelters)

    checker_findings = emrt.checker(decl, smelter_sheet, products_sheet, tm, formulas)
    result.checker_remaining = len(checker_findings)
    findings.extend(checker_findings)
    scope_minerals = emrt.in_scope_minerals(minerals, questions, tm)
    findings.extend(emrt.answers_not_allowed(questions, company, minerals, scope_minerals, tm))
    result.smelters = smelters
    result.metals_in_scope = scope_minerals
    result.program_strength = program_strength(company)
    result.summary = Summary(
        metals_in_scope=scope_minerals,
        scope_level=scope_level(declaration.scope),  # type: ignore[arg-type]
        # the share of suppliers that responded: the EMRT's question 5 (the CMRT's question 6)
        q6_level={m: questions["Q5"][m].answer for m in minerals},
        smelter_rows=len(smelters),
        unique_smelters=unique_smelters(smelters),
        products=len(result.products),
    )
    return _finish(result, findings)


def program_strength(company: dict[str, Answer]) -> str:
    """The seeds' test: "strong" with Yes to A (policy), D (due diligence), F (review) and G (corrective
    action management), else "weak"."""
    return "strong" if all(company[k].answer == "Yes" for k in "ADFG") else "weak"


def unique_smelters(smelters: list[SmelterRow]) -> int:
    """Smelters counted once per metal: by CID, else by name (one row per mine repeats a smelter)."""
    return len({(s.metal, s.cid or (s.name or s.lookup_name or "").casefold()) for s in smelters if s.metal})


def _finish(result: CheckResult, findings: list[Finding]) -> CheckResult:
    result.findings = findings
    result.verdict = "invalid" if any(f.severity == "error" for f in findings) else "valid"
    return result


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _find_declaration_by_content(wb: Workbook) -> str | None:
    """A renamed Declaration sheet still carries the revision text in J3."""
    for name in wb.sheet_names:
        try:
            sheet = wb.sheet(name)
        except Exception:  # noqa: BLE001
            continue
        text = sheet.text("J3") or ""
        if text.lower().startswith("revision") and sheet.rows and len(sheet.rows) >= 22:
            return name
    return None


def _derive_cids_from_reference(smelters: list[SmelterRow], ref: ReferenceList | None) -> None:
    """A CID typed in column A that the file's own Smelter Look-up does not resolve (a CID newer than the
    supplier's template, or no Look-up sheet at all) is resolved from the reference list: the row names
    that smelter, so it counts for its metal as the template's formulas count a resolved CID."""
    pending = [s for s in smelters if s.cid_input and not (s.metal and s.lookup_name)]
    if not pending or ref is None:
        return
    from cmrt.reference import normalise_cid

    for s in pending:
        cid, well_formed = normalise_cid(s.cid_input)
        known = ref.get(cid) if cid and well_formed else None
        if known is None or known.removed or (s.metal and s.metal.casefold() != known.metal.casefold()):
            continue
        s.__dict__.update(metal=s.metal or known.metal, lookup_name=s.lookup_name or known.standard_name,
                          derived=True)


def _derive_with_file_aliases(smelters: list[SmelterRow], lookup: FileLookup) -> None:
    """Rows the template's exact look-up could not resolve (spacing, punctuation, a typed name on a
    'Smelter not listed' row) are matched against this file's own Look-up aliases, so that aliases
    the reference list does not know still count. Only alias/name/CID matches are taken, never fuzzy."""
    pending = [s for s in smelters if s.metal and not s.cid and (s.lookup_name or s.name)
               and (s.lookup_name or "").casefold() != "smelter not yet identified"]
    if not pending:
        return
    try:
        from cmrt.reference import ReferenceList as _ReferenceList
    except ImportError:
        return
    # the file's own list, built once per template version (an empty list merged with the rows)
    file_reference = _empty_reference(_ReferenceList).with_lookup_rows(lookup.rows,
                                                                       fingerprint=lookup.fingerprint or None)
    for s in pending:
        m = file_reference.match(metal=s.metal, cid=s.cid_input, lookup_name=s.lookup_name, name=s.name,
                                 country=s.country, fuzzy=False)
        if m.cid and m.match in ("cid", "alias", "name"):
            s.__dict__.update(cid=m.cid, standard_name=s.standard_name or m.standard_name,
                              country=s.country or m.country, derived=True)


@lru_cache(maxsize=1)
def _empty_reference(cls: type[ReferenceList]) -> ReferenceList:
    """One empty list per process, so that its per-template-version cache (with_lookup_rows) lasts."""
    return cls()


def _default_reference() -> ReferenceList | None:
    try:
        from cmrt.reference import default_reference

        return default_reference()
    except Exception:  # noqa: BLE001 - matching is optional; the rest of the check still runs
        return None


_PROBLEM_CODES = {
    "cid_malformed": "cid_malformed",
    "cid_unknown": "cid_unknown",
    "cid_other_metal": "cid_other_metal",
    "needs_review": "smelter_needs_review",
}


def _every_cid_known(smelters: list[SmelterRow], ref: ReferenceList | None) -> bool:
    """Every row to match declares a CID the reference list has for its metal, so matching goes by CID
    and the file's own Look-up sheet cannot change it."""
    if ref is None:
        return True  # nothing to match against
    from cmrt.reference import normalise_cid, normalise_metal

    metals = {m.casefold() for m in METALS}
    for s in smelters:  # the rows _match_smelters matches
        if not s.metal or s.metal.casefold() not in metals or (
                s.lookup_name and s.lookup_name.casefold() == "smelter not yet identified"):
            continue
        cid, well_formed = normalise_cid(s.cid_input or s.cid)
        known = ref.get(cid) if cid and well_formed else None
        if known is None or known.metal != normalise_metal(s.metal):
            return False
    return True


def _match_smelters(smelters: list[SmelterRow], ref: ReferenceList | None, lookup: FileLookup | None) -> list[Finding]:
    """Match each row against the reference list (with the file's own Look-up rows merged in);
    fill match/score/status/risk; findings per problem. ref None: no list could be loaded."""
    out: list[Finding] = []
    if ref is not None and lookup is not None and lookup.rows:
        ref = ref.with_lookup_rows(lookup.rows, fingerprint=lookup.fingerprint or None)
    metals = {m.casefold() for m in METALS}
    seen: dict[tuple[str | None, ...], Any] = {}
    risk_reported: set[tuple[str, str | None]] = set()
    rows = [s for s in smelters if s.metal and s.metal.casefold() in metals
            and not (s.lookup_name and s.lookup_name.casefold() == "smelter not yet identified")]

    def matched(s: SmelterRow) -> Any:
        declared_cid = s.cid_input or s.cid  # column A is what the supplier typed; F follows from it
        key = (s.metal, declared_cid, s.lookup_name, s.name, s.country)
        m = seen.get(key)
        if m is None:  # one row per mine repeats the same smelter: match it once
            m = seen[key] = ref.match(metal=s.metal, cid=declared_cid, lookup_name=s.lookup_name, name=s.name,
                                      country=s.country)
        return m

    # What the supplier declares for each matched smelter over all its rows (one row per mine): the
    # country it gives (E) and the mine countries (O), two of the five risk factors (cmrt.risk).
    declared: dict[str, tuple[set[str], set[str]]] = {}
    if ref is not None:
        for s in rows:
            m = matched(s)
            if m.cid:
                countries, mines = declared.setdefault(m.cid, (set(), set()))
                if s.country:
                    countries.add(s.country)
                if s.mine_country:
                    mines.add(s.mine_country)
    assessed: dict[str, Any] = {}
    for s in rows:
        declared_cid = s.cid_input or s.cid
        if ref is None:
            if cid_malformed(declared_cid):
                out.append(finding("cid_malformed", sheet="Smelter List", cell=f"A{s.row}", row=s.row,
                                   value=declared_cid))
            continue
        m = matched(s)
        risk, reasons = m.risk, []
        if m.cid:
            a = assessed.get(m.cid)
            if a is None:
                countries, mines = declared[m.cid]
                a = assessed[m.cid] = ref.risk_of(m.cid, declared_countries=sorted(countries),
                                                  source_countries=sorted(mines))
            risk, reasons = a.level, a.reason_texts()
        # one dict update instead of five validated attribute sets: this runs for every row of a long list
        s.__dict__.update(match=m.match, score=m.score, rmap_status=m.rmap_status, risk=risk,
                          risk_reasons=reasons, problems=list(m.problems))
        if m.cid and m.match != "fuzzy" or (m.match == "fuzzy" and "needs_review" not in m.problems and m.cid):
            s.__dict__.update(
                cid=s.cid if s.cid and "cid_other_metal" not in m.problems and "cid_unknown" not in m.problems else m.cid,
                standard_name=s.standard_name or m.standard_name, country=s.country or m.country)
        cid_cell = f"A{s.row}" if s.cid_input else f"F{s.row}"
        value = declared_cid or s.name or s.lookup_name
        for problem in m.problems:
            code = _PROBLEM_CODES.get(problem)
            if code is None:
                continue
            out.append(finding(code, sheet="Smelter List", cell=cid_cell if problem.startswith("cid") else f"C{s.row}",
                               row=s.row, value=declared_cid if problem.startswith("cid") else (s.name or s.lookup_name),
                               metal=s.metal, other_metal=getattr(m, "declared_cid_metal", None),
                               standard_name=m.standard_name, score=f"{m.score:.0f}"))
        if m.match == "unmatched" and "needs_review" not in m.problems and "cid_malformed" not in m.problems:
            out.append(finding("smelter_not_in_reference", sheet="Smelter List",
                               cell=f"D{s.row}" if is_not_listed(s) else f"C{s.row}", row=s.row, metal=s.metal,
                               value=value))
        elif is_not_listed(s) and m.match != "unmatched" and m.cid:
            out.append(finding("smelter_listed_elsewhere", sheet="Smelter List", cell=f"C{s.row}", row=s.row,
                               value=s.name, standard_name=m.standard_name, cid=m.cid))
        # no status on record (a CID only the workbook's Smelter Look-up knows, a list without statuses) is
        # not the same as "not enrolled": say we do not know rather than tell the supplier something untrue
        status_text = m.rmap_status or "unknown to us"
        smelter_key = (s.metal.casefold(), m.cid or value)
        if smelter_key in risk_reported:
            continue  # one risk finding per smelter, however many rows (mines) list it
        risk_reported.add(smelter_key)
        if risk == "high":
            from cmrt.risk import supplier_reasons

            why, said = supplier_reasons(assessed[m.cid]) if m.cid in assessed else \
                (phrase("risk_rmap_status_text", status_text=status_text), {"reasons_phrases": "risk_rmap_status_text"})
            out.append(finding("smelter_high_risk", sheet="Smelter List", cell=f"C{s.row}", row=s.row,
                               standard_name=m.standard_name or value, country=m.country or s.country or "unknown country",
                               status_text=status_text, reasons=why, **said))
        elif m.match != "unmatched" and m.cid and m.rmap_status is None:
            out.append(finding("smelter_status_unknown", sheet="Smelter List", cell=f"C{s.row}", row=s.row,
                               standard_name=m.standard_name or value, cid=m.cid))
        elif m.match != "unmatched" and m.cid and m.rmap_status not in ("Conformant", "Active"):
            out.append(finding("smelter_not_conformant", sheet="Smelter List", cell=f"C{s.row}", row=s.row,
                               standard_name=m.standard_name or value, status_text=status_text))
    return out
