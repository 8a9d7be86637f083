"""Browser assets are vendored, pinned, licensed and never fetched from a CDN."""

from __future__ import annotations

import json
import re
from pathlib import Path

from runtime.server import vendor

ROOT = Path(__file__).parents[3]
CDN = re.compile(
    r"https?://(unpkg\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com|fonts\.googleapis\.com|"
    r"fonts\.gstatic\.com|cdn\.redoc\.ly|esm\.sh|cdn\.skypack\.dev)"
)


def test_vendored_files_match_their_manifest_and_pins():
    committed = json.loads(vendor.MANIFEST.read_text())
    assert committed == vendor.manifest(), "run: python -m runtime.server.vendor"
    for package, (version, files, licence) in vendor.VENDORED.items():
        entry = committed[package]
        assert entry["version"] == version and entry["licence"] == licence
        folder = vendor.folder(package)
        assert (folder / "LICENSE").read_text().strip(), f"{package} has no licence text"
        assert set(entry["files"]) == {Path(f).name for f in files} | {"LICENSE"}


def test_nothing_served_names_a_cdn():
    offenders = []
    for folder in ("runtime", "ui_schema"):
        for path in (ROOT / folder).rglob("*"):
            served = path.suffix in (".py", ".html", ".js", ".css", ".ts") and path.is_file()
            if served and CDN.search(path.read_text(errors="replace")):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
