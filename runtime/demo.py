"""The demo tenant: the small CRM in apps/demo_crm, with sample records."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from metadata.diff import PlanRefused
from metadata.registry.store import TenantNotFound
from metadata.validation import validate_file
from runtime.security.identity import Identity, UserNotFound
from runtime.storage.records import insert_records
from runtime.storage.tables import build_table
from runtime.tenants import TenantService

DEMO_TENANT = "demo"
DEMO_DIR = Path(__file__).resolve().parents[1] / "apps" / "demo_crm"


#: Demo sign-ins (e-mail, role, tenant admin). Demo only: the password is public.
DEMO_PASSWORD = "tessera-demo-2026"
DEMO_USERS = (
    ("admin@demo.tessera.dev", None, True),
    ("director@demo.tessera.dev", "sales_director", False),
    ("manager@demo.tessera.dev", "sales_manager", False),
    ("rep@demo.tessera.dev", "sales_rep", False),
    ("marketing@demo.tessera.dev", "marketing", False),
)


def set_up_demo(
    service: TenantService, directory: Path = DEMO_DIR, identity: Identity | None = None
) -> str:
    """Create or update the demo tenant and seed it once; return a summary for people.

    With ``identity``, also create the demo users (see DEMO_USERS) as members.
    """
    lines = []
    try:
        service.get_tenant(DEMO_TENANT)
    except TenantNotFound:
        service.create_tenant(DEMO_TENANT, "Demo CRM 演示", timezone="Asia/Shanghai")
        lines.append(f"Created tenant {DEMO_TENANT!r}.")
    metadata = directory / "metadata.yaml"
    try:
        result = service.apply(
            DEMO_TENANT, validate_file(metadata), author="tessera demo", message="demo CRM metadata"
        )
    except PlanRefused:
        # Someone changed the demo's metadata (the README tour does): keep their version
        # rather than undo it. Recreating the tenant brings the original back.
        version = service.get_tenant(DEMO_TENANT).active_version
        lines.append(
            f"The demo tenant has metadata changes of its own (version {version}); "
            "kept them. To start over: tessera tenant delete demo --yes"
        )
    else:
        if result.version is not None:
            lines.append(
                f"Applied {metadata} as version {result.version.number} "
                f"({len(result.plan.operations)} operations)."
            )
        else:
            lines.append("Demo metadata is up to date.")
    # Users first, so the sample records can name their owners.
    owners: dict[str, Any] = {}
    if identity is not None:
        lines += _demo_users(identity)
        owners = {email.split("@")[0]: identity.user(email).id for email, _, _ in DEMO_USERS}
    counts = seed(service, DEMO_TENANT, directory / "sample_data.yaml", owners)
    if counts:
        lines.append("Seeded " + ", ".join(f"{n} {obj}" for obj, n in counts.items()) + ".")
    return "\n".join(lines)


def _demo_users(identity: Identity) -> list[str]:
    made = []
    for email, role, admin in DEMO_USERS:
        try:
            identity.user(email)
        except UserNotFound:
            identity.create_user(email, DEMO_PASSWORD, actor="tessera demo")
            made.append(email)
        identity.set_membership(
            DEMO_TENANT, email, role=role, tenant_admin=admin, actor="tessera demo"
        )
    if not made:
        return []
    return [
        f"Demo users (password {DEMO_PASSWORD!r}): " + ", ".join(e for e, _, _ in DEMO_USERS) + "."
    ]


def seed(
    service: TenantService, tenant: str, path: Path, owners: Mapping[str, Any] | None = None
) -> dict[str, int]:
    """Insert the records in ``path`` unless the tenant already has some of each object.

    A lookup's value names the ``_key`` of an earlier record, in this object or another.
    ``_owner`` names a key of ``owners`` (user ids); records stay unowned without it.
    """
    data: dict[str, list[dict[str, Any]]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    _, snapshot = service.active(tenant)
    model = snapshot.model
    backend = service.backend
    schema = backend.schema(tenant)
    timezone = service.get_tenant(tenant).timezone
    keys: dict[str, Any] = {}
    counts: dict[str, int] = {}
    with backend.begin_tenant(tenant) as conn:
        for obj_name, records in data.items():
            if obj_name not in model.objects:
                continue
            table = build_table(model, obj_name, schema=schema, dialect=backend.dialect)
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                continue
            obj = model.objects[obj_name]
            # One at a time, so a record can refer to an earlier one of the same object.
            for record in records:
                row = {k: v for k, v in record.items() if k not in ("_key", "_owner")}
                if owners and "_owner" in record:
                    row["owner"] = owners[record["_owner"]]
                for name, value in row.items():
                    if name in obj.fields and obj.fields[name].is_relation:
                        row[name] = keys[value]
                [record_id] = insert_records(
                    conn, model, obj_name, [row], schema=schema, timezone=timezone
                )
                if "_key" in record:
                    keys[record["_key"]] = record_id
            counts[obj_name] = len(records)
    return counts
