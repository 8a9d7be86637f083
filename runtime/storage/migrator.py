"""Run a plan against tenant storage, or render the SQL it would run.

Both walk the plan the same way: each operation gets the model before and after it and
runs through the executor. Live, the editor executes on the connection after the step's
preflight checks pass. In a dry run, Alembic writes the SQL instead of running it, so the
DDL a plan shows is the DDL an apply runs.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData

from metadata.diff import Plan
from metadata.diff import operations as ops
from metadata.errors import Issue, MetadataError
from runtime.storage.editor import SchemaEditor
from runtime.storage.executor import Step, run_step
from runtime.storage.preflight import Resolver, check_step

Progress = Callable[[int, int, ops.Operation], None]


class DataConflict(MetadataError):
    """Existing records stand in the way of a step; ``issues`` says which and why."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues, title="Existing data blocks this change")


class StorageIntegrityError(RuntimeError):
    """A migration left rows pointing at records that do not exist (SQLite check)."""


@dataclass(frozen=True)
class RenderedStep:
    """One operation of a plan and the SQL it runs."""

    operation: ops.Operation
    sql: str


def render_plan(
    plan: Plan, *, dialect: str, schema: str | None, version: int
) -> list[RenderedStep]:
    """Return each operation of ``plan`` with the SQL it would run on ``dialect``."""
    buffer = io.StringIO()
    context = MigrationContext.configure(
        dialect_name=dialect,
        opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True},
    )
    editor = SchemaEditor(Operations(context), schema=schema, live=False)
    state = plan.old.model
    rendered = []
    for op in plan.operations:
        after = op.state_forwards(state)
        start = buffer.tell()
        run_step(Step(op=op, before=state, after=after, editor=editor, version=version))
        rendered.append(RenderedStep(op, buffer.getvalue()[start:].strip()))
        state = after
    return rendered


class _DryRunResolver:
    """Map names mid-plan back to the database's current names for dry-run checks."""

    def __init__(self) -> None:
        self.objects: dict[str, str | None] = {}
        self.fields: dict[tuple[str, str], str | None] = {}

    def __call__(self, obj: str, field: str | None) -> tuple[str, str | None] | None:
        table = self.objects.get(obj, obj)
        if table is None:
            return None
        if field is None:
            return table, None
        return table, self.fields.get((obj, field), field)

    def advance(self, op: ops.Operation) -> None:
        if isinstance(op, ops.RenameObject):
            self.objects[op.new_name] = self.objects.pop(op.old_name, op.old_name)
            for o, f in list(self.fields):
                if o == op.old_name:
                    self.fields[(op.new_name, f)] = self.fields.pop((o, f))
        elif isinstance(op, ops.CreateObject):
            self.objects[op.obj.name] = None
        elif isinstance(op, ops.RenameField):
            self.fields[(op.object, op.new_name)] = self.fields.pop(
                (op.object, op.old_name), op.old_name
            )
        elif isinstance(op, ops.AddField):
            self.fields[(op.object, op.field.name)] = None


def check_plan(conn: Connection, plan: Plan, *, schema: str | None) -> list[Issue]:
    """Return the data problems the plan would hit, without changing anything."""
    resolver: Resolver = _DryRunResolver()
    issues: list[Issue] = []
    for op in plan.operations:
        issues += check_step(conn, op, schema=schema, resolve=resolver)
        resolver.advance(op)
    return issues


def run_plan(
    conn: Connection,
    plan: Plan,
    *,
    schema: str | None,
    version: int,
    timezone: str = "UTC",
    progress: Progress | None = None,
) -> None:
    """Apply ``plan`` on ``conn`` inside the caller's transaction.

    Raise DataConflict, listing every offending step, if existing rows stand in the way;
    the caller rolls back, so nothing done by earlier steps survives.
    """
    # Report every conflict in the plan at once, before any DDL runs...
    problems = check_plan(conn, plan, schema=schema)
    if problems:
        raise DataConflict(problems)
    context = MigrationContext.configure(connection=conn)
    editor = SchemaEditor(Operations(context), schema=schema, live=True)
    state = plan.old.model
    total = len(plan.operations)
    created = MetaData()
    for position, op in enumerate(plan.operations, start=1):
        # ...and check each step again where it runs, against the tables as they are now.
        problems = check_step(conn, op, schema=schema)
        if problems:
            raise DataConflict(problems)
        after = op.state_forwards(state)
        run_step(
            Step(
                op=op,
                before=state,
                after=after,
                editor=editor,
                version=version,
                connection=conn,
                timezone=timezone,
                created=created,
            )
        )
        state = after
        if progress:
            progress(position, total, op)
    if conn.dialect.name == "sqlite":
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise StorageIntegrityError(
                f"the migration would leave {len(broken)} row(s) pointing at missing records "
                f"(first: table {broken[0][0]}, row {broken[0][1]})"
            )
