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


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return "transactional_db" in request.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )


@pytest.fixture(autouse=True)
def _migration_seed_rows(request):
    """Transactional tests start from flushed tables: put back the rows migrations seed.

    (Django's `serialized_rollback` would do this but collides with the content types
    that a previous flush re-creates, so the seed functions are simply run again; they
    are idempotent.)
    """
    if _is_transactional(request):
        request.getfixturevalue("transactional_db")
        from importlib import import_module

        from django.apps import apps as django_apps

        import_module("evaluations.migrations.0002_default_award_types").create(django_apps, None)
        import_module("sessions.migrations.0002_default_tracks").add_tracks(django_apps, None)
    yield


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
