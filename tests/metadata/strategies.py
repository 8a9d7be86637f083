"""Hypothesis strategies for small, valid metadata documents."""

from __future__ import annotations

from hypothesis import strategies as st

OBJECTS = ["alpha", "beta", "gamma"]
FIELD_NAMES = ["f_one", "f_two", "f_three", "f_four"]

_scalar_fields = st.sampled_from(
    [
        {"type": "text"},
        {"type": "text", "max_length": 40},
        {"type": "long_text"},
        {"type": "integer"},
        {"type": "decimal", "precision": 12, "scale": 2},
        {"type": "decimal", "precision": 22, "scale": 0},
        {"type": "currency"},
        {"type": "percent"},
        {"type": "boolean", "default": False},
        {"type": "date"},
        {"type": "datetime"},
        {"type": "picklist", "values": ["a", "b"]},
        {"type": "picklist", "values": ["a", "b"], "default": "a", "required": True},
        {"type": "multi_picklist", "values": ["a", "b"]},
        {"type": "email", "unique": True},
        {"type": "json"},
        {"type": "uuid"},
        {"type": "auto_number", "format": "N-{000}"},
    ]
)


@st.composite
def documents(draw) -> dict:
    """Return a metadata document of 1-3 objects with up to 4 fields each."""
    names = draw(st.lists(st.sampled_from(OBJECTS), min_size=1, max_size=3, unique=True))
    objects: dict = {}
    for name in names:
        fields = {}
        for field_name in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=4, unique=True)):
            if draw(st.integers(0, 4)) == 0:
                target = draw(st.sampled_from(names))
                fields[field_name] = {
                    "type": "lookup",
                    "to": target,
                    "related_name": f"{name}_{field_name}",
                }
            else:
                fields[field_name] = dict(draw(_scalar_fields))
            fields[field_name]["label"] = field_name
        obj: dict = {"fields": fields}
        indexable = [n for n, f in fields.items() if f["type"] in ("text", "integer", "date")]
        if indexable and draw(st.booleans()):
            obj["indexes"] = [{"fields": indexable[:2]}]
        objects[name] = obj
    return {"objects": objects}


@st.composite
def evolutions(draw, before: dict) -> dict:
    """Return a changed copy of ``before``: fields renamed (declared), retyped, dropped or
    added, as an admin would edit a live document."""
    after: dict = {"objects": {}}
    for name, obj in before["objects"].items():
        fields: dict = {}
        for field_name, field in obj["fields"].items():
            action = draw(st.sampled_from(["keep", "keep", "rename", "retype", "drop"]))
            if action == "drop":
                continue
            if action == "rename" and field["type"] != "lookup":
                new_name = f"{field_name}_renamed"
                fields[new_name] = {**field, "renamed_from": field_name}
            elif action == "retype" and field["type"] != "lookup":
                fields[field_name] = {**draw(_scalar_fields), "label": field_name}
            else:
                fields[field_name] = dict(field)
        if draw(st.booleans()):
            fields["f_added"] = {**draw(_scalar_fields), "label": "f_added"}
        kept = {n for n in fields}
        indexes = [
            i
            for i in obj.get("indexes", [])
            if set(i["fields"]) <= kept
            and all(fields[f]["type"] in ("text", "integer", "date") for f in i["fields"])
        ]
        after["objects"][name] = {"fields": fields, **({"indexes": indexes} if indexes else {})}
    return after
