"""The tenant table people's saved list views live in.

A saved view is a person's own filter, columns, sort and grouping of one object's list,
kept for them alone (``private``), for everyone (``public``) or for one role and the
roles above it (``role``). Its definition is JSON in the data API's own forms (the
``filter`` and ``orderBy`` arguments), so it is checked against each reader's schema
when they use it, never trusted as the person who saved it saw it.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, String, Table, Text

from runtime.storage.types import GUID, UTCDateTime

SAVED_VIEWS = "_tessera_saved_views"
#: Who sees a saved view.
VISIBILITIES = ("private", "public", "role")


def add_view_tables(metadata: MetaData) -> None:
    views = Table(
        SAVED_VIEWS,
        metadata,
        Column("id", GUID, primary_key=True),
        Column("object", String(63), nullable=False),
        Column("name", String(100), nullable=False),
        Column("owner_id", GUID, nullable=False),
        Column("visibility", String(16), nullable=False),
        Column("role", String(63)),
        Column("definition", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
    )
    Index("ix__tessera_saved_views__object", views.c.object, views.c.visibility)
