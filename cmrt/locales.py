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


# Each language by one name, in its own script or in English (older Excel builds keep the English name).
_NAMES: dict[str, str] = {
    "english": "en", "中文": "zh_Hans", "chinese": "zh_Hans", "日本語": "ja", "japanese": "ja", "한국어": "ko",
    "korean": "ko", "français": "fr", "french": "fr", "português": "pt", "portuguese": "pt", "deutsch": "de",
    "german": "de", "español": "es", "spanish": "es", "italiano": "it", "italian": "it", "türkçe": "tr",
    "turkish": "tr", "繁體中文": "zh_Hant",
}


def cmrt_language(selector: str | None) -> str | None:
    """The catalogue for a language named as the CMRT's selector (Declaration!D3) names it: the selector's
    text ("中文 Chinese"), or one of its names ("日本語", "German"); None for anything else. Both names of
    a two-word selector must agree ("中文 Japanese" is None)."""
    text = " ".join((selector or "").split()).casefold()
    if text in CMRT_LANGUAGES or text in _NAMES:
        return CMRT_LANGUAGES.get(text) or _NAMES[text]
    found = {_NAMES.get(part) for part in text.split()}
    return found.pop() if len(found) == 1 and None not in found else None
