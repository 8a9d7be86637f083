"""Runtime settings: one frozen object, read from the environment once and passed along."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_DATA_DIR = Path(".tessera")


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
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given) if given else settings
