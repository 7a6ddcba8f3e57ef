"""Benchmark of the report builds (not a test; run by hand on PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lp_reports_bench \\
        .venv/bin/python bench/reports_bench.py --people 200000 --entries 100 --reset

Builds an organisation of `--people` people (1 root, 20 districts, sections of ~100 people)
with `--entries` credit entries each, spread over the previous and the current year up
to the end of the last ended quarter, and `--attendance` attendance rows (classes of
1,000 people) in that quarter. Data are inserted with SQL (`INSERT … SELECT
generate_series`), not through the services: the point is to time the reads and writers.

Then, each in a fresh Python process (so its peak RSS is that build's, like a worker's):
the quarterly report (.xlsx, all eight sheets, as a manager granted on the root) and the
attendance export (.xlsx and .csv). Next to each, PostgreSQL's `COPY (…) TO STDOUT` of the
same rows as CSV, in the same run, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_portal.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lp_reports_bench")
os.environ.pop("REDIS_URL", None)  # the builds run in-process here


def django_setup():
    import django

    django.setup()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- Data --------------------------------------------------------------------------------------


def reset_database() -> None:
    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True, cwd=ROOT)


def load(people: int, entries: int, attendance: int) -> dict:
    django_setup()
    from django.db import connection

    from reports.rows import last_ended_quarter

    q = last_ended_quarter()
    sections_per_district = max(1, people // 20 // 100)
    t0 = time.perf_counter()
    with connection.cursor() as c:
        c.execute("INSERT INTO org_orgunit (path, depth, numchild, code, name, kind, sort_order, is_active) "
                  "VALUES ('0001', 1, 20, 'BENCH', '示范市', 'city', 0, true)")
        c.execute(f"""
            INSERT INTO org_orgunit (path, depth, numchild, code, name, kind, sort_order, is_active)
            SELECT '0001' || lpad(d::text, 4, '0'), 2, {sections_per_district}, 'D' || d, '区' || d, 'district', d, true
            FROM generate_series(1, 20) d""")
        c.execute(f"""
            INSERT INTO org_orgunit (path, depth, numchild, code, name, kind, sort_order, is_active)
            SELECT '0001' || lpad(d::text, 4, '0') || lpad(s::text, 4, '0'), 3, 0, 'S' || d || '-' || s,
                   '街道' || d || '-' || s, 'section', s, true
            FROM generate_series(1, 20) d, generate_series(1, {sections_per_district}) s""")
        c.execute("SELECT array_agg(id ORDER BY path) FROM org_orgunit WHERE depth = 3")
        section_ids = c.fetchone()[0]
        c.execute("INSERT INTO org_cadrelevel (code, name, sort_order) VALUES "
                  "('CJ', '处级', 1), ('KJ', '科级', 2), ('YB', '一般干部', 3) RETURNING id")
        levels = [r[0] for r in c.fetchall()]
        for level, points in zip(levels, (60, 50, 40), strict=True):
            c.execute("INSERT INTO credits_requirement (cadre_level_id, year, points) VALUES (%s, %s, %s)",
                      [level, q.year - 1, points])
        c.execute(f"""
            INSERT INTO org_user (password, is_superuser, employee_no, name, gender, phone, email, is_active,
                                  is_staff, date_joined, cadre_level_id, unit_id, must_change_password)
            SELECT '!', false, 'B' || lpad(i::text, 7, '0'), '员工' || i, '', '', '', true, false, now(),
                   (ARRAY{levels})[1 + i % 3], (ARRAY{section_ids})[1 + i % {len(section_ids)}], false
            FROM generate_series(1, {people}) i""")
        c.execute("INSERT INTO org_user (password, is_superuser, employee_no, name, gender, phone, email, is_active, "
                  "is_staff, date_joined, unit_id, must_change_password) VALUES ('!', false, 'BENCH-MANAGER', "
                  "'报表经理', '', '', '', true, false, now(), (SELECT id FROM org_orgunit WHERE path = '0001'), false) "
                  "RETURNING id")
        manager_id = c.fetchone()[0]
        c.execute("INSERT INTO org_rolegrant (user_id, unit_id, role, created_at) "
                  "VALUES (%s, (SELECT id FROM org_orgunit WHERE path = '0001'), 'manager', now())", [manager_id])
    t_org = time.perf_counter() - t0

    # Ledger: `entries` per person between 1 Jan of last year and the end of the quarter.
    t1 = time.perf_counter()
    span_start = f"{q.year - 1}-01-01 00:00:00+08"
    span_seconds = int((q.end.timestamp()) - time.mktime(time.strptime(f"{q.year - 1}-01-01", "%Y-%m-%d"))) - 3600
    kinds = "ARRAY['course','attendance','lecture','exam','award','course','course','attendance']"
    batch = max(1, 2_000_000 // max(entries, 1))
    with connection.cursor() as c:
        # Bench data only: skip the per-row foreign-key triggers and build the ledger's
        # indexes once at the end instead of row by row (20 M random idempotency keys).
        c.execute("SET session_replication_role = replica")
        c.execute("""SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                     WHERE conrelid = 'credits_creditentry'::regclass AND contype = 'u'""")
        constraints = c.fetchall()
        for name, _definition in constraints:
            c.execute(f"ALTER TABLE credits_creditentry DROP CONSTRAINT {name}")
        c.execute("""SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'credits_creditentry'
                     AND indexname NOT LIKE '%%pkey'""")
        indexes = c.fetchall()
        for name, _definition in indexes:
            c.execute(f"DROP INDEX {name}")
        c.execute("SELECT min(id), max(id) FROM org_user WHERE employee_no LIKE 'B%%'")
        lo, hi = c.fetchone()
        for start in range(lo, hi + 1, batch):
            end = min(hi, start + batch - 1)
            c.execute(f"""
                INSERT INTO credits_creditentry (source_kind, source_ref, label, points, occurred_at, created_at,
                                                 reason, idempotency_key, person_id, unit_id)
                SELECT ({kinds})[1 + (u.id + n) % 8], 'courses.course:' || ((u.id * 7 + n) % 500),
                       '课程：《课程' || ((u.id * 7 + n) % 500) || '》', (ARRAY[0.5, 1, 2, 0.25])[1 + n % 4],
                       timestamptz '{span_start}' + make_interval(secs => ((u.id * 7919 + n * 104729) % {span_seconds})),
                       now(), '', 'bench:' || u.id || ':' || n, u.id, u.unit_id
                FROM org_user u, generate_series(1, {entries}) n
                WHERE u.id BETWEEN {start} AND {end}""")
            print(f"  ledger: people {start - lo + 1:,}–{end - lo + 1:,} of {hi - lo + 1:,} "
                  f"({time.perf_counter() - t1:,.0f} s)", flush=True)
        c.execute("SET session_replication_role = DEFAULT")
        c.execute("SET maintenance_work_mem = '512MB'")
        for name, definition in constraints:
            c.execute(f"ALTER TABLE credits_creditentry ADD CONSTRAINT {name} {definition}")
        for _name, definition in indexes:
            c.execute(definition)
        print(f"  ledger indexes rebuilt ({time.perf_counter() - t1:,.0f} s)", flush=True)
    t_ledger = time.perf_counter() - t1

    # Attendance: classes of 1,000 people in the quarter.
    t2 = time.perf_counter()
    classes = max(1, attendance // 1000)
    with connection.cursor() as c:
        c.execute("INSERT INTO lectures_track (name, description, sort_order, is_active) "
                  "VALUES ('业务专家谈业务', '', 0, true) "
                  "ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id")
        track = c.fetchone()[0]
        c.execute(f"""
            INSERT INTO lectures_session (title, description, format, audience_open, location_note, online_url,
                start, "end", checkin_opens_before, checkin_closes_after, late_after, status, cancel_reason,
                checkin_secret, created_at, host_unit_id, track_id)
            SELECT '微课堂' || k, '', 'lecture', true, '', '',
                   timestamptz '{q.start.isoformat()}' + make_interval(days => k % 80, hours => 16),
                   timestamptz '{q.start.isoformat()}' + make_interval(days => k % 80, hours => 17),
                   15, 20, 5, 'closed', '', md5(k::text), now(),
                   (SELECT id FROM org_orgunit WHERE path = '0001'), {track}
            FROM generate_series(1, {classes}) k""")
        c.execute(f"""
            INSERT INTO lectures_attendance (status, method, checked_in_at, reason, updated_at, credit_round,
                                             person_id, unit_id, session_id)
            SELECT CASE WHEN u.id % 10 = 0 THEN 'absent' ELSE 'present' END, 'qr', s.start, '', now(), 0,
                   u.id, u.unit_id, s.id
            FROM (SELECT id, start, row_number() OVER (ORDER BY id) AS k FROM lectures_session) s
            JOIN LATERAL (SELECT id, unit_id FROM org_user WHERE employee_no LIKE 'B%%'
                          ORDER BY id OFFSET ((s.k - 1) * 1000) % {max(people - 1000, 1)} LIMIT 1000) u ON true""")
        c.execute("ANALYZE")
    t_att = time.perf_counter() - t2

    # The precomputed totals (PersonTotal, UnitTotal, ranks) as production keeps them: the
    # credits app's own rebuild, once per year of the ledger (what `recompute_credits` runs).
    from credits.services import totals_rebuild

    t3 = time.perf_counter()
    for year in (q.year - 1, q.year):
        report = totals_rebuild(year=year)
        print(f"  totals of {year} rebuilt: {report.entries:,} entries, {report.person_rows_added:,} person rows "
              f"({time.perf_counter() - t3:,.0f} s)", flush=True)
    with connection.cursor() as c:
        c.execute("ANALYZE")
    t_totals = time.perf_counter() - t3
    return {"org_s": round(t_org, 1), "ledger_s": round(t_ledger, 1), "attendance_s": round(t_att, 1),
            "totals_s": round(t_totals, 1)}


# --- Measurements (each in its own process) ------------------------------------------------------


def measure(what: str) -> dict:
    django_setup()
    from django.db import connection

    from org.models import OrgUnit, User
    from reports import builders, rows
    from reports.rows import last_ended_quarter
    from reports.services import clean_request

    manager = User.objects.get(employee_no="BENCH-MANAGER")
    root = OrgUnit.objects.get(path="0001")
    q = last_ended_quarter()
    base_rss = rss_mb()
    notes: list[str] = []

    def progress(pct, note=""):
        notes.append(f"{pct:.0f}")

    target = tempfile.NamedTemporaryFile(suffix=".out", delete=False).name  # noqa: SIM115
    if what == "quarterly":
        req = clean_request(requester=manager, kind="quarterly",
                            raw={"unit": root.pk, "year": q.year, "quarter": q.index, "format": "xlsx"})
        t0 = time.perf_counter()
        with rows.whole_result_plans():  # as builders.build does in the worker
            count = builders.quarterly_xlsx(req=req, requester=manager, path=target, progress=progress)
        seconds = time.perf_counter() - t0
    elif what in ("attendance_xlsx", "attendance_csv"):
        fmt = what.split("_")[1]
        req = clean_request(requester=manager, kind="attendance",
                            raw={"unit": root.pk, "date_from": q.first_day.isoformat(),
                                 "date_to": (q.next_first_day - __import__("datetime").timedelta(days=1)).isoformat(),
                                 "format": fmt})
        t0 = time.perf_counter()
        with rows.whole_result_plans():
            count = builders.attendance_file(req=req, requester=manager, path=target, progress=progress)
        seconds = time.perf_counter() - t0
    elif what == "course_usage":
        # The course-usage sheet's rows alone (the one part of the report that scans the ledger).
        t0 = time.perf_counter()
        with rows.whole_result_plans():
            count = sum(1 for _row in rows.course_rows(manager, root, q))
        seconds = time.perf_counter() - t0
        with open(target, "w") as out:
            out.write(str(count))
    elif what in ("copy_quarterly", "copy_attendance", "copy_ledger_sums"):
        from psycopg import ClientCursor

        if what == "copy_quarterly":
            qs = rows._person_sums(manager, root, q)
        elif what == "copy_ledger_sums":
            # What the report read before it used the precomputed totals: the same sums
            # aggregated from the ledger (kept as a reference floor; --only copy_ledger_sums).
            from django.db.models import Q, Sum

            from credits import selectors as credit_selectors

            sums = {}
            for kind in rows.SOURCES:
                sums[f"p_{kind}"] = Sum("points", filter=Q(source_kind=kind) & Q(occurred_at__gte=q.start))
                sums[f"y_{kind}"] = Sum("points", filter=Q(source_kind=kind))
            qs = (credit_selectors.entries_visible_to(manager)
                  .filter(person__unit__path__startswith=root.path, person__is_active=True,
                          occurred_at__gte=q.year_start, occurred_at__lt=q.end)
                  .values("person__unit__path", "person_id").annotate(**sums)
                  .order_by("person__unit__path", "person_id")
                  .values_list("person__unit__path", "person_id", *sums.keys()))
        else:
            from sessions import selectors as session_selectors

            qs = session_selectors.export_attendance(
                manager, unit=root, date_from=q.first_day,
                date_to=q.next_first_day - __import__("datetime").timedelta(days=1),
            ).order_by("session__start", "session_id", "unit__path", "person__employee_no").values_list(
                "person__name", "person__employee_no", "unit_id", "status", "checked_in_at", "method",
                "session__title", "session__start", "session_id", "session__end", "session__host_unit_id")
        sql, params = qs.query.sql_with_params()
        connection.ensure_connection()
        raw = connection.connection
        literal = ClientCursor(raw).mogrify(sql, params)
        t0 = time.perf_counter()
        count = 0
        with open(target, "wb") as out, raw.cursor() as cur, cur.copy(f"COPY ({literal}) TO STDOUT WITH CSV") as copy:
            for chunk in copy:
                out.write(chunk)
                count += 1
        seconds = time.perf_counter() - t0
        if what == "copy_quarterly":
            # The report's people rows also need the people; COPY them too (the same join work).
            people_qs = rows.people_of(root).order_by("unit__path", "pk").values_list(
                "unit__path", "pk", "name", "employee_no", "unit_id", "cadre_level_id")
            sql, params = people_qs.query.sql_with_params()
            literal = ClientCursor(raw).mogrify(sql, params)
            t1 = time.perf_counter()
            with open(target, "ab") as out, raw.cursor() as cur, cur.copy(f"COPY ({literal}) TO STDOUT WITH CSV") as copy:
                for chunk in copy:
                    out.write(chunk)
            seconds += time.perf_counter() - t1
    else:
        raise SystemExit(f"unknown measurement {what}")
    size = os.path.getsize(target)
    os.remove(target)
    return {"what": what, "seconds": round(seconds, 2), "rows": count, "bytes": size,
            "peak_rss_mb": round(rss_mb(), 1), "rss_before_mb": round(base_rss, 1)}


MEASUREMENTS = ("quarterly", "copy_quarterly", "attendance_xlsx", "attendance_csv", "copy_attendance")
EXTRA_MEASUREMENTS = ("copy_ledger_sums", "course_usage")


def run_child(what: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", what], check=True, capture_output=True, text=True,
                         cwd=ROOT, env=os.environ)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--entries", type=int, default=100, help="ledger entries per person")
    parser.add_argument("--attendance", type=int, default=100_000)
    parser.add_argument("--reset", action="store_true", help="drop, create and migrate the database, then load")
    parser.add_argument("--load-only", action="store_true",
                        help="with --reset: load and stop (measure later, e.g. under flock)")
    parser.add_argument("--only", action="append", choices=MEASUREMENTS + EXTRA_MEASUREMENTS,
                        help="measure only these (repeatable); default all")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    if args.reset:
        print(f"Loading {args.people:,} people × {args.entries} entries, {args.attendance:,} attendance rows …",
              flush=True)
        reset_database()
        print("  load times:", load(args.people, args.entries, args.attendance), flush=True)
        if args.load_only:
            return
    print(f"load average before measuring: {os.getloadavg()[0]:.2f}", flush=True)
    results = {w: run_child(w) for w in args.only or MEASUREMENTS}
    if "quarterly" in results and "copy_quarterly" in results:
        q, cq = results["quarterly"], results["copy_quarterly"]
        print(f"\nquarterly report (.xlsx, 8 sheets, {q['rows']:,} people): {q['seconds']} s, "
              f"peak RSS {q['peak_rss_mb']} MB (Django loaded: {q['rss_before_mb']} MB)")
        print(f"  COPY of the same rows (sums per person from the totals + people) as CSV: {cq['seconds']} s "
              f"→ ratio {q['seconds'] / max(cq['seconds'], 0.001):.1f}×")
    for key in EXTRA_MEASUREMENTS:
        if key in results:
            print(f"{key}: {results[key]['seconds']} s, {results[key]['rows']:,} rows/chunks")
    ca = results.get("copy_attendance")
    for key in ("attendance_xlsx", "attendance_csv"):
        r = results.get(key)
        if r is None or ca is None:
            continue
        print(f"attendance export ({key.split('_')[1]}, {r['rows']:,} rows): {r['seconds']} s, "
              f"peak RSS {r['peak_rss_mb']} MB; COPY {ca['seconds']} s → ratio "
              f"{r['seconds'] / max(ca['seconds'], 0.001):.1f}×")


if __name__ == "__main__":
    main()
