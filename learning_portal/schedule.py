"""Every periodic task of the portal, in one place.

Each entry carries an expiry so that a backlog left by a stopped worker is dropped
rather than run many times over when the worker comes back.
"""

from celery.schedules import crontab

HOUR = 60 * 60

BEAT_SCHEDULE: dict[str, dict] = {
    "org.purge_old_notifications": {
        "task": "org.tasks.purge_old_notifications",
        "schedule": crontab(hour=3, minute=15),
        "options": {"expires": 2 * HOUR},
    },
}
