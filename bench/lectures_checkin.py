"""Benchmark: 1,000 learners check in to one class within 60 s; export of 10,000 rows.

Not a test. Runs against gunicorn (2 sync workers) on 127.0.0.1 with PostgreSQL and
Redis, in the production configuration (DEBUG off, persistent connections):

    .venv/bin/python bench/lectures_checkin.py

It uses its own database (LP_BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/lp_lectures, created if missing and migrated) and
Redis db 6. It prints p50/p95/max latencies, errors and the row count, and a baseline
(the trivial /healthz view, measured in the same run) as a ratio.
Targets: check-in p95 < 300 ms, no errors, exactly 1,000 rows; export < 3 s.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_URL = os.environ.get("LP_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lp_lectures")
REDIS_URL = os.environ.get("LP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
PORT = int(os.environ.get("LP_BENCH_PORT", "8767"))
LEARNERS = 1000
SPREAD_SECONDS = 45  # arrivals spread over this window (the target is "within 60 s")
CONCURRENCY = 24
EXPORT_ROWS = 10_000

ENV = {
    **os.environ,
    "DATABASE_URL": DB_URL,
    "REDIS_URL": REDIS_URL,
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    "AXES_ENABLED": "0",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "learning_portal.settings",
}


def ensure_database() -> None:
    name = DB_URL.rsplit("/", 1)[1]
    base = DB_URL.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=ENV, check=True)


def django_setup() -> None:
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare() -> dict:
    """A unit, 1,000 learners with API tokens, a class starting now, and 10,000 export rows."""
    from django.db import connection
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from org.models import OrgUnit, RoleGrant, User
    from sessions.models import Attendance, Session, Track

    unit = OrgUnit.objects.filter(code="BENCH-LECT").first() or OrgUnit.add_root(code="BENCH-LECT", name="压测单位")
    admin, _ = User.objects.get_or_create(employee_no="BENCH-ADMIN", defaults={"name": "压测管理员", "unit": unit})
    RoleGrant.objects.get_or_create(user=admin, unit=unit, role="unit_admin")
    existing = set(User.objects.filter(employee_no__startswith="BENCH-L").values_list("employee_no", flat=True))
    User.objects.bulk_create([
        User(employee_no=f"BENCH-L{i:05d}", name=f"学员{i}", unit=unit, password="!")
        for i in range(LEARNERS) if f"BENCH-L{i:05d}" not in existing
    ])
    learners = list(User.objects.filter(employee_no__startswith="BENCH-L").order_by("employee_no")[:LEARNERS])
    Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in learners], ignore_conflicts=True)
    tokens = dict(Token.objects.filter(user__in=learners).values_list("user_id", "key"))
    admin_token = Token.objects.get_or_create(user=admin)[0].key
    track = Track.objects.first()
    now = timezone.now()
    session = Session.objects.create(
        title="压测：千人签到", track=track, host_unit=unit, start=now + dt.timedelta(minutes=2),
        end=now + dt.timedelta(minutes=62), created_by=admin,
    )
    # 10,000 attendance rows for the export: ten closed classes of 1,000 each, last week.
    Session.objects.filter(title="压测：导出").delete()
    day = timezone.localdate() - dt.timedelta(days=7)
    old = Session.objects.bulk_create([
        Session(title="压测：导出", track=track, host_unit=unit, status="closed",
                start=timezone.make_aware(dt.datetime.combine(day, dt.time(8 + k, 0))),
                end=timezone.make_aware(dt.datetime.combine(day, dt.time(8 + k, 50))))
        for k in range(EXPORT_ROWS // LEARNERS)
    ])
    Attendance.objects.bulk_create([
        Attendance(session=s, person=u, unit=unit, status="present", method="qr", checked_in_at=s.start)
        for s in old for u in learners
    ], batch_size=5000)
    connection.close()
    return {"session": session, "tokens": tokens, "learners": learners, "admin_token": admin_token,
            "export_day": day.isoformat(), "unit": unit}


def start_gunicorn() -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "learning_portal.wsgi:application", "-w", "2", "-b", f"127.0.0.1:{PORT}",
         "--log-level", "warning", "--timeout", "60"],
        cwd=ROOT, env=ENV, start_new_session=True,
    )
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


_local = threading.local()


def _conn() -> http.client.HTTPConnection:
    if getattr(_local, "conn", None) is None:
        _local.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    return _local.conn


def request(method: str, path: str, *, body: dict | None = None, token: str | None = None) -> tuple[int, float, bytes]:
    headers = {"Host": "127.0.0.1"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    for attempt in range(2):
        conn = _conn()
        started = time.perf_counter()
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            return response.status, (time.perf_counter() - started) * 1000, payload
        except (http.client.HTTPException, OSError):
            _local.conn = None
            if attempt:
                raise
    raise AssertionError


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def paced(n: int, fn, spread: float) -> list[tuple[int, float, bytes]]:
    """Run `fn(i)` for i < n, arrivals spread uniformly over `spread` seconds."""
    rng = random.Random(7)
    offsets = sorted(rng.uniform(0, spread) for _ in range(n))
    t0 = time.perf_counter()

    def run(i: int):
        delay = offsets[i] - (time.perf_counter() - t0)
        if delay > 0:
            time.sleep(delay)
        return fn(i)

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(run, range(n)))


def main() -> None:
    ensure_database()
    django_setup()
    from sessions import checkin
    from sessions.models import Attendance

    data = prepare()
    session = data["session"]
    # Open the check-in window: the class "starts" now.
    from django.utils import timezone

    from sessions.models import Session

    Session.objects.filter(pk=session.pk).update(start=timezone.now() - dt.timedelta(minutes=1))
    session.refresh_from_db()
    proc = start_gunicorn()
    try:
        # Warm both workers.
        for _ in range(20):
            request("GET", "/healthz")
        # Baseline: the trivial /healthz view (SELECT 1 + Redis PING) at the same pace.
        load_before = os.getloadavg()[0]
        baseline = paced(LEARNERS, lambda i: request("GET", "/healthz"), SPREAD_SECONDS)
        learners = data["learners"]
        tokens = data["tokens"]
        path = f"/api/v1/lectures/classes/{session.pk}/check-in/"

        def check_in(i: int):
            # Each learner scans the code on the screen at that moment.
            return request("POST", path, body={"token": checkin.make_token(session)}, token=tokens[learners[i].pk])

        t0 = time.perf_counter()
        results = paced(LEARNERS, check_in, SPREAD_SECONDS)
        elapsed = time.perf_counter() - t0
        errors = [(s, p[:200]) for s, _ms, p in results if s != 201]
        latencies = [ms for _s, ms, _p in results]
        base_lat = [ms for _s, ms, _p in baseline]
        rows = Attendance.objects.filter(session=session).count()
        # A second scan by everyone would be refused: spot-check a few replays.
        replays = [check_in(i)[0] for i in range(5)]

        started = time.perf_counter()
        status, _ms, body = request(
            "GET", f"/api/v1/lectures/attendance-export/?unit={data['unit'].pk}&from={data['export_day']}&to={data['export_day']}",
            token=data["admin_token"],
        )
        export_xlsx = time.perf_counter() - started
        started = time.perf_counter()
        status_csv, _ms, body_csv = request(
            "GET", f"/api/v1/lectures/attendance-export/?unit={data['unit'].pk}&from={data['export_day']}&to={data['export_day']}&fmt=csv",
            token=data["admin_token"],
        )
        export_csv = time.perf_counter() - started
        csv_rows = body_csv.decode("utf-8").count("\n") - 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)

    p95, base95 = percentile(latencies, 95), percentile(base_lat, 95)
    print(f"machine load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"check-in: {LEARNERS} learners in {elapsed:.1f} s, concurrency {CONCURRENCY}, gunicorn 2 workers, PostgreSQL")
    print(f"  latency ms: p50 {statistics.median(latencies):.1f}  p95 {p95:.1f}  max {max(latencies):.1f}")
    print(f"  errors: {len(errors)} {errors[:3]}  rows: {rows}  replays refused: {replays}")
    print(f"baseline /healthz: p50 {statistics.median(base_lat):.1f}  p95 {base95:.1f} ms  → check-in p95 is {p95 / base95:.1f}× the baseline")
    print(f"export of {csv_rows} rows: xlsx {export_xlsx:.2f} s ({len(body) / 1e6:.2f} MB, HTTP {status}), "
          f"csv {export_csv:.2f} s (HTTP {status_csv})")
    ok = p95 < 300 and not errors and rows == LEARNERS and export_xlsx < 3 and export_csv < 3 and csv_rows >= EXPORT_ROWS
    print("RESULT:", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
