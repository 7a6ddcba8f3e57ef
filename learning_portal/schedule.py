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
    # Micro-class reminders (the day before, an hour before); each is sent at most once.
    "lectures.send_due_reminders": {
        "task": "sessions.tasks.send_due_reminders",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 4 * 60},
    },
    # Online courses: scheduled online/offline dates, and buffered click counts → database.
    "courses.apply_schedules": {
        "task": "courses.tasks.apply_schedules",
        "schedule": crontab(minute="*"),
        "options": {"expires": 50},
    },
    "courses.flush_counters": {
        "task": "courses.tasks.flush_counters",
        "schedule": crontab(minute="*"),
        "options": {"expires": 50},
    },
    # Credits: rerank the current periods (pro-rata targets move daily, people change units)
    # and, at night, rebuild the year's totals from the ledger, logging any drift fixed.
    "credits.refresh_current_ranks": {
        "task": "credits.tasks.refresh_current_ranks",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 10 * 60},
    },
    "credits.rebuild_totals": {
        "task": "credits.tasks.rebuild_totals",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 2 * HOUR},
    },
    # Evaluations: open each closed class's satisfaction survey, remind non-responders once,
    # grade exam attempts whose time ran out, and compute award nominations nightly.
    "evaluations.open_due_surveys": {
        "task": "evaluations.tasks.open_due_surveys",
        "schedule": crontab(minute="*/10"),
        "options": {"expires": 9 * 60},
    },
    "evaluations.remind_due_surveys": {
        "task": "evaluations.tasks.remind_due_surveys",
        "schedule": crontab(minute="7,37"),
        "options": {"expires": 25 * 60},
    },
    "evaluations.expire_due_attempts": {
        "task": "evaluations.tasks.expire_due_attempts",
        "schedule": crontab(minute="*"),
        "options": {"expires": 50},
    },
    "evaluations.compute_nominations": {
        "task": "evaluations.tasks.compute_nominations",
        "schedule": crontab(hour=2, minute=40),
        "options": {"expires": 3 * HOUR},
    },
    # Reports: files in the download centre expire; stalled builds are queued again; the
    # quarterly subscriptions are built in the first days after each quarter ends (daily
    # runs are harmless: each subscription is delivered once per quarter).
    "reports.purge_expired": {
        "task": "reports.tasks.purge_expired",
        "schedule": crontab(hour=3, minute=40),
        "options": {"expires": 2 * HOUR},
    },
    "reports.requeue_stalled": {
        "task": "reports.tasks.requeue_stalled",
        "schedule": crontab(minute="*/10"),
        "options": {"expires": 9 * 60},
    },
    "reports.deliver_subscriptions": {
        "task": "reports.tasks.deliver_subscriptions",
        "schedule": crontab(hour=6, minute=30, day_of_month="1-10", month_of_year="1,4,7,10"),
        "options": {"expires": 6 * HOUR},
    },
}
