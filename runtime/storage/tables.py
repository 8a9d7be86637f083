"""Build SQLAlchemy tables from a metadata model, for one tenant schema and dialect.

This is the one place that decides how a field is stored: its column type, nullability,
server default, foreign key and indexes. DDL (``editor``) and records (``records``) both
read the tables built here, so storage never disagrees with itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Time,
    false,
    text,
    true,
)
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine

from metadata.diff.conversions import AUTO_NUMBER_LENGTH, PICKLIST_LENGTH
from metadata.kinds import kind_of
from metadata.model import Field, Model, ObjectDef
from runtime.sql import naming
from runtime.storage.types import GUID, UTCDateTime, json_type
from runtime.storage.view_tables import add_view_tables
from runtime.storage.workflow_tables import add_workflow_tables

_ON_DELETE = {"restrict": "RESTRICT", "set_null": "SET NULL", "cascade": "CASCADE"}
#: Defaults that are SQL functions rather than constants. SQLite cannot ADD COLUMN with
#: them, so the editor rebuilds the table instead.
FUNCTION_DEFAULTS = {"today": "CURRENT_DATE", "now": "CURRENT_TIMESTAMP"}


#: SQL types of the logical column types field kinds declare (``metadata.kinds``).
_COLUMN_TYPES: dict[str, Callable[[Field], TypeEngine[Any]]] = {
    "bigint": lambda f: BigInteger(),
    "numeric": lambda f: Numeric(f.option("precision"), f.option("scale"), asdecimal=True),
    "boolean": lambda f: Boolean(create_constraint=False),
    "date": lambda f: Date(),
    "datetime": lambda f: UTCDateTime(),
    "time": lambda f: Time(),
    "json": lambda f: json_type(),
    "uuid": lambda f: GUID(),
    "text": lambda f: Text(),
    "code": lambda f: String(3),
    "double": lambda f: Double(),
    "name": lambda f: String(63),
}


def _string(field: Field) -> TypeEngine[Any]:
    if field.type == "picklist":
        return String(PICKLIST_LENGTH)
    if field.type == "auto_number":
        return String(AUTO_NUMBER_LENGTH)
    return String(field.option("max_length"))


def column_type(field: Field, logical: str | None = None) -> TypeEngine[Any]:
    """Return the SQL type of ``field``'s column of logical type ``logical`` (default:
    its value column; for currency, the amount)."""
    logical = logical or kind_of(field.type).storage
    if logical is None:
        raise ValueError(f"no storage type for field type {field.type!r}")
    if logical == "string":
        return _string(field)
    return _COLUMN_TYPES[logical](field)


def server_default(field: Field, dialect: str) -> str | ClauseElement | None:
    """Return the server default for ``field`` on ``dialect`` (None when it has none)."""
    value = field.default
    if value is None:
        return None
    if isinstance(value, str) and field.type in ("date", "datetime") and value in FUNCTION_DEFAULTS:
        return text(FUNCTION_DEFAULTS[value])
    if isinstance(value, bool):
        return true() if value else false()
    if isinstance(value, int | float):
        return text(repr(value))
    if field.type in ("json", "multi_picklist"):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if field.type == "datetime":
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
        if dialect == "postgresql":
            return moment.isoformat()
        return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if field.type == "time" and dialect != "postgresql":
        return dt.time.fromisoformat(value).strftime("%H:%M:%S.%f")
    return str(value)


def field_columns(field: Field, dialect: str) -> list[Column[Any]]:
    """Return the columns that store ``field``, as its kind declares them: one, two for
    currency (amount, code), or none for a formula, which is computed when read."""
    nullable = not field.required
    columns = []
    for i, spec in enumerate(kind_of(field.type).columns(field)):
        value_column = i == 0
        default = server_default(field, dialect) if value_column else None
        if not value_column and field.type == "currency" and field.default is not None:
            default = field.option("default_currency")
        columns.append(
            Column(
                spec.name,
                column_type(field, spec.type),
                nullable=nullable,
                server_default=default,
                primary_key=value_column and field.name == "id" and field.system,
            )
        )
    return columns


# Type objects hold no per-column state, so every table's system columns share these.
_GUID, _DATETIME, _INTEGER = GUID(), UTCDateTime(), Integer()


def _system_column(field: Field) -> Column[Any]:
    if field.name == "id":
        return Column("id", _GUID, nullable=False)
    if field.name in ("created_at", "updated_at"):
        return Column(
            field.name, _DATETIME, nullable=False, server_default=text("CURRENT_TIMESTAMP")
        )
    if field.name == "row_version":
        return Column("row_version", _INTEGER, nullable=False, server_default=text("1"))
    if field.type == "uuid":
        return Column(field.name, _GUID, nullable=True)
    if field.type == "datetime":
        return Column(field.name, _DATETIME, nullable=True)
    return Column(field.name, column_type(field), nullable=True)


@dataclass(frozen=True)
class IndexSpec:
    """An index storage keeps: its kind prefix, name, columns and uniqueness."""

    kind: str
    name: str
    columns: tuple[str, ...]

    @property
    def unique(self) -> bool:
        return self.kind in ("ux", "uq")


def index_specs(obj: ObjectDef) -> Iterator[IndexSpec]:
    """Yield every index ``obj``'s table has: automatic, per-field unique, then declared."""
    table = obj.name
    yield IndexSpec("rx", naming.index_name("rx", table, ["owner"]), ("owner",))
    for field in obj.fields.values():
        if field.is_relation:
            yield IndexSpec("rx", naming.index_name("rx", table, [field.name]), (field.name,))
        if field.unique:
            yield IndexSpec("uq", naming.index_name("uq", table, [field.name]), (field.name,))
    for index in obj.indexes:
        kind = "ux" if index.unique else "ix"
        yield IndexSpec(kind, naming.index_name(kind, table, index.fields), index.fields)


def sa_index(spec: IndexSpec, table: Table) -> Index:
    """Return the SQLAlchemy Index for ``spec`` on ``table``.

    Unique indexes ignore soft-deleted rows: deleting a contact must free its e-mail.
    """
    where = {}
    if spec.unique:
        live = table.c.deleted_at.is_(None)
        where = {"postgresql_where": live, "sqlite_where": live}
    return Index(spec.name, *(table.c[c] for c in spec.columns), unique=spec.unique, **where)


def build_table(
    model: Model,
    object_name: str,
    *,
    schema: str | None,
    dialect: str,
    metadata: MetaData | None = None,
) -> Table:
    """Return the Table for one object, with stub tables for the objects it refers to.

    Only the referred objects' ``id`` columns are built: enough for foreign keys to
    compile, and cheap even when a plan rebuilds tables hundreds of times.
    """
    metadata = metadata if metadata is not None else MetaData()
    obj = model.objects[object_name]
    columns: list[Column[Any]] = [_system_column(f) for f in obj.all_fields() if f.system]
    constraints: list[Any] = [PrimaryKeyConstraint("id", name=naming.primary_key_name(obj.name))]
    for field in obj.fields.values():
        columns += field_columns(field, dialect)
        target = field.target
        if target is None or target not in model.objects:
            continue  # a target dropped earlier in the same plan keeps no foreign key
        qualified = f"{schema}.{target}" if schema else target
        if target != obj.name and qualified not in metadata.tables:
            Table(target, metadata, Column("id", _GUID, primary_key=True), schema=schema)
        on_delete = "cascade" if field.type == "master_detail" else field.option("on_delete")
        constraints.append(
            ForeignKeyConstraint(
                [field.name],
                [f"{qualified}.id"],
                name=naming.foreign_key_name(obj.name, field.name),
                ondelete=_ON_DELETE[on_delete],
            )
        )
    table = Table(obj.name, metadata, *columns, *constraints, schema=schema)
    for spec in index_specs(obj):
        sa_index(spec, table)
    return table


# Memoized: every write looks up a platform table (outbox, history), and building this
# MetaData takes milliseconds. The tables are definitions only, never changed after
# construction, so one instance per schema is safely shared between threads. Built under
# a lock: lru_cache alone lets two threads that miss at once each build one, and a
# statement mixing columns of both names the same table twice ("ambiguous column name").
_SYSTEM_TABLES_LOCK = threading.Lock()


def system_tables(schema: str | None) -> MetaData:
    """Return the platform's own tables in a tenant: state, sequences, archives, shares,
    history, the outbox and the workflow tables."""
    with _SYSTEM_TABLES_LOCK:
        return _system_tables(schema)


@functools.lru_cache(maxsize=1024)
def _system_tables(schema: str | None) -> MetaData:
    metadata = MetaData(schema=schema)
    Table(
        naming.STATE_TABLE,
        metadata,
        Column("key", String(64), primary_key=True),
        Column("value", Text, nullable=False),
    )
    Table(
        naming.SEQUENCES_TABLE,
        metadata,
        Column("object", String(63), primary_key=True),
        Column("field", String(63), primary_key=True),
        Column("period", String(10), primary_key=True),
        Column("next_value", BigInteger, nullable=False),
    )
    Table(
        naming.ARCHIVES_TABLE,
        metadata,
        Column("name", String(63), primary_key=True),
        Column("kind", String(16), nullable=False),
        Column("object", String(63), nullable=False),
        Column("field", String(63)),
        Column("version", Integer, nullable=False),
        Column("reason", Text, nullable=False),
        Column("definition", Text, nullable=False),
        Column("row_count", BigInteger),
        Column("archived_at", UTCDateTime, nullable=False),
    )
    # Manual sharing: one row per record shared with a user or a role.
    shares = Table(
        naming.SHARES_TABLE,
        metadata,
        Column("id", GUID, primary_key=True),
        Column("object", String(63), nullable=False),
        Column("record_id", GUID, nullable=False),
        Column("user_id", GUID),
        Column("role", String(63)),
        Column("access", String(8), nullable=False),
        Column("shared_by", GUID),
        Column("shared_at", UTCDateTime, nullable=False),
    )
    Index("ix__tessera_shares__record", shares.c.record_id, shares.c.object)
    # Row predicates read "what is shared with me (or my role) on this object" once per
    # statement; these serve that lookup without scanning every share.
    Index("ix__tessera_shares__user", shares.c.object, shares.c.user_id)
    Index("ix__tessera_shares__role", shares.c.object, shares.c.role)
    # Field history of objects that opt in: written in the same transaction as the change.
    history = Table(
        naming.HISTORY_TABLE,
        metadata,
        Column("id", GUID, primary_key=True),
        Column("object", String(63), nullable=False),
        Column("record_id", GUID, nullable=False),
        Column("field", String(63), nullable=False),
        Column("old_value", Text),
        Column("new_value", Text),
        Column("changed_by", GUID),
        Column("changed_at", UTCDateTime, nullable=False),
    )
    Index("ix__tessera_history__record", history.c.record_id, history.c.changed_at)
    # The transactional outbox: every record write appends its event here in the write's
    # own transaction, so an event exists exactly when the write committed. Workflows
    # read it in id order (the dispatcher marks what it has handed on).
    outbox = Table(
        naming.OUTBOX_TABLE,
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        Column("object", String(63), nullable=False),
        Column("record_id", GUID, nullable=False),
        Column("kind", String(16), nullable=False),
        Column("changes", Text, nullable=False),
        Column("actor", GUID),
        Column("created_at", UTCDateTime, nullable=False),
        Column("dispatched_at", UTCDateTime),
        # Writes made by a workflow run carry it, so the dispatcher can stop loops.
        Column("run_id", GUID),
        Column("depth", Integer, nullable=False, server_default="0"),
        # The API request that made the write, so its runs log under the same id.
        Column("request_id", String(64)),
    )
    Index(
        "ix__tessera_outbox__pending",
        outbox.c.id,
        postgresql_where=outbox.c.dispatched_at.is_(None),
        sqlite_where=outbox.c.dispatched_at.is_(None),
    )
    # The packs installed in (or uninstalled from) the tenant, written in the same
    # transaction as the DDL that installs them. JSON columns: ``manifest``, the
    # ``contribution`` the pack's components were installed as (an upgrade's merge base),
    # ``retained`` (the tenant's versions of them at uninstall), ``archives`` (the data
    # uninstall kept) and ``sample_keys`` (sample record keys → ids, for later packs).
    Table(
        naming.PACKS_TABLE,
        metadata,
        Column("name", String(63), primary_key=True),
        Column("version", String(64), nullable=False),
        Column("status", String(16), nullable=False),
        Column("manifest", Text, nullable=False),
        Column("contribution", Text, nullable=False),
        Column("retained", Text),
        Column("archives", Text),
        Column("sample_keys", Text),
        Column("installed_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("metadata_version", Integer, nullable=False),
    )
    add_workflow_tables(metadata)
    add_view_tables(metadata)
    return metadata


def system_table(schema: str | None, name: str) -> Table:
    """Return one platform table of a tenant by its bare name."""
    return system_tables(schema).tables[f"{schema}.{name}" if schema else name]
