"""The expression language's syntax: tokens, a Pratt parser and the tree it builds.

Expressions are what admins write in formula fields, validation rules and workflow
conditions, for example::

    amount * (1 - discount / 100)
    IF(ISBLANK(account.industry), "unknown", account.industry)
    stage = "won" && ISCHANGED(stage)

Nothing here evaluates anything: the tree is checked against the metadata
(``checker.py``) and then compiled to SQL or evaluated by the runtime. Every node keeps
its offset in the text, so errors can point at the exact place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# -- errors --------------------------------------------------------------------------------


class ExpressionError(ValueError):
    """An expression that cannot be parsed or checked; says where and what was expected."""

    def __init__(self, message: str, position: int, text: str) -> None:
        self.position = position
        self.text = text
        self.column = position + 1
        self.message = message
        super().__init__(f"column {self.column}: {message}")

    def caret(self) -> str:
        """Return the expression with a caret line under the offending place."""
        return f"{self.text}\n{' ' * self.position}^"


# -- the tree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    position: int


@dataclass(frozen=True)
class Literal(Node):
    value: Any
    """A Decimal, str, bool or None."""


@dataclass(frozen=True)
class FieldRef(Node):
    path: tuple[str, ...]
    """Field names: ``("account", "industry")`` follows the ``account`` lookup."""


@dataclass(frozen=True)
class Unary(Node):
    op: str
    """``-`` or ``NOT``."""
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    """One of ``+ - * / & = != < <= > >= AND OR``."""
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    name: str
    """Upper-cased function name."""
    args: tuple[Node, ...]


# -- tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str
    """``number``, ``string``, ``name``, ``op``, ``(``, ``)``, ``,``, ``.`` or ``end``."""
    text: str
    position: int
    value: Any = None


_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"\d+(\.\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Longest first, so "<=" is not read as "<" then "=".
_OPERATORS = ("&&", "||", "==", "!=", "<>", "<=", ">=", "+", "-", "*", "/", "&", "=", "<", ">", "!")
_PUNCTUATION = "(),."
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
#: Operator spellings people bring from other formula languages, as the one they mean.
_CANONICAL = {"==": "=", "<>": "!=", "&&": "AND", "||": "OR", "!": "NOT"}
_WORD_OPERATORS = {"AND", "OR", "NOT"}
_CONSTANTS = {"TRUE": True, "FALSE": False, "NULL": None}


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``end`` token."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        space = _SPACE.match(text, i)
        if space:
            i = space.end()
            continue
        char = text[i]
        if char.isdigit():
            match = _NUMBER.match(text, i)
            assert match is not None
            tokens.append(Token("number", match.group(), i, Decimal(match.group())))
            i = match.end()
        elif char in "\"'":
            i = _string(text, i, tokens)
        elif char.isalpha() or char == "_":
            match = _NAME.match(text, i)
            assert match is not None
            word = match.group()
            upper = word.upper()
            if upper in _WORD_OPERATORS:
                tokens.append(Token("op", upper, i))
            else:
                tokens.append(Token("name", word, i))
            i = match.end()
        elif char in _PUNCTUATION:
            tokens.append(Token(char, char, i))
            i += 1
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise ExpressionError(f"unexpected character {char!r}", i, text)
            tokens.append(Token("op", _CANONICAL.get(op, op), i))
            i += len(op)
    tokens.append(Token("end", "", len(text)))
    return tokens


def _string(text: str, start: int, tokens: list[Token]) -> int:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text) or text[i + 1] not in _ESCAPES:
                raise ExpressionError(
                    "unknown escape in a string; use \\n, \\t, \\\\, \\\" or \\'", i, text
                )
            out.append(_ESCAPES[text[i + 1]])
            i += 2
            continue
        if char == quote:
            tokens.append(Token("string", text[start : i + 1], start, "".join(out)))
            return i + 1
        out.append(char)
        i += 1
    raise ExpressionError(f"this string has no closing {quote}", start, text)


# -- the parser -----------------------------------------------------------------------------

# Binding power of each infix operator: higher binds tighter.
_INFIX = {
    "OR": 10,
    "AND": 20,
    "=": 40,
    "!=": 40,
    "<": 40,
    "<=": 40,
    ">": 40,
    ">=": 40,
    "&": 50,
    "+": 60,
    "-": 60,
    "*": 70,
    "/": 70,
}
_NOT_POWER = 30  # NOT a = b means NOT (a = b)
_NEGATE_POWER = 80


def parse(text: str) -> Node:
    """Parse ``text`` into a tree; raise ExpressionError naming what was expected."""
    if not text or not text.strip():
        raise ExpressionError("the expression is empty", 0, text or "")
    parser = _Parser(text, tokenize(text))
    node = parser.expression(0)
    parser.expect_end()
    return node


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, expected: str) -> ExpressionError:
        token = self.token
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        return ExpressionError(f"expected {expected}, found {found}", token.position, self.text)

    def expect(self, kind: str, expected: str) -> Token:
        if self.token.kind != kind:
            raise self.fail(expected)
        return self.advance()

    def expect_end(self) -> None:
        if self.token.kind != "end":
            raise self.fail("an operator or the end of the expression")

    def expression(self, power: int) -> Node:
        left = self.prefix()
        while True:
            token = self.token
            if token.kind != "op" or token.text not in _INFIX:
                return left
            op_power = _INFIX[token.text]
            if op_power <= power:
                return left
            self.advance()
            # Comparisons do not chain: a < b < c is an error, not (a < b) < c.
            right = self.expression(op_power)
            if op_power == 40 and self.token.kind == "op" and _INFIX.get(self.token.text) == 40:
                raise self.fail("AND or OR between comparisons (they do not chain)")
            left = Binary(token.position, token.text, left, right)

    def prefix(self) -> Node:
        token = self.token
        if token.kind == "number" or token.kind == "string":
            self.advance()
            return Literal(token.position, token.value)
        if token.kind == "op" and token.text == "-":
            self.advance()
            return Unary(token.position, "-", self.expression(_NEGATE_POWER))
        if token.kind == "op" and token.text == "+":
            self.advance()
            return self.expression(_NEGATE_POWER)
        if token.kind == "op" and token.text == "NOT":
            # NOT(x) reads like a function call and means the same as NOT x.
            self.advance()
            return Unary(token.position, "NOT", self.expression(_NOT_POWER))
        if token.kind == "(":
            self.advance()
            inner = self.expression(0)
            self.expect(")", "')'")
            return inner
        if token.kind == "name":
            return self.name()
        raise self.fail("a value, a field, a function or '('")

    def name(self) -> Node:
        token = self.advance()
        upper = token.text.upper()
        if self.token.kind == "(":
            self.advance()
            args: list[Node] = []
            if self.token.kind != ")":
                args.append(self.expression(0))
                while self.token.kind == ",":
                    self.advance()
                    args.append(self.expression(0))
            self.expect(")", "',' or ')'")
            return Call(token.position, upper, tuple(args))
        if upper in _CONSTANTS and self.token.kind != ".":
            return Literal(token.position, _CONSTANTS[upper])
        path = [token.text]
        while self.token.kind == ".":
            self.advance()
            path.append(self.expect("name", "a field name after '.'").text)
        return FieldRef(token.position, tuple(path))


def fields_in(node: Node) -> list[FieldRef]:
    """Return every field reference in ``node``, in reading order."""
    if isinstance(node, FieldRef):
        return [node]
    if isinstance(node, Unary):
        return fields_in(node.operand)
    if isinstance(node, Binary):
        return fields_in(node.left) + fields_in(node.right)
    if isinstance(node, Call):
        return [ref for arg in node.args for ref in fields_in(arg)]
    return []
