"""Judging a CMRT: the template's own Checker, exactly, and the contradictions it misses.

`checker()` reproduces the Checker sheet of the RMI template (formulas in
`../shared/cmrt/checker-formulas-6.5.txt`): each row is "necessary" (F) times "incomplete" (G), and the
count Excel shows in Checker!D2 is their sum. It compares the *raw* cell values with Excel's semantics
(a blank cell equals 0; text comparison ignores case but not spaces; SEARCH("@") on the text), so its
count is the one the supplier sees in Excel. One finding per counted item.

`contradictions()` works on the normalised declaration (trimmed, canonical answers) and the smelter rows.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Callable

from cmrt.messages import finding, phrase
from cmrt.reader import (
    ALLOWED_ANSWERS,
    CURRENT_MAP,
    NOT_IDENTIFIED,
    NOT_LISTED,
    FormulaValues,
    Sheet,
    allowed_answers,
)
from cmrt.types import METALS, Answer, Declaration, Finding, SmelterRow

DECL = "Declaration"
SMELTERS = "Smelter List"
PRODUCTS = "Product List"
SCOPE_A = "A. Company"
SCOPE_B = "B. Product (or List of Products)"


# -- Excel semantics ---------------------------------------------------------------------------
def xl_is_zero(v: Any) -> bool:
    """`cell=0` in Excel: true for a blank cell and the number 0; false for any text (even "0")."""
    if v is None or v == "":
        return True
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return v == 0
    return False


def xl_eq(v: Any, text: str) -> bool:
    """`cell="Text"` in Excel: case-insensitive for text, never equal for numbers or blanks."""
    return isinstance(v, str) and v != "" and v.casefold() == text.casefold()


def xl_text(v: Any) -> str:
    """The text Excel's SEARCH/LEN/& see for a value (blank = "", 12.0 = "12")."""
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


def xl_len_of_ref(v: Any) -> int:
    """LEN(reference): a reference to a blank cell is 0, so LEN gives 1."""
    if v is None or v == "":
        return 1
    return len(xl_text(v))


# -- the Checker -------------------------------------------------------------------------------
# The codes checker() emits: their number is always CheckResult.checker_remaining.
CHECKER_CODES: frozenset[str] = frozenset({
    "missing_company_name", "missing_scope", "missing_scope_description", "missing_contact_name",
    "missing_contact_email", "missing_contact_phone", "missing_authorizer", "missing_authorizer_email",
    "missing_effective_date", "missing_answer", "missing_answer_blocked", "missing_company_answer",
    "missing_policy_url", "missing_products", "missing_smelters", "unlisted_smelter_incomplete",
    # the EMRT's Checker (cmrt.emrt.checker)
    "missing_minerals", "missing_emrt_smelters",
    # CMRT 6.6: a 'Smelter not listed' row needs its name only
    "unlisted_smelter_unnamed",
})


def checker(decl: Sheet, smelters: Sheet | None, products: Sheet | None,
            formulas: FormulaValues | None = None, tm: dict[str, Any] = CURRENT_MAP) -> list[Finding]:
    """One finding per item the template's Checker counts as missing; len() is Checker!D2.

    formulas: what the Smelter List's formula cells show after Excel recalculates, for a file saved
    without cached values (`cmrt.reader.formula_values`): row -> (metal B, look-up C, country E). Used only
    where the file's cell is blank: B and C of a row with a CID typed in A (the template fills them from
    the CID), E of a 'Smelter not listed' row (filled when its name is a look-up name).
    tm: the map of the workbook's version (cmrt/data/cmrt-<version>.json): cells and required fields."""
    formulas = formulas or {}
    out: list[Finding] = []
    raw = decl.raw
    rules, cells, col = tm["checker"], tm["declaration"], tm["answer_column"]
    first_row = {q: spec["first_row"] for q, spec in tm["questions"].items()}

    # Checker rows 4-12, in the Checker's order
    scope = raw(cells["scope"])
    for field_name in rules["required"]:
        cell = cells[field_name]
        value = raw(cell)
        if field_name == "scope_description":
            # F6: needed unless the scope is A, B or blank (so also for any text that is not a scope)
            needed = not (any(xl_eq(scope, s) for s in rules["scope_description_unless_scope"]) or xl_is_zero(scope))
            missing = needed and xl_is_zero(value)
        elif field_name in rules["email_fields"]:
            missing = "@" not in xl_text(value)  # G8/G11: ISNUMBER(SEARCH("@", ...))
        else:
            missing = xl_is_zero(value)
        if missing:
            out.append(finding(f"missing_{field_name}", sheet=DECL, cell=cell))

    q1 = [raw(f"{col}{first_row['Q1'] + i}") for i in range(4)]
    q2 = [raw(f"{col}{first_row['Q2'] + i}") for i in range(4)]
    in_scope_flags = []
    for i, metal in enumerate(METALS):
        if xl_is_zero(q1[i]):
            out.append(finding("missing_answer", sheet=DECL, cell=f"{col}{first_row['Q1'] + i}", question="1",
                               metal=metal))
        # Q2 is required unless Q1 = No; it only counts as given when Q1 = Yes (B19 =IF(B14="Yes",D32,0)).
        if not xl_eq(q1[i], "No"):
            shown = q2[i] if xl_eq(q1[i], "Yes") else 0
            if xl_is_zero(shown):
                code = "missing_answer" if xl_eq(q1[i], "Yes") or xl_is_zero(q2[i]) else "missing_answer_blocked"
                out.append(finding(code, sheet=DECL, cell=f"{col}{first_row['Q2'] + i}", question="2", metal=metal,
                                   blocker="1"))
        q2_shown = q2[i] if xl_eq(q1[i], "Yes") else 0
        in_scope = not (xl_eq(q1[i], "No") or xl_eq(q2_shown, "No"))
        in_scope_flags.append(in_scope)
    for q in ("Q3", "Q4", "Q5", "Q6", "Q7", "Q8"):
        first = first_row[q]
        for i, metal in enumerate(METALS):
            if not in_scope_flags[i]:
                continue
            both_yes = xl_eq(q1[i], "Yes") and xl_eq(q2[i], "Yes")
            value = raw(f"{col}{first + i}")
            if xl_is_zero(value if both_yes else 0):
                blocked = not both_yes and not xl_is_zero(value)
                blocker = "1" if not xl_eq(q1[i], "Yes") else "2"
                out.append(finding("missing_answer_blocked" if blocked else "missing_answer", sheet=DECL,
                                   cell=f"{col}{first + i}", question=q[1:], metal=metal, blocker=blocker))

    if any(in_scope_flags):
        url = rules["policy_url"]
        for letter in rules["company_when_any_in_scope"]:
            ref = f"{col}{tm['company_questions'][letter]['row']}"
            if xl_is_zero(raw(ref)):
                out.append(finding("missing_company_answer", sheet=DECL, cell=ref, letter=letter))
            if letter == url["question"] and xl_eq(raw(ref), "Yes") and xl_len_of_ref(raw(url["cell"])) <= 1:
                out.append(finding("missing_policy_url", sheet=DECL, cell=url["cell"]))

    if xl_eq(scope, rules["products_when_scope"]):
        b6 = products.raw(rules["product_cell"]) if products is not None else ""
        if b6 is None or b6 == "":
            out.append(finding("missing_products", sheet=PRODUCTS, cell=rules["product_cell"]))

    rows = smelters.rows if smelters is not None else []
    smelter_first, smelter_last = tm["smelter_list"]["first_row"], tm["smelter_list"]["last_row"]

    def b_and_c(r: int, row: list[Any]) -> tuple[Any, Any]:
        b = row[1] if len(row) > 1 else ""
        c = row[2] if len(row) > 2 else ""
        if (b == "" or c == "") and r + 1 in formulas and xl_text(row[0] if row else "") != "":
            metal_, lookup_, _ = formulas[r + 1]  # A holds a CID: B and C are its look-up formulas
            b = b if b != "" else (metal_ or "")
            c = c if c != "" else (lookup_ or "")
        return b, c

    for i, metal in enumerate(METALS):
        if not in_scope_flags[i]:
            continue
        has_metal = has_metal_and_lookup = False
        key = metal.casefold()
        for r in range(smelter_first - 1, min(len(rows), smelter_last)):
            b, c = b_and_c(r, rows[r])
            if xl_eq(b, metal):
                has_metal = True
            ab = (xl_text(b) + xl_text(c)).casefold()  # AB = B&C, matched against "Metal?*"
            if ab.startswith(key) and len(ab) > len(key):
                has_metal_and_lookup = True
            if has_metal and has_metal_and_lookup:
                break
        if not (has_metal and has_metal_and_lookup):
            out.append(finding("missing_smelters", sheet=SMELTERS, cell=f"B{smelter_first}", metal=metal))

    out.extend(unlisted_smelters_incomplete(
        rows, lambda r, row: b_and_c(r - 1, row)[1] if r >= smelter_first else (row[2] if len(row) > 2 else ""),
        formulas, rules["unlisted_smelter_needs"]))
    return out


def spacing_findings(decl: Sheet, smelters: Sheet | None, tm: dict[str, Any] = CURRENT_MAP) -> list[Finding]:
    """Answers whose extra spaces or tabs make Excel's own comparisons fail ("Yes\t" is not "Yes" to the
    Checker, "Smelter not listed " is not "Smelter not listed"): we read them anyway, but the supplier's
    Checker counts them as missing, so say why."""
    out: list[Finding] = []
    col = tm["answer_column"]
    cells = [tm["declaration"]["scope"]]
    cells += [f"{col}{spec['first_row'] + i}" for spec in tm["questions"].values() for i in range(len(METALS))]
    cells += [f"{col}{spec['row']}" for spec in tm["company_questions"].values()]
    for ref_ in cells:
        v = decl.raw(ref_)
        if isinstance(v, str) and v.strip() and v != v.strip():
            out.append(finding("value_spacing", sheet=DECL, cell=ref_, value=v.strip()))
    if smelters is not None:
        for col, label in ((1, "B"), (2, "C")):
            first = tm["smelter_list"]["first_row"]
            rows = [r for r, row in enumerate(smelters.rows[first - 1:], start=first)
                    if len(row) > col and isinstance(row[col], str) and row[col].strip()
                    and row[col] != row[col].strip()]
            if rows:
                out.append(finding("smelter_value_spacing", sheet=SMELTERS, cell=f"{label}{rows[0]}",
                                   column=label, rows=_rows_text(rows)))
    return out


# -- contradictions the Checker misses ------------------------------------------------------------
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
# In a required field the Checker counts any text as given; these say "see elsewhere" or "nothing".
REFERENCES = {"same", "same as above", "as above", "ditto", "see above", "same as contact", "同上"}
NOT_GIVEN = {"n/a", "na", "-", "--", ".", "tbd", "none", "xx", "xxx"}
PLACEHOLDERS = REFERENCES | NOT_GIVEN
URL_RE = re.compile(r"(https?://|www\.)\S+|\b[a-z0-9-]+(\.[a-z0-9-]+)+\.[a-z]{2,}(/\S*)?", re.I)
LOW_Q6 = {"50% or less", "None"}
RECYCLED_WORDS = ("recycle", "scrap")


def _rows_text(rows: list[int]) -> str:
    return ", ".join(str(r) for r in rows[:10]) + (" ..." if len(rows) > 10 else "")


def in_scope_metals(questions: dict[str, dict[str, Answer]]) -> list[str]:
    """A metal is in scope when neither its Q1 nor its Q2 is "No"."""
    return [m for m in METALS if questions["Q1"][m].answer != "No" and questions["Q2"][m].answer != "No"]


def contradictions(
    declaration: Declaration,
    questions: dict[str, dict[str, Answer]],
    company: dict[str, Answer],
    smelters: list[SmelterRow],
    *,
    today: date,
    campaign_year: int | None,
    tm: dict[str, Any] = CURRENT_MAP,
) -> list[Finding]:
    out: list[Finding] = []
    scope_metals = in_scope_metals(questions)
    allowed = ALLOWED_ANSWERS if tm is CURRENT_MAP else allowed_answers(tm)
    col, cells = tm["answer_column"], tm["declaration"]
    first_row = {q: spec["first_row"] for q, spec in tm["questions"].items()}
    company_row = {letter: spec["row"] for letter, spec in tm["company_questions"].items()}

    def at(q: str, i: int) -> str:
        return f"{col}{first_row[q] + i}"

    # answers outside the template's lists (the Checker counts any text as "given"), where the Checker
    # needs an answer: Q2 unless Q1 is No, Q3-Q8 and the company questions while the metal (any metal) is in scope
    for q in first_row:
        for i, metal in enumerate(METALS):
            a = questions[q][metal].answer
            needed = q == "Q1" or (q == "Q2" and questions["Q1"][metal].answer != "No") or metal in scope_metals
            if needed and a is not None and a not in allowed[q]:
                out.append(finding("answer_not_allowed", sheet=DECL, cell=at(q, i), value=a,
                                   allowed=", ".join(allowed[q])))
    for letter, row in company_row.items():
        a = company[letter].answer
        if scope_metals and a is not None and a not in allowed[letter]:
            out.append(finding("answer_not_allowed", sheet=DECL, cell=f"{col}{row}", value=a,
                               allowed=", ".join(allowed[letter])))

    # contact details
    for field_name, label in (("contact_email", "contact email"), ("authorizer_email", "authorizer email")):
        value = getattr(declaration, field_name)
        cell = cells[field_name]
        if value and "@" in value and not EMAIL_RE.match(value):
            out.append(finding("email_malformed", sheet=DECL, cell=cell, field=label, value=value))
    # Required fields the Checker counts as given (any text) that hold a placeholder. The emails need no
    # rule here: a placeholder has no "@", so the Checker already counts it missing. The authorizer's title
    # and phone are optional: "N/A" or "same" there is a fair answer.
    for field_name, label in (("contact_name", "contact name"), ("contact_phone", "contact phone"),
                              ("authorizer", "authorizer's name")):
        value = getattr(declaration, field_name)
        key = value.casefold().strip() if value else ""
        if key in REFERENCES or key.rstrip(".") in REFERENCES:
            out.append(finding("contact_placeholder", sheet=DECL, cell=cells[field_name], field=label,
                               value=value))
        elif key in NOT_GIVEN or (key and key.rstrip(".") in NOT_GIVEN):
            out.append(finding("contact_not_given", sheet=DECL, cell=cells[field_name], field=label,
                               value=value))

    # effective date
    eff, eff_cell = declaration.effective_date, cells["effective_date"]
    if eff is None and declaration.effective_date_text:
        out.append(finding("effective_date_invalid", sheet=DECL, cell=eff_cell, value=declaration.effective_date_text))
    elif eff is not None:
        if eff <= date(2006, 12, 31):  # the template's own validation: after 31-Dec-2006
            out.append(finding("effective_date_out_of_range", sheet=DECL, cell=eff_cell, value=eff.isoformat()))
        elif eff > today:
            out.append(finding("effective_date_future", sheet=DECL, cell=eff_cell, value=eff.isoformat()))
        elif campaign_year is not None and eff < date(campaign_year, 1, 1):
            out.append(finding("effective_date_stale", sheet=DECL, cell=eff_cell, value=eff.isoformat(),
                               year=campaign_year))

    # smelters per metal
    by_metal: dict[str, list[SmelterRow]] = {m: [] for m in METALS}
    metal_of = {m.casefold(): m for m in METALS}
    for s in smelters:
        metal = metal_of.get(s.metal.casefold()) if s.metal else None
        if metal is not None:
            by_metal[metal].append(s)
    for i, metal in enumerate(METALS):
        rows = by_metal[metal]
        if metal not in scope_metals:
            if rows:
                out.append(finding("smelters_out_of_scope", sheet=SMELTERS, cell=f"B{rows[0].row}", metal=metal,
                                   count=len(rows), row=rows[0].row))
            continue
        q = {k: questions[k][metal].answer for k in questions}
        identified = [s for s in rows if s.lookup_name and s.lookup_name.casefold() != NOT_IDENTIFIED]
        not_identified = [s.row for s in rows if s.lookup_name and s.lookup_name.casefold() == NOT_IDENTIFIED]
        if q["Q7"] == "Yes":
            if not identified:
                out.append(finding("q7_yes_without_smelters", sheet=DECL, cell=at("Q7", i), metal=metal))
            if not_identified:
                out.append(finding("q7_yes_not_identified", sheet=DECL, cell=at("Q7", i), metal=metal,
                                   rows=_rows_text(not_identified)))
            if q["Q6"] is not None and q["Q6"] != "100%":
                out.append(finding("q7_yes_partial_response", sheet=DECL, cell=at("Q7", i), metal=metal, q6=q["Q6"]))
        if q["Q3"] == "No":
            reasons = []  # PHRASES keys, kept as a parameter so the reason can be said in any language
            if q["Q6"] is not None and q["Q6"] != "100%":
                reasons.append("q6_partial")
            if q["Q7"] == "No":
                reasons.append("q7_no")
            if reasons:
                out.append(finding("q3_no_unsupported", sheet=DECL, cell=at("Q3", i), metal=metal,
                                   reason=" and ".join(phrase(r, q6=q["Q6"]) for r in reasons),
                                   reason_phrases=",".join(reasons), q6=q["Q6"]))
        if q["Q3"] == "Yes" and q["Q4"] == "No":
            out.append(finding("q3_yes_q4_no", sheet=DECL, cell=at("Q4", i), metal=metal))
        if q["Q5"] == "Yes":
            bad = [s.row for s in rows if (s.recycled_scrap or "").casefold() == "no"
                   or (s.mine_name and not any(w in s.mine_name.casefold() for w in RECYCLED_WORDS))]
            if bad:
                out.append(finding("q5_yes_not_recycled", sheet=DECL, cell=at("Q5", i), metal=metal,
                                   rows=_rows_text(bad)))
        if q["Q6"] in LOW_Q6:
            out.append(finding("q6_low_response", sheet=DECL, cell=at("Q6", i), metal=metal, q6=q["Q6"]))
        if q["Q8"] == "No":
            out.append(finding("q8_no", sheet=DECL, cell=at("Q8", i), metal=metal))

    # company questions
    a, b, e = company["A"].answer, company["B"].answer, company["E"].answer
    comment_col = tm["comment_column"]
    if a == "No" and b == "Yes":
        out.append(finding("policy_public_without_policy", sheet=DECL, cell=f"{col}{company_row['B']}"))
    url = company["B"].comment
    if b == "Yes" and url and len(url) > 1 and not URL_RE.search(url):
        out.append(finding("policy_url_invalid", sheet=DECL, cell=f"{comment_col}{company_row['B']}", value=url))
    if e == allowed["E"][1] and not company["E"].comment:  # "Yes, using other format (describe)"
        out.append(finding("other_format_without_comment", sheet=DECL, cell=f"{comment_col}{company_row['E']}"))
    return out


CID_RE = re.compile(r"^CID\d{6}$")
OLD_ID_RE = re.compile(r"^\d[A-Z]{3}\d{3}$")  # pre-2014 IDs such as 1JPN072


def smelter_row_findings(smelters: list[SmelterRow]) -> list[Finding]:
    """Row-level problems that need no reference list, plus duplicates."""
    out: list[Finding] = []
    metals = {m.casefold(): m for m in METALS}
    seen: dict[tuple[str, str], list[int]] = {}
    for s in smelters:
        has_details = bool(s.lookup_name or s.name or s.cid_input)
        if s.metal is None:
            if has_details:
                out.append(finding("smelter_metal_missing", sheet=SMELTERS, cell=f"B{s.row}", row=s.row))
        elif s.metal.casefold() not in metals:
            out.append(finding("smelter_metal_invalid", sheet=SMELTERS, cell=f"B{s.row}", row=s.row, value=s.metal))
        elif not s.lookup_name:
            out.append(finding("smelter_lookup_missing", sheet=SMELTERS, cell=f"C{s.row}", row=s.row))
        if s.lookup_name and s.lookup_name.casefold() == NOT_IDENTIFIED:
            out.append(finding("smelter_not_identified", sheet=SMELTERS, cell=f"C{s.row}", row=s.row, metal=s.metal))
        if (s.recycled_scrap or "").casefold() == "yes" and s.mine_name and not any(
                w in s.mine_name.casefold() for w in RECYCLED_WORDS):
            out.append(finding("smelter_recycled_mine_conflict", sheet=SMELTERS, cell=f"N{s.row}", row=s.row))
        cid = s.cid_input or s.cid  # as matching reads it: column A is what the supplier typed
        if s.metal and cid:
            seen.setdefault((s.metal.casefold(), cid.upper()), []).append(s.row)
    for (metal, cid), rows in seen.items():
        if len(rows) > 1:
            out.append(finding("smelter_duplicate", sheet=SMELTERS, cell=f"F{rows[1]}", rows=_rows_text(rows),
                               metal=metals.get(metal, metal), cid=cid))
    return out


def cid_malformed(value: str | None) -> bool:
    if not value:
        return False
    v = value.strip().upper()
    return not (CID_RE.match(v) or OLD_ID_RE.match(v))


def is_not_listed(s: SmelterRow) -> bool:
    return bool(s.lookup_name) and s.lookup_name.casefold() == NOT_LISTED  # type: ignore[union-attr]


# -- the company behind the declaration ------------------------------------------------------------
# "X, a business of Y", "X (Y)", "X, formerly Y", "X d/b/a Y": each part may be the name the compliance
# team knows the supplier by.
_DECORATION_RE = re.compile(
    r"\(|\)|\s/\s|\s[-\u2013\u2014]\s|,?\s*\b(?:an?|the)\s+(?:business|division|subsidiary|unit|member|part|brand|"
    r"affiliate|company|group\s+company)\s+of\b|,?\s*\b(?:part\s+of|formerly|previously|now|"
    r"doing\s+business\s+as|trading\s+as|d\s*/\s*b\s*/\s*a|dba|t\s*/\s*a)\b|,\s*an?\s+(?=[\w&.' -]+\bcompany\b)",
    re.I)
SAME_COMPANY_SCORE = 90.0  # token_sort_ratio of the names without legal forms: typos and plurals pass


def _company_keys(name: str) -> list[tuple[str, ...]]:
    """The name's parts (decorations split off), each as its words without case, accents, punctuation
    or legal forms (cmrt.reference's smelter-name normalisation)."""
    from cmrt.reference import normalise_name

    parts = [name, *(p for p in _DECORATION_RE.split(name) if p and p.strip(" ,.;"))]
    keys = []
    for part in parts:
        key = tuple(normalise_name(re.sub(r"\bcompany$", "", part.strip(" ,.;"), flags=re.I) or part).split())
        if key and key not in keys:
            keys.append(key)
    return keys


def _same_company(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    from rapidfuzz import fuzz

    if set(a) <= set(b) or set(b) <= set(a):  # "Bosch" and "Robert Bosch"
        return True
    if "".join(a) == "".join(b):  # "Foxconn" and "Fox Conn"
        return True
    for short, long_ in ((a, b), (b, a)):  # "HP" and "Hewlett Packard"
        if len(short) == 1 and len(long_) > 1 and short[0] == "".join(w[0] for w in long_):
            return True
    return fuzz.token_sort_ratio(" ".join(a), " ".join(b)) >= SAME_COMPANY_SCORE


def company_name_findings(company_name: str | None, expected_company: str | None) -> list[Finding]:
    """A warning when the declaration's company name (D8) is clearly another company's than the supplier
    the survey went to: a forwarded CMRT (a supplier's, a smelter's) answers for someone else. Never an
    error: groups, trade names and renamed companies are common, and a reviewer tells them apart."""
    if not company_name or not expected_company or not expected_company.strip():
        return []
    found_keys, expected_keys = _company_keys(company_name), _company_keys(expected_company)
    if not found_keys or not expected_keys:
        return []
    if any(_same_company(f, e) for f in found_keys for e in expected_keys):
        return []
    return [finding("company_name_mismatch", sheet=DECL, cell="D8", found=company_name,
                    expected=expected_company.strip())]


def unlisted_smelters_without_country(smelters: list[SmelterRow], tm: dict[str, Any]) -> list[Finding]:
    """Where the version's Checker no longer counts a 'Smelter not listed' row's country (CMRT 6.6), a
    named row without one is still worth a word: the country tells same-named smelters apart."""
    if "E" in tm["checker"]["unlisted_smelter_needs"]:
        return []  # the Checker itself counts it (unlisted_smelter_incomplete)
    rows = [s.row for s in smelters if is_not_listed(s) and s.name and not s.country]
    if not rows:
        return []
    return [finding("unlisted_smelter_country_missing", sheet=SMELTERS, cell=f"E{rows[0]}", rows=_rows_text(rows))]


def unlisted_smelters_incomplete(rows: list[list[Any]], lookup_value: Callable[[int, list[Any]], Any],
                                 formulas: dict[int, Any], needs: list[str] | tuple[str, ...] = ("D", "E"),
                                 ) -> list[Finding]:
    """The Checker's rule, in the CMRT and the EMRT alike: a "Smelter not listed" row needs the columns
    of the version's map (`unlisted_smelter_needs`): a name (D) and, up to CMRT 6.5, a country (E; where
    the file kept no formula values, E's formula: the country of the name in D).
    ``lookup_value(r, row)``: column C of 1-based row r as the Checker reads it."""
    need_country = "E" in needs
    incomplete = []
    for r, row in enumerate(rows, start=1):
        if xl_eq(lookup_value(r, row), "Smelter not listed"):
            d = row[3] if len(row) > 3 else ""
            e = row[4] if len(row) > 4 else ""
            if need_country and e == "" and r in formulas:
                e = formulas[r][2] or ""
            if d == "" or (need_country and e == ""):
                incomplete.append(r)
    if not incomplete:
        return []
    code = "unlisted_smelter_incomplete" if need_country else "unlisted_smelter_unnamed"
    return [finding(code, sheet=SMELTERS, cell=f"D{incomplete[0]}", rows=_rows_text(incomplete))]
