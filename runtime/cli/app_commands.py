"""``tessera app``: validate, pack, list, install, upgrade and uninstall packs.

Install, upgrade and uninstall print the plan first (packs, operations, DDL, conflicts,
data impact) and apply it only with ``--yes`` or after a confirmation; ``--dry-run``
stops after the plan.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from metadata.errors import MetadataError, sort_issues
from runtime.cli import output

if TYPE_CHECKING:  # imported where used: `tessera --help` must not load every pack reader
    from runtime.packs.service import PackPlan, PackService


def _service(ctx: Any, apps_dir: str | None) -> PackService:
    from metadata.packs.catalog import Catalog
    from runtime.packs.service import PackService

    catalog = Catalog(Path(apps_dir)) if apps_dir else Catalog()
    return PackService(ctx.service, catalog)


def show_plan(plan: PackPlan, *, show_sql: bool) -> None:
    """Print a pack plan for people."""
    data = plan.to_dict()
    out = output.out
    out.print(
        f"[bold]Plan for tenant {escape(plan.tenant)}[/]: "
        + "; ".join(escape(str(c)) for c in plan.changes)
    )
    ops = data["operations"]
    out.print(
        f"Metadata version {data['base_version'] or 'none'} → {data['next_version']}, "
        f"{len(ops)} operation(s)"
    )
    for index, op in enumerate(ops, start=1):
        flag = " [bold red](destructive)[/]" if op["destructive"] else ""
        out.print(f"  {index:>3}. {escape(op['description'])}{flag}")
        if show_sql and op["sql"]:
            sql = "\n".join("       " + line for line in op["sql"].splitlines() if line.strip())
            out.print(escape(sql), style="cyan", soft_wrap=True)
    if plan.kept:
        out.print(f"Tenant customizations kept ({len(plan.kept)}):")
        for ptr in plan.kept:
            out.print(f"  - {escape(ptr)}")
    if plan.data:
        out.print("Data:")
        for line in plan.data:
            out.print(f"  - {escape(line)}")
    if plan.blockers:
        out.print(f"[bold red]{len(plan.blockers)} problem(s) stop this plan:[/]")
        for line in plan.blockers:
            out.print(f"  - {escape(line)}", soft_wrap=True)
    else:
        out.print("[green]Nothing blocks this plan.[/]")


def register(
    cli: click.Group,
    pass_context: Callable[..., Any],
    reports_errors: Callable[..., Any],
    json_option: Callable[..., Any],
) -> None:
    """Add the ``app`` group to ``cli``."""
    apps_option = click.option(
        "--apps-dir",
        envvar="TESSERA_APPS_DIR",
        default=None,
        help="Folder of packs to offer (default: the apps/ folder of this Tessera).",
    )

    @cli.group()
    def app() -> None:
        """Installable app packs (docs/packs.md)."""

    @app.command("validate")
    @click.argument("location", type=click.Path(exists=True))
    @apps_option
    @json_option
    @reports_errors
    def app_validate(location: str, apps_dir: str | None, as_json: bool) -> None:
        """Check the pack in LOCATION (folder or archive); report every problem with its
        file and line."""
        from metadata.packs.catalog import Catalog, dependency_issues
        from metadata.packs.loader import manifest_document
        from metadata.packs.schemas import MANIFEST_FILE

        catalog = Catalog(Path(apps_dir)) if apps_dir else Catalog()
        # Every problem at once: the pack's own files, and dependencies the catalog cannot
        # satisfy, even when the manifest itself has errors.
        try:
            pack: Any = catalog.add(location)
            found: list[Any] = []
        except MetadataError as exc:
            pack, found = None, list(exc.issues)
        doc = pack.files[MANIFEST_FILE] if pack is not None else manifest_document(location)
        unsatisfied = dependency_issues(doc, catalog) if doc is not None else []
        found += unsatisfied
        if pack is not None and not unsatisfied:
            found += catalog.check(pack)
        errors = [i for i in found if i.severity == "error"]
        if errors:
            title = f"Pack {pack.name} {pack.version}" if pack is not None else f"Pack {location}"
            raise MetadataError(sort_issues(found), title=f"{title} is invalid")
        if as_json:
            output.emit_json(
                {
                    "valid": True,
                    **pack.manifest.to_dict(),
                    "objects": sorted(pack.objects),
                    "warnings": [i.to_dict() for i in found],
                }
            )
            return
        output.out.print(
            f"[green]{pack.name} {pack.version} is valid[/]: {len(pack.objects)} object(s), "
            f"{sum(len(f) for f in pack.extensions.values())} extension field(s), "
            f"{sum(1 for _ in pack.items())} other component(s)."
        )
        if found:
            output.issues(found, title=f"{len(found)} warning(s):", to=output.out)

    @app.command("pack")
    @click.argument("location", type=click.Path(exists=True, file_okay=False))
    @click.option("-o", "--output", "target", default=None, help="Archive file to write.")
    @apps_option
    @json_option
    @reports_errors
    def app_pack(location: str, target: str | None, apps_dir: str | None, as_json: bool) -> None:
        """Check the pack folder LOCATION and write it as a .tpack archive."""
        from metadata.packs.catalog import Catalog
        from metadata.packs.loader import ARCHIVE_SUFFIX, write_archive

        catalog = Catalog(Path(apps_dir)) if apps_dir else Catalog()
        pack = catalog.add(location)
        catalog.load(location)
        path = Path(target or f"{pack.name}-{pack.version}{ARCHIVE_SUFFIX}")
        write_archive(pack, path)
        if as_json:
            output.emit_json(
                {"archive": str(path), "name": pack.name, "version": str(pack.version)}
            )
        else:
            output.out.print(f"Wrote {path} ({path.stat().st_size} bytes).")

    @app.command("docs")
    @click.argument("locations", nargs=-1, type=click.Path(exists=True))
    @click.option("-o", "--output-dir", default=None, help="Folder (default: docs/apps).")
    @apps_option
    @reports_errors
    def app_docs(locations: tuple[str, ...], output_dir: str | None, apps_dir: str | None) -> None:
        """Write the docs page of each pack (default: every pack in the catalog)."""
        from metadata.packs.catalog import Catalog
        from metadata.packs.docs import doc_path, render_pack_doc

        catalog = Catalog(Path(apps_dir)) if apps_dir else Catalog()
        packs = [catalog.add(loc) for loc in locations] or [
            catalog.get(name) for name in catalog.names()
        ]
        for pack in packs:
            catalog.load(pack.location)
            target = Path(output_dir) / f"{pack.name}.md" if output_dir else doc_path(pack)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render_pack_doc(pack), encoding="utf-8")
            output.out.print(f"Wrote {target}.")

    @app.command("list")
    @click.option("--tenant", "tenant_name", default=None, help="Show what TENANT has installed.")
    @apps_option
    @json_option
    @pass_context
    @reports_errors
    def app_list(ctx: Any, tenant_name: str | None, apps_dir: str | None, as_json: bool) -> None:
        """List the packs on offer (and, with --tenant, their state in that tenant)."""
        rows = _service(ctx, apps_dir).listing(tenant_name)
        if as_json:
            output.emit_json(rows)
            return
        columns = ["name", "version", *(["in tenant"] if tenant_name else []), "needs", "label"]

        def state(row: dict[str, Any]) -> str:
            if row["status"] == "installed":
                return f"installed {row['installed']}"
            return row["status"]

        output.table(
            columns,
            [
                [
                    r["name"],
                    r.get("available", "-"),
                    *([state(r)] if tenant_name else []),
                    ", ".join(f"{n} {v}" for n, v in (r.get("dependencies") or {}).items()) or "-",
                    " / ".join((r.get("label") or {}).values()) or r.get("problem", ""),
                ]
                for r in rows
            ],
            title="Packs" + (f" in tenant {tenant_name}" if tenant_name else ""),
            no_wrap=("name", "version", "in tenant", "needs"),
        )

    lifecycle_options = [
        click.option("--tenant", "tenant_name", required=True, help="The tenant to change."),
        click.option("--dry-run", is_flag=True, help="Show the plan and change nothing."),
        click.option("--yes", is_flag=True, help="Apply without asking."),
        click.option(
            "--sql/--no-sql", default=True, show_default=True, help="Show each step's DDL."
        ),
        click.option("--author", default=None, help="Who made it (default: the current user)."),
        apps_option,
        json_option,
        pass_context,
        reports_errors,
    ]

    def lifecycle(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(lifecycle_options):
            fn = option(fn)
        return fn

    def run(
        ctx: Any,
        packs: PackService,
        plan: PackPlan,
        *,
        dry_run: bool,
        yes: bool,
        sql: bool,
        author: str | None,
        as_json: bool,
    ) -> None:
        if as_json and (dry_run or plan.blockers):
            output.emit_json({**plan.to_dict(), "applied": False})
        elif not as_json:
            show_plan(plan, show_sql=sql)
        if plan.blockers:
            raise SystemExit(1)
        if dry_run:
            return
        if not yes and not as_json and not click.confirm("Apply this plan?", default=False):
            output.out.print("Nothing changed.")
            return
        with output.progress_bar("Applying", enabled=not as_json) as advance:
            result = packs.apply(plan, author=author or getpass.getuser(), progress=advance)
        if as_json:
            output.emit_json(result.to_dict())
            return
        version = result.result.version
        output.out.print(
            f"[green]Done[/]: {'; '.join(str(c) for c in plan.changes)}"
            + (f" (metadata version {version.number})" if version else "")
            + "."
        )
        for pack, counts in result.effects.get("sample_data", {}).items():
            output.out.print(
                f"  {pack}: {sum(counts.values())} sample records in {len(counts)} objects"
            )
        for archive, rows in result.effects.get("restored", {}).items():
            output.out.print(f"  restored {rows} rows from {archive}")

    @app.command("install")
    @click.argument("packs", nargs=-1, required=True)
    @click.option("--sample-data", is_flag=True, help="Also create the packs' sample records.")
    @click.option(
        "--prefer",
        type=click.Choice(["tenant", "pack"]),
        default=None,
        help="Settle conflicts with the tenant's metadata this way (default: refuse).",
    )
    @lifecycle
    def app_install(
        ctx: Any,
        packs: tuple[str, ...],
        sample_data: bool,
        prefer: str | None,
        tenant_name: str,
        apps_dir: str | None,
        **flags: Any,
    ) -> None:
        """Install PACKS (names or paths) and what they depend on into a tenant."""
        service = _service(ctx, apps_dir)
        plan = service.plan_install(
            tenant_name, list(packs), sample_data=sample_data, prefer=prefer, sql=flags["sql"]
        )
        run(ctx, service, plan, **flags)

    @app.command("upgrade")
    @click.argument("pack")
    @click.option(
        "--prefer",
        type=click.Choice(["tenant", "pack"]),
        default=None,
        help="Settle conflicts this way: keep the tenant's value or take the pack's "
        "(default: refuse while there are conflicts).",
    )
    @lifecycle
    def app_upgrade(
        ctx: Any,
        pack: str,
        prefer: str | None,
        tenant_name: str,
        apps_dir: str | None,
        **flags: Any,
    ) -> None:
        """Upgrade PACK (a name, or the path of its new version), keeping customizations."""
        service = _service(ctx, apps_dir)
        plan = service.plan_upgrade(tenant_name, pack, prefer=prefer, sql=flags["sql"])
        run(ctx, service, plan, **flags)

    @app.command("uninstall")
    @click.argument("pack")
    @click.option("--purge", is_flag=True, help="Delete the pack's data too (default: archive it).")
    @lifecycle
    def app_uninstall(
        ctx: Any, pack: str, purge: bool, tenant_name: str, apps_dir: str | None, **flags: Any
    ) -> None:
        """Remove PACK from a tenant; its data is kept for a reinstall unless --purge."""
        service = _service(ctx, apps_dir)
        plan = service.plan_uninstall(tenant_name, pack, purge=purge, sql=flags["sql"])
        run(ctx, service, plan, **flags)
