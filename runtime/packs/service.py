"""Install, upgrade and uninstall packs in a tenant: plan first, then apply atomically.

Every operation works the same way:

1. read the tenant's pack records and current metadata;
2. work out the new metadata: merge the pack's components in (install, upgrade) or take
   them out (uninstall), keeping the tenant's customizations (metadata/packs/merge.py);
3. plan it with TenantService.plan: operations, DDL, blockers; add conflicts and the data
   impact (rows archived, restored or seeded);
4. on apply, one TenantService.apply whose storage transaction also writes the pack
   records, restores archived data and inserts sample data, so all of it commits or none.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from metadata.errors import MetadataError
from metadata.model import Model, build_model
from metadata.packs.catalog import Catalog, PackError, resolve
from metadata.packs.loader import Pack
from metadata.packs.merge import Conflict, Units, document_of, merge, remove, units_of
from metadata.packs.versions import Version, VersionRange
from metadata.validation import ValidMetadata, validate_data
from runtime.packs.moves import plan_moves, run_moves
from runtime.packs.records import count_rows, drop_archives, insert_sample_data, restore_archives
from runtime.sql import naming
from runtime.storage.migrator import Progress
from runtime.storage.tables import system_table
from runtime.tenants import ApplyResult, PlanReport, TenantService
from runtime.tenants.packs import PackRecord, forget_pack, read_packs, write_pack


def contribution(pack: Pack) -> Units:
    """Return the units ``pack`` ships, in canonical form (see metadata/packs/merge.py)."""
    return dict(pack.remember("contribution", lambda: _contribution(pack)))


def _contribution(pack: Pack) -> Units:
    raw: dict[str, Any] = {
        "objects": {
            **{obj: {"fields": fields} for obj, fields in pack.extensions.items()},
            **pack.objects,
        }
    }
    owned = set()
    for obj, spec in pack.objects.items():
        owned.add(f"/objects/{obj}")
        owned.update(f"/objects/{obj}/fields/{f}" for f in (spec.get("fields") or {}))
    for obj, fields in pack.extensions.items():
        owned.update(f"/objects/{obj}/fields/{f}" for f in fields)
    for section, name, item in pack.items():
        raw.setdefault(section, {})[name] = item
        owned.add(f"/{section}/{name}")
    units = units_of(build_model(raw).to_document())
    return {key: value for key, value in units.items() if key in owned}


def declared_renames(pack: Pack) -> dict[str, str]:
    """Return old pointer → new pointer for every ``renamed_from`` the pack declares."""
    renames = {}
    for obj, spec in pack.objects.items():
        if spec.get("renamed_from"):
            renames[f"/objects/{spec['renamed_from']}"] = f"/objects/{obj}"
        for name, f in (spec.get("fields") or {}).items():
            if isinstance(f, dict) and f.get("renamed_from"):
                renames[f"/objects/{obj}/fields/{f['renamed_from']}"] = (
                    f"/objects/{obj}/fields/{name}"
                )
    for obj, fields in pack.extensions.items():
        for name, f in fields.items():
            if isinstance(f, dict) and f.get("renamed_from"):
                renames[f"/objects/{obj}/fields/{f['renamed_from']}"] = (
                    f"/objects/{obj}/fields/{name}"
                )
    return renames


def _manifest_record(pack: Pack) -> dict[str, Any]:
    return {**pack.manifest.to_dict(), "objects": sorted(pack.objects)}


@dataclass
class PackChange:
    """One pack an operation installs, upgrades or uninstalls."""

    name: str
    action: str
    from_version: Version | None
    to_version: Version | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action,
            "from": str(self.from_version) if self.from_version else None,
            "to": str(self.to_version) if self.to_version else None,
        }

    def __str__(self) -> str:
        if self.action == "install":
            return f"install {self.name} {self.to_version}"
        if self.action == "reinstall":
            return f"reinstall {self.name} {self.to_version} (was {self.from_version})"
        if self.action == "upgrade":
            return f"upgrade {self.name} {self.from_version} → {self.to_version}"
        return f"uninstall {self.name} {self.from_version}"


@dataclass
class PackPlan:
    """A dry run: the packs, the metadata plan (with its DDL), conflicts and data impact."""

    tenant: str
    changes: list[PackChange]
    report: PlanReport
    metadata: ValidMetadata
    conflicts: list[Conflict]
    kept: list[str]
    """Tenant customizations an upgrade keeps."""
    data: list[str]
    """What happens to records, in words."""
    hook: Callable[[Connection, str | None, int, Model], None]
    problems: list[str] = field(default_factory=list)
    effects: dict[str, Any] = field(default_factory=dict)
    """Filled in by the hook while applying: rows restored, sample records made."""

    @property
    def blockers(self) -> list[str]:
        return [
            *self.problems,
            *(f"conflict at {c}" for c in self.conflicts),
            *(str(i) for i in self.report.blockers),
        ]

    def to_dict(self) -> dict[str, Any]:
        report = self.report.to_dict()
        return {
            "tenant": self.tenant,
            "packs": [c.to_dict() for c in self.changes],
            "base_version": report["base_version"],
            "next_version": report["next_version"],
            "operations": report["operations"],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "customizations_kept": self.kept,
            "data": self.data,
            "blockers": self.blockers,
            "warnings": report["warnings"],
        }


@dataclass
class PackResult:
    """What applying a plan did."""

    plan: PackPlan
    result: ApplyResult
    effects: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "applied": True,
            "version": self.result.version.number if self.result.version else None,
            "effects": self.effects,
        }


class PackService:
    """Pack lifecycle for the tenants of one TenantService, from one catalog."""

    def __init__(self, tenants: TenantService, catalog: Catalog | None = None) -> None:
        self.tenants = tenants
        self.catalog = catalog or Catalog()

    # -- reading -------------------------------------------------------------------------

    def records(self, tenant: str) -> dict[str, PackRecord]:
        """Return the tenant's pack records (installed and uninstalled) by name."""
        self.tenants.get_tenant(tenant)
        backend = self.tenants.backend
        schema = backend.schema(tenant)
        with backend.read_tenant(tenant) as conn:
            packs = system_table(schema, naming.PACKS_TABLE)
            if not conn.dialect.has_table(conn, packs.name, schema=schema):
                return {}
            return read_packs(conn, schema)

    def installed(self, tenant: str) -> dict[str, PackRecord]:
        return {n: r for n, r in self.records(tenant).items() if r.status == "installed"}

    def listing(self, tenant: str | None = None) -> list[dict[str, Any]]:
        """Return the catalog's packs, with each one's state in ``tenant`` if given."""
        records = self.records(tenant) if tenant else {}
        out = []
        for name in sorted(set(self.catalog.names()) | set(records)):
            entry: dict[str, Any] = {"name": name}
            try:
                pack = self.catalog.get(name)
            except (PackError, MetadataError) as exc:
                entry["problem"] = str(exc).splitlines()[0]
            else:
                entry.update(pack.manifest.to_dict())
                entry["available"] = str(pack.version)
            record = records.get(name)
            entry["installed"] = (
                str(record.version) if record and record.status == "installed" else None
            )
            entry["status"] = record.status if record else "available"
            out.append(entry)
        return out

    def _current(self, tenant: str) -> Units:
        """Return the tenant's active metadata as units."""
        _, snapshot = self.tenants.active(tenant)
        return units_of(snapshot.model.to_document())

    @staticmethod
    def _names(records: Mapping[str, PackRecord], status: str) -> list[str]:
        return [name for name, record in records.items() if record.status == status]

    # -- planning ------------------------------------------------------------------------

    def plan_install(
        self,
        tenant: str,
        names: list[str],
        *,
        sample_data: bool = False,
        owners: Mapping[str, Any] | None = None,
        prefer: str | None = None,
        sql: bool = True,
    ) -> PackPlan:
        """Plan installing ``names`` (pack names or paths) and what they depend on.

        ``sql=False`` leaves each step's DDL out of the plan (an apply does not need it).
        """
        records = self.records(tenant)
        installed = {n: r.version for n, r in records.items() if r.status == "installed"}
        requested = [self.catalog.load(name) for name in names]
        packs = resolve(requested, installed, self.catalog)
        problems = self._publisher_problems(packs, records)
        current = self._current(tenant)
        conflicts: list[Conflict] = []
        kept: list[str] = []
        changes: list[PackChange] = []
        restores: list[str] = []
        contributions: dict[str, Units] = {}
        renamed: dict[str, str] = {}
        for pack in packs:
            mine = contributions[pack.name] = contribution(pack)
            record = records.get(pack.name)
            if record is not None:  # uninstalled earlier: bring its customizations back
                base, current = record.contribution, {**current, **record.retained}
                restores += record.archives
                changes.append(PackChange(pack.name, "reinstall", record.version, pack.version))
            else:
                base = {}
                changes.append(PackChange(pack.name, "install", None, pack.version))
            outcome = merge(base, mine, current, renames=declared_renames(pack), prefer=prefer)
            current = outcome.units
            conflicts += outcome.conflicts
            kept += outcome.kept
            renamed.update(outcome.renames)
        valid = self._validate(current, renamed)
        report = self.tenants.plan(tenant, valid, render=sql, pack_change=True)
        data = self._restore_impact(tenant, restores)
        if sample_data:
            data += [
                f"sample data: {sum(len(r) for r in p.sample_data.values())} records of "
                f"{pack_objects(p)} for {p.name} (objects that are still empty)"
                for p in packs
                if p.sample_data
            ]

        effects: dict[str, Any] = {}
        timezone = self.tenants.get_tenant(tenant).timezone

        def hook(conn: Connection, schema: str | None, version: int, model: Model) -> None:
            effects["restored"] = restore_archives(conn, schema, model, restores)
            keys: dict[str, Any] = {}
            for record in read_packs(conn, schema).values():
                keys.update({k: uuid.UUID(v) for k, v in record.sample_keys.items()})
            sampled = {obj for p in packs if sample_data for obj in p.sample_data}
            skip = {
                obj
                for obj in sampled
                if obj in model.objects and count_rows(conn, schema, model, obj)
            }
            for pack in packs:
                own: dict[str, Any] = {}
                if sample_data and pack.sample_data:
                    before = set(keys)
                    effects.setdefault("sample_data", {})[pack.name] = insert_sample_data(
                        conn,
                        schema,
                        model,
                        pack.sample_data,
                        keys=keys,
                        skip=skip,
                        owners=owners,
                        timezone=timezone,
                    )
                    own = {k: str(v) for k, v in keys.items() if k not in before}
                write_pack(
                    conn,
                    schema,
                    name=pack.name,
                    version=pack.version,
                    status="installed",
                    manifest=_manifest_record(pack),
                    contribution=contributions[pack.name],
                    metadata_version=version,
                    sample_keys=own,
                )

        return PackPlan(
            tenant, changes, report, valid, conflicts, kept, data, hook, problems, effects
        )

    def plan_upgrade(
        self,
        tenant: str,
        name: str,
        *,
        prefer: str | None = None,
        sql: bool = True,
    ) -> PackPlan:
        """Plan moving an installed pack to the catalog's (or a path's) version."""
        pack = self.catalog.load(name)
        records = self.records(tenant)
        record = records.get(pack.name)
        if record is None or record.status != "installed":
            raise PackError(
                f"{pack.name} is not installed in tenant {tenant!r}",
                [f"install it: tessera app install {pack.name} --tenant {tenant}"],
            )
        problems = []
        if pack.version <= record.version:
            problems.append(
                f"{pack.name} {record.version} is installed; {pack.version} is not newer"
            )
        installed = {n: r for n, r in records.items() if r.status == "installed"}
        for dep, wanted in pack.manifest.dependencies.items():
            have = installed.get(dep)
            if have is None:
                problems.append(
                    f"{pack.name} {pack.version} needs {dep} {wanted}: install it first"
                )
            elif not wanted.allows(have.version):
                problems.append(
                    f"{pack.name} {pack.version} needs {dep} {wanted}, but the tenant has "
                    f"{dep} {have.version}: upgrade {dep} first"
                )
        for other in installed.values():
            wanted_text = other.dependencies.get(pack.name)
            if wanted_text is not None and not VersionRange.parse(wanted_text).allows(pack.version):
                problems.append(
                    f"{other.name} {other.version} needs {pack.name} {wanted_text}, which "
                    f"{pack.version} is not: upgrade {other.name} with it"
                )
        current = self._current(tenant)
        mine = contribution(pack)
        outcome = merge(
            record.contribution, mine, current, renames=declared_renames(pack), prefer=prefer
        )
        valid = self._validate(outcome.units, outcome.renames)
        report = self.tenants.plan(
            tenant, valid, allow_destructive=True, render=sql, pack_change=True
        )
        data = [
            f"{op.describe()}: its data is archived"
            for op in report.plan.operations
            if op.kind in ("drop_object", "drop_field")
        ]
        moves, move_problems = plan_moves(pack.manifest.moves, report.plan.operations, valid.model)
        problems += move_problems
        data += [m.describe() for m in moves]
        effects: dict[str, Any] = {}

        def hook(conn: Connection, schema: str | None, version: int, model: Model) -> None:
            write_pack(
                conn,
                schema,
                name=pack.name,
                version=pack.version,
                status="installed",
                manifest=_manifest_record(pack),
                contribution=mine,
                metadata_version=version,
            )
            if moves:
                effects["moved"] = run_moves(conn, schema, version, moves)

        change = PackChange(pack.name, "upgrade", record.version, pack.version)
        return PackPlan(
            tenant,
            [change],
            report,
            valid,
            outcome.conflicts,
            outcome.kept,
            data,
            hook,
            problems,
            effects,
        )

    def plan_uninstall(
        self, tenant: str, name: str, *, purge: bool = False, sql: bool = True
    ) -> PackPlan:
        """Plan removing a pack's components; its data is archived unless ``purge``."""
        records = self.records(tenant)
        record = records.get(name)
        if record is None or record.status != "installed":
            raise PackError(
                f"{name} is not installed in tenant {tenant!r}",
                [f"installed: {', '.join(self._names(records, 'installed')) or 'none'}"],
            )
        dependents = [
            r for r in records.values() if r.status == "installed" and name in r.dependencies
        ]
        if dependents:
            raise PackError(
                f"{name} cannot be uninstalled: other packs depend on it",
                [
                    f"{r.name} {r.version} depends on {name} {r.dependencies[name]}; "
                    f"uninstall {r.name} first"
                    for r in dependents
                ],
            )
        base_version = self.tenants.get_tenant(tenant).active_version
        current = self._current(tenant)
        kept, removed = remove(record.contribution, record.objects, current)
        try:
            valid = validate_data(document_of(kept), structure=False)
        except MetadataError as exc:
            raise PackError(
                f"{name} cannot be uninstalled: the tenant's own metadata still uses it",
                [f"{i.pointer}: {i.message}" for i in exc.errors],
            ) from None
        report = self.tenants.plan(
            tenant, valid, allow_destructive=True, render=sql, pack_change=True
        )
        data = self._drop_impact(tenant, report, purge)

        def hook(conn: Connection, schema: str | None, version: int, model: Model) -> None:
            archives = system_table(schema, naming.ARCHIVES_TABLE)
            made = (
                [
                    n
                    for (n,) in conn.execute(
                        select(archives.c.name).where(archives.c.version == version)
                    )
                ]
                if version != base_version
                else []
            )
            if purge:
                drop_archives(conn, schema, made)
                forget_pack(conn, schema, name)
                return
            write_pack(
                conn,
                schema,
                name=name,
                version=record.version,
                status="uninstalled",
                manifest=record.manifest,
                contribution=record.contribution,
                metadata_version=version,
                retained=removed,
                archives=made,
            )

        change = PackChange(name, "uninstall", record.version, None)
        return PackPlan(tenant, [change], report, valid, [], [], data, hook)

    # -- applying ------------------------------------------------------------------------

    def apply(
        self, plan: PackPlan, *, author: str = "tessera", progress: Progress | None = None
    ) -> PackResult:
        """Apply a plan made by one of the ``plan_*`` methods; refuse if it has blockers.
        ``progress`` is told of each operation as it runs (the CLI's progress bar)."""
        if plan.blockers:
            raise PackError("the plan has blockers", plan.blockers)
        message = "; ".join(str(c) for c in plan.changes)
        result = self.tenants.apply(
            plan.tenant,
            plan.metadata,
            allow_destructive=any(c.action in ("upgrade", "uninstall") for c in plan.changes),
            author=author,
            message=message,
            expected_version=plan.report.base_version,
            after_migrate=plan.hook,
            pack_change=True,
            planned=plan.report.plan,
            progress=progress,
        )
        return PackResult(plan, result, plan.effects)

    # -- helpers -------------------------------------------------------------------------

    def _validate(self, units: Units, renamed: Mapping[str, str]) -> ValidMetadata:
        document = document_of(units)
        for ptr, old in renamed.items():
            parts = ptr.strip("/").split("/")
            target = document["objects"].get(parts[1])
            if target is None:
                continue
            if len(parts) == 4 and parts[3] in target["fields"]:
                target["fields"][parts[3]] = {**target["fields"][parts[3]], "renamed_from": old}
            elif len(parts) == 2:
                target["renamed_from"] = old
        try:
            # Units are canonical JSON that passed the schema (pack files, or the tenant's
            # active metadata), so only the checks across them run again.
            return validate_data(document, structure=False)
        except MetadataError as exc:
            raise PackError(
                "the packs do not fit the tenant's metadata",
                [f"{i.pointer}: {i.message}" for i in exc.errors],
            ) from None

    def _publisher_problems(
        self, packs: list[Pack], records: Mapping[str, PackRecord]
    ) -> list[str]:
        """A prefix belongs to one publisher: refuse a pack claiming another's."""
        owners = {
            r.manifest["publisher"]["prefix"]: (r.manifest["publisher"]["name"], r.name)
            for r in records.values()
        }
        problems = []
        for pack in packs:
            prefix, publisher = pack.manifest.prefix, pack.manifest.publisher
            owner = owners.setdefault(prefix, (publisher, pack.name))
            if owner[0] != publisher:
                problems.append(
                    f"{pack.name} is published by {publisher!r} with prefix {prefix!r}, which "
                    f"belongs to {owner[0]!r} (pack {owner[1]}) in this tenant"
                )
        return problems

    def _restore_impact(self, tenant: str, archives: list[str]) -> list[str]:
        if not archives:
            return []
        known = {a["name"]: a for a in self.tenants.archives(tenant)}
        out = []
        for name in archives:
            archive = known.get(name)
            if archive is None:
                out.append(f"archive {name} is gone (purged); nothing to restore from it")
                continue
            what = archive["object"] + (f".{archive['field']}" if archive["field"] else "")
            out.append(f"restores {_rows(archive['row_count'] or 0)} of {what} from {name}")
        return out

    def _drop_impact(self, tenant: str, report: PlanReport, purge: bool) -> list[str]:
        backend = self.tenants.backend
        schema = backend.schema(tenant)
        model = report.plan.old.model
        out = []
        with backend.read_tenant(tenant) as conn:
            for op in report.plan.operations:
                if op.kind not in ("drop_object", "drop_field"):
                    continue
                field_name = op.field.name if op.kind == "drop_field" else None
                rows = count_rows(conn, schema, model, op.object_name, field_name)
                what = op.object_name + (f".{field_name}" if field_name else "")
                verb = "deletes for good" if purge else "archives (kept for a reinstall)"
                out.append(f"{verb}: {_rows(rows)} of {what}")
        return out


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def pack_objects(pack: Pack) -> str:
    return ", ".join(sorted(pack.sample_data))
