"""Which changes to a field's storage keep the data, which lose some, which are refused.

Every change of type or size falls in one of five kinds:

``none``     storage is unchanged (labels, help text, an auto-number format);
``safe``     existing values convert without loss (integer → decimal, text → long_text);
``checked``  values convert without loss if they fit, which the apply verifies first and
             refuses with a count if they do not (integer → decimal(6, 2), required);
``lossy``    some information goes (decimal → integer rounds): destructive, so it needs
             explicit consent, and the old values are archived before converting;
``refused``  there is no dependable conversion (text → integer): add a new field instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from metadata.model import Field

#: Types stored as a length-limited string column, with the length they store.
_BOUNDED = {"text", "email", "phone", "url", "picklist"}
_UNBOUNDED = {"long_text", "rich_text"}
_NUMERIC = {"decimal", "currency", "percent"}
#: String length each non-string type needs when converted to text.
_TEXT_WIDTH = {
    "integer": 20,
    "duration": 20,
    "date": 10,
    "datetime": 32,
    "time": 15,
    "uuid": 36,
    "auto_number": 64,
}
_TEXT_TARGETS = {"text", "long_text", "rich_text"}
_TEXT_SOURCES = {*_TEXT_WIDTH, "decimal", "percent"}
#: Picklist values are codes of at most 100 characters (see field_types).
PICKLIST_LENGTH = 255
#: Longest auto-number a format can produce (field_types caps the format at 60).
AUTO_NUMBER_LENGTH = 64


@dataclass(frozen=True)
class Conversion:
    """How existing values fare when a field's storage changes."""

    kind: str
    reason: str

    @property
    def converts(self) -> bool:
        """Return whether data has to be rewritten (not just constraints changed)."""
        return self.kind in ("safe", "checked", "lossy")


NONE = Conversion("none", "storage unchanged")


def string_length(field: Field) -> int | None:
    """Return the stored length of a string-like field, or None if unbounded."""
    if field.type == "picklist":
        return PICKLIST_LENGTH
    if field.type in _BOUNDED:
        return field.option("max_length")
    return None


def integer_digits(field: Field) -> int:
    """Return how many digits before the point a numeric field holds."""
    if field.type == "integer":
        return 19
    return field.option("precision") - field.option("scale")


def _numeric(old: Field, new: Field) -> Conversion:
    """Compare two numeric (integer/decimal/currency/percent) fields."""
    old_scale = old.option("scale") or 0
    new_scale = new.option("scale") or 0
    if new_scale < old_scale:
        return Conversion(
            "lossy", f"values are rounded from {old_scale} to {new_scale} decimal places"
        )
    if old.type == "currency" and new.type != "currency":
        return Conversion("lossy", "the currency codes of existing amounts are dropped")
    if integer_digits(new) < integer_digits(old):
        return Conversion(
            "checked",
            f"values must fit in {integer_digits(new)} digits before the point "
            f"(was {integer_digits(old)})",
        )
    if old.type == new.type and old.options == new.options:
        return NONE
    return Conversion("safe", "every existing value fits the new precision")


def _strings(old: Field, new: Field) -> Conversion:
    old_len, new_len = string_length(old), string_length(new)
    if new_len is not None and (old_len is None or new_len < old_len):
        return Conversion(
            "lossy",
            f"values longer than {new_len} characters are cut to fit (originals archived)",
        )
    if old.type == new.type and old_len == new_len:
        return NONE
    if old_len == new_len:
        return Conversion("safe", "the stored text is unchanged")
    return Conversion("safe", "every existing value fits")


def classify(old: Field, new: Field) -> Conversion:
    """Return how existing values of ``old`` fare when the field becomes ``new``."""
    a, b = old.type, new.type
    if (old.computed or new.computed) and a != b:
        return Conversion(
            "refused",
            f"a {a if old.computed else b} field is computed, not stored, so there are no "
            "values to convert; add a new field and drop this one",
        )
    if {a, b} <= (_BOUNDED | _UNBOUNDED):
        return _strings(old, new)
    if {a, b} <= (_NUMERIC | {"integer"}) and not (a != "integer" and b == "integer"):
        return _numeric(old, new)
    if a in _NUMERIC and b == "integer":
        if (old.option("scale") or 0) == 0 and a != "currency":
            return _numeric(old, new)
        return Conversion("lossy", "values are rounded to whole numbers")
    if a == b:
        if a in ("lookup", "master_detail") and old.target != new.target:
            return Conversion(
                "refused",
                f"existing values point at {old.target} records, not {new.target}; add a "
                "new lookup instead",
            )
        return NONE
    if a in ("lookup", "master_detail") and b in ("lookup", "master_detail"):
        if old.target != new.target:
            return Conversion(
                "refused",
                f"existing values point at {old.target} records, not {new.target}",
            )
        if b == "master_detail":
            return Conversion("checked", "every record must already have a value")
        return Conversion("safe", "references are kept")
    if b in _TEXT_TARGETS and a in _TEXT_SOURCES:
        needed = _TEXT_WIDTH.get(a) or old.option("precision") + 2
        if (string_length(new) or needed) < needed:
            return Conversion("lossy", f"values need up to {needed} characters as text")
        return Conversion("safe", f"{a} values are written out as text")
    pairs = {
        ("picklist", "multi_picklist"): Conversion("safe", "each value becomes a one-item list"),
        ("multi_picklist", "picklist"): Conversion("lossy", "only the first chosen value is kept"),
        ("date", "datetime"): Conversion("safe", "dates become midnight UTC"),
        ("datetime", "date"): Conversion("lossy", "the time of day is dropped (UTC date kept)"),
        ("integer", "duration"): Conversion("safe", "numbers are read as seconds"),
        ("duration", "integer"): Conversion("safe", "durations become whole seconds"),
    }
    if (a, b) in pairs:
        return pairs[(a, b)]
    return Conversion(
        "refused",
        f"{a} values cannot be turned into {b} values reliably; add a new {b} field, copy "
        "the data over, then drop this one",
    )
