"""Credits benchmark on PostgreSQL (run by hand; not part of the test suite).

Seeds a dedicated database with N people in M units and E ledger entries spread over
the previous and the current year (COPY and INSERT … SELECT generate_series: minutes,
not hours), builds the totals, then measures through the services and selectors:

* one person's rank (organisation and unit) and the top-50 page,
* awards per second (entry + totals, committed) with one and with two writers,
* a full rebuild of a year's totals and ranks from the ledger,

each next to the raw PostgreSQL query for the same answer, measured in the same run,
as a ratio. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lp_bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/credits_bench.py --people 200000 --units 2000 --entries 20000000
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lp_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_portal.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("CACHE_KEY_PREFIX", "lp-bench")
os.environ.setdefault("AXES_ENABLED", "0")

BENCH_CODE = "BENCH"
B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def b36(n: int, width: int = 4) -> str:
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = B36[r] + out
    return out


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- Database --------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """Create the benchmark database if it does not exist (it is dedicated to the bench)."""
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            log(f"created database {name}")


def setup_django() -> None:
    import django

    django.setup()


_DEFAULT_BY_TYPE = {
    "boolean": "false",
    "character varying": "''",
    "text": "''",
    "integer": "0",
    "smallint": "0",
    "bigint": "0",
    "numeric": "0",
    "timestamp with time zone": "now()",
    "date": "current_date",
}


def extra_columns(cursor, table: str, provided: set[str]) -> tuple[str, str]:
    """(", col…", ", default…") for NOT NULL columns without a default that the bench does not
    fill itself (fields other helpers add later), so the seeding keeps working."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
        "AND is_nullable = 'NO' AND column_default IS NULL",
        [table],
    )
    cols, exprs = [], []
    for name, data_type in cursor.fetchall():
        if name in provided or name == "id":
            continue
        if data_type not in _DEFAULT_BY_TYPE:
            raise SystemExit(f"{table}.{name} ({data_type}) is NOT NULL without default; teach the bench")
        cols.append(name)
        exprs.append(_DEFAULT_BY_TYPE[data_type])
    return "".join(f", {c}" for c in cols), "".join(f", {e}" for e in exprs)


# --- Seeding ----------------------------------------------------------------------------


def seed(people: int, units: int, entries: int) -> dict:
    """Replace the bench organisation and ledger; returns ids the measurements need."""
    from django.db import connection, transaction

    from credits.periods import current_periods, portal_tz

    districts = max(1, units // 100)
    sections = max(1, units - districts - 1)
    this_year = current_periods()[0].year
    t0 = datetime(this_year - 1, 1, 1, tzinfo=portal_tz())
    span = int((datetime.now(tz=portal_tz()) - t0).total_seconds()) - 60

    with transaction.atomic(), connection.cursor() as c:
        log("clearing bench tables")
        c.execute(
            "TRUNCATE credits_creditentry, credits_persontotal, credits_unittotal, credits_rankboard, "
            "credits_rankingpolicy, credits_requirement, credits_sourcerule, credits_awardrule, "
            "credits_creditpolicy, org_rolegrant, org_user, org_orgunit, org_cadrelevel "
            "RESTART IDENTITY CASCADE"
        )
        c.execute(
            "INSERT INTO org_cadrelevel (code, name, sort_order) VALUES "
            "('bureau', '厅局级', 10), ('division', '处级', 20), ('section', '科级', 30), ('staff', '一般干部', 40)"
        )
        unit_cols = {"path", "depth", "numchild", "code", "name", "kind", "sort_order", "is_active"}
        if extra_columns(c, "org_orgunit", unit_cols)[0]:
            raise SystemExit("org_orgunit has NOT NULL columns the bench does not know")
        log(f"units: 1 organisation, {districts} districts, {sections} sections")
        rows = [("0001", 1, districts, BENCH_CODE, "基准市", "city", 0, True)]
        per_district = -(-sections // districts)
        section_no = 0
        for d in range(1, districts + 1):
            n_here = min(per_district, sections - section_no)
            dpath = "0001" + b36(d)
            rows.append((dpath, 2, n_here, f"BD{d:04d}", f"区{d:03d}", "district", d, True))
            for k in range(1, n_here + 1):
                section_no += 1
                rows.append((dpath + b36(k), 3, 0, f"BS{section_no:05d}", f"科室{section_no:05d}", "section", k, True))
        with c.copy(
            "COPY org_orgunit (path, depth, numchild, code, name, kind, sort_order, is_active) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        c.execute("SELECT MIN(id), COUNT(*) FROM org_orgunit WHERE depth = 3")
        s0, n_sections = c.fetchone()
        c.execute("SELECT id FROM org_orgunit WHERE depth = 1")
        root_id = c.fetchone()[0]
        c.execute("SELECT MIN(id) FROM org_cadrelevel")
        level0 = c.fetchone()[0]

        more_cols, more_values = extra_columns(c, "org_user", {
            "password", "is_superuser", "employee_no", "name", "unit_id", "cadre_level_id", "gender",
            "phone", "email", "is_active", "is_staff", "date_joined",
        })
        log(f"people: {people}")
        c.execute(
            "INSERT INTO org_user (password, is_superuser, employee_no, name, unit_id, cadre_level_id, "
            f"gender, phone, email, is_active, is_staff, date_joined{more_cols}) "
            "SELECT '!', false, 'B' || lpad(g::text, 7, '0'), '员工' || g, %s + (g %% %s), %s + (g %% 4), "
            f"'', '', '', true, false, now(){more_values} FROM generate_series(1, %s) g",
            [s0, n_sections, level0, people],
        )
        c.execute("SELECT MIN(id) FROM org_user")
        p0 = c.fetchone()[0]
        c.execute(
            "INSERT INTO org_user (password, is_superuser, employee_no, name, unit_id, gender, phone, email, "
            f"is_active, is_staff, date_joined{more_cols}) VALUES ('!', true, 'BENCH-ADMIN', '基准管理员', %s, "
            f"'', '', '', true, true, now(){more_values}) RETURNING id",
            [root_id],
        )
        admin_id = c.fetchone()[0]
        c.execute(
            "INSERT INTO credits_requirement (cadre_level_id, year, points, required_points) "
            "SELECT id, %s, 40, 16 FROM org_cadrelevel",
            [this_year - 1],
        )
        c.execute(
            "INSERT INTO credits_sourcerule (source_kind, year, counts_as, cap_percent) "
            "VALUES ('course', %s, 'elective', 60), ('attendance', %s, 'required', NULL), "
            "('exam', %s, 'required', NULL)",
            [this_year - 1] * 3,
        )

    # The ledger: no secondary indexes and no FK triggers while loading, then rebuilt.
    with connection.cursor() as c:
        c.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'credits_creditentry' "
            "AND indexname NOT LIKE '%%pkey'"
        )
        indexes = c.fetchall()
        c.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'credits_creditentry'::regclass AND contype = 'u'"
        )
        uniques = c.fetchall()
        for name, _ in uniques:
            c.execute(f'ALTER TABLE credits_creditentry DROP CONSTRAINT "{name}"')
        c.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'credits_creditentry' AND indexname NOT LIKE '%%pkey'"
        )
        for (name,) in c.fetchall():
            c.execute(f'DROP INDEX IF EXISTS "{name}"')
        c.execute("SET session_replication_role = replica")
        c.execute("SET synchronous_commit = off")
        chunk = 2_000_000
        started = time.monotonic()
        for first in range(1, entries + 1, chunk):
            last = min(first + chunk - 1, entries)
            c.execute(
                """
                INSERT INTO credits_creditentry (person_id, unit_id, source_kind, source_ref, label, points,
                    occurred_at, created_at, created_by_id, reason, reverses_id, idempotency_key)
                SELECT %(p0)s + (g %% %(people)s),
                       %(s0)s + (((g %% %(people)s) + 1) %% %(sections)s),
                       k.kind, 'bench:' || g, k.label, k.points,
                       %(t0)s::timestamptz + ((g * 104729) %% %(span)s) * interval '1 second',
                       now(), NULL, '', NULL, 'bench:' || g
                FROM generate_series(%(first)s::bigint, %(last)s::bigint) g
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN r < 62 THEN 'course' WHEN r < 84 THEN 'attendance'
                                WHEN r < 96 THEN 'exam' WHEN r < 98 THEN 'lecture' ELSE 'award' END AS kind,
                           CASE WHEN r < 62 THEN (ARRAY[1, 0.5, 0.25])[1 + (g %% 3)::int]
                                WHEN r < 96 THEN 1 ELSE 2 END::numeric(8, 2) AS points,
                           CASE WHEN r < 62 THEN '课程：《基准课程》' WHEN r < 84 THEN '下午微课堂'
                                WHEN r < 96 THEN '全员法制网上月考' WHEN r < 98 THEN '主讲：下午微课堂'
                                ELSE '优秀学员' END AS label
                    FROM (SELECT (g * 37) %% 100 AS r) x
                ) k
                """,
                {"p0": p0, "people": people, "s0": s0, "sections": n_sections, "t0": t0, "span": span,
                 "first": first, "last": last},
            )
            rate = last / max(time.monotonic() - started, 1e-9)
            log(f"ledger: {last:,} / {entries:,} entries ({rate:,.0f}/s)")
        c.execute("SET session_replication_role = DEFAULT")
        c.execute("SET maintenance_work_mem = '512MB'")
        log("ledger: rebuilding indexes and constraints")
        for name, definition in uniques:
            c.execute(f'ALTER TABLE credits_creditentry ADD CONSTRAINT "{name}" {definition}')
        for name, definition in indexes:
            if not any(name == u for u, _ in uniques):
                c.execute(definition.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1)
                          .replace("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX IF NOT EXISTS", 1))
        c.execute("SELECT setval(pg_get_serial_sequence('credits_creditentry', 'id'), "
                  "(SELECT MAX(id) FROM credits_creditentry))")
        c.execute("ANALYZE")
    return {"root_id": root_id, "admin_id": admin_id}


# --- Measuring --------------------------------------------------------------------------


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def describe(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1] if len(samples) >= 20 else samples[-1]
    return f"median {statistics.median(samples):7.3f} ms  p95 {p95:7.3f} ms"


ROWS: list[tuple[str, str, str, float]] = []


def compare(label: str, service: list[float], raw: list[float], raw_label: str) -> None:
    ratio = statistics.median(service) / max(statistics.median(raw), 1e-9)
    ROWS.append((label, describe(service), f"{raw_label}: {describe(raw)}", ratio))
    print(f"  {label:<44} {describe(service)}\n  {'':<44} raw {raw_label}: {describe(raw)}  ratio {ratio:6.2f}",
          flush=True)


def measure_reads(samples: int, admin_id: int, root_id: int) -> None:
    from credits import live, services
    from credits.models import PeriodKind
    from credits.periods import Period, current_periods
    from org.models import OrgUnit, User

    year = current_periods()[0]
    if live.enabled():
        log("syncing live ranks for the current periods")
        services.ranks_refresh(period_keys=[p.key for p in current_periods()])
    rng = random.Random(1)
    ids = list(User.objects.filter(employee_no__startswith="B0").values_list("pk", flat=True))
    picks = [rng.choice(ids) for _ in range(samples)]
    people = {p.pk: p for p in User.objects.filter(pk__in=picks).select_related("unit")}
    admin = User.objects.get(pk=admin_id)
    root = OrgUnit.objects.get(pk=root_id)
    closed = Period(PeriodKind.YEAR, year.year - 1)  # a closed year: read from the database
    _reads_of(closed, "precomputed ranking steps", samples, picks, people, admin, root)
    _reads_of(year, "live Redis sets" if live.enabled() else "precomputed ranking steps", samples, picks, people,
              admin, root)


def _reads_of(period, path: str, samples: int, picks: list[int], people: dict, admin, root) -> None:
    from django.db import connection

    from credits import selectors

    print(f"\n== Reads, period {period.key} ({path}) ==", flush=True)
    it = iter(picks * 2)
    svc = timed(lambda: selectors.person_rank(people[next(it)], period), samples)
    with connection.cursor() as c:
        c.execute("SELECT person_id, total, unit_id FROM credits_persontotal WHERE period = %s AND person_id = ANY(%s)",
                  [period.key, picks])
        totals = {pid: (t, u) for pid, t, u in c.fetchall()}
    it2 = iter(picks * 2)

    def raw_count():
        pid = next(it2)
        total, unit_id = totals.get(pid, (Decimal(0), people[pid].unit_id))
        with connection.cursor() as c:
            # rank_total: the indexed copy of the totals (see PersonTotal.rank_total).
            c.execute("SELECT count(*) FROM credits_persontotal WHERE period = %s AND root_id = %s AND rank_total > %s",
                      [period.key, root.pk, total])
            c.fetchone()
            c.execute("SELECT count(*) FROM credits_persontotal WHERE period = %s AND unit_id = %s AND rank_total > %s",
                      [period.key, unit_id, total])
            c.fetchone()

    compare("person rank (org + unit), service", svc, timed(raw_count, samples), "count(*) ahead")
    it3 = iter(picks * 2)

    def raw_precomputed():
        pid = next(it3)
        total, unit_id = totals.get(pid, (Decimal(0), people[pid].unit_id))
        with connection.cursor() as c:
            c.execute(
                "SELECT (SELECT rank + people FROM credits_rankstep WHERE period = %s AND scope = 'o' "
                "AND scope_id = %s AND total > %s ORDER BY total LIMIT 1), "
                # In a unit (about 100 people here) the rank is counted, as the service does.
                "(SELECT 1 + count(*) FROM credits_persontotal WHERE period = %s AND unit_id = %s "
                "AND rank_total > %s)",
                [period.key, root.pk, total, period.key, unit_id, total],
            )
            c.fetchone()

    compare("person rank (org + unit), service", svc, timed(raw_precomputed, samples), "step read + unit count")

    page = timed(lambda: selectors.people_ranking(admin, period=period, scope=root, page=1, page_size=50), samples)

    def raw_top_window():
        with connection.cursor() as c:
            c.execute(
                "SELECT t.person_id, u.name, t.total, RANK() OVER (ORDER BY t.total DESC) FROM credits_persontotal t "
                "JOIN org_user u ON u.id = t.person_id WHERE t.period = %s AND t.root_id = %s "
                "ORDER BY t.total DESC LIMIT 50",
                [period.key, root.pk],
            )
            c.fetchall()

    def raw_top_precomputed():
        with connection.cursor() as c:
            c.execute(
                "SELECT t.person_id, u.name, t.rank_total, o.name FROM credits_persontotal t "
                "JOIN org_user u ON u.id = t.person_id LEFT JOIN org_orgunit o ON o.id = t.unit_id "
                "WHERE t.period = %s AND t.root_id = %s AND u.is_active "
                "ORDER BY t.rank_total DESC, t.person_id LIMIT 50",
                [period.key, root.pk],
            )
            c.fetchall()

    compare("top-50 page, service", page, timed(raw_top_window, max(20, samples // 10)), "RANK() window")
    compare("top-50 page, service", page, timed(raw_top_precomputed, samples), "indexed page")


def _award_worker(args: tuple[int, int, int, list[int]]) -> tuple[int, float]:
    worker, count, seed_, person_ids = args
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from credits import services
    from org.models import User

    rng = random.Random(seed_)
    people = list(User.objects.filter(pk__in=person_ids).select_related("unit"))
    started = time.perf_counter()
    for n in range(count):
        services.credit_award(
            person=rng.choice(people), source_kind="course", source_ref="bench:award",
            points=Decimal("0.5"), idempotency_key=f"bench-award:{seed_}:{worker}:{n}",
            occurred_at=timezone.now(), label="课程：《基准课程》",
        )
    elapsed = time.perf_counter() - started
    connection.close()
    return count, elapsed


def _raw_worker(args: tuple[int, int, int, list[int], str]) -> tuple[int, float]:
    worker, count, seed_, person_ids, url = args
    import psycopg

    rng = random.Random(seed_)
    conn = psycopg.connect(url)
    cur = conn.cursor()
    cur.execute("SELECT id, unit_id FROM org_user WHERE id = ANY(%s)", [person_ids])
    unit_of = dict(cur.fetchall())
    now = datetime.now().astimezone()
    period = f"{now.year}"
    started = time.perf_counter()
    for n in range(count):
        pid = rng.choice(person_ids)
        cur.execute(
            "INSERT INTO credits_creditentry (person_id, unit_id, source_kind, source_ref, label, points, "
            "occurred_at, created_at, reason, idempotency_key) VALUES (%s, %s, 'course', 'raw', '', 0.5, now(), "
            "now(), '', %s) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            [pid, unit_of[pid], f"bench-raw:{seed_}:{worker}:{n}"],
        )
        cur.fetchone()
        cur.execute(
            "INSERT INTO credits_persontotal (person_id, period, kind, year, src_course, total, entries) "
            "VALUES (%s, %s, 'Y', %s, 0.5, 0.5, 1) ON CONFLICT (person_id, period) DO UPDATE SET "
            "src_course = credits_persontotal.src_course + 0.5, total = credits_persontotal.total + 0.5, "
            "entries = credits_persontotal.entries + 1",
            [pid, period, now.year],
        )
        conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return count, elapsed


def measure_writes(awards: int, writers: int) -> None:
    from org.models import User

    ids = list(User.objects.filter(employee_no__startswith="B0").values_list("pk", flat=True)[:5000])
    url = os.environ["DATABASE_URL"]
    seed_ = int(time.time())
    print("\n== Writes: awards committed per second ==", flush=True)
    for n in sorted({1, writers}):
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(n) as pool:
            started = time.perf_counter()
            results = pool.map(_award_worker, [(w, awards // n, seed_ + n, ids) for w in range(n)])
            wall = time.perf_counter() - started
        service_rate = sum(c for c, _ in results) / max(e for _, e in results)
        with ctx.Pool(n) as pool:
            results = pool.map(_raw_worker, [(w, awards // n, seed_ + n, ids, url) for w in range(n)])
        raw_rate = sum(c for c, _ in results) / max(e for _, e in results)
        ratio = raw_rate / service_rate
        ROWS.append((f"awards/s, {n} writer(s), service", f"{service_rate:8.0f}/s",
                     f"bare INSERT + UPSERT: {raw_rate:8.0f}/s", ratio))
        print(f"  {n} writer(s): service {service_rate:8.0f}/s (wall {wall:.1f}s incl. start-up)   "
              f"raw INSERT+UPSERT {raw_rate:8.0f}/s   raw/service {ratio:5.2f}", flush=True)


def measure_rebuild(year: int) -> None:
    from django.db import connection, transaction

    from credits import services
    from credits.periods import Period

    print(f"\n== Full rebuild of {year} (totals of 17 periods + ranks) ==", flush=True)
    started = time.perf_counter()
    report = services.totals_rebuild(year=year)
    service_s = time.perf_counter() - started
    print(f"  service: {service_s:6.1f} s for {report.entries:,} entries, drift {report.drift}, steps {report.steps}",
          flush=True)
    p = Period("Y", year)
    with transaction.atomic(), connection.cursor() as c:
        c.execute("SET LOCAL work_mem = '256MB'")
        started = time.perf_counter()
        c.execute(
            "SELECT count(*) FROM (SELECT person_id, date_trunc('month', occurred_at AT TIME ZONE 'Asia/Shanghai'), "
            "source_kind, sum(points) FROM credits_creditentry WHERE occurred_at >= %s AND occurred_at < %s "
            "GROUP BY 1, 2, 3) q",
            [p.start, p.end],
        )
        c.fetchone()
        raw_year = time.perf_counter() - started
        started = time.perf_counter()
        # The reference ("the bare SQL aggregation of 20 M rows"): the same grouping
        # over the whole ledger. (A sum per person alone is an index-only scan: no yardstick.)
        c.execute(
            "SELECT sum(n) FROM (SELECT person_id, date_trunc('month', occurred_at AT TIME ZONE 'Asia/Shanghai'), "
            "source_kind, sum(points), count(*) AS n FROM credits_creditentry GROUP BY 1, 2, 3) q"
        )
        entries_all = c.fetchone()[0]
        raw_all = time.perf_counter() - started
    ROWS.append((f"rebuild {year} (service)", f"{service_s:8.1f} s",
                 f"bare aggregation of the year: {raw_year:6.1f} s", service_s / raw_year))
    ROWS.append((f"rebuild {year} (service)", f"{service_s:8.1f} s",
                 f"bare aggregation of all {entries_all:,} rows: {raw_all:6.1f} s", service_s / raw_all))
    print(f"  raw aggregation of the year's rows: {raw_year:6.1f} s   of all {entries_all:,} rows: {raw_all:6.1f} s   "
          f"service/raw(year) {service_s / raw_year:5.2f}   service/raw(all) {service_s / raw_all:5.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--units", type=int, default=2_000)
    parser.add_argument("--entries", type=int, default=20_000_000)
    parser.add_argument("--samples", type=int, default=300, help="reads per measurement")
    parser.add_argument("--awards", type=int, default=4_000, help="awards per write measurement")
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--skip-seed", action="store_true", help="reuse the data of a previous run")
    parser.add_argument("--only", choices=["reads", "writes", "rebuild", "none"], action="append",
                        help="measure only these (none: just seed)")
    args = parser.parse_args()

    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        raise SystemExit("The benchmark runs on PostgreSQL (DATABASE_URL=postgres://…/lp_bench).")
    if not url.rsplit("/", 1)[1].startswith("lp_bench"):
        raise SystemExit("Refusing to seed a database whose name does not start with lp_bench.")
    ensure_database(url)
    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    if settings.REDIS_URL:
        from learning_portal.celery import app

        app.conf.task_always_eager = False
    else:
        log("REDIS_URL is not set: ranks refresh eagerly after every award (embedded mode); "
            "the write figures will reflect that")
    call_command("migrate", verbosity=0)
    from credits.periods import current_periods
    from org.models import OrgUnit, User

    if args.skip_seed:
        ids = {
            "root_id": OrgUnit.objects.get(code=BENCH_CODE).pk,
            "admin_id": User.objects.get(employee_no="BENCH-ADMIN").pk,
        }
    else:
        started = time.monotonic()
        ids = seed(args.people, args.units, args.entries)
        log(f"seeded in {time.monotonic() - started:.0f}s; building totals")
        from credits import services

        this_year = current_periods()[0].year
        for year in (this_year - 1, this_year):
            started = time.monotonic()
            report = services.totals_rebuild(year=year)
            log(f"initial totals of {year}: {report.entries:,} entries in {time.monotonic() - started:.1f}s "
                f"(rows added: {report.person_rows_added:,} person, {report.unit_rows_added:,} unit)")
    only = set(args.only or ["reads", "writes", "rebuild"])
    if "reads" in only:
        measure_reads(args.samples, ids["admin_id"], ids["root_id"])
    if "rebuild" in only:
        measure_rebuild(current_periods()[0].year)
    if "writes" in only:
        measure_writes(args.awards, args.writers)
        # The bare-SQL writers only touched year rows: put the totals back in line.
        from credits import services

        report = services.totals_rebuild(year=current_periods()[0].year)
        log(f"after the writes: rebuild fixed {report.drift} rows (the bare-SQL writers' partial totals)")
    if settings.REDIS_URL:
        from learning_portal.celery import app

        app.control.purge()  # the debounced rank refreshes the writes queued; no worker ran them
    print("\n== Summary ==")
    for label, service, raw, ratio in ROWS:
        print(f"{label:<40} {service:<36} {raw:<52} ratio {ratio:6.2f}")


if __name__ == "__main__":
    main()
