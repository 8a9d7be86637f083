"""Conversions: one record becomes several, by a field map declared in metadata.

A lead becomes an account, a contact and an opportunity (线索转换). Each target object
gets values computed over the source record (expressions, docs/expressions.md), lookups
to the targets made before it (``links``) and, where ``match`` names fields, a duplicate
check: existing records with an equal value in any of them are offered, and the person
converting chooses between using one (its empty fields are filled) and creating a new
record. Afterwards the source record is updated (``update``), all in one transaction,
with the permissions of the person converting.

```yaml
conversions:
  convert_lead:
    label: {en: Convert, zh-CN: 转换}
    object: lead
    roles: [sales_rep]
    condition: "ISBLANK(pool) AND status = 'contacted'"
    targets:
      account:
        object: account
        values: {name: "BLANKVALUE(company, name)", phone: mobile}
        match: [name, phone]
      contact: {object: contact, values: {name: name}, links: {account: account}}
      opportunity: {object: opportunity, values: {name: name}, links: {lead: source}}
    update: {status: "'qualified'"}
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from metadata.identifiers import IDENTIFIER_PATTERN, humanize
from metadata.identifiers import identifier_schema as _identifier
from metadata.identifiers import identifiers_schema as _names
from metadata.text import Text

#: In ``links``, the record being converted (an opportunity's source lead).
SOURCE = "source"


@dataclass(frozen=True)
class Target:
    """One record a conversion makes (or finds)."""

    name: str
    object: str
    values: Mapping[str, str]
    """Field → expression over the source record."""
    links: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Lookup field → an earlier target's name, or ``source``."""
    match: tuple[str, ...] = ()
    """Fields whose equal values make an existing record a possible duplicate."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"object": self.object, "values": dict(self.values)}
        if self.links:
            out["links"] = dict(self.links)
        if self.match:
            out["match"] = list(self.match)
        return out


@dataclass(frozen=True)
class Conversion:
    """A record of ``object`` made into the ``targets``, in order."""

    name: str
    label: Text
    object: str
    targets: tuple[Target, ...]
    roles: tuple[str, ...] = ()
    """Roles (and the roles above them) that may convert; empty: anyone who can edit."""
    condition: str | None = None
    """A boolean expression the source record must meet."""
    update: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Field → expression: the source record after converting."""
    message: Text | None = None
    """The refusal when ``condition`` does not hold."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label.to_json(),
            "object": self.object,
            "targets": {t.name: t.to_json() for t in self.targets},
        }
        if self.roles:
            out["roles"] = list(self.roles)
        if self.condition:
            out["condition"] = self.condition
        if self.update:
            out["update"] = dict(self.update)
        if self.message is not None:
            out["message"] = self.message.to_json()
        return out


def build_conversions(document: Mapping[str, Any]) -> Mapping[str, Conversion]:
    """Return the conversions of a validated (or canonical) document."""
    out = {}
    for name, raw in (document.get("conversions") or {}).items():
        out[name] = Conversion(
            name=name,
            label=Text.of(raw.get("label") or humanize(name)),
            object=raw["object"],
            targets=tuple(
                Target(
                    name=key,
                    object=t["object"],
                    values=MappingProxyType(dict(t.get("values") or {})),
                    links=MappingProxyType(dict(t.get("links") or {})),
                    match=tuple(t.get("match") or ()),
                )
                for key, t in raw["targets"].items()
            ),
            roles=tuple(raw.get("roles") or ()),
            condition=raw.get("condition") or None,
            update=MappingProxyType(dict(raw.get("update") or {})),
            message=Text.of(raw["message"]) if raw.get("message") else None,
        )
    return MappingProxyType(out)


def conversion_schema() -> dict[str, Any]:
    """Return the JSON Schema of one conversion."""
    expressions = {
        "type": "object",
        "propertyNames": {"pattern": IDENTIFIER_PATTERN},
        "additionalProperties": {"type": "string", "minLength": 1},
    }
    return {
        "type": "object",
        "description": "A record made into others by a field map, with a duplicate check "
        "(lead conversion; docs/workflows.md).",
        "additionalProperties": False,
        "required": ["object", "targets"],
        "properties": {
            "label": {"$ref": "#/$defs/text"},
            "object": _identifier("The object converted."),
            "roles": _names("Roles (and roles above them) that may convert."),
            "condition": {
                "type": "string",
                "minLength": 1,
                "description": "A boolean expression the record must meet.",
            },
            "message": {"$ref": "#/$defs/text"},
            "update": {**expressions, "description": "The converted record afterwards."},
            "targets": {
                "type": "object",
                "minProperties": 1,
                "description": "The records made, in order, by name.",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["object"],
                    "properties": {
                        "object": _identifier("The object of the record made."),
                        "values": {**expressions, "description": "Field → expression."},
                        "links": {
                            "type": "object",
                            "description": "Lookup field → an earlier target, or source.",
                            "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                            "additionalProperties": {
                                "type": "string",
                                "pattern": IDENTIFIER_PATTERN,
                            },
                        },
                        "match": _names("Fields whose equal values find possible duplicates."),
                    },
                },
            },
        },
    }
