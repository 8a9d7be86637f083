"""Request bodies of the admin API (they document themselves in OpenAPI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from msgspec import Meta

#: Whole numbers a client sends are checked against the column they reach, here where
#: they are declared (and shown in the OpenAPI document), never by a database error.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
Version = Annotated[int, Meta(ge=1, le=INT32_MAX, description="A metadata version number.")]
AuditId = Annotated[int, Meta(ge=1, le=INT64_MAX, description="An audit entry id.")]
Days = Annotated[int, Meta(ge=1, le=36_500, description="Days (at most 100 years).")]
#: A display name or label kept in a 200-character column.
Label = Annotated[str, Meta(max_length=200, description="At most 200 characters.")]


@dataclass
class TenantCreate:
    name: str
    """Identifier: 1-40 lowercase letters, digits and underscores, starting with a letter."""
    display_name: Label | None = None
    timezone: str = "UTC"
    """IANA time zone, e.g. Asia/Shanghai."""


@dataclass
class MetadataChange:
    """A whole metadata document to plan or apply, as JSON or as YAML text."""

    metadata: dict[str, Any] | None = None
    """The document as JSON (``{"objects": {...}}``)."""
    metadata_yaml: str | None = None
    """The document as YAML or JSON text; errors then carry line numbers."""
    allow_destructive: bool = False
    message: str = ""
    author: str = "api"
    expected_version: Version | None = None
    """Refuse unless this version is still active (optimistic concurrency)."""


@dataclass(kw_only=True)
class ChangeOptions:
    """How an object or field change is made (body fields, or query parameters of DELETE)."""

    allow_destructive: bool = False
    dry_run: bool = False
    """Return the plan instead of applying it."""
    message: str = ""
    author: str = "api"
    expected_version: Version | None = None
    """Refuse unless this version is still active (default: the version the change read)."""


@dataclass(kw_only=True)
class DefinitionChange(ChangeOptions):
    """An object or field definition (as in a metadata file, without its name)."""

    definition: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    """Required when creating; ignored when replacing (the name is in the URL)."""


@dataclass(kw_only=True)
class Rename(ChangeOptions):
    to: str
