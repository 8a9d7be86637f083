"""Read a pack (a folder under apps/ or a ``.tpack`` archive of one) and check it (the
manifest itself is read by ``manifest.py``).

Checking a pack collects every problem before reporting, each with its file and line:

1. each file against its JSON Schema (metadata/schemas/pack/);
2. the manifest: versions and ranges parse, the platform version is in range;
3. namespaces: a pack not published by ``tessera`` names every component it adds with its
   publisher's prefix, so two publishers can never collide;
4. translations: every label the pack ships has ``en`` and ``zh-CN``;
5. the pack composed onto its dependencies is valid metadata (references, expressions,
   permissions, workflows, layouts), and its sample data names real objects and fields.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metadata.errors import Issue, MetadataError, pointer, pointer_parts, sort_issues
from metadata.model import SYSTEM_FIELDS, Model, build_model
from metadata.packs.manifest import Manifest, check_moves, read_manifest
from metadata.packs.schemas import (
    EXTENSIONS_FILE,
    MANIFEST_FILE,
    PACK_FILES,
    SAMPLE_DATA_FILE,
    SECTION_FILES,
    pack_fast_validator,
    pack_validator,
)
from metadata.packs.versions import Version
from metadata.source import Document, parse_text
from metadata.validation.automation import check_automation
from metadata.validation.permissions import check_permissions
from metadata.validation.rules import check_rules
from metadata.validation.semantic import check_semantics
from metadata.validation.structural import check_structure
from metadata.validation.views import check_views

ARCHIVE_SUFFIX = ".tpack"
#: The platform's own publisher: its packs' components carry no prefix.
PLATFORM_PREFIX = "tessera"
LOCALES = ("en", "zh-CN")
#: Metadata sections whose items a pack owns by name.
NAMED_SECTIONS = (
    "roles",
    "permission_sets",
    "sharing_rules",
    "workflows",
    "approvals",
    "calendars",
    "conversions",
    "layouts",
    "list_views",
    "navigation",
)


@dataclass(frozen=True)
class ComposedDocument(Document):
    """A metadata document assembled from several files; each part knows its own file."""

    sources: Mapping[str, tuple[str, int, int]] = field(default_factory=dict)

    def locate(self, ptr: str) -> tuple[int, int] | None:
        found = self._source(ptr)
        return found[1:] if found else None

    def _source(self, ptr: str) -> tuple[str, int, int] | None:
        parts = pointer_parts(ptr)
        while True:
            found = self.sources.get(pointer(*parts))
            if found is not None or not parts:
                return found
            parts.pop()

    def issue(self, ptr: str, message: str, code: str, *, severity: str = "error") -> Issue:
        found = self._source(ptr)
        file, line, column = found if found else (None, None, None)
        return Issue(ptr, message, code, severity, file, line, column)


@dataclass(frozen=True)
class Pack:
    """A pack as read from its folder or archive (not yet known to be valid)."""

    manifest: Manifest
    location: str
    files: Mapping[str, Document]
    """File name → parsed file, for the files the pack has."""
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Values derived from the (immutable) files, computed once: see ``remember``."""

    def remember(self, key: str, compute: Any) -> Any:
        """Return ``compute()``, computed once per pack object."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> Version:
        return self.manifest.version

    def section(self, file: str, key: str) -> dict[str, Any]:
        doc = self.files.get(file)
        data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
        value = data.get(key)
        return value if isinstance(value, dict) else {}

    @property
    def objects(self) -> dict[str, Any]:
        """The pack's own objects, raw."""
        return self.section("objects.yaml", "objects")

    @property
    def extensions(self) -> dict[str, dict[str, Any]]:
        """Object name → raw fields the pack adds to it."""
        return {
            obj: (spec.get("fields") or {}) if isinstance(spec, dict) else {}
            for obj, spec in self.section(EXTENSIONS_FILE, "extends").items()
        }

    def items(self) -> Iterator[tuple[str, str, Any]]:
        """Yield (section, name, raw) for every role, workflow, layout ... the pack ships."""
        for file, sections in SECTION_FILES.items():
            for section in sections:
                if section != "objects":
                    for name, raw in self.section(file, section).items():
                        yield section, name, raw

    @property
    def sample_data(self) -> dict[str, list[dict[str, Any]]]:
        doc = self.files.get(SAMPLE_DATA_FILE)
        data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
        return {k: v for k, v in data.items() if not k.startswith("$")}

    def compose(self, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return ``base`` (a raw metadata document) with this pack's components added."""
        out: dict[str, Any] = {k: dict(v) for k, v in (base or {}).items()}
        objects = out.setdefault("objects", {})
        objects.update(self.objects)
        for obj, fields in self.extensions.items():
            if obj in objects:
                target = dict(objects[obj])
                target["fields"] = {**(target.get("fields") or {}), **fields}
                objects[obj] = target
        for section, name, raw in self.items():
            out.setdefault(section, {})[name] = raw
        return out

    def sources(self) -> dict[str, tuple[str, int, int]]:
        """Return composed-document pointer → (file, line, column) for this pack's parts."""
        out: dict[str, tuple[str, int, int]] = {}
        for file, doc in self.files.items():
            if file in (MANIFEST_FILE, SAMPLE_DATA_FILE):
                continue
            name = doc.file or file
            for ptr, (line, column) in doc.positions.items():
                parts = pointer_parts(ptr)
                if file == EXTENSIONS_FILE:
                    if not parts or parts[0] != "extends":
                        continue
                    parts = ["objects", *parts[1:]]
                elif not parts:
                    continue
                out[pointer(*parts)] = (name, line, column)
        return out


def _read_files(location: Path) -> Iterator[tuple[str, str, str]]:
    """Yield (file name, shown name, text) of the pack files in a folder or archive."""
    if location.is_dir():
        for file in PACK_FILES:
            path = location / file
            if path.exists():
                yield file, str(path), path.read_text(encoding="utf-8")
        return
    with zipfile.ZipFile(location) as archive:
        names = set(archive.namelist())
        for file in PACK_FILES:
            if file in names:
                text = archive.read(file).decode("utf-8")
                yield file, f"{location}!{file}", text


def manifest_document(location: str | Path) -> Document | None:
    """Return a pack's parsed pack.yaml, whatever else is wrong with the pack (None if it
    has none that parses)."""
    location = Path(location)
    if not location.exists() or (not location.is_dir() and not zipfile.is_zipfile(location)):
        return None
    for file, shown, text in _read_files(location):
        if file == MANIFEST_FILE:
            try:
                return parse_text(text, file=shown)
            except MetadataError:
                return None
    return None


def read_pack(location: str | Path) -> Pack:
    """Read a pack; raise MetadataError if it cannot be read or its manifest is invalid.

    Only the manifest is checked here (a pack without a usable manifest has no name to
    resolve dependencies by); ``check_pack`` checks everything else.
    """
    location = Path(location)
    if not location.exists():
        raise MetadataError(
            [Issue("", f"{str(location)!r} does not exist", "no_pack", file=str(location))],
            title="Pack could not be read",
        )
    if not location.is_dir() and not zipfile.is_zipfile(location):
        raise MetadataError(
            [
                Issue(
                    "",
                    f"{str(location)!r} is neither a pack folder nor a {ARCHIVE_SUFFIX} archive",
                    "no_pack",
                    file=str(location),
                )
            ],
            title="Pack could not be read",
        )
    files: dict[str, Document] = {}
    problems: list[Issue] = []
    for file, shown, text in _read_files(location):
        try:
            doc = parse_text(text, file=shown)
        except MetadataError as exc:
            problems += exc.issues
            continue
        files[file] = doc
        problems += doc.issues
        problems += check_structure(doc, pack_validator(file), pack_fast_validator(file))
    if MANIFEST_FILE not in files and not any(i.file and MANIFEST_FILE in i.file for i in problems):
        problems.append(
            Issue("", f"a pack needs a {MANIFEST_FILE}", "no_manifest", file=str(location))
        )
    manifest = None
    if MANIFEST_FILE in files:
        manifest, found = read_manifest(files[MANIFEST_FILE])
        problems += found
    if manifest is None or any(i.severity == "error" for i in problems):
        raise MetadataError(sort_issues(problems), title=f"Pack {location} is invalid")
    return Pack(manifest, str(location), files)


def check_pack(pack: Pack, dependencies: Iterable[Pack] = ()) -> list[Issue]:
    """Return every problem (errors and warnings) of ``pack`` composed onto its dependencies.

    ``dependencies`` are the packs it depends on, directly or not, in install order.
    """
    dependencies = list(dependencies)
    base: dict[str, Any] = {}
    sources: dict[str, tuple[str, int, int]] = {}
    for dependency in dependencies:
        base = dependency.compose(base)
        sources.update(dependency.sources())
    composed = pack.compose(base)
    sources.update(pack.sources())
    doc = ComposedDocument(data=composed, file=None, sources=sources)
    issues = _check_namespaces(pack, base) + _check_translations(pack)
    issues += check_moves(pack.manifest, pack.objects, pack.files.get(MANIFEST_FILE))
    issues += check_semantics(doc) + check_permissions(doc)
    if not any(i.severity == "error" for i in issues):
        model = build_model(composed)
        issues += check_rules(doc, model) + check_automation(doc, model) + check_views(doc, model)
        known = {
            r["_key"]
            for dependency in dependencies
            for records in dependency.sample_data.values()
            for r in records or ()
            if isinstance(r, dict) and "_key" in r
        }
        issues += _check_sample_data(pack, model, known)
    return sort_issues(issues)


def _check_namespaces(pack: Pack, base: Mapping[str, Any]) -> list[Issue]:
    """Components must carry the publisher's prefix and must not replace a dependency's."""
    manifest = pack.manifest
    issues: list[Issue] = []
    objects_doc = pack.files.get("objects.yaml")
    ext_doc = pack.files.get(EXTENSIONS_FILE)
    prefix = manifest.prefix + "_"
    namespaced = manifest.prefix != PLATFORM_PREFIX

    def need_prefix(doc: Document | None, ptr: str, what: str, name: str) -> None:
        if namespaced and not name.startswith(prefix) and doc is not None:
            issues.append(
                doc.issue(
                    ptr,
                    f"{what} {name!r} must start with {prefix!r}, the namespace of publisher "
                    f"{manifest.publisher!r}, so it cannot collide with another publisher's",
                    "namespace",
                )
            )

    base_objects = base.get("objects") or {}
    for name in pack.objects:
        need_prefix(objects_doc, pointer("objects", name), "object", name)
        if name in base_objects:
            issues.append(
                objects_doc.issue(  # type: ignore[union-attr]
                    pointer("objects", name),
                    f"object {name!r} already belongs to a dependency; add fields to it in "
                    f"{EXTENSIONS_FILE} instead",
                    "duplicate_component",
                )
            )
    for obj, fields in pack.extensions.items():
        if ext_doc is None:
            break
        if obj not in base_objects:
            issues.append(
                ext_doc.issue(
                    pointer("extends", obj),
                    f"extends object {obj!r}, which none of the pack's dependencies has"
                    + (f"; they have: {', '.join(sorted(base_objects))}" if base_objects else ""),
                    "unknown_object",
                )
            )
            continue
        for name in fields:
            need_prefix(ext_doc, pointer("extends", obj, "fields", name), "field", name)
            if name in (base_objects[obj].get("fields") or {}):
                issues.append(
                    ext_doc.issue(
                        pointer("extends", obj, "fields", name),
                        f"{obj} already has a field {name!r} from a dependency",
                        "duplicate_component",
                    )
                )
    for file, sections in SECTION_FILES.items():
        doc = pack.files.get(file)
        for section in sections:
            if section == "objects":
                continue
            for name in pack.section(file, section):
                where = pointer(section, name)
                need_prefix(doc, where, section.rstrip("s").replace("_", " "), name)
                if name in (base.get(section) or {}) and doc is not None:
                    issues.append(
                        doc.issue(
                            where,
                            f"{name!r} already belongs to a dependency",
                            "duplicate_component",
                        )
                    )
    return issues


_TEXT_KEYS = ("label", "plural")


def _texts(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Yield (path, text) of every label and plural in a raw document part."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key in _TEXT_KEYS and (isinstance(child, str | dict)):
                yield (*path, key), child
            elif key != "values" or not isinstance(child, list):
                yield from _texts(child, (*path, key))
            else:
                for i, entry in enumerate(child):
                    if isinstance(entry, str):
                        yield (*path, key, i), None  # a bare code: no label at all
                    else:
                        yield from _texts(entry, (*path, key, i))
                        if isinstance(entry, dict) and "label" not in entry:
                            yield (*path, key, i, "label"), None
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _texts(child, (*path, i))


def _check_translations(pack: Pack) -> list[Issue]:
    """Every label and plural must exist in each shipped locale (en and zh-CN)."""
    issues: list[Issue] = []
    for file, doc in pack.files.items():
        if file in (MANIFEST_FILE, SAMPLE_DATA_FILE):
            continue
        for path, text in _texts(doc.data, ()):
            have = set(text) if isinstance(text, dict) else {"en"} if text else set()
            missing = [locale for locale in LOCALES if locale not in have]
            if missing:
                issues.append(
                    doc.issue(
                        pointer(*path),
                        f"needs text in {' and '.join(missing)}: every label a pack ships "
                        "has en and zh-CN, e.g. {en: Account, zh-CN: 客户}",
                        "missing_translation",
                    )
                )
        # Objects and fields without a label get an English one made from their name.
        for section, key in (("objects", "objects.yaml"), ("extends", EXTENSIONS_FILE)):
            if file != key or not isinstance(doc.data, dict):
                continue
            for obj, spec in (doc.data.get(section) or {}).items():
                if not isinstance(spec, dict):
                    continue
                if section == "objects" and "label" not in spec:
                    issues.append(_no_label(doc, ("objects", obj)))
                for name, f in (spec.get("fields") or {}).items():
                    if isinstance(f, dict) and "label" not in f:
                        issues.append(_no_label(doc, (section, obj, "fields", name)))
    return issues


def _no_label(doc: Document, path: tuple[str, ...]) -> Issue:
    return doc.issue(
        pointer(*path),
        "needs a label in en and zh-CN, e.g. label: {en: Account, zh-CN: 客户}",
        "missing_translation",
    )


def _check_sample_data(pack: Pack, model: Model, known: set[str]) -> list[Issue]:
    """Sample records name real objects and fields; lookups name earlier ``_key``s (of this
    pack or of its dependencies)."""
    doc = pack.files.get(SAMPLE_DATA_FILE)
    if doc is None:
        return []
    issues: list[Issue] = []
    keys = set(known)
    for obj_name, records in pack.sample_data.items():
        obj = model.objects.get(obj_name)
        if obj is None:
            issues.append(
                doc.issue(pointer(obj_name), f"there is no object {obj_name!r}", "unknown_object")
            )
            continue
        for i, record in enumerate(records or ()):
            for name, value in record.items():
                where = pointer(obj_name, i, name)
                if name in ("_key", "_owner"):
                    continue
                f = obj.fields.get(name)
                if f is None:
                    issues.append(
                        doc.issue(
                            where,
                            f"{obj_name} has no field {name!r}"
                            + (" (a system field)" if name in SYSTEM_FIELDS else ""),
                            "unknown_field",
                        )
                    )
                elif f.computed:
                    issues.append(
                        doc.issue(where, f"{obj_name}.{name} is computed", "computed_field")
                    )
                elif f.type == "polymorphic_lookup" and value is not None:
                    if (
                        not isinstance(value, dict)
                        or value.get("object") not in f.targets
                        or value.get("id") not in keys
                    ):
                        issues.append(
                            doc.issue(
                                where,
                                f"{obj_name}.{name} takes {{object: one of "
                                f"{', '.join(f.targets)}, id: the _key of an earlier record}}",
                                "unknown_key",
                            )
                        )
                elif f.is_relation and value is not None and value not in keys:
                    issues.append(
                        doc.issue(
                            where,
                            f"{value!r} is not the _key of an earlier record",
                            "unknown_key",
                        )
                    )
            if isinstance(record.get("_key"), str):
                keys.add(record["_key"])
    return issues


def load_pack(location: str | Path, dependencies: Iterable[Pack] = ()) -> Pack:
    """Read and check a pack; raise MetadataError listing every error."""
    pack = read_pack(location)
    issues = check_pack(pack, dependencies)
    if any(i.severity == "error" for i in issues):
        raise MetadataError(issues, title=f"Pack {pack.name} {pack.version} is invalid")
    return pack


def write_archive(pack: Pack, target: Path) -> Path:
    """Pack a (checked) pack's files into a ``.tpack`` zip archive at ``target``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in PACK_FILES:
            if file in pack.files:
                source = Path(pack.location) / file
                archive.writestr(file, source.read_bytes())
    target.write_bytes(buffer.getvalue())
    return target
