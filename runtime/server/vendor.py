"""Vendored browser assets: GraphiQL (with React), Swagger UI, and the web app's Vue and
Apache ECharts, served by Tessera itself so its pages work with no internet.

``VENDORED`` pins each npm package and the files taken from it. Refresh them with::

    python -m runtime.server.vendor

which runs ``npm pack`` for each pinned package (npm's registry only; no CDN), copies
the listed files and the package's licence into ``runtime/server/static/vendor/``, and
writes ``manifest.json`` with every file's SHA-256. The files are committed; a test
checks them against the manifest and this list, and that nothing served names a CDN.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor"
MANIFEST = VENDOR / "manifest.json"

#: npm package → (version, files inside the package, licence). GraphiQL 3 is the last
#: release with a browser (UMD) build; it needs React 18's UMD builds beside it.
VENDORED: dict[str, tuple[str, tuple[str, ...], str]] = {
    "graphiql": ("3.8.3", ("graphiql.min.js", "graphiql.min.css"), "MIT"),
    "react": ("18.3.1", ("umd/react.production.min.js",), "MIT"),
    "react-dom": ("18.3.1", ("umd/react-dom.production.min.js",), "MIT"),
    # The web app (runtime/server/webapp.py): Vue's browser ES module build, which
    # compiles the app's templates in the page (no build step), and ECharts' ES module,
    # imported only by the pages that draw a chart.
    "vue": ("3.5.13", ("dist/vue.esm-browser.prod.js",), "MIT"),
    "echarts": ("5.6.0", ("dist/echarts.esm.min.js",), "Apache-2.0"),
    "swagger-ui-dist": (
        "5.32.0",
        ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"),
        "Apache-2.0",
    ),
}


def folder(package: str) -> Path:
    return VENDOR / f"{package}-{VENDORED[package][0]}"


def url(package: str, name: str) -> str:
    """Return the path a vendored file is served at."""
    return f"/static/vendor/{package}-{VENDORED[package][0]}/{Path(name).name}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest() -> dict[str, dict[str, object]]:
    """Return what the committed files should be (package → version, licence, hashes)."""
    out: dict[str, dict[str, object]] = {}
    for package, (version, files, licence) in VENDORED.items():
        names = [Path(f).name for f in files] + ["LICENSE"]
        out[package] = {
            "version": version,
            "licence": licence,
            "files": {n: sha256(folder(package) / n) for n in names},
        }
    return out


def fetch() -> None:
    """Download the pinned packages with npm and copy their files in (needs npm)."""
    if shutil.which("npm") is None:
        sys.exit("npm is needed to refresh the vendored assets")
    shutil.rmtree(VENDOR, ignore_errors=True)
    VENDOR.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        for package, (version, files, _) in VENDORED.items():
            subprocess.run(
                ["npm", "pack", f"{package}@{version}", "--silent"],
                cwd=scratch,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            tarball = next(Path(scratch).glob(f"{package}-{version}.tgz"))
            target = folder(package)
            target.mkdir()
            with tarfile.open(tarball) as archive:
                for name in (*files, "LICENSE"):
                    member = archive.extractfile(f"package/{name}")
                    assert member is not None, f"{package}@{version} has no {name}"
                    (target / Path(name).name).write_bytes(member.read())
    MANIFEST.write_text(json.dumps(manifest(), indent=2, sort_keys=True) + "\n")
    print(f"Wrote {VENDOR}")


if __name__ == "__main__":
    fetch()
