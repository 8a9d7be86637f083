"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

from metadata.source import load_file
from metadata.validation import validate_file

ROOT = Path(__file__).parents[1]
DEMO_METADATA = ROOT / "apps" / "demo_crm" / "metadata.yaml"


@pytest.fixture(scope="session")
def demo_model():
    """Return the demo CRM model (account, contact, opportunity)."""
    return validate_file(DEMO_METADATA).model


@pytest.fixture(scope="session")
def demo_document():
    """Return the demo CRM document as parsed data."""
    return load_file(DEMO_METADATA).data
