"""Errors as RFC 9457 problem details, carrying the locations of metadata problems.

Every failure a client can cause maps to a problem type with a stable URI, a status and,
for metadata, the list of issues (pointer, line, message). Anything unexpected becomes a
plain 500 problem: database messages and stack traces never reach the client.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from sqlalchemy.exc import DBAPIError

from metadata.diff import PlanRefused
from metadata.errors import MetadataError
from metadata.packs.catalog import PackError
from metadata.registry.store import RegistryError
from runtime.packs.records import SampleDataError
from runtime.security.rate import RateLimited
from runtime.storage.backends import bad_data
from runtime.storage.migrator import DataConflict
from runtime.tenants import StorageDrift

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://tessera.dev/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(
    request: Request[Any, Any, Any],
    *,
    status: int,
    kind: str,
    title: str,
    detail: str,
    **extra: Any,
) -> Response[dict[str, Any]]:
    """Return a problem-details response."""
    body = {
        "type": PROBLEM_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return Response(body, status_code=status, media_type=MEDIA_TYPE)


def _metadata_error(request: Request[Any, Any, Any], exc: MetadataError) -> Response[Any]:
    if isinstance(exc, DataConflict):
        status, kind = 409, "data-conflict"
    elif isinstance(exc, PlanRefused):
        status, kind = 409, "change-refused"
    else:
        status, kind = 422, "invalid-metadata"
    errors = exc.errors
    first = errors[0].message if errors else exc.title
    detail = f"{len(errors)} problem(s); first: {first}"
    return problem(
        request,
        status=status,
        kind=kind,
        title=exc.title,
        detail=detail,
        errors=[i.to_dict() for i in exc.issues],
    )


def _pack_error(request: Request[Any, Any, Any], exc: PackError) -> Response[Any]:
    first = exc.problems[0] if exc.problems else exc.title
    return problem(
        request,
        status=exc.status,
        kind="pack-not-found" if exc.status == 404 else "pack-conflict",
        title=exc.title,
        detail=f"{len(exc.problems)} problem(s); first: {first}",
        problems=exc.problems,
    )


def _sample_data(request: Request[Any, Any, Any], exc: SampleDataError) -> Response[Any]:
    return problem(
        request, status=409, kind="sample-data", title="Sample data failed", detail=str(exc)
    )


def _registry_error(request: Request[Any, Any, Any], exc: RegistryError) -> Response[Any]:
    response = problem(
        request,
        status=exc.status,
        kind=exc.code.replace("_", "-"),
        title=exc.code.replace("_", " ").capitalize(),
        detail=str(exc),
    )
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tessera"'
    return response


def _drift(request: Request[Any, Any, Any], exc: StorageDrift) -> Response[Any]:
    return problem(
        request, status=409, kind="storage-drift", title="Storage drift", detail=str(exc)
    )


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return problem(
        request,
        status=400,
        kind="bad-request",
        title="Bad request",
        detail=exc.detail,
        errors=exc.extra or [],
    )


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    kind = "not-found" if isinstance(exc, NotFoundException) else "http-error"
    return problem(
        request,
        status=exc.status_code,
        kind=kind,
        title=str(exc.detail).split(":")[0] or "Error",
        detail=exc.detail,
    )


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, DBAPIError) and bad_data(exc):
        # A value the declared bounds let through but its column cannot hold: the
        # client's to fix, and a gap in the declarations to close (hence the warning).
        log.warning("a value reached the database unchecked on %s: %s", request.url.path, exc)
        return problem(
            request,
            status=400,
            kind="bad-request",
            title="Bad request",
            detail="a value in the request does not fit the field it is stored in",
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        request,
        status=500,
        kind="internal-error",
        title="Internal error",
        detail="The server hit an unexpected error; it has been logged.",
    )


def _rate_limited(request: Request[Any, Any, Any], exc: RateLimited) -> Response[Any]:
    response = problem(
        request, status=429, kind="rate-limited", title="Too many requests", detail=str(exc)
    )
    response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return response


EXCEPTION_HANDLERS = {
    RateLimited: _rate_limited,
    MetadataError: _metadata_error,
    PackError: _pack_error,
    SampleDataError: _sample_data,
    RegistryError: _registry_error,
    StorageDrift: _drift,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _unexpected,
}
