"""The custom search attributes of a supplier survey: the one list of names and types.

Workflows upsert these keys; `outreach up` registers them on the dev server and the production
compose file registers the same names (tests/test_compose.py checks that the two agree).
"""

from __future__ import annotations

from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

CAMPAIGN = SearchAttributeKey.for_keyword("OutreachCampaign")
SUPPLIER = SearchAttributeKey.for_keyword("OutreachSupplier")
STATE = SearchAttributeKey.for_keyword("OutreachState")
OUTCOME = SearchAttributeKey.for_keyword("OutreachOutcome")

ALL_KEYS = (CAMPAIGN, SUPPLIER, STATE, OUTCOME)

# The type names as the Temporal CLI spells them (`--search-attribute NAME=Keyword`).
_CLI_TYPE_NAMES = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}

SEARCH_ATTRIBUTE_TYPES: dict[str, str] = {
    key.name: _CLI_TYPE_NAMES[key.indexed_value_type] for key in ALL_KEYS
}
