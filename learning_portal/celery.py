"""The Celery application.

Without `REDIS_URL` the settings make every task run eagerly in-process, so the
embedded default needs no broker and no worker; with it, workers consume from Redis.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learning_portal.settings")

app = Celery("learning_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _load_schedule() -> None:
    from learning_portal.schedule import BEAT_SCHEDULE

    app.conf.beat_schedule = BEAT_SCHEDULE


_load_schedule()
