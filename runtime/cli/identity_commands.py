"""``tessera user``, ``tessera token`` and ``tessera audit``: identity from the command line.

The CLI talks to the control plane directly, so it is trusted like a database login:
these commands are how the first platform admin comes to exist.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any

import click

from runtime.cli import output
from runtime.security.audit_kinds import KINDS as AUDIT_KINDS


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _summary(detail: dict[str, Any]) -> str:
    """One readable line per audit entry: ``key=value``, lists shortened to their gist."""
    parts = []
    for key, value in detail.items():
        if isinstance(value, list):
            items = [v.get("description", v) if isinstance(v, dict) else v for v in value]
            shown = "; ".join(str(v) for v in items[:3])
            more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
            parts.append(f"{key}: {shown or '-'}{more}")
        else:
            parts.append(f"{key}={value}")
    return ", ".join(parts)


def _known(ctx: Any, tenant: str) -> tuple[set[str], set[str]]:
    _, snapshot = ctx.service.active(tenant)
    security = snapshot.model.security
    return set(security.roles), set(security.permission_sets)


def register(
    cli: click.Group, pass_context: Any, reports_errors: Callable, json_option: Any
) -> None:
    @cli.group()
    def user() -> None:
        """Create users and manage their tenant memberships."""

    @user.command("create")
    @click.argument("email")
    @click.option("--password", help="Password (asked for when not given; at least 10 characters).")
    @click.option("--no-password", is_flag=True, help="A user who acts only through API tokens.")
    @click.option("--name", "display_name", help="Display name (default: the e-mail's name).")
    @click.option("--platform-admin", is_flag=True, help="May create and delete tenants.")
    @click.option("--tenant", help="Also make the user a member of this tenant.")
    @click.option("--role", help="Their role in --tenant.")
    @click.option("--tenant-admin", is_flag=True, help="Admin of --tenant.")
    @json_option
    @pass_context
    @reports_errors
    def user_create(
        ctx: Any,
        email: str,
        password: str | None,
        no_password: bool,
        display_name: str | None,
        platform_admin: bool,
        tenant: str | None,
        role: str | None,
        tenant_admin: bool,
        as_json: bool,
    ) -> None:
        """Create a user with e-mail EMAIL."""
        if password is None and not no_password:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        identity = ctx.identity
        made = identity.create_user(
            email,
            None if no_password else password,
            display_name=display_name,
            platform_admin=platform_admin,
            actor=_actor(),
        )
        member = None
        if tenant:
            roles, sets = _known(ctx, tenant)
            member = identity.set_membership(
                tenant,
                email,
                role=role,
                tenant_admin=tenant_admin,
                actor=_actor(),
                known_roles=roles,
                known_sets=sets,
            )
        if as_json:
            output.emit_json({"user": made.to_dict(), "membership": member and member.to_dict()})
            return
        output.out.print(f"Created user [bold]{made.email}[/] ({made.id}).")
        if member:
            output.out.print(f"Member of {tenant!r} with role {role or '-'}.")

    @user.command("list")
    @json_option
    @pass_context
    @reports_errors
    def user_list(ctx: Any, as_json: bool) -> None:
        """List every user."""
        users = [u.to_dict() for u in ctx.identity.users()]
        if as_json:
            output.emit_json(users)
            return
        output.table(
            ["email", "name", "platform admin", "active", "id"],
            [
                [u["email"], u["display_name"], u["platform_admin"], u["active"], u["id"]]
                for u in users
            ],
            title="Users",
        )

    @user.command("password")
    @click.argument("email")
    @click.option("--password", help="The new password (asked for when not given).")
    @pass_context
    @reports_errors
    def user_password(ctx: Any, email: str, password: str | None) -> None:
        """Set EMAIL's password (for a forgotten one); ends their sessions."""
        if password is None:
            password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
        ctx.identity.set_password(email, password, actor=_actor())
        output.out.print(f"Password of {email} changed; their sessions are ended.")

    def _set_active(ctx: Any, email: str, active: bool, as_json: bool) -> None:
        user = ctx.identity.set_active(email, active, actor=_actor())
        if as_json:
            output.emit_json(user.to_dict())
            return
        state = "can sign in again" if active else "is deactivated: sign-ins and tokens refused"
        output.out.print(f"{user.email} {state}.")

    @user.command("deactivate")
    @click.argument("email")
    @json_option
    @pass_context
    @reports_errors
    def user_deactivate(ctx: Any, email: str, as_json: bool) -> None:
        """Stop EMAIL from signing in or using their tokens (nothing is deleted)."""
        _set_active(ctx, email, False, as_json)

    @user.command("activate")
    @click.argument("email")
    @json_option
    @pass_context
    @reports_errors
    def user_activate(ctx: Any, email: str, as_json: bool) -> None:
        """Let a deactivated EMAIL sign in again."""
        _set_active(ctx, email, True, as_json)

    @user.command("grant")
    @click.argument("email")
    @click.option("--tenant", required=True, help="The tenant.")
    @click.option("--role", help="Role in the tenant (from its metadata).")
    @click.option("--no-role", is_flag=True, help="Take the member's role away.")
    @click.option(
        "--permission-set",
        "sets",
        multiple=True,
        help="Permission set beyond the role's (repeat); replaces the member's extra sets.",
    )
    @click.option("--no-permission-sets", is_flag=True, help="Remove every extra set.")
    @click.option(
        "--tenant-admin/--no-tenant-admin",
        default=None,
        help="May (or may no longer) manage the tenant's metadata and users.",
    )
    @click.option(
        "--manager",
        help="E-mail of the member they report to (approvals to the owner's manager).",
    )
    @click.option("--no-manager", is_flag=True, help="They report to nobody.")
    @json_option
    @pass_context
    @reports_errors
    def user_grant(
        ctx: Any,
        email: str,
        tenant: str,
        role: str | None,
        no_role: bool,
        sets: tuple[str, ...],
        no_permission_sets: bool,
        tenant_admin: bool | None,
        manager: str | None,
        no_manager: bool,
        as_json: bool,
    ) -> None:
        """Make EMAIL a member of a tenant, or change their membership.

        What is not given stays as it was, so granting a set keeps the member's role.
        """
        if role and no_role:
            raise click.UsageError("give --role or --no-role, not both")
        if sets and no_permission_sets:
            raise click.UsageError("give --permission-set or --no-permission-sets, not both")
        if manager and no_manager:
            raise click.UsageError("give --manager or --no-manager, not both")
        boss: dict[str, Any] = {"manager": None} if no_manager else {}
        if manager:
            boss = {"manager": manager}
        identity = ctx.identity
        current = identity.membership(tenant, identity.user(email).id)
        roles, known_sets = _known(ctx, tenant)
        if no_role:
            role = None
        elif role is None and current is not None:
            role = current.role
        if no_permission_sets:
            chosen: list[str] = []
        elif sets:
            chosen = list(sets)
        else:
            chosen = list(current.permission_sets) if current else []
        if tenant_admin is None:
            tenant_admin = bool(current and current.tenant_admin)
        member = identity.set_membership(
            tenant,
            email,
            role=role,
            permission_sets=chosen,
            tenant_admin=tenant_admin,
            actor=_actor(),
            known_roles=roles,
            known_sets=known_sets,
            **boss,
        )
        if as_json:
            output.emit_json(member.to_dict())
            return
        extra = ", ".join(member.permission_sets) or "none"
        admin = ", tenant admin" if member.tenant_admin else ""
        output.out.print(
            f"{member.user.email} in {tenant!r}: role {member.role or '-'}, "
            f"extra permission sets {extra}{admin}."
        )

    @user.command("members")
    @click.option("--tenant", required=True)
    @json_option
    @pass_context
    @reports_errors
    def user_members(ctx: Any, tenant: str, as_json: bool) -> None:
        """List a tenant's members."""
        members = [m.to_dict() for m in ctx.identity.members(tenant)]
        if as_json:
            output.emit_json(members)
            return
        output.table(
            ["email", "role", "permission sets", "tenant admin"],
            [
                [
                    m["user"]["email"],
                    m["role"] or "-",
                    ", ".join(m["permission_sets"]) or "-",
                    m["tenant_admin"],
                ]
                for m in members
            ],
            title=f"Members of {tenant}",
        )

    @cli.group()
    def token() -> None:
        """Create, list and revoke API tokens."""

    @token.command("create")
    @click.option("--tenant", required=True, help="The tenant the token works in.")
    @click.option("--user", "email", required=True, help="The member the token acts as.")
    @click.option("--role", help="The role it acts with (default: the member's).")
    @click.option("--name", required=True, help="What the token is for.")
    @click.option("--expires-in-days", type=int, help="Expiry (default: never).")
    @json_option
    @pass_context
    @reports_errors
    def token_create(
        ctx: Any,
        tenant: str,
        email: str,
        role: str | None,
        name: str,
        expires_in_days: int | None,
        as_json: bool,
    ) -> None:
        """Create an API token; its secret is printed once and never stored."""
        roles, _ = _known(ctx, tenant)
        info, secret = ctx.identity.create_token(
            tenant,
            email,
            name=name,
            role=role,
            expires_in_days=expires_in_days,
            actor=_actor(),
            known_roles=roles,
        )
        if as_json:
            output.emit_json({**info.to_dict(), "secret": secret})
            return
        output.out.print(f"Token {info.id} for {email} in {tenant!r} (role {role or 'member'}).")
        output.out.print("Secret (shown once; store it now):")
        output.out.print(secret, markup=False, highlight=False)

    @token.command("list")
    @click.option("--tenant", required=True)
    @json_option
    @pass_context
    @reports_errors
    def token_list(ctx: Any, tenant: str, as_json: bool) -> None:
        """List a tenant's API tokens (never their secrets)."""
        tokens = [t.to_dict() for t in ctx.identity.tokens(tenant)]
        if as_json:
            output.emit_json(tokens)
            return
        output.table(
            ["id", "name", "user", "role", "expires", "revoked", "last used"],
            [
                [
                    t["id"],
                    t["name"],
                    t["user"],
                    t["role"] or "-",
                    t["expires_at"] or "never",
                    t["revoked_at"] or "-",
                    t["last_used_at"] or "-",
                ]
                for t in tokens
            ],
            title=f"API tokens of {tenant}",
        )

    @token.command("revoke")
    @click.argument("token_id")
    @json_option
    @pass_context
    @reports_errors
    def token_revoke(ctx: Any, token_id: str, as_json: bool) -> None:
        """Revoke the API token TOKEN_ID at once."""
        ctx.identity.revoke_token(token_id, actor=_actor())
        if as_json:
            output.emit_json({"revoked": token_id})
        else:
            output.out.print(f"Revoked token {token_id}.")

    @cli.command("audit")
    @click.option("--tenant", help="Only this tenant's events.")
    @click.option("--kind", "kinds", multiple=True, type=click.Choice(AUDIT_KINDS))
    @click.option("--limit", type=int, default=50, show_default=True)
    @json_option
    @pass_context
    @reports_errors
    def audit_log(
        ctx: Any, tenant: str | None, kinds: tuple[str, ...], limit: int, as_json: bool
    ) -> None:
        """Show the audit log, newest first."""
        from runtime.security.audit import read as read_audit

        with ctx.service.backend.connect_control() as conn:
            entries = [
                e.to_dict()
                for e in read_audit(conn, tenant=tenant, kinds=list(kinds) or None, limit=limit)
            ]
        if as_json:
            output.emit_json(entries)
            return
        output.table(
            ["at", "tenant", "actor", "kind", "detail"],
            [
                [
                    str(e["at"])[:19].replace("T", " "),
                    e["tenant"] or "-",
                    e["actor"],
                    e["kind"],
                    _summary(e["detail"]),
                ]
                for e in entries
            ],
            title="Audit log",
            no_wrap=("at", "kind"),
        )
