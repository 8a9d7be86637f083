"""DDL statements Alembic's operations lack, compiled per dialect.

Each is executed with ``Operations.execute``, so it runs live or lands in a dry run's
output exactly like Alembic's own operations.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn, ExecutableDDLElement
from sqlalchemy.sql.compiler import DDLCompiler


def _qualified(compiler: DDLCompiler, schema: str | None, name: str) -> str:
    quote = compiler.preparer.quote
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)


class CreateTableAs(ExecutableDDLElement):
    """``CREATE TABLE name AS SELECT ...``: copies rows and column types, no constraints."""

    inherit_cache = False

    def __init__(self, name: str, schema: str | None, query: Select[Any]) -> None:
        self.name, self.schema, self.query = name, schema, query


@compiles(CreateTableAs)
def _create_table_as(element: CreateTableAs, compiler: DDLCompiler, **kw: Any) -> str:
    query = compiler.sql_compiler.process(element.query, literal_binds=True)
    return f"CREATE TABLE {_qualified(compiler, element.schema, element.name)} AS {query}"


class RenameIndex(ExecutableDDLElement):
    """``ALTER INDEX ... RENAME TO ...`` (PostgreSQL; SQLite recreates the index)."""

    inherit_cache = False

    def __init__(self, schema: str | None, old: str, new: str) -> None:
        self.schema, self.old, self.new = schema, old, new


@compiles(RenameIndex)
def _rename_index(element: RenameIndex, compiler: DDLCompiler, **kw: Any) -> str:
    return (
        f"ALTER INDEX {_qualified(compiler, element.schema, element.old)} "
        f"RENAME TO {compiler.preparer.quote(element.new)}"
    )


class RenameConstraint(ExecutableDDLElement):
    """``ALTER TABLE ... RENAME CONSTRAINT ...`` (PostgreSQL)."""

    inherit_cache = False

    def __init__(self, schema: str | None, table: str, old: str, new: str) -> None:
        self.schema, self.table, self.old, self.new = schema, table, old, new


@compiles(RenameConstraint)
def _rename_constraint(element: RenameConstraint, compiler: DDLCompiler, **kw: Any) -> str:
    quote = compiler.preparer.quote
    return (
        f"ALTER TABLE {_qualified(compiler, element.schema, element.table)} "
        f"RENAME CONSTRAINT {quote(element.old)} TO {quote(element.new)}"
    )


class AddReferenceColumn(ExecutableDDLElement):
    """``ALTER TABLE ... ADD COLUMN ... REFERENCES ...`` in one statement.

    SQLite can add a column with an inline reference but cannot add a foreign key to an
    existing column, and Alembic only knows the second form. This avoids rebuilding a
    whole table just to add a lookup.
    """

    inherit_cache = False

    def __init__(self, table: str, column: Column[Any], target: str, on_delete: str) -> None:
        self.table, self.column, self.target, self.on_delete = table, column, target, on_delete


@compiles(AddReferenceColumn)
def _add_reference_column(element: AddReferenceColumn, compiler: DDLCompiler, **kw: Any) -> str:
    quote = compiler.preparer.quote
    spec = compiler.process(CreateColumn(element.column))
    return (
        f"ALTER TABLE {quote(element.table)} ADD COLUMN {spec} "
        f"REFERENCES {quote(element.target)} (id) ON DELETE {element.on_delete}"
    )
