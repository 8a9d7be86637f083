"""Validation: the JSON Schema first, then semantic checks, all errors reported together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metadata.errors import Issue, MetadataError, sort_issues
from metadata.model import Model, build_model
from metadata.source import Document, load_file, parse_text
from metadata.validation.automation import check_automation
from metadata.validation.permissions import check_permissions
from metadata.validation.rules import check_rules
from metadata.validation.semantic import check_semantics
from metadata.validation.structural import check_structure
from metadata.validation.views import check_views


@dataclass(frozen=True)
class ValidMetadata:
    """A document that passed validation, its model and any warnings."""

    document: Document
    model: Model
    warnings: tuple[Issue, ...]


def validate(doc: Document, *, structure: bool = True) -> ValidMetadata:
    """Validate ``doc``; raise MetadataError with every error (and warning) found.

    ``structure=False`` skips the JSON Schema, for documents assembled from parts that
    each passed it (a pack install merges canonical units): the semantic checks still
    run, because parts that are valid alone can still refer to what is not there.
    """
    structural = check_structure(doc) if structure else []
    issues = sort_issues([*doc.issues, *structural, *check_semantics(doc), *check_permissions(doc)])
    if any(i.severity == "error" for i in issues):
        raise MetadataError(issues)
    model = build_model(doc.data)
    # Expressions are typed by the fields they name, so they are checked on the model.
    issues = sort_issues(
        [
            *issues,
            *check_rules(doc, model),
            *check_automation(doc, model),
            *check_views(doc, model),
        ]
    )
    if any(i.severity == "error" for i in issues):
        raise MetadataError(issues)
    return ValidMetadata(document=doc, model=model, warnings=tuple(issues))


def validate_data(data: Any, *, file: str | None = None, structure: bool = True) -> ValidMetadata:
    """Validate already-parsed data (e.g. a JSON request body), which has no line numbers."""
    return validate(Document(data=data, file=file), structure=structure)


def validate_text(text: str, *, file: str | None = None) -> ValidMetadata:
    """Parse and validate YAML or JSON text."""
    return validate(parse_text(text, file=file))


def validate_file(path: str | Path) -> ValidMetadata:
    """Read and validate a metadata file."""
    return validate(load_file(path))
