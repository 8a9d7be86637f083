"""Permission data per tenant at the cost of one: tenants with the same metadata share one
parsed snapshot, principals reuse the snapshot their requests already keep, and threads
that find a tenant's directory stale at once load it once."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from metadata.snapshot import Snapshot
from metadata.validation import validate_text
from runtime.coordination.bus import NullBus
from runtime.coordination.invalidation import Invalidation
from runtime.model.active import ActiveModels
from runtime.security.identity import Identity
from runtime.security.principal import Principals
from tests.conftest import fast_hasher

META = """
objects:
  account:
    fields:
      name: {type: text, required: true}
"""


def test_tenants_with_the_same_metadata_share_one_snapshot_and_model(service):
    for name in ("same_a", "same_b", "other"):
        service.create_tenant(name)
    service.apply("same_a", validate_text(META))
    service.apply("same_b", validate_text(META))
    service.apply("other", validate_text(META.replace("name:", "title:")))
    invalidation = Invalidation()
    # As the composition root wires it: an apply is announced to every cache.
    service.listeners.append(lambda tenant: invalidation.changed("metadata", tenant))
    models = ActiveModels(service, invalidation=invalidation)
    a, b, other = (models.get(t)[0] for t in ("same_a", "same_b", "other"))
    assert a is b and a is not other
    identity = Identity(service.backend, b"test secret " * 4, hasher=fast_hasher())
    principals = Principals(service, identity, invalidation=invalidation, models=models)
    assert principals.model("same_a") is principals.model("same_b") is a.model
    # A change to one tenant is its own: the other keeps the shared model.
    service.apply("same_a", validate_text(META.replace("required: true", "required: false")))
    assert principals.model("same_a") is not principals.model("same_b")
    assert principals.model("same_a").objects["account"].fields["name"].required is False


def test_threads_that_find_a_directory_stale_load_it_once():
    loads = []
    snapshot = SimpleNamespace(model=object())

    class Slow:
        listeners: list = []

        def active(self, name):
            loads.append(name)
            time.sleep(0.2)  # a registry read and a parse, slowed down
            return None, snapshot

    identity = SimpleNamespace(members=lambda tenant: [], invalidation=Invalidation())
    principals = Principals(Slow(), identity, invalidation=Invalidation())  # type: ignore[arg-type]
    seen = []
    threads = [
        threading.Thread(target=lambda: seen.append(principals.model("t"))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == ["t"] and len(seen) == 8 and all(m is snapshot.model for m in seen)


def test_directories_are_reloaded_on_a_timer_only_while_no_messages_arrive():
    """With invalidation messages flowing, a tenant's members are re-read when a message
    says they changed, not every ttl seconds; without them the timer is the safety net."""
    loads = []
    now = [0.0]

    class Registry:
        listeners: list = []

        def active(self, name):
            return None, SimpleNamespace(model=object())

    class Bus(NullBus):
        connected = True

    def members(tenant):
        loads.append(tenant)
        return []

    for bus, reloaded in ((NullBus(), 2), (Bus(), 1)):
        loads.clear()
        invalidation = Invalidation(bus=bus)
        identity = SimpleNamespace(members=members, invalidation=invalidation)
        principals = Principals(
            Registry(),  # type: ignore[arg-type]
            identity,  # type: ignore[arg-type]
            ttl=10,
            clock=lambda: now[0],
            invalidation=invalidation,
        )
        principals.model("t")
        now[0] += 60  # a minute later: past the ttl
        principals.model("t")
        assert len(loads) == reloaded
        invalidation.changed("members", "t")  # heard: reloaded at once, either way
        principals.model("t")
        assert len(loads) == reloaded + 1


def test_a_tenant_with_metadata_already_parsed_costs_no_parse(service, monkeypatch):
    """A pack's every tenant has the same snapshot: the first one parses it, the others
    find it by the content hash the registry keeps with each version."""
    for name in ("first", "second", "third"):
        service.create_tenant(name)
        service.apply(name, validate_text(META))
    models = ActiveModels(service)
    parses = []
    parse = Snapshot.from_json.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        Snapshot, "from_json", classmethod(lambda cls, text: parses.append(1) or parse(cls, text))
    )
    first = models.get("first")[0]
    assert models.get("second")[0] is first and models.get("third")[0] is first
    assert len(parses) == 1
