"""Logging in and out, password change, login throttling, idle expiry, language, health."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext

from org.middleware import REFRESHED_KEY
from tests.factories import OrgUnitFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-12345"  # what UserFactory sets
LOGIN = "/accounts/login/"


@pytest.fixture
def person():
    city = OrgUnitFactory(code="C", name="示范市")
    district = OrgUnitFactory(parent=city, code="D1", name="东区")
    return UserFactory(employee_no="A1001", name="王芳", unit=district)


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "every page declares its language"
    return match.group(1)


# --- Login / home / logout --------------------------------------------------------------------


def test_login_with_employee_number_leads_to_the_home_page_with_name_and_unit(client, person):
    response = client.post(LOGIN, {"username": "A1001", "password": PASSWORD}, follow=True)

    assert response.redirect_chain[-1] == ("/", 302)
    page = response.content.decode()
    assert "王芳" in page
    assert "示范市/东区" in page
    assert "A1001" in page


def test_the_home_page_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_a_wrong_password_shows_the_form_again_with_an_error(client, person):
    response = client.post(LOGIN, {"username": "A1001", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_an_inactive_person_cannot_log_in(client, person):
    person.is_active = False
    person.save()
    response = client.post(LOGIN, {"username": "A1001", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "data",
    [
        {"username": "x" * 10_000, "password": "p"},
        {"username": "A1001\x00", "password": PASSWORD},
        {"username": "", "password": ""},
        {"password": PASSWORD},
        {"username": ["A1001", "B"], "password": PASSWORD},
    ],
    ids=["very-long", "nul-byte", "empty", "missing-username", "repeated-username"],
)
def test_odd_login_input_gets_the_form_back_never_a_500(client, person, data):
    response = client.post(LOGIN, data)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(client, person):
    client.force_login(person)

    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/").status_code == 200

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_every_page_has_a_logout_form_that_posts(client, person):
    client.force_login(person)
    page = client.get("/").content.decode()
    assert re.search(r'<form method="post" action="/accounts/logout/">', page)


# --- Password change -----------------------------------------------------------------------


def test_password_change_works_and_the_new_password_logs_in(client, person):
    client.force_login(person)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "Xuexi-2024-portal",
            "new_password2": "Xuexi-2024-portal",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/done/"
    person.refresh_from_db()
    assert person.check_password("Xuexi-2024-portal")
    # The session that changed the password stays logged in.
    assert client.get("/").status_code == 200

    fresh = Client()
    assert fresh.login(username="A1001", password="Xuexi-2024-portal")


def test_password_change_rejects_a_wrong_old_password_and_changes_nothing(client, person):
    client.force_login(person)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "not-my-password",
            "new_password1": "Xuexi-2024-portal",
            "new_password2": "Xuexi-2024-portal",
        },
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    person.refresh_from_db()
    assert person.check_password(PASSWORD)


def test_password_change_rejects_a_weak_password(client, person):
    client.force_login(person)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"},
    )
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
    person.refresh_from_db()
    assert person.check_password(PASSWORD)


# --- Throttling (django-axes) ----------------------------------------------------------------


@pytest.mark.axes
def test_failed_logins_are_locked_out_after_the_limit_with_the_lockout_page(client, person):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = client.post(LOGIN, {"username": "A1001", "password": "wrong"})
        assert response.status_code == 200

    locked = client.post(LOGIN, {"username": "A1001", "password": "wrong"})
    assert locked.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in locked.templates]
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert str(minutes) in locked.content.decode()

    # Even the right password is refused while locked out.
    again = client.post(LOGIN, {"username": "A1001", "password": PASSWORD})
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.axes
def test_a_lockout_is_per_account_and_others_still_log_in(client, person):
    other = UserFactory(employee_no="B2002", unit=person.unit)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": "A1001", "password": "wrong"})

    response = client.post(LOGIN, {"username": other.employee_no, "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.axes
def test_a_successful_login_before_the_limit_resets_the_count(client, person):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(LOGIN, {"username": "A1001", "password": "wrong"})
    assert client.post(LOGIN, {"username": "A1001", "password": PASSWORD}).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(LOGIN, {"username": "A1001", "password": "wrong"})
    assert response.status_code == 200


@pytest.mark.axes
@pytest.mark.zh
def test_the_lockout_page_speaks_chinese(client, person):
    catalogue = Path(settings.BASE_DIR) / "locale/zh_Hans/LC_MESSAGES/django.mo"
    if not catalogue.exists():
        pytest.skip("the zh_Hans catalogue is not compiled yet")
    with translation.override("zh-hans"):
        heading = gettext("Too many failed logins")
    assert heading != "Too many failed logins", "the lockout heading needs a translation"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(LOGIN, {"username": "A1001", "password": "wrong"})
    assert response.status_code == 429
    assert heading in response.content.decode()


# --- Idle sessions expire ---------------------------------------------------------------------


def test_idle_session_expiry_is_configured():
    assert 0 < settings.SESSION_COOKIE_AGE <= 8 * 60 * 60
    assert 0 < settings.SESSION_REFRESH_SECONDS <= settings.SESSION_COOKIE_AGE // 10
    # Not a database write per page view: the idle middleware refreshes instead.
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    assert "org.middleware.IdleSessionMiddleware" in settings.MIDDLEWARE


def _stored_expiry(client) -> dt.datetime:
    return Session.objects.get(session_key=client.session.session_key).expire_date


def _age_refresh_mark(client, seconds: int) -> None:
    """Pretend the session was last refreshed `seconds` ago (as if time had passed)."""
    session = client.session
    session[REFRESHED_KEY] -= seconds
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE - seconds)
    )


def test_activity_pushes_the_expiry_at_most_once_per_refresh_interval(client, person):
    client.force_login(person)
    client.get("/")
    expected = timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs((_stored_expiry(client) - expected).total_seconds()) < 30

    # Within the interval: pages are served without writing the session.
    _age_refresh_mark(client, 10)
    before = _stored_expiry(client)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/notifications/").status_code == 200
    assert _stored_expiry(client) == before
    assert not [q for q in queries if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")]

    # Past the interval: the next request saves the session with a fresh expiry.
    _age_refresh_mark(client, settings.SESSION_REFRESH_SECONDS + 5)
    client.get("/notifications/")
    expected = timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs((_stored_expiry(client) - expected).total_seconds()) < 30


def test_anonymous_requests_store_no_session(client):
    client.get(LOGIN)
    client.get("/healthz")
    assert Session.objects.count() == 0


def test_an_idle_session_is_logged_out(client, person):
    client.force_login(person)
    client.get("/")
    key = client.session.session_key
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    # With Redis the session is also cached; its cache entry expires at the same moment.
    cache.delete(cached_db.KEY_PREFIX + key)

    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


# --- Language -------------------------------------------------------------------------------


@pytest.mark.zh
def test_the_ui_is_chinese_by_default_and_switches_to_english(client, person):
    client.force_login(person)
    assert html_lang(client.get("/")) == "zh-hans"

    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"

    assert html_lang(client.get("/")) == "en"

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert html_lang(client.get("/")) == "zh-hans"


@pytest.mark.zh
def test_the_login_page_has_the_language_switcher(client):
    page = client.get(LOGIN).content.decode()
    assert 'action="/i18n/setlang/"' in page
    assert html_lang(client.get(LOGIN)) == "zh-hans"


@pytest.mark.zh
def test_an_unknown_language_is_ignored(client):
    client.post("/i18n/setlang/", {"language": "xx", "next": "/accounts/login/"})
    assert html_lang(client.get(LOGIN)) == "zh-hans"


def test_setlang_does_not_redirect_to_another_site(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/"})
    assert "evil.example" not in response.get("Location", "")


# --- Health ----------------------------------------------------------------------------------


def test_healthz_reports_the_database_and_redis(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["redis"] == ("ok" if settings.REDIS_URL else "not configured")


def test_healthz_reports_an_unreachable_redis_as_503(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["redis"].startswith("error")
    assert body["database"] == "ok"
