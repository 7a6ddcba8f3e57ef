"""Live person rankings in Redis sorted sets (only when `settings.REDIS_URL` is set).

For the *current* year, quarter and month, each organisation and each unit has a
sorted set of person id → total. An award pushes the person's new totals after its
transaction commits (`push`), so a rank read a moment later already reflects it. A rank
is ``ZCOUNT(score > mine) + 1`` — O(log n), ties share a rank — never a count of rows.

A set is used for reads only after `sync` loaded it whole from the totals table (its
period's *synced* marker). The refresh that follows awards writes the totals it
re-attached into the sets (`apply`: the people who earned credits since the last
refresh, with their totals as committed, and the people who moved), which also repairs
the rare push lost to a race with a sync or two commits landing out of order: every
award schedules a refresh that starts after it committed. The periodic refresh (every
15 minutes) reloads the sets whole, which also drops people who left. Without Redis
none of this runs and reads use the precomputed rank columns.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from django.conf import settings

from credits.periods import Period, current_periods

log = logging.getLogger(__name__)

KEY_TTL_SECONDS = 45 * 24 * 60 * 60  # a month period stays readable a while after it ends


def enabled() -> bool:
    return bool(getattr(settings, "REDIS_URL", ""))


@cache
def _client_for(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def client():
    return _client_for(settings.REDIS_URL)


def _prefix() -> str:
    base = settings.CACHES.get("default", {}).get("KEY_PREFIX", "") or "lp"
    return f"{base}:credits"


def org_key(period: str, root_id: int) -> str:
    return f"{_prefix()}:rk:{period}:r{root_id}"


def unit_key(period: str, unit_id: int) -> str:
    return f"{_prefix()}:rk:{period}:u{unit_id}"


def _synced_key(period: str) -> str:
    return f"{_prefix()}:rk:{period}:synced"


def _units_index_key(period: str) -> str:
    return f"{_prefix()}:rk:{period}:units"


def is_live_period(period: Period) -> bool:
    return period.key in {p.key for p in current_periods()}


def is_synced(period: Period) -> bool:
    """Whether the period's live sets are loaded (remembered for a second per process)."""
    if not enabled() or not is_live_period(period):
        return False
    now = time.monotonic()
    hit = _synced_memo.get(period.key)
    if hit is not None and hit[0] > now:
        return hit[1]
    try:
        flag = bool(client().exists(_synced_key(period.key)))
    except Exception:
        log.warning("Redis unavailable for live ranks", exc_info=True)
        return False
    _synced_memo[period.key] = (now + READ_MEMO_SECONDS, flag)
    return flag


def forget_memo() -> None:
    """Forget what this process remembers about loaded sets (tests flush Redis between runs)."""
    global _live_keys_memo
    _synced_memo.clear()
    _live_keys_memo = (0.0, frozenset())


READ_MEMO_SECONDS = 1.0
_synced_memo: dict[str, tuple[float, bool]] = {}


# One round trip per award: for each period, if its sets are loaded (synced marker),
# set the person's score in the organisation and unit sets. KEYS come in threes —
# (synced marker, organisation set or '', unit set or '') — with one score per three.
_PUSH_LUA = """
local pushed = 0
for i = 1, #KEYS, 3 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local score = ARGV[(i - 1) / 3 + 2]
    if KEYS[i + 1] ~= '' then redis.call('ZADD', KEYS[i + 1], score, ARGV[1]) end
    if KEYS[i + 2] ~= '' then redis.call('ZADD', KEYS[i + 2], score, ARGV[1]) end
    pushed = pushed + 1
  end
end
return pushed
"""


_live_keys_memo: tuple[float, frozenset[str]] = (0.0, frozenset())


def _live_keys() -> frozenset[str]:
    """Keys of the current year, quarter and month, recomputed at most once a second."""
    global _live_keys_memo
    now = time.monotonic()
    if _live_keys_memo[0] <= now:
        _live_keys_memo = (now + 1.0, frozenset(p.key for p in current_periods()))
    return _live_keys_memo[1]


def push(
    *, person_id: int, root_id: int | None, unit_id: int | None, totals: dict[str, Decimal]
) -> int:
    """Set the person's new totals in the synced live sets of their periods.

    One script call (one round trip, one command to encode): the synced markers are
    checked inside Redis, so a set that is not loaded is never written to. Returns the
    number of periods pushed.
    """
    if not enabled() or (root_id is None and unit_id is None):
        return 0
    try:
        live_keys = _live_keys()
        prefix = f"{_prefix()}:rk:"
        keys: list[str] = []
        args: list[object] = [person_id]
        for period, total in totals.items():
            if period not in live_keys:
                continue
            keys += [
                f"{prefix}{period}:synced",
                f"{prefix}{period}:r{root_id}" if root_id is not None else "",
                f"{prefix}{period}:u{unit_id}" if unit_id is not None else "",
            ]
            args.append(str(total))
        if not keys:
            return 0
        return int(_script(settings.REDIS_URL, _PUSH_LUA)(keys=keys, args=args))
    except Exception:  # the next rank refresh re-syncs from the database
        log.warning("Could not push live ranks", exc_info=True)
        return 0


def sync(period: Period) -> int:
    """Load the period's sets from the totals table (active people only); returns members."""
    if not enabled() or not is_live_period(period):
        return 0
    from django.db import connection

    from credits.models import PersonTotal
    from org.models import User

    by_org: dict[int, dict[int, float]] = defaultdict(dict)
    by_unit: dict[int, dict[int, float]] = defaultdict(dict)
    count = 0
    table = PersonTotal._meta.db_table
    with connection.cursor() as cursor:
        # Plain floats straight from SQL: Decimal conversion of 200,000 rows would dominate.
        cursor.execute(
            f"SELECT t.person_id, t.root_id, t.unit_id, CAST(t.total AS FLOAT) FROM {table} t "  # noqa: S608
            f"WHERE t.period = %s AND t.person_id NOT IN "
            f"(SELECT id FROM {User._meta.db_table} WHERE NOT is_active)",
            [period.key],
        )
        for person_id, root_id, unit_id, total in cursor.fetchall():
            count += 1
            if root_id is not None:
                by_org[root_id][person_id] = total
            if unit_id is not None:
                by_unit[unit_id][person_id] = total
    r = client()
    tmp = f"{_prefix()}:tmp:{period.key}"
    pipe = r.pipeline(transaction=False)
    staged: list[tuple[str, str]] = []
    for root_id, members in by_org.items():
        staged.append(_stage(pipe, f"{tmp}:r{root_id}", org_key(period.key, root_id), members))
    for unit_id, members in by_unit.items():
        staged.append(_stage(pipe, f"{tmp}:u{unit_id}", unit_key(period.key, unit_id), members))
    pipe.execute()
    old_index = {m.decode() for m in r.smembers(_units_index_key(period.key))}
    new_index = {final for _, final in staged}
    swap = r.pipeline(transaction=True)
    for staging, final in staged:
        swap.rename(staging, final)
        swap.expire(final, KEY_TTL_SECONDS)
    for stale in old_index - new_index:
        swap.delete(stale)
    swap.delete(_units_index_key(period.key))
    if new_index:
        swap.sadd(_units_index_key(period.key), *new_index)
        swap.expire(_units_index_key(period.key), KEY_TTL_SECONDS)
    swap.set(_synced_key(period.key), 1, ex=KEY_TTL_SECONDS)
    swap.execute()
    _synced_memo.pop(period.key, None)
    return count


def apply(period: Period, rows: list[tuple]) -> int:
    """Write re-attached totals into the period's loaded sets: each row is (person,
    period, organisation, unit, total, active, organisation before, unit before). A person
    who moved leaves the old sets; one who is no longer active leaves the sets. Returns
    the rows written."""
    if not enabled() or not rows:
        return 0
    try:
        pipe = client().pipeline(transaction=False)
        for person_id, _period, root_id, unit_id, total, active, old_root, old_unit in rows:
            if old_root is not None and (old_root != root_id or not active):
                pipe.zrem(org_key(period.key, old_root), person_id)
            if old_unit is not None and (old_unit != unit_id or not active):
                pipe.zrem(unit_key(period.key, old_unit), person_id)
            if active:
                score = {person_id: float(total)}
                if root_id is not None:
                    pipe.zadd(org_key(period.key, root_id), score)
                if unit_id is not None:
                    pipe.zadd(unit_key(period.key, unit_id), score)
        pipe.execute()
    except Exception:  # the next full sync (every 15 minutes) repairs the sets
        log.warning("Could not update live ranks", exc_info=True)
        return 0
    return len(rows)


def _stage(pipe, staging: str, final: str, members: dict[int, float]) -> tuple[str, str]:
    pipe.delete(staging)
    items = list(members.items())
    for start in range(0, len(items), 10_000):
        pipe.zadd(staging, dict(items[start : start + 10_000]))
    return staging, final


def forget(periods: Iterable[Period]) -> None:
    """Stop reading the periods from Redis until the next sync."""
    if not enabled():
        return
    for p in periods:
        _synced_memo.pop(p.key, None)
    try:
        client().delete(*[_synced_key(p.key) for p in periods])
    except Exception:
        log.warning("Redis unavailable", exc_info=True)


@dataclass(frozen=True)
class LiveRank:
    rank_org: int | None
    rank_unit: int | None


# One round trip each: the score and the count above it are read inside Redis.
_RANKS_LUA = """
local out = {}
for i, key in ipairs(KEYS) do
  local score = redis.call('ZSCORE', key, ARGV[1])
  local low = '(0'
  if score then low = '(' .. score end
  out[i] = redis.call('ZCOUNT', key, low, '+inf') + 1
end
return out
"""
_TOP_LUA = """
local members = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')
local first = 0
if #members > 0 then first = redis.call('ZCOUNT', KEYS[1], '(' .. members[2], '+inf') + 1 end
return {redis.call('ZCARD', KEYS[1]), first, members}
"""


@cache
def _script(url: str, source: str):
    return _client_for(url).register_script(source)


def ranks_of(*, period: Period, person_id: int, root_id: int | None, unit_id: int | None) -> LiveRank:
    """The person's competition rank in their organisation and unit: ZCOUNT above + 1."""
    keys = []
    if root_id:
        keys.append(org_key(period.key, root_id))
    if unit_id:
        keys.append(unit_key(period.key, unit_id))
    ranks = iter(_script(settings.REDIS_URL, _RANKS_LUA)(keys=keys, args=[person_id]) if keys else [])
    return LiveRank(
        rank_org=next(ranks) if root_id else None,
        rank_unit=next(ranks) if unit_id else None,
    )


def top(*, key: str, offset: int, limit: int) -> tuple[list[tuple[int, Decimal, int]], int]:
    """One page of a sorted set as (person id, total, rank), and the set's size."""
    size, first_rank, flat = _script(settings.REDIS_URL, _TOP_LUA)(
        keys=[key], args=[offset, offset + limit - 1]
    )
    rows: list[tuple[int, Decimal, int]] = []
    previous_score, previous_rank = None, first_rank
    for index in range(0, len(flat), 2):
        member, score = int(flat[index]), float(flat[index + 1])
        position = offset + index // 2
        if index == 0:
            rank = first_rank
        else:
            rank = previous_rank if score == previous_score else position + 1
        rows.append((member, Decimal(str(score)).quantize(Decimal("0.01")), rank))
        previous_score, previous_rank = score, rank
    return rows, size
