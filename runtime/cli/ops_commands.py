"""``tessera settings``, ``tessera admin create`` and ``tessera migrate``: an operator's
first steps on a new deployment."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from runtime.cli import output
from runtime.settings import VARIABLES, env_example, markdown_table


def _shown(name: str, value: Any) -> str:
    if value in (None, "", ()):
        return ""
    if "SECRET" in name or "PASSWORD" in name:
        return "(set)"
    if name.endswith("_URL") and "@" in str(value):
        from sqlalchemy.engine import make_url

        try:
            return make_url(str(value)).render_as_string(hide_password=True)
        except Exception:
            return "(set)"
    if isinstance(value, tuple):
        return ",".join("=".join(v) if isinstance(v, tuple) else str(v) for v in value)
    return str(value)


def register(
    cli: click.Group, pass_context: Any, reports_errors: Callable, json_option: Any
) -> None:
    @cli.command("settings")
    @click.option("--markdown", is_flag=True, help="Print the reference table (docs).")
    @click.option("--env", "as_env", is_flag=True, help="Print platform/tessera.env.example.")
    @json_option
    @pass_context
    def settings_command(ctx: Any, markdown: bool, as_env: bool, as_json: bool) -> None:
        """Show every TESSERA_* setting as this process sees it (secrets hidden)."""
        if markdown:
            click.echo(markdown_table(), nl=False)
            return
        if as_env:
            click.echo(env_example(), nl=False)
            return
        rows = []
        for v in VARIABLES:
            target: Any = ctx.settings
            for part in v.attr.split("."):
                target = getattr(target, part)
            rows.append(
                {
                    "variable": v.name,
                    "value": _shown(v.name, target),
                    "from": "environment" if os.environ.get(v.name) else "default",
                }
            )
        if as_json:
            output.emit_json(rows)
            return
        output.table(
            ["variable", "value", "from"],
            [[r["variable"], r["value"] or "-", r["from"]] for r in rows],
            title="Settings (docs/operations.md explains each)",
            no_wrap=("variable",),
        )

    @cli.group()
    def admin() -> None:
        """Bootstrap: the first platform admin."""

    @admin.command("create")
    @click.argument("email")
    @click.option(
        "--password-env",
        metavar="VAR",
        help="Read the password from this environment variable (for a deploy job).",
    )
    @click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
    @click.option("--name", "display_name", help="Display name.")
    @click.option(
        "--if-missing",
        is_flag=True,
        help="Succeed without changes if the user exists (a job that runs on every deploy).",
    )
    @json_option
    @pass_context
    @reports_errors
    def admin_create(
        ctx: Any,
        email: str,
        password_env: str | None,
        password_stdin: bool,
        display_name: str | None,
        if_missing: bool,
        as_json: bool,
    ) -> None:
        """Create a platform admin: they create tenants and add the first members."""
        from runtime.security.identity import IdentityError, UserNotFound

        identity = ctx.identity
        try:
            existing = identity.user(email)
        except UserNotFound:
            existing = None
        if existing is not None:
            if not if_missing:
                raise click.ClickException(f"a user with e-mail {email!r} already exists")
            message = f"{existing.email} exists already; nothing changed."
            if not existing.platform_admin:
                message += " Note: they are not a platform admin."
            if as_json:
                output.emit_json({"created": False, "user": existing.to_dict()})
            else:
                output.out.print(message)
            return
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise click.ClickException(f"the environment variable {password_env} is empty")
        elif password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            user = identity.create_user(
                email,
                password,
                display_name=display_name,
                platform_admin=True,
                actor=f"cli:{getpass.getuser()}",
            )
        except IdentityError as exc:
            raise click.ClickException(str(exc)) from None
        if as_json:
            output.emit_json({"created": True, "user": user.to_dict()})
            return
        output.out.print(
            f"Created platform admin [bold]{user.email}[/]. Sign in: POST /auth/login with "
            "their e-mail and password (no tenant), then create tenants and members."
        )

    @cli.command("migrate")
    @json_option
    @pass_context
    @reports_errors
    def migrate_command(ctx: Any, as_json: bool) -> None:
        """Bring the control plane and every tenant's platform tables up to date (one job
        before servers start; safe to repeat, and to run while old servers run)."""
        from metadata.registry import migrate as control_migrations

        backend = ctx.platform.backend  # building it runs the control-plane migrations
        tenants = ctx.service.list_tenants()
        with output.steps_bar("Upgrading tenants", enabled=not as_json) as advance:
            for done, tenant in enumerate(tenants, start=1):
                backend.upgrade_storage(tenant.name)
                if advance is not None:
                    advance(done, len(tenants), tenant.name)
        revision = control_migrations.current_revision(backend.control)
        if as_json:
            output.emit_json({"control_plane": revision, "tenants": len(tenants)})
            return
        output.out.print(
            f"Control plane at revision {revision}; platform tables of {len(tenants)} "
            "tenant(s) are current."
        )
