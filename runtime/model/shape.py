"""The API's view of a model: GraphQL names, relations and what each field can do.

Schema building and the SQL compiler both read this, so a name or relation is decided in
one place. Everything here is derived from metadata alone and built once per content hash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from metadata.expressions import ExpressionError, Typed, check
from metadata.expressions.rollups import Rollup, RollupProblem, check_rollup
from metadata.identifiers import camel_case, pascal_case
from metadata.kinds import types_where
from metadata.model import Field, Model, ObjectDef
from metadata.security import OBJECT_ACTIONS
from runtime.storage.tables import build_table

if TYPE_CHECKING:
    from sqlalchemy import Table


class ObjectAccess(Protocol):
    """What a reader may do on one object (``runtime.security.grants`` makes these)."""

    read_only: frozenset[str]
    allow: frozenset[str]


class Access(Protocol):
    """A reader's grants, as far as the shape needs them: the model sits below security,
    so it names what it reads instead of importing the grants type."""

    def on(self, obj: str) -> ObjectAccess | None: ...


#: Entries a shape remembers (tables per schema, typed expressions) before starting over.
_MEMO_SIZE = 4096

#: Field types whose values can be summed and averaged.
NUMERIC_TYPES = types_where(lambda k: k.aggregatable)
#: Field types with an order: min/max, range filters and date grouping.
ORDERED_TYPES = types_where(lambda k: k.ordered)
#: Field types a groupBy can use.
GROUPABLE_TYPES = types_where(lambda k: k.groupable)
#: Field types that cannot be sorted or compared (large or structured values).
UNSORTABLE_TYPES = types_where(lambda k: not k.sortable)


@dataclass(frozen=True)
class Relation:
    """A relation field of the API: to-one, reverse to-many, or many-to-many."""

    name: str
    """GraphQL field name on the source object."""
    kind: Literal["to_one", "to_many", "many_to_many"]
    source: str
    target: str
    via: str
    """to_one: the reference field on source; to_many: the reference field on target that
    points at source; many_to_many: the junction's reference field that points at source."""
    junction: str | None = None
    far: str | None = None
    """many_to_many: the junction's reference field that points at target."""


@dataclass(frozen=True)
class ObjectShape:
    """One object as the API presents it."""

    obj: ObjectDef
    type_name: str
    single: str
    """Root field for one record (``account``)."""
    plural: str
    """Root field for the connection (``accounts``)."""
    fields: Mapping[str, Field]
    """GraphQL field name → field, system fields included."""
    id_fields: Mapping[str, Field]
    """``accountId`` → the reference field ``account``."""
    relations: Mapping[str, Relation]
    allow: frozenset[str] = frozenset(OBJECT_ACTIONS)
    """Actions the schema offers (the reader's object permissions)."""
    read_only: frozenset[str] = frozenset()
    """Field names the reader sees but may not edit."""
    computed: Mapping[str, Typed | Rollup] = field(default_factory=dict)
    """Formula and roll-up fields by name, checked: compiled into the SQL wherever a
    stored field would be read as a column."""

    @property
    def name(self) -> str:
        return self.obj.name

    @property
    def plural_type(self) -> str:
        """The plural in type case (``Opportunities``), for bulk mutation names."""
        return self.plural[:1].upper() + self.plural[1:]

    def unique_fields(self) -> list[Field]:
        """Return the fields upserts can match on."""
        return [f for f in self.obj.fields.values() if f.unique]


@dataclass(frozen=True)
class ApiShape:
    """Every object of a model, as the API presents it."""

    model: Model
    """The model as the reader sees it (unreadable objects and fields removed)."""
    objects: Mapping[str, ObjectShape]
    by_type: Mapping[str, ObjectShape] = field(default_factory=dict)
    full: Model | None = None
    """The whole model, for what the platform checks on the reader's behalf (sharing
    criteria, delete restrictions); ``model`` when nothing is hidden."""

    _memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)
    """Tables and typed expressions derived from the model (see ``table``)."""

    @property
    def complete(self) -> Model:
        return self.full if self.full is not None else self.model

    def table(self, obj: str, schema: str | None, dialect: str) -> Table:
        """Return ``obj``'s table (as the complete model defines it) in ``schema``.

        Memoized, as ``typed`` is: a shape never changes and serves every request and
        workflow step of the tenants with its metadata, while building a table costs about
        a millisecond, which a write paid several times over before. Races between threads
        only build the same value twice.
        """
        return self._remember(
            ("table", obj, schema, dialect),
            lambda: build_table(self.complete, obj, schema=schema, dialect=dialect),
        )

    def typed(
        self,
        text: str,
        obj: str,
        *,
        expect: str | None = None,
        prior: bool = False,
        engine: bool = False,
    ) -> Typed:
        """Return expression ``text`` over ``obj`` parsed and typed against the complete
        model (metadata validation already accepted it; this is only its typed form)."""
        return self._remember(
            ("typed", text, obj, expect, prior, engine),
            lambda: check(text, self.complete, obj, expect=expect, prior=prior, engine=engine),
        )

    def _remember(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        hit = self._memo.get(key)
        if hit is None:
            if len(self._memo) >= _MEMO_SIZE:  # many schemas (PostgreSQL tenants) share a shape
                self._memo.clear()
            hit = self._memo[key] = make()
        return hit

    def searchable(self) -> list[ObjectShape]:
        """Return the objects that opted in to full-text search, by name."""
        return [s for s in self.objects.values() if s.obj.search]


def build_shape(
    model: Model, grants: Access | None = None, *, full: Model | None = None
) -> ApiShape:
    """Return the API shape of a (validated) model, as a reader with ``grants`` sees it.

    Pass the model ``visible_model`` returned for those grants: objects and fields it
    left out are simply absent here, and relations to absent objects are dropped.
    """
    relations: dict[str, dict[str, Relation]] = {name: {} for name in model.objects}
    for obj in model.objects.values():
        for f in obj.fields.values():
            if not f.is_relation or f.target not in model.objects:
                continue
            relations[obj.name][camel_case(f.name)] = Relation(
                camel_case(f.name), "to_one", obj.name, f.target, f.name
            )
            related = f.option("related_name") or obj.plural_name
            relations[f.target][camel_case(related)] = Relation(
                camel_case(related), "to_many", f.target, obj.name, f.name
            )
        ends = [obj.fields[n].target for n in obj.junction if n in obj.fields]
        if len(obj.junction) == 2 and len(ends) == 2 and all(e in model.objects for e in ends):
            (near_a, name_a), (near_b, name_b) = obj.junction.items()
            for near, far, name in ((near_a, near_b, name_a), (near_b, near_a, name_b)):
                source = obj.fields[near].target
                target = obj.fields[far].target
                assert source is not None and target is not None
                relations[source][camel_case(name)] = Relation(
                    camel_case(name), "many_to_many", source, target, near, obj.name, far
                )
    shapes = {}
    for obj in model.objects.values():
        computed = _computed(model, obj)
        fields = {
            camel_case(f.name): _presented(f, computed[f.name]) if f.computed else f
            for f in obj.all_fields()
            if not f.is_relation and (not f.computed or f.name in computed)
        }
        id_fields = {camel_case(f.name) + "Id": f for f in obj.fields.values() if f.is_relation}
        access = grants.on(obj.name) if grants is not None else None
        read_only = (access.read_only if access else frozenset()) | set(computed)
        extra: dict[str, Any] = {"read_only": frozenset(read_only), "computed": computed}
        if access:
            extra["allow"] = access.allow
        shapes[obj.name] = ObjectShape(
            obj=obj,
            type_name=pascal_case(obj.name),
            single=camel_case(obj.name),
            plural=camel_case(obj.plural_name),
            fields=fields,
            id_fields=id_fields,
            relations=relations[obj.name],
            **extra,
        )
    return ApiShape(
        model=model,
        objects=shapes,
        by_type={s.type_name: s for s in shapes.values()},
        full=full,
    )


_PRESENTED = {
    "number": "decimal",
    "text": "text",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}


def _presented(f: Field, computed: Typed | Rollup) -> Field:
    """Return the stored-field twin a computed field is presented as: its result type, so
    the schema gives it the output, filter, order and aggregate types of that type."""
    plain = {"required": False, "unique": False, "default": None, "values": ()}
    if isinstance(computed, Rollup):
        if computed.field is None:
            return replace(f, type="integer", options=MappingProxyType({}), **plain)
        twin = replace(computed.field, name=f.name, label=f.label, system=False, **plain)
        # A sum of amounts in mixed currencies has no one currency: it is a plain number.
        return replace(twin, type="decimal") if twin.type == "currency" else twin
    options: dict[str, Any] = {"max_length": 4000}
    if f.option("returns") == "number":
        options = {"precision": 38, "scale": f.option("scale")}
    return replace(f, type=_PRESENTED[f.option("returns")], options=MappingProxyType(options))


def _computed(model: Model, obj: ObjectDef) -> dict[str, Typed | Rollup]:
    """Return the object's formulas and roll-ups that ``model`` (as the reader sees it)
    can compute.

    One that names a field or object the reader cannot see does not check against their
    model, and is left out, so no hidden value leaks through a computation.
    """
    out: dict[str, Typed | Rollup] = {}
    for f in obj.fields.values():
        try:
            if f.type == "formula":
                out[f.name] = check(f.option("expression"), model, obj.name)
            elif f.type == "rollup":
                out[f.name] = check_rollup(model, obj.name, f)
        except (ExpressionError, RollupProblem):
            continue
    return out
