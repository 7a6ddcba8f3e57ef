"""A small in-process memo in front of the shared cache, for the catalog's hottest reads.

The catalog page and the course page read a handful of values on every request (the
catalog version, a unit's path, the shared page rows, rendered fragments). Reading each
from Redis costs a round trip; keeping the last few hundred of them in the web process
for a few seconds costs nothing. Correctness does not depend on it: every key that can
go stale carries the catalog version, and the version itself is re-read from the shared
cache at least every `VERSION_SECONDS`, so a change made by another process shows within
that time (in the process that made it, at once: `catalog_touch` clears this memo).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

MAX_ENTRIES = 2048  # a few thousand small values (≤ ~10 KB each), each kept ≤ 10 s
VERSION_SECONDS = 1.0

_lock = threading.Lock()
_entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
_MISSING = object()


def get(key: str) -> Any:
    """The memoised value, or `_MISSING` when absent or expired."""
    now = time.monotonic()
    with _lock:
        hit = _entries.get(key)
        if hit is None:
            return _MISSING
        expires, value = hit
        if expires < now:
            del _entries[key]
            return _MISSING
        _entries.move_to_end(key)
        return value


def put(key: str, value: Any, seconds: float) -> None:
    with _lock:
        _entries[key] = (time.monotonic() + seconds, value)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def through(key: str, seconds: float, load: Callable[[], Any]) -> Any:
    """The memoised value of `key`, loading (and memoising) it on a miss."""
    value = get(key)
    if value is _MISSING:
        value = load()
        put(key, value, seconds)
    return value


def discard(key: str) -> None:
    with _lock:
        _entries.pop(key, None)


def clear() -> None:
    with _lock:
        _entries.clear()
