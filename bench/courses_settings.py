"""Settings of the courses benchmark: the production settings, with the bench URLconf (the
project's URLs plus a bare baseline view) and only the migrations the course pages need
(so an unrelated app's migrations cannot stop the bench)."""

import os as _os

from learning_portal.settings import *  # noqa: F403
from learning_portal.settings import INSTALLED_APPS

ROOT_URLCONF = "bench.courses_urls"

_NEEDED = {"contenttypes", "auth", "sessions", "authtoken", "org", "credits", "courses"}
_LABELS = {
    "django.contrib.admin": "admin", "django_celery_beat": "django_celery_beat", "axes": "axes",
    "sessions.apps.LecturesConfig": "lectures", "evaluations": "evaluations", "reports": "reports",
}
MIGRATION_MODULES = {label: None for app, label in _LABELS.items() if app in INSTALLED_APPS and label not in _NEEDED}
# Only the courses panel on the home page: other apps' tables are not migrated here.
HOME_PANELS = ["courses.views.panels.home_panel"]

# Optional: measure with sessions in the cache (Redis) rather than the database.
if _os.environ.get("LP_BENCH_SESSION_ENGINE"):
    SESSION_ENGINE = _os.environ["LP_BENCH_SESSION_ENGINE"]

# The reference run of the bare view with no middleware at all (courses_bench.py sets it).
if _os.environ.get("LP_BENCH_NO_MIDDLEWARE"):
    MIDDLEWARE: list[str] = []
