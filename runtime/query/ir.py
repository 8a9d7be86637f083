"""The query IR: what a read asks for, as plain values, independent of GraphQL.

A read is one of four queries (a record by id, a page of a list, aggregates, a search
across objects). Each holds a selection, conditions, an order and a page, named by the
API's names (``ObjectShape.fields``, ``id_fields`` and ``relations``). GraphQL documents
are translated into these (``runtime.graphql.compiler.translate``); reports, list views
and exports build them directly, or from the JSON filter form (``runtime.query.build``).

``runtime.query.statements`` turns a query into one SQL statement for one reader: the
reader's shape is the field mask (a name the reader cannot see does not exist), and the
reader's row predicate is applied wherever a table is read. The IR carries no SQL.

``at`` fields are the path of the input a part came from, so a refusal at SQL time (a
value that does not fit its column, a foreign cursor) names the place it was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Path = tuple[str | int, ...]


# Conditions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    """One operator on a field (``eq``, ``in``, ``startsWith``, ``isNull``…), or on a
    part of a composite one (``amount``/``currencyCode`` of a currency, an address part,
    ``name``/``contentType`` of an attachment, ``id``/``object`` of a polymorphic lookup)."""

    field: str
    op: str
    value: Any
    part: str | None = None
    at: Path = ()


@dataclass(frozen=True)
class Within:
    """A geolocation within ``km`` kilometres of a point."""

    field: str
    latitude: float
    longitude: float
    km: float
    at: Path = ()


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


@dataclass(frozen=True)
class Related:
    """A condition on related records: the one a to-one relation refers to (``one``),
    or some, none or every record of a to-many relation."""

    relation: str
    quantifier: Literal["one", "some", "none", "every"]
    where: Condition


@dataclass(frozen=True)
class RefersTo:
    """A polymorphic lookup refers to a record of ``object`` that meets ``where``."""

    field: str
    object: str
    where: Condition


@dataclass(frozen=True)
class Matches:
    """Rows for which a checked boolean expression is true: a list view's filter, checked
    against the reader's own model (``runtime.query.views``), so it names only fields
    and records the reader can see."""

    expression: Any
    """A ``metadata.expressions.checker.Typed`` of type boolean."""


Condition = Compare | Within | AllOf | AnyOf | Not | Related | RefersTo | Matches

#: The condition every row meets.
EVERYTHING = AllOf(())


# Order --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sort:
    """Sort by a field, reached through ``path``'s to-one relations (``("owner",
    "name")``). Every order ends with the record id, added by the compiler."""

    path: tuple[str, ...]
    descending: bool = False
    nulls_last: bool = True


# Selection ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A constant in the output (GraphQL's ``__typename``)."""

    value: str


@dataclass(frozen=True)
class Value:
    """A field's value: a scalar column, a formula, a roll-up, or a reference's id."""

    field: str


@dataclass(frozen=True)
class Parts:
    """A composite field (currency, address, geolocation, attachment) as an object of
    the named parts; null when the field is empty."""

    field: str
    parts: tuple[tuple[str, str | Text], ...]


@dataclass(frozen=True)
class One:
    """The record a to-one relation refers to (null if gone or unreadable)."""

    relation: str
    select: Select


@dataclass(frozen=True)
class Many:
    """The records of a to-many or many-to-many relation, filtered, ordered and bounded."""

    relation: str
    select: Select
    where: Condition = EVERYTHING
    order: tuple[Sort, ...] = ()
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class OneOf:
    """The record a polymorphic lookup refers to, selected per target object."""

    field: str
    branches: tuple[Select, ...]


@dataclass(frozen=True)
class History:
    """Changes to the record's tracked ``fields`` (storage names), newest first; each
    part is ``field``, ``oldValue``, ``newValue``, ``changedBy`` or ``changedAt``."""

    fields: tuple[str, ...]
    limit: int
    parts: tuple[tuple[str, str | Text], ...]


@dataclass(frozen=True)
class Label:
    """A picklist value's label in one language (``stageLabel``): value → label pairs."""

    field: str
    labels: tuple[tuple[str, str], ...]


Item = Text | Value | Parts | One | Many | OneOf | History | Label


@dataclass(frozen=True)
class Select:
    """The JSON object built for a record of ``object``: output key → item, in order."""

    object: str
    items: tuple[tuple[str, Item], ...]


# Queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GetRecord:
    object: str
    id: Any
    select: Select
    include_deleted: bool = False
    at: Path = ()


@dataclass(frozen=True)
class Page:
    """``size`` rows after (or, ``backward``, before) ``cursor``."""

    size: int
    backward: bool = False
    cursor: str | None = None
    at: Path = ()


@dataclass(frozen=True)
class Count:
    """How many rows meet the conditions (``totalCount``; ``count`` of a group)."""


@dataclass(frozen=True)
class Nodes:
    """The page's records, each as the list's ``select``."""


@dataclass(frozen=True)
class Edges:
    """The page's rows as edges: each part is ``cursor``, ``node`` or a Text."""

    parts: tuple[tuple[str, str | Text], ...]


@dataclass(frozen=True)
class PageInfo:
    """Parts: ``hasNextPage``, ``hasPreviousPage``, ``startCursor``, ``endCursor``."""

    parts: tuple[tuple[str, str | Text], ...]


@dataclass(frozen=True)
class ListRecords:
    object: str
    page: Page
    select: Select | None = None
    output: tuple[tuple[str, Count | Nodes | Edges | PageInfo | Text], ...] = (("nodes", Nodes()),)
    where: Condition = EVERYTHING
    search: str | None = None
    order: tuple[Sort, ...] = ()
    include_deleted: bool = False


@dataclass(frozen=True)
class Group:
    """Group by a field; dates and times by a ``granularity`` (day, week, month…)."""

    field: str
    granularity: str | None = None
    at: Path = ()


@dataclass(frozen=True)
class GroupKey:
    """A group's key: parts name grouped fields (a field not grouped by is null)."""

    parts: tuple[tuple[str, str | Text], ...]


@dataclass(frozen=True)
class Measure:
    """``function`` (sum, avg, min, max) of each named field."""

    function: Literal["sum", "avg", "min", "max"]
    parts: tuple[tuple[str, str | Text], ...]


@dataclass(frozen=True)
class AggregateRecords:
    object: str
    limit: int
    output: tuple[tuple[str, Count | GroupKey | Measure | Text], ...]
    groups: tuple[Group, ...] = ()
    where: Condition = EVERYTHING
    search: str | None = None
    include_deleted: bool = False


@dataclass(frozen=True)
class HitRecord:
    """A hit's record, selected per object searched (one Select each)."""

    selects: tuple[Select, ...]


@dataclass(frozen=True)
class SearchRecords:
    """Records of the searchable ``objects`` (all of them when empty) whose search
    fields hold every word of ``text``: best title match first, then newest."""

    text: str
    limit: int
    output: tuple[tuple[str, str | Text | HitRecord], ...]
    """Parts: ``objectName``, ``id``, ``title`` or the record."""
    objects: tuple[str, ...] = ()


Query = GetRecord | ListRecords | AggregateRecords | SearchRecords
