"""Names of tables, columns, indexes and constraints in tenant storage.

Every name is derived from metadata names alone, so a plan can be rendered without
looking at the database, and it fits PostgreSQL's 63-byte limit: longer names are cut and
end in a hash of the full name, so two long names never collapse into one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from metadata.kinds.numbers import CurrencyKind

MAX_IDENTIFIER = 63
TENANT_SCHEMA_PREFIX = "tenant_"
#: Tables the platform keeps in every tenant; user names cannot start with "_".
STATE_TABLE = "_tessera_state"
SEQUENCES_TABLE = "_tessera_sequences"
ARCHIVES_TABLE = "_tessera_archives"
SHARES_TABLE = "_tessera_shares"
HISTORY_TABLE = "_tessera_history"
OUTBOX_TABLE = "_tessera_outbox"
PACKS_TABLE = "_tessera_packs"


def fit(name: str) -> str:
    """Return ``name`` cut to the identifier limit, with a hash suffix if it was cut."""
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_IDENTIFIER - 9]}_{digest}"


def tenant_schema(tenant: str) -> str:
    """Return the PostgreSQL schema holding ``tenant``'s tables."""
    return fit(TENANT_SCHEMA_PREFIX + tenant)


def currency_code_column(field: str) -> str:
    """Return the column holding the ISO code of currency field ``field`` (its kind
    names it)."""
    return CurrencyKind.code_column(field)


def index_name(kind: str, table: str, columns: Sequence[str]) -> str:
    """Return an index name.

    ``kind`` is ``ix`` (declared index), ``ux`` (declared unique index), ``uq`` (a
    field's unique option) or ``rx`` (the automatic index on a reference column).
    """
    return fit(f"{kind}_{table}__{'__'.join(columns)}")


def foreign_key_name(table: str, column: str) -> str:
    """Return the name of the foreign key on ``table.column``."""
    return fit(f"fk_{table}__{column}")


def primary_key_name(table: str) -> str:
    """Return the name of ``table``'s primary key constraint."""
    return fit(f"pk_{table}")


def archive_name(version: int, table: str, field: str | None = None) -> str:
    """Return the table that keeps data a destructive step of ``version`` removed."""
    return fit(f"_archive_v{version}__{table}" + (f"__{field}" if field else ""))
