"""Settings for the learning portal.

This is the one place that reads the environment (django-environ). Every knob an
operator may turn is listed, with its meaning, in `.env.example`. There is no
per-environment settings module: development, tests and production differ only in
the environment they run with.
"""

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def _mandatory_secret(name: str, *, dev_default: str) -> tuple[str, bool]:
    """A secret has no production default. Returns (value, configured).

    Without DEBUG and without the variable, a random throwaway value lets offline
    commands (makemigrations, check, collectstatic) run, while every process that serves
    or signs anything — the WSGI/ASGI app, Celery workers and beat — refuses to start
    (learning_portal/startup.py), and `check --deploy` reports it as an error.
    """
    value = env.str(name, default="")
    if value:
        return value, True
    if DEBUG:
        return dev_default, False
    return secrets.token_urlsafe(50), False


SECRET_KEY, SECRET_KEY_CONFIGURED = _mandatory_secret(
    "SECRET_KEY", dev_default="insecure-dev-only-key-do-not-use-in-production-0123456789"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "treebeard",
    "django_bootstrap5",
    # Project apps, in dependency order (see DESIGN.md §2).
    "org",
    "credits",
    "sessions.apps.LecturesConfig",
    "evaluations",
    "courses",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "org.middleware.IdleSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "org.middleware.MustChangePasswordMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Must be last: it turns a locked-out login into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "learning_portal.urls"
WSGI_APPLICATION = "learning_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "org.context_processors.portal",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# SQLite file by default (the embedded mode); PostgreSQL via DATABASE_URL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# A new connection per request costs ~10 ms on this class of machine (DESIGN.md §5).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg prepares a statement on the server once a connection has run its text this
    # many times; Django turns that off (None) unless OPTIONS set it. Django's own cursors
    # bind on the client and are never prepared; the credit award and the ranking reads
    # (credits.totals) bind on the server, and preparing halves the award's time in the
    # database (bench/README.md). "off" is for a transaction-pooling PgBouncer older than
    # 1.21, which cannot keep prepared statements.
    _prepare = env.str("DATABASE_PREPARE_THRESHOLD", default="5").strip().lower()
    if _prepare in ("", "off", "none"):
        _threshold = None
    elif _prepare.isdigit():
        _threshold = int(_prepare)
    else:
        raise ImproperlyConfigured(
            f"DATABASE_PREPARE_THRESHOLD must be a whole number of runs (0 or more) or 'off', not {_prepare!r}."
        )
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", _threshold)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, cache, result backend ----------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "learning_portal.cache.PortalRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="lp"),
        }
    }
    # Sessions are read from Redis and written through to the database (which keeps them
    # across a Redis restart). Without Redis the cache is per process: sessions stay in
    # the database only, or a logout in one process would not reach the others.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ------------------------------------------------------------------------------
# Without Redis, tasks run eagerly in-process: the embedded default needs no worker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Auth ------------------------------------------------------------------------------------
AUTH_USER_MODEL = "org.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle sessions expire: activity pushes the expiry forward. Not on every request (that
# would be a database write per page view): org.middleware.IdleSessionMiddleware saves
# the session at most once per SESSION_REFRESH_SECONDS, so a session expires after
# SESSION_IDLE_SECONDS of inactivity, give or take that minute.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_REFRESH_SECONDS = env.int("SESSION_REFRESH_SECONDS", default=60)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# django-axes: throttle failed logins per (username, IP).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The login form and authenticate() call the employee number "username"; axes would
# otherwise look for USERNAME_FIELD ("employee_no"), record every failure under no name
# and let the right password through a lockout.
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media --------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
# Bodies above this are refused with 400 before a view runs (oversize uploads/JSON).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
ROSTER_MAX_UPLOAD_BYTES = env.int("ROSTER_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
ROSTER_MAX_ROWS = env.int("ROSTER_MAX_ROWS", default=20_000)

# --- E-mail ---------------------------------------------------------------------------------------
# Notifications are also e-mailed only when an operator configures a real backend.
NOTIFY_BY_EMAIL = bool(env.str("EMAIL_URL", default=""))
if NOTIFY_BY_EMAIL:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="learning-portal@localhost")

# --- REST API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "learning_portal.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Learning portal API",
    "DESCRIPTION": "Organisational learning portal: org tree, credits, micro-classes, courses.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI otherwise asks validator.swagger.io (on the internet) to check the schema.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # One schema name per choice set, so the apps' `kind` / `status` fields do not collide.
    "ENUM_NAME_OVERRIDES": {
        "UserGenderEnum": "org.models.User.Gender",
        "RoleEnum": "org.models.Role",
        "FeedbackKindEnum": "org.models.Feedback.Kind",
        "FeedbackStatusEnum": "org.models.Feedback.Status",
        "SourceKindEnum": "credits.models.SourceKind",
        "PeriodKindEnum": "credits.models.PeriodKind",
        "RequiredOrElectiveEnum": "credits.models.RequiredOrElective",
        "RankingVisibilityEnum": "credits.models.RankingVisibility",
        "RankStepScopeEnum": "credits.models.RankStep.Scope",
        "LectureFormatEnum": "sessions.models.Format",
        "VenueKindEnum": "sessions.models.Venue.Kind",
        "MenuStatusEnum": "sessions.models.Menu.Status",
        "DeclarationKindEnum": "sessions.models.Declaration.Kind",
        "DeclarationStatusEnum": "sessions.models.Declaration.Status",
        "SessionStatusEnum": "sessions.models.Session.Status",
        "AttendanceStatusEnum": "sessions.models.Attendance.Status",
        "AttendanceMethodEnum": "sessions.models.Attendance.Method",
        "ReminderKindEnum": "sessions.models.Reminder.Kind",
        "CourseSourceEnum": "courses.models.Course.Source",
        "CourseStatusEnum": "courses.models.Course.Status",
        "LessonKindEnum": "courses.models.Lesson.Kind",
        "EnrolmentOriginEnum": "courses.models.Enrolment.Origin",
        "CoursePushStatusEnum": "courses.models.CoursePush.Status",
        "CourseEventActionEnum": "courses.models.CourseEvent.Action",
        "AwardRuleEnum": "evaluations.models.AwardRule",
        "AwardStatusEnum": "evaluations.models.Award.Status",
        "AppraisalGradeGradeEnum": "evaluations.models.AppraisalGrade.Grade",
        "QuestionKindEnum": "evaluations.models.Question.Kind",
        "ExamStatusEnum": "evaluations.models.Exam.Status",
        "AttemptStatusEnum": "evaluations.models.Attempt.Status",
        "ReportKindEnum": "reports.models.ReportKind",
        "ReportFormatEnum": "reports.models.ReportFormat",
        "ReportRunStatusEnum": "reports.models.ReportRun.Status",
    },
}

# --- Security (production) --------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=["security.W021"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Eager (in-process) tasks would log every success into the web server's output.
    "loggers": {"celery.app.trace": {"level": "INFO" if REDIS_URL else "WARNING"}},
}

PORTAL_NAME = _("Learning portal")

# Home-page panels contributed by the apps (see learning_portal/home.py), in order.
HOME_PANELS: list[str] = []

# Demo-data builders run by `manage.py seed_demo`, in dependency order. Each is a dotted
# path to `seed(*, staff_count: int, rng: random.Random, stdout) -> None`, idempotent.
DEMO_SEEDERS: list[str] = []

# --- Micro-classes (下午微课堂) defaults; a unit may override them in its programme settings.
LECTURES_DEFAULT_SLOT_START = env.str("LECTURES_DEFAULT_SLOT_START", default="16:30")
LECTURES_DEFAULT_SLOT_MINUTES = env.int("LECTURES_DEFAULT_SLOT_MINUTES", default=60)
LECTURES_MONTHLY_TARGET = env.int("LECTURES_MONTHLY_TARGET", default=1)
LECTURES_CHECKIN_OPENS_BEFORE = env.int("LECTURES_CHECKIN_OPENS_BEFORE", default=15)
LECTURES_CHECKIN_CLOSES_AFTER = env.int("LECTURES_CHECKIN_CLOSES_AFTER", default=20)
LECTURES_LATE_AFTER = env.int("LECTURES_LATE_AFTER", default=5)
LECTURES_DECLARATION_MAX_AGE = env.int("LECTURES_DECLARATION_MAX_AGE", default=46)
# The check-in QR code rotates every step; a scanned code stays valid for this many steps more.
LECTURES_TOKEN_STEP_SECONDS = env.int("LECTURES_TOKEN_STEP_SECONDS", default=15)
LECTURES_TOKEN_GRACE_STEPS = env.int("LECTURES_TOKEN_GRACE_STEPS", default=2)
LECTURES_COURSEWARE_MAX_BYTES = env.int("LECTURES_COURSEWARE_MAX_BYTES", default=500 * 1024 * 1024)
HOME_PANELS.append("sessions.views.learner.home_panel")
DEMO_SEEDERS.append("sessions.demo.seed")

# --- Online courses ------------------------------------------------------------------------------
# The player sends a heartbeat this often; the server credits at most the wall-clock time since
# the previous accepted heartbeat plus the tolerance, and never more than the max gap at once.
COURSES_HEARTBEAT_SECONDS = env.int("COURSES_HEARTBEAT_SECONDS", default=15)
COURSES_HEARTBEAT_TOLERANCE_SECONDS = env.int("COURSES_HEARTBEAT_TOLERANCE_SECONDS", default=5)
COURSES_HEARTBEAT_MAX_GAP_SECONDS = env.int("COURSES_HEARTBEAT_MAX_GAP_SECONDS", default=120)
# A lesson is done when this share of it has been watched (or read) in real time.
COURSES_LESSON_DONE_RATIO = env.float("COURSES_LESSON_DONE_RATIO", default=0.95)
COURSES_MAX_VIDEO_BYTES = env.int("COURSES_MAX_VIDEO_BYTES", default=1024 * 1024 * 1024)
COURSES_MAX_DOCUMENT_BYTES = env.int("COURSES_MAX_DOCUMENT_BYTES", default=50 * 1024 * 1024)
# "Studying now" counts people active in the last N minutes.
COURSES_PRESENCE_MINUTES = env.int("COURSES_PRESENCE_MINUTES", default=5)
# Without Redis each process writes its buffered click counts inline this often.
COURSES_COUNTER_FLUSH_SECONDS = env.int("COURSES_COUNTER_FLUSH_SECONDS", default=60)
COURSES_COUNTER_INLINE_FLUSH = not REDIS_URL
# Seconds the catalog's per-filter results stay cached (bumped on every course change).
COURSES_CATALOG_CACHE_SECONDS = env.int("COURSES_CATALOG_CACHE_SECONDS", default=60)
HOME_PANELS.append("courses.views.panels.home_panel")
DEMO_SEEDERS.append("courses.demo.seed")
# Dynamic management (动态管理): when a course counts as old, poorly or well rated.
COURSES_STALE_DAYS = env.int("COURSES_STALE_DAYS", default=365)
COURSES_MIN_RATINGS = env.int("COURSES_MIN_RATINGS", default=5)
COURSES_LOW_RATING = env.float("COURSES_LOW_RATING", default=3.0)
COURSES_HIGH_RATING = env.float("COURSES_HIGH_RATING", default=4.5)

# --- Credits (学分) ---------------------------------------------------------------------------------
# Rules are cached per process this long; a change reaches other processes within it.
CREDITS_RULES_CACHE_SECONDS = env.int("CREDITS_RULES_CACHE_SECONDS", default=10)
# With a broker, awards within this window share one rank refresh (live Redis ranks are instant).
CREDITS_RANK_DEBOUNCE_SECONDS = env.int("CREDITS_RANK_DEBOUNCE_SECONDS", default=3)
# PostgreSQL: a rebuild of a year's totals lets a second database connection do half of
# the people at the same time (one more connection while it runs; off: one connection).
CREDITS_REBUILD_HELPER = env.bool("CREDITS_REBUILD_HELPER", default=True)
# First on the home page and first among the seeders: the other apps award credits.
HOME_PANELS.insert(0, "credits.panels.home_panel")
DEMO_SEEDERS.insert(0, "credits.demo.seed")

# --- Evaluations: surveys, awards, exams ----------------------------------------------------------
# The satisfaction survey of a class (课程质量满意度测评表) is open this many days after it closed;
# results show once the survey closed with at least this many answers.
EVALUATIONS_SURVEY_WINDOW_DAYS = env.int("EVALUATIONS_SURVEY_WINDOW_DAYS", default=3)
EVALUATIONS_SURVEY_MIN_ANSWERS = env.int("EVALUATIONS_SURVEY_MIN_ANSWERS", default=5)
# Non-responders are reminded once, this many hours before the survey closes.
EVALUATIONS_SURVEY_REMIND_HOURS = env.int("EVALUATIONS_SURVEY_REMIND_HOURS", default=24)
# An exam answer that arrives this many seconds after the deadline is still accepted (network).
EVALUATIONS_EXAM_GRACE_SECONDS = env.int("EVALUATIONS_EXAM_GRACE_SECONDS", default=15)
EVALUATIONS_IMPORT_MAX_BYTES = env.int("EVALUATIONS_IMPORT_MAX_BYTES", default=5 * 1024 * 1024)
EVALUATIONS_IMPORT_MAX_ROWS = env.int("EVALUATIONS_IMPORT_MAX_ROWS", default=5000)
# The honours board (荣誉榜) of a person shows the winners under their ancestor at this depth
# (1 = the whole organisation, 2 = their district or department …), plus their view scope.
EVALUATIONS_HONOURS_DEPTH = env.int("EVALUATIONS_HONOURS_DEPTH", default=2)
# Dotted paths of `hook(*, person, exam_id, passed_at)` called after a person passes an exam
# (e.g. the courses app completing a course quiz), so evaluations never imports a higher app.
EVALUATIONS_ON_EXAM_PASSED: list[str] = []
HOME_PANELS.append("evaluations.views.panels.home_panel")
DEMO_SEEDERS.append("evaluations.demo.seed")

# --- Reports (报表中心) ------------------------------------------------------------------------------
# Built files stay in the download centre this many days; a beat task deletes them after.
REPORTS_FILE_TTL_DAYS = env.int("REPORTS_FILE_TTL_DAYS", default=7)
# Bulk learning records (a zip of 学时证明) refuse subtrees with more people than this.
REPORTS_BULK_MAX_PEOPLE = env.int("REPORTS_BULK_MAX_PEOPLE", default=3000)
# PDFs are for printing: long lists stop after this many rows (the .xlsx has them all).
REPORTS_PDF_MAX_ROWS = env.int("REPORTS_PDF_MAX_ROWS", default=200)
# Attendance exports may cover at most this many days.
REPORTS_ATTENDANCE_MAX_DAYS = env.int("REPORTS_ATTENDANCE_MAX_DAYS", default=731)
# A CJK font file (.ttf/.otf/.ttc) to embed in PDFs; empty: found with fc-match / known paths.
REPORTS_PDF_FONT = env.str("REPORTS_PDF_FONT", default="")
# The manager dashboard caches its figures this long (they cost one pass over the ledger).
REPORTS_DASHBOARD_CACHE_SECONDS = env.int("REPORTS_DASHBOARD_CACHE_SECONDS", default=300)
# A running build that has not reported progress for this long is taken over by a redelivery.
REPORTS_STALE_SECONDS = env.int("REPORTS_STALE_SECONDS", default=15 * 60)
# Report builds run on their own queue, so long builds never hold up rankings or reminders.
CELERY_TASK_ROUTES = {**globals().get("CELERY_TASK_ROUTES", {}), "reports.tasks.*": {"queue": "reports"}}
# How long the player's heartbeat token (issued when a lesson is opened) stays valid.
COURSES_HEARTBEAT_TOKEN_SECONDS = env.int("COURSES_HEARTBEAT_TOKEN_SECONDS", default=8 * 60 * 60)
# Seconds a course's shared page data (description, lessons, comments) stays cached; edits and
# new comments drop it at once, and the counters on the page are always read live.
COURSES_COURSE_CACHE_SECONDS = env.int("COURSES_COURSE_CACHE_SECONDS", default=600)
# A passed exam that is a course's quiz completes the course (courses.services.quiz_exam_passed).
EVALUATIONS_ON_EXAM_PASSED.append("courses.services.quiz_exam_passed")
