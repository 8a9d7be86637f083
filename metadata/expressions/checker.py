"""Type-checking expressions against a tenant's metadata.

``check(text, model, obj)`` parses the text, resolves every field reference (following
lookups: ``account.owner``), and gives every node one of the types below. A mistake is an
ExpressionError at the place it was made, with a suggestion where one helps. The typed
tree is what the runtime compiles to SQL or evaluates, so neither has to guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from metadata.expressions.syntax import (
    Binary,
    Call,
    ExpressionError,
    FieldRef,
    Literal,
    Node,
    Unary,
    parse,
)
from metadata.kinds import KINDS
from metadata.model import Field, Model, ObjectDef

NUMBER, TEXT, BOOLEAN, DATE, DATETIME, ID, NULL = (
    "number",
    "text",
    "boolean",
    "date",
    "datetime",
    "id",
    "null",
)

#: What each field type is inside an expression. Types not listed cannot be used yet.
FIELD_TYPES = {name: k.expression for name, k in KINDS.items() if k.expression}

#: Most lookups one reference may follow (``a.b.c.d`` follows three).
MAX_HOPS = 5


@dataclass(frozen=True)
class Typed:
    """A checked node: the syntax node, its type, its checked arguments, and for field
    references the hops from the record to the field."""

    node: Node
    type: str
    args: tuple[Typed, ...] = ()
    hops: tuple[tuple[ObjectDef, Field], ...] = ()
    """For a FieldRef: each (object, field) read along the path; the last is the value."""

    @property
    def kind(self) -> str:
        return type(self.node).__name__


@dataclass(frozen=True)
class Function:
    params: tuple[str, ...]
    """Parameter types; ``T`` is one type shared by every ``T`` (and the result if ``T``),
    ``any`` accepts every type, ``field`` wants a field of the record itself."""
    result: str
    summary: str
    variadic: bool = False
    """The last parameter may repeat."""
    prior: bool = False
    """Needs the record's previous values (validation rules and triggers only)."""
    engine: bool = False
    """Needs what only the workflow engine knows: the person acting or the tenant's
    working-day calendar (workflow and approval expressions only, never SQL)."""


FUNCTIONS: dict[str, Function] = {
    "IF": Function(("boolean", "T", "T"), "T", "IF(condition, then, else)"),
    "AND": Function(("boolean", "boolean"), BOOLEAN, "true when every argument is", True),
    "OR": Function(("boolean", "boolean"), BOOLEAN, "true when any argument is", True),
    "ISBLANK": Function(("any",), BOOLEAN, "true for an empty value (null or '')"),
    "BLANKVALUE": Function(("T", "T"), "T", "the value, or the fallback when it is blank"),
    "LEN": Function((TEXT,), NUMBER, "number of characters"),
    "TRIM": Function((TEXT,), TEXT, "without leading and trailing spaces"),
    "LEFT": Function((TEXT, NUMBER), TEXT, "the first n characters"),
    "RIGHT": Function((TEXT, NUMBER), TEXT, "the last n characters"),
    "CONTAINS": Function((TEXT, TEXT), BOOLEAN, "true when the text contains the other"),
    "BEGINS": Function((TEXT, TEXT), BOOLEAN, "true when the text starts with the other"),
    "TEXT": Function(("any",), TEXT, "a text, id or date as text"),
    "ABS": Function((NUMBER,), NUMBER, "absolute value"),
    "ROUND": Function((NUMBER, NUMBER), NUMBER, "rounded to n decimals (0-10), half away from 0"),
    "TODAY": Function((), DATE, "today in the tenant's time zone"),
    "NOW": Function((), DATETIME, "the current moment (a datetime, UTC)"),
    "DATEVALUE": Function((TEXT,), DATE, "a date written 'YYYY-MM-DD'"),
    "ADDDAYS": Function(
        ("moment", NUMBER), "T", "the date (or datetime) n days later (n truncated)"
    ),
    "ADDHOURS": Function((DATETIME, NUMBER), DATETIME, "the datetime n hours later"),
    "DATEDIFF": Function((DATE, DATE), NUMBER, "days from the first date to the second"),
    "ADDWORKDAYS": Function(
        (DATE, NUMBER),
        DATE,
        "the date n working days later, by the tenant's calendar (holidays and 调休)",
        engine=True,
    ),
    "WORKDAYS": Function(
        (DATE, DATE),
        NUMBER,
        "working days after the first date up to the second, by the tenant's calendar",
        engine=True,
    ),
    "USERID": Function((), ID, "the id of the person acting (null for the system)", engine=True),
    "ROLE": Function((), TEXT, "the role of the person acting ('' without one)", engine=True),
    "ISMEMBER": Function(
        (TEXT,), BOOLEAN, "true when the person acting holds the role or one above it", engine=True
    ),
    "COUNT": Function(
        (TEXT, BOOLEAN),
        NUMBER,
        "how many live records of an object the person acting owns that meet a condition: "
        "COUNT('lead', status = 'assigned')",
        engine=True,
    ),
    "YEAR": Function((DATE,), NUMBER, "the year"),
    "MONTH": Function((DATE,), NUMBER, "the month, 1-12"),
    "DAY": Function((DATE,), NUMBER, "the day of the month"),
    "ISNEW": Function((), BOOLEAN, "true when the write creates the record", prior=True),
    "ISCHANGED": Function(("field",), BOOLEAN, "true when the write changes the field", prior=True),
    "PRIORVALUE": Function(("field",), "T", "the field's value before the write", prior=True),
}


def check(
    text: str,
    model: Model,
    obj: str,
    *,
    expect: str | None = None,
    prior: bool = False,
    engine: bool = False,
) -> Typed:
    """Parse and type ``text`` as an expression over records of ``obj``.

    ``expect`` is the type the result must have (a validation rule's condition is
    ``boolean``). ``prior`` allows ISCHANGED and PRIORVALUE, which need the values a
    record had before the write being checked. ``engine`` allows the functions only the
    workflow engine can evaluate (the person acting, counts, working days).
    """
    tree = parse(text)
    typed = _Checker(text, model, prior, engine).check(tree, model.objects[obj])
    if expect is not None and typed.type not in (expect, NULL):
        raise ExpressionError(
            f"the expression gives a {typed.type}, but a {expect} is needed here", 0, text
        )
    return typed


class _Checker:
    def __init__(self, text: str, model: Model, prior: bool, engine: bool = False) -> None:
        self.text = text
        self.model = model
        self.prior = prior
        self.engine = engine
        self.expanding: list[str] = []
        """The formulas being expanded, outermost first (a cycle is refused)."""

    def error(self, node: Node, message: str) -> ExpressionError:
        return ExpressionError(message, node.position, self.text)

    def check(self, node: Node, obj: ObjectDef) -> Typed:
        if isinstance(node, Literal):
            return Typed(node, _literal_type(node.value))
        if isinstance(node, FieldRef):
            return self.field(node, obj)
        if isinstance(node, Unary):
            operand = self.check(node.operand, obj)
            want = NUMBER if node.op == "-" else BOOLEAN
            self.want(operand, want, f"{node.op} needs a {want}")
            return Typed(node, want, (operand,))
        if isinstance(node, Binary):
            return self.binary(node, obj)
        assert isinstance(node, Call)
        return self.call(node, obj)

    def want(self, typed: Typed, kind: str, why: str) -> None:
        if typed.type not in (kind, NULL):
            raise self.error(typed.node, f"{why}, not a {typed.type}")

    def field(self, node: FieldRef, obj: ObjectDef) -> Typed:
        if len(node.path) > MAX_HOPS + 1:
            raise self.error(node, f"a reference may follow at most {MAX_HOPS} lookups")
        hops: list[tuple[ObjectDef, Field]] = []
        current = obj
        for i, name in enumerate(node.path):
            try:
                f = current.field(name)
            except KeyError:
                raise self.error(
                    node, f"{current.name} has no field {name!r}" + _suggest(name, current)
                ) from None
            hops.append((current, f))
            last = i == len(node.path) - 1
            if not last:
                if not f.is_relation:
                    raise self.error(
                        node, f"{current.name}.{name} is not a lookup, so '.' cannot follow it"
                    )
                target = self.model.objects.get(f.target or "")
                if target is None:
                    # The model may be a reader's view, with the lookup's target object
                    # trimmed away: the formula then cannot be computed for that reader.
                    raise self.error(
                        node,
                        f"{current.name}.{name} leads to {f.target}, which is not available here",
                    )
                current = target
        f = hops[-1][1]
        if f.type == "formula":
            return self.formula(node, hops[-1][0], f, tuple(hops))
        kind = FIELD_TYPES.get(f.type)
        if kind is None:
            raise self.error(node, f"{f.type} fields cannot be used in expressions yet")
        return Typed(node, kind, hops=tuple(hops))

    def formula(
        self, node: FieldRef, owner: ObjectDef, f: Field, hops: tuple[tuple[ObjectDef, Field], ...]
    ) -> Typed:
        """A reference to a formula: its expression, checked over the record that holds it,
        becomes the reference's one argument (SQL and the evaluator compute it in place)."""
        name = f"{owner.name}.{f.name}"
        if name in self.expanding:
            path = " → ".join([*self.expanding[self.expanding.index(name) :], name])
            raise self.error(node, f"formulas refer to each other in a cycle: {path}")
        self.expanding.append(name)
        try:
            text = f.option("expression")
            inner = _Checker(text, self.model, False, False)
            inner.expanding = self.expanding
            try:
                typed = inner.check(parse(text), owner)
            except ExpressionError as exc:
                if "cycle" in exc.message:
                    raise self.error(node, exc.message) from None
                raise self.error(node, f"formula {name} does not check: {exc.message}") from None
        finally:
            self.expanding.pop()
        return Typed(node, f.option("returns") or typed.type, (typed,), hops=hops)

    def binary(self, node: Binary, obj: ObjectDef) -> Typed:
        left, right = self.check(node.left, obj), self.check(node.right, obj)
        op = node.op
        if op in ("AND", "OR"):
            self.want(left, BOOLEAN, f"{op} needs a boolean")
            self.want(right, BOOLEAN, f"{op} needs a boolean")
            return Typed(node, BOOLEAN, (left, right))
        if op == "&":
            for side in (left, right):
                self.want(side, TEXT, "& joins texts; wrap other values in TEXT()")
            return Typed(node, TEXT, (left, right))
        if op in "+-*/":
            for side in (left, right):
                if side.type == DATE:
                    raise self.error(
                        side.node, "use ADDDAYS(date, n) or DATEDIFF(from, to) for date arithmetic"
                    )
                self.want(side, NUMBER, f"{op} needs numbers")
            return Typed(node, NUMBER, (left, right))
        # Comparisons.
        kind = self.unify(left, right, f"{op} compares values of one type")
        if op not in ("=", "!=") and kind in (BOOLEAN, ID):
            raise self.error(node, f"{op} cannot order {kind} values; use = or !=")
        return Typed(node, BOOLEAN, (left, right))

    def unify(self, a: Typed, b: Typed, why: str) -> str:
        if a.type == NULL:
            return b.type
        if b.type == NULL or a.type == b.type:
            return a.type
        raise self.error(b.node, f"{why}: {a.type} and {b.type}")

    def call(self, node: Call, obj: ObjectDef) -> Typed:
        fn = FUNCTIONS.get(node.name)
        if fn is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise self.error(node, f"there is no function {node.name}; functions: {known}")
        if fn.engine and not self.engine:
            raise self.error(
                node,
                f"{node.name} needs the workflow engine (the person acting or the tenant's "
                "calendar), so it works in workflow and approval expressions only",
            )
        if node.name == "COUNT":
            return self.count(node)
        if fn.prior and not self.prior:
            raise self.error(
                node,
                f"{node.name} needs the record's previous values, which only validation "
                "rules and workflow conditions have",
            )
        count = len(node.args)
        if fn.variadic:
            if count < len(fn.params):
                raise self.error(node, f"{node.name} takes at least {len(fn.params)} arguments")
            params = fn.params + (fn.params[-1],) * (count - len(fn.params))
        else:
            if count != len(fn.params):
                raise self.error(
                    node, f"{node.name} takes {len(fn.params)} argument(s), not {count}"
                )
            params = fn.params
        args: list[Typed] = []
        shared = NULL
        for param, arg in zip(params, node.args, strict=True):
            if param == "field":
                if not (isinstance(arg, FieldRef) and len(arg.path) == 1):
                    raise self.error(arg, f"{node.name} takes a field of this record")
                typed = self.field(arg, obj)
                shared = typed.type
            else:
                typed = self.check(arg, obj)
                if param == "moment":
                    if typed.type not in (DATE, DATETIME, NULL):
                        raise self.error(arg, f"{node.name} needs a date or datetime here")
                    shared = typed.type
                elif param == "T":
                    shared = self.unify(
                        Typed(arg, shared), typed, f"{node.name}'s values must be of one type"
                    )
                elif param != "any":
                    self.want(typed, param, f"{node.name} needs a {param} here")
            args.append(typed)
        result = shared if fn.result == "T" else fn.result
        typed_call = Typed(node, result, tuple(args))
        _CONSTANT_CHECKS.get(node.name, lambda *_: None)(self, typed_call)
        return typed_call

    def count(self, node: Call) -> Typed:
        """COUNT('object', condition): the condition is checked over that object."""
        if len(node.args) != 2:
            raise self.error(node, "COUNT takes an object's name and a condition")
        name = node.args[0]
        if not (isinstance(name, Literal) and isinstance(name.value, str)):
            raise self.error(name, "COUNT's first argument is an object's name written out")
        target = self.model.objects.get(name.value)
        if target is None:
            known = ", ".join(sorted(self.model.objects))
            raise self.error(name, f"there is no object {name.value!r}; objects: {known}")
        condition = self.check(node.args[1], target)
        self.want(condition, BOOLEAN, "COUNT's condition must be a boolean")
        return Typed(node, NUMBER, (Typed(name, TEXT), condition))


def _literal_type(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, Decimal):
        return NUMBER
    return TEXT


def _round_digits(checker: _Checker, call: Typed) -> None:
    digits = call.args[1].node
    if not (isinstance(digits, Literal) and isinstance(digits.value, Decimal)):
        raise checker.error(digits, "ROUND's decimals must be a whole number written out")
    if digits.value != digits.value.to_integral_value() or not 0 <= digits.value <= 10:
        raise checker.error(digits, "ROUND's decimals must be a whole number from 0 to 10")


def _date_text(checker: _Checker, call: Typed) -> None:
    import datetime as dt

    arg = call.args[0].node
    if not (isinstance(arg, Literal) and isinstance(arg.value, str)):
        raise checker.error(arg, "DATEVALUE takes a date written out, such as '2026-12-31'")
    try:
        dt.date.fromisoformat(arg.value)
    except ValueError:
        raise checker.error(arg, f"{arg.value!r} is not a date written as YYYY-MM-DD") from None
    if len(arg.value) != 10:
        raise checker.error(arg, f"{arg.value!r} is not a date written as YYYY-MM-DD")


def _text_of(checker: _Checker, call: Typed) -> None:
    kind = call.args[0].type
    if kind not in (TEXT, ID, DATE, NULL):
        raise checker.error(
            call.args[0].node, f"TEXT takes a text, id or date; a {kind} cannot be shown yet"
        )


def _role_name(checker: _Checker, call: Typed) -> None:
    arg = call.args[0].node
    if not (isinstance(arg, Literal) and isinstance(arg.value, str)):
        raise checker.error(arg, "ISMEMBER takes a role's name written out, such as 'sales_rep'")
    roles = checker.model.security.roles
    if arg.value not in roles:
        known = ", ".join(sorted(roles)) or "none"
        raise checker.error(arg, f"there is no role {arg.value!r}; roles: {known}")


_CONSTANT_CHECKS: dict[str, Callable[[_Checker, Typed], None]] = {
    "ISMEMBER": _role_name,
    "ROUND": _round_digits,
    "DATEVALUE": _date_text,
    "TEXT": _text_of,
}


def _suggest(name: str, obj: ObjectDef) -> str:
    from difflib import get_close_matches

    names = [f.name for f in obj.all_fields()]
    close = get_close_matches(name, names, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
