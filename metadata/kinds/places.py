"""Place kinds: a postal address in Chinese order, and a point on Earth.

Both span several columns. An address keeps each part in a column of its own (so it can
be filtered by province or city) and one line of all of them in the field's own column
(for search and for display); a geolocation keeps latitude in the field's column and
longitude beside it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from metadata.kinds.base import Column, Kind, ValueProblem
from metadata.model import Field

#: Address parts in Chinese order (largest first), their API names and longest values.
ADDRESS_PARTS = (
    ("country", "country", 100),
    ("province", "province", 100),
    ("city", "city", 100),
    ("district", "district", 100),
    ("street", "street", 500),
    ("postal_code", "postalCode", 20),
)
_LINE_LENGTH = 1000
_MUNICIPALITIES = ("北京市", "上海市", "天津市", "重庆市")
_CHINESE_ADDRESS = re.compile(
    r"^(?P<country>中国|中华人民共和国)?"
    r"(?P<province>北京市|上海市|天津市|重庆市|[^省]{2,7}?省|.{2,11}?自治区|.{2,4}?特别行政区)?"
    r"(?P<city>[^市州盟区县]{1,10}?(?:市|自治州|地区|盟))?"
    r"(?P<district>[^区县旗]{1,10}?(?:区|县|旗|市))?"
    r"(?P<street>.*?)"
    r"(?:\s*(?:邮编[:：]?\s*)?(?P<postal_code>\d{6}))?$"
)
_HAN = re.compile(r"[\u4e00-\u9fff]")
#: Which parts an English address of n comma-separated cells names.
_ENGLISH_LAYOUTS = {
    2: ("street", "city"),
    3: ("street", "city", "country"),
    4: ("street", "city", "province", "country"),
    5: ("street", "district", "city", "province", "country"),
}


class AddressKind(Kind):
    """A value is a dict of the parts that are given (``country``, ``province``,
    ``city``, ``district``, ``street``, ``postal_code``)."""

    name = "address"
    storage = "text"  # lengths are the kind's to check, part by part
    graphql = "Address"
    filter = "address"
    widget = "address"
    sortable = False
    searchable = True

    @staticmethod
    def part_column(field: str, part: str) -> str:
        return f"{field}__{part}"

    def columns(self, f: Field) -> list[Column]:
        return [
            Column(f.name, "text"),
            *(Column(self.part_column(f.name, part), "text") for part, _, _ in ADDRESS_PARTS),
        ]

    def to_columns(self, f: Field, value: Any) -> dict[str, Any]:
        value = value or {}
        out = {self.part_column(f.name, part): value.get(part) for part, _, _ in ADDRESS_PARTS}
        out[f.name] = self.line(value) if value else None
        return out

    @staticmethod
    def line(value: dict[str, str]) -> str:
        """One line of the parts, in Chinese order: ``中国 广东省 深圳市 南山区 …``."""
        return " ".join(value[part] for part, _, _ in ADDRESS_PARTS if value.get(part))

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueProblem.expected(
                value,
                self.name,
                "an object of parts: country, province, city, district, street, postalCode",
                "由各部分组成的对象：country、province、city、district、street、postalCode",
            )
        names = {api: part for part, api, _ in ADDRESS_PARTS} | {
            part: part for part, _, _ in ADDRESS_PARTS
        }
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueProblem(
                f"an address has no part {unknown[0]!r}; its parts are country, province, "
                "city, district, street and postalCode",
                f"地址没有 {unknown[0]!r} 这一项；可用的有 country、province、city、district、"
                "street、postalCode",
                "BAD_USER_INPUT",
                part=unknown[0],
            )
        out = {}
        for key, text in value.items():
            if text is None:
                continue
            if not isinstance(text, str):
                raise ValueProblem(
                    f"the address's {key} must be text, not {text!r}",
                    f"地址的 {key} 须为文本，而不是 {text!r}",
                    "BAD_USER_INPUT",
                    part=key,
                )
            if text.strip():
                out[names[key]] = text.strip()
        return out or None

    def check(self, f: Field, value: Any, name: str) -> None:
        for part, api, limit in ADDRESS_PARTS:
            text = value.get(part)
            if text is not None and len(text) > limit:
                raise ValueProblem(
                    f"{name}.{api} is {len(text)} characters long; the limit is {limit}",
                    f"{name}.{api} 长 {len(text)} 个字符，上限为 {limit}",
                    "VALUE_TOO_LONG",
                    part=api,
                )
        if len(self.line(value)) > _LINE_LENGTH:
            raise ValueProblem(
                f"{name} is longer than {_LINE_LENGTH} characters in all",
                f"{name} 总长超过 {_LINE_LENGTH} 个字符",
                "VALUE_TOO_LONG",
            )

    def parse(self, f: Field, text: str, locale: str) -> Any:
        if text.startswith("{"):
            try:
                return self.from_json(f, json.loads(text))
            except ValueError:
                pass
        if "|" in text:
            # Parts in Chinese order, any left empty: 中国|广东省|深圳市|南山区|科技园路1号|518057
            cells = [c.strip() for c in text.split("|")]
            if len(cells) <= len(ADDRESS_PARTS):
                return self.from_json(
                    f,
                    {p: c for (p, _, _), c in zip(ADDRESS_PARTS, cells, strict=False) if c},
                )
        elif _HAN.search(text):
            match = _CHINESE_ADDRESS.match(text.replace(" ", ""))
            if match and (match.group("province") or match.group("city")):
                parts = {k: v for k, v in match.groupdict().items() if v}
                if parts.get("country") == "中华人民共和国":
                    parts["country"] = "中国"
                if parts.get("province") in _MUNICIPALITIES and "city" not in parts:
                    parts["city"] = parts["province"]
                return self.from_json(f, parts)
        else:
            # English order, smallest first: street, [district,] city, [province,] country;
            # a postal code is a cell of digits or trails a cell ("Guangdong 518057").
            cells, postal = [], None
            for cell in (c.strip() for c in text.split(",")):
                trailing = re.fullmatch(r"(.*?)\s*(\d{5,6})", cell)
                if trailing and postal is None:
                    cell, postal = trailing.group(1).strip(), trailing.group(2)
                if cell:
                    cells.append(cell)
            layout = _ENGLISH_LAYOUTS.get(len(cells))
            if layout:
                named = dict(zip(layout, cells, strict=True))
                if postal:
                    named["postal_code"] = postal
                return self.from_json(f, named)
        raise ValueProblem.expected(
            text,
            self.name,
            "广东省深圳市南山区科技园路1号 518057, 'street, city, province, country', or the "
            "parts in Chinese order separated by |",
            "广东省深圳市南山区科技园路1号 518057，或用 | 分隔、按中文顺序排列的各部分",
        )

    def text_forms(self) -> tuple[str, str]:
        return (
            "广东省深圳市南山区科技园路1号 518057; '1 Keyuan Rd, Shenzhen, Guangdong 518057, "
            "China'; or country|province|city|district|street|postal code",
            "广东省深圳市南山区科技园路1号 518057；或 国家|省|市|区|街道|邮编",
        )


_COORDINATE = re.compile(
    r"^(?P<p1>北纬|南纬|东经|西经)?\s*(?P<n1>[+-]?\d+(?:\.\d+)?)\s*°?\s*(?P<h1>[NSEW])?"
    r"\s*[,，;\s]\s*"
    r"(?P<p2>北纬|南纬|东经|西经)?\s*(?P<n2>[+-]?\d+(?:\.\d+)?)\s*°?\s*(?P<h2>[NSEW])?$",
    re.IGNORECASE,
)
_SIGNS = {"北纬": 1, "N": 1, "南纬": -1, "S": -1, "东经": 1, "E": 1, "西经": -1, "W": -1}
_IS_LONGITUDE = {"东经", "西经", "E", "W"}


class GeolocationKind(Kind):
    """A value is ``{"latitude": float, "longitude": float}``."""

    name = "geolocation"
    storage = "double"
    graphql = "GeoPoint"
    filter = "geo"
    widget = "map"
    sortable = False

    @staticmethod
    def longitude_column(field: str) -> str:
        return f"{field}__lng"

    def columns(self, f: Field) -> list[Column]:
        return [Column(f.name, "double"), Column(self.longitude_column(f.name), "double")]

    def to_columns(self, f: Field, value: Any) -> dict[str, Any]:
        if value is None:
            return {f.name: None, self.longitude_column(f.name): None}
        return {f.name: value["latitude"], self.longitude_column(f.name): value["longitude"]}

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) - {"latitude", "longitude"}:
            raise ValueProblem.expected(
                value,
                self.name,
                'an object {"latitude": 31.2304, "longitude": 121.4737}',
                '对象 {"latitude": 31.2304, "longitude": 121.4737}',
            )
        out = {}
        for axis, limit in (("latitude", 90), ("longitude", 180)):
            number = value.get(axis)
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise ValueProblem(
                    f"{axis} must be a number of degrees, not {number!r}",
                    f"{'纬度' if axis == 'latitude' else '经度'}须为度数，而不是 {number!r}",
                    "BAD_USER_INPUT",
                    part=axis,
                )
            if not -limit <= number <= limit:
                zh = "纬度" if axis == "latitude" else "经度"
                raise ValueProblem(
                    f"{axis} {number} is out of range: -{limit} to {limit} degrees",
                    f"{zh} {number} 超出范围：-{limit} 至 {limit} 度",
                    "INVALID_VALUE",
                    part=axis,
                )
            out[axis] = float(number)
        return out

    def parse(self, f: Field, text: str, locale: str) -> Any:
        match = _COORDINATE.match(text)
        if match:
            numbers = []
            longitude_first = False
            for i in ("1", "2"):
                number = float(match.group("n" + i))
                marker = match.group("p" + i) or (match.group("h" + i) or "").upper()
                if marker:
                    number = abs(number) * _SIGNS[marker]
                    if i == "1" and marker in _IS_LONGITUDE:
                        longitude_first = True
                numbers.append(number)
            latitude, longitude = reversed(numbers) if longitude_first else numbers
            return self.from_json(f, {"latitude": latitude, "longitude": longitude})
        raise ValueProblem.expected(
            text,
            self.name,
            "latitude, longitude: 31.2304, 121.4737 or 31.2304°N, 121.4737°E",
            "纬度, 经度：31.2304, 121.4737 或 北纬31.2304 东经121.4737",
        )

    def text_forms(self) -> tuple[str, str]:
        return (
            "latitude, longitude: 31.2304, 121.4737 or 31.2304°N 121.4737°E",
            "纬度, 经度：31.2304, 121.4737 或 北纬31.2304 东经121.4737",
        )
