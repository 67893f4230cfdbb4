"""The languages cmrt speaks, without Babel: the catalogue folders under cmrt/locale/ and the CMRT's own
language selector (Declaration!D3), so the reader can say which language a workbook was filled in."""

from __future__ import annotations

SOURCE = "en"
# Catalogue folders: the CMRT's ten languages (Chinese as the template has it, Simplified) and
# Traditional Chinese for suppliers in Taiwan and Hong Kong.
LANGUAGES: tuple[str, ...] = ("en", "zh_Hans", "zh_Hant", "ja", "ko", "fr", "pt", "de", "es", "it", "tr")

# The CMRT's language selector as the template writes it (the header of its hidden sheet L), casefolded.
CMRT_LANGUAGES: dict[str, str] = {
    "english": "en", "中文 chinese": "zh_Hans", "日本語 japanese": "ja", "한국어 korean": "ko",
    "français": "fr", "português": "pt", "deutsch": "de", "español": "es", "italiano": "it", "türkçe": "tr",
}


def cmrt_language(selector: str | None) -> str | None:
    """The catalogue for the language a CMRT was filled in (its Declaration!D3 selector), or None."""
    return CMRT_LANGUAGES.get(" ".join((selector or "").split()).casefold())
