"""The JSON Schema of layouts, list views and the web app's navigation (apps)."""

from __future__ import annotations

from typing import Any

from metadata.identifiers import IDENTIFIER_PATTERN
from metadata.identifiers import identifier_schema as _identifier


def view_defs() -> dict[str, Any]:
    """Return the definitions of layouts, list views and apps."""
    fields = {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "pattern": IDENTIFIER_PATTERN},
    }
    return {
        "layout": {
            "type": "object",
            "description": "An object's record page: sections of fields, then related lists.",
            "additionalProperties": False,
            "required": ["object", "sections"],
            "properties": {
                "object": _identifier("The object whose records the layout shows."),
                "label": {"$ref": "#/$defs/text"},
                "path": _identifier(
                    "A picklist field shown as a path bar of its values above the page "
                    "(a sales stage, a ticket status)."
                ),
                "sections": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["fields"],
                        "properties": {
                            "label": {"$ref": "#/$defs/text"},
                            "columns": {"type": "integer", "minimum": 1, "maximum": 4},
                            "tab": {
                                "$ref": "#/$defs/text",
                                "description": "The tab the section is on (sections without "
                                "one are on the first tab, Details).",
                            },
                            "fields": {**fields, "description": "Fields in reading order."},
                        },
                    },
                },
                "related": {
                    "type": "array",
                    "description": "Related lists: records whose lookup points at this one.",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["object", "field"],
                        "properties": {
                            "object": _identifier("The related object."),
                            "field": _identifier("Its lookup to the layout's object."),
                            "columns": {**fields, "description": "Columns shown."},
                        },
                    },
                },
                "rules": {
                    "type": "object",
                    "description": "Field → when it shows (visible) and when it is read-only "
                    "(read_only): boolean expressions over the record's own fields and the "
                    "person (ROLE(), ISMEMBER('role')). The web app applies them as the "
                    "form changes; the record service refuses changing a field they hide "
                    "or make read-only.",
                    "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": False,
                        "minProperties": 1,
                        "properties": {
                            "visible": {"type": "string", "minLength": 1},
                            "read_only": {"type": "string", "minLength": 1},
                        },
                    },
                },
                "actions": {
                    "type": "array",
                    "uniqueItems": True,
                    "description": "Buttons on the record page, in order: manual "
                    "workflows, approval processes and conversions of the object, by name. "
                    "The web app shows a button only to the people who may use it.",
                    "items": {"type": "string", "pattern": IDENTIFIER_PATTERN},
                },
            },
        },
        "list_view": {
            "type": "object",
            "description": "A named table of records: columns, a filter and a sort.",
            "additionalProperties": False,
            "required": ["object", "columns"],
            "properties": {
                "object": _identifier("The object listed."),
                "label": {"$ref": "#/$defs/text"},
                "columns": {**fields, "description": "Fields shown, in order."},
                "filter": {
                    "type": "string",
                    "minLength": 1,
                    "description": "A boolean expression a record must make true "
                    "(docs/expressions.md).",
                },
                "sort": {
                    "type": "array",
                    "items": {"type": "string", "pattern": "^-?[a-z][a-z0-9_]*$"},
                    "description": "Field names; a leading '-' sorts descending.",
                },
                "group_by": _identifier("A field whose values group the rows."),
            },
        },
        "app": {
            "type": "object",
            "description": "An app of the web app's switcher: a label and the pages of its "
            "navigation, in order.",
            "additionalProperties": False,
            "required": ["items"],
            "properties": {
                "label": {"$ref": "#/$defs/text"},
                "order": {"type": "integer", "description": "Its place in the switcher."},
                "items": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["object"],
                        "properties": {
                            "object": _identifier("The object the page lists."),
                            "label": {"$ref": "#/$defs/text"},
                            "list_view": _identifier("The list view it opens (default: all)."),
                            "kanban": _identifier("Open as a kanban by this picklist field."),
                        },
                    },
                },
            },
        },
    }
