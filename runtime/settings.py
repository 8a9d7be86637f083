"""Runtime settings: one frozen object, read from the environment once and passed along.

Every ``TESSERA_*`` variable is declared once, in ``VARIABLES`` below, with its meaning.
``docs/operations.md`` and ``platform/tessera.env.example`` are generated from that list
(``tessera settings --markdown`` / ``--env``), and a test fails when they differ.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runtime.limits import Limits


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names the variable and the fix."""


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the per-user data folder: ``$XDG_DATA_HOME/tessera`` or
    ``~/.local/share/tessera``, never the working directory."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "tessera"


@dataclass(frozen=True)
class WorkflowSettings:
    """How workflows run (``TESSERA_WORKFLOW_*``, ``TESSERA_EMAIL_*``)."""

    broker_url: str | None = None
    """Celery's broker: ``redis://``, ``amqp://`` in production. None: a SQLite file
    in the data folder (``sqla+sqlite``), so the embedded default needs no service."""
    queue: str = "tessera"
    """The Celery queue runs go through (separate deployments sharing a broker use their
    own)."""
    tick: float = 2.0
    """Seconds between beat ticks (dispatch, schedules, timers, sweep)."""
    tenants: str = "*"
    """Which tenants this deployment's beat ticks: comma-separated globs (``acme*,vip_*``),
    so tenants can be split between worker groups with their own queues."""
    fan_out: int = 8
    """Wake-ups sent for a burst of new runs at most: how many worker threads drain one
    tenant's runs at once."""
    email_url: str = "console://"
    email_from: str = "Tessera <no-reply@tessera.local>"
    max_attempts: int = 5
    retry_base: float = 2.0
    lease: float = 300.0
    batch: int = 500


@dataclass(frozen=True)
class Settings:
    """Where Tessera keeps its data and how it serves."""

    database_url: str = ""
    """The control-plane database; it also picks the storage backend. ``sqlite:///PATH``
    keeps each tenant in its own file under ``PATH``'s folder, in ``tenants/``;
    ``postgresql://...`` keeps each tenant in its own schema of that database. Empty:
    ``tessera.sqlite3`` in the data folder."""
    data_dir: Path = None  # type: ignore[assignment]  # filled in by __post_init__
    """Absolute folder for local state: the embedded database, broker and signing key.
    Unset: the folder of a SQLite control plane, else the per-user data folder."""
    env: str = "development"
    """``development`` or ``production`` (which refuses unsafe defaults)."""
    host: str = "127.0.0.1"
    """Interface ``tessera serve`` binds to."""
    port: int = 8000
    """Port ``tessera serve`` listens on."""
    web_concurrency: int = 1
    """Server processes ``tessera serve`` starts (uvicorn workers)."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies whose X-Forwarded-* headers are trusted."""
    sqlite_engine_cache: int = 64
    """How many tenant SQLite files keep an open connection pool at once."""
    db_pool_size: int = 10
    """PostgreSQL connections a process keeps open. Size it to the requests one process
    serves at once: connections beyond it (``db_max_overflow``) are opened for a burst
    and closed after, a new PostgreSQL backend each time."""
    db_max_overflow: int = 10
    """PostgreSQL connections a process may open beyond ``db_pool_size`` in a burst."""
    db_connection_tenants: int = 100
    """Tenants a pooled PostgreSQL connection may read before it is replaced: each adds
    about 95 KB (core_crm) to the connection's catalog cache, which PostgreSQL never
    shrinks (0: no limit)."""
    db_read_shards: int = 1
    """Pools the fast lane spreads tenants over, by a hash of their name, so each pool's
    connections read only their share of the tenants."""
    fast_reads: bool = True
    """Answer a query asked again from its kept plan on the event loop (PostgreSQL)."""
    secret_key: str | None = None
    """Signs access tokens. Unset: a random key kept in the data folder (``secret.key``),
    which production refuses; every process of one deployment needs the same key."""
    redis_url: str | None = None
    """Shared state across processes: rate limits, credential and principal caches,
    invalidation. None: each process keeps its own (the embedded default)."""
    rate_per_minute: int = 600
    """Requests a minute one token or signed-in user may make (0: unlimited)."""
    limits: Limits = field(default_factory=Limits)
    """GraphQL request bounds (page and bulk sizes, depth, cost); ``TESSERA_MAX_*``."""
    workflows: WorkflowSettings = field(default_factory=WorkflowSettings)
    apps_dir: Path | None = None
    """The folder of packs on offer (``TESSERA_APPS_DIR``); None: this Tessera's apps/."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed to call the API from a browser (empty: CORS off)."""
    cors_headers: tuple[str, ...] = ("authorization", "content-type", "x-request-id")
    """Request headers those origins may send."""
    log_format: str = ""
    """``json`` or ``text``; empty: json in production, text otherwise."""
    log_level: str = "info"
    access_log: bool = False
    """Write a log line per HTTP request (probes excepted)."""
    metrics: bool = True
    """Serve Prometheus metrics at ``/metrics``."""
    tenant_classes: tuple[tuple[str, str], ...] = ()
    """(tenant glob, class) pairs for the metrics' ``tenant_class`` label."""
    outbound_allow: tuple[str, ...] = ()
    """Hosts or networks outbound webhooks may reach although they are internal."""
    outbound_timeout: float = 10.0
    """Seconds an outbound webhook may take."""
    invalidation_poll: float = 2.0
    """Seconds between registry checks for changes made by other processes, when no
    push channel (PostgreSQL LISTEN/NOTIFY or Redis) is connected."""
    clock_offset: float = 0.0
    """Seconds added to the wall clock by the workflow engine (testing; refused in
    production)."""
    clock_file: str = ""
    """A file holding the moment the workflow engine takes as now (end-to-end tests move
    a real worker's time by writing it; refused in production)."""
    password_hashing: str = "standard"
    """``standard`` (argon2id, about 0.1 s a hash) or ``fast`` (for test suites only;
    refused in production)."""
    statement_timeout: float = 10.0
    """Seconds one SQL statement may run before the database cancels it (0: no limit)."""
    max_body_bytes: int = 8_000_000
    """Largest request body the server reads."""
    max_json_depth: int = 64
    """Deepest nesting of arrays and objects in a JSON request body."""
    files_dir: Path | None = None
    """Where attachments are kept (None: ``files/`` in the data folder)."""
    files_max_bytes: int = 104_857_600
    """Largest attachment any field accepts, whatever its own ``max_size``."""
    files_s3_bucket: str = ""
    """Keep attachments in this S3-compatible bucket instead of ``files_dir`` (empty: the
    folder). Credentials come from boto3's chain (``AWS_ACCESS_KEY_ID``…)."""
    files_s3_endpoint: str = ""
    """The S3-compatible service's address (MinIO, OSS, COS); empty: AWS S3."""
    files_s3_region: str = ""
    """The bucket's region (empty: boto3's default)."""

    @property
    def effective_files_dir(self) -> Path:
        return self.files_dir or self.data_dir / "files"

    def __post_init__(self) -> None:
        if self.data_dir is None:
            object.__setattr__(self, "data_dir", _data_dir_for(self.database_url, None))
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{self.data_dir / 'tessera.sqlite3'}"
            )

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def broker_url(self) -> str:
        """Return Celery's broker URL (the embedded SQLite one unless configured)."""
        if self.workflows.broker_url:
            return self.workflows.broker_url
        return f"sqla+sqlite:///{self.data_dir / 'broker.sqlite3'}"

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("json" if self.production else "text")

    def writable_data_dir(self) -> Path:
        """Return the data folder, created if needed; raise SettingsError if it cannot be
        written (called only by what keeps state there)."""
        path = self.data_dir
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / f".write-test-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            user = _user()
            raise SettingsError(
                f"TESSERA_DATA_DIR {path} is not writable by {user}: {exc.strerror or exc}. "
                "Point TESSERA_DATA_DIR at a folder that user owns"
            ) from None
        return path

    def check(self) -> Settings:
        """Raise SettingsError for settings a deployment must not run with; return self."""
        if self.production:
            if not self.secret_key:
                raise SettingsError(
                    "TESSERA_SECRET_KEY is not set, and production refuses a key made up on "
                    "the spot (every server, worker and beat must share one). Make one with "
                    "python3 -c 'import secrets; print(secrets.token_urlsafe(48))' and set it "
                    "in every process's environment"
                )
            if self.secret_key.startswith("change-me"):
                raise SettingsError(
                    "TESSERA_SECRET_KEY is still the example's placeholder; make a real one "
                    "with python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
                )
            if self.clock_offset or self.clock_file:
                raise SettingsError(
                    "TESSERA_CLOCK_OFFSET and TESSERA_CLOCK_FILE are for tests; production "
                    "refuses them"
                )
            if self.password_hashing != "standard":
                raise SettingsError(
                    "TESSERA_PASSWORD_HASHING=fast is for test suites; production refuses it"
                )
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Return settings from ``TESSERA_*`` variables, then ``overrides`` (if not None)."""
        env = os.environ if environ is None else environ
        top: dict[str, Any] = {}
        limits: dict[str, Any] = {}
        flows: dict[str, Any] = {}
        for v in VARIABLES:
            text = env.get(v.name)
            if text is None or text == "":
                continue
            value = v.parse(v.name, text)
            section, _, attr = v.attr.rpartition(".")
            {"": top, "limits": limits, "workflows": flows}[section][attr] = value
        given = {k: v for k, v in overrides.items() if v is not None}
        if "database_url" in given:
            top["database_url"] = given.pop("database_url")
        if "data_dir" not in top and "data_dir" not in given:
            top["data_dir"] = _data_dir_for(top.get("database_url", ""), env)
        settings = cls(**top, limits=Limits(**limits), workflows=WorkflowSettings(**flows))
        if given:
            settings = replace(settings, **given)
        _check_sqlite_path(settings.database_url)
        return settings


def _data_dir_for(database_url: str, environ: Mapping[str, str] | None) -> Path:
    """Return the data folder when none is set: a SQLite control plane's own folder (the
    URL named it), else the per-user data folder."""
    prefix = "sqlite:///"
    if database_url.startswith(prefix):
        path = Path(database_url[len(prefix) :]).expanduser()
        if path.is_absolute():
            return path.parent
    return default_data_dir(environ)


def _user() -> str:
    try:
        import pwd

        return f"user {pwd.getpwuid(os.getuid()).pw_name} (uid {os.getuid()})"
    except (ImportError, KeyError):  # pragma: no cover - not on POSIX
        return "this user"


def _check_sqlite_path(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url[len(prefix) :].startswith(("/", "~")):
        raise SettingsError(
            f"TESSERA_DATABASE_URL {url!r} is a relative path, which would depend on the "
            f"folder you run tessera in: use an absolute one (sqlite:////srv/tessera/"
            "tessera.sqlite3), or unset it to use TESSERA_DATA_DIR"
        )


# -- the variables -----------------------------------------------------------------------


def _text(name: str, text: str) -> str:
    return text


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {text!r}") from None


def _count(name: str, text: str) -> int:
    value = _int(name, text)
    if value < 0:
        raise SettingsError(f"{name} must be 0 or more, not {value}")
    return value


def _positive(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise SettingsError(f"{name} must be a whole number of 1 or more, not {text!r}")
    return value


def _float(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {text!r}") from None


def _bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, not {text!r}")


def _absolute(name: str, text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise SettingsError(
            f"{name} must be an absolute path, not {text!r}: a relative one would depend on "
            "the folder tessera runs in"
        )
    return path


def _path(name: str, text: str) -> Path:
    return Path(text).expanduser().resolve()


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, text: str) -> str:
        if text not in choices:
            raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {text!r}")
        return text

    return parse


def _list(name: str, text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _classes(name: str, text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in _list(name, text):
        pattern, sep, label = part.partition("=")
        if not sep or not pattern.strip() or not label.strip():
            raise SettingsError(f"{name}: {part!r} is not GLOB=CLASS (e.g. demo*=demo)")
        pairs.append((pattern.strip(), label.strip()))
    return tuple(pairs)


@dataclass(frozen=True)
class Variable:
    """One ``TESSERA_*`` environment variable."""

    name: str
    attr: str
    """Where it goes: ``Settings`` attribute, or ``limits.x`` / ``workflows.x``."""
    parse: Callable[[str, str], Any]
    default: str
    """The default as people read it (empty: unset)."""
    help: str
    example: str = ""
    """What the env example sets, when it differs from the default."""


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "TESSERA_ENV",
        "env",
        _choice("development", "production"),
        "development",
        "production refuses to start without TESSERA_SECRET_KEY, logs JSON and lists no "
        "tenants on the landing page.",
        "production",
    ),
    Variable(
        "TESSERA_DATA_DIR",
        "data_dir",
        _absolute,
        "$XDG_DATA_HOME/tessera or ~/.local/share/tessera",
        "Absolute folder for local state: the embedded SQLite database and broker, and the "
        "signing key when none is configured. Never the working directory.",
        "/var/lib/tessera",
    ),
    Variable(
        "TESSERA_DATABASE_URL",
        "database_url",
        _text,
        "sqlite:///$TESSERA_DATA_DIR/tessera.sqlite3",
        "Control-plane database; it also picks the storage backend. sqlite:////abs/path: "
        "one file per tenant beside it. postgresql://user:pass@host/db: one schema per "
        "tenant.",
        "postgresql://tessera:change-me@postgres:5432/tessera",
    ),
    Variable(
        "TESSERA_SECRET_KEY",
        "secret_key",
        _text,
        "",
        "Signs access tokens; at least 32 bytes, the same in every process. Required in "
        "production. Make one: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'.",
        "change-me-" + "0" * 40,
    ),
    Variable(
        "TESSERA_REDIS_URL",
        "redis_url",
        _text,
        "",
        "Redis for state shared by every process: rate limits, credential and principal "
        "caches, invalidation messages. Unset: each process keeps its own.",
        "redis://redis:6379/1",
    ),
    Variable(
        "TESSERA_HOST",
        "host",
        _text,
        "127.0.0.1",
        "Interface tessera serve binds to (0.0.0.0 in a container).",
        "0.0.0.0",
    ),
    Variable("TESSERA_PORT", "port", _positive, "8000", "Port tessera serve listens on."),
    Variable(
        "TESSERA_WEB_CONCURRENCY",
        "web_concurrency",
        _positive,
        "1",
        "Server processes tessera serve starts (uvicorn workers). Behind a proxy with "
        "several containers or pods, keep 1 per container.",
    ),
    Variable(
        "TESSERA_FORWARDED_ALLOW_IPS",
        "forwarded_allow_ips",
        _text,
        "127.0.0.1",
        "Comma-separated proxy addresses whose X-Forwarded-For/-Proto are trusted (* for "
        "any, only behind a proxy you control).",
        "*",
    ),
    Variable(
        "TESSERA_APPS_DIR",
        "apps_dir",
        _path,
        "this Tessera's apps/",
        "Folder of installable packs offered by tessera app and the admin API.",
    ),
    Variable(
        "TESSERA_CORS_ORIGINS",
        "cors_origins",
        _list,
        "",
        "Comma-separated origins (https://crm.example.com) browsers may call the API from. "
        "Unset: CORS off.",
    ),
    Variable(
        "TESSERA_CORS_HEADERS",
        "cors_headers",
        _list,
        "authorization,content-type,x-request-id",
        "Request headers those origins may send.",
    ),
    Variable(
        "TESSERA_RATE_PER_MINUTE",
        "rate_per_minute",
        _int,
        "600",
        "Requests a minute per API token or signed-in user, counted across every process "
        "when TESSERA_REDIS_URL is set (0: unlimited).",
    ),
    Variable(
        "TESSERA_DEFAULT_PAGE_SIZE",
        "limits.default_page_size",
        _positive,
        "100",
        "Records a GraphQL list returns without first/last.",
    ),
    Variable(
        "TESSERA_MAX_PAGE_SIZE", "limits.max_page_size", _positive, "1000", "Largest first/last."
    ),
    Variable(
        "TESSERA_MAX_BULK_SIZE",
        "limits.max_bulk_size",
        _positive,
        "500",
        "Most records one bulk mutation may write.",
    ),
    Variable(
        "TESSERA_MAX_DEPTH", "limits.max_depth", _positive, "12", "Deepest GraphQL selection."
    ),
    Variable(
        "TESSERA_MAX_COST",
        "limits.max_cost",
        _positive,
        "2000000",
        "Most records a query may ask for (page sizes multiplied down each path).",
    ),
    Variable(
        "TESSERA_MAX_FILTER_DEPTH",
        "limits.max_filter_depth",
        _positive,
        "8",
        "Deepest nesting of and/or/not and relation conditions in one GraphQL filter.",
    ),
    Variable(
        "TESSERA_MAX_FILTER_RELATIONS",
        "limits.max_filter_relations",
        _positive,
        "4",
        "Most relation conditions nested inside one another in a filter.",
    ),
    Variable(
        "TESSERA_MAX_FILTER_TERMS",
        "limits.max_filter_terms",
        _positive,
        "1000",
        "Most conditions in one request's filters (each in/notIn item counts).",
    ),
    Variable(
        "TESSERA_DB_POOL_SIZE",
        "db_pool_size",
        _positive,
        "10",
        "PostgreSQL connections each process keeps open: size it to the requests a process "
        "serves at once (connections beyond it are opened and closed per burst).",
    ),
    Variable(
        "TESSERA_DB_MAX_OVERFLOW",
        "db_max_overflow",
        _count,
        "10",
        "PostgreSQL connections a process may open beyond the pool in a burst (closed "
        "after); 0: requests wait for a pooled one.",
    ),
    Variable(
        "TESSERA_DB_CONNECTION_TENANTS",
        "db_connection_tenants",
        _count,
        "100",
        "Tenants one pooled PostgreSQL connection may read before it is replaced by a new "
        "one: each tenant's tables add about 95 KB (core_crm) to the connection's catalog "
        "cache, which PostgreSQL never shrinks: at 100 a backend stayed under ~18 MB "
        "whether a process served 100 tenants or 1,000. Lower bounds memory tighter but "
        "opens a connection more often under load spread over more tenants than this (see "
        "'Many tenants' in docs/operations.md); 0: no limit.",
    ),
    Variable(
        "TESSERA_DB_READ_SHARDS",
        "db_read_shards",
        _positive,
        "1",
        "Pools the fast lane splits its PostgreSQL connections into, each serving the "
        "tenants whose names hash to it. Set it to about the tenants one process serves "
        "divided by TESSERA_DB_CONNECTION_TENANTS, so connections stop being replaced "
        "under load spread over all of them.",
    ),
    Variable(
        "TESSERA_FAST_READS",
        "fast_reads",
        _bool,
        "true",
        "Answer a GraphQL query asked again by the same credential from its kept plan, on "
        "the server's event loop with async psycopg (PostgreSQL): a one-record read costs "
        "a third of the server CPU. false: every request takes the full path.",
    ),
    Variable(
        "TESSERA_STATEMENT_TIMEOUT",
        "statement_timeout",
        _float,
        "10",
        "Seconds one SQL statement of a request may run before it is cancelled (0: no "
        "limit). Migrations, imports and backups are not bounded.",
    ),
    Variable(
        "TESSERA_MAX_BODY_BYTES",
        "max_body_bytes",
        _positive,
        "8000000",
        "Largest request body the server reads (413 beyond it).",
    ),
    Variable(
        "TESSERA_MAX_JSON_DEPTH",
        "max_json_depth",
        _positive,
        "64",
        "Deepest nesting of arrays and objects in a JSON request body.",
    ),
    Variable(
        "TESSERA_FILES_DIR",
        "files_dir",
        _absolute,
        "$TESSERA_DATA_DIR/files",
        "Folder where attachments are kept (one subfolder per tenant).",
        "/var/lib/tessera/files",
    ),
    Variable(
        "TESSERA_FILES_MAX_BYTES",
        "files_max_bytes",
        _positive,
        "104857600",
        "Largest attachment accepted by any field (413 beyond it), in bytes.",
    ),
    Variable(
        "TESSERA_FILES_S3_BUCKET",
        "files_s3_bucket",
        _text,
        "",
        "Keep attachments in this S3-compatible bucket instead of the files folder "
        "(needs `pip install tessera[s3]`; credentials from `AWS_ACCESS_KEY_ID`, "
        "`AWS_SECRET_ACCESS_KEY` or another source boto3 reads).",
    ),
    Variable(
        "TESSERA_FILES_S3_ENDPOINT",
        "files_s3_endpoint",
        _text,
        "",
        "Address of the S3-compatible service (MinIO, Aliyun OSS, Tencent COS); empty: AWS S3.",
    ),
    Variable(
        "TESSERA_FILES_S3_REGION",
        "files_s3_region",
        _text,
        "",
        "Region of the attachments bucket (empty: boto3's default).",
    ),
    Variable(
        "TESSERA_BROKER_URL",
        "workflows.broker_url",
        _text,
        "sqla+sqlite:///$TESSERA_DATA_DIR/broker.sqlite3",
        "Celery broker for workflows: redis:// or amqp:// in production.",
        "redis://redis:6379/0",
    ),
    Variable(
        "TESSERA_WORKFLOW_QUEUE",
        "workflows.queue",
        _text,
        "tessera",
        "Celery queue (deployments sharing a broker need their own).",
    ),
    Variable(
        "TESSERA_WORKFLOW_TENANTS",
        "workflows.tenants",
        _text,
        "*",
        "Tenants the beat ticks, as comma-separated globs (acme*,vip_*): tenants split "
        "between worker groups, each with its own TESSERA_WORKFLOW_QUEUE.",
    ),
    Variable(
        "TESSERA_WORKFLOW_TICK",
        "workflows.tick",
        _float,
        "2.0",
        "Seconds between beat ticks (dispatch, schedules, timers, sweep).",
    ),
    Variable(
        "TESSERA_WORKFLOW_FAN_OUT",
        "workflows.fan_out",
        _positive,
        "8",
        "Worker threads woken at most for one burst of new runs.",
    ),
    Variable(
        "TESSERA_WORKFLOW_MAX_ATTEMPTS",
        "workflows.max_attempts",
        _positive,
        "5",
        "Attempts before a failing run goes to the dead-letter list.",
    ),
    Variable(
        "TESSERA_WORKFLOW_RETRY_BASE",
        "workflows.retry_base",
        _float,
        "2.0",
        "Seconds before the first retry; doubled each time.",
    ),
    Variable(
        "TESSERA_WORKFLOW_LEASE",
        "workflows.lease",
        _float,
        "300",
        "Seconds a worker holds a run before another may take it over.",
    ),
    Variable(
        "TESSERA_EMAIL_URL",
        "workflows.email_url",
        _text,
        "console://",
        "E-mail backend: smtp://user:pass@host:587, smtps://..., file:///folder or console://.",
    ),
    Variable(
        "TESSERA_EMAIL_FROM",
        "workflows.email_from",
        _text,
        "Tessera <no-reply@tessera.local>",
        "Sender of workflow e-mail.",
    ),
    Variable(
        "TESSERA_OUTBOUND_ALLOW",
        "outbound_allow",
        _list,
        "",
        "Comma-separated hosts or networks (10.1.2.0/24) outbound webhooks may reach even "
        "though they are loopback, private or link-local. Everything else internal is "
        "refused.",
    ),
    Variable(
        "TESSERA_OUTBOUND_TIMEOUT",
        "outbound_timeout",
        _float,
        "10",
        "Seconds an outbound webhook may take.",
    ),
    Variable(
        "TESSERA_LOG_FORMAT",
        "log_format",
        _choice("json", "text"),
        "json in production, text otherwise",
        "Log lines as JSON objects (with request_id, tenant, run) or as text.",
    ),
    Variable(
        "TESSERA_LOG_LEVEL",
        "log_level",
        _choice("debug", "info", "warning", "error"),
        "info",
        "Least severe log level written.",
    ),
    Variable(
        "TESSERA_ACCESS_LOG",
        "access_log",
        _bool,
        "false",
        "Write a log line per HTTP request, with its request id, route, status, duration "
        "and SQL time (off by default: it cost small reads more than their SQL; a proxy or "
        "the metrics usually say as much).",
    ),
    Variable(
        "TESSERA_METRICS",
        "metrics",
        _bool,
        "true",
        "Serve Prometheus metrics at /metrics.",
    ),
    Variable(
        "TESSERA_TENANT_CLASSES",
        "tenant_classes",
        _classes,
        "",
        "Comma-separated GLOB=CLASS pairs for the metrics' tenant_class label "
        "(vip_*=enterprise,demo*=demo); other tenants are class default.",
    ),
    Variable(
        "TESSERA_INVALIDATION_POLL",
        "invalidation_poll",
        _float,
        "2.0",
        "Seconds between registry checks for metadata changed by other processes, used "
        "when no push channel is connected (with one: 30 s, as a fallback).",
    ),
    Variable(
        "TESSERA_PASSWORD_HASHING",
        "password_hashing",
        _choice("standard", "fast"),
        "standard",
        "standard: argon2id as recommended (about 0.1 s a sign-in). fast: cheap hashes "
        "for test suites only; refused in production.",
    ),
    Variable(
        "TESSERA_CLOCK_OFFSET",
        "clock_offset",
        _float,
        "0",
        "Seconds added to the workflow engine's clock, to try date and schedule triggers "
        "in staging. Refused in production.",
    ),
    Variable(
        "TESSERA_CLOCK_FILE",
        "clock_file",
        _text,
        "",
        "A file holding an ISO 8601 moment the workflow engine takes as now (re-read when "
        "it changes; the wall clock while it is missing or empty), so tests move a real "
        "worker's time. Refused in production.",
    ),
)


def env_example() -> str:
    """Return ``platform/tessera.env.example``: every variable, set for production."""
    lines = [
        "# Tessera settings for a production deployment. Generated from runtime/settings.py",
        "# (tessera settings --env); docs/operations.md explains each one.",
        "# Replace every change-me. Commented lines show the default.",
        "",
    ]
    for v in VARIABLES:
        lines.append(f"# {v.help}")
        if v.example:
            lines.append(f"{v.name}={v.example}")
        else:
            lines.append(f"# {v.name}={v.default}")
        lines.append("")
    return "\n".join(lines)


def markdown_table() -> str:
    """Return the settings reference table of docs/operations.md."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for v in VARIABLES:
        default = f"`{v.default}`" if v.default else "unset"
        meaning = v.help.replace("|", "\\|")
        rows.append(f"| `{v.name}` | {default} | {meaning} |")
    return "\n".join(rows) + "\n"


def password_hasher(settings: Settings) -> Any:
    """Return the argon2 hasher the settings ask for."""
    from argon2 import PasswordHasher

    if settings.password_hashing == "fast":
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def new_secret_key() -> str:
    """Return a fresh signing key (what the production error tells people to make)."""
    return secrets.token_urlsafe(48)
