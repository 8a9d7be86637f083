"""The demo tenants: the small CRM in apps/demo_crm (the README tour's), and one tenant
per industry pack with core_crm, each with sample records."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from metadata.diff import PlanRefused
from metadata.packs.catalog import Catalog, PackError
from metadata.registry.store import TenantNotFound
from metadata.source import load_file
from metadata.validation import validate_file
from runtime.packs.records import count_rows, insert_sample_data
from runtime.packs.service import PackService
from runtime.security.identity import Identity, UserNotFound
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
    data: dict[str, list[dict[str, Any]]] = load_file(path).data
    _, snapshot = service.active(tenant)
    model = snapshot.model
    backend = service.backend
    schema = backend.schema(tenant)
    with backend.begin_tenant(tenant) as conn:
        skip = {
            obj for obj in data if obj in model.objects and count_rows(conn, schema, model, obj)
        }
        return insert_sample_data(
            conn,
            schema,
            model,
            data,
            keys={},
            skip=skip,
            owners=owners,
            timezone=service.get_tenant(tenant).timezone,
        )


#: Tenants `make demo` installs packs into: core_crm plus one industry pack each.
PACK_DEMOS = (
    ("demo_manufacturing", "制造业演示 Manufacturing demo", "manufacturing"),
    ("demo_auto", "汽车 4S 店演示 Auto dealer demo", "auto_dealer"),
    ("demo_education", "教育培训演示 Education demo", "education"),
)
#: Demo users' roles in the pack demo tenants (core_crm's roles).
PACK_DEMO_ROLES = {
    "admin": None,
    "director": "sales_director",
    "manager": "sales_manager",
    "rep": "sales_rep",
    "marketing": "marketing",
}


def upgrade_installed(packs: PackService, tenant: str, installed: Mapping[str, Any]) -> list[str]:
    """Upgrade the tenant's packs the catalog has newer versions of (a demo made by an
    earlier release gets the new layouts and navigation); keep them if a plan blocks."""
    lines = []
    for name, record in installed.items():
        try:
            newer = packs.catalog.get(name).version > record.version
        except PackError:
            continue  # a pack the catalog no longer has: keep what is installed
        if not newer:
            continue
        plan = packs.plan_upgrade(tenant, name, sql=False)
        if plan.blockers:
            lines.append(f"Kept {name} {record.version} in {tenant!r}: its upgrade is blocked.")
            continue
        packs.apply(plan, author="tessera demo")
        lines.append(f"Upgraded {name} in {tenant!r} to {packs.catalog.get(name).version}.")
    return lines


def set_up_pack_demos(
    service: TenantService, catalog: Catalog | None = None, identity: Identity | None = None
) -> str:
    """Create the pack demo tenants (PACK_DEMOS) with their packs and sample records.

    A tenant that already has its industry pack is left as it is. With ``identity``, the
    demo users (see DEMO_USERS; create them with ``set_up_demo`` first) become members.
    """
    packs = PackService(service, catalog or Catalog())
    owners: dict[str, Any] = {}
    if identity is not None:
        owners = {email.split("@")[0]: identity.user(email).id for email, _, _ in DEMO_USERS}
    lines = []
    for tenant, display, industry in PACK_DEMOS:
        try:
            service.get_tenant(tenant)
        except TenantNotFound:
            service.create_tenant(tenant, display, timezone="Asia/Shanghai")
        installed = packs.installed(tenant)
        if industry in installed:
            lines.append(f"Tenant {tenant!r} already has core_crm and {industry}.")
            lines += upgrade_installed(packs, tenant, installed)
        else:
            result = packs.apply(
                packs.plan_install(tenant, [industry], sample_data=True, owners=owners, sql=False),
                author="tessera demo",
            )
            records = sum(sum(c.values()) for c in result.effects.get("sample_data", {}).values())
            lines.append(
                f"Installed core_crm and {industry} into tenant {tenant!r} "
                f"({len(result.plan.metadata.model.objects)} objects, {records} sample records)."
            )
        if identity is not None:
            for email, _, admin in DEMO_USERS:
                identity.set_membership(
                    tenant,
                    email,
                    role=PACK_DEMO_ROLES[email.split("@")[0]],
                    tenant_admin=admin,
                    actor="tessera demo",
                )
    return "\n".join(lines)
