"""The UI schema compiler's entry points: the app shell and one object's pages.

A ``UiCompiler`` is made per request from the tenant's active model, the viewer's API
shape (what their grants let them read), their role and the locale. Its outputs are
plain JSON, each with a ``version``: a hash of the metadata's content hash, the viewer's
grants and role, and the locale. Equal versions mean equal documents, so the server
answers ``If-None-Match`` with 304 and the browser keeps what it has.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from metadata.model import Model
from runtime.model.shape import ApiShape, ObjectShape
from ui_schema.fields import api_name, describe_all, json_schema, title_field
from ui_schema.forms import layout_of, ui_schema
from ui_schema.lists import actions, all_records, apps, kanbans, list_view
from ui_schema.locales import LOCALES, pick
from ui_schema.words import WORDS

#: Bumped when the shape of the compiled documents changes (the version hashes it).
FORMAT = 1


class UnknownObject(LookupError):
    """The object does not exist or the viewer cannot read it (the same answer for both,
    so the answer does not tell which)."""


@dataclass(frozen=True)
class Viewer:
    """Who the UI is compiled for."""

    role: str | None
    admin: bool
    grants_key: str


@dataclass(frozen=True)
class UiCompiler:
    model: Model
    """The tenant's whole active model (views, automation, roles)."""
    shape: ApiShape
    """The model as the viewer reads it."""
    content_hash: str
    viewer: Viewer
    locale: str

    @property
    def version(self) -> str:
        key = json.dumps(
            [
                FORMAT,
                self.content_hash,
                self.viewer.grants_key,
                self.viewer.role,
                self.viewer.admin,
                self.locale,
            ],
        )
        return hashlib.sha256(key.encode()).hexdigest()[:20]

    def _summary(self, s: ObjectShape) -> dict[str, Any]:
        """An object's names, labels and what the viewer may do with it."""
        title = title_field(s)
        return {
            "name": s.name,
            "label": pick(s.obj.label, self.locale),
            "plural": pick(s.obj.plural, self.locale),
            "type": s.type_name,
            "one": s.single,
            "list": s.plural,
            "titleField": title,
            "titleApi": api_name(s, title),
            "searchable": bool(s.obj.search),
            "can": {a: a in s.allow for a in ("create", "update", "delete")},
        }

    def shell(self) -> dict[str, Any]:
        """Return what every page needs: words, apps and the objects the viewer can read."""
        objects = [
            self._summary(self.shape.objects[name])
            for name in sorted(self.shape.objects)
            if not self.shape.objects[name].obj.junction
        ]
        return {
            "version": self.version,
            "locale": self.locale,
            "locales": list(LOCALES),
            "words": WORDS[self.locale],
            "apps": apps(self.model, self.shape, self.locale),
            # ROLE() and ISMEMBER() in layout rules, as the browser evaluates them.
            "roles": [
                {"name": r.name, "label": pick(r.label, self.locale)}
                for r in self.model.security.roles.values()
            ],
            "me": {
                "role": self.viewer.role,
                "roles": self.model.security.subtree(self.viewer.role) if self.viewer.role else [],
                "admin": self.viewer.admin,
            },
            "objects": objects,
        }

    def object(self, name: str, layout: str | None = None) -> dict[str, Any]:
        """Return one object's record form, record page, list views and kanbans."""
        s = self.shape.objects.get(name)
        if s is None:
            raise UnknownObject(name)
        described = describe_all(self.shape, s, self.locale)
        page = layout_of(self.model, name, layout)
        buttons = actions(
            self.model, s, page.actions, self.viewer.role, self.viewer.admin, self.locale
        )
        views = [all_records(s, self.locale)]
        for view in self.model.views.list_views.values():
            if view.object == name:
                compiled = list_view(self.shape, s, view, self.locale)
                if compiled is not None:
                    views.append(compiled)
        return {
            "version": self.version,
            "locale": self.locale,
            **self._summary(s),
            "history": bool(s.obj.history),
            "fields": described,
            "jsonSchema": json_schema(described, pick(s.obj.label, self.locale)),
            "uiSchema": ui_schema(self.shape, s, page, self.locale, buttons),
            "views": views,
            "kanbans": kanbans(self.model, s, self.viewer.role, self.viewer.admin, self.locale),
        }
