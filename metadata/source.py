"""Read metadata documents (YAML or JSON) and remember where every value came from.

PyYAML's default loader follows YAML 1.1, which quietly turns ``no`` into ``False``,
``09:30`` into the integer 570 and ``2024-01-01`` into a date object, and lets a duplicated
key silently overwrite the first. In metadata each of those is a bug someone ships, so the
loader here follows the YAML 1.2 core schema and reports duplicate keys as errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from metadata.errors import Issue, MetadataError, pointer, pointer_parts

# libyaml's parser when PyYAML was built with it (the wheels are): parsing a pack's files
# is several times faster. Resolving and constructing stay in Python, so the results (and
# the YAML 1.2 rules below) are the same either way.
_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CoreSchemaLoader(_Base):  # type: ignore[misc,valid-type]
    """A SafeLoader that resolves plain scalars by the YAML 1.2 core schema."""


_CoreSchemaLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag in ("tag:yaml.org,2002:null",)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
):
    _CoreSchemaLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


@dataclass(frozen=True)
class Document:
    """Parsed metadata plus where each part of it sits in its source file."""

    data: Any
    file: str | None = None
    positions: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """JSON pointer → (line, column), both 1-based, for every key and list item."""
    issues: tuple[Issue, ...] = ()
    """Problems found while reading (duplicate keys); validation reports them with the rest."""

    def locate(self, ptr: str) -> tuple[int, int] | None:
        """Return the position of ``ptr`` or of its nearest ancestor that has one."""
        parts = pointer_parts(ptr)
        while True:
            found = self.positions.get(pointer(*parts))
            if found is not None:
                return found
            if not parts:
                return None
            parts.pop()

    def issue(self, ptr: str, message: str, code: str, *, severity: str = "error") -> Issue:
        """Return an Issue at ``ptr`` carrying this document's file and line."""
        where = self.locate(ptr)
        return Issue(
            pointer=ptr,
            message=message,
            code=code,
            severity=severity,
            file=self.file,
            line=where[0] if where else None,
            column=where[1] if where else None,
        )


def parse_text(text: str, *, file: str | None = None) -> Document:
    """Parse YAML (or JSON, which YAML 1.2 contains) into a Document.

    Raise MetadataError on a syntax error. Duplicate keys keep their first value and are
    recorded in ``Document.issues``, so validation can report them with everything else.
    """
    try:
        loader = _CoreSchemaLoader(text)
    except yaml.reader.ReaderError as exc:
        raise _unreadable(exc, text, file) from None
    positions: dict[str, tuple[int, int]] = {}
    issues: list[Issue] = []
    try:
        root = loader.get_single_node()
        if root is None:
            return Document(data={}, file=file, positions={"": (1, 1)})
        data = _convert(loader, root, "", positions, issues, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        issue = Issue(
            pointer="",
            message=f"not valid YAML: {exc.problem or exc.context}",
            code="syntax_error",
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        )
        raise MetadataError([issue], title="Metadata could not be read") from None
    except yaml.reader.ReaderError as exc:
        raise _unreadable(exc, text, file) from None
    except RecursionError:
        issue = Issue(
            pointer="",
            message="not valid metadata: the document nests too deeply",
            code="syntax_error",
            file=file,
        )
        raise MetadataError([issue], title="Metadata could not be read") from None
    finally:
        loader.dispose()
    return Document(data=data, file=file, positions=positions, issues=tuple(issues))


def _unreadable(exc: yaml.reader.ReaderError, text: str, file: str | None) -> MetadataError:
    """A character YAML does not allow (NUL, ESC and other control characters)."""
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    issue = Issue(
        pointer="",
        message=f"not valid YAML: character U+{code:04X} is not allowed in a YAML document",
        code="syntax_error",
        file=file,
        line=line,
        column=column,
    )
    return MetadataError([issue], title="Metadata could not be read")


def _convert(
    loader: _CoreSchemaLoader,
    node: yaml.Node,
    ptr: str,
    positions: dict[str, tuple[int, int]],
    issues: list[Issue],
    file: str | None,
) -> Any:
    positions.setdefault(ptr, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            child = ptr + pointer(key)
            where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in result:
                first = positions[child]
                issues.append(
                    Issue(
                        pointer=child,
                        message=f"key {key!r} appears twice (first on line {first[0]}); "
                        "the second would silently replace the first",
                        code="duplicate_key",
                        file=file,
                        line=where[0],
                        column=where[1],
                    )
                )
                continue
            positions[child] = where
            result[key] = _convert(loader, value_node, child, positions, issues, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(loader, item, f"{ptr}/{index}", positions, issues, file)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def load_file(path: str | Path) -> Document:
    """Read a metadata file (``.yaml``, ``.yml`` or ``.json``) into a Document."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MetadataError(
            [Issue(pointer="", message=f"file {str(path)!r} does not exist", code="no_file")],
            title="Metadata could not be read",
        ) from None
    except UnicodeDecodeError as exc:
        issue = Issue(
            pointer="",
            message=f"file is not UTF-8 text ({exc.reason} at byte {exc.start})",
            code="not_utf8",
            file=str(path),
        )
        raise MetadataError([issue], title="Metadata could not be read") from None
    if path.suffix == ".json" and "\t" in text:
        # YAML forbids tabs where JSON allows them; fall back to plain JSON (no lines).
        return _parse_json(text, file=str(path))
    return parse_text(text, file=str(path))


def _parse_json(text: str, *, file: str) -> Document:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        issue = Issue(
            pointer="",
            message=f"not valid JSON: {exc.msg}",
            code="syntax_error",
            file=file,
            line=exc.lineno,
            column=exc.colno,
        )
        raise MetadataError([issue], title="Metadata could not be read") from None
    return Document(data=data, file=file, positions={"": (1, 1)})
