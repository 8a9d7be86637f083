"""Snapshots: a model frozen in canonical JSON and named by its content hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from metadata.model import EMPTY_MODEL, Model, build_model


def canonical_json(document: dict[str, Any]) -> str:
    """Return the exact text a document is hashed and stored as.

    Fields and picklist values keep their declared order on purpose: that order is what
    people see in forms, so reordering is a real (metadata-only) change with its own
    version. Objects and indexes are sorted (see Model.to_document).
    """
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Snapshot:
    """An immutable model plus its canonical JSON and SHA-256 content hash."""

    model: Model
    json: str
    content_hash: str

    @classmethod
    def of(cls, model: Model) -> Snapshot:
        """Return the snapshot of ``model``."""
        text = canonical_json(model.to_document())
        return cls(model=model, json=text, content_hash=hashlib.sha256(text.encode()).hexdigest())

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        """Return the snapshot stored as ``text`` (the registry's canonical JSON)."""
        return cls.of(build_model(json.loads(text)))

    @property
    def short_hash(self) -> str:
        """Return the first 12 hex digits of the hash, enough to tell versions apart."""
        return self.content_hash[:12]


EMPTY_SNAPSHOT = Snapshot.of(EMPTY_MODEL)
