"""Attachments end to end, on both backends: uploads through the API with the record's
permissions and the field's limits, downloads checked against the checksum, files gone
or changed in the store reported as such, and the file store kept in step with records."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from metadata.validation import validate_data
from runtime.server.app import create_app
from runtime.settings import Settings

META = {
    "objects": {
        "contract": {
            "fields": {
                "name": {"type": "text", "required": True},
                "scan": {
                    "type": "attachment",
                    "max_size": 1000,
                    "content_types": ["application/pdf", "image/*"],
                },
            }
        },
        "memo": {"fields": {"title": {"type": "text"}}},
    },
    "roles": {"clerk": {"label": "Clerk"}, "viewer": {"label": "Viewer"}},
    "permission_sets": {
        "clerks": {
            "label": "Clerks",
            "roles": ["clerk"],
            "objects": {"contract": {"allow": ["read", "update"], "access": "tenant"}},
        },
        "viewers": {
            "label": "Viewers",
            "roles": ["viewer"],
            "objects": {
                "contract": {"allow": ["read"], "access": "tenant"},
                "memo": {"allow": ["read"], "access": "tenant"},
            },
        },
    },
}
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 2
PASSWORD = "files-test-password"


class World:
    def __init__(self, client: TestClient, tenant: str, store: Any, tokens: dict[str, str]):
        self.client, self.tenant, self.store, self.tokens = client, tenant, store, tokens

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def gql(self, query: str, who: str = "clerk", **variables: Any) -> dict[str, Any]:
        body = self.client.post(
            f"/t/{self.tenant}/graphql",
            json={"query": query, "variables": variables},
            headers=self.as_(who),
        ).json()
        assert "errors" not in body, body
        return body["data"]

    def url(self, record_id: str, field: str = "scan") -> str:
        return f"/t/{self.tenant}/files/contract/{record_id}/{field}"

    def put(self, record_id: str, data: bytes, who: str = "clerk", **kw: Any) -> Any:
        headers = {**self.as_(who), "Content-Type": kw.pop("type", "application/pdf")}
        params = {"name": kw.pop("name", "合同 2026.pdf")}
        return self.client.put(self.url(record_id), content=data, headers=headers, params=params)

    def stored(self) -> list[str]:
        return self.store.names()


class Folder:
    """The default store, seen from outside: files under a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        return sorted(str(p) for p in self.root.rglob("*") if p.is_file())

    def write(self, name: str, data: bytes) -> None:
        Path(name).write_bytes(data)

    def remove(self, name: str) -> None:
        Path(name).unlink()

    def break_(self) -> None:
        """The folder is gone, and a file stands in its place (a mount lost, say): it
        can be neither written nor read, even by root."""
        self.root.rename(self.root.with_name("files.lost"))
        self.root.write_bytes(b"")


class Bucket:
    """An S3-compatible store, seen from outside: objects in a bucket of a real S3 API
    (moto's server, over HTTP)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client, self.bucket = client, bucket

    def names(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return sorted(o["Key"] for o in listed)

    def write(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=name, Body=data)

    def remove(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=name)

    def break_(self) -> None:
        """The bucket is gone."""
        for name in self.names():
            self.client.delete_object(Bucket=self.bucket, Key=name)
        self.client.delete_bucket(Bucket=self.bucket)


@pytest.fixture(scope="session")
def s3_endpoint() -> Any:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["folder", "s3"])
def store(request, tmp_path, monkeypatch) -> tuple[dict[str, Any], Any]:
    """Settings for each file store, and a view of what the store holds."""
    if request.param == "folder":
        return {"files_dir": tmp_path / "files"}, Folder(tmp_path / "files")
    import boto3

    endpoint = request.getfixturevalue("s3_endpoint")
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "tessera-test"),
        ("AWS_SECRET_ACCESS_KEY", "tessera-test-secret"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    bucket = f"files-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=bucket)
    settings = {"files_s3_bucket": bucket, "files_s3_endpoint": endpoint}
    return settings, Bucket(client, bucket)


@pytest.fixture
def world(service, store) -> World:
    tenant = f"f{uuid.uuid4().hex[:8]}"
    service.create_tenant(tenant)
    service.apply(tenant, validate_data(META))
    kept, view = store
    settings = Settings(secret_key="f" * 40, password_hashing="fast", **kept)
    app = create_app(settings, service=service)
    with TestClient(app) as client:
        identity = app.state.identity
        tokens = {}
        for role in ("clerk", "viewer"):
            email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
            identity.create_user(email, PASSWORD)
            identity.set_membership(tenant, email, role=role)
            tokens[role] = identity.login(email, PASSWORD, tenant)["access_token"]
        admin = f"admin-{uuid.uuid4().hex[:6]}@example.com"
        identity.create_user(admin, PASSWORD)
        identity.set_membership(tenant, admin, tenant_admin=True)
        tokens["admin"] = identity.login(admin, PASSWORD, tenant)["access_token"]
        yield World(client, tenant, view, tokens)


def new_contract(world: World) -> str:
    made = world.gql('mutation { createContract(input: {name: "采购合同"}) { id } }', "admin")
    return made["createContract"]["id"]


def test_an_upload_is_described_on_the_record_and_downloads_whole(world):
    record = new_contract(world)
    answer = world.put(record, PDF)
    assert answer.status_code == 200, answer.text
    checksum = hashlib.sha256(PDF).hexdigest()
    assert answer.json() == {
        "name": "合同 2026.pdf",
        "size": len(PDF),
        "contentType": "application/pdf",
        "checksum": checksum,
    }
    seen = world.gql(
        "query($id: ID!) { contract(id: $id) { scan { name size contentType checksum url } } }",
        "viewer",
        id=record,
    )["contract"]["scan"]
    assert seen == {**answer.json(), "url": world.url(record)}
    got = world.client.get(seen["url"], headers=world.as_("viewer"))
    assert got.status_code == 200
    assert got.content == PDF
    assert got.headers["content-type"].startswith("application/pdf")
    assert got.headers["etag"] == f'"{checksum}"'
    assert "filename*=UTF-8''%E5%90%88%E5%90%8C%202026.pdf" in got.headers["content-disposition"]
    has_file = "{ contracts(filter: {scan: {isNull: false}}) { totalCount } }"
    assert world.gql(has_file)["contracts"]["totalCount"] == 1


def test_a_new_upload_replaces_the_file_and_delete_removes_it(world):
    record = new_contract(world)
    assert world.put(record, PDF).status_code == 200
    [first] = world.stored()
    assert world.put(record, b"\x89PNG...", type="image/png", name="scan.png").status_code == 200
    [second] = world.stored()
    assert first != second  # the first file is gone from the store
    assert world.client.delete(world.url(record), headers=world.as_("clerk")).status_code == 204
    assert world.stored() == []
    query = "query($id: ID!) { contract(id: $id) { scan { name } } }"
    assert world.gql(query, id=record)["contract"]["scan"] is None
    assert world.client.get(world.url(record), headers=world.as_("clerk")).status_code == 404


def test_limits_refuse_before_anything_is_kept(world):
    record = new_contract(world)
    too_big = world.put(record, b"%PDF" + b"x" * 1000)
    assert too_big.status_code == 413
    assert too_big.headers["content-type"] == "application/problem+json"
    wrong = world.put(record, b"hello", type="text/plain", name="a.txt")
    assert wrong.status_code == 415
    assert "application/pdf, image/*" in wrong.json()["detail"]
    assert world.put(record, b"x", name="").status_code == 400
    assert world.stored() == []
    query = "query($id: ID!) { contract(id: $id) { scan { name } } }"
    assert world.gql(query, id=record)["contract"]["scan"] is None


def test_permissions_are_the_records(world):
    record = new_contract(world)
    # A viewer may download but not upload or delete.
    refused = world.put(record, PDF, who="viewer")
    assert refused.status_code == 403
    assert world.client.delete(world.url(record), headers=world.as_("viewer")).status_code == 403
    # No such record, or another tenant's name for it: the same 404, nothing named.
    missing = world.put(str(uuid.uuid4()), PDF)
    assert missing.status_code == 404
    assert (
        world.client.get(
            f"/t/{world.tenant}/files/memo/{record}/scan", headers=world.as_("viewer")
        ).status_code
        == 404
    )
    assert world.client.get(world.url(record)).status_code == 401
    assert world.stored() == []


def test_a_file_gone_or_changed_in_the_store_is_reported_as_such(world):
    record = new_contract(world)
    assert world.put(record, PDF).status_code == 200
    [blob] = world.stored()
    world.store.write(blob, PDF[:-1] + b"!")
    corrupt = world.client.get(world.url(record), headers=world.as_("clerk"))
    assert corrupt.status_code == 409
    assert corrupt.json()["type"].endswith("/file-corrupt")
    world.store.remove(blob)
    gone = world.client.get(world.url(record), headers=world.as_("clerk"))
    assert gone.status_code == 404
    assert gone.json()["type"].endswith("/file-missing")
    assert "合同 2026.pdf" in gone.json()["detail"]


def test_a_store_that_cannot_take_or_give_files_answers_503(world):
    record = new_contract(world)
    assert world.put(record, PDF).status_code == 200
    world.store.break_()
    refused = world.put(record, PDF, name="second.pdf")
    assert refused.status_code == 503, refused.text
    assert refused.json()["type"].endswith("/file-store-unavailable")
    down = world.client.get(world.url(record), headers=world.as_("clerk"))
    assert down.status_code == 503
    # The record still describes the first file, which nothing replaced.
    query = "query($id: ID!) { contract(id: $id) { scan { name } } }"
    assert world.gql(query, id=record)["contract"]["scan"] == {"name": "合同 2026.pdf"}
