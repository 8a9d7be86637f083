"""Refusals of the write path, as values: a code, the path of the offending input, and
the message in English and Chinese.

Nothing here names an interface: GraphQL reports a RecordError as an error with
``extensions.code`` and ``extensions.messages``, a workflow step fails with its message,
and an import will report it against a row and column.
"""

from __future__ import annotations

from typing import Any


class RecordError(Exception):
    """A write the record service refuses."""

    def __init__(
        self,
        message: str,
        code: str = "BAD_USER_INPUT",
        *,
        field: list[str | int] | None = None,
        extra: dict[str, Any] | None = None,
        zh: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        """Path of the offending input, e.g. ["input", "email"] or ["inputs", 3, "name"]."""
        self.extra = extra or {}
        """More detail for the caller (a validation rule's name and messages)."""
        self.zh = zh
        """The message in zh-CN, when the refusal has one of its own."""

    @property
    def messages(self) -> dict[str, str]:
        """The message by language: a rule's own messages, else en and zh-CN."""
        given = self.extra.get("messages")
        if isinstance(given, dict):
            return given
        return {"en": self.message, **({"zh-CN": self.zh} if self.zh else {})}
