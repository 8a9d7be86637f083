"""Languages: which one a request wants, and a label in it."""

from __future__ import annotations

from metadata.text import Text

#: The languages every label ships in; the first is the fallback.
LOCALES = ("en", "zh-CN")


def negotiate(accept_language: str | None, explicit: str | None = None) -> str:
    """Return the locale for a request: ``explicit`` (a ``locale`` argument) when it is one
    of LOCALES, else the best match of an Accept-Language header, else English.

    ``zh``, ``zh-CN``, ``zh-Hans`` and ``zh-SG`` read as zh-CN (simplified Chinese).
    """
    if explicit:
        found = _match(explicit)
        if found is not None:
            return found
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        found = _match(tag.strip())
        if found is not None and quality > 0:
            ranked.append((-quality, index, found))
    return sorted(ranked)[0][2] if ranked else LOCALES[0]


def _match(tag: str) -> str | None:
    lowered = tag.lower()
    if lowered in ("zh", "zh-cn", "zh-hans", "zh-hans-cn", "zh-sg"):
        return "zh-CN"
    if lowered == "en" or lowered.startswith("en-"):
        return "en"
    return None


def pick(text: Text | None, locale: str) -> str:
    """Return ``text`` in ``locale`` (English where it has no translation)."""
    return text.get(locale) if text is not None else ""
