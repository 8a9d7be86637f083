"""Which records a write may touch: existence, read and edit access, approval locks,
and references that forbid a delete.

Every check runs inside the write's transaction and locks what it reads on PostgreSQL,
so the answer still holds when the write happens.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, select

from metadata.kinds.references import PolymorphicLookupKind
from runtime.records.errors import RecordError
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import APPROVALS

if TYPE_CHECKING:
    from metadata.model import Model
    from runtime.model.shape import ObjectShape
    from runtime.security.principal import Principal
    from runtime.security.scope import SqlScope


def col(alias: str, name: str) -> str:
    return f'{alias}."{name}"'


class Access:
    """The access half of a Writer."""

    scope: SqlScope
    conn: Connection
    s: ObjectShape
    schema: str | None
    model: Model
    principal: Principal

    def check_references(
        self, rows: list[dict[str, Any]], path: list[str | int], index: bool, offset: int = 0
    ) -> None:
        """Refuse references to records that do not exist, are deleted or cannot be read
        (one statement per reference field for all ``rows``; ``offset``: the first row's
        position in the caller's input)."""
        for f in self.s.obj.fields.values():
            if f.type == "polymorphic_lookup":
                self._check_polymorphic(f, rows, path, index, offset)
                continue
            if not f.is_relation:
                continue
            ids = {r[f.name] for r in rows if r.get(f.name) is not None}
            if not ids:
                continue
            found = {i for i, _ in self.accessible(f.target or "", ids)}
            for i, r in enumerate(rows):
                if r.get(f.name) is not None and r[f.name] not in found:
                    key = next(k for k, v in self.s.id_fields.items() if v.name == f.name)
                    raise RecordError(
                        f"{key}: no live {f.target} has id {r[f.name]}",
                        "REFERENCE_NOT_FOUND",
                        field=[*path, offset + i, key] if index else [*path, key],
                        zh=f"{key}：不存在 id 为 {r[f.name]} 的有效{f.target}记录",
                    )

    def _check_polymorphic(
        self, f: Any, rows: list[dict[str, Any]], path: list[str | int], index: bool, offset: int
    ) -> None:
        """As for a lookup, per object: the database keeps no foreign key to check it."""
        objects = PolymorphicLookupKind.object_column(f.name)
        wanted: dict[str, set[uuid.UUID]] = {}
        for r in rows:
            if r.get(f.name) is not None:
                wanted.setdefault(r[objects], set()).add(r[f.name])
        found = {(obj, i) for obj, ids in wanted.items() for i, _ in self.accessible(obj, ids)}
        key = next(k for k, v in self.s.fields.items() if v.name == f.name)
        for i, r in enumerate(rows):
            if r.get(f.name) is not None and (r[objects], r[f.name]) not in found:
                raise RecordError(
                    f"{key}: no live {r[objects]} has id {r[f.name]}",
                    "REFERENCE_NOT_FOUND",
                    field=[*path, offset + i, key] if index else [*path, key],
                    zh=f"{key}：不存在 id 为 {r[f.name]} 的有效{r[objects]}记录",
                )

    def accessible(
        self, obj: str, ids: set[uuid.UUID], *, deleted: bool = False
    ) -> list[tuple[uuid.UUID, bool]]:
        """Return which of ``ids`` the principal can read, each with whether they can
        edit it; rows are locked until the transaction ends (PostgreSQL)."""
        scope, d = self.scope, self.scope.dialect
        saved = scope.params
        scope.params = {}
        try:
            alias = scope.alias()
            id_field = self.model.objects[obj].field("id")
            placeholders = ", ".join(scope.param(d.bind(id_field, i)) for i in ids)
            state = f"{col(alias, 'deleted_at')} IS {'NOT ' if deleted else ''}NULL"
            read = scope.rows(obj, alias)
            write = scope.rows(obj, alias, write=True)
            lock = d.for_update
            sql = (
                f"SELECT {col(alias, 'id')}, {write or '1 = 1'} FROM {d.table(obj)} {alias} "
                f"WHERE {col(alias, 'id')} IN ({placeholders}) AND {state}"
                f"{' AND ' + read if read else ''}{lock}"
            )
            rows = self.conn.exec_driver_sql(sql, scope.params).all()
        finally:
            scope.params = saved
        return [(uuid.UUID(str(r[0])), bool(r[1])) for r in rows]

    def check_edit(
        self, record_id: uuid.UUID, path: list[str | int], *, deleted: bool = False
    ) -> None:
        """Refuse a change to a record the principal cannot see (NOT_FOUND, so ids cannot
        be probed) or can see but not edit (FORBIDDEN)."""
        found = self.accessible(self.s.name, {record_id}, deleted=deleted)
        label, zh = self.s.obj.label.get("en"), self.s.obj.label.get("zh-CN")
        if not found:
            state = "deleted " if deleted else ""
            raise RecordError(
                f"no {state}{label} has id {record_id}",
                "NOT_FOUND",
                field=path,
                zh=f"不存在 id 为 {record_id} 的{'已删除' if deleted else ''}{zh}",
            )
        if not found[0][1]:
            raise RecordError(
                f"you can read {label} {record_id} but not change it",
                "FORBIDDEN",
                field=path,
                zh=f"你可以查看{zh} {record_id}，但不能修改",
            )

    def check_unlocked(self, record_id: uuid.UUID, path: list[str | int]) -> None:
        """Refuse changes to a record an approval has locked (tenant admins and workflow
        actions, which run as the platform, may still change it)."""
        if self.principal.tenant_admin or not self.model.automation.locking(self.s.name):
            return
        approvals = self._system(APPROVALS)
        locking = [
            name
            for name, p in self.model.automation.approvals.items()
            if p.object == self.s.name and p.lock
        ]
        pending = self.conn.execute(
            select(approvals.c.id).where(
                approvals.c.object == self.s.name,
                approvals.c.record_id == record_id,
                approvals.c.status == "pending",
                approvals.c.process.in_(locking),
            )
        ).first()
        if pending is not None:
            raise RecordError(
                f"{self.s.obj.label.get('en')} {record_id} is locked while its approval is "
                "pending; recall the approval to change it",
                "RECORD_LOCKED",
                field=list(path),
                extra={"approvalId": str(pending.id)},
                zh=f"{self.s.obj.label.get('zh-CN')} {record_id} 正在审批中，已锁定；"
                "撤回审批后才能修改",
            )

    def _system(self, name: str) -> Table:
        return system_table(self.schema, name)

    def check_delete(self, record_id: uuid.UUID, path: list[str | int]) -> None:
        """Refuse to delete a record that live records refer to with on_delete restrict.

        The refusal names a referring record only when the caller can read it: that some
        record refers to this one is the rule's answer, but which one is not theirs to
        learn otherwise (docs/security.md, "What an error may tell").
        """
        for obj in self.model.objects.values():
            for f in obj.fields.values():
                if f.target != self.s.name or f.option("on_delete") != "restrict":
                    continue
                child = self.scope.shape.table(obj.name, self.schema, self.conn.dialect.name)
                blocking = {
                    uuid.UUID(str(i))
                    for i in self.conn.execute(
                        select(child.c.id)
                        .where(child.c[f.name] == record_id, child.c.deleted_at.is_(None))
                        .limit(20)
                    ).scalars()
                }
                if not blocking:
                    continue
                # Name one the caller can read, if any of the first few is.
                readable = (
                    sorted(i for i, _ in self.accessible(obj.name, blocking))
                    if obj.name in self.scope.shape.objects
                    else []
                )
                example = f" (e.g. {readable[0]})" if readable else ""
                raise RecordError(
                    f"{self.s.obj.label.get('en')} {record_id} is still referred to by "
                    f"{obj.name}.{f.name}{example}; delete or reassign those first",
                    "DELETE_RESTRICTED",
                    field=path,
                    zh=f"{self.s.obj.label.get('zh-CN')} {record_id} 仍被 {obj.name}.{f.name} "
                    f"引用{example}；请先删除或改挂这些记录",
                )
