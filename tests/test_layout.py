"""Promises about the repository's shape."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_platform_folder_holds_no_python():
    assert not list((ROOT / "platform").rglob("*.py"))
    assert (ROOT / "platform" / "README.md").exists()


def test_standard_library_platform_is_not_shadowed():
    assert not Path(platform.__file__).resolve().is_relative_to(ROOT)
    # And from the repository root, where a stray package would win:
    probe = "import platform, uuid; platform.system(); uuid.uuid4()"
    subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True)


def test_top_level_folders_exist():
    for folder in (
        "metadata",
        "runtime",
        "apps",
        "ui_schema",
        "platform",
        "tests",
        "docs",
        "benchmarks",
    ):
        assert (ROOT / folder).is_dir(), folder
