"""JSON Schemas of the files in a pack folder, generated here and committed.

Each metadata file of a pack holds some sections of a metadata document, so its schema
refers to ``metadata.schema.json`` for their definitions rather than repeating them. The
manifest and sample data have schemas of their own. ``tests/metadata/test_json_schema.py``
fails when a committed file and this generator differ.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from metadata.identifiers import IDENTIFIER_PATTERN
from metadata.json_schema import SCHEMA_ID, build_schema
from metadata.packs.versions import VERSION_PATTERN
from metadata.validation.structural import fast_validator

SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "schemas" / "pack"
_BASE = "https://tessera.dev/schemas/pack/"
_META = "../metadata.schema.json"
PREFIX_PATTERN = r"^[a-z][a-z0-9]{1,11}$"

#: File name → the metadata sections it may hold (the manifest and sample data aside).
SECTION_FILES: dict[str, tuple[str, ...]] = {
    "objects.yaml": ("objects",),
    "security.yaml": ("roles", "permission_sets", "sharing_rules"),
    "automation.yaml": ("workflows", "approvals", "calendars", "conversions"),
    "layouts.yaml": ("layouts", "list_views", "navigation"),
}
MANIFEST_FILE = "pack.yaml"
EXTENSIONS_FILE = "extensions.yaml"
SAMPLE_DATA_FILE = "sample_data.yaml"
PACK_FILES = (MANIFEST_FILE, *SECTION_FILES, EXTENSIONS_FILE, SAMPLE_DATA_FILE)


def _named(description: str, ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "propertyNames": {"pattern": IDENTIFIER_PATTERN},
        "additionalProperties": {"$ref": ref},
    }


def _wrap(file: str, title: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _BASE + file.replace(".yaml", ".schema.json"),
        "title": title,
        "type": "object",
        "additionalProperties": False,
        "properties": {"$schema": {"type": "string"}, **properties},
        **extra,
    }


def _manifest() -> dict[str, Any]:
    both = {
        "type": "object",
        "required": ["en", "zh-CN"],
        "additionalProperties": {"type": "string", "minLength": 1},
        "description": "Text in every shipped locale: {en: ..., zh-CN: ...}.",
    }
    range_text = {
        "type": "string",
        "minLength": 1,
        "description": "A version range: ^1.2, ~1.4.0, >=1.0 <2.0 or * (docs/packs.md).",
    }
    return _wrap(
        MANIFEST_FILE,
        "Tessera pack manifest",
        {
            "name": {
                "type": "string",
                "pattern": IDENTIFIER_PATTERN,
                "description": "The pack's name; also its folder's name under apps/.",
            },
            "version": {
                "type": "string",
                "pattern": VERSION_PATTERN,
                "description": "Semantic version: MAJOR.MINOR.PATCH[-pre].",
            },
            "publisher": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "prefix"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "prefix": {
                        "type": "string",
                        "pattern": PREFIX_PATTERN,
                        "description": "The publisher's namespace. Every component of a "
                        "pack not published by 'tessera' starts with '<prefix>_'.",
                    },
                },
            },
            "label": both,
            "description": both,
            "dependencies": {
                "type": "object",
                "description": "Pack name → the version range this pack works with.",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": range_text,
            },
            "platform": {**range_text, "description": "Tessera versions the pack runs on."},
            "moves": {
                "type": "array",
                "description": "Values an upgrade carries from fields this version removes "
                "into a field it has: each record gets the first source that holds a value, "
                "where the target is empty (docs/packs.md, 'Moving data on upgrade').",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["object", "from", "to"],
                    "properties": {
                        "object": {"type": "string", "pattern": IDENTIFIER_PATTERN},
                        "from": {
                            "type": "array",
                            "minItems": 1,
                            "uniqueItems": True,
                            "items": {"type": "string", "pattern": IDENTIFIER_PATTERN},
                            "description": "Removed fields, in order of preference.",
                        },
                        "to": {"type": "string", "pattern": IDENTIFIER_PATTERN},
                    },
                },
            },
        },
        required=["name", "version", "publisher", "label", "description", "platform"],
    )


def _extensions() -> dict[str, Any]:
    return _wrap(
        EXTENSIONS_FILE,
        "Fields a Tessera pack adds to other packs' objects",
        {
            "extends": {
                "type": "object",
                "description": "Object name (of a dependency) → the fields this pack adds.",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["fields"],
                    "properties": {
                        "fields": _named("Fields by name.", f"{_META}#/$defs/field"),
                    },
                },
            }
        },
    )


def _sample_data() -> dict[str, Any]:
    return _wrap(
        SAMPLE_DATA_FILE,
        "Sample records of a Tessera pack",
        {},
        propertyNames={"pattern": IDENTIFIER_PATTERN},
        additionalProperties={
            "type": "array",
            "description": "Records of one object, created in order.",
            "items": {
                "type": "object",
                "properties": {
                    "_key": {
                        "type": "string",
                        "pattern": IDENTIFIER_PATTERN,
                        "description": "Names the record; a lookup's value is such a key.",
                    },
                    "_owner": {
                        "type": "string",
                        "description": "The demo user (rep, manager, director...) owning it.",
                    },
                },
                "propertyNames": {"pattern": r"^(_key|_owner|[a-z][a-z0-9_]{0,62})$"},
            },
        },
    )


def build_pack_schemas() -> dict[str, dict[str, Any]]:
    """Return every pack file's schema by file name."""
    metadata = build_schema()["properties"]
    schemas = {MANIFEST_FILE: _manifest()}
    for file, sections in SECTION_FILES.items():
        properties = {}
        for section in sections:
            item = metadata[section]["additionalProperties"]["$ref"].replace("#", _META + "#")
            properties[section] = {**metadata[section], "additionalProperties": {"$ref": item}}
        schemas[file] = _wrap(file, f"Tessera pack {', '.join(sections)}", properties)
    schemas[EXTENSIONS_FILE] = _extensions()
    schemas[SAMPLE_DATA_FILE] = _sample_data()
    return schemas


def schema_path(file: str) -> Path:
    return SCHEMAS_DIR / file.replace(".yaml", ".schema.json")


def render_pack_schemas() -> dict[Path, str]:
    """Return the exact committed text of each schema file by path."""
    return {
        schema_path(file): json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        for file, schema in build_pack_schemas().items()
    }


def write_pack_schemas() -> list[Path]:
    SCHEMAS_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for path, text in render_pack_schemas().items():
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


@cache
def pack_fast_validator(file: str) -> Any:
    """jsonschema-rs's validator of one pack file (``structural.fast_validator``)."""
    return fast_validator(build_pack_schemas()[file], {SCHEMA_ID: build_schema()})


@cache
def pack_validator(file: str) -> Draft202012Validator:
    """Return the validator of one pack file, resolving references to the metadata schema."""
    registry = Registry().with_resource(SCHEMA_ID, Resource.from_contents(build_schema()))
    return Draft202012Validator(build_pack_schemas()[file], registry=registry)
