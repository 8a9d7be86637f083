"""Settings: one declared list, documented and exampled from it, with clear refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runtime.security.identity import load_secret
from runtime.settings import VARIABLES, Settings, SettingsError, env_example, markdown_table
from runtime.storage.backends import make_backend

ROOT = Path(__file__).parents[2]
BEGIN, END = "<!-- settings:begin -->\n", "<!-- settings:end -->"


def test_operations_md_lists_every_setting_as_generated():
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    table = page[page.index(BEGIN) + len(BEGIN) : page.index(END)]
    assert table == markdown_table(), "run: tessera settings --markdown"


def test_the_env_example_holds_every_setting_as_generated():
    example = (ROOT / "platform" / "tessera.env.example").read_text(encoding="utf-8")
    assert example == env_example(), "run: tessera settings --env > platform/tessera.env.example"
    for v in VARIABLES:
        assert f"{v.name}=" in example


def test_every_tessera_variable_the_code_reads_is_declared():
    declared = {v.name for v in VARIABLES}
    found = set()
    for folder in ("runtime", "metadata", "platform"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".yaml", ".yml", ".service", ".tpl"):
                found |= set(re.findall(r"TESSERA_[A-Z][A-Z0-9_]*[A-Z0-9]", path.read_text()))
    # Prefixes of families named in prose (TESSERA_MAX_*, TESSERA_WORKFLOW_*, and the
    # webhook secrets' TESSERA_HOOK_SECRET_*, which docs/workflows.md explains).
    found -= {"TESSERA_MAX", "TESSERA_WORKFLOW", "TESSERA_EMAIL", "TESSERA_HOOK_SECRET"}
    # The compose file's own variables are not settings, but they are documented too.
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    undocumented = [name for name in sorted(found - declared) if f"`{name}`" not in page]
    assert undocumented == []


def test_the_data_folder_is_absolute_and_never_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match="TESSERA_DATA_DIR must be an absolute path"):
        Settings.from_env({"TESSERA_DATA_DIR": ".tessera"})
    with pytest.raises(SettingsError, match="relative path"):
        Settings.from_env({"TESSERA_DATABASE_URL": "sqlite:///.tessera/t.sqlite3"})
    home = Settings.from_env({"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": ""})
    assert home.data_dir.is_absolute() and not home.data_dir.is_relative_to(tmp_path / "x")
    chosen = Settings.from_env({"TESSERA_DATA_DIR": str(tmp_path / "data")})
    assert chosen.database_url == f"sqlite:///{tmp_path}/data/tessera.sqlite3"
    assert list(tmp_path.iterdir()) == []  # reading settings wrote nothing


def test_an_unwritable_data_folder_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings = Settings.from_env({"TESSERA_DATA_DIR": str(blocker / "data")})
    with pytest.raises(SettingsError, match=r"TESSERA_DATA_DIR .*a-file/data is not writable"):
        load_secret(settings)
    with pytest.raises(SettingsError, match=r"a-file/data cannot be written"):
        make_backend(settings)


def test_production_needs_a_secret_key_and_says_how_to_make_one(tmp_path):
    settings = Settings.from_env({"TESSERA_ENV": "production", "TESSERA_DATA_DIR": str(tmp_path)})
    with pytest.raises(SettingsError, match=r"TESSERA_SECRET_KEY is not set.*token_urlsafe"):
        settings.check()
    with pytest.raises(SettingsError, match="TESSERA_ENV must be one of"):
        Settings.from_env({"TESSERA_ENV": "prod"})
    ok = Settings.from_env(
        {"TESSERA_ENV": "production", "TESSERA_SECRET_KEY": "k" * 40, "TESSERA_DATA_DIR": "/x"}
    )
    assert ok.check().effective_log_format == "json"
    with pytest.raises(SettingsError, match="TESSERA_CLOCK_OFFSET"):
        Settings.from_env(
            {
                "TESSERA_ENV": "production",
                "TESSERA_SECRET_KEY": "k" * 40,
                "TESSERA_CLOCK_OFFSET": "60",
            }
        ).check()


def test_lists_and_classes_parse_and_bad_ones_name_the_variable():
    s = Settings.from_env(
        {
            "TESSERA_CORS_ORIGINS": "https://a.example, https://b.example",
            "TESSERA_TENANT_CLASSES": "vip_*=enterprise,demo*=demo",
            "TESSERA_METRICS": "false",
        }
    )
    assert s.cors_origins == ("https://a.example", "https://b.example")
    assert s.tenant_classes == (("vip_*", "enterprise"), ("demo*", "demo"))
    assert s.metrics is False
    with pytest.raises(SettingsError, match="TESSERA_TENANT_CLASSES"):
        Settings.from_env({"TESSERA_TENANT_CLASSES": "vip"})
    with pytest.raises(SettingsError, match="TESSERA_WORKFLOW_TICK"):
        Settings.from_env({"TESSERA_WORKFLOW_TICK": "soon"})
