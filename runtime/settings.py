"""Runtime settings: one frozen object, read from the environment once and passed along."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from runtime.graphql.limits import Limits

DEFAULT_DATA_DIR = Path(".tessera")


@dataclass(frozen=True)
class WorkflowSettings:
    """How workflows run (``TESSERA_WORKFLOW_*``, ``TESSERA_EMAIL_*``)."""

    broker_url: str | None = None
    """Celery's broker: ``redis://``, ``amqp://`` in production. None: a SQLite file
    beside the data (``sqla+sqlite``), so the embedded default needs no service."""
    queue: str = "tessera"
    """The Celery queue runs go through (separate deployments sharing a broker use their
    own)."""
    tick: float = 2.0
    """Seconds between beat ticks (dispatch, schedules, timers, sweep)."""
    fan_out: int = 8
    """Wake-ups sent for a burst of new runs at most: how many worker threads drain one
    tenant's runs at once."""
    email_url: str = "console://"
    email_from: str = "Tessera <no-reply@tessera.local>"
    max_attempts: int = 5
    retry_base: float = 2.0
    lease: float = 300.0
    timer_horizon: float = 7 * 86400.0
    batch: int = 500


@dataclass(frozen=True)
class Settings:
    """Where Tessera keeps its data and how it serves."""

    database_url: str = f"sqlite:///{DEFAULT_DATA_DIR / 'tessera.sqlite3'}"
    """The control-plane database; it also picks the storage backend. ``sqlite:///PATH``
    keeps each tenant in its own file under ``PATH``'s folder, in ``tenants/``;
    ``postgresql://...`` keeps each tenant in its own schema of that database."""
    host: str = "127.0.0.1"
    """Interface ``tessera serve`` binds to."""
    port: int = 8000
    """Port ``tessera serve`` listens on."""
    sqlite_engine_cache: int = 64
    """How many tenant SQLite files keep an open connection pool at once."""
    secret_key: str | None = None
    """Signs access tokens. Unset: a random key kept in the data folder (``secret.key``);
    set ``TESSERA_SECRET_KEY`` when several server processes must accept each other's."""
    rate_per_minute: int = 600
    """Requests a minute one token or signed-in user may make (0: unlimited)."""
    limits: Limits = field(default_factory=Limits)
    """GraphQL request bounds (page and bulk sizes, depth, cost); ``TESSERA_MAX_*``."""
    workflows: WorkflowSettings = field(default_factory=WorkflowSettings)
    apps_dir: Path | None = None
    """The folder of packs on offer (``TESSERA_APPS_DIR``); None: this Tessera's apps/."""

    @property
    def broker_url(self) -> str:
        """Return Celery's broker URL (the embedded SQLite one unless configured)."""
        if self.workflows.broker_url:
            return self.workflows.broker_url
        return f"sqla+sqlite:///{(self.data_dir / 'broker.sqlite3').resolve()}"

    @property
    def data_dir(self) -> Path:
        """Return the folder local state lives in: the SQLite control plane's, or .tessera."""
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url[len("sqlite:///") :]).parent
        return DEFAULT_DATA_DIR

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Return settings from ``TESSERA_*`` variables, then ``overrides`` (if not None)."""
        env = os.environ if environ is None else environ
        settings = cls()
        if env.get("TESSERA_DATABASE_URL"):
            settings = replace(settings, database_url=env["TESSERA_DATABASE_URL"])
        if env.get("TESSERA_HOST"):
            settings = replace(settings, host=env["TESSERA_HOST"])
        if env.get("TESSERA_PORT"):
            settings = replace(settings, port=int(env["TESSERA_PORT"]))
        if env.get("TESSERA_SECRET_KEY"):
            settings = replace(settings, secret_key=env["TESSERA_SECRET_KEY"])
        if env.get("TESSERA_APPS_DIR"):
            settings = replace(settings, apps_dir=Path(env["TESSERA_APPS_DIR"]))
        if env.get("TESSERA_RATE_PER_MINUTE"):
            settings = replace(settings, rate_per_minute=int(env["TESSERA_RATE_PER_MINUTE"]))
        bounds = {
            name: _positive(env, variable)
            for name, variable in _LIMIT_VARIABLES.items()
            if env.get(variable)
        }
        if bounds:
            settings = replace(settings, limits=replace(settings.limits, **bounds))
        flows = {
            name: kind(env[variable])
            for name, (variable, kind) in _WORKFLOW_VARIABLES.items()
            if env.get(variable)
        }
        if flows:
            settings = replace(settings, workflows=replace(settings.workflows, **flows))
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given) if given else settings


_LIMIT_VARIABLES = {
    "default_page_size": "TESSERA_DEFAULT_PAGE_SIZE",
    "max_page_size": "TESSERA_MAX_PAGE_SIZE",
    "max_bulk_size": "TESSERA_MAX_BULK_SIZE",
    "max_depth": "TESSERA_MAX_DEPTH",
    "max_cost": "TESSERA_MAX_COST",
}


_WORKFLOW_VARIABLES: dict[str, tuple[str, type]] = {
    "broker_url": ("TESSERA_BROKER_URL", str),
    "tick": ("TESSERA_WORKFLOW_TICK", float),
    "fan_out": ("TESSERA_WORKFLOW_FAN_OUT", int),
    "queue": ("TESSERA_WORKFLOW_QUEUE", str),
    "email_url": ("TESSERA_EMAIL_URL", str),
    "email_from": ("TESSERA_EMAIL_FROM", str),
    "max_attempts": ("TESSERA_WORKFLOW_MAX_ATTEMPTS", int),
    "retry_base": ("TESSERA_WORKFLOW_RETRY_BASE", float),
    "lease": ("TESSERA_WORKFLOW_LEASE", float),
    "timer_horizon": ("TESSERA_WORKFLOW_TIMER_HORIZON", float),
}


def _positive(env: Mapping[str, str], variable: str) -> int:
    """Return ``variable`` as a positive whole number, or fail naming it."""
    text = env[variable]
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{variable} must be a whole number of 1 or more, not {text!r}")
    return value
