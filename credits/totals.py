"""Derived totals and ranks: the SQL behind `credits.services` and `credits.tasks`.

Three operations, all plain SQL that runs on PostgreSQL and SQLite alike:

* `apply_entry` — called in the transaction that inserts an entry: one UPSERT for the
  person's year/quarter/month rows and one for the unit's, so totals are never behind
  the ledger. Caps are applied on the person's year row from the raw per-source sums;
  the unit's year row gets what the entry *counted* for the person, computed exactly
  from the value the UPSERT returns (see `_counted`).
* `refresh_ranks` — recomputes the rank columns, the unit statistics (members, average,
  on track, compliance) and the ranking boards of some periods with window functions
  over the totals (never over the ledger).
* `rebuild_year` — recomputes every total of a year from the ledger in a few set-based
  statements, fixes the rows that differ and reports how many did (the drift).
"""

# SQL here is assembled from table and column names of our own models and fixed source
# kinds; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import logging
import re
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import ExtractMonth

from credits.models import (
    TOTAL_MAX_DIGITS,
    CreditEntry,
    PeriodKind,
    PersonTotal,
    RankBoard,
    RankStep,
    SourceKind,
    UnitTotal,
)
from credits.periods import Period, local_today, portal_tz, year_periods
from credits.rules import Rules, q2, rules_for_year
from org.models import OrgUnit, User

PT = PersonTotal._meta.db_table
UT = UnitTotal._meta.db_table
CE = CreditEntry._meta.db_table
RB = RankBoard._meta.db_table
RS = RankStep._meta.db_table
USER = User._meta.db_table
UNIT = OrgUnit._meta.db_table
KINDS: list[str] = list(SourceKind.values)
ROOT_PATH_LEN = OrgUnit.steplen
REBUILD_WORK_MEM = "512MB"  # per sort/hash node of a rebuild or refresh, its transaction only
RANK_REFRESH_LOCK = 0x63726564  # advisory lock key ("cred")
SCAN_PARTS = 2  # the rebuild works in this many disjoint sets of people (see _ACCUMULATORS)

log = logging.getLogger(__name__)


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _num() -> str:
    """Placeholder of a Decimal parameter: SQLite receives Decimals as text, so cast them."""
    return "%s" if _pg() else "CAST(%s AS NUMERIC)"


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if _pg() else f"MIN({a}, {b})"


def _r2(expr: str) -> str:
    """PostgreSQL numerics are exact; SQLite sums floats, so round every stored sum."""
    return expr if _pg() else f"ROUND({expr}, 2)"


def _differs(a: str, b: str) -> str:
    return f"{a} IS DISTINCT FROM {b}" if _pg() else f"{a} IS NOT {b}"


def _capped(value: Decimal, cap: Decimal | None) -> Decimal:
    return value if cap is None else min(value, cap)


# --- Incremental: one entry -------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """What one entry did to the totals: new person totals and versions, per period key."""

    person: dict[str, tuple[Decimal, int]]
    counted_in_year: Decimal
    root_id: int | None


def _root_sql() -> str:
    """Scalar subquery: the organisation (root unit) of the unit id given as parameter."""
    return (
        f"(SELECT r.id FROM {UNIT} x JOIN {UNIT} r ON r.path = SUBSTR(x.path, 1, {ROOT_PATH_LEN}) "
        f"WHERE x.id = %s)"
    )


def apply_entry(
    *,
    person_id: int,
    person_unit_id: int | None,
    entry_unit_id: int | None,
    source_kind: str,
    points: Decimal,
    periods: Sequence[Period],
    caps: dict[str, Decimal | None],
) -> Applied:
    """Add one entry to the person's and the unit's totals of its three periods.

    Two statements; the organisation of each unit is looked up inside them, so an award
    costs no extra round trip.
    """
    num = _num()
    col = f"src_{source_kind}"
    year_period = periods[0]
    cap = caps.get(source_kind)

    rows_sql, params = [], []
    for period in periods:
        initial_total = _capped(points, cap) if period.kind == PeriodKind.YEAR else points
        # rank_total 0: a new row enters the ranking order at the next refresh (see PersonTotal).
        rows_sql.append(f"(%s, %s, %s, %s, %s, {_root_sql()}, {num}, {num}, 0, 1)")
        params += [
            person_id, period.key, period.kind, period.year, person_unit_id, person_unit_id,
            points, initial_total,
        ]
    capped_terms = []
    for kind in KINDS:
        term = f"{PT}.src_{kind}" + (f" + excluded.src_{kind}" if kind == source_kind else "")
        if caps.get(kind) is not None:
            term = _least(term, num)
            params.append(caps[kind])
        capped_terms.append(term)
    sql = (
        f"INSERT INTO {PT} (person_id, period, kind, year, unit_id, root_id, {col}, total, rank_total, "
        f"entries) VALUES {', '.join(rows_sql)} "
        f"ON CONFLICT (person_id, period) DO UPDATE SET "
        f"{col} = {_r2(f'{PT}.{col} + excluded.{col}')}, "
        f"total = CASE WHEN {PT}.kind = 'Y' THEN {_r2(' + '.join(capped_terms))} "
        f"ELSE {_r2(f'{PT}.total + excluded.total')} END, "
        f"entries = {PT}.entries + 1, unit_id = excluded.unit_id, root_id = excluded.root_id "
        f"RETURNING period, {col}, total, entries, root_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    person: dict[str, tuple[Decimal, int]] = {}
    counted = points
    root_id = returned[0][4] if returned else None
    for key, new_src, total, entries, _root in returned:
        person[key] = (q2(Decimal(str(total))), int(entries))
        if key == year_period.key:
            counted = _counted(Decimal(str(new_src)), points, cap)

    if entry_unit_id is not None:
        unit_rows, unit_params = [], []
        for period in periods:
            unit_rows.append(f"(%s, %s, %s, %s, {_root_sql()}, {num}, 1)")
            unit_params += [
                entry_unit_id, period.key, period.kind, period.year, entry_unit_id,
                counted if period.kind == PeriodKind.YEAR else points,
            ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {UT} (unit_id, period, kind, year, root_id, points, entries) "
                f"VALUES {', '.join(unit_rows)} "
                f"ON CONFLICT (unit_id, period) DO UPDATE SET "
                f"points = {_r2(f'{UT}.points + excluded.points')}, entries = {UT}.entries + 1",
                unit_params,
            )
    return Applied(person=person, counted_in_year=counted, root_id=root_id)


ENTRY_COLUMNS = (
    "person_id", "unit_id", "source_kind", "source_ref", "label", "points", "occurred_at",
    "created_at", "created_by_id", "reason", "reverses_id", "idempotency_key",
)


def record_entry(
    *, entry: dict, person_unit_id: int | None, periods: Sequence[Period], caps: dict[str, Decimal | None]
) -> tuple[int | None, Applied | None]:
    """Insert the ledger row unless its idempotency key exists, and apply it to the totals.

    Returns (entry id, what it did to the totals), or (None, None) when the key was
    already there. On PostgreSQL this is one statement — the INSERT … ON CONFLICT DO
    NOTHING and both UPSERTs chained by data-modifying CTEs — so an award outside a
    transaction costs a single round trip and is atomic on its own. Elsewhere it is
    three statements; the caller wraps them in a transaction.
    """
    if _pg():
        return _record_entry_pg(entry=entry, person_unit_id=person_unit_id, periods=periods, caps=caps)
    entry_id = _insert_entry(entry)
    if entry_id is None:
        return None, None
    applied = apply_entry(
        person_id=entry["person_id"],
        person_unit_id=person_unit_id,
        entry_unit_id=entry["unit_id"],
        source_kind=entry["source_kind"],
        points=entry["points"],
        periods=periods,
        caps=caps,
    )
    return entry_id, applied


def _entry_params(entry: dict) -> list:
    ops = connection.ops
    params = []
    for name in ENTRY_COLUMNS:
        value = entry[name]
        if name in ("occurred_at", "created_at"):
            value = ops.adapt_datetimefield_value(value)
        elif name == "points":
            value = ops.adapt_decimalfield_value(value, 8, 2)
        params.append(value)
    return params


def _insert_entry(entry: dict) -> int | None:
    """INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id."""
    placeholders = ", ".join(["%s"] * len(ENTRY_COLUMNS))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CE} ({', '.join(ENTRY_COLUMNS)}) VALUES ({placeholders}) "
            f"ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            _entry_params(entry),
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _execute_prepared(sql: str | bytes, params: list) -> list[tuple]:
    """Run the award statement as a server-side prepared statement on Django's connection.

    Parsing and planning three chained CTEs costs about as much as running them, and an
    award runs the same few texts over and over; psycopg prepares each text once per
    connection — only if the connection's `prepare_threshold` is set (Django leaves it
    off; settings.py sets it, `DATABASE_PREPARE_THRESHOLD`). Same connection, so Django's
    transaction state applies unchanged.
    """
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


def read_cursor():
    """A Django cursor for the hot fixed-text reads of a ranking page.

    On PostgreSQL its psycopg cursor binds parameters on the server, so psycopg prepares
    a text it has run `prepare_threshold` times on the connection (see settings.py): a
    read then skips parsing and planning, which cost more than the indexed reads
    themselves. It is wrapped like any Django cursor, so query logging and query-count
    assertions see its statements.
    Elsewhere it is Django's ordinary cursor.
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg

    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


def ranking_page(*, period_key: str, scope: str, scope_id: int, start: int, stop: int) -> list[tuple]:
    """Rows `start`…`stop - 1` of an organisation's (scope 'o') or a unit's (scope 'u')
    ranking as of the last rank refresh: (person, name, unit, unit name, rank total).

    A short scan of the (period, organisation|unit, rank_total) index, active people only.
    """
    column = "root_id" if scope == "o" else "unit_id"
    with read_cursor() as cursor:
        cursor.execute(
            f"SELECT t.person_id, p.name, t.unit_id, o.name, t.rank_total FROM {PT} t "
            f"JOIN {USER} p ON p.id = t.person_id AND p.is_active "
            f"LEFT JOIN {UNIT} o ON o.id = t.unit_id "
            f"WHERE t.period = %s AND t.{column} = %s "
            f"ORDER BY t.rank_total DESC, t.person_id LIMIT %s OFFSET %s",
            [period_key, scope_id, max(stop - start, 0), start],
        )
        rows = cursor.fetchall()
    return [(pid, name, unit_id, unit_name, q2(Decimal(str(total)))) for pid, name, unit_id, unit_name, total in rows]


def board_size(*, period_key: str, root_id: int) -> int:
    """People in an organisation's ranking of the period, as of the last rank refresh."""
    with read_cursor() as cursor:
        cursor.execute(f"SELECT ranked FROM {RB} WHERE root_id = %s AND period = %s", [root_id, period_key])
        row = cursor.fetchone()
    return row[0] if row else 0


_AWARD_SQL: dict[tuple[str, tuple[str, ...]], bytes] = {}


def _award_sql(kind: str, capped: tuple[str, ...]) -> bytes:
    """The award statement for an entry of `kind` when the sources in `capped` have caps.

    The text depends only on these (every value is a parameter), so it is built once per
    process and key; psycopg then prepares it once per connection.
    """
    cached = _AWARD_SQL.get((kind, capped))
    if cached is not None:
        return cached
    col = f"src_{kind}"
    row = "(CAST(%s AS VARCHAR), CAST(%s AS VARCHAR), CAST(%s AS INTEGER), CAST(%s AS NUMERIC), CAST(%s AS NUMERIC))"
    capped_terms = []
    for k in KINDS:
        term = f"{PT}.src_{k}" + (f" + excluded.src_{k}" if k == kind else "")
        if k in capped:
            term = f"LEAST({term}, %s)"
        capped_terms.append(term)
    counted = f"LEAST(p.{col}, %s) - LEAST(p.{col} - %s, %s)" if kind in capped else "%s"
    placeholders = ", ".join(["%s"] * len(ENTRY_COLUMNS))
    # The organisation of a unit: two unique-index reads (the unit by id, the root by path).
    root_of = (
        f"(SELECT o.id FROM {UNIT} o WHERE o.path = "
        f"(SELECT SUBSTR(x.path, 1, {ROOT_PATH_LEN}) FROM {UNIT} x WHERE x.id = CAST(%s AS BIGINT)))"
    )
    sql = (
        f"WITH ins AS ("
        f"  INSERT INTO {CE} ({', '.join(ENTRY_COLUMNS)}) VALUES ({placeholders}) "
        f"  ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
        f"), p AS ("
        f"  INSERT INTO {PT} (person_id, period, kind, year, unit_id, root_id, {col}, total, rank_total, "
        f"  entries) SELECT %s, v.period, v.kind, v.year, r.unit_id, r.root_id, v.points, v.initial, 0, 1 "
        f"  FROM (VALUES {row}, {row}, {row}) AS v (period, kind, year, points, initial) "
        f"  CROSS JOIN (SELECT CAST(%s AS BIGINT) AS unit_id, {root_of} AS root_id) r "
        f"  WHERE EXISTS (SELECT 1 FROM ins) "
        f"  ON CONFLICT (person_id, period) DO UPDATE SET "
        f"  {col} = {PT}.{col} + excluded.{col}, "
        f"  total = CASE WHEN {PT}.kind = 'Y' THEN {' + '.join(capped_terms)} "
        f"  ELSE {PT}.total + excluded.total END, "
        f"  entries = {PT}.entries + 1, unit_id = excluded.unit_id, root_id = excluded.root_id "
        f"  RETURNING period, kind, year, {col}, total, entries, root_id"
        f"), u AS ("
        f"  INSERT INTO {UT} (unit_id, period, kind, year, root_id, points, entries) "
        f"  SELECT CAST(%s AS BIGINT), p.period, p.kind, p.year, {root_of}, "
        f"  CASE WHEN p.kind = 'Y' THEN {counted} ELSE %s END, 1 FROM p "
        f"  WHERE CAST(%s AS BIGINT) IS NOT NULL "
        f"  ON CONFLICT (unit_id, period) DO UPDATE SET "
        f"  points = {UT}.points + excluded.points, entries = {UT}.entries + 1"
        f") SELECT ins.id, p.period, p.{col}, p.total, p.entries, p.root_id FROM ins LEFT JOIN p ON true"
    )
    # Stored encoded: psycopg would encode the 3 kB text again on every award.
    encoded = _AWARD_SQL[(kind, capped)] = sql.encode()
    return encoded


def _record_entry_pg(
    *, entry: dict, person_unit_id: int | None, periods: Sequence[Period], caps: dict[str, Decimal | None]
) -> tuple[int | None, Applied | None]:
    kind = entry["source_kind"]
    points = entry["points"]
    cap = caps.get(kind)
    entry_unit_id = entry["unit_id"]
    capped = tuple(k for k in KINDS if caps.get(k) is not None)
    # Parameter order follows the text: the entry; the person and the three VALUES rows
    # (year, quarter, month); the person's unit twice (its id, its organisation); the caps
    # of the conflict update; then the unit statement.
    params: list = [entry[name] for name in ENTRY_COLUMNS]  # PostgreSQL takes them as they are
    params.append(entry["person_id"])
    for period in periods:
        initial = _capped(points, cap) if period.kind == PeriodKind.YEAR else points
        params += [period.key, str(period.kind), period.year, points, initial]
    params += [person_unit_id, person_unit_id]
    params += [caps[k] for k in capped]
    params += [entry_unit_id, entry_unit_id]
    params += [cap, points, cap] if cap is not None else [points]
    params += [points, entry_unit_id]
    rows = _execute_prepared(_award_sql(kind, capped), params)
    if not rows:
        return None, None
    person: dict[str, tuple[Decimal, int]] = {}
    counted_value = points
    year_key = periods[0].key
    for _id, key, new_src, total, entries, _root in rows:
        person[key] = (q2(total), entries)
        if key == year_key:
            counted_value = _counted(new_src, points, cap)
    return rows[0][0], Applied(person=person, counted_in_year=counted_value, root_id=rows[0][5])


def _counted(new_raw: Decimal, points: Decimal, cap: Decimal | None) -> Decimal:
    """What an entry of `points` added to a capped year total whose raw sum is now `new_raw`.

    The UPSERT is atomic, so the raw sum before this entry was exactly `new_raw - points`
    even with concurrent writers; the counted part is the change of the capped value.
    Summed over a person's entries this telescopes to the capped year total.
    """
    if cap is None:
        return points
    return q2(min(new_raw, cap) - min(new_raw - points, cap))


# --- Reading one person's standing ----------------------------------------------------------


@dataclass(frozen=True)
class RankSnapshot:
    total: Decimal
    rank_org: int | None
    rank_unit: int | None
    root_id: int | None
    org_size: int | None
    unit_size: int | None


def _step_rank_sql(scope: str, scope_id: str, total: str) -> str:
    """Rank of `total` in a ranking: the lowest step above it ends just before it."""
    return (
        f"(SELECT s.rank + s.people FROM {RS} s WHERE s.period = %s AND s.scope = '{scope}' "
        f"AND s.scope_id = {scope_id} AND s.total > {total} ORDER BY s.total LIMIT 1)"
    )


def _unit_rank_sql(unit_id: str, total: str) -> str:
    """Rank of `total` in a unit: one more than its active members ranked above it, as of
    the last refresh (`rank_total`). A unit is small, and the (period, unit, rank_total)
    index makes this a short range scan."""
    return (
        f"(SELECT 1 + COUNT(*) FROM {PT} x JOIN {USER} xu ON xu.id = x.person_id AND xu.is_active "
        f"WHERE x.period = %s AND x.unit_id = {unit_id} AND x.rank_total > {total})"
    )


def rank_snapshot(*, person_id: int, unit_id: int, period_key: str, ranks: bool = True) -> RankSnapshot:
    """The person's total and ranks in their organisation and unit for one period, and
    the sizes of both rankings: one round trip of indexed reads.

    A rank is one more than the people above the person's total as of the last rank
    refresh; ranks are None until a refresh has built the ranking of the period (and
    when `ranks` is false: the caller takes them from the live sets).
    """
    if ranks:
        rank_sql = (
            f"{_step_rank_sql('o', 'r.root_id', 'COALESCE(t.total, 0)')}, "
            f"{_unit_rank_sql('%s', 'COALESCE(t.total, 0)')} "
        )
        rank_params = [period_key, period_key, unit_id]
    else:
        rank_sql, rank_params = "NULL, NULL ", []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.total, r.root_id, b.population, u.member_count, {rank_sql}"
            f"FROM (SELECT {_root_sql()} AS root_id) r "
            f"LEFT JOIN {PT} t ON t.person_id = %s AND t.period = %s "
            f"LEFT JOIN {RB} b ON b.root_id = r.root_id AND b.period = %s "
            f"LEFT JOIN {UT} u ON u.unit_id = %s AND u.period = %s",
            [*rank_params, unit_id, person_id, period_key, period_key, unit_id, period_key],
        )
        total, root_id, population, members, org_rank, unit_rank = cursor.fetchone()
    return RankSnapshot(
        total=q2(Decimal(str(total))) if total is not None else Decimal("0.00"),
        rank_org=(org_rank or 1) if population is not None else None,
        rank_unit=(unit_rank or 1) if members is not None else None,
        root_id=root_id,
        org_size=population,
        unit_size=members,
    )


def rank_of_total(*, scope: str, scope_id: int, period_key: str, total: Decimal) -> int:
    """Rank a total would have in a ranking (as of the last refresh)."""
    if scope == RankStep.Scope.ORGANISATION:
        sql = _step_rank_sql(scope, "%s", _num())
    else:
        sql = _unit_rank_sql("%s", _num())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", [period_key, scope_id, total])
        value = cursor.fetchone()[0]
    return value or 1


# --- Ranks and unit statistics ------------------------------------------------------


def _root_of_unit_sql() -> str:
    """(unit id, root id) for every unit: the root is the unit whose path is the prefix."""
    return (
        f"SELECT x.id AS unit_id, r.id AS root_id FROM {UNIT} x "
        f"JOIN {UNIT} r ON r.path = SUBSTR(x.path, 1, {ROOT_PATH_LEN})"
    )


def _target_case(rules: Rules, fraction: float, level_col: str) -> tuple[str, list]:
    """SQL CASE giving each person's pro-rata target for the year from their cadre level."""
    params: list = []
    whens = []
    for level_id, req in rules.requirements.items():
        if level_id is None:
            continue
        whens.append(f"WHEN {level_col} = %s THEN {_num()}")
        params += [level_id, q2(req.points * Decimal(str(fraction)))]
    default = rules.requirement_for(None)
    params.append(q2(default.points * Decimal(str(fraction))) if default else Decimal("0"))
    case = f"CASE {' '.join(whens)} ELSE {_num()} END" if whens else _num()
    return case, params


def _person_place_sql() -> str:
    """(person id, unit id, organisation id, active) of every person now."""
    return (
        f"SELECT u.id AS person_id, u.unit_id, ru.root_id, u.is_active FROM {USER} u "
        f"LEFT JOIN ({_root_of_unit_sql()}) ru ON ru.unit_id = u.unit_id"
    )


def refresh_ranks(
    periods: Iterable[Period], *, today=None, reattach: bool = True, reattached: list | None = None
) -> int:
    """Recompute ranks, unit statistics and boards of `periods`; returns rows changed.

    Each step is one statement over all the periods at once (partitioned by period), so
    a year's 17 periods cost about what one does. It also re-attaches each total to the
    person's current unit and organisation, so a person who moved is ranked where they
    are now. Person ranks live in `RankStep` (a few rows per distinct total); unit rows
    are updated only where a value changes.
    """
    today = today or local_today()
    periods = list(periods)
    keys = [p.key for p in periods]
    if not keys:
        return 0
    marks = ", ".join(["%s"] * len(keys))
    changed = 0
    with connection.cursor() as cursor:
        if _pg():
            cursor.execute(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'")
            # Every join here matches hundreds of thousands of rows on text and numeric
            # keys: hashing them is several times cheaper than sorting them for a merge.
            cursor.execute("SET LOCAL enable_mergejoin = off")
            # One refresh at a time: two would each delete and insert the same steps.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RANK_REFRESH_LOCK])
        # Re-attach each total to the person's unit and organisation now, and take the
        # totals that changed since the last refresh into the ranking order (rank_total):
        # one pass over the periods' rows that writes only the rows that changed.
        # (Skipped right after a rebuild that did this already: `RebuildReport.ranks_attached`.)
        if reattach:
            # With `reattached` (PostgreSQL), the rows it changed come back for the live sets:
            # (person, period, organisation, unit, total, active, organisation before, unit
            # before) — the subqueries see the rows as they were before this statement.
            returning = ""
            if reattached is not None and _pg():
                returning = (
                    f" RETURNING {PT}.person_id, {PT}.period, {PT}.root_id, {PT}.unit_id, {PT}.total, "
                    f"m.is_active, (SELECT o.root_id FROM {PT} o WHERE o.id = {PT}.id), "
                    f"(SELECT o.unit_id FROM {PT} o WHERE o.id = {PT}.id)"
                )
            cursor.execute(
                f"UPDATE {PT} SET unit_id = m.unit_id, root_id = m.root_id, rank_total = {PT}.total "
                f"FROM ({_person_place_sql()}) m WHERE {PT}.person_id = m.person_id AND {PT}.period IN ({marks}) "
                f"AND ({_differs(f'{PT}.unit_id', 'm.unit_id')} OR {_differs(f'{PT}.root_id', 'm.root_id')} "
                f"OR {PT}.rank_total <> {PT}.total){returning}",
                keys,
            )
            if returning:
                reattached.extend(cursor.fetchall())
        _group_totals(cursor, keys, marks)
        changed += _refresh_steps(cursor, keys)
        changed += _refresh_unit_stats(cursor, periods, keys, marks, today)
        cursor.execute("DROP TABLE cr_groups")
        _refresh_boards(cursor, keys, marks)
        if _pg():
            # Back to the default for whatever else the caller's transaction runs.
            cursor.execute("SET LOCAL enable_mergejoin = DEFAULT")
    return changed


def _group_totals(cursor, keys: list[str], marks: str) -> None:
    """cr_groups: one pass over the periods' totals of active people, grouped twice:
    people per (period, organisation, total), the stuff of the ranking steps (``g = 'o'``),
    and people and people with credits per (period, unit) for the unit statistics (``g = 'u'``).
    """
    cursor.execute("DROP TABLE IF EXISTS cr_groups")
    # Inactive people are few: an anti-join on them is cheaper than joining everyone.
    source = (
        f"FROM {PT} t WHERE t.period IN ({marks}) "
        f"AND t.person_id NOT IN (SELECT id FROM {USER} WHERE NOT is_active) "
        f"AND (t.root_id IS NOT NULL OR t.unit_id IS NOT NULL)"
    )
    if _pg():
        cursor.execute(
            f"CREATE TEMP TABLE cr_groups AS SELECT t.period, "
            f"CASE WHEN GROUPING(t.unit_id) = 1 THEN 'o' ELSE 'u' END AS g, "
            f"COALESCE(t.root_id, t.unit_id) AS sid, t.total, COUNT(*) AS people, "
            f"COUNT(*) FILTER (WHERE t.total > 0) AS positive {source} "
            f"GROUP BY GROUPING SETS ((t.period, t.root_id, t.total), (t.period, t.unit_id))",
            keys,
        )
        return
    cursor.execute(
        f"CREATE TEMP TABLE cr_groups AS SELECT t.period, 'o' AS g, t.root_id AS sid, t.total, "
        f"COUNT(*) AS people, SUM(CASE WHEN t.total > 0 THEN 1 ELSE 0 END) AS positive {source} "
        f"GROUP BY t.period, t.root_id, t.total "
        f"UNION ALL SELECT t.period, 'u', t.unit_id, NULL, COUNT(*), "
        f"SUM(CASE WHEN t.total > 0 THEN 1 ELSE 0 END) {source} GROUP BY t.period, t.unit_id",
        keys * 2,
    )


def _refresh_steps(cursor, keys: list[str]) -> int:
    """Bring the organisation ranking steps of the periods up to date: one row per
    distinct total per organisation and period, from cr_groups.

    A running sum over the (few) groups: no per-person rank is written, so a refresh
    costs one pass however many ranks moved. The new steps are computed into a temporary
    table and only the steps that differ are deleted, updated or inserted: after a
    rebuild that found no drift, or between two refreshes of a large organisation,
    almost nothing is written. (Ranks within a unit are counted when read: a unit is a
    few hundred people at most, and its steps were most of the rows to rewrite.)
    """
    marks = ", ".join(["%s"] * len(keys))
    cursor.execute("DROP TABLE IF EXISTS cr_steps")
    cursor.execute(
        "CREATE TEMP TABLE cr_steps (period VARCHAR(7), scope CHAR(1), scope_id BIGINT, "
        f"total NUMERIC({TOTAL_MAX_DIGITS}, 2), people INTEGER, rank INTEGER)"
    )
    cursor.execute(
        "INSERT INTO cr_steps (period, scope, scope_id, total, people, rank) "
        "SELECT period, %s, sid, total, people, 1 + COALESCE(SUM(people) OVER ("
        "PARTITION BY period, sid ORDER BY total DESC "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) FROM cr_groups "
        "WHERE g = 'o' AND sid IS NOT NULL",
        [str(RankStep.Scope.ORGANISATION)],
    )
    if _pg():
        cursor.execute("ANALYZE cr_steps")
    same = "n.period = s.period AND n.scope = s.scope AND n.scope_id = s.scope_id AND n.total = s.total"
    if _pg():
        # One hash full join finds the steps that differ; the writes then touch only those.
        cursor.execute("DROP TABLE IF EXISTS cr_step_diff")
        cursor.execute(
            f"CREATE TEMP TABLE cr_step_diff AS SELECT s.id, n.period, n.scope, n.scope_id, n.total, "
            f"n.people, n.rank FROM cr_steps n FULL JOIN (SELECT * FROM {RS} WHERE period IN ({marks})) s "
            f"ON {same} WHERE s.id IS NULL OR n.period IS NULL OR s.people <> n.people OR s.rank <> n.rank",
            keys,
        )
        written = _exec(
            cursor, f"DELETE FROM {RS} WHERE id IN (SELECT id FROM cr_step_diff WHERE period IS NULL)"
        )
        written += _exec(
            cursor,
            f"UPDATE {RS} SET people = d.people, rank = d.rank FROM cr_step_diff d "
            f"WHERE {RS}.id = d.id AND d.period IS NOT NULL",
        )
        written += _exec(
            cursor,
            f"INSERT INTO {RS} (period, scope, scope_id, total, people, rank) "
            f"SELECT period, scope, scope_id, total, people, rank FROM cr_step_diff WHERE id IS NULL",
        )
        cursor.execute("DROP TABLE cr_step_diff")
        cursor.execute("DROP TABLE cr_steps")
        return written
    written = _exec(
        cursor,
        f"DELETE FROM {RS} WHERE period IN ({marks}) AND NOT EXISTS ("
        f"SELECT 1 FROM cr_steps n WHERE n.period = {RS}.period AND n.scope = {RS}.scope "
        f"AND n.scope_id = {RS}.scope_id AND n.total = {RS}.total)",
        keys,
    )
    written += _exec(
        cursor,
        f"UPDATE {RS} SET people = n.people, rank = n.rank FROM cr_steps n "
        f"WHERE n.period = {RS}.period AND n.scope = {RS}.scope AND n.scope_id = {RS}.scope_id "
        f"AND n.total = {RS}.total AND ({RS}.people <> n.people OR {RS}.rank <> n.rank)",
    )
    written += _exec(
        cursor,
        f"INSERT INTO {RS} (period, scope, scope_id, total, people, rank) "
        f"SELECT n.period, n.scope, n.scope_id, n.total, n.people, n.rank FROM cr_steps n "
        f"WHERE NOT EXISTS (SELECT 1 FROM {RS} s WHERE {same})",
    )
    cursor.execute("DROP TABLE cr_steps")
    return written


def _refresh_unit_stats(cursor, periods: list[Period], keys: list[str], marks: str, today) -> int:
    """Members, members with credits, on-track members, average, compliance and ranks."""
    values = " UNION ALL ".join(
        ["SELECT CAST(%s AS VARCHAR(7)) AS period, CAST(%s AS CHAR(1)) AS kind, %s AS year"] * len(periods)
    )
    period_params = [x for p in periods for x in (p.key, p.kind, p.year)]
    # Every unit with active members gets a row in every period, so it is ranked at zero.
    cursor.execute(
        f"INSERT INTO {UT} (unit_id, period, kind, year, root_id) "
        f"SELECT m.unit_id, p.period, p.kind, p.year, ru.root_id FROM "
        f"(SELECT DISTINCT unit_id FROM {USER} WHERE is_active AND unit_id IS NOT NULL) m "
        f"JOIN ({_root_of_unit_sql()}) ru ON ru.unit_id = m.unit_id "
        f"CROSS JOIN ({values}) p WHERE 1 = 1 "  # WHERE: SQLite's parser needs it before ON CONFLICT
        f"ON CONFLICT (unit_id, period) DO NOTHING",
        period_params,
    )
    cursor.execute(
        f"UPDATE {UT} SET root_id = ru.root_id FROM ({_root_of_unit_sql()}) ru "
        f"WHERE {UT}.unit_id = ru.unit_id AND {UT}.period IN ({marks}) "
        f"AND {_differs(f'{UT}.root_id', 'ru.root_id')}",
        keys,
    )
    # On-track members are counted against the pro-rata requirement, for year rows only.
    on_track_parts, on_track_params = [], []
    for period in periods:
        if period.kind != PeriodKind.YEAR:
            continue
        rules = rules_for_year(period.year)
        target_sql, target_params = _target_case(rules, period.fraction_elapsed(today), "u.cadre_level_id")
        on_track_parts.append(
            f"SELECT CAST(%s AS VARCHAR(7)) AS period, u.unit_id, "
            f"SUM(CASE WHEN COALESCE(t.total, 0) >= {target_sql} THEN 1 ELSE 0 END) AS ot "
            f"FROM {USER} u LEFT JOIN {PT} t ON t.person_id = u.id AND t.period = %s "
            f"WHERE u.is_active AND u.unit_id IS NOT NULL GROUP BY u.unit_id"
        )
        on_track_params += [period.key, *target_params, period.key]
    on_track_sql = " UNION ALL ".join(on_track_parts) or (
        f"SELECT CAST(NULL AS VARCHAR(7)) AS period, CAST(NULL AS BIGINT) AS unit_id, 0 AS ot "
        f"FROM {UT} WHERE 1 = 0"
    )
    cursor.execute(
        f"UPDATE {UT} SET member_count = s.mc, members_with_credits = s.mwc, on_track_count = s.ot, "
        f"avg_points = s.avg, compliance_rate = s.cr, stats_date = %s FROM ("
        f"  SELECT x.id, COALESCE(m.mc, 0) AS mc, COALESCE(w.mwc, 0) AS mwc, COALESCE(o.ot, 0) AS ot, "
        f"    CASE WHEN m.mc > 0 THEN ROUND(1.0 * x.points / m.mc, 2) ELSE 0 END AS avg, "
        f"    CASE WHEN m.mc > 0 THEN ROUND(1.0 * COALESCE(o.ot, 0) / m.mc, 4) ELSE 0 END AS cr "
        f"  FROM {UT} x "
        f"  LEFT JOIN (SELECT unit_id, COUNT(*) AS mc FROM {USER} WHERE is_active AND unit_id IS NOT NULL "
        f"    GROUP BY unit_id) m ON m.unit_id = x.unit_id "
        # Members with credits, from the pass over the totals that built the ranking steps.
        f"  LEFT JOIN (SELECT period, sid AS unit_id, positive AS mwc FROM cr_groups WHERE g = 'u'"
        f"  ) w ON w.unit_id = x.unit_id AND w.period = x.period "
        f"  LEFT JOIN ({on_track_sql}) o ON o.unit_id = x.unit_id AND o.period = x.period "
        f"  WHERE x.period IN ({marks})"
        f") s WHERE {UT}.id = s.id AND ("
        f"{UT}.member_count <> s.mc OR {UT}.members_with_credits <> s.mwc OR {UT}.on_track_count <> s.ot "
        f"OR {UT}.avg_points <> s.avg OR {UT}.compliance_rate <> s.cr OR {_differs(f'{UT}.stats_date', '%s')})",
        [today, *on_track_params, *keys, today],
    )
    changed = max(cursor.rowcount, 0)
    cursor.execute(
        f"UPDATE {UT} SET rank_avg = r.ra, rank_compliance = r.rc FROM ("
        f"  SELECT id, rank_avg AS old_ra, rank_compliance AS old_rc, "
        f"    CASE WHEN member_count > 0 THEN RANK() OVER ("
        f"      PARTITION BY period, root_id, member_count > 0 ORDER BY avg_points DESC) END AS ra, "
        f"    CASE WHEN member_count > 0 AND kind = 'Y' THEN RANK() OVER ("
        f"      PARTITION BY period, root_id, member_count > 0 ORDER BY compliance_rate DESC) END AS rc "
        f"  FROM {UT} WHERE period IN ({marks})"
        f") r WHERE {UT}.id = r.id AND ("
        f"{_differs('r.old_ra', 'r.ra')} OR {_differs('r.old_rc', 'r.rc')})",
        keys,
    )
    return changed + max(cursor.rowcount, 0)


def _refresh_boards(cursor, keys: list[str], marks: str) -> None:
    """Per organisation and period: active people, ranked people, people with a positive total."""
    from django.utils import timezone

    now = timezone.now()
    cursor.execute(
        f"SELECT ru.root_id, COUNT(*) FROM {USER} u "
        f"JOIN ({_root_of_unit_sql()}) ru ON ru.unit_id = u.unit_id "
        f"WHERE u.is_active GROUP BY ru.root_id"
    )
    population = dict(cursor.fetchall())
    # Ranked people and people with credits, from the organisation steps just written.
    cursor.execute(
        f"SELECT period, scope_id, SUM(people), SUM(CASE WHEN total > 0 THEN people ELSE 0 END) "
        f"FROM {RS} WHERE scope = 'o' AND period IN ({marks}) GROUP BY period, scope_id",
        keys,
    )
    ranked = {(period, root): (n, int(pos or 0)) for period, root, n, pos in cursor.fetchall()}
    boards = [
        RankBoard(
            root_id=root,
            period=key,
            population=population.get(root, 0),
            ranked=ranked.get((key, root), (0, 0))[0],
            with_credits=ranked.get((key, root), (0, 0))[1],
            refreshed_at=now,
        )
        for key in keys
        for root in set(population) | {r for (k, r) in ranked if k == key}
    ]
    RankBoard.objects.bulk_create(
        boards,
        update_conflicts=True,
        unique_fields=["root", "period"],
        update_fields=["population", "ranked", "with_credits", "refreshed_at"],
    )


# --- Rebuild from the ledger ------------------------------------------------------------


@dataclass
class RebuildReport:
    """What a rebuild found: rows of derived totals that did not match the ledger."""

    year: int
    entries: int = 0
    person_rows_fixed: int = 0
    person_rows_added: int = 0
    person_rows_removed: int = 0
    unit_rows_fixed: int = 0
    unit_rows_added: int = 0
    unit_rows_removed: int = 0
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)
    # Every total of the year also carries its person's unit and organisation now and
    # is in the ranking order (rank_total), so the rank refresh can skip re-attaching.
    ranks_attached: bool = False

    @property
    def drift(self) -> int:
        return (
            self.person_rows_fixed + self.person_rows_added + self.person_rows_removed
            + self.unit_rows_fixed + self.unit_rows_added + self.unit_rows_removed
        )


def _exec(cursor, sql: str, params: Sequence = ()) -> int:
    cursor.execute(sql, params)
    return max(cursor.rowcount, 0)


NO_CAP = Decimal("9999999999")
TEMP_TABLES = ("cr_diff", "cr_ut", "cr_uy", "cr_um", "cr_y", "cr_q", "cr_m")  # SQLite


def _cap_case(rules: Rules, kind: str, level_col: str) -> tuple[str, list] | None:
    """SQL for the cap of `kind` given the person's cadre level, or None when uncapped."""
    caps = {level: rules.cap_for(kind, level) for level in [*rules.requirements, None]}
    if all(cap is None for cap in caps.values()):
        return None
    whens, params = [], []
    for level, cap in caps.items():
        if level is not None:
            whens.append(f"WHEN {level_col} = %s THEN {_num()}")
            params += [level, NO_CAP if cap is None else cap]
    params.append(NO_CAP if caps[None] is None else caps[None])
    return (f"CASE {' '.join(whens)} ELSE {_num()} END" if whens else _num()), params


def rebuild_year(year: int) -> RebuildReport:
    """Recompute every person and unit total of `year` from the ledger; fix what differs.

    Must run inside a transaction. On PostgreSQL the ledger is locked against inserts
    (SHARE mode) for the duration, so no award can slip between the scan and the fix;
    awards wait, they do not fail. One scan of the year's entries builds the expected
    person totals of every month; quarters, the year and the units derive from that.
    Expected and stored rows are then compared in one pass and only the rows that
    differ are written, so a rebuild that finds no drift writes nothing. On PostgreSQL
    the people are split into parts that run at once on two connections (`_people_pg`).
    """
    started = time.monotonic()
    report = RebuildReport(year=year)
    rules = rules_for_year(year)
    periods = year_periods(year)
    keys = [p.key for p in periods]
    marks = ", ".join(["%s"] * len(keys))
    pg = _pg()
    src_names = ", ".join(f"src_{k}" for k in KINDS)

    def step(name: str, t0: float) -> float:
        now = time.monotonic()
        report.steps[name] = round(now - t0, 3)
        return now

    t = time.monotonic()
    with connection.cursor() as cursor:
        if pg:
            cursor.execute(f"LOCK TABLE {CE} IN SHARE MODE")
            # Millions of rows are hashed: give this transaction memory so nothing spills.
            cursor.execute(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'")
        helper = pg and _helper_allowed(cursor)
        _drop_temp(cursor)
        if pg:
            _people_pg(cursor, rules=rules, year=year, periods=periods, helper=helper)
            t = step("people", t)
            _expected_unit_totals_pg(cursor, rules, year)
        else:
            _scan_ledger(cursor, periods[0], periods)
            t = step("scan", t)
            _expected_person_totals(cursor, rules, year)
            t = step("person_totals", t)
            _expected_unit_totals(cursor, rules, year)
        t = step("unit_totals", t)

        # Compare: one pass keeps the (person, period) rows that differ, are missing or
        # are extra, with their expected values; the fixes then touch only those.
        # (On PostgreSQL cr_diff is already there: each part of the people compared its own.)
        differs = " OR ".join(f"ABS(t.src_{k} - e.src_{k}) >= 0.005" for k in KINDS)
        total_differs = "ABS(t.total - e.total) >= 0.005"
        stored = f"(SELECT * FROM {PT} WHERE period IN ({marks}))"
        expected_cols = ", ".join(f"e.src_{k}" for k in KINDS)
        if not pg:  # SQLite sums floats: compare to the cent; no FULL JOIN before 3.39: two halves
            null_cols = ", ".join(f"NULL AS src_{k}" for k in KINDS)
            cursor.execute(
                f"CREATE TEMP TABLE cr_diff AS SELECT e.person_id, e.period, e.kind, {expected_cols}, "
                f"e.total, e.entries, t.id AS tid, t.id IS NULL AS missing, 0 AS extra "
                f"FROM cr_pt e LEFT JOIN {stored} t ON t.person_id = e.person_id AND t.period = e.period "
                f"WHERE t.id IS NULL OR {differs} OR {total_differs} OR t.entries <> e.entries "
                f"UNION ALL SELECT t.person_id, t.period, NULL, {null_cols}, NULL, NULL, t.id, 0, 1 "
                f"FROM {stored} t WHERE NOT EXISTS (SELECT 1 FROM cr_pt e "
                f"WHERE e.person_id = t.person_id AND e.period = t.period)",
                keys * 2,
            )
        if pg:
            cursor.execute("SELECT COUNT(*) FROM cr_diff WHERE drifted AND NOT missing AND NOT extra")
            report.person_rows_fixed = int(cursor.fetchone()[0])
            cursor.execute(
                f"UPDATE {PT} SET {', '.join(f'src_{k} = d.src_{k}' for k in KINDS)}, "
                f"total = d.total, entries = d.entries, unit_id = d.now_unit, root_id = d.now_root, "
                f"rank_total = d.total FROM cr_diff d WHERE {PT}.id = d.tid AND NOT d.missing AND NOT d.extra"
            )
            report.ranks_attached = True
        else:
            report.person_rows_fixed = _exec(
                cursor,
                f"UPDATE {PT} SET {', '.join(f'src_{k} = d.src_{k}' for k in KINDS)}, "
                f"total = d.total, entries = d.entries FROM cr_diff d "
                f"WHERE {PT}.id = d.tid AND NOT d.missing AND NOT d.extra",
            )
        report.person_rows_added = _exec(
            cursor,
            f"INSERT INTO {PT} (person_id, period, kind, year, unit_id, root_id, {src_names}, "
            f"total, rank_total, entries) "
            f"SELECT d.person_id, d.period, d.kind, %s, u.unit_id, ru.root_id, "
            f"{', '.join(f'd.src_{k}' for k in KINDS)}, d.total, d.total, d.entries FROM cr_diff d "
            f"JOIN {USER} u ON u.id = d.person_id "
            f"LEFT JOIN ({_root_of_unit_sql()}) ru ON ru.unit_id = u.unit_id WHERE d.missing",
            [year],
        )
        report.person_rows_removed = _exec(
            cursor, f"DELETE FROM {PT} WHERE id IN (SELECT tid FROM cr_diff WHERE extra)"
        )
        ustored = f"(SELECT * FROM {UT} WHERE period IN ({marks}))"
        report.unit_rows_fixed = _exec(
            cursor,
            f"UPDATE {UT} SET points = e.points, entries = e.entries FROM cr_ut e "
            f"WHERE {UT}.unit_id = e.unit_id AND {UT}.period = e.period AND ("
            f"ABS({UT}.points - e.points) >= 0.005 OR {UT}.entries <> e.entries)",
        )
        report.unit_rows_added = _exec(
            cursor,
            f"INSERT INTO {UT} (unit_id, period, kind, year, root_id, points, entries) "
            f"SELECT e.unit_id, e.period, e.kind, %s, ru.root_id, e.points, e.entries "
            f"FROM cr_ut e LEFT JOIN ({_root_of_unit_sql()}) ru ON ru.unit_id = e.unit_id "
            f"WHERE NOT EXISTS (SELECT 1 FROM {ustored} x WHERE x.unit_id = e.unit_id "
            f"AND x.period = e.period)",
            [year, *keys],
        )
        # A unit row without entries is legitimate (the rank task ranks units at zero);
        # only points or entries that the ledger does not explain are drift.
        report.unit_rows_removed = _exec(
            cursor,
            f"UPDATE {UT} SET points = 0, entries = 0 WHERE period IN ({marks}) "
            f"AND (entries <> 0 OR ABS(points) >= 0.005) AND NOT EXISTS ("
            f"SELECT 1 FROM cr_ut e WHERE e.unit_id = {UT}.unit_id AND e.period = {UT}.period)",
            keys,
        )
        if pg and report.person_rows_added > 100_000:
            # The planner must know the table grew, or the rank refresh plans for an empty one.
            cursor.execute(f"ANALYZE {PT}")
        cursor.execute(f"SELECT COALESCE(SUM(n), 0) FROM {'cr_count' if pg else 'cr_m'}")
        report.entries = int(cursor.fetchone()[0])
        t = step("fix", t)
        _drop_temp(cursor)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _drop_temp(cursor) -> None:
    if _pg():
        for part in range(SCAN_PARTS):
            cursor.execute(f"DROP VIEW IF EXISTS cr_pt{part}")
        names = [*_ACCUMULATORS, "cr_ut"]
        names += [f"{n}{part}" for n in ("cr_m", "cr_q", "cr_y") for part in range(SCAN_PARTS)]
    else:
        names = ["cr_pt", *TEMP_TABLES]
    for name in names:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")


def _cents(k: str) -> str:
    return f"CAST(SUM(CAST(points * 100 AS INTEGER)) FILTER (WHERE source_kind = '{k}') AS INTEGER)"


# The per-person work of a PostgreSQL rebuild, in parts: each part is a disjoint set of
# people (person id modulo SCAN_PARTS) whose scan, derived sums and compare run in one
# session and append their results to the session's accumulators below. Small parts are
# faster per row than one big pass — a hash table of a part's groups fits the caches far
# better, and a table created by its query fills much faster than rows inserted into an
# existing one (at 9.4 M entries: 1 part 15.2 s, 2 parts 8.5 s, 4 parts 14.7 s for the
# scan) — and two parts can run at once, one of them on a second connection that
# imports the rebuild's snapshot, so that both cores work (see `_people_pg`).
_ACCUMULATORS = {
    # Expected values of the (person, period) rows that differ from the stored ones.
    "cr_diff": "(person_id BIGINT, period VARCHAR(7), kind CHAR(1), "
    + ", ".join(f"src_{k} NUMERIC" for k in KINDS)
    + ", total NUMERIC, entries INTEGER, tid BIGINT, missing BOOLEAN, extra BOOLEAN, drifted BOOLEAN, "
    "now_unit BIGINT, now_root BIGINT)",
    # Sums per (unit, month), in cents.
    "cr_um": "(unit_id BIGINT, month INTEGER, " + ", ".join(f"c_{k} BIGINT" for k in KINDS) + ", n BIGINT)",
    # Capped sources of the year as they counted, per unit.
    "cr_uy": "(unit_id BIGINT, points NUMERIC, entries BIGINT)",
    # People who changed unit during the year (their capped sources are replayed).
    "cr_movers": "(person_id BIGINT, cadre_level_id BIGINT)",
    "cr_count": "(n BIGINT)",
}


def _helper_allowed(cursor) -> bool:
    """Whether a second connection may do part of the work: it sees the rebuild's
    snapshot but not what this transaction wrote, so only if it wrote nothing yet."""
    if not settings.CREDITS_REBUILD_HELPER or SCAN_PARTS < 2:
        return False
    cursor.execute("SELECT txid_current_if_assigned() IS NULL")
    return bool(cursor.fetchone()[0])


def _people_pg(cursor, *, rules: Rules, year: int, periods: list[Period], helper: bool) -> None:
    """Fill the accumulators for every part of the people: part 0 here and, with
    `helper`, the others at the same time on a second connection whose results are
    copied in afterwards (a few rows unless totals drifted); without it, or if the
    helper fails, every part here in turn."""
    for name, columns in _ACCUMULATORS.items():
        cursor.execute(f"CREATE TEMP TABLE {name} {columns}")
    work = {"rules": rules, "year": year, "periods": periods}
    rest = list(range(1, SCAN_PARTS))
    if helper:
        cursor.execute("SELECT pg_export_snapshot()")
        runner = _Helper(connection.get_connection_params(), cursor.fetchone()[0], rest, work)
        runner.start()
        try:
            _person_part_pg(cursor, part=0, **work)
        finally:
            runner.join()
        if runner.error is None:
            for name, data in runner.results.items():
                with connection.connection.cursor() as raw, raw.copy(f"COPY {name} FROM STDIN") as copy:
                    while chunk := data.read(1 << 16):
                        copy.write(chunk)
                data.close()
            return
        for data in runner.results.values():
            data.close()
        log.warning("Credit rebuild helper failed (%s); doing its part here.", runner.error)
    else:
        _person_part_pg(cursor, part=0, **work)
    for part in rest:
        _person_part_pg(cursor, part=part, **work)


class _Helper(threading.Thread):
    """A second connection that runs parts of the people in the exported snapshot and
    keeps its accumulators' rows (COPY text) for the rebuild's connection."""

    def __init__(self, params: dict, snapshot: str, parts: list[int], work: dict) -> None:
        super().__init__(name="credits-rebuild-helper", daemon=True)
        if not re.fullmatch(r"[0-9A-F-]+", snapshot):
            raise ValueError(snapshot)
        self.params, self.snapshot, self.parts, self.work = params, snapshot, parts, work
        self.results: dict[str, tempfile.SpooledTemporaryFile] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(**self.params) as conn:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                with conn.cursor() as cursor:
                    cursor.execute(f"SET TRANSACTION SNAPSHOT '{self.snapshot}'")
                    cursor.execute(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'")
                    for name, columns in _ACCUMULATORS.items():
                        cursor.execute(f"CREATE TEMP TABLE {name} {columns}")
                    for part in self.parts:
                        _person_part_pg(cursor, part=part, **self.work)
                    for name in _ACCUMULATORS:
                        # Closed by the rebuild once copied in.
                        data = tempfile.SpooledTemporaryFile(max_size=32 << 20)  # noqa: SIM115
                        with cursor.copy(f"COPY {name} TO STDOUT") as copy:
                            for chunk in copy:
                                data.write(chunk)
                        data.seek(0)
                        self.results[name] = data
                conn.rollback()
        except Exception as exc:  # noqa: BLE001 — reported, and the part is redone by the caller
            self.error = exc


def _person_part_pg(cursor, *, part: int, rules: Rules, year: int, periods: list[Period]) -> None:
    """One part of the people, in the session of `cursor`: scan, expected totals,
    compare with the stored ones, unit sums. No ORM here: it may run on the helper's
    connection, in the rebuild's snapshot."""
    _scan_part_pg(cursor, periods, part)
    _expected_person_view_pg(cursor, rules, year, part)
    _compare_part_pg(cursor, [p.key for p in periods], part)
    _unit_part_pg(cursor, rules, periods, part)
    cursor.execute(f"INSERT INTO cr_count SELECT COALESCE(SUM(n), 0) FROM cr_y{part}")


def _scan_part_pg(cursor, periods: list[Period], part: int) -> None:
    """The scan of one part's entries of the year, and the tables derived from it.

    cr_m<part>: per (person, month) the sum of each source in integer cents (integer sums
    are several times cheaper than numeric ones), the entry count, and the smallest and
    largest unit the entries carry (equal: the person stayed in one unit). Months are
    found by comparing with their first instants (width_bucket) rather than converting
    ten million timestamps to local time. cr_q<part> regroups it by quarter, cr_y<part>
    that by year.
    """
    year_p = periods[0]
    sums = ", ".join(f"{_cents(k)} AS c_{k}" for k in KINDS)
    resum = ", ".join(f"CAST(SUM(c_{k}) AS INTEGER) AS c_{k}" for k in KINDS)
    cursor.execute(
        f"CREATE TEMP TABLE cr_m{part} AS SELECT person_id, "
        f"width_bucket(occurred_at, %s::timestamptz[]) AS month, {sums}, "
        f"CAST(COUNT(*) AS INTEGER) AS n, "
        f"MIN(COALESCE(unit_id, -1)) AS umin, MAX(COALESCE(unit_id, -1)) AS umax "
        f"FROM {CE} WHERE occurred_at >= %s AND occurred_at < %s AND person_id %% {SCAN_PARTS} = %s "
        f"GROUP BY 1, 2",
        [[p.start for p in periods[5:]], year_p.start, year_p.end, part],
    )
    cursor.execute(
        f"CREATE TEMP TABLE cr_q{part} AS SELECT person_id, (month + 2) / 3 AS quarter, {resum}, "
        f"CAST(SUM(n) AS INTEGER) AS n, MIN(umin) AS umin, MAX(umax) AS umax FROM cr_m{part} GROUP BY 1, 2"
    )
    # The year from the quarters: a third of the rows to regroup.
    cursor.execute(
        f"CREATE TEMP TABLE cr_y{part} AS SELECT person_id, {resum}, CAST(SUM(n) AS INTEGER) AS n, "
        f"MIN(umin) AS umin, MAX(umax) AS umax FROM cr_q{part} GROUP BY 1"
    )
    for name in ("cr_m", "cr_q", "cr_y"):
        cursor.execute(f"ANALYZE {name}{part}")


def _compare_part_pg(cursor, keys: list[str], part: int) -> None:
    """Append to cr_diff the part's (person, period) rows that differ from the stored
    ones, are missing or are extra, with their expected values.

    The same pass also finds the rows the rank refresh would re-attach (the person moved,
    or the ranking order lags behind the total), so that the fix leaves every row ranked
    where it belongs and the refresh need not read the totals again for that. Only
    `drifted` rows are drift.
    """
    marks = ", ".join(["%s"] * len(keys))
    differs = " OR ".join(f"t.src_{k} <> e.src_{k}" for k in KINDS)
    drifted = f"{differs} OR t.total <> e.total OR t.entries <> e.entries"
    cursor.execute(
        f"INSERT INTO cr_diff SELECT COALESCE(e.person_id, t.person_id), COALESCE(e.period, t.period), "
        f"e.kind, {', '.join(f'e.src_{k}' for k in KINDS)}, e.total, e.entries, "
        f"t.id, t.id IS NULL, e.person_id IS NULL, COALESCE({drifted}, false), t.now_unit, t.now_root "
        f"FROM cr_pt{part} e FULL JOIN (SELECT t.*, m.unit_id AS now_unit, m.root_id AS now_root "
        f"FROM {PT} t JOIN ({_person_place_sql()}) m ON m.person_id = t.person_id "
        f"WHERE t.period IN ({marks}) AND t.person_id %% {SCAN_PARTS} = %s) t "
        f"ON t.person_id = e.person_id AND t.period = e.period "
        f"WHERE t.id IS NULL OR e.person_id IS NULL OR {drifted} "
        f"OR t.unit_id IS DISTINCT FROM t.now_unit OR t.root_id IS DISTINCT FROM t.now_root "
        f"OR t.rank_total <> e.total",
        [*keys, part],
    )


def _unit_part_pg(cursor, rules: Rules, periods: list[Period], part: int) -> None:
    """Append the part's unit sums: people who stayed in one unit all year contribute
    from cr_m<part> (a person's month rows all carry that unit), grouped by (unit, month);
    the entries of people who moved are read again (few, by the person index). Capped
    sources of the year count per person: min(raw, cap) for people who stayed (cr_uy);
    the others are listed in cr_movers to be replayed."""
    year_p = periods[0]
    movers = f"(SELECT person_id FROM cr_y{part} WHERE umin <> umax)"
    cursor.execute(
        f"INSERT INTO cr_um SELECT umin, month, {', '.join(f'SUM(c_{k})' for k in KINDS)}, SUM(n) "
        f"FROM cr_m{part} WHERE umin <> -1 AND person_id NOT IN {movers} GROUP BY umin, month "
        f"UNION ALL SELECT unit_id, width_bucket(occurred_at, %s::timestamptz[]), "
        f"{', '.join(_cents(k) for k in KINDS)}, COUNT(*) FROM {CE} "
        f"WHERE person_id IN {movers} AND occurred_at >= %s AND occurred_at < %s AND unit_id IS NOT NULL "
        f"GROUP BY 1, 2",
        [[p.start for p in periods[5:]], year_p.start, year_p.end],
    )
    capped = rules.capped_kinds()
    _insert_capped_stayers(
        cursor, rules, f"cr_y{part}", lambda k: f"CAST(g.c_{k} AS NUMERIC(16, 2)) / 100", "umin", "umax"
    )
    if capped:
        cursor.execute(
            f"INSERT INTO cr_movers SELECT y.person_id, u.cadre_level_id FROM cr_y{part} y "
            f"JOIN {USER} u ON u.id = y.person_id WHERE y.umin <> y.umax"
        )


def _insert_capped_stayers(cursor, rules: Rules, source: str, raw, unit_min: str, unit_max: str) -> None:
    """Into cr_uy: each capped source of the year as it counted for a person who stayed in
    one unit all year — min(raw, cap) — from `source` (one row per person: `c_<kind>`,
    the smallest and largest unit); `raw(kind)` is the SQL of the raw sum in points."""
    for k in rules.capped_kinds():
        cap_sql, cap_params = _cap_case(rules, k, "u.cadre_level_id")
        cursor.execute(
            f"INSERT INTO cr_uy (unit_id, points, entries) "
            f"SELECT g.{unit_min}, {_r2(_least(raw(k), cap_sql))}, 0 FROM {source} g "
            f"JOIN {USER} u ON u.id = g.person_id "
            f"WHERE g.c_{k} IS NOT NULL AND g.{unit_min} = g.{unit_max} AND g.{unit_min} <> -1",
            cap_params,
        )


def _expected_person_view_pg(cursor, rules: Rules, year: int, part: int) -> None:
    """cr_pt<part>: the expected person totals of the 17 periods of one part of the
    people, as a view over its cr_m/cr_q/cr_y (only the rows that differ from the stored
    ones are ever materialised)."""

    def points(col: str) -> str:
        return f"CAST(COALESCE({col}, 0) AS NUMERIC(14, 2)) / 100"

    src = ", ".join(f"{points(f'c_{k}')} AS src_{k}" for k in KINDS)
    plain = points(" + ".join(f"COALESCE(c_{k}, 0)" for k in KINDS))
    terms = []
    for k in KINDS:
        cap = _cap_case(rules, k, "u.cadre_level_id")
        if cap is None:
            terms.append(points(f"y.c_{k}"))
        else:
            # A view's text cannot take parameters: the caps are numbers we format.
            cap_sql = cap[0]
            for value in cap[1]:
                cap_sql = cap_sql.replace("%s", _sql_number(value), 1)
            terms.append(_least(points(f"y.c_{k}"), cap_sql))
    y = _quote(str(year))
    cursor.execute(
        f"CREATE TEMP VIEW cr_pt{part} AS "
        f"SELECT person_id, {y} || '-' || LPAD(CAST(month AS VARCHAR), 2, '0') AS period, "
        f"CAST('M' AS CHAR(1)) AS kind, {src}, {plain} AS total, n AS entries FROM cr_m{part} "
        f"UNION ALL SELECT person_id, {y} || '-Q' || CAST(quarter AS VARCHAR), 'Q', {src}, {plain}, n "
        f"FROM cr_q{part} "
        f"UNION ALL SELECT y.person_id, {y}, 'Y', "
        + ", ".join(points(f"y.c_{k}") for k in KINDS)
        + f", {' + '.join(terms)}, y.n FROM cr_y{part} y JOIN {USER} u ON u.id = y.person_id"
    )


def _quote(text: str) -> str:
    """A SQL string literal of a period key we build ourselves (digits, '-', 'Q' only)."""
    if not all(ch.isdigit() or ch in "-Q" for ch in text):
        raise ValueError(text)
    return f"'{text}'"


def _sql_number(value: object) -> str:
    """A literal for a number we computed (a cap, a cadre level id) — never user text."""
    if isinstance(value, int):
        return str(value)
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError(value)
    return f"CAST({number} AS NUMERIC)"


def _expected_unit_totals_pg(cursor, rules: Rules, year: int) -> None:
    """cr_ut: expected unit totals, from the parts' unit sums (cr_um, cr_uy, cr_movers)."""
    plain = "CAST(" + " + ".join(f"COALESCE(SUM(c_{k}), 0)" for k in KINDS) + " AS NUMERIC(16, 2)) / 100"
    y = str(year)
    cursor.execute(
        "CREATE TEMP TABLE cr_ut (unit_id BIGINT, period VARCHAR(7), kind CHAR(1), "
        "points NUMERIC(16, 2), entries INTEGER)"
    )
    cursor.execute(
        f"INSERT INTO cr_ut (unit_id, period, kind, points, entries) "
        f"SELECT unit_id, CAST(%s AS VARCHAR) || '-' || LPAD(CAST(month AS VARCHAR), 2, '0'), 'M', "
        f"{plain}, SUM(n) FROM cr_um GROUP BY unit_id, month "
        f"UNION ALL SELECT unit_id, CAST(%s AS VARCHAR) || '-Q' || CAST((month + 2) / 3 AS VARCHAR), 'Q', "
        f"{plain}, SUM(n) FROM cr_um GROUP BY unit_id, (month + 2) / 3",
        [y, y],
    )
    # The unit's year: uncapped sources as summed; capped ones as they counted for the
    # person — min(raw, cap) for people who stayed in one unit (cr_uy), a replay for the others.
    capped = rules.capped_kinds()
    uncapped = " + ".join(f"COALESCE(SUM(c_{k}), 0)" for k in KINDS if k not in capped) or "0"
    cursor.execute(
        f"INSERT INTO cr_uy (unit_id, points, entries) "
        f"SELECT unit_id, CAST({uncapped} AS NUMERIC(16, 2)) / 100, SUM(n) FROM cr_um GROUP BY unit_id"
    )
    cursor.execute("SELECT person_id, cadre_level_id FROM cr_movers")
    _replay_movers(cursor, rules, year, capped, dict(cursor.fetchall()))
    cursor.execute(
        "INSERT INTO cr_ut (unit_id, period, kind, points, entries) "
        "SELECT unit_id, %s, 'Y', SUM(points), SUM(entries) FROM cr_uy GROUP BY unit_id",
        [y],
    )


def _replay_movers(cursor, rules: Rules, year: int, kinds: list[str], movers: dict[int, int | None]) -> None:
    """Attribute capped sources of people who changed unit to units, in id order, exactly
    as the incremental UPSERTs did (what counted for the person goes to the entry's unit)."""
    if not movers or not kinds:
        return
    year_p = year_periods(year)[0]
    per_unit: dict[int, Decimal] = defaultdict(Decimal)
    running: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    entries = (
        CreditEntry.objects.filter(
            person_id__in=list(movers), source_kind__in=kinds,
            occurred_at__gte=year_p.start, occurred_at__lt=year_p.end,
        )
        .order_by("id")
        .values_list("person_id", "source_kind", "unit_id", "points")
    )
    for person_id, kind, unit_id, points in entries.iterator(chunk_size=10_000):
        running[(person_id, kind)] += points
        if unit_id is not None:
            cap = rules.cap_for(kind, movers[person_id])
            per_unit[unit_id] += _counted(running[(person_id, kind)], points, cap)
    rows = [(unit, q2(value)) for unit, value in per_unit.items()]
    if rows:
        cursor.executemany(f"INSERT INTO cr_uy (unit_id, points, entries) VALUES (%s, {_num()}, 0)", rows)


def _scan_ledger(cursor, year_p: Period, periods: list[Period]) -> None:
    """SQLite: cr_m, per (person, unit at the time, local month) the sum of each source."""
    monthly = (
        CreditEntry.objects.filter(occurred_at__gte=year_p.start, occurred_at__lt=year_p.end)
        .order_by()
        .annotate(m=ExtractMonth("occurred_at", tzinfo=portal_tz()))
        .values("person_id", "unit_id", "m")
        .annotate(**{f"s_{k}": Sum("points", filter=Q(source_kind=k)) for k in KINDS}, n=Count("id"))
    )
    select_sql, select_params = monthly.query.sql_with_params()
    renamed = ", ".join(f"q.s_{k} AS src_{k}" for k in KINDS)
    cursor.execute(
        f"CREATE TEMP TABLE cr_m AS SELECT q.person_id, q.unit_id, q.m AS month, {renamed}, q.n "
        f"FROM ({select_sql}) q",
        select_params,
    )


def _expected_person_totals(cursor, rules: Rules, year: int) -> None:
    """cr_pt: the person totals of the year's 17 periods; caps applied on the year rows."""
    src_cols = ", ".join(f"src_{k} NUMERIC(14, 2)" for k in KINDS)
    src_names = ", ".join(f"src_{k}" for k in KINDS)
    cursor.execute(
        f"CREATE TEMP TABLE cr_pt (person_id BIGINT, period VARCHAR(7), kind CHAR(1), "
        f"{src_cols}, total NUMERIC(14, 2), entries INTEGER)"
    )
    sums = ", ".join(_r2(f"COALESCE(SUM(src_{k}), 0)") for k in KINDS)
    plain_total = _r2(" + ".join(f"COALESCE(SUM(src_{k}), 0)" for k in KINDS))
    y = str(year)
    if _pg():
        # One pass for months, quarters and the year.
        cursor.execute(
            f"INSERT INTO cr_pt (person_id, period, kind, {src_names}, total, entries) "
            f"SELECT person_id, "
            f"CASE WHEN GROUPING(month) = 0 "
            f"THEN CAST(%s AS VARCHAR) || '-' || LPAD(CAST(month AS VARCHAR), 2, '0') "
            f"WHEN GROUPING(quarter) = 0 THEN CAST(%s AS VARCHAR) || '-Q' || CAST(quarter AS VARCHAR) "
            f"ELSE CAST(%s AS VARCHAR) END, "
            f"CASE WHEN GROUPING(month) = 0 THEN 'M' WHEN GROUPING(quarter) = 0 THEN 'Q' ELSE 'Y' END, "
            f"{sums}, {plain_total}, SUM(n) "
            f"FROM (SELECT *, (month + 2) / 3 AS quarter FROM cr_m) m "
            f"GROUP BY GROUPING SETS ((person_id, month), (person_id, quarter), (person_id))",
            [y, y, y],
        )
    else:
        for key_sql, kind, group in _month_and_quarter_keys():
            cursor.execute(
                f"INSERT INTO cr_pt (person_id, period, kind, {src_names}, total, entries) "
                f"SELECT person_id, {key_sql}, %s, {sums}, {plain_total}, SUM(n) "
                f"FROM cr_m GROUP BY person_id, {group}",
                [y, kind],
            )
        cursor.execute(
            f"INSERT INTO cr_pt (person_id, period, kind, {src_names}, total, entries) "
            f"SELECT person_id, %s, 'Y', {sums}, {plain_total}, SUM(n) FROM cr_m GROUP BY person_id",
            [y],
        )
    terms, params = [], []
    for k in KINDS:
        cap = _cap_case(rules, k, "u.cadre_level_id")
        if cap is None:
            terms.append(f"cr_pt.src_{k}")
        else:
            terms.append(_least(f"cr_pt.src_{k}", cap[0]))
            params += cap[1]
    if params:
        cursor.execute(
            f"UPDATE cr_pt SET total = {_r2(' + '.join(terms))} FROM {USER} u "
            f"WHERE u.id = cr_pt.person_id AND cr_pt.kind = 'Y'",
            params,
        )
    if _pg():
        cursor.execute("ANALYZE cr_pt")


def _expected_unit_totals(cursor, rules: Rules, year: int) -> None:
    """cr_ut: unit totals of the year's periods (plain sums; the year counts caps as applied)."""
    cursor.execute(
        "CREATE TEMP TABLE cr_ut (unit_id BIGINT, period VARCHAR(7), kind CHAR(1), "
        "points NUMERIC(16, 2), entries INTEGER)"
    )
    plain_total = _r2(" + ".join(f"COALESCE(SUM(src_{k}), 0)" for k in KINDS))
    for key_sql, kind, group in _month_and_quarter_keys():
        cursor.execute(
            f"INSERT INTO cr_ut (unit_id, period, kind, points, entries) "
            f"SELECT unit_id, {key_sql}, %s, {plain_total}, SUM(n) "
            f"FROM cr_m WHERE unit_id IS NOT NULL GROUP BY unit_id, {group}",
            [str(year), kind],
        )
    _insert_unit_year(cursor, rules, year)


def _month_and_quarter_keys() -> list[tuple[str, str, str]]:
    """(period key SQL from the year parameter and `month`, kind, GROUP BY expression)."""
    if _pg():
        month_key = "CAST(%s AS VARCHAR) || '-' || LPAD(CAST(month AS VARCHAR), 2, '0')"
    else:
        month_key = "%s || '-' || SUBSTR('0' || month, -2)"
    quarter_key = "CAST(%s AS VARCHAR) || '-Q' || CAST((month + 2) / 3 AS VARCHAR)"
    return [(month_key, "M", "month"), (quarter_key, "Q", "(month + 2) / 3")]


def _insert_unit_year(cursor, rules: Rules, year: int) -> None:
    """SQLite: unit year totals, uncapped sources as summed, capped ones as they counted.

    A person whose entries all sit in one unit contributes min(raw, cap) of each capped
    source to that unit (the counted parts telescope to it); the others (they moved
    mid-year) are replayed by `_replay_movers`. Same rule as the PostgreSQL path.
    """
    capped = rules.capped_kinds()
    uncapped_sum = " + ".join(f"COALESCE(SUM(src_{k}), 0)" for k in KINDS if k not in capped) or "0"
    cursor.execute("CREATE TEMP TABLE cr_uy (unit_id BIGINT, points NUMERIC(16, 2), entries INTEGER)")
    cursor.execute(
        f"INSERT INTO cr_uy (unit_id, points, entries) SELECT unit_id, {uncapped_sum}, SUM(n) "
        f"FROM cr_m WHERE unit_id IS NOT NULL GROUP BY unit_id"
    )
    if not capped:
        movers: dict[int, int | None] = {}
    else:
        per_person = (
            "SELECT person_id, MIN(COALESCE(unit_id, -1)) AS unit_min, MAX(COALESCE(unit_id, -1)) AS unit_max, "
            + ", ".join(f"SUM(src_{k}) AS c_{k}" for k in capped)
            + " FROM cr_m GROUP BY person_id"
        )
        _insert_capped_stayers(cursor, rules, f"({per_person})", lambda k: f"g.c_{k}", "unit_min", "unit_max")
        cursor.execute(
            f"SELECT g.person_id, u.cadre_level_id FROM ({per_person}) g "
            f"JOIN {USER} u ON u.id = g.person_id WHERE g.unit_min <> g.unit_max"
        )
        movers = dict(cursor.fetchall())
    _replay_movers(cursor, rules, year, capped, movers)
    cursor.execute(
        f"INSERT INTO cr_ut (unit_id, period, kind, points, entries) "
        f"SELECT unit_id, %s, 'Y', {_r2('SUM(points)')}, SUM(entries) FROM cr_uy GROUP BY unit_id",
        [str(year)],
    )
