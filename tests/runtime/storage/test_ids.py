"""Record ids are UUIDv7s that grow in the order they are made, one at a time or in
batches, also past 4,096 in one millisecond and across threads."""

from __future__ import annotations

import threading

from runtime.storage.ids import new_id, new_ids


def test_ids_are_version_7_and_grow_one_at_a_time_and_in_batches():
    made = [new_id(), *new_ids(5000), new_id(), *new_ids(3), *new_ids(0), new_id()]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert {u.version for u in made} == {7}
    assert {u.variant for u in made} == {"specified in RFC 4122"}


def test_threads_never_get_the_same_id():
    seen: list = []

    def take() -> None:
        seen.extend(new_ids(2000))
        seen.extend(new_id() for _ in range(500))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == len(seen) == 10000
