"""Inbound webhooks: another system starts a workflow by POSTing to its URL.

``POST /t/{tenant}/hooks/{workflow}`` with a JSON body ``{"id": "<record id>", "data":
{...}}``. The caller signs as Standard Webhooks do, like Tessera's own outbound webhooks:
``webhook-id`` (one per delivery: retries of one delivery start one run),
``webhook-timestamp`` (Unix seconds, within 5 minutes) and ``webhook-signature:
v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed with the secret in the server's
environment variable the trigger names.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import anyio
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, NotFoundException, ValidationException
from litestar.params import FromPath
from sqlalchemy import select

from metadata.registry.store import RegistryError
from runtime import outbound
from runtime.graphql.cache import ActiveApis
from runtime.storage.tables import build_table
from runtime.tenants import TenantService
from runtime.workflows.delivery import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from runtime.workflows.runs import create_run

log = logging.getLogger(__name__)

#: How far a signed timestamp may be from the server's clock (replay window).
_SKEW = 300


class HooksController(Controller):
    path = "/t/{tenant:str}/hooks"
    tags = ["workflows"]

    @post("/{workflow:str}", status_code=202, summary="Start a workflow")
    async def receive(
        self,
        request: Request[Any, Any, Any],
        apis: NamedDependency[ActiveApis],
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        workflow: FromPath[str],
    ) -> dict[str, Any]:
        body = await request.body()
        # The rest reads and writes the database: off the event loop.
        return await anyio.to_thread.run_sync(
            lambda: self._receive(request, apis, service, tenant, workflow, body)
        )

    def _receive(
        self,
        request: Request[Any, Any, Any],
        apis: ActiveApis,
        service: TenantService,
        tenant: str,
        workflow: str,
        body: bytes,
    ) -> dict[str, Any]:
        # One answer for a missing tenant, a missing or inactive workflow and one whose
        # secret is not configured: a caller without the secret learns nothing, not even
        # which tenants exist. (The server's log says which it was.)
        missing = NotFoundException(f"there is no active webhook workflow {workflow!r} here")
        try:
            api, _ = apis.get(tenant)
        except RegistryError:
            raise missing from None
        model = api.shape.complete
        w = model.automation.workflows.get(workflow)
        if w is None or w.trigger.kind != "webhook" or not w.active:
            raise missing
        secret = outbound.webhook_secret(w.trigger.secret_env)
        if not secret:
            log.warning(
                "webhook workflow %s of tenant %s is not ready: %s is not set (or is not a "
                "TESSERA_HOOK_SECRET_ variable)",
                workflow,
                tenant,
                w.trigger.secret_env,
            )
            raise missing
        delivery = request.headers.get(ID_HEADER, "")
        if not delivery or len(delivery) > 150:
            raise NotAuthorizedException(f"{ID_HEADER} is missing (or over 150 characters)")
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > _SKEW:
            raise NotAuthorizedException(f"{TIMESTAMP_HEADER} is missing or too far from now")
        if not verify(secret, delivery, stamp, body, request.headers.get(SIGNATURE_HEADER, "")):
            raise NotAuthorizedException(f"{SIGNATURE_HEADER} does not match the body")
        try:
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("not an object")
            record_id = uuid.UUID(str(payload["id"])) if payload.get("id") else None
        except (ValueError, KeyError) as exc:
            raise ValidationException(
                f'the body must be a JSON object {{"id": "<record id>", "data": {{...}}}}: {exc}'
            ) from None
        if record_id is None:
            raise ValidationException(f"body.id: the {w.object} the workflow runs on is needed")
        backend = service.backend
        schema = backend.schema(tenant)
        with backend.begin_tenant(tenant) as conn:
            assert w.object is not None
            table = build_table(model, w.object, schema=schema, dialect=conn.dialect.name)
            found = conn.execute(
                select(table.c.id).where(table.c.id == record_id, table.c.deleted_at.is_(None))
            ).first()
            if found is None:
                raise NotFoundException(f"body.id: no {w.object} has id {record_id}")
            run_id = create_run(
                conn,
                schema,
                workflow=w.name,
                cause="webhook",
                dedupe=f"w:{w.name}:{delivery}",
                obj=w.object,
                record_id=record_id,
                payload={"data": payload.get("data")},
            )
        notifier = request.app.state.get("notifier")
        if run_id is not None and notifier is not None:
            notifier.after_commit(tenant, 0, [run_id])
        return {"run": str(run_id) if run_id else None, "duplicate": run_id is None}
