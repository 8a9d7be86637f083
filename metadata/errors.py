"""Problems found in metadata, each tied to the place a person has to fix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass


def pointer(*parts: str | int) -> str:
    """Return the RFC 6901 JSON pointer for a path of keys and indexes."""
    text = "/".join(map(str, parts))
    if "~" in text or text.count("/") != len(parts) - 1:  # a part needs escaping
        text = "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "/" + text if parts else ""


def pointer_parts(ptr: str) -> list[str]:
    """Split an RFC 6901 JSON pointer into its unescaped parts."""
    if not ptr:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in ptr.lstrip("/").split("/")]


@dataclass(frozen=True)
class Issue:
    """One thing wrong (or worth a warning) in a metadata document."""

    pointer: str
    """JSON pointer into the document, e.g. ``/objects/account/fields/name/type``."""
    message: str
    """A plain sentence: what was found and what would be valid."""
    code: str
    """A stable machine-readable kind, e.g. ``unknown_reference``."""
    severity: str = "error"
    """``error`` blocks validation; ``warning`` is reported but accepted."""
    file: str | None = None
    """The source file, when the document came from one."""
    line: int | None = None
    """1-based line in ``file`` where the problem sits, when known."""
    column: int | None = None
    """1-based column in ``file``, when known."""

    def location(self) -> str:
        """Return ``file:line:column`` (or the parts known) followed by the pointer."""
        place = ":".join(
            str(part) for part in (self.file, self.line, self.column) if part is not None
        )
        target = self.pointer or "/"
        return f"{place} {target}" if place else target

    def to_dict(self) -> dict[str, object]:
        """Return the issue as JSON-ready data."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"


class MetadataError(Exception):
    """Metadata failed validation; ``issues`` holds every problem found, not just the first."""

    def __init__(self, issues: Sequence[Issue], *, title: str = "Metadata is invalid") -> None:
        self.issues = list(issues)
        self.title = title
        count = len(self.errors)
        super().__init__(f"{title}: {count} problem{'s' if count != 1 else ''}")

    @property
    def errors(self) -> list[Issue]:
        """Return the issues that block, leaving out warnings."""
        return [i for i in self.issues if i.severity == "error"]

    def report(self) -> str:
        """Return a multi-line report listing every issue with its location."""
        lines = [str(self)]
        lines.extend(f"  {issue}" for issue in self.issues)
        return "\n".join(lines)


def sort_issues(issues: Iterable[Issue]) -> list[Issue]:
    """Return issues in reading order: by file, line, then pointer."""
    return sorted(
        issues,
        key=lambda i: (i.file or "", i.line if i.line is not None else 10**9, i.pointer),
    )
