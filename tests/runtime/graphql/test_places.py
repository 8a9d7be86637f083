"""The address and geolocation kinds end to end, on both backends: metadata → columns →
GraphQL write, read and filter → the record service's bulk path and seeds."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from metadata.validation import validate_data
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.packs.records import insert_sample_data
from tests.runtime.graphql.conftest import Api

META = {
    "objects": {
        "store": {
            "fields": {
                "name": {"type": "text", "required": True},
                "address": {"type": "address"},
                "location": {"type": "geolocation"},
            }
        }
    }
}
# People's Square, Shanghai; the Bund (about 1.3 km east); Beijing (about 1,070 km).
SQUARE = {"latitude": 31.2304, "longitude": 121.4737}
BUND = {"latitude": 31.2400, "longitude": 121.4900}
BEIJING = {"latitude": 39.9042, "longitude": 116.4074}

CREATE = """mutation($input: StoreCreateInput!) {
  createStore(input: $input) { id name address { province city district street postalCode line }
    location { latitude longitude } } }"""


@pytest.fixture
def stores(service) -> Api:
    service.create_tenant("places")
    service.apply("places", validate_data(META))
    api = Api(service, ActiveApis(service, SchemaCache()), tenant="places")
    for name, address, location in (
        (
            "人民广场店",
            {"province": "上海市", "city": "上海市", "district": "黄浦区", "street": "南京东路1号"},
            SQUARE,
        ),
        ("外滩店", {"province": "上海市", "city": "上海市", "district": "黄浦区"}, BUND),
        ("王府井店", {"province": "北京市", "city": "北京市", "district": "东城区"}, BEIJING),
        ("无址店", None, None),
    ):
        api(CREATE, {"input": {"name": name, "address": address, "location": location}})
    return api


def names(api: Api, where: str) -> list[str]:
    data = api(f"{{ stores(filter: {where}, orderBy: {{name: ASC}}) {{ nodes {{ name }} }} }}")
    return [n["name"] for n in data["stores"]["nodes"]]


def test_the_columns_follow_the_kinds(stores):
    backend = stores.service.backend
    with backend.read_tenant("places") as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("store", backend.schema("places"))}
    assert {
        "address",
        "address__country",
        "address__province",
        "address__city",
        "address__district",
        "address__street",
        "address__postal_code",
        "location",
        "location__lng",
    } <= columns


def test_a_written_place_reads_back_whole(stores):
    created = stores(
        CREATE,
        {
            "input": {
                "name": "科技园店",
                "address": {
                    "province": "广东省",
                    "city": "深圳市",
                    "district": "南山区",
                    "street": "科技园路1号",
                    "postalCode": "518057",
                },
                "location": {"latitude": 22.5431, "longitude": 113.9538},
            }
        },
    )["createStore"]
    assert created["address"] == {
        "province": "广东省",
        "city": "深圳市",
        "district": "南山区",
        "street": "科技园路1号",
        "postalCode": "518057",
        "line": "广东省 深圳市 南山区 科技园路1号 518057",
    }
    assert created["location"] == {"latitude": 22.5431, "longitude": 113.9538}
    empty = stores(
        '{ stores(filter: {name: {eq: "无址店"}}) { nodes { address { city } location { latitude } } } }'
    )
    assert empty["stores"]["nodes"] == [{"address": None, "location": None}]


def test_places_filter_by_their_parts_and_by_distance(stores):
    assert names(stores, '{address: {city: {eq: "上海市"}}}') == ["人民广场店", "外滩店"]
    assert names(stores, '{address: {district: {eq: "东城区"}}}') == ["王府井店"]
    assert names(stores, '{address: {line: {contains: "南京东路"}}}') == ["人民广场店"]
    assert names(stores, "{address: {isNull: true}}") == ["无址店"]
    near = "{location: {within: {latitude: 31.2304, longitude: 121.4737, km: %s}}}"
    assert names(stores, near % 0.5) == ["人民广场店"]
    assert names(stores, near % 2) == ["人民广场店", "外滩店"]
    assert names(stores, near % 1100) == ["人民广场店", "外滩店", "王府井店"]
    assert names(stores, "{location: {isNull: true}}") == ["无址店"]


def test_bad_places_are_refused_by_path(stores):
    error = stores.error(
        CREATE, {"input": {"name": "x", "location": {"latitude": 91, "longitude": 0}}}
    )
    assert error["extensions"]["code"] == "INVALID_VALUE"
    assert error["extensions"]["field"] == ["createStore", "input", "location", "latitude"]
    assert error["extensions"]["messages"]["zh-CN"].startswith("纬度 91")
    error = stores.error(
        "{ stores(filter: {location: {within: {latitude: 0, longitude: 0, km: -1}}}) { totalCount } }"
    )
    assert error["extensions"]["field"][-1] == "within"
    error = stores.error(CREATE, {"input": {"name": "x", "address": {"street": "路" * 501}}})
    assert error["extensions"]["code"] == "VALUE_TOO_LONG"
    assert error["extensions"]["field"] == ["createStore", "input", "address", "street"]


def test_places_go_through_bulk_writes_and_seeds(stores):
    many = stores(
        """mutation($inputs: [StoreCreateInput!]!) { createStores(inputs: $inputs) {
             address { city } location { longitude } } }""",
        {
            "inputs": [
                {"name": f"分店{i}", "address": {"city": "杭州市"}, "location": SQUARE}
                for i in range(3)
            ]
        },
    )["createStores"]
    assert many == [{"address": {"city": "杭州市"}, "location": {"longitude": 121.4737}}] * 3
    service = stores.service
    schema = service.backend.schema("places")
    _, snapshot = service.active("places")
    with service.backend.begin_tenant("places") as conn:
        insert_sample_data(
            conn,
            schema,
            snapshot.model,
            {"store": [{"name": "样例店", "address": {"city": "苏州市"}, "location": BUND}]},
            keys={},
            skip=set(),
        )
    assert names(stores, '{address: {city: {in: ["杭州市", "苏州市"]}}}') == [
        "分店0",
        "分店1",
        "分店2",
        "样例店",
    ]


def test_places_survive_an_export_and_an_import(stores, tmp_path):
    from runtime.backup.tenant_archive import export_tenant, import_tenant
    from tests.runtime.test_backup import _platform

    platform = _platform(stores.service)
    export_tenant(platform, "places", tmp_path / "places.tar.gz")
    import_tenant(platform, tmp_path / "places.tar.gz", name="places2", members=False)
    query = "{ stores(orderBy: {name: ASC}) { nodes { name address { line } location { latitude longitude } } } }"
    copy = Api(stores.service, ActiveApis(stores.service, SchemaCache()), tenant="places2")
    assert copy(query) == stores(query)
    assert BUND in [n["location"] for n in copy(query)["stores"]["nodes"]]
