"""DDL primitives for one tenant, run through Alembic's operations API.

The same calls run against a live connection or, in a dry run, write the SQL they would
execute. Where PostgreSQL and SQLite differ, the difference lives here and nowhere else:
PostgreSQL alters columns in place, SQLite rebuilds the table by its documented
procedure (create the new table, copy the rows, drop the old one, rename).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alembic.operations import Operations
from sqlalchemy import (
    Column,
    ForeignKeyConstraint,
    PrimaryKeyConstraint,
    Table,
    column,
    insert,
    select,
    text,
)
from sqlalchemy import table as table_clause
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.sql.elements import ColumnClause, ColumnElement

from runtime.sql import naming
from runtime.storage.ddl import AddReferenceColumn, CreateTableAs, RenameConstraint, RenameIndex
from runtime.storage.tables import IndexSpec


def _named(expression: ColumnElement[Any], name: str) -> ColumnElement[Any]:
    """Label a copied expression, unless it is already the column of that name."""
    if isinstance(expression, ColumnClause) and expression.name == name:
        return expression
    return expression.label(name)


class SchemaEditor:
    """Issue DDL for one tenant schema (PostgreSQL) or database file (SQLite)."""

    def __init__(self, op: Operations, *, schema: str | None, live: bool) -> None:
        self.op = op
        self.schema = schema
        self.live = live
        self.dialect = op.get_context().dialect.name

    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    # -- plumbing ------------------------------------------------------------------------

    def execute(self, statement: Any) -> None:
        """Run a statement (or write it, in a dry run)."""
        self.op.execute(statement)

    def note(self, message: str) -> None:
        """Describe, in a dry run, a data step whose SQL depends on the rows present."""
        if not self.live:
            self.op.get_context().impl.static_output(f"-- {message}")

    def clause(self, name: str, *columns: str) -> Any:
        """Return a lightweight table clause for ``name`` in this schema."""
        return table_clause(name, *(column(c) for c in columns), schema=self.schema)

    # -- tables --------------------------------------------------------------------------

    def create_table(self, table: Table, *, name: str | None = None) -> None:
        """Create ``table`` (optionally under another name; indexes: ``create_indexes``)."""
        if name is None or name == table.name:
            # The table as built is exactly what to create: no copy through Alembic's
            # create_table (which rebuilds every column; a plan creating dozens of tables
            # spent most of its time there).
            self.execute(CreateTable(table))
            return
        name = name or table.name
        items: list[Any] = [c._copy() for c in table.columns]
        items.append(
            PrimaryKeyConstraint(*table.primary_key.columns.keys(), name=table.primary_key.name)
        )
        # Constraints are rebuilt from plain values, not _copy()'d: a copied foreign key
        # keeps the original's event listeners and, depending on set order, attached
        # itself twice (an intermittent "constraint already exists" on PostgreSQL).
        for fk in sorted(table.foreign_key_constraints, key=lambda c: str(c.name)):
            items.append(
                ForeignKeyConstraint(
                    fk.column_keys,
                    [element.target_fullname for element in fk.elements],
                    name=fk.name,
                    ondelete=fk.ondelete,
                )
            )
        self.op.create_table(name, *items, schema=self.schema)

    def create_indexes(self, table: Table, specs: list[IndexSpec]) -> None:
        attached = {index.name: index for index in table.indexes}
        for spec in specs:
            index = attached.get(spec.name)
            if index is not None and table.name == index.table.name:
                self.execute(CreateIndex(index))
            else:
                self.create_index(table.name, spec)

    def create_table_and_indexes(self, table: Table, specs: list[IndexSpec]) -> None:
        """Create a new table and its indexes.

        On a live connection the statements are compiled once and sent straight to the
        driver: on PostgreSQL as one script (each DDL statement costs the server a few
        milliseconds, and one round trip instead of several saves a fifth of that on a
        pack install's hundred-odd statements), on SQLite (whose driver runs one statement
        per call) one by one. Dry runs write one statement each, through Alembic.
        """
        attached = {index.name: index for index in table.indexes}
        if not self.live or any(s.name not in attached for s in specs):
            self.create_table(table)
            self.create_indexes(table, specs)
            return
        context = self.op.get_context()
        statements = [
            str(statement.compile(dialect=context.dialect)).strip()
            for statement in (
                CreateTable(table),
                *(CreateIndex(attached[spec.name]) for spec in specs),
            )
        ]
        connection = context.connection
        assert connection is not None  # live
        if self.sqlite:
            for statement in statements:
                connection.exec_driver_sql(statement)
        else:
            connection.exec_driver_sql(";\n".join(statements))

    def drop_table(self, name: str) -> None:
        self.op.drop_table(name, schema=self.schema)

    def rename_table(self, old: str, new: str) -> None:
        self.op.rename_table(old, new, schema=self.schema)

    def rebuild(
        self,
        old: Table,
        new: Table,
        sources: Mapping[str, ColumnElement[Any] | None],
        indexes: list[IndexSpec],
    ) -> None:
        """Rebuild a SQLite table as ``new``, copying each column from ``sources``.

        ``sources`` maps a new column to an expression over the old table's columns;
        columns missing from it get their default. This is SQLite's twelve-step recipe
        (https://sqlite.org/lang_altertable.html#otheralter); foreign keys are off for
        the migration's transaction and checked before it commits.
        """
        temp = naming.fit(f"_rebuild_{new.name}")
        self.create_table(new, name=temp)
        targets = [c for c in new.columns if sources.get(c.name) is not None]
        copy = insert(self.clause(temp, *(c.name for c in targets))).from_select(
            [c.name for c in targets],
            select(*(_named(sources[c.name], c.name) for c in targets)).select_from(
                self.clause(old.name, *(c.name for c in old.columns))
            ),
        )
        self.execute(copy)
        self.drop_table(old.name)
        self.rename_table(temp, new.name)
        self.create_indexes(new, indexes)

    # -- columns -------------------------------------------------------------------------

    def add_column(
        self, table: str, col: Column[Any], *, reference: tuple[str, str] | None = None
    ) -> None:
        """Add ``col``; ``reference`` is (target table, ON DELETE action) for a lookup."""
        if reference is None:
            self.op.add_column(table, col._copy(), schema=self.schema)
        elif self.sqlite:
            target, on_delete = reference
            self.execute(AddReferenceColumn(table, col._copy(), target, on_delete))
        else:
            target, on_delete = reference
            self.op.add_column(table, col._copy(), schema=self.schema)
            self.op.create_foreign_key(
                naming.foreign_key_name(table, col.name),
                table,
                target,
                [col.name],
                ["id"],
                source_schema=self.schema,
                referent_schema=self.schema,
                ondelete=on_delete,
            )

    def drop_column(self, table: str, name: str) -> None:
        self.op.drop_column(table, name, schema=self.schema)

    def rename_column(self, table: str, old: str, new: str) -> None:
        self.op.alter_column(table, old, new_column_name=new, schema=self.schema)

    def alter_column(self, table: str, name: str, **changes: Any) -> None:
        """Alter a column in place (PostgreSQL): type_, nullable, server_default ..."""
        self.op.alter_column(table, name, schema=self.schema, **changes)

    def archive(self, source: str, columns: list[str], archive: str) -> None:
        """Copy ``columns`` of ``source`` into a new table ``archive`` before they go."""
        query = select(*(column(c) for c in columns)).select_from(self.clause(source, *columns))
        self.execute(CreateTableAs(archive, self.schema, query))

    # -- indexes and constraints ---------------------------------------------------------

    def create_index(self, table: str, spec: IndexSpec) -> None:
        where: dict[str, Any] = {}
        if spec.unique:
            live = text("deleted_at IS NULL")
            where = {"postgresql_where": live, "sqlite_where": live}
        self.op.create_index(
            spec.name, table, list(spec.columns), unique=spec.unique, schema=self.schema, **where
        )

    def drop_index(self, table: str, name: str) -> None:
        self.op.drop_index(name, table_name=table, schema=self.schema)

    def rename_index(self, table: str, old: IndexSpec, new: IndexSpec) -> None:
        """Rename an index; SQLite cannot, so it drops and recreates it."""
        if self.sqlite:
            self.drop_index(table, old.name)
            self.create_index(table, new)
        else:
            self.execute(RenameIndex(self.schema, old.name, new.name))

    def rename_constraint(self, table: str, old: str, new: str) -> None:
        """Rename a constraint (PostgreSQL only: SQLite constraint names are inert)."""
        if not self.sqlite and old != new:
            self.execute(RenameConstraint(self.schema, table, old, new))

    def drop_foreign_key(self, table: str, name: str) -> None:
        self.op.drop_constraint(name, table, type_="foreignkey", schema=self.schema)

    def create_foreign_key(self, table: str, column_name: str, target: str, on_delete: str) -> None:
        self.op.create_foreign_key(
            naming.foreign_key_name(table, column_name),
            table,
            target,
            [column_name],
            ["id"],
            source_schema=self.schema,
            referent_schema=self.schema,
            ondelete=on_delete,
        )
