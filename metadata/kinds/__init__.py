"""Field kinds: one registered object per field type (``base.Kind``), owning its storage
columns, its reading from JSON and from text, its checks, its GraphQL and filter types,
its widget and what it can do. ``KINDS`` holds them by type name, in catalogue order.

Adding a type: its catalogue entry (``metadata/field_types.py``), its kind here, its row
in docs/metadata.md's field-type table, and its tests; ``tests/metadata/test_kinds.py``
fails until all four exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from metadata.field_types import TYPES
from metadata.kinds.assigned import AutoNumberKind, FormulaKind, JsonKind, RollupKind
from metadata.kinds.base import KIND_NAMES_ZH, LOCALES, Column, Kind, ValueProblem
from metadata.kinds.choices import BooleanKind, MultiPicklistKind, PicklistKind
from metadata.kinds.files import AttachmentKind
from metadata.kinds.numbers import (
    CurrencyKind,
    DecimalKind,
    DurationKind,
    IntegerKind,
    PercentKind,
)
from metadata.kinds.places import AddressKind, GeolocationKind
from metadata.kinds.references import (
    LookupKind,
    MasterDetailKind,
    PolymorphicLookupKind,
    UuidKind,
)
from metadata.kinds.temporal import DateKind, DateTimeKind, TimeKind
from metadata.kinds.text import (
    EmailKind,
    LongTextKind,
    PhoneKind,
    RichTextKind,
    TextKind,
    UrlKind,
)

_ALL: tuple[Kind, ...] = (
    TextKind(),
    LongTextKind(),
    RichTextKind(),
    IntegerKind(),
    DecimalKind(),
    CurrencyKind(),
    PercentKind(),
    BooleanKind(),
    DateKind(),
    DateTimeKind(),
    TimeKind(),
    DurationKind(),
    EmailKind(),
    PhoneKind(),
    UrlKind(),
    PicklistKind(),
    MultiPicklistKind(),
    LookupKind(),
    MasterDetailKind(),
    AutoNumberKind(),
    JsonKind(),
    FormulaKind(),
    RollupKind(),
    UuidKind(),
    AddressKind(),
    PolymorphicLookupKind(),
    AttachmentKind(),
    GeolocationKind(),
)

#: Every kind by field type name, in the catalogue's order.
KINDS: Mapping[str, Kind] = MappingProxyType(
    {name: k for name in TYPES for k in _ALL if k.name == name}
)


def kind_of(type_name: str) -> Kind:
    """Return the kind of field type ``type_name``."""
    return KINDS[type_name]


def types_where(test: Callable[[Kind], bool]) -> frozenset[str]:
    """Return the type names whose kind passes ``test`` (capability sets)."""
    return frozenset(name for name, k in KINDS.items() if test(k))


__all__ = [
    "KINDS",
    "KIND_NAMES_ZH",
    "LOCALES",
    "Column",
    "Kind",
    "ValueProblem",
    "kind_of",
    "types_where",
]
