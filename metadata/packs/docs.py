"""A pack's docs page (docs/apps/<name>.md), generated from the pack itself.

``tessera app docs`` writes them; ``tests/metadata/test_packs.py`` fails when a committed
page and its pack differ, so the pages never drift from what the pack installs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from metadata.packs.loader import Pack
from metadata.text import Text

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs" / "apps"


def _text(value: Any, locale: str) -> str:
    if value is None:
        return ""
    return Text.of(value).get(locale).replace("|", "\\|")


def _both(value: Any) -> str:
    return f"{_text(value, 'en')} / {_text(value, 'zh-CN')}"


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _field_kind(raw: dict[str, Any]) -> str:
    kind = raw.get("type", "")
    if kind in ("lookup", "master_detail"):
        return f"{kind} → {raw.get('to')}"
    if kind == "rollup":
        return f"rollup ({raw.get('function')} of {raw.get('from')})"
    if kind == "formula":
        return f"formula ({raw.get('returns')})"
    if kind in ("picklist", "multi_picklist"):
        codes = [v["value"] if isinstance(v, dict) else v for v in raw.get("values") or ()]
        return f"{kind}: {', '.join(codes)}"
    return kind


def render_pack_doc(pack: Pack) -> str:
    """Return the Markdown page of ``pack``."""
    m = pack.manifest
    out = [
        f"# {_text(m.label.to_json(), 'en')} ({_text(m.label.to_json(), 'zh-CN')}): "
        f"`{m.name}` {m.version}",
        "",
        "<!-- Generated from apps/"
        f"{m.name} by `tessera app docs`; edit the pack, not this page. -->",
        "",
        _text(m.description.to_json(), "en"),
        "",
        _text(m.description.to_json(), "zh-CN"),
        "",
        f"- Publisher: {m.publisher} (prefix `{m.prefix}`)",
        f"- Depends on: {', '.join(f'`{n}` {r}' for n, r in m.dependencies.items()) or 'nothing'}",
        f"- Tessera: {m.platform}",
        f"- Install: `tessera app install {m.name} --tenant TENANT [--sample-data]`",
        "",
        "## Objects",
        "",
    ]
    out += _table(
        ["object", "label (en / zh-CN)", "fields", "key fields"],
        (
            [
                f"`{name}`",
                _both(spec.get("label")),
                str(len(spec.get("fields") or {})),
                ", ".join(
                    f"`{f}`"
                    for f, raw in (spec.get("fields") or {}).items()
                    if raw.get("required") or raw.get("type") in ("lookup", "master_detail")
                ),
            ]
            for name, spec in pack.objects.items()
        ),
    )
    for name, spec in pack.objects.items():
        out += [f"### `{name}`: {_both(spec.get('label'))}", ""]
        out += _table(
            ["field", "label (en / zh-CN)", "type"],
            (
                [f"`{f}`", _both(raw.get("label")), _field_kind(raw)]
                for f, raw in (spec.get("fields") or {}).items()
            ),
        )
    if pack.extensions:
        out += ["## Fields added to other packs' objects", ""]
        out += _table(
            ["object", "field", "label (en / zh-CN)", "type"],
            (
                [f"`{obj}`", f"`{f}`", _both(raw.get("label")), _field_kind(raw)]
                for obj, fields in pack.extensions.items()
                for f, raw in fields.items()
            ),
        )
    sections = {
        "roles": "Roles",
        "permission_sets": "Permission sets",
        "sharing_rules": "Sharing rules",
        "workflows": "Workflows",
        "approvals": "Approval processes",
        "calendars": "Working-day calendars",
        "conversions": "Conversions",
        "layouts": "Layouts",
        "list_views": "List views",
        "navigation": "Apps (navigation)",
    }
    items: dict[str, list[tuple[str, Any]]] = {}
    for section, name, raw in pack.items():
        items.setdefault(section, []).append((name, raw))
    for section, title in sections.items():
        if section not in items:
            continue
        out += [f"## {title}", ""]
        out += _table(
            ["name", "label (en / zh-CN)", "applies to"],
            (
                [f"`{name}`", _both(raw.get("label")), _applies_to(section, raw)]
                for name, raw in items[section]
            ),
        )
    if pack.sample_data:
        out += ["## Sample data", ""]
        out += _table(
            ["object", "records"],
            ([f"`{obj}`", str(len(records))] for obj, records in pack.sample_data.items()),
        )
    return "\n".join(out).rstrip() + "\n"


def _applies_to(section: str, raw: dict[str, Any]) -> str:
    if section == "roles":
        return f"reports to `{raw['reports_to']}`" if raw.get("reports_to") else "top level"
    if section == "permission_sets":
        roles = ", ".join(f"`{r}`" for r in raw.get("roles") or ())
        return f"{roles}: {len(raw.get('objects') or {})} objects"
    return f"`{raw.get('object')}`" if raw.get("object") else ""


def doc_path(pack: Pack) -> Path:
    return DOCS_DIR / f"{pack.name}.md"
