"""A report built by a real Celery worker consuming the "reports" queue from Redis."""

from __future__ import annotations

import os
import time

import pytest
from django.core.files.storage import default_storage

from learning_portal.celery import app as celery_app
from reports import services
from reports.models import ReportRun

from .conftest import fresh


@pytest.fixture
def reports_worker(transactional_db):
    """Like tests/conftest.py's `celery_worker_live`, but also consuming the "reports" queue
    that report tasks are routed to (CELERY_TASK_ROUTES)."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL: runs a real Celery worker against Redis")
    from celery.contrib.testing.worker import start_worker

    celery_app.conf.task_always_eager = False
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING",
                      queues=["default", "reports"]) as worker:
        yield worker


@pytest.mark.celery_worker
def test_a_real_worker_builds_the_report_and_the_run_shows_its_progress(reports_worker, cast, quarter):
    assert celery_app.amqp.router.route({}, "reports.tasks.build_report")["queue"].name == "reports"
    run, created = services.report_request(
        requester=fresh(cast.manager), kind="quarterly",
        raw={"unit": cast.tree.district_a.pk, "year": quarter.year, "quarter": quarter.index},
    )
    assert created
    deadline = time.monotonic() + 60
    seen = set()
    while time.monotonic() < deadline:
        run.refresh_from_db()
        seen.add(run.status)
        if run.status in (ReportRun.Status.SUCCEEDED, ReportRun.Status.FAILED):
            break
        time.sleep(0.2)
    assert run.status == ReportRun.Status.SUCCEEDED, run.error
    assert run.progress == 100 and run.attempts == 1
    assert default_storage.exists(run.file.name)
