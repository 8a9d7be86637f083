"""What every action of one run sees: the tenant's model, the run, its clock, the person
who caused it, and the writer its record changes go through."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from metadata.expressions.checker import Typed
from metadata.model import Model
from runtime.expressions.evaluate import Caller, Scope
from runtime.model.shape import ApiShape
from runtime.records.values import ActionError
from runtime.records.writer import Writer
from runtime.security.identity import MemberInfo
from runtime.security.principal import Principal
from runtime.security.scope import SqlScope
from runtime.sql.dialect import dialect_for
from runtime.storage.records import read_record
from runtime.storage.tables import system_table
from runtime.workflows.callers import caller_of
from runtime.workflows.directory import Directory


@dataclass
class RunScope:
    """What every action of one run sees."""

    tenant: str
    shape: ApiShape
    """The tenant's model as the platform sees it (every object and field)."""
    schema: str | None
    dialect: str
    timezone: str
    run: Any
    """The run's row."""
    members: Callable[[], list[MemberInfo]]
    """Reads the tenant's members (a control-plane query): only assignment, recipients and
    approvals need them, so most runs never call it."""
    payload: dict[str, Any] = field(default_factory=dict)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    """The engine's clock when the run started (tests set it)."""
    principal_of: Callable[[Any], Principal | None] | None = None
    """Resolves a member to their principal, for workflows that run as the actor."""
    run_as: str = "system"
    batch: int = 500
    """The most records one step may change (update_children)."""
    _principal: Principal | None = None

    @functools.cached_property
    def directory(self) -> Directory:
        return Directory(self.members())

    @property
    def model(self) -> Model:
        return self.shape.complete

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(ZoneInfo(self.timezone)).date()

    def check(self, obj: str, action: str, fields: Iterable[str]) -> None:
        """Refuse what the person a run acts as (run_as: actor) may not do: the action
        on the object, or a field they cannot edit. (The Writer checks which records
        they can edit; operations and fields are otherwise what their GraphQL schema
        offers.)"""
        if self.run_as != "actor" or self.run.actor is None:
            return
        access = self.principal().grants.on(obj)
        label = self.model.objects[obj].label.get("en")
        if access is None or not access.can(action):
            raise ActionError(
                f"{self.run.workflow} runs as the person who caused it, who may not "
                f"{action} {label} records ({obj})"
            )
        fixed = sorted(f for f in fields if not access.editable(f))
        if fixed:
            raise ActionError(
                f"{self.run.workflow} runs as the person who caused it, who cannot edit "
                f"{obj}.{', '.join(fixed)}"
            )

    def principal(self) -> Principal:
        """Who record writes go through: the platform, or (run_as: actor) the person who
        caused the run, with their permissions; a run nobody caused acts as the
        platform."""
        if self._principal is not None:
            return self._principal
        self._principal = self._resolve()
        return self._principal

    def _resolve(self) -> Principal:
        if self.run_as == "actor" and self.run.actor is not None:
            found = self.principal_of(self.run.actor) if self.principal_of else None
            if found is None:
                raise ActionError(
                    f"{self.run.workflow} runs as the person who started it, who is no "
                    "longer an active member"
                )
            return found
        return Principal.system(self.tenant, actor=f"workflow:{self.run.workflow}")

    def writer(self, conn: Connection, obj: str) -> Writer:
        scope = SqlScope(
            shape=self.shape,
            dialect=dialect_for(self.dialect, self.schema),
            principal=self.principal(),
            today=self.today,
            request_id=getattr(self.run, "request_id", None),
        )
        s = self.shape.objects[obj]
        return Writer(
            scope, conn, s, self.schema, self.timezone, origin=(self.run.id, self.run.depth + 1)
        )

    def read(
        self, conn: Connection, obj: str, record_id: Any, *, lock: bool = False
    ) -> dict[str, Any] | None:
        return read_record(
            conn, self.shape.table(obj, self.schema, self.dialect), record_id, lock=lock
        )

    def scope(self, conn: Connection, record: Mapping[str, Any]) -> Scope:
        return Scope(
            record=record,
            today=self.today,
            load=lambda obj, i: self.read(conn, obj, i),
            now=self.now,
            calendar=self.model.automation.calendar,
            caller=self.caller(conn),
        )

    def caller(self, conn: Connection) -> Caller | None:
        """The person who caused the run, as expressions see them."""

        def role_of() -> str | None:
            member = self.directory.by_id(self.run.actor)
            return member.role if member else None

        return caller_of(
            conn, self.shape, self.schema, self.tenant, self.run.actor, role_of, self.today
        )

    def typed(self, text: str, obj: str, *, expect: str | None = None) -> Typed:
        return self.shape.typed(text, obj, expect=expect, engine=True)

    def system(self, name: str) -> Any:
        return system_table(self.schema, name)
