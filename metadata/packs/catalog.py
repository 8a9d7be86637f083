"""The packs a deployment offers, and dependency resolution against a tenant's packs.

The catalog is every folder with a ``pack.yaml`` (and every ``.tpack`` archive) under the
apps directory, plus any pack given by path. Resolution orders packs so each comes after
what it depends on, and explains every version mismatch at once.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from metadata.errors import Issue, MetadataError, pointer
from metadata.packs.loader import ARCHIVE_SUFFIX, Pack, check_pack, read_pack
from metadata.packs.schemas import MANIFEST_FILE
from metadata.packs.versions import Version, VersionError, VersionRange
from metadata.source import Document, parse_text

APPS_DIR = Path(__file__).resolve().parents[2] / "apps"


class PackError(Exception):
    """A pack operation cannot go ahead; ``problems`` says every reason."""

    status, code = 409, "pack_conflict"

    def __init__(self, title: str, problems: Iterable[str] = ()) -> None:
        self.title = title
        self.problems = list(problems)
        super().__init__(title + "".join(f"\n  - {p}" for p in self.problems))


class PackNotFound(PackError):
    status, code = 404, "pack_not_found"


def _peek(path: Path) -> tuple[str, Version]:
    """Return the name and version a pack's manifest gives (its folder's name if unreadable)."""
    fallback = path.stem if path.is_file() else path.name
    try:
        if path.is_dir():
            text = (path / MANIFEST_FILE).read_text(encoding="utf-8")
        else:
            with zipfile.ZipFile(path) as archive:
                text = archive.read(MANIFEST_FILE).decode("utf-8")
        data = parse_text(text).data
        return str(data.get("name") or fallback), Version.parse(str(data.get("version")))
    except Exception:  # read_pack reports what is wrong when the pack is used
        return fallback, Version(0, 0, 0)


class Catalog:
    """Packs by name: those under ``root`` plus any added by path (which win)."""

    def __init__(self, root: Path | None = APPS_DIR) -> None:
        self.root = root
        self._locations: dict[str, Path] = {}
        self._packs: dict[str, Pack] = {}
        #: Checked packs: a long-lived catalog (a server's) checks each pack once.
        self._checked: dict[str, list[Issue]] = {}
        if root is not None and root.is_dir():
            found: dict[str, tuple[Version, Path]] = {}
            for path in sorted(root.iterdir()):
                if (path / MANIFEST_FILE).exists() or path.suffix == ARCHIVE_SUFFIX:
                    name, version = _peek(path)
                    # Two versions of one pack: the catalog offers the newer.
                    if name not in found or found[name][0] < version:
                        found[name] = (version, path)
            self._locations = {name: path for name, (_, path) in sorted(found.items())}

    def names(self) -> list[str]:
        return sorted(self._locations)

    def location(self, name: str) -> str:
        return str(self._locations.get(name, name))

    def add(self, location: str | Path) -> Pack:
        """Read the pack at ``location`` and let it stand for its name."""
        pack = read_pack(location)
        self._packs[pack.name] = pack
        self._locations[pack.name] = Path(location)
        self._checked.pop(pack.name, None)
        return pack

    def get(self, name: str) -> Pack:
        if name not in self._packs:
            location = self._locations.get(name)
            if location is None:
                raise PackNotFound(
                    f"there is no pack {name!r}",
                    [f"packs available: {', '.join(self.names()) or 'none'}"],
                )
            pack = read_pack(location)
            self._packs[name] = pack
        return self._packs[name]

    def find(self, name_or_path: str) -> Pack:
        """Return the pack named so, or read from that path if it is one."""
        path = Path(name_or_path)
        if name_or_path not in self._locations and (path.exists() or "/" in name_or_path):
            return self.add(path)
        return self.get(name_or_path)

    def dependencies(self, pack: Pack, installed: Mapping[str, Pack] | None = None) -> list[Pack]:
        """Return the packs ``pack`` depends on, directly or not, in install order.

        A dependency the tenant has installed is taken from ``installed`` (its installed
        version); others come from the catalog.
        """
        installed = installed or {}
        order: list[Pack] = []
        seen: set[str] = set()

        def visit(current: Pack, path: tuple[str, ...]) -> None:
            for name in current.manifest.dependencies:
                if name in path:
                    raise PackError(
                        "packs depend on each other in a cycle",
                        [" → ".join((*path, name))],
                    )
                if name in seen:
                    continue
                dependency = installed.get(name) or self.get(name)
                visit(dependency, (*path, name))
                seen.add(name)
                order.append(dependency)

        visit(pack, (pack.name,))
        return order

    def check(self, pack: Pack) -> list[Issue]:
        """Return every problem of ``pack`` composed onto its catalog dependencies."""
        if self._packs.get(pack.name) is not pack:
            return check_pack(pack, self.dependencies(pack))
        if pack.name not in self._checked:
            self._checked[pack.name] = check_pack(pack, self.dependencies(pack))
        return self._checked[pack.name]

    def load(self, name_or_path: str) -> Pack:
        """Return a checked pack; raise MetadataError listing every error."""
        pack = self.find(name_or_path)
        issues = self.check(pack)
        if any(i.severity == "error" for i in issues):
            raise MetadataError(issues, title=f"Pack {pack.name} {pack.version} is invalid")
        return pack


def dependency_issues(doc: Document, catalog: Catalog) -> list[Issue]:
    """Return a problem for each dependency in ``doc`` (a pack.yaml) that no pack in
    ``catalog`` satisfies, through the dependencies' own dependencies too."""
    data = doc.data if isinstance(doc.data, dict) else {}
    found: list[Issue] = []
    seen: set[str] = set()

    def visit(dependencies: Mapping[str, object], via: tuple[str, ...]) -> None:
        for name, text in dependencies.items():
            where = pointer("dependencies", via[0] if via else name)
            chain = " → ".join((*via, name))
            try:
                wanted = VersionRange.parse(str(text))
            except VersionError:
                continue  # the manifest check reports a bad range
            if name in seen:
                continue
            seen.add(name)
            try:
                dependency = catalog.get(name)
            except PackNotFound:
                found.append(
                    doc.issue(
                        where,
                        f"needs {chain} {wanted}, but no pack in the catalog is named {name} "
                        f"(packs available: {', '.join(catalog.names()) or 'none'})",
                        "unsatisfied_dependency",
                    )
                )
                continue
            except MetadataError:
                found.append(
                    doc.issue(
                        where,
                        f"needs {chain}, but the catalog's {name} is itself invalid "
                        f"(tessera app validate {catalog.location(name)})",
                        "unsatisfied_dependency",
                    )
                )
                continue
            if not wanted.allows(dependency.version):
                found.append(
                    doc.issue(
                        where,
                        f"needs {chain} {wanted}, but the catalog has {name} {dependency.version}",
                        "unsatisfied_dependency",
                    )
                )
                continue
            visit(
                {n: str(r) for n, r in dependency.manifest.dependencies.items()},
                (*via, name) if via else (name,),
            )

    dependencies = data.get("dependencies")
    if isinstance(dependencies, Mapping):
        visit(dependencies, ())
    return found


def resolve(
    requested: list[Pack], installed: Mapping[str, Version], catalog: Catalog
) -> list[Pack]:
    """Return the packs to install for ``requested``, dependencies first.

    A dependency the tenant has installed must be in range; one it lacks comes from the
    catalog and is installed too. Raise PackError listing every mismatch.
    """
    problems: list[str] = []
    plan: dict[str, Pack] = {}

    def need(pack: Pack, path: tuple[str, ...]) -> None:
        for name, wanted in pack.manifest.dependencies.items():
            who = f"{pack.name} {pack.version} needs {name} {wanted}"
            if name in path:
                problems.append(f"dependency cycle: {' → '.join((*path, name))}")
                continue
            if name in installed:
                if not wanted.allows(installed[name]):
                    problems.append(
                        f"{who}, but the tenant has {name} {installed[name]}: upgrade {name} first"
                    )
                continue
            try:
                dependency = plan.get(name) or catalog.get(name)
            except PackNotFound:
                problems.append(
                    f"{who}, which is neither installed nor in the catalog "
                    f"({', '.join(catalog.names())})"
                )
                continue
            if not wanted.allows(dependency.version):
                problems.append(f"{who}, and the catalog has {name} {dependency.version}")
                continue
            need(dependency, (*path, name))
            plan.setdefault(name, dependency)

    for pack in requested:
        if pack.name in installed:
            problems.append(
                f"{pack.name} {installed[pack.name]} is already installed; "
                f"use upgrade to move to {pack.version}"
            )
            continue
        need(pack, (pack.name,))
        plan[pack.name] = pack
    if problems:
        raise PackError("the packs cannot be installed", problems)
    return list(plan.values())
