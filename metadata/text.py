"""Translatable text: every label ships in en and zh-CN."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    """Translatable text: locale → string, English first."""

    translations: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, value: str | Mapping[str, str]) -> Text:
        """Return Text from a plain (English) string or a locale map."""
        if isinstance(value, str):
            return cls((("en", value),))
        return cls(tuple(sorted(value.items(), key=lambda kv: (kv[0] != "en", kv[0]))))

    def get(self, locale: str = "en") -> str:
        """Return the text for ``locale``, falling back to its language, then English."""
        for wanted in (locale, locale.split("-")[0], "en"):
            for key, text in self.translations:
                if key == wanted:
                    return text
        return self.translations[0][1]

    def to_json(self) -> dict[str, str]:
        """Return the locale map."""
        return dict(self.translations)
