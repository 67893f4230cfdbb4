"""Reading and judging the RMI Extended Minerals Reporting Template (EMRT): cobalt, copper, graphite,
lithium, mica and nickel, with a Mine List beside the Smelter List.

The layout and the Checker's rules of each template version are data (`cmrt/data/emrt-<version>.json`),
so a new minor version is a new data file and its tests. What differs from the CMRT and why it matters:
- the supplier chooses the minerals in scope (Declaration D12:G13); the per-mineral question rows hold the
  chosen minerals in alphabetical order, so row `first + i` belongs to the i-th chosen mineral, not to a
  fixed mineral;
- Q1 may be Unknown or "Not declaring", and Q2 Unknown: either takes the mineral out of the Checker's scope;
- company question C is asked per mineral.

`read()` gives the typed declaration; `checker()` one finding per item the template's Checker counts
(Checker!D2), compared with Excel's semantics on the raw cell values as `cmrt.rules.checker` does.
"""

from __future__ import annotations

from typing import Any

from cmrt import maps, reader
from cmrt.messages import finding
from cmrt.reader import FormulaValues, Sheet, _canonical_scope, parse_date, to_text
from cmrt.rules import unlisted_smelters_incomplete, xl_eq, xl_is_zero, xl_len_of_ref, xl_text
from cmrt.types import Answer, Declaration, Finding, MineRow, ProductRow

DECL = "Declaration"
SMELTERS = "Smelter List"
PRODUCTS = "Product List"


# -- the template maps (cmrt.maps) -----------------------------------------------------------------
def template_map(version: str) -> dict[str, Any]:
    """The cell map and Checker rules of one EMRT version (KeyError: no map for it)."""
    return maps.template_map("EMRT", version)


# -- reading ----------------------------------------------------------------------------------
def selected_minerals(decl: Sheet, tm: dict[str, Any]) -> list[str]:
    """The minerals the declaration selects, in the order the template lists them in the questions
    (alphabetical). A selector cell holds its mineral, or "(Delete <mineral>)", or nothing."""
    chosen = []
    for cell, mineral in tm["minerals"].items():
        text = to_text(decl.raw(cell))
        if text and text.casefold() == mineral.casefold():
            chosen.append(mineral)
    return sorted(chosen, key=str.casefold)


def _canonical(value: Any, allowed: list[str], question: str) -> str | None:
    text = to_text(value)
    if text is None:
        return None
    if question == "Q5" and isinstance(value, (int, float)) and not isinstance(value, bool) and value == 1:
        return "100%"  # the response rate typed as a number formatted 0%
    key = " ".join(text.split()).casefold()
    for answer in allowed:
        if answer.casefold() == key:
            return answer
    return " ".join(text.split())


def read_declaration(decl: Sheet, tm: dict[str, Any]) -> tuple[
        Declaration, list[str], dict[str, dict[str, Answer]], dict[str, Answer]]:
    """(declaration fields, minerals selected, per-mineral answers Q1..Q7 and C, company answers)."""
    fields: dict[str, Any] = {}
    for name, ref in tm["declaration"].items():
        raw = decl.raw(ref)
        if name == "effective_date":
            fields["effective_date"] = parse_date(raw)
            if parse_date(raw) is None or isinstance(raw, str):
                fields["effective_date_text"] = to_text(raw)
        elif name == "scope":
            fields[name] = _canonical_scope(raw)
        else:
            fields[name] = to_text(raw)
    minerals = selected_minerals(decl, tm)
    answer_col, comment_col = tm["answer_column"], tm["comment_column"]
    questions: dict[str, dict[str, Answer]] = {}
    for q, spec in tm["questions"].items():
        questions[q] = {
            mineral: Answer(answer=_canonical(decl.raw(f"{answer_col}{spec['first_row'] + i}"), spec["answers"], q),
                            comment=to_text(decl.raw(f"{comment_col}{spec['first_row'] + i}")))
            for i, mineral in enumerate(minerals)
        }
    company = {
        letter: Answer(answer=_canonical(decl.raw(f"{answer_col}{spec['row']}"), spec["answers"], letter),
                       comment=to_text(decl.raw(f"{comment_col}{spec['row']}")))
        for letter, spec in tm["company_questions"].items()
    }
    return Declaration(**fields), minerals, questions, company


def in_scope_minerals(minerals: list[str], questions: dict[str, dict[str, Answer]], tm: dict[str, Any]) -> list[str]:
    """A selected mineral is in scope unless Q1 rules it out (No, Unknown, Not declaring) or Q2 does (No,
    Unknown): the template's own test for asking questions 3-7 and C."""
    q1_out = {a.casefold() for a in tm["checker"]["q1_rules_out"]}
    q2_out = {a.casefold() for a in tm["checker"]["q2_rules_out"]}
    return [m for m in minerals
            if (questions["Q1"][m].answer or "").casefold() not in q1_out
            and (questions["Q2"][m].answer or "").casefold() not in q2_out]


def _rows(sheet: Sheet, first: int, columns: dict[str, str], last: int) -> list[dict[str, Any]]:
    from cmrt.reader import col_index

    index = {name: col_index(col) for col, name in columns.items()}
    out = []
    for r, raw in enumerate(sheet.rows[first - 1:last], start=first):
        if not any(raw[:max(index.values()) + 1]):
            continue
        values = {name: to_text(raw[i]) if i < len(raw) else None for name, i in index.items()}
        if any(values.values()):
            values["row"] = r
            out.append(values)
    return out


def read_mines(sheet: Sheet, tm: dict[str, Any], limit: int) -> list[MineRow]:
    spec = tm["mine_list"]
    return [MineRow(**row) for row in _rows(sheet, spec["first_row"], spec["columns"], spec["first_row"] + limit)]


def read_products(sheet: Sheet, tm: dict[str, Any], limit: int) -> list[ProductRow]:
    """Product List rows with the requester's number and name (columns D, E): as the CMRT's."""
    return reader.read_products(sheet, limit, tm)


# -- the template's Checker -------------------------------------------------------------------------
def checker(decl: Sheet, smelters: Sheet | None, products: Sheet | None, tm: dict[str, Any],
            formulas: FormulaValues | None = None) -> list[Finding]:
    """One finding per item the EMRT's Checker counts as missing; len() is Checker!D2.

    formulas: what the Smelter List's formula cells show after recalculation where the file has no
    cached values (`cmrt.reader.formula_values`), as for the CMRT."""
    rules = tm["checker"]
    cells = tm["declaration"]
    formulas = formulas or {}
    out: list[Finding] = []
    raw = decl.raw
    scope = raw(cells["scope"])

    def required(field_name: str) -> None:
        value = raw(cells[field_name])
        if field_name == "scope_description":
            needed = not (any(xl_eq(scope, s) for s in rules["scope_description_unless_scope"]) or xl_is_zero(scope))
            missing = needed and xl_is_zero(value)
        elif field_name in rules["email_fields"]:
            missing = "@" not in xl_text(value)  # ISNUMBER(SEARCH("@", ...))
        else:
            missing = xl_is_zero(value)
        if missing:
            out.append(finding(f"missing_{field_name}", sheet=DECL, cell=cells[field_name]))

    for name in rules["required_before_minerals"]:
        required(name)
    minerals = selected_minerals(decl, tm)
    if rules["minerals_required"] and not minerals:
        first, *_, last = tm["minerals"]
        out.append(finding("missing_minerals", sheet=DECL, cell=first, last_cell=last))
    for name in rules["required"]:
        if name not in rules["required_before_minerals"]:
            required(name)

    col = tm["answer_column"]
    questions = tm["questions"]
    q1_out, q2_out = rules["q1_rules_out"], rules["q2_rules_out"]

    def answer(q: str, i: int) -> Any:
        return raw(f"{col}{questions[q]['first_row'] + i}")

    def needed(rule: str, i: int) -> bool:
        if rule == "selected":
            return True
        q1_allows = not any(xl_eq(answer("Q1", i), a) for a in q1_out)
        if rule == "q1_allows":
            return q1_allows
        return q1_allows and not any(xl_eq(answer("Q2", i), a) for a in q2_out)

    in_scope = [needed("in_scope", i) for i in range(len(minerals))]

    def per_mineral(q: str) -> None:
        for i, mineral in enumerate(minerals):
            if needed(rules["per_mineral"][q], i) and xl_is_zero(answer(q, i)):
                out.append(finding("missing_answer", sheet=DECL, cell=f"{col}{questions[q]['first_row'] + i}",
                                   question=q.removeprefix("Q"), metal=mineral))

    for q in questions:
        if q.startswith("Q"):
            per_mineral(q)
    any_in_scope = any(in_scope)
    company = tm["company_questions"]
    for item in rules["company_order"]:
        if item in questions:  # a company question asked per mineral (C)
            per_mineral(item)
        elif item == "policy_url":
            url = rules["policy_url"]
            row = company[url["question"]]["row"]
            if any_in_scope and xl_eq(raw(f"{col}{row}"), "Yes") and xl_len_of_ref(raw(url["cell"])) <= 1:
                out.append(finding("missing_policy_url", sheet=DECL, cell=url["cell"]))
        elif any_in_scope and item in rules["company_when_any_in_scope"]:
            ref = f"{col}{company[item]['row']}"
            if xl_is_zero(raw(ref)):
                out.append(finding("missing_company_answer", sheet=DECL, cell=ref, letter=item))

    if xl_eq(scope, rules["products_when_scope"]):
        first = products.raw(rules["product_cell"]) if products is not None else ""
        if first is None or first == "":
            out.append(finding("missing_products", sheet=PRODUCTS, cell=rules["product_cell"]))

    spec = tm["smelter_list"]
    rows = smelters.rows if smelters is not None else []

    def b_and_c(r: int, row: list[Any]) -> tuple[Any, Any]:
        """Metal (B) and Look-up (C) as Excel shows them: a CID typed in A fills both by formula."""
        b = row[1] if len(row) > 1 else ""
        c = row[2] if len(row) > 2 else ""
        if (b == "" or c == "") and r in formulas and xl_text(row[0] if row else "") != "":
            metal_, lookup_, _ = formulas[r]
            b = b if b != "" else (metal_ or "")
            c = c if c != "" else (lookup_ or "")
        return b, c

    listed = [b_and_c(r, rows[r - 1]) for r in range(spec["first_row"], min(len(rows), spec["last_row"]) + 1)]
    for i, mineral in enumerate(minerals[:rules["smelter_mineral_slots"]]):
        if not (rules["smelters_per_in_scope_mineral"] and in_scope[i]):
            continue
        # COUNTIF(B, mineral) > 0 and COUNTIF(AB, mineral) > 0, where AB = IF(C="", "", B)
        has_metal = any(xl_eq(b, mineral) for b, _ in listed)
        has_lookup = any(xl_eq(b, mineral) and xl_text(c) != "" for b, c in listed)
        if not (has_metal and has_lookup):
            out.append(finding("missing_emrt_smelters", sheet=SMELTERS, cell=f"B{spec['first_row']}", metal=mineral))

    first = spec["first_row"]
    out.extend(unlisted_smelters_incomplete(
        rows, lambda r, row: b_and_c(r, row)[1] if r >= first else (row[2] if len(row) > 2 else ""), formulas,
        rules["unlisted_smelter_needs"]))
    return out


def answers_not_allowed(questions: dict[str, dict[str, Answer]], company: dict[str, Answer], minerals: list[str],
                        scope_minerals: list[str], tm: dict[str, Any]) -> list[Finding]:
    """Answers that are none of the template's (the Checker counts any text as given), where it needs one."""
    out = []
    col = tm["answer_column"]
    for q, spec in tm["questions"].items():
        for i, mineral in enumerate(minerals):
            a = questions[q][mineral].answer
            relevant = q in ("Q1", "Q2") or mineral in scope_minerals
            if relevant and a is not None and a not in spec["answers"]:
                out.append(finding("answer_not_allowed", sheet=DECL, cell=f"{col}{spec['first_row'] + i}", value=a,
                                   allowed=", ".join(spec["answers"])))
    for letter, spec in tm["company_questions"].items():
        a = company[letter].answer
        if scope_minerals and a is not None and a not in spec["answers"]:
            out.append(finding("answer_not_allowed", sheet=DECL, cell=f"{col}{spec['row']}", value=a,
                               allowed=", ".join(spec["answers"])))
    return out
