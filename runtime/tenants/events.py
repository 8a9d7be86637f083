"""Who hears that a tenant's active metadata changed or that it was deleted.

Caches built from a tenant's metadata (schemas, principals) subscribe here, so the
service that changes metadata does not need to know them.
"""

from __future__ import annotations

from collections.abc import Callable


class Listeners(list[Callable[[str], None]]):
    """Callables taking a tenant's name, called in order after each change."""

    def changed(self, tenant: str) -> None:
        for listener in self:
            listener(tenant)
