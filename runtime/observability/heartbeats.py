"""Heartbeats: the last sign of life of processes without an HTTP port of their own.

``beat`` is written by the beat process while it holds the single-beat lock; ``tick`` by
the worker that runs a beat tick. ``/ready`` and the metrics read their age, so a dead
or missing beat (or no worker taking its ticks) shows instead of cron and date
triggers silently never firing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from metadata.registry.models import Heartbeat
from runtime.storage.backends import Backend

log = logging.getLogger(__name__)

_table = Heartbeat.__table__


def beat(backend: Backend, name: str, **detail: Any) -> None:
    """Record that ``name`` is alive now (best effort: a failure is logged, not raised)."""
    now = dt.datetime.now(dt.UTC)
    text = json.dumps(detail, default=str, sort_keys=True)
    try:
        with backend.begin_control() as conn:
            changed = conn.execute(
                update(_table).where(_table.c.name == name).values(at=now, detail=text)
            ).rowcount
            if not changed:
                conn.execute(_table.insert().values(name=name, at=now, detail=text))
    except SQLAlchemyError as exc:
        log.warning("could not record the %s heartbeat: %s", name, exc)


def ages(backend: Backend) -> dict[str, tuple[float, dict[str, Any]]]:
    """Return each heartbeat's age in seconds and its detail."""
    now = dt.datetime.now(dt.UTC)
    with backend.connect_control() as conn:
        rows = conn.execute(select(_table)).all()
    out = {}
    for row in rows:
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
        out[row.name] = ((now - at).total_seconds(), json.loads(row.detail or "{}"))
    return out
