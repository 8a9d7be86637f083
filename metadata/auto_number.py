"""Auto-number patterns such as ``Q-{YYYY}-{0000}``: parsing, checking and rendering."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\{([^{}]*)\}")
_DATE_TOKENS = {"YYYY", "YY", "MM", "DD"}
#: Date parts a reset period needs in the pattern so numbers stay unique across periods.
_RESET_NEEDS = {
    "yearly": ({"YYYY", "YY"},),
    "monthly": ({"YYYY", "YY"}, {"MM"}),
    "daily": ({"YYYY", "YY"}, {"MM"}, {"DD"}),
}


@dataclass(frozen=True)
class AutoNumberFormat:
    """A parsed pattern: literal text and tokens in order, plus the counter width."""

    parts: tuple[tuple[str, str], ...]
    """``("literal", text)``, ``("date", "YYYY")`` or ``("counter", "0000")`` in order."""
    width: int

    def render(self, counter: int, on: dt.date) -> str:
        """Return the number for ``counter`` assigned on date ``on``."""
        out = []
        for kind, value in self.parts:
            if kind == "literal":
                out.append(value)
            elif kind == "counter":
                out.append(str(counter).zfill(self.width))
            else:
                out.append(
                    {
                        "YYYY": f"{on.year:04d}",
                        "YY": f"{on.year % 100:02d}",
                        "MM": f"{on.month:02d}",
                        "DD": f"{on.day:02d}",
                    }[value]
                )
        return "".join(out)


def period_key(reset: str, on: dt.date) -> str:
    """Return the counter bucket for ``reset`` on date ``on`` ('' when it never resets)."""
    return {
        "never": "",
        "yearly": f"{on.year:04d}",
        "monthly": f"{on.year:04d}-{on.month:02d}",
        "daily": on.isoformat(),
    }[reset]


def parse_format(pattern: str, reset: str = "never") -> AutoNumberFormat:
    """Parse ``pattern``; raise ValueError with a plain explanation if it is unusable."""
    parts: list[tuple[str, str]] = []
    counters: list[str] = []
    dates: set[str] = set()
    position = 0
    for match in _TOKEN.finditer(pattern):
        if match.start() > position:
            parts.append(("literal", pattern[position : match.start()]))
        token = match.group(1)
        if token in _DATE_TOKENS:
            parts.append(("date", token))
            dates.add(token)
        elif token and set(token) == {"0"}:
            parts.append(("counter", token))
            counters.append(token)
        else:
            raise ValueError(
                f"unknown token {{{token}}} in {pattern!r}; use {{YYYY}}, {{YY}}, {{MM}}, "
                "{DD} or a run of zeros such as {0000} for the counter"
            )
        position = match.end()
    tail = pattern[position:]
    if "{" in tail or "}" in tail:
        raise ValueError(f"unbalanced brace in {pattern!r}")
    if tail:
        parts.append(("literal", tail))
    if len(counters) != 1:
        raise ValueError(
            f"{pattern!r} must contain exactly one counter such as {{0000}}, found {len(counters)}"
        )
    for needed in _RESET_NEEDS.get(reset, ()):
        if not needed & dates:
            shown = " or ".join("{" + t + "}" for t in sorted(needed))
            raise ValueError(
                f"reset '{reset}' restarts the counter, so {pattern!r} must include {shown} "
                "to keep numbers unique"
            )
    return AutoNumberFormat(parts=tuple(parts), width=len(counters[0]))
