"""The CLI's tables keep identifiers whole, however narrow the terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from runtime.cli import output

TOKEN = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
EMAIL = "someone.with.a.long.address@example.com"


@pytest.mark.parametrize("width", [200, 100, 60, 30])
def test_ids_are_never_cut(monkeypatch, width):
    buffer = io.StringIO()
    monkeypatch.setattr(output, "out", Console(file=buffer, width=width, highlight=False))
    output.table(
        ["id", "name", "user", "role", "expires", "revoked", "last used"],
        [[TOKEN, "BI export for the finance team", EMAIL, "sales_rep", "never", "-", "-"]],
        title="API tokens",
    )
    text = buffer.getvalue()
    assert TOKEN in text and EMAIL in text
    assert "…" not in text
    if width < 100:  # too narrow for a table: one "column: value" line each
        assert f"id:        {TOKEN}" in text
