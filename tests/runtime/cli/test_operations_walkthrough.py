"""docs/operations.md's restore walkthrough, run as written: a backup of one instance
restored into a new, empty one (PostgreSQL when the suite has it, else SQLite)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from metadata.validation import validate_file
from runtime.settings import Settings
from runtime.wiring import Platform
from tests.conftest import DEMO_METADATA, ROOT
from tests.runtime.test_backup import empty_instance

PAGE = ROOT / "docs" / "operations.md"


def walkthrough() -> str:
    text = PAGE.read_text(encoding="utf-8")
    after = text[text.index("<!-- restore-walkthrough -->") :]
    return re.search(r"```sh\n(.*?)```", after, re.S).group(1)


def test_the_documented_restore_runs(tmp_path):
    """From SQLite to PostgreSQL when the suite has a server (CI), else to SQLite."""
    kind = "postgresql" if os.environ.get("TESSERA_TEST_DATABASE_URL") else "sqlite"
    old_url = f"sqlite:///{tmp_path}/old/tessera.sqlite3"
    env = {**os.environ, "TESSERA_SECRET_KEY": "w" * 40, "TESSERA_DATA_DIR": str(tmp_path / "d")}
    old = Platform(Settings.from_env(env, database_url=old_url))
    old.service.create_tenant("acme", timezone="Asia/Shanghai")
    old.service.apply("acme", validate_file(DEMO_METADATA), author="alice", message="first")
    old.identity.create_user("boss@acme.example", "walkthrough-password")
    old.identity.set_membership("acme", "boss@acme.example", tenant_admin=True)
    old.close()
    with empty_instance(kind, tmp_path) as fresh:
        new_url = (
            f"sqlite:///{fresh.backend.path}"
            if kind == "sqlite"
            else fresh.backend.control.url.render_as_string(hide_password=False)
        )
        bin_dir = Path(sys.executable).parent
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walkthrough()],
            env={
                **env,
                "PATH": f"{bin_dir}:{env['PATH']}",
                "OLD_DATABASE_URL": old_url,
                "NEW_DATABASE_URL": new_url,
                "BACKUP": str(tmp_path / "tessera-backup.tar.gz"),
                "COLUMNS": "200",
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        out = done.stdout
        assert "Restored 1 tenant(s)" in out
        assert "acme" in out and "first" in out and "alice" in out  # the history came along
        assert "boss@acme.example" in out
        identity = Platform(Settings.from_env(env), service=fresh).identity
        assert identity.login("boss@acme.example", "walkthrough-password", "acme")["access_token"]
