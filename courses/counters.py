"""Click/view counts and "studying now" presence, without a database write per page view.

Every course page open is a *click* and every lesson opened is a *view*. They are counted
in the cache, per minute bucket, and written to the database in batches by
`counters_flush` (a periodic task): one upsert per (course, day, cadre level) and one
update per course, instead of a hot-row UPDATE per page view.

"Studying now" is a presence set per minute: every heartbeat and course page marks the
person present in the current minute's bucket, and the count is the size of the union of
the last `COURSES_PRESENCE_MINUTES` buckets.

Two back ends, chosen by the configured cache:

* **Redis** (production): a hash per minute bucket (`HINCRBY`), a set naming the buckets
  waiting to be flushed, and a HyperLogLog per minute for presence (`PFADD` / `PFCOUNT`,
  ~12 KB per minute however many people). One round trip per page view, shared by all
  web processes.
* **Local memory** (the embedded default, one process): the same buckets in a dict under
  a lock. There is no Celery beat without Redis, so the process flushes its own buffer
  inline once `COURSES_COUNTER_FLUSH_SECONDS` have passed.

The flush is safe to run twice: a bucket is written together with a `CounterFlush` row
naming it, in one transaction, and a bucket already named is only deleted.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import caches
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone

from courses.models import CounterFlush, Course, CourseDailyStat

logger = logging.getLogger(__name__)

CLICK = "c"
VIEW = "v"
BUCKET_FORMAT = "%Y%m%d%H%M"
# A bucket is flushed only when it is this many minutes old: a click that a web node
# records a moment late (clock skew, a slow request) still lands in an unflushed bucket.
FLUSH_GRACE_MINUTES = 2
BUCKET_TTL_SECONDS = 7 * 24 * 60 * 60


def _redis_client():
    """The redis-py client behind Django's default cache when it is Redis, else None."""
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None
    return cache._cache.get_client(write=True)


def _key(name: str) -> str:
    return caches["default"].make_key(f"courses:{name}")


def _bucket(now: dt.datetime | None = None) -> str:
    return timezone.localtime(now or timezone.now()).strftime(BUCKET_FORMAT)


def _minute(now: float | None = None) -> int:
    return int((now if now is not None else time.time()) // 60)


# --- Local-memory back end ---------------------------------------------------------------


class _LocalBuffer:
    """Per-process buffer for the embedded default (no Redis)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.presence: dict[int, set[int]] = defaultdict(set)
        self.last_flush = time.monotonic()

    def clear(self) -> None:
        with self.lock:
            self.counts.clear()
            self.presence.clear()
            self.last_flush = time.monotonic()


_local = _LocalBuffer()


def reset_local_buffer() -> None:
    """Forget everything buffered in this process (tests)."""
    _local.clear()
    _marked.clear()


# People this process has marked present in Redis, for the current minute only: a player
# sends a heartbeat every few seconds, and one mark per person and minute is all the
# presence count (a HyperLogLog per minute) can use.
_marked: dict[int, set[int]] = {}
_marked_lock = threading.Lock()


def _first_mark_this_minute(person_id: int, minute: int) -> bool:
    with _marked_lock:
        seen = _marked.get(minute)
        if seen is None:
            _marked.clear()
            seen = _marked[minute] = set()
        if person_id in seen:
            return False
        seen.add(person_id)
        return True


# --- Recording -------------------------------------------------------------------------------


def track(
    *,
    course_id: int | None = None,
    cadre_level_id: int | None = None,
    person_id: int | None = None,
    kind: str = CLICK,
) -> None:
    """Count one click (or view) of `course_id` and/or mark `person_id` as studying now.

    Costs one Redis round trip (pipelined) or a dict update; never a database query
    (except the occasional inline flush of the embedded default).
    """
    field = f"{kind}:{course_id}:{cadre_level_id or 0}" if course_id else None
    minute = _minute()
    client = _redis_client()
    if client is not None:
        if person_id and not field and not _first_mark_this_minute(person_id, minute):
            return  # this process already counted them this minute: the PFADD would change nothing
        pipe = client.pipeline(transaction=False)
        if field:
            bucket = _bucket()
            pipe.hincrby(_key(f"counts:{bucket}"), field, 1)
            pipe.expire(_key(f"counts:{bucket}"), BUCKET_TTL_SECONDS)
            pipe.sadd(_key("buckets"), bucket)
        if person_id:
            pipe.pfadd(_key(f"presence:{minute}"), person_id)
            pipe.expire(_key(f"presence:{minute}"), (settings.COURSES_PRESENCE_MINUTES + 2) * 60)
        pipe.execute()
        return
    flush_due = False
    with _local.lock:
        if field:
            _local.counts[_bucket()][field] += 1
        if person_id:
            _local.presence[minute].add(person_id)
            for old in [m for m in _local.presence if m <= minute - settings.COURSES_PRESENCE_MINUTES]:
                del _local.presence[old]
        if time.monotonic() - _local.last_flush >= settings.COURSES_COUNTER_FLUSH_SECONDS:
            _local.last_flush = time.monotonic()
            flush_due = True
    if flush_due and settings.COURSES_COUNTER_INLINE_FLUSH:
        counters_flush(include_current=True)


def studying_now() -> int:
    """How many different people were active in courses in the last few minutes."""
    minute = _minute()
    minutes = [minute - i for i in range(settings.COURSES_PRESENCE_MINUTES)]
    client = _redis_client()
    if client is not None:
        return int(client.pfcount(*[_key(f"presence:{m}") for m in minutes]))
    with _local.lock:
        people: set[int] = set()
        for m in minutes:
            people |= _local.presence.get(m, set())
        return len(people)


# --- Flushing ---------------------------------------------------------------------------------


def counters_flush(*, include_current: bool = False) -> int:
    """Write buffered clicks and views to the database; returns how many were written.

    Buckets younger than FLUSH_GRACE_MINUTES stay in the cache unless `include_current`
    (used by the embedded default, whose buffer only this process writes to).
    """
    cutoff = _bucket(timezone.now() - dt.timedelta(minutes=FLUSH_GRACE_MINUTES))
    client = _redis_client()
    written = 0
    if client is None:
        with _local.lock:
            ready = [b for b in _local.counts if include_current or b <= cutoff]
            batches = {b: _local.counts.pop(b) for b in ready}
        for bucket, counts in sorted(batches.items()):
            written += _write_bucket(f"{bucket}:{secrets.token_hex(6)}", counts)
        return written
    # Each ready bucket is first renamed to a unique "flushing" name, atomically, so clicks
    # arriving meanwhile start a fresh bucket instead of being lost; a flushing name left by
    # an interrupted run is picked up by the next one.
    for raw in sorted(client.smembers(_key("buckets"))):
        bucket = raw.decode() if isinstance(raw, bytes) else str(raw)
        if bucket > cutoff and not include_current:
            continue
        name = f"{bucket}:{secrets.token_hex(6)}"
        pipe = client.pipeline(transaction=True)
        pipe.srem(_key("buckets"), bucket)
        if client.exists(_key(f"counts:{bucket}")):
            pipe.rename(_key(f"counts:{bucket}"), _key(f"flushing:{name}"))
            pipe.sadd(_key("flushing"), name)
        pipe.execute()
    for raw in sorted(client.smembers(_key("flushing"))):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        data = client.hgetall(_key(f"flushing:{name}"))
        counts = Counter({(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in data.items()})
        written += _write_bucket(name, counts)
        client.delete(_key(f"flushing:{name}"))
        client.srem(_key("flushing"), raw)
    return written


def _write_bucket(name: str, counts: Counter) -> int:
    """Add one flushed bucket's counts to the daily stats and course totals, once.

    `name` is "<yyyymmddHHMM>:<token>", unique per flush; its `CounterFlush` row is
    written in the same transaction, so a retried flush of the same name writes nothing.
    """
    day = dt.date(int(name[:4]), int(name[4:6]), int(name[6:8]))
    per_key: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for field, n in counts.items():
        try:
            kind, course_id, level = field.split(":")
            slot = per_key[(int(course_id), int(level))]
        except ValueError:
            logger.warning("courses: ignoring malformed counter field %r", field)
            continue
        slot[0 if kind == CLICK else 1] += n
    try:
        with transaction.atomic():
            CounterFlush.objects.create(bucket=name)
            existing = set(
                Course.objects.filter(pk__in={c for c, _ in per_key}).values_list("pk", flat=True)
            )
            rows = [
                (course_id, day, level, clicks, views)
                for (course_id, level), (clicks, views) in per_key.items()
                if course_id in existing and (clicks or views)
            ]
            _upsert_daily(rows)
            _add_course_totals(rows)
    except IntegrityError:
        # Already written by an earlier (interrupted) run: the caller only deletes it.
        if not CounterFlush.objects.filter(bucket=name).exists():
            raise
        return 0
    return sum(r[3] + r[4] for r in rows)


def _upsert_daily(rows: list[tuple]) -> None:
    if not rows:
        return
    table = CourseDailyStat._meta.db_table
    sql = (
        f"INSERT INTO {table} (course_id, day, cadre_level_key, clicks, views) "  # noqa: S608 - table name is ours
        "VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (course_id, day, cadre_level_key) DO UPDATE SET "
        f"clicks = {table}.clicks + excluded.clicks, views = {table}.views + excluded.views"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _add_course_totals(rows: Iterable[tuple], batch: int = 500) -> None:
    clicks: Counter = Counter()
    views: Counter = Counter()
    for course_id, _day, _level, c, v in rows:
        clicks[course_id] += c
        views[course_id] += v
    ids = sorted(set(clicks) | set(views))
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        Course.objects.filter(pk__in=chunk).update(
            click_count=F("click_count")
            + Case(*[When(pk=i, then=Value(clicks[i])) for i in chunk], default=0, output_field=IntegerField()),
            view_count=F("view_count")
            + Case(*[When(pk=i, then=Value(views[i])) for i in chunk], default=0, output_field=IntegerField()),
        )
