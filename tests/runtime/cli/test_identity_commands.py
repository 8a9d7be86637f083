"""`tessera user`, `tessera token` and `tessera audit` on both backends."""

from __future__ import annotations

import json
import uuid

from click.testing import CliRunner

from runtime.cli.main import cli

META = """
objects:
  account:
    fields:
      name: {type: text}
roles:
  sales_rep: {}
permission_sets:
  sales:
    roles: [sales_rep]
    objects:
      account: {allow: [read], access: own}
"""


def run(database_url: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--database-url", database_url, *args])
    assert result.exit_code == code, result.output
    return result.output


def test_users_tokens_and_audit_from_the_command_line(database_url, tmp_path):
    metadata = tmp_path / "crm.yaml"
    metadata.write_text(META, encoding="utf-8")
    tenant = f"cli{uuid.uuid4().hex[:6]}"
    run(database_url, "tenant", "create", tenant, "--metadata", str(metadata))
    email = f"ana.{uuid.uuid4().hex[:8]}@example.com"

    made = run(
        database_url,
        *("user", "create", email, "--password", "a long enough password"),
        *("--tenant", tenant, "--role", "sales_rep", "--json"),
    )
    assert json.loads(made)["user"]["email"] == email
    listed = json.loads(run(database_url, "user", "list", "--json"))
    [shown_user] = [u for u in listed if u["email"] == email]
    assert shown_user["active"] is True and shown_user["platform_admin"] is False

    # Unknown roles and permission sets are refused with the names that do exist.
    refused = run(
        database_url, "user", "grant", email, "--tenant", tenant, "--role", "sales_rp", code=1
    )
    assert "sales_rp" in refused and "sales_rep" in refused
    run(database_url, "user", "grant", email, "--tenant", tenant, "--permission-set", "sales")
    [member] = json.loads(run(database_url, "user", "members", "--tenant", tenant, "--json"))
    assert member["role"] == "sales_rep" and member["permission_sets"] == ["sales"]

    token = json.loads(
        run(
            database_url,
            *("token", "create", "--tenant", tenant, "--user", email, "--name", "bi", "--json"),
        )
    )
    assert token["secret"].startswith("tsk_") and token["role"] == "sales_rep"
    [shown] = json.loads(run(database_url, "token", "list", "--tenant", tenant, "--json"))
    assert shown["id"] == token["id"] and "secret" not in shown and shown["revoked_at"] is None
    run(database_url, "token", "revoke", token["id"])
    [shown] = json.loads(run(database_url, "token", "list", "--tenant", tenant, "--json"))
    assert shown["revoked_at"] is not None

    off = json.loads(run(database_url, "user", "deactivate", email, "--json"))
    assert off["active"] is False
    assert "can sign in again" in run(database_url, "user", "activate", email)

    kinds = [
        e["kind"] for e in json.loads(run(database_url, "audit", "--tenant", tenant, "--json"))
    ]
    for kind in ("tenant_created", "metadata_applied", "membership_changed", "token_created"):
        assert kind in kinds
    assert "token_revoked" in kinds
    table = run(database_url, "audit", "--tenant", tenant, "--kind", "token_created")
    assert "token_created" in table and "name=bi" in table
