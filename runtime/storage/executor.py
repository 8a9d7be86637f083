"""Carry out each metadata operation on tenant storage.

One function per operation type, registered with ``@implements`` like Alembic's
``toimpl``. Each gets the model before and after its operation, so it can build the exact
tables on either side; the SchemaEditor turns that into DDL for the dialect at hand.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    MetaData,
    Table,
    bindparam,
    case,
    column,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from metadata.auto_number import parse_format, period_key
from metadata.diff import operations as ops
from metadata.model import Field, Model
from runtime.sql import naming
from runtime.storage.conversions import convert, render_postgres
from runtime.storage.editor import SchemaEditor
from runtime.storage.tables import (
    FUNCTION_DEFAULTS,
    IndexSpec,
    build_table,
    column_type,
    field_columns,
    index_specs,
    server_default,
    system_tables,
)

_ON_DELETE = {"restrict": "RESTRICT", "set_null": "SET NULL", "cascade": "CASCADE"}


@dataclass
class Step:
    """Everything an implementation needs for one operation."""

    op: Any
    before: Model
    after: Model
    editor: SchemaEditor
    version: int
    """The metadata version being applied; archives are named after it."""
    connection: Connection | None = None
    """The live connection, for steps that depend on existing rows (None in a dry run)."""
    timezone: str = "UTC"
    created: MetaData | None = None
    """Shared by one run's new tables: created in dependency order, a table's lookups
    find their targets here instead of each building stub tables (a pack install creates
    dozens of tables that point at each other)."""
    _tables: dict[tuple[int, str], Table] = field(default_factory=dict)

    def table(self, model: Model, name: str) -> Table:
        key = (id(model), name)
        if key not in self._tables:
            self._tables[key] = build_table(
                model, name, schema=self.editor.schema, dialect=self.editor.dialect
            )
        return self._tables[key]

    def new_table(self, model: Model, name: str) -> Table:
        """Return the Table of an object this step creates (see ``created``)."""
        schema = self.editor.schema
        if self.created is None or (f"{schema}.{name}" if schema else name) in self.created.tables:
            return self.table(model, name)  # a stub of it exists: a lookup cycle
        return build_table(
            model, name, schema=schema, dialect=self.editor.dialect, metadata=self.created
        )

    def specs(self, model: Model, name: str) -> list[IndexSpec]:
        return list(index_specs(model.objects[name]))


_IMPLEMENTATIONS: dict[type, Callable[[Step], None]] = {}


def implements(op_type: type) -> Callable[[Callable[[Step], None]], Callable[[Step], None]]:
    """Register the function that carries out operations of ``op_type``."""

    def register(fn: Callable[[Step], None]) -> Callable[[Step], None]:
        _IMPLEMENTATIONS[op_type] = fn
        return fn

    return register


def run_step(step: Step) -> None:
    """Carry out ``step.op`` through ``step.editor``."""
    _IMPLEMENTATIONS[type(step.op)](step)


def missing_implementations() -> set[type]:
    """Return operation types nothing implements (a test keeps this empty)."""
    return set(ops.ALL_OPERATIONS) - set(_IMPLEMENTATIONS)


def _on_delete(field: Field) -> str:
    return "CASCADE" if field.type == "master_detail" else _ON_DELETE[field.option("on_delete")]


def _archive(
    step: Step,
    source: str,
    columns: list[str],
    field_name: str | None,
    definition: dict[str, Any],
    reason: str,
) -> None:
    """Copy data a step is about to remove into an archive table and record it."""
    name = naming.archive_name(step.version, source, field_name)
    editor = step.editor
    editor.archive(source, columns, name)
    archives = system_tables(editor.schema).tables[
        f"{editor.schema}.{naming.ARCHIVES_TABLE}" if editor.schema else naming.ARCHIVES_TABLE
    ]
    count = select(func.count()).select_from(editor.clause(name)).scalar_subquery()
    editor.execute(
        insert(archives).values(
            name=name,
            kind="field" if field_name else "object",
            object=source,
            field=field_name,
            version=step.version,
            reason=reason,
            definition=json.dumps(definition, ensure_ascii=False),
            row_count=count,
            archived_at=dt.datetime.now(dt.UTC),
        )
    )


# -- objects -------------------------------------------------------------------------------


@implements(ops.CreateObject)
def _create_object(step: Step) -> None:
    table = step.new_table(step.after, step.op.obj.name)
    step.editor.create_table_and_indexes(table, step.specs(step.after, table.name))


@implements(ops.DropObject)
def _drop_object(step: Step) -> None:
    name = step.op.obj.name
    table = step.table(step.before, name)
    _archive(
        step, name, [c.name for c in table.columns], None, step.op.obj.to_json(), step.op.describe()
    )
    if not step.editor.sqlite:
        # Other objects dropped in the same plan may still point here.
        for other in step.before.objects.values():
            for f in other.fields.values():
                if f.target == name and other.name != name:
                    step.editor.drop_foreign_key(
                        other.name, naming.foreign_key_name(other.name, f.name)
                    )
    step.editor.drop_table(name)


@implements(ops.RenameObject)
def _rename_object(step: Step) -> None:
    old, new = step.op.old_name, step.op.new_name
    editor = step.editor
    editor.rename_table(old, new)
    for before, after in zip(
        step.specs(step.before, old), step.specs(step.after, new), strict=True
    ):
        if before.name != after.name:
            editor.rename_index(new, before, after)
    editor.rename_constraint(new, naming.primary_key_name(old), naming.primary_key_name(new))
    for f in step.after.objects[new].fields.values():
        if f.is_relation:
            editor.rename_constraint(
                new, naming.foreign_key_name(old, f.name), naming.foreign_key_name(new, f.name)
            )


@implements(ops.AlterObject)
@implements(ops.ChangePicklistValues)
@implements(ops.ChangePermission)
@implements(ops.ChangeAutomation)
@implements(ops.ChangeView)
def _metadata_only(step: Step) -> None:
    """Labels, field order, picklist values, permissions, automation, layouts and list views
    live in metadata; storage is unchanged."""


# -- fields --------------------------------------------------------------------------------


def _new_specs(step: Step, name: str) -> list[IndexSpec]:
    before = {s.name for s in step.specs(step.before, name)}
    return [s for s in step.specs(step.after, name) if s.name not in before]


def _copy_sources(old: Table, new: Table) -> dict[str, ColumnElement[Any] | None]:
    return {c.name: column(c.name) for c in new.columns if c.name in old.c}


@implements(ops.AddField)
def _add_field(step: Step) -> None:
    obj, f = step.op.object, step.op.field
    if f.computed:
        return  # computed when read: nothing to store
    editor = step.editor
    needs_rebuild = editor.sqlite and (
        (f.type in ("date", "datetime") and f.default in FUNCTION_DEFAULTS)
        or (f.required and f.default is None)
    )
    if needs_rebuild:
        # SQLite's ADD COLUMN takes neither CURRENT_DATE defaults nor NOT NULL without one.
        old, new = step.table(step.before, obj), step.table(step.after, obj)
        editor.rebuild(old, new, _copy_sources(old, new), step.specs(step.after, obj))
        return
    for position, col in enumerate(field_columns(f, editor.dialect)):
        reference = (f.target, _on_delete(f)) if f.is_relation and position == 0 else None
        editor.add_column(obj, col, reference=reference)
    if f.type == "auto_number":
        _number_existing_rows(step, obj, f)
    for spec in _new_specs(step, obj):
        editor.create_index(obj, spec)


@implements(ops.DropField)
def _drop_field(step: Step) -> None:
    obj, f = step.op.object, step.op.field
    if f.computed:
        return  # nothing stored, nothing to archive
    editor = step.editor
    columns = [c.name for c in field_columns(f, editor.dialect)]
    _archive(step, obj, ["id", *columns], f.name, f.to_json(), step.op.describe())
    after_names = {s.name for s in step.specs(step.after, obj)}
    gone = [s for s in step.specs(step.before, obj) if s.name not in after_names]
    if editor.sqlite and f.is_relation:
        old, new = step.table(step.before, obj), step.table(step.after, obj)
        editor.rebuild(old, new, _copy_sources(old, new), step.specs(step.after, obj))
        return
    if editor.sqlite:
        for spec in gone:
            editor.drop_index(obj, spec.name)
    for name in columns:
        editor.drop_column(obj, name)  # PostgreSQL drops the column's indexes with it


@implements(ops.RenameField)
def _rename_field(step: Step) -> None:
    obj, old_name, new_name = step.op.object, step.op.old_name, step.op.new_name
    editor = step.editor
    old_field = step.before.objects[obj].fields[old_name]
    new_field = step.after.objects[obj].fields[new_name]
    for old_col, new_col in zip(
        field_columns(old_field, editor.dialect),
        field_columns(new_field, editor.dialect),
        strict=True,
    ):
        editor.rename_column(obj, old_col.name, new_col.name)
    for before, after in zip(
        step.specs(step.before, obj), step.specs(step.after, obj), strict=True
    ):
        if before.name != after.name:
            editor.rename_index(obj, before, after)
    if new_field.is_relation:
        editor.rename_constraint(
            obj, naming.foreign_key_name(obj, old_name), naming.foreign_key_name(obj, new_name)
        )


@implements(ops.AlterField)
def _alter_field(step: Step) -> None:
    op: ops.AlterField = step.op
    if not op.touches_storage:
        return
    obj, old, new = op.object, op.old, op.new
    editor = step.editor
    old_columns = [c.name for c in field_columns(old, editor.dialect)]
    if op.conversion.kind == "lossy":
        _archive(step, obj, ["id", *old_columns], old.name, old.to_json(), op.describe())
    value = column(old.name)
    if op.conversion.converts:
        value = convert(old, new, value, editor.dialect)
    backfill = new.required and not old.required and new.default is not None
    if editor.sqlite:
        old_table, new_table = step.table(step.before, obj), step.table(step.after, obj)
        sources = _copy_sources(old_table, new_table)
        sources[new.name] = (
            func.coalesce(value, _default_literal(new, editor.dialect)) if backfill else value
        )
        code = naming.currency_code_column(new.name)
        if new.type == "currency" and old.type != "currency":
            sources[code] = _code_for(new, column(old.name))
        editor.rebuild(old_table, new_table, sources, step.specs(step.after, obj))
        return
    _alter_field_postgres(step, old, new, value, backfill)


def _alter_field_postgres(
    step: Step, old: Field, new: Field, value: ColumnElement[Any], backfill: bool
) -> None:
    op: ops.AlterField = step.op
    obj, editor = op.object, step.editor
    old_type, new_type = column_type(old), column_type(new)
    relation_changed = old.is_relation and (
        _on_delete(old) != _on_delete(new) or old.type != new.type
    )
    if relation_changed:
        editor.drop_foreign_key(obj, naming.foreign_key_name(obj, old.name))
    if op.conversion.converts or repr(old_type) != repr(new_type):
        editor.alter_column(
            obj,
            new.name,
            type_=new_type,
            existing_type=old_type,
            postgresql_using=render_postgres(value),
        )
    code = naming.currency_code_column(new.name)
    if new.type == "currency" and old.type != "currency":
        editor.add_column(obj, field_columns(new, editor.dialect)[1])
        table = editor.clause(obj, new.name, code)
        editor.execute(update(table).values({code: _code_for(new, table.c[new.name])}))
    elif old.type == "currency" and new.type != "currency":
        editor.drop_column(obj, code)
    if backfill:
        table = editor.clause(obj, new.name)
        editor.execute(
            update(table)
            .where(table.c[new.name].is_(None))
            .values({new.name: _default_literal(new, editor.dialect)})
        )
    if old.required != new.required:
        editor.alter_column(obj, new.name, nullable=not new.required, existing_type=new_type)
        if new.type == "currency" and old.type == "currency":
            editor.alter_column(obj, code, nullable=not new.required)
    if old.default != new.default:
        editor.alter_column(
            obj,
            new.name,
            existing_type=new_type,
            server_default=server_default(new, editor.dialect),
        )
    if relation_changed:
        editor.create_foreign_key(obj, new.name, new.target, _on_delete(new))


def _default_literal(f: Field, dialect: str) -> ColumnElement[Any]:
    default = server_default(f, dialect)
    if isinstance(default, str):
        return literal(default)
    return default  # a SQL expression (CURRENT_DATE, true ...)


def _code_for(f: Field, amount: ColumnElement[Any]) -> ColumnElement[Any]:
    """Return the currency code existing amounts get: the field's default currency."""
    return case((amount.is_(None), null()), else_=literal(f.option("default_currency")))


def _number_existing_rows(step: Step, obj: str, f: Field) -> None:
    """Give rows that exist before an auto_number field arrives their numbers, in order."""
    if step.connection is None:
        step.editor.note(f"number existing {obj} records in creation order for {f.name}")
        return
    pattern = parse_format(f.option("format"), f.option("reset"))
    zone = ZoneInfo(step.timezone)
    table = step.editor.clause(obj, "id", "created_at", f.name)
    rows = step.connection.execute(
        select(table.c.id, table.c.created_at).order_by(table.c.created_at, table.c.id)
    ).all()
    counters: dict[str, int] = {}
    updates = []
    for row_id, created in rows:
        moment = (
            created if isinstance(created, dt.datetime) else dt.datetime.fromisoformat(str(created))
        )
        day = (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(zone)
        period = period_key(f.option("reset"), day.date())
        counter = counters.get(period, f.option("start"))
        counters[period] = counter + 1
        updates.append({"row_id": row_id, "number": pattern.render(counter, day.date())})
    if updates:
        step.connection.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({f.name: bindparam("number")}),
            updates,
        )
    sequences = system_tables(step.editor.schema).sorted_tables
    seq = next(t for t in sequences if t.name == naming.SEQUENCES_TABLE)
    for period, next_value in counters.items():
        step.connection.execute(
            insert(seq).values(object=obj, field=f.name, period=period, next_value=next_value)
        )


# -- indexes -------------------------------------------------------------------------------


def _spec(step: Step, model: Model, obj: str, kind: str, columns: tuple[str, ...]) -> IndexSpec:
    return next(s for s in step.specs(model, obj) if s.kind == kind and s.columns == columns)


@implements(ops.AddIndex)
def _add_index(step: Step) -> None:
    index = step.op.index
    kind = "ux" if index.unique else "ix"
    step.editor.create_index(
        step.op.object, _spec(step, step.after, step.op.object, kind, index.fields)
    )


@implements(ops.DropIndex)
def _drop_index(step: Step) -> None:
    index = step.op.index
    kind = "ux" if index.unique else "ix"
    spec = _spec(step, step.before, step.op.object, kind, index.fields)
    step.editor.drop_index(step.op.object, spec.name)


@implements(ops.AddUniqueConstraint)
def _add_unique(step: Step) -> None:
    spec = _spec(step, step.after, step.op.object, "uq", (step.op.field,))
    step.editor.create_index(step.op.object, spec)


@implements(ops.DropUniqueConstraint)
def _drop_unique(step: Step) -> None:
    spec = _spec(step, step.before, step.op.object, "uq", (step.op.field,))
    step.editor.drop_index(step.op.object, spec.name)
