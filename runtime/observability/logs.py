"""Log lines: JSON objects in production (one per line, for a log pipeline), text while
developing, each carrying the request id it belongs to.

The request id comes from the client's ``X-Request-ID`` (if it looks like one) or is
made up at the edge; it is echoed in the response, stored with the outbox events the
request's writes append and with the workflow runs they start, so a worker's log lines
about a run carry the id of the request that caused it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pythonjsonlogger.json import JsonFormatter

#: The request (or the run's originating request) this thread of work belongs to.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
#: The tenant and workflow run being worked on, when there is one.
tenant: contextvars.ContextVar[str | None] = contextvars.ContextVar("tenant", default=None)
run: contextvars.ContextVar[str | None] = contextvars.ContextVar("run", default=None)

_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def accept_request_id(given: str | None) -> str:
    """Return the client's request id if it is safe to log and store, else a new one."""
    if given and _GOOD_ID.match(given):
        return given
    return uuid.uuid4().hex


@contextmanager
def bound(**values: str | None) -> Iterator[None]:
    """Set request_id / tenant / run for the block (and the log lines inside it)."""
    tokens = []
    for name, value in values.items():
        var = {"request_id": request_id, "tenant": tenant, "run": run}[name]
        tokens.append((var, var.set(value)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class _Context(logging.Filter):
    """Add the context variables to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.tenant = tenant.get()
        record.run = run.get()
        return True


class _Json(JsonFormatter):
    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["level"] = record.levelname.lower()
        log_data["logger"] = record.name
        log_data.pop("color_message", None)  # uvicorn's terminal copy of the message
        for key in ("request_id", "tenant", "run"):
            if log_data.get(key) is None:
                log_data.pop(key, None)


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(
            f"{key}={value}"
            for key in ("request_id", "tenant", "run")
            if (value := getattr(record, key, None))
        )
        return f"{text} [{extra}]" if extra else text


def configure(log_format: str, level: str = "info", *, process: str = "server") -> None:
    """Send every log line to stderr in ``log_format`` (``json`` or ``text``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Context())
    if log_format == "json":
        handler.setFormatter(
            _Json(
                "%(asctime)s %(message)s",
                rename_fields={"asctime": "time"},
                static_fields={"process": process},
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(_Text("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Tessera logs each request itself (with its id); uvicorn's access log would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error", "celery", "kombu"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
