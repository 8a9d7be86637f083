"""Carrying out one action of a run on one record.

Record writes go through the record service's Writer (``runtime.records``), as GraphQL
mutations do, as the platform: validation rules, state machines, field history and the
outbox all apply, so a workflow's change can
trigger further workflows (the outbox event carries the run, and the dispatcher stops
chains that loop or run too deep). The caller runs each database action in one
transaction together with the step's state, so it happens exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select

from metadata.automation import SECRET_ENV_PREFIX, Action, placeholders
from metadata.expressions.checker import BOOLEAN
from metadata.kinds.references import PolymorphicLookupKind
from metadata.text import Text
from runtime import outbound
from runtime.expressions.evaluate import Scope, evaluate
from runtime.model.shape import ApiShape
from runtime.records.errors import RecordError
from runtime.records.values import (
    ActionError,
    add_score,
    change_tags,
    compile_values,
    compute,
)
from runtime.security.identity import MemberInfo
from runtime.storage.conflicts import conflict_insert
from runtime.storage.ids import new_id
from runtime.storage.workflow_tables import CURSORS, NOTIFICATIONS
from runtime.workflows import approvals, related
from runtime.workflows.absences import away
from runtime.workflows.run_scope import RunScope

#: Actions whose effect is a database write, done in the step's own transaction.
DATABASE_ACTIONS = (
    "update",
    "create",
    "assign",
    "pool",
    "score",
    "tags",
    "notify",
    "approval",
    "update_parent",
    "update_children",
)


def render(template: Any, shape: ApiShape, obj: str | None, scope: Scope | None) -> Text:
    """Return a template with its ``{{ expression }}`` placeholders filled in."""
    text = Text.of(template)
    out = {}
    for language, body in text.to_json().items():
        result = body
        for expr in placeholders(body):
            typed = shape.typed(expr, obj, engine=True) if obj else None
            value = evaluate(typed, scope) if typed is not None and scope is not None else None
            result = result.replace("{{" + expr + "}}", _display(value), 1)
            result = result.replace("{{ " + expr + " }}", _display(value), 1)
        out[language] = result
    return Text.of(out)


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def perform(
    conn: Connection,
    rs: RunScope,
    position: int,
    action: Action,
    obj: str | None,
    record: dict[str, Any] | None,
) -> dict[str, Any]:
    """Carry out a database action; return what it did (kept in the step's detail)."""
    model, o = rs.model, action.options
    scope = rs.scope(conn, record or {})
    path: list[str | int] = ["actions", position, action.kind]
    try:
        if action.kind == "score" and o.get("on"):
            assert obj is not None and record is not None
            link = model.objects[obj].fields[o["on"]]
            # A polymorphic lookup names its object beside the id; a lookup has one.
            target = record.get(PolymorphicLookupKind.object_column(link.name)) or link.target
            if target is None or o["field"] not in model.objects[target].fields:
                return {"skipped": f"{o['on']} refers to no record with a {o['field']}"}
            # Locked: concurrent runs add to the same record, each to the value the one
            # before it wrote (a plain read here lost 130 of 200 points to races).
            linked = record.get(o["on"])
            other = rs.read(conn, target, linked, lock=True) if linked else None
            if other is None:
                return {"skipped": f"{o['on']} is empty or deleted"}
            f = model.objects[target].fields[o["field"]]
            amount = evaluate(rs.typed(o["add"], obj), scope)
            values = add_score(target, f, other.get(f.name), amount)
            rs.check(target, "update", [f.name])
            rs.writer(conn, target).update(other["id"], values, None, path, known=other)
            return {"scored": str(other["id"]), "object": target, "add": str(amount)}
        if action.kind in ("update", "score", "tags", "pool", "assign"):
            assert obj is not None and record is not None
            values = _record_change(conn, rs, position, action, obj, record, scope)
            if values:
                rs.check(obj, "update", _fields_of(rs, obj, values))
                rs.writer(conn, obj).update(record["id"], values, None, path, known=record)
            return {"set": sorted(values)} | (
                {"owner": str(values["owner"])} if values.get("owner") else {}
            )
        if action.kind == "update_parent":
            assert obj is not None and record is not None
            return related.update_parent(conn, rs, o, obj, record, scope, path)
        if action.kind == "update_children":
            assert obj is not None and record is not None
            return related.update_children(conn, rs, o, obj, record, path)
        if action.kind == "create":
            target = o["object"]
            typed = compile_values(rs.shape, obj or target, o["values"], engine=True)
            values = compute(model, target, typed, scope)
            if record is not None and record.get("owner") is not None:
                values.setdefault("owner", record["owner"])
            rs.check(target, "create", _fields_of(rs, target, o["values"]))
            new = rs.writer(conn, target).insert(values, path)
            return {"created": str(new), "object": target}
        if action.kind == "notify":
            message = render(o["message"], rs.shape, obj, scope if record else None)
            users = recipients(rs, o["to"], record)
            now = dt.datetime.now(dt.UTC)
            if users:
                conn.execute(
                    insert(rs.system(NOTIFICATIONS)),
                    [
                        {
                            "id": new_id(),
                            "user_id": m.user.id,
                            "object": obj,
                            "record_id": record["id"] if record else None,
                            "message": json.dumps(message.to_json(), ensure_ascii=False),
                            "run_id": rs.run.id,
                            "created_at": now,
                        }
                        for m in users
                    ],
                )
            return {"notified": [m.user.email for m in users]}
        if action.kind == "approval":
            assert obj is not None and record is not None
            approval = approvals.submit(
                conn,
                rs.model,
                rs.schema,
                rs.directory,
                o["process"],
                record["id"],
                rs.run.actor,
                comment=None,
                today=rs.today,
                now=rs.now,
                timezone=rs.timezone,
            )
            return {"approval": str(approval)}
    except RecordError as exc:
        raise ActionError(exc.message) from None
    except approvals.ApprovalError as exc:
        raise ActionError(str(exc)) from None
    raise ActionError(f"{action.kind} is not a database action")


def _fields_of(rs: RunScope, obj: str, columns: Mapping[str, Any]) -> list[str]:
    """The object's fields among ``columns`` (a currency's two columns are one field;
    the owner is a system field, which edit rights cover)."""
    fields = rs.model.objects[obj].fields
    return [c for c in columns if c in fields]


def _record_change(
    conn: Connection,
    rs: RunScope,
    position: int,
    action: Action,
    obj: str,
    record: dict[str, Any],
    scope: Scope,
) -> dict[str, Any]:
    model, o = rs.model, action.options
    definition = model.objects[obj]
    if action.kind == "update":
        return compute(model, obj, compile_values(rs.shape, obj, o, engine=True), scope)
    if action.kind == "score":
        amount = evaluate(rs.typed(o["add"], obj), scope)
        f = definition.fields[o["field"]]
        return add_score(obj, f, record.get(f.name), amount)
    if action.kind == "tags":
        f = definition.fields[o["field"]]
        return change_tags(
            obj, f, record.get(f.name), list(o.get("add") or ()), list(o.get("remove") or ())
        )
    if action.kind == "pool":
        if o.get("out"):
            return {o["field"]: None}
        return {o["field"]: o["into"], "owner": None}
    # assign
    user = choose_owner(conn, rs, position, o, obj, record, scope)
    return {"owner": user.user.id}


def choose_owner(
    conn: Connection,
    rs: RunScope,
    position: int,
    o: Mapping[str, Any],
    obj: str,
    record: dict[str, Any],
    scope: Scope,
) -> MemberInfo:
    """Return the member an assign action gives the record to."""
    strategy = o.get("strategy", "round_robin")
    if strategy == "actor":
        member = rs.directory.by_id(rs.run.actor)
        if member is None:
            raise ActionError("the run has no person who started it to assign to")
        return member
    if strategy == "user":
        return rs.directory.by_email(o["user"])
    group_name, spec = "all", o
    for j, rule in enumerate(o.get("rules") or ()):
        if evaluate(rs.typed(rule["when"], obj, expect=BOOLEAN), scope) is True:
            group_name, spec = f"rule{j}", rule
            break
    # Inactive members are never in a group; members away now are skipped.
    gone = away(conn, rs.schema, rs.now)
    candidates = [m for m in _group(rs, spec) if str(m.user.id) not in gone]
    if not candidates:
        raise ActionError(f"nobody to assign {obj} {record['id']} to in group {group_name}")
    if o.get("capacity") or strategy == "least_loaded":
        load = _open_counts(conn, rs, o, obj, [m.user.id for m in candidates])
        if o.get("capacity"):
            candidates = [m for m in candidates if load[str(m.user.id)] < int(o["capacity"])]
            if not candidates:
                raise ActionError(
                    f"everyone in group {group_name} already holds {o['capacity']} open {obj} "
                    "records (the assignment's capacity)"
                )
        if strategy == "least_loaded":
            # Fewest open records first; ties by e-mail, so the choice is repeatable.
            return min(candidates, key=lambda m: (load[str(m.user.id)], m.user.email))
    weights = {str(k).lower(): int(v) for k, v in (o.get("weights") or {}).items()}
    key = f"rr:{rs.run.workflow}:{position}:{group_name}"
    return _next_in_turn(conn, rs, key, candidates, weights)


def _group(rs: RunScope, spec: Mapping[str, Any]) -> list[MemberInfo]:
    if spec.get("role"):
        return rs.directory.in_role(spec["role"])
    return [m for m in (rs.directory.by_email(e) for e in spec.get("users") or ()) if m.user.active]


def _open_counts(
    conn: Connection, rs: RunScope, o: Mapping[str, Any], obj: str, users: list[Any]
) -> dict[str, int]:
    """How many live (and, with ``open``, open) records of ``obj`` each user owns: one
    grouped count."""
    table = rs.shape.table(obj, rs.schema, rs.dialect)
    query = (
        select(table.c.owner, func.count())
        .where(table.c.deleted_at.is_(None), table.c.owner.in_(users))
        .group_by(table.c.owner)
    )
    counts = {str(u): 0 for u in users}
    if not o.get("open"):
        for owner, n in conn.execute(query):
            counts[str(owner)] = n
        return counts
    # Open is an expression: judged per record (in SQL it would need the reader's scope).
    condition = rs.typed(o["open"], obj, expect=BOOLEAN)
    rows = conn.execute(
        select(table).where(table.c.deleted_at.is_(None), table.c.owner.in_(users))
    ).all()
    for row in rows:
        current = dict(row._mapping)
        if evaluate(condition, rs.scope(conn, current)) is True:
            counts[str(current["owner"])] += 1
    return counts


def _next_in_turn(
    conn: Connection,
    rs: RunScope,
    key: str,
    candidates: list[MemberInfo],
    weights: Mapping[str, int],
) -> MemberInfo:
    """Weighted round-robin: each candidate (by e-mail) takes ``weight`` turns in a row
    (default 1), then the next. The position (e-mail and turn) is kept in a cursor row
    written in the step's transaction, so a retried step does not skip anyone and
    concurrent runs (the row is locked on PostgreSQL) do not pick the same person."""
    cursors = rs.system(CURSORS)
    # The row exists before it is locked: two first assignments at once each found no
    # row to lock and both inserted one (a unique violation failed one run).
    conn.execute(conflict_insert(conn, cursors).values(key=key, value="").on_conflict_do_nothing())
    query = select(cursors.c.value).where(cursors.c.key == key).with_for_update()
    last = conn.execute(query).scalar() or None
    ordered = sorted(candidates, key=lambda m: m.user.email)
    email, _, turn_text = (last or "").partition("#")
    turn = int(turn_text) if turn_text.isdigit() else 1
    current = next((m for m in ordered if m.user.email == email), None)
    if current is not None and turn < weights.get(email, 1):
        chosen, turn = current, turn + 1
    else:
        chosen = next((m for m in ordered if last is not None and m.user.email > email), ordered[0])
        turn = 1
    value = chosen.user.email if turn == 1 else f"{chosen.user.email}#{turn}"
    conn.execute(cursors.update().where(cursors.c.key == key).values(value=value))
    return chosen


def recipients(rs: RunScope, to: Any, record: Mapping[str, Any] | None) -> list[MemberInfo]:
    """Return the members a notify or e-mail action is addressed to."""
    if to == "owner":
        owner = rs.directory.by_id(record.get("owner")) if record else None
        return [owner] if owner is not None else []
    if to == "actor":
        actor = rs.directory.by_id(rs.run.actor)
        return [actor] if actor is not None else []
    if "user" in to:
        return [rs.directory.by_email(to["user"])]
    if "role" in to:
        return rs.directory.in_role(to["role"])
    raise ActionError("an in-app notification goes to members: use owner, actor, user or role")


def email_addresses(rs: RunScope, to: Any, record: Mapping[str, Any] | None) -> list[str]:
    if isinstance(to, Mapping) and "field" in to:
        address = (record or {}).get(to["field"])
        return [address] if address else []
    return [m.user.email for m in recipients(rs, to, record)]


def webhook_secret(o: Mapping[str, Any]) -> str:
    secret = outbound.webhook_secret(o["secret_env"])
    if not secret:
        raise ActionError(
            f"the webhook's secret variable {o['secret_env']} is not set on the worker "
            f"(its name must start with {SECRET_ENV_PREFIX})"
        )
    return secret


def jsonable(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    out = {}
    for key, value in record.items():
        if isinstance(value, uuid.UUID | dt.date | dt.datetime | Decimal):
            out[key] = _display(value) if not isinstance(value, uuid.UUID) else str(value)
        else:
            out[key] = value
    return out
