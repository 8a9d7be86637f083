"""Semantic versions and the version ranges packs use for dependencies.

Ranges follow npm's and Cargo's spelling, which pack authors already know:

- ``1.2.3`` or ``=1.2.3``: exactly that version;
- ``^1.2``: compatible with 1.2 (``>=1.2.0 <2.0.0``; for 0.x, ``^0.3`` is ``>=0.3.0 <0.4.0``);
- ``~1.2``: patch updates only (``>=1.2.0 <1.3.0``);
- ``>=1.0``, ``>1.0``, ``<2``, ``<=1.4``, combined with spaces (all must hold);
- ``*``: any version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
VERSION_PATTERN = _VERSION.pattern
_PARTIAL = re.compile(r"^(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?$")
_COMPARATOR = re.compile(r"^(\^|~|>=|<=|>|<|=)?(.+)$")


class VersionError(ValueError):
    """Text that is not a version or a range."""


@total_ordering
@dataclass(frozen=True)
class Version:
    """A semantic version; a pre-release (``1.0.0-rc.1``) sorts before its release."""

    major: int
    minor: int
    patch: int
    pre: str = ""

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION.match(str(text))
        if match is None:
            raise VersionError(f"{text!r} is not a semantic version such as 1.4.0")
        major, minor, patch, pre = match.groups()
        return cls(int(major), int(minor), int(patch), pre or "")

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in self.pre.split(".") if p)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.pre}" if self.pre else "")


def _partial(text: str) -> tuple[Version, int]:
    """Return the version a partial like ``1.2`` stands for and how many parts it had."""
    match = _PARTIAL.match(text)
    if match is None:
        return Version.parse(text), 3
    parts = [p for p in match.groups() if p is not None]
    numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    return Version(*numbers), len(parts)


@dataclass(frozen=True)
class VersionRange:
    """A set of versions: every comparator must hold."""

    text: str
    comparators: tuple[tuple[str, Version], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        text = str(text).strip()
        if text in ("*", ""):
            return cls("*", ())
        comparators: list[tuple[str, Version]] = []
        try:
            for part in text.split():
                match = _COMPARATOR.match(part)
                assert match is not None
                op, rest = match.group(1) or "=", match.group(2)
                version, count = _partial(rest)
                if op == "^":
                    upper = (
                        Version(version.major + 1, 0, 0)
                        if version.major
                        else Version(0, version.minor + 1, 0)
                        if count > 1
                        else Version(1, 0, 0)
                    )
                    comparators += [(">=", version), ("<", upper)]
                elif op == "~" or (op == "=" and count < 3):
                    upper = (
                        Version(version.major + 1, 0, 0)
                        if count == 1
                        else Version(version.major, version.minor + 1, 0)
                    )
                    comparators += [(">=", version), ("<", upper)]
                else:
                    comparators.append((op, version))
        except VersionError:
            raise VersionError(
                f"{text!r} is not a version range such as ^1.2, ~1.4.0, >=1.0 <2.0 or *"
            ) from None
        return cls(text, tuple(comparators))

    def allows(self, version: Version) -> bool:
        checks = {
            "=": version.__eq__,
            ">=": version.__ge__,
            "<=": version.__le__,
            ">": version.__gt__,
            "<": version.__lt__,
        }
        return all(checks[op](bound) for op, bound in self.comparators)

    def __str__(self) -> str:
        return self.text
