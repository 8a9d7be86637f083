"""``tessera tenant export|import`` and ``tessera backup create|restore``."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from runtime.cli import output


def register(
    cli: click.Group, pass_context: Any, reports_errors: Callable, json_option: Any
) -> None:
    tenant = cli.commands["tenant"]
    assert isinstance(tenant, click.Group)

    @tenant.command("export")
    @click.argument("name")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @json_option
    @pass_context
    @reports_errors
    def tenant_export(ctx: Any, name: str, file: Path, as_json: bool) -> None:
        """Write tenant NAME (metadata history, every row, members) to FILE, a portable
        archive that `tessera tenant import` reads on either backend."""
        from runtime.backup.tenant_archive import export_tenant

        with output.steps_bar(f"Exporting {name}", enabled=not as_json) as advance:
            summary = export_tenant(ctx.platform, name, file, advance)
        if as_json:
            output.emit_json({**summary.to_dict(), "file": str(file)})
            return
        output.out.print(
            f"Exported tenant [bold]{name}[/] to {file}: {summary.versions} metadata "
            f"version(s), {summary.rows} row(s) in {len(summary.tables)} table(s), "
            f"{summary.members} member(s)."
        )

    @tenant.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--as", "name", help="Name of the new tenant (default: the archive's).")
    @click.option(
        "--members/--no-members",
        default=True,
        show_default=True,
        help="Add the archive's members (users this instance lacks are created without a "
        "password).",
    )
    @json_option
    @pass_context
    @reports_errors
    def tenant_import(ctx: Any, file: Path, name: str | None, members: bool, as_json: bool) -> None:
        """Create a tenant from an archive made by `tessera tenant export`."""
        from runtime.backup.tenant_archive import ArchiveError, import_tenant

        try:
            with output.steps_bar("Importing", enabled=not as_json) as advance:
                summary = import_tenant(
                    ctx.platform,
                    file,
                    name=name,
                    members=members,
                    progress=advance,
                    actor=f"cli:{getpass.getuser()}",
                )
        except ArchiveError as exc:
            raise click.ClickException(str(exc)) from None
        if as_json:
            output.emit_json(summary.to_dict())
            return
        output.out.print(
            f"Imported tenant [bold]{summary.tenant}[/] at version {summary.active_version}: "
            f"{summary.versions} metadata version(s), {summary.rows} row(s), "
            f"{summary.members} member(s)."
        )
        if summary.created_users:
            output.out.print(
                "These users were created without a password; set one with "
                "`tessera user password EMAIL`: " + ", ".join(summary.created_users)
            )

    @cli.group()
    def backup() -> None:
        """Back up or restore the whole instance (users, tokens, audit log, every tenant)."""

    @backup.command("create")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @json_option
    @pass_context
    @reports_errors
    def backup_create(ctx: Any, file: Path, as_json: bool) -> None:
        """Write the whole instance to FILE (it holds password hashes: keep it safe)."""
        from runtime.backup.instance import backup_instance

        with output.steps_bar("Backing up", enabled=not as_json) as advance:
            summary = backup_instance(ctx.platform, file, advance)
        if as_json:
            output.emit_json({**summary, "file": str(file)})
            return
        rows = sum(summary["tenants"].values())
        output.out.print(
            f"Backed up {len(summary['tenants'])} tenant(s) ({rows} rows), "
            f"{summary['users']} user(s), {summary['tokens']} API token(s) and "
            f"{summary['audit_entries']} audit entries to {file}."
        )

    @backup.command("restore")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @json_option
    @pass_context
    @reports_errors
    def backup_restore(ctx: Any, file: Path, as_json: bool) -> None:
        """Restore FILE into this instance, which must have no tenants and no users."""
        from runtime.backup.instance import restore_instance
        from runtime.backup.tenant_archive import ArchiveError

        try:
            with output.steps_bar("Restoring", enabled=not as_json) as advance:
                summary = restore_instance(ctx.platform, file, advance)
        except ArchiveError as exc:
            raise click.ClickException(str(exc)) from None
        if as_json:
            output.emit_json(summary)
            return
        rows = sum(summary["tenants"].values())
        output.out.print(
            f"Restored {len(summary['tenants'])} tenant(s) ({rows} rows), "
            f"{summary['users']} user(s), {summary['tokens']} API token(s) and "
            f"{summary['audit_entries']} audit entries."
        )
