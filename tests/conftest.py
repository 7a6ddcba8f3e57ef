"""Shared test set-up.

Tests run on SQLite by default; with DATABASE_URL / REDIS_URL set (CI) they run on
PostgreSQL and Redis. Tasks run eagerly in every test except those marked
`celery_worker`, which get a real worker consuming from Redis.
"""

import os

import pytest
from django.core.cache import cache

from learning_portal.celery import app as celery_app


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, request):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests assert messages in the English source language unless they ask for Chinese
    # (marker `zh`); the portal itself defaults to Chinese (tests/test_translations.py).
    settings.LANGUAGE_CODE = "zh-hans" if request.node.get_closest_marker("zh") else "en"
    settings.AXES_ENABLED = bool(request.node.get_closest_marker("axes"))
    eager = request.node.get_closest_marker("celery_worker") is None
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    cache.clear()
    yield
    celery_app.conf.task_always_eager = previous
    cache.clear()


@pytest.fixture
def celery_worker_live(transactional_db):
    """A real Celery worker (in a thread) consuming from Redis; needs REDIS_URL."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL: runs a real Celery worker against Redis")
    from celery.contrib.testing.worker import start_worker

    celery_app.conf.task_always_eager = False
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING") as worker:
        yield worker


def pytest_configure(config):
    config.addinivalue_line("markers", "axes: run with django-axes login throttling on")
    config.addinivalue_line("markers", "zh: run with the portal's default language, Chinese")
