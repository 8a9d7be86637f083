"""Pack format: reading, checking (every error with its file and line), versions, the
three-way merge and archives. No database needed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from metadata.errors import MetadataError
from metadata.packs.catalog import APPS_DIR, Catalog, PackError, resolve
from metadata.packs.loader import read_pack, write_archive
from metadata.packs.merge import merge
from metadata.packs.versions import Version, VersionError, VersionRange

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "packs"
SHIPPED = ["auto_dealer", "core_crm", "education", "manufacturing"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_packs_are_valid_and_bilingual(name):
    catalog = Catalog()
    pack = catalog.get(name)
    assert catalog.check(pack) == []
    assert set(pack.manifest.label.to_json()) == {"en", "zh-CN"}
    assert pack.objects and pack.sample_data
    assert any(True for _ in pack.items())  # roles, permission sets, workflows, views


def test_catalog_lists_the_shipped_packs():
    assert set(SHIPPED) <= set(Catalog(APPS_DIR).names())


def copy_pack(tmp_path: Path, name: str = "fleet_v1") -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def test_every_error_is_reported_with_its_file_and_line(tmp_path):
    pack = copy_pack(tmp_path)
    objects = pack / "objects.yaml"
    text = objects.read_text(encoding="utf-8")
    text = text.replace("colour: {type: text,", "colour: {type: txt,")  # line 7
    text = text.replace(
        "account: {type: lookup, to: account,", "account: {type: lookup, to: acount,"
    )
    objects.write_text(text, encoding="utf-8")
    (pack / "security.yaml").write_text(
        "permission_sets:\n  fleet_user:\n    label: Fleet user\n    objects: {}\n",
        encoding="utf-8",
    )
    with pytest.raises(MetadataError) as structural:
        read_pack(pack)
    [issue] = structural.value.errors
    assert (Path(issue.file).name, issue.line) == ("objects.yaml", 7)
    assert "'txt' is not a field type" in issue.message

    objects.write_text(text.replace("{type: txt,", "{type: text,"), encoding="utf-8")
    catalog = Catalog(FIXTURES)
    found = catalog.check(catalog.add(pack))
    where = {(Path(i.file).name, i.line, i.code) for i in found}
    assert ("objects.yaml", 8, "unknown_reference") in where or any(
        i.line == 8 and "acount" in i.message for i in found
    )
    # The permission set lacks the publisher's prefix and a zh-CN label.
    assert ("security.yaml", 2, "namespace") in where
    assert ("security.yaml", 3, "missing_translation") in where


def test_an_invalid_manifest_names_its_fields(tmp_path):
    pack = copy_pack(tmp_path)
    manifest = pack / "pack.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8")
        .replace("version: 1.0.0", "version: 1.0")
        .replace("base: ^1.0", "base: '>>1'"),
        encoding="utf-8",
    )
    with pytest.raises(MetadataError) as error:
        read_pack(pack)
    messages = {(i.pointer, i.line): i.message for i in error.value.errors}
    # YAML reads 1.0 as a number: the message says so rather than quote a pattern.
    assert messages[("/version", 3)] == "expected text, found a number (1.0)"
    assert "is not a version range" in messages[("/dependencies/base", 8)]


def test_extending_an_object_no_dependency_has_is_an_error(tmp_path):
    pack = copy_pack(tmp_path)
    (pack / "extensions.yaml").write_text(
        "extends:\n  invoice:\n    fields:\n      acme_x: {type: text, label: {en: X, zh-CN: X}}\n",
        encoding="utf-8",
    )
    catalog = Catalog(FIXTURES)
    [issue] = [i for i in catalog.check(catalog.add(pack)) if i.code == "unknown_object"]
    assert (Path(issue.file).name, issue.line) == ("extensions.yaml", 2)
    assert "extends object 'invoice', which none of the pack's dependencies has" in issue.message


def test_archives_hold_the_same_pack(tmp_path):
    catalog = Catalog(FIXTURES)
    pack = catalog.get("acme_fleet")
    archive = write_archive(pack, tmp_path / "fleet.tpack")
    again = read_pack(archive)
    assert again.manifest == pack.manifest
    assert again.objects == pack.objects and again.sample_data == pack.sample_data
    assert catalog.check(again) == []
    # An archive dropped into the apps folder is offered like a folder.
    assert Catalog(tmp_path).names() == ["acme_fleet"]


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("^1.2", ["1.2.0", "1.9.9"], ["1.1.9", "2.0.0"]),
        ("^0.3", ["0.3.1"], ["0.4.0"]),
        ("~1.4", ["1.4.7"], ["1.5.0"]),
        (">=1.0 <2", ["1.0.0", "1.99.0"], ["0.9.0", "2.0.0"]),
        ("1.2.3", ["1.2.3"], ["1.2.4"]),
        ("*", ["0.0.1", "9.0.0"], []),
    ],
)
def test_version_ranges(text, inside, outside):
    wanted = VersionRange.parse(text)
    assert all(wanted.allows(Version.parse(v)) for v in inside)
    assert not any(wanted.allows(Version.parse(v)) for v in outside)


def test_versions_order_prereleases_first():
    assert Version.parse("1.0.0-rc.2") < Version.parse("1.0.0")
    assert Version.parse("1.0.0-rc.2") > Version.parse("1.0.0-rc.1")
    with pytest.raises(VersionError):
        Version.parse("v1")


def test_resolution_installs_missing_dependencies_first():
    catalog = Catalog(FIXTURES)
    fleet = catalog.get("acme_fleet")
    assert [p.name for p in resolve([fleet], {}, catalog)] == ["base", "acme_fleet"]
    assert [p.name for p in resolve([fleet], {"base": Version(1, 2, 0)}, catalog)] == ["acme_fleet"]
    with pytest.raises(PackError) as error:
        resolve([fleet], {"base": Version(2, 0, 0)}, catalog)
    assert error.value.problems == [
        "acme_fleet 2.0.0 needs base ^1.0, but the tenant has base 2.0.0: upgrade base first"
    ]


def test_merge_keeps_tenant_changes_takes_pack_changes_and_reports_conflicts():
    base = {"/objects/a": {"label": {"en": "A"}}, "/objects/a/fields/x": {"type": "text"}}
    pack = {
        "/objects/a": {"label": {"en": "A2"}},
        "/objects/a/fields/x": {"type": "long_text"},
        "/objects/a/fields/y": {"type": "integer"},
    }
    tenant = {
        "/objects/a": {"label": {"en": "Mine"}},
        "/objects/a/fields/x": {"type": "text", "required": True},
        "/objects/a/fields/z": {"type": "date"},
    }
    result = merge(base, pack, tenant)
    assert result.units["/objects/a/fields/x"] == {"type": "long_text", "required": True}
    assert result.units["/objects/a/fields/y"] == {"type": "integer"}
    assert result.units["/objects/a/fields/z"] == {"type": "date"}
    assert [(c.pointer, c.tenant) for c in result.conflicts] == [("/objects/a/label/en", "Mine")]
    assert merge(base, pack, tenant, prefer="pack").units["/objects/a"] == {"label": {"en": "A2"}}
    # A field the pack removes and the tenant left alone goes.
    assert "/objects/a/fields/x" not in merge(base, {"/objects/a": base["/objects/a"]}, base).units


@pytest.mark.parametrize("name", SHIPPED)
def test_committed_pack_docs_are_current(name):
    from metadata.packs.docs import doc_path, render_pack_doc

    pack = Catalog().get(name)
    assert doc_path(pack).read_text(encoding="utf-8") == render_pack_doc(pack), (
        f"docs/apps/{name}.md is stale: run tessera app docs"
    )


def test_the_pack_examples_in_the_docs_are_the_fixture_files():
    page = (Path(__file__).resolve().parents[2] / "docs" / "packs.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml file=(\S+)\n(.*?)```", page, re.S)
    assert len(blocks) >= 4
    root = Path(__file__).resolve().parents[2]
    for path, text in blocks:
        assert (root / path).read_text(encoding="utf-8") == text, path
