"""Manual workflows' conditions and limits: judged for the person starting one.

A manual trigger may say which records it runs on (``condition``: "only leads in the
public pool") and what must hold for the person (``limit``: "a rep holds at most 50
leads", with COUNT). Both are judged when someone starts it, so a refusal is an
immediate error in their language, and again when the run executes: then under a lock
on that person's runs of the workflow, in the one transaction that also carries out its
record actions, so two claims at once can neither take one lead twice nor both slip
under a limit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select

from metadata.automation import Workflow
from metadata.expressions.checker import BOOLEAN
from runtime.expressions.evaluate import Scope, evaluate
from runtime.model.shape import ApiShape
from runtime.storage.conflicts import conflict_insert
from runtime.storage.records import read_record
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import CURSORS
from runtime.workflows.callers import caller_of


class Refused(Exception):
    """A manual workflow that may not run on this record, or for this person."""

    def __init__(self, code: str, messages: dict[str, str]) -> None:
        super().__init__(messages["en"])
        self.code = code
        self.messages = messages


def judge(
    conn: Connection,
    shape: ApiShape,
    schema: str | None,
    tenant: str,
    w: Workflow,
    record: dict[str, Any],
    user_id: Any,
    role_of: Callable[[], str | None],
    now: dt.datetime,
    today: dt.date,
) -> None:
    """Raise Refused unless ``record`` meets ``w``'s condition and its limit holds for
    ``user_id``."""
    t = w.trigger
    if not (t.condition or t.limit):
        return
    assert w.object is not None
    scope = Scope(
        record=record,
        today=today,
        now=now,
        calendar=shape.complete.automation.calendar,
        load=lambda o, i: read_record(conn, shape.table(o, schema, conn.dialect.name), i),
        caller=caller_of(conn, shape, schema, tenant, user_id, role_of, today),
    )
    label = w.label.to_json()
    en, zh = label.get("en", w.name), label.get("zh-CN", label.get("en", w.name))
    for key, text in (("condition", t.condition), ("limit", t.limit)):
        if not text:
            continue
        typed = shape.typed(text, w.object, expect=BOOLEAN, engine=True)
        if evaluate(typed, scope) is True:
            continue
        given = t.messages.get(key)
        if given is not None:
            messages = given.to_json()
            messages.setdefault("zh-CN", messages.get("en", ""))
        elif key == "condition":
            messages = {
                "en": f"{en} cannot be run on this {w.object}: it needs {text}",
                "zh-CN": f"此记录不满足「{zh}」的条件：{text}",
            }
        else:
            messages = {
                "en": f"You have reached the limit of {en}: {text}",
                "zh-CN": f"已达到「{zh}」的上限：{text}",
            }
        raise Refused("CONDITION_NOT_MET" if key == "condition" else "LIMIT_REACHED", messages)


def hold(conn: Connection, schema: str | None, w: Workflow, user_id: Any) -> None:
    """Lock ``user_id``'s runs of ``w`` until the transaction ends (a row per person and
    workflow; SQLite's single writer already serialises)."""
    cursors = system_table(schema, CURSORS)
    key = f"manual:{w.name}:{user_id}"
    conn.execute(conflict_insert(conn, cursors).values(key=key, value="").on_conflict_do_nothing())
    conn.execute(select(cursors.c.key).where(cursors.c.key == key).with_for_update())
