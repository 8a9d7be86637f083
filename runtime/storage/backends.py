"""The two storage backends: PostgreSQL (a schema per tenant) and SQLite (a file each).

Everything above this module is backend-neutral. What differs lives here: how to reach a
tenant's tables, how transactions begin, how a tenant's storage is created and removed,
and whether registry and tenant share a transaction (PostgreSQL: yes; SQLite: no, the
control plane is a separate file).
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import DisconnectionError

from metadata.registry import migrate
from metadata.registry.models import SCHEMA
from runtime.settings import Settings, SettingsError
from runtime.sql import naming
from runtime.storage.tables import system_tables

#: SQLite calls the progress handler every this many virtual-machine instructions
#: (about 0.1 ms of work): often enough to stop on time, rarely enough to cost nothing.
_PROGRESS_STEPS = 20_000


def _sqlite_engine(
    path: Path,
    *,
    translate: dict[str, str | None] | None = None,
    statement_timeout: float = 0.0,
) -> Engine:
    options: dict[str, Any] = {"schema_translate_map": translate} if translate else {}
    engine = create_engine(f"sqlite:///{path}", execution_options=options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # pysqlite's own transaction handling does not wrap DDL, which would make a failed
        # migration impossible to roll back; we issue BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        if statement_timeout > 0:
            # SQLite has no statement timeout: a progress handler that answers non-zero
            # past the statement's deadline makes it stop with "interrupted".
            info = record.info

            def past_deadline() -> int:
                deadline = info.get("tessera_deadline")
                return 1 if deadline is not None and time.monotonic() > deadline else 0

            dbapi_connection.set_progress_handler(past_deadline, _PROGRESS_STEPS)

    if statement_timeout > 0:

        @event.listens_for(engine, "before_cursor_execute")
        def _deadline(conn: Connection, *_args: Any) -> None:
            unbounded = conn.get_execution_options().get("tessera_unbounded")
            conn.connection.info["tessera_deadline"] = (
                None if unbounded else time.monotonic() + statement_timeout
            )

        @event.listens_for(engine, "checkin")
        def _no_deadline(_dbapi_connection: Any, record: Any) -> None:
            record.info.pop("tessera_deadline", None)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        opts = conn.get_execution_options()
        # PRAGMA foreign_keys is ignored inside a transaction, so set it per transaction
        # here. Migrations turn it off: rebuilding a parent table under enforcement would
        # cascade-delete its children. They run PRAGMA foreign_key_check before commit.
        enforce = "ON" if opts.get("tessera_foreign_keys", True) else "OFF"
        conn.connection.info.pop("tessera_deadline", None)  # PRAGMA is not bounded
        conn.exec_driver_sql(f"PRAGMA foreign_keys={enforce}")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if opts.get("tessera_write") else "BEGIN")

    return engine


def cancelled(exc: BaseException) -> bool:
    """Return whether a database error means the statement was stopped: by the statement
    timeout or by a cancellation (the client went away), on either backend."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) == "57014":  # PostgreSQL query_canceled
        return True
    return type(orig).__name__ == "OperationalError" and str(orig) == "interrupted"


def bad_data(exc: BaseException) -> bool:
    """Return whether a database error is about a value (PostgreSQL's class 22, "data
    exception": a value that does not fit its type). The input boundary and the compiler
    refuse such values first; this is the net under them."""
    orig = getattr(exc, "orig", exc)
    return str(getattr(orig, "sqlstate", "") or "").startswith("22")


class Backend(ABC):
    """What the layers above need from storage, whichever database is behind it."""

    dialect: str
    #: Whether control plane and tenant tables can share one transaction.
    shared_transaction: bool
    control: Engine

    @abstractmethod
    def location(self) -> str:
        """Where the data is, for people (no password)."""

    @abstractmethod
    def schema(self, tenant: str) -> str | None:
        """Return the schema holding ``tenant``'s tables (None: its own database)."""

    @contextmanager
    def begin_control(self) -> Iterator[Connection]:
        """Open a write transaction on the control plane."""
        with self.control.connect() as conn:
            conn.execution_options(tessera_write=True)
            with conn.begin():
                yield conn

    def connect_control(self) -> Any:
        """Return a read connection to the control plane (a context manager)."""
        return self.control.connect()

    def unbounded(self, conn: Connection) -> Connection:
        """Lift the statement timeout for the rest of ``conn``'s transaction: for the
        platform's own long work (migrations, imports, backups), never for a request."""
        conn.execution_options(tessera_unbounded=True)
        return conn

    @abstractmethod
    def begin_tenant(
        self, tenant: str, *, migration: bool = False
    ) -> AbstractContextManager[Connection]:
        """Open a write transaction on ``tenant``'s tables (``migration``: for DDL)."""

    @contextmanager
    def read_tenant(self, tenant: str) -> Iterator[Connection]:
        """Open a read-only transaction on ``tenant``'s tables (no write lock)."""
        with self.tenant_engine(tenant).connect() as conn:
            try:
                yield conn
            finally:
                conn.rollback()

    def reading(self, tenant: str) -> AbstractContextManager[Connection]:
        """Return a connection for a request's reads of ``tenant``: each statement on its
        own, in one round trip where the backend allows (see PostgresBackend). Each
        statement sees its own snapshot, as in a READ COMMITTED transaction."""
        return self.read_tenant(tenant)

    @abstractmethod
    def tenant_engine(self, tenant: str) -> Engine:
        """Return the engine that reaches ``tenant``'s tables."""

    @abstractmethod
    def create_storage(self, tenant: str, conn: Connection | None = None) -> None:
        """Create ``tenant``'s schema or file with the platform's own tables."""

    @abstractmethod
    def drop_storage(self, tenant: str, conn: Connection | None = None) -> None:
        """Remove ``tenant``'s schema or file and every table in it."""

    @abstractmethod
    def storage_exists(self, tenant: str) -> bool:
        """Return whether ``tenant``'s schema or file exists."""

    def prepare(self) -> None:
        """Bring the control plane up to date (idempotent)."""
        migrate.upgrade(self.control)

    def dispose(self) -> None:
        self.control.dispose()

    def upgrade_storage(self, tenant: str, conn: Connection | None = None) -> None:
        """Create the platform tables and columns a tenant made by an older release lacks
        (idempotent), and record that its storage is current."""
        if conn is not None:
            _upgrade_system_tables(conn, self.schema(tenant))
            return
        with self.begin_tenant(tenant) as own:
            _upgrade_system_tables(own, self.schema(tenant))

    def ensure_storage(self, tenant: str) -> bool:
        """Upgrade ``tenant``'s platform tables if an older release made them; return
        whether it had to. Checking costs one small query (the tenant records the
        storage it has), so every process can check each tenant it serves: the full
        check (SQLAlchemy's inspector over some twenty tables) took milliseconds and
        ~70 KB of compiled statements per tenant a server touched (issue 17)."""
        schema = self.schema(tenant)
        state = f'"{schema}".{naming.STATE_TABLE}' if schema else naming.STATE_TABLE
        with self.reading(tenant) as conn:
            recorded = conn.exec_driver_sql(
                f"SELECT value FROM {state} WHERE key = '{_STORAGE_KEY}'"
            ).scalar()
        if recorded == storage_fingerprint(self.dialect):
            return False
        self.upgrade_storage(tenant)
        return True

    def _create_system_tables(self, conn: Connection, tenant: str) -> None:
        metadata = system_tables(self.schema(tenant))
        metadata.create_all(conn)
        state = metadata.tables[_qualified(self.schema(tenant), naming.STATE_TABLE)]
        conn.execute(
            state.insert(),
            [
                {"key": "metadata_hash", "value": ""},
                {"key": "metadata_version", "value": "0"},
                {"key": _STORAGE_KEY, "value": storage_fingerprint(conn.dialect.name)},
            ],
        )


#: Platform columns added after their table first shipped: (table, column). Each is
#: nullable, so adding it to a tenant made by an older release is a metadata-only ALTER.
ADDED_COLUMNS = (
    (naming.OUTBOX_TABLE, "request_id"),
    ("_tessera_runs", "request_id"),
    ("_tessera_approvals", "snapshot"),
    ("_tessera_approvals", "changes"),
    ("_tessera_approval_tasks", "due_at"),
    ("_tessera_approval_tasks", "delegated_from"),
    ("_tessera_approval_tasks", "escalated_from"),
)


#: The state table's key for the fingerprint of the platform tables a tenant has.
_STORAGE_KEY = "platform_tables"


@functools.cache
def storage_fingerprint(dialect: str) -> str:
    """A digest of the platform tables' DDL as this release makes them (computed once per
    process): a tenant recording another was made or last upgraded by another release."""
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    engine_dialect = (postgresql if dialect == "postgresql" else sqlite).dialect()
    ddl = []
    for table in system_tables(None).sorted_tables:
        ddl.append(str(CreateTable(table).compile(dialect=engine_dialect)))
        indexes = sorted(table.indexes, key=lambda i: str(i.name))  # a set: order varies
        ddl += [str(CreateIndex(i).compile(dialect=engine_dialect)) for i in indexes]
    return hashlib.sha256("\n".join(ddl).encode()).hexdigest()[:16]


def _upgrade_system_tables(conn: Connection, schema: str | None) -> None:
    metadata = system_tables(schema)
    metadata.create_all(conn, checkfirst=True)
    inspector = inspect(conn)
    for table_name, column_name in ADDED_COLUMNS:
        present = {c["name"] for c in inspector.get_columns(table_name, schema=schema)}
        if column_name in present:
            continue
        table = metadata.tables[_qualified(schema, table_name)]
        column = table.c[column_name]
        kind = column.type.compile(dialect=conn.dialect)
        target = f'"{schema}"."{table_name}"' if schema else f'"{table_name}"'
        conn.exec_driver_sql(f'ALTER TABLE {target} ADD COLUMN "{column_name}" {kind}')
    # Indexes added to tables that already existed (create_all made only new tables').
    for table in metadata.sorted_tables:
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            index.create(conn, checkfirst=True)
    state = metadata.tables[_qualified(schema, naming.STATE_TABLE)]
    fingerprint = storage_fingerprint(conn.dialect.name)
    done = conn.execute(
        state.update().where(state.c.key == _STORAGE_KEY).values(value=fingerprint)
    ).rowcount
    if not done:
        conn.execute(state.insert().values(key=_STORAGE_KEY, value=fingerprint))


def _ping_when_idle(engine: Engine, idle: float) -> None:
    """Ping a pooled connection on checkout only when it has been idle ``idle`` seconds.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip per request. A
    connection returned a moment ago is as good as the last statement proved it; one idle
    for a while may have been closed by the server, a proxy or a restart. A failed ping
    raises DisconnectionError, on which the pool drops the connection and opens another
    (SQLAlchemy's pessimistic disconnect recipe). A server restarted under a busy pool
    still fails the statements already on their way; the pool then drops every
    connection it held before the failure.
    """

    @event.listens_for(engine, "checkin")
    def returned(dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < idle:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection idle for {idle} s is gone") from exc


def _qualified(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


class PostgresBackend(Backend):
    """Tenants are schemas of one PostgreSQL database; the control plane is ``tessera``."""

    dialect = "postgresql"
    shared_transaction = True

    def location(self) -> str:
        """Where the data is, for people (no password)."""
        return f"PostgreSQL {self.control.url.render_as_string(hide_password=True)}"

    def __init__(
        self,
        url: URL,
        *,
        statement_timeout: float = 0.0,
        pool_size: int = 10,
        max_overflow: int = 10,
        idle_ping: float = 10.0,
        connection_tenants: int = 0,
    ) -> None:
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        # Every session in UTC so timestamps never depend on the server's zone. Pooled
        # connections are recycled: PostgreSQL caches catalog entries per connection for
        # each table it touches (~11 KB each), which adds up across thousands of tenants.
        # The statement timeout is the session's default, set when it connects, so a
        # request pays no extra round trip for it (SET LOCAL would cost one per request).
        options = "-c timezone=UTC"
        if statement_timeout > 0:
            options += f" -c statement_timeout={round(statement_timeout * 1000)}"
        # The pool is sized by the settings: SQLAlchemy's default (5, and 10 more opened
        # and closed per burst) made 8 concurrent requests start 32 PostgreSQL backends
        # in 2,248 requests (issue 17).
        self.connect_options = options
        self.connection_tenants = connection_tenants
        self.control = create_engine(
            url,
            pool_recycle=1800,
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_args={"options": options},
        )
        _ping_when_idle(self.control, idle_ping)

    @contextmanager
    def reading(self, tenant: str) -> Iterator[Connection]:
        """A request's reads in autocommit: one round trip per statement. A read in a
        transaction cost three (BEGIN, the query, ROLLBACK), and the pool's ping on
        checkout a fourth (issue 17): the ping now runs only for connections idle longer
        than ``idle_ping`` seconds (``_ping_when_idle``)."""
        with self.control.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")
            self._touched(conn, tenant)

    def _touched(self, conn: Connection, tenant: str) -> None:
        """Note that ``conn`` read ``tenant``'s tables; replace the connection once it has
        read more than ``connection_tenants`` tenants. PostgreSQL caches the catalog
        entries of every table a connection touches (~95 KB per core_crm tenant) and
        never lets go of them: a pool serving thousands of tenants would grow each
        backend without bound."""
        if not self.connection_tenants:
            return
        seen = conn.info.setdefault("tessera_tenants", set())  # lives with the connection
        seen.add(tenant)
        if len(seen) > self.connection_tenants:
            conn.invalidate()  # closed; the pool opens a new backend when next needed

    def unbounded(self, conn: Connection) -> Connection:
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
        return conn

    def schema(self, tenant: str) -> str | None:
        return naming.tenant_schema(tenant)

    def tenant_engine(self, tenant: str) -> Engine:
        return self.control

    @contextmanager
    def begin_tenant(self, tenant: str, *, migration: bool = False) -> Iterator[Connection]:
        with self.control.connect() as conn:
            with conn.begin():
                if migration:
                    self.unbounded(conn)
                yield conn
            self._touched(conn, tenant)

    def create_storage(self, tenant: str, conn: Connection | None = None) -> None:
        assert conn is not None, "PostgreSQL creates tenant storage in the caller's transaction"
        conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema(tenant)}"')
        self._create_system_tables(conn, tenant)

    def drop_storage(self, tenant: str, conn: Connection | None = None) -> None:
        assert conn is not None
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema(tenant)}" CASCADE')

    def storage_exists(self, tenant: str) -> bool:
        with self.control.connect() as conn:
            found = conn.exec_driver_sql(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %(s)s",
                {"s": self.schema(tenant)},
            ).first()
        return found is not None


class SqliteBackend(Backend):
    """Each tenant is a SQLite file in ``tenants/`` beside the control-plane file."""

    dialect = "sqlite"
    shared_transaction = False

    def location(self) -> str:
        """Where the data is, for people."""
        return f"SQLite in {self.path.parent}"

    def __init__(self, path: Path, *, cache_size: int = 64, statement_timeout: float = 0.0) -> None:
        self.path = path
        self.tenant_dir = path.parent / "tenants"
        self.tenant_dir.mkdir(parents=True, exist_ok=True)
        self.statement_timeout = statement_timeout
        # Control-plane models name the PostgreSQL schema; a SQLite file has none.
        self.control = _sqlite_engine(
            path, translate={SCHEMA: None}, statement_timeout=statement_timeout
        )
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def schema(self, tenant: str) -> str | None:
        return None

    def tenant_path(self, tenant: str) -> Path:
        return self.tenant_dir / f"{tenant}.sqlite3"

    def tenant_engine(self, tenant: str) -> Engine:
        """Return the engine for ``tenant``'s file, keeping a bounded set open."""
        with self._lock:
            engine = self._engines.pop(tenant, None)
            if engine is None:
                engine = _sqlite_engine(
                    self.tenant_path(tenant), statement_timeout=self.statement_timeout
                )
            self._engines[tenant] = engine
            while len(self._engines) > self._cache_size:
                _, evicted = self._engines.popitem(last=False)
                evicted.dispose()
            return engine

    @contextmanager
    def begin_tenant(self, tenant: str, *, migration: bool = False) -> Iterator[Connection]:
        if not self.tenant_path(tenant).exists():
            raise FileNotFoundError(f"tenant storage {self.tenant_path(tenant)} is missing")
        with self.tenant_engine(tenant).connect() as conn:
            conn.execution_options(
                tessera_write=True,
                tessera_foreign_keys=not migration,
                tessera_unbounded=migration,
            )
            with conn.begin():
                yield conn

    def create_storage(self, tenant: str, conn: Connection | None = None) -> None:
        path = self.tenant_path(tenant)
        if path.exists():
            raise FileExistsError(f"tenant storage {path} already exists")
        path.touch()
        try:
            with self.begin_tenant(tenant) as tenant_conn:
                self._create_system_tables(tenant_conn, tenant)
        except BaseException:
            self._remove_files(tenant)
            raise

    def drop_storage(self, tenant: str, conn: Connection | None = None) -> None:
        self._remove_files(tenant)

    def _remove_files(self, tenant: str) -> None:
        with self._lock:
            engine = self._engines.pop(tenant, None)
        if engine is not None:
            engine.dispose()
        base = self.tenant_path(tenant)
        for suffix in ("", "-wal", "-shm", "-journal"):
            candidate = Path(f"{base}{suffix}")
            if candidate.exists():
                os.remove(candidate)

    def storage_exists(self, tenant: str) -> bool:
        return self.tenant_path(tenant).exists()

    def dispose(self) -> None:
        with self._lock:
            engines, self._engines = list(self._engines.values()), OrderedDict()
        for engine in engines:
            engine.dispose()
        super().dispose()


def make_backend(settings: Settings) -> Backend:
    """Return the backend the settings' database URL names."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("SQLite needs a file path: sqlite:///path/to/tessera.sqlite3")
        path = Path(url.database).expanduser().resolve()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not os.access(path.parent, os.W_OK):
                raise PermissionError(13, "permission denied")
        except OSError as exc:
            raise SettingsError(
                f"the SQLite database folder {path.parent} cannot be written: "
                f"{exc.strerror or exc}. Set TESSERA_DATA_DIR (or TESSERA_DATABASE_URL) to a "
                "folder this user owns"
            ) from None
        return SqliteBackend(
            path,
            cache_size=settings.sqlite_engine_cache,
            statement_timeout=settings.statement_timeout,
        )
    if url.get_backend_name() == "postgresql":
        return PostgresBackend(
            url,
            statement_timeout=settings.statement_timeout,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            connection_tenants=settings.db_connection_tenants,
        )
    raise ValueError(
        f"unsupported database {url.get_backend_name()!r}: use sqlite:///PATH or "
        "postgresql://USER@HOST/DB"
    )


def read_state(conn: Connection, schema: str | None) -> dict[str, str]:
    """Return the tenant's own record of the metadata its tables match."""
    table = system_tables(schema).tables[_qualified(schema, naming.STATE_TABLE)]
    return dict(conn.execute(select(table.c.key, table.c.value)).all())


def write_state(conn: Connection, schema: str | None, *, content_hash: str, version: int) -> None:
    """Record in the tenant which metadata its tables now match (same transaction as DDL)."""
    table = system_tables(schema).tables[_qualified(schema, naming.STATE_TABLE)]
    for key, value in (("metadata_hash", content_hash), ("metadata_version", str(version))):
        conn.execute(table.update().where(table.c.key == key).values(value=value))
