"""The field-kind table of docs/metadata.md, generated from the kinds themselves.

``python -m metadata.kinds.docs --write`` rewrites the block between the markers in
docs/metadata.md; ``tests/metadata/test_kinds.py`` fails when the file and the kinds
differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

from metadata.kinds import KINDS

BEGIN, END = "<!-- kinds:begin -->", "<!-- kinds:end -->"
DOC = Path(__file__).parents[2] / "docs" / "metadata.md"


def _can(kind: object) -> str:
    names = ("sortable", "groupable", "aggregatable", "ordered", "searchable")
    return ", ".join(n for n in names if getattr(kind, n)) or "—"


def markdown() -> str:
    """Return the table: every kind's columns, API types, widget, capabilities and the
    text forms an import reads (English and Chinese)."""
    lines = [
        "| type | columns | GraphQL | filter | widget | can be "
        "| text read (en) | 文本格式 (zh-CN) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, kind in KINDS.items():
        storage = {
            "currency": "amount `numeric`, code `code`",
            "address": "one line `text`, six parts `text`",
            "geolocation": "latitude `double`, longitude `double`",
            "polymorphic_lookup": "id `uuid`, object `name`",
            "attachment": "store key `text`; name, content type, SHA-256 `text`; size `bigint`",
        }.get(name, f"`{kind.storage}`" if kind.storage else "none (computed)")
        en, zh = (form.replace("|", "\\|") for form in kind.text_forms())
        filters = f"`{kind.filter}`" if kind.filter else "as its result"
        lines.append(
            f"| `{name}` | {storage} | `{kind.graphql}` | {filters} | `{kind.widget}` "
            f"| {_can(kind)} | {en} | {zh} |"
        )
    return "\n".join(lines)


def rewrite(text: str) -> str:
    """Return ``text`` with the block between the markers replaced by the table."""
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{markdown()}\n{END}{tail}"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        DOC.write_text(rewrite(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(markdown())
