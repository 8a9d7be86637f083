"""The in-memory metadata model: immutable objects, fields and indexes.

A Model is built only from a validated document, so code downstream (diff, storage, API)
can trust it. ``to_document`` gives the canonical form: every shorthand expanded and every
default filled in, so two documents that mean the same thing produce the same snapshot
hash. Rename hints (``renamed_from``) steer one diff and are not part of that form.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from metadata.automation import EMPTY_AUTOMATION, Automation, build_automation
from metadata.field_types import COMMON_OPTIONS, TYPES
from metadata.identifiers import default_plural, humanize
from metadata.security import EMPTY_SECURITY, Security, build_security
from metadata.text import Text
from metadata.views import EMPTY_VIEWS, Views, build_views


@dataclass(frozen=True)
class PicklistValue:
    """One allowed value of a picklist, with its translatable label."""

    value: str
    label: Text
    color: str | None = None
    inactive: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the canonical form."""
        out: dict[str, Any] = {"value": self.value, "label": self.label.to_json()}
        if self.color:
            out["color"] = self.color
        if self.inactive:
            out["inactive"] = True
        return out


@dataclass(frozen=True)
class Field:
    """A field of an object. Type-specific options live in ``options``."""

    name: str
    type: str
    label: Text
    required: bool = False
    unique: bool = False
    default: Any = None
    description: Text | None = None
    help_text: Text | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    values: tuple[PicklistValue, ...] = ()
    renamed_from: str | None = field(default=None, compare=False)
    system: bool = False

    def option(self, name: str) -> Any:
        """Return a type-specific option (``max_length``, ``to``, ``precision`` ...)."""
        return self.options.get(name)

    @property
    def target(self) -> str | None:
        """Return the referred object of a lookup or master_detail field."""
        return self.options.get("to") if self.is_relation else None

    @property
    def targets(self) -> tuple[str, ...]:
        """Return the objects a polymorphic_lookup may refer to (none for other types)."""
        return tuple(self.options.get("to") or ()) if self.type == "polymorphic_lookup" else ()

    @property
    def is_relation(self) -> bool:
        return TYPES[self.type].is_relation

    @property
    def computed(self) -> bool:
        """Whether the field is computed when read (formula, roll-up) rather than stored."""
        return TYPES[self.type].computed

    def value_codes(self) -> tuple[str, ...]:
        """Return the picklist value codes in order."""
        return tuple(v.value for v in self.values)

    def to_json(self) -> dict[str, Any]:
        """Return the canonical form (without the rename hint)."""
        out: dict[str, Any] = {"type": self.type, "label": self.label.to_json()}
        if self.description:
            out["description"] = self.description.to_json()
        if self.help_text:
            out["help_text"] = self.help_text.to_json()
        out["required"] = self.required
        out["unique"] = self.unique
        for name in TYPES[self.type].options:
            if name == "values":
                out["values"] = [v.to_json() for v in self.values]
            elif self.options.get(name) is not None:
                out[name] = self.options[name]
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True)
class Index:
    """An index over fields of one object; ``unique`` ones ignore soft-deleted records."""

    fields: tuple[str, ...]
    unique: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the canonical form."""
        return {"fields": list(self.fields), "unique": self.unique}


@dataclass(frozen=True)
class ValidationRule:
    """Rejects a write when ``condition`` (an expression, see docs/expressions.md) is true."""

    name: str
    condition: str
    message: Text
    field: str | None = None
    """The field the message is about; the error points at its input."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"condition": self.condition, "message": self.message.to_json()}
        if self.field:
            out["field"] = self.field
        return out


@dataclass(frozen=True)
class Transition:
    """Records may move a picklist field from any of ``sources`` to any of ``targets``;
    when ``roles`` is given, only members of those roles (or roles above them) may."""

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    roles: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"from": list(self.sources), "to": list(self.targets)}
        if self.roles:
            out["roles"] = list(self.roles)
        return out


@dataclass(frozen=True)
class StateMachine:
    """The allowed changes of one picklist field (a sales stage, a lead status)."""

    field: str
    allow: tuple[Transition, ...]
    initial: tuple[str, ...] = ()
    """Values a new record may start in; empty: any."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.initial:
            out["initial"] = list(self.initial)
        out["allow"] = [t.to_json() for t in self.allow]
        return out


@dataclass(frozen=True)
class ObjectDef:
    """A business object: its labels, user fields and indexes."""

    name: str
    label: Text
    plural: Text
    plural_name: str
    fields: Mapping[str, Field]
    indexes: tuple[Index, ...] = ()
    description: Text | None = None
    renamed_from: str | None = field(default=None, compare=False)
    search: tuple[str, ...] = ()
    """Text fields full-text search matches; empty: the object is not searchable."""
    junction: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """For a junction object: reference field → many-to-many relation name on its target."""
    history: tuple[str, ...] = ()
    """Fields whose changes are kept in the field history (old value, new value, who, when)."""
    validation_rules: Mapping[str, ValidationRule] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Checked on every create and update, in declared order."""
    transitions: Mapping[str, StateMachine] = field(default_factory=lambda: MappingProxyType({}))
    """State machines by picklist field name."""

    def field(self, name: str) -> Field:
        """Return a user or system field by name; raise KeyError if there is none."""
        if name in self.fields:
            return self.fields[name]
        return SYSTEM_FIELDS[name]

    def all_fields(self) -> Iterator[Field]:
        """Yield the system fields, then the user fields in declaration order."""
        yield from SYSTEM_FIELDS.values()
        yield from self.fields.values()

    def with_fields(self, fields: Mapping[str, Field]) -> ObjectDef:
        """Return a copy with ``fields`` replacing the user fields."""
        return replace(self, fields=MappingProxyType(dict(fields)))

    def to_json(self) -> dict[str, Any]:
        """Return the canonical form (without the rename hint)."""
        out: dict[str, Any] = {"label": self.label.to_json(), "plural": self.plural.to_json()}
        if self.description:
            out["description"] = self.description.to_json()
        out["plural_name"] = self.plural_name
        out["fields"] = {name: f.to_json() for name, f in self.fields.items()}
        # Index order means nothing either.
        out["indexes"] = [
            i.to_json() for i in sorted(self.indexes, key=lambda i: (i.fields, i.unique))
        ]
        if self.search:
            out["search"] = list(self.search)
        if self.junction:
            out["junction"] = dict(sorted(self.junction.items()))
        if self.history:
            out["history"] = list(self.history)
        if self.validation_rules:
            out["validation_rules"] = {n: r.to_json() for n, r in self.validation_rules.items()}
        if self.transitions:
            out["transitions"] = {n: m.to_json() for n, m in self.transitions.items()}
        return out


@dataclass(frozen=True)
class Model:
    """A tenant's complete metadata: its objects by name."""

    objects: Mapping[str, ObjectDef] = field(default_factory=lambda: MappingProxyType({}))
    security: Security = EMPTY_SECURITY
    """Roles, permission sets and sharing rules."""
    automation: Automation = EMPTY_AUTOMATION
    """Workflows and approval processes."""
    views: Views = EMPTY_VIEWS
    """Layouts and list views."""

    def with_objects(self, objects: Mapping[str, ObjectDef]) -> Model:
        """Return a copy with ``objects`` replacing all objects."""
        return replace(self, objects=MappingProxyType(dict(objects)))

    def with_security(self, security: Security) -> Model:
        """Return a copy with ``security`` replacing the permission metadata."""
        return replace(self, security=security)

    def with_automation(self, automation: Automation) -> Model:
        """Return a copy with ``automation`` replacing the workflows and approvals."""
        return replace(self, automation=automation)

    def with_views(self, views: Views) -> Model:
        """Return a copy with ``views`` replacing the layouts and list views."""
        return replace(self, views=views)

    def to_document(self) -> dict[str, Any]:
        """Return the canonical document: the form snapshots are hashed and stored in.

        Objects are sorted by name: their order means nothing, so declaring them in another
        order must not make a new version. (Field order does mean something; it is kept.)
        """
        # Permission sections appear only when present, so documents without any keep the
        # content hash they had before permissions existed.
        return {
            "objects": {name: self.objects[name].to_json() for name in sorted(self.objects)},
            **self.security.to_document(),
            **self.automation.to_document(),
            **self.views.to_document(),
        }


EMPTY_MODEL = Model()


def _system(name: str, type_: str, en: str, zh: str, required: bool = False) -> Field:
    return Field(
        name=name,
        type=type_,
        label=Text.of({"en": en, "zh-CN": zh}),
        required=required,
        system=True,
        default=1 if name == "row_version" else None,
    )


#: Fields every object has. Storage and the API treat them like user fields, except that
#: only the platform writes them.
SYSTEM_FIELDS: Mapping[str, Field] = MappingProxyType(
    {
        f.name: f
        for f in (
            _system("id", "uuid", "ID", "ID", required=True),
            _system("created_at", "datetime", "Created at", "创建时间", required=True),
            _system("updated_at", "datetime", "Updated at", "更新时间", required=True),
            _system("created_by", "uuid", "Created by", "创建人"),
            _system("updated_by", "uuid", "Updated by", "最后修改人"),
            _system("owner", "uuid", "Owner", "负责人"),
            _system("deleted_at", "datetime", "Deleted at", "删除时间"),
            _system("row_version", "integer", "Row version", "版本号", required=True),
        )
    }
)


def _text(value: Any) -> Text | None:
    return Text.of(value) if value is not None else None


def build_field(name: str, raw: Mapping[str, Any]) -> Field:
    """Return a Field from its validated document form, filling in defaults."""
    ftype = TYPES[raw["type"]]
    options: dict[str, Any] = {}
    for option_name, option in ftype.options.items():
        if option_name == "values":
            continue
        value = raw.get(option_name, option.default)
        if value is not None:
            options[option_name] = value
    required = bool(raw.get("required", COMMON_OPTIONS["required"].default))
    unique = bool(raw.get("unique", COMMON_OPTIONS["unique"].default))
    if raw["type"] == "master_detail":
        required = True
    if raw["type"] == "auto_number":
        unique = True
    if raw["type"] == "lookup" and "on_delete" not in raw:
        options["on_delete"] = "restrict" if required else "set_null"
    values = tuple(
        PicklistValue(value=entry, label=Text.of(humanize(entry)))
        if isinstance(entry, str)
        else PicklistValue(
            value=entry["value"],
            label=Text.of(entry.get("label", humanize(entry["value"]))),
            color=entry.get("color"),
            inactive=bool(entry.get("inactive", False)),
        )
        for entry in raw.get("values", ())
    )
    return Field(
        name=name,
        type=raw["type"],
        label=Text.of(raw.get("label", humanize(name))),
        required=required,
        unique=unique,
        default=raw.get("default"),
        description=_text(raw.get("description")),
        help_text=_text(raw.get("help_text")),
        options=MappingProxyType(options),
        values=values,
        renamed_from=raw.get("renamed_from"),
    )


def build_object(name: str, raw: Mapping[str, Any]) -> ObjectDef:
    """Return an ObjectDef from its validated document form, filling in defaults."""
    label = Text.of(raw.get("label", humanize(name)))
    plural_name = raw.get("plural_name") or default_plural(name)
    fields = {
        field_name: build_field(field_name, field_raw)
        for field_name, field_raw in (raw.get("fields") or {}).items()
    }
    return ObjectDef(
        name=name,
        label=label,
        plural=Text.of(raw["plural"]) if "plural" in raw else Text.of(humanize(plural_name)),
        plural_name=plural_name,
        fields=MappingProxyType(fields),
        indexes=tuple(
            Index(fields=tuple(i["fields"]), unique=bool(i.get("unique", False)))
            for i in raw.get("indexes") or ()
        ),
        description=_text(raw.get("description")),
        renamed_from=raw.get("renamed_from"),
        search=tuple(raw.get("search") or ()),
        junction=MappingProxyType(dict(raw.get("junction") or {})),
        history=tuple(raw.get("history") or ()),
        validation_rules=MappingProxyType(
            {
                rule_name: ValidationRule(
                    rule_name, rule["condition"], Text.of(rule["message"]), rule.get("field")
                )
                for rule_name, rule in (raw.get("validation_rules") or {}).items()
            }
        ),
        transitions=MappingProxyType(
            {
                field_name: StateMachine(
                    field_name,
                    tuple(
                        Transition(_names(t["from"]), _names(t["to"]), _names(t.get("roles")))
                        for t in machine.get("allow") or ()
                    ),
                    _names(machine.get("initial")),
                )
                for field_name, machine in (raw.get("transitions") or {}).items()
            }
        ),
    )


def _names(value: Any) -> tuple[str, ...]:
    """Return one name or a list of names as a tuple (none: empty)."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def build_model(document: Mapping[str, Any]) -> Model:
    """Return a Model from a validated (or canonical) document."""
    objects = {
        name: build_object(name, raw) for name, raw in (document.get("objects") or {}).items()
    }
    return Model(
        objects=MappingProxyType(objects),
        security=build_security(document),
        automation=build_automation(document),
        views=build_views(document),
    )
