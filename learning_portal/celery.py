"""The Celery application.

Without `REDIS_URL` the settings make every task run eagerly in-process, so the
embedded default needs no broker and no worker; with it, workers consume from Redis.
"""

import os

from celery import Celery
from celery.signals import beat_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_portal.settings")

app = Celery("learning_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _load_schedule() -> None:
    from learning_portal.schedule import BEAT_SCHEDULE

    app.conf.beat_schedule = BEAT_SCHEDULE


_load_schedule()


@worker_init.connect
@beat_init.connect
def _require_secrets(**kwargs) -> None:
    """A worker or beat signs and sends on the portal's behalf: refuse without secrets."""
    from django.core.exceptions import ImproperlyConfigured

    from learning_portal.startup import require_production_secrets

    try:
        require_production_secrets()
    except ImproperlyConfigured as exc:
        # Celery logs and ignores exceptions from signal receivers; only an exit stops it.
        raise SystemExit(str(exc)) from exc
