"""A pack's manifest (``pack.yaml``): its name, version, publisher, dependencies, the
platform versions it runs on, and the data its upgrades move."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from typing import Any

from metadata.errors import Issue, pointer
from metadata.packs.versions import Version, VersionError, VersionRange
from metadata.source import Document
from metadata.text import Text


def platform_version() -> Version:
    """Return the running Tessera's version (pyproject's)."""
    try:
        return Version.parse(importlib_metadata.version("tessera"))
    except importlib_metadata.PackageNotFoundError:  # a source checkout that is not installed
        return Version(0, 0, 0)


@dataclass(frozen=True)
class Manifest:
    """What ``pack.yaml`` says about a pack."""

    name: str
    version: Version
    publisher: str
    prefix: str
    label: Text
    description: Text
    dependencies: Mapping[str, VersionRange]
    platform: VersionRange
    moves: tuple[Move, ...] = ()
    """Values an upgrade carries from fields this version removes into fields it keeps."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": str(self.version),
            "publisher": {"name": self.publisher, "prefix": self.prefix},
            "label": self.label.to_json(),
            "description": self.description.to_json(),
            "dependencies": {name: str(r) for name, r in self.dependencies.items()},
            "platform": str(self.platform),
        } | ({"moves": [m.to_dict() for m in self.moves]} if self.moves else {})


@dataclass(frozen=True)
class Move:
    """On upgrade, ``object``'s removed fields ``sources`` fill its field ``to`` where it
    is empty, the first source with a value winning (four lookups into one polymorphic
    lookup, say)."""

    object: str
    sources: tuple[str, ...]
    to: str

    def to_dict(self) -> dict[str, Any]:
        return {"object": self.object, "from": list(self.sources), "to": self.to}


def read_manifest(doc: Document) -> tuple[Manifest | None, list[Issue]]:
    data = doc.data if isinstance(doc.data, dict) else {}
    problems: list[Issue] = []
    version = Version(0, 0, 0)
    try:
        if isinstance(data.get("version"), str):  # the schema reports other types
            version = Version.parse(data["version"])
    except VersionError as exc:
        problems.append(doc.issue("/version", str(exc), "invalid_version"))
    ranges: dict[str, VersionRange] = {}
    for name, text in (data.get("dependencies") or {}).items():
        try:
            ranges[name] = VersionRange.parse(text)
        except VersionError as exc:
            problems.append(doc.issue(pointer("dependencies", name), str(exc), "invalid_range"))
    if data.get("name") in ranges:
        problems.append(
            doc.issue(
                pointer("dependencies", data["name"]),
                "a pack cannot depend on itself",
                "invalid_dependency",
            )
        )
    try:
        platform = VersionRange.parse(data.get("platform", "*"))
    except VersionError as exc:
        problems.append(doc.issue("/platform", str(exc), "invalid_range"))
        platform = VersionRange.parse("*")
    else:
        running = platform_version()
        if running != Version(0, 0, 0) and not platform.allows(running):
            problems.append(
                doc.issue(
                    "/platform",
                    f"the pack needs Tessera {platform}, and this is Tessera {running}",
                    "platform_version",
                )
            )
    if problems or not {"name", "publisher", "label", "description"} <= set(data):
        return None, problems
    publisher = data["publisher"]
    return (
        Manifest(
            name=data["name"],
            version=version,
            publisher=publisher["name"],
            prefix=publisher["prefix"],
            label=Text.of(data["label"]),
            description=Text.of(data["description"]),
            dependencies=ranges,
            platform=platform,
            moves=tuple(
                Move(m["object"], tuple(m["from"]), m["to"]) for m in data.get("moves") or ()
            ),
        ),
        problems,
    )


def check_moves(
    manifest: Manifest, objects: Mapping[str, Any], doc: Document | None
) -> list[Issue]:
    """A move fills a field of one of the pack's objects from fields this version no
    longer has (an upgrade removes them; their old definitions are checked then)."""
    issues: list[Issue] = []
    for i, move in enumerate(manifest.moves):
        spec = objects.get(move.object)
        fields = (spec or {}).get("fields") or {}
        if spec is None:
            problem, where = f"{move.object!r} is not an object of this pack", "object"
        elif move.to not in fields:
            problem, where = f"{move.object} has no field {move.to!r} to move values into", "to"
        elif kept := [f for f in move.sources if f in fields]:
            problem = f"{move.object}.{kept[0]} is still a field: a move takes removed fields"
            where = "from"
        else:
            continue
        if doc is not None:
            issues.append(doc.issue(pointer("moves", i, where), problem, "invalid_move"))
    return issues
