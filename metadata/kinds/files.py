"""The attachment kind: a file in the platform's file store, described on the record.

The bytes never pass through GraphQL or JSON: they are uploaded and downloaded through
``/t/{tenant}/files/{object}/{id}/{field}`` with the record's permissions
(``runtime/server/files_api.py``). The record keeps where the file is (its store key, in
the field's own column) and what it is: name, size, content type and SHA-256 checksum,
so a download can tell a file that is missing or no longer the one uploaded.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from metadata.kinds.base import Column, Kind, ValueProblem
from metadata.model import Field

#: The description columns beside the store key, and their logical types.
ATTACHMENT_PARTS = (
    ("file_name", "text"),
    ("size", "bigint"),
    ("content_type", "text"),
    ("sha256", "text"),
)


class AttachmentKind(Kind):
    """A value is ``{"key", "file_name", "size", "content_type", "sha256"}``."""

    name = "attachment"
    storage = "text"
    graphql = "Attachment"
    filter = "attachment"
    widget = "file"
    sortable = False
    writable = False  # set by an upload, never by a value in a write

    @staticmethod
    def part_column(field: str, part: str) -> str:
        return f"{field}__{part}"

    def columns(self, f: Field) -> list[Column]:
        return [
            Column(f.name, "text"),
            *(Column(self.part_column(f.name, p), kind) for p, kind in ATTACHMENT_PARTS),
        ]

    def to_columns(self, f: Field, value: Any) -> dict[str, Any]:
        value = value or {}
        out = {f.name: value.get("key")}
        out.update({self.part_column(f.name, p): value.get(p) for p, _ in ATTACHMENT_PARTS})
        return out

    def accepts(self, f: Field, content_type: str, size: int | None, name: str) -> None:
        """Refuse an upload the field's options do not allow (``size`` may be unknown
        until the bytes are in: then only the type is judged)."""
        allowed = f.option("content_types")
        if allowed and not any(fnmatch.fnmatchcase(content_type, p) for p in allowed):
            raise ValueProblem(
                f"{name} accepts {', '.join(allowed)}, not {content_type}",
                f"{name} 只接受 {'、'.join(allowed)} 类型的文件，不接受 {content_type}",
                "UNSUPPORTED_MEDIA_TYPE",
            )
        limit = f.option("max_size")
        if size is not None and limit is not None and size > limit:
            raise ValueProblem(
                f"{name} takes files of at most {limit:,} bytes; this one has {size:,}",
                f"{name} 的文件最大 {limit:,} 字节，此文件有 {size:,} 字节",
                "FILE_TOO_LARGE",
            )

    def parse(self, f: Field, text: str, locale: str) -> Any:
        raise ValueProblem(
            f"{f.name} holds a file: upload it through the files API, not as text",
            f"{f.name} 是附件：请通过文件接口上传，不能作为文本填写",
        )

    def text_forms(self) -> tuple[str, str]:
        return ("none: upload the file through the API", "无：通过文件接口上传")
