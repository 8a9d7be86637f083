"""Record ids: UUIDv7, time-ordered.

Random (v4) ids scatter inserts across the primary-key index; v7 ids grow with time, so
new rows land at the index's right edge and ids sort in creation order. Python 3.11 has
no ``uuid.uuid7``, so this follows RFC 9562 section 5.7, with a counter that keeps ids
from one process strictly increasing within a millisecond.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = [0, 0]  # [millisecond, counter] of the previous id from this process


def new_ids(count: int) -> list[uuid.UUID]:
    """Return ``count`` new UUIDv7s, increasing, under one lock and one read of the
    random source (a bulk insert takes a thousand at a time)."""
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _last[0]:
            millis, counter = _last[0], _last[1] + 1
        else:
            counter = 0
        stamps = []
        for _ in range(count):
            if counter > 0xFFF:
                millis, counter = millis + 1, 0
            stamps.append((millis << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62))
            counter += 1
        _last[0], _last[1] = millis, counter - 1
    noise = os.urandom(8 * count)
    mask = (1 << 62) - 1
    return [
        uuid.UUID(int=stamp | (int.from_bytes(noise[8 * i : 8 * i + 8], "big") & mask))
        for i, stamp in enumerate(stamps)
    ]


def new_id() -> uuid.UUID:
    """Return a new UUIDv7."""
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _last[0]:
            millis, counter = _last[0], _last[1] + 1
            if counter > 0xFFF:  # 4,096 ids in one millisecond: borrow the next one
                millis, counter = millis + 1, 0
        else:
            counter = 0
        _last[0], _last[1] = millis, counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (millis << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)
