"""The micro-class API: every step, the same scoping as the pages, JSON errors, no N+1."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sessions import checkin
from sessions.models import Attendance, Declaration, Menu, Session
from tests.factories import UserFactory
from tests.lectures.conftest import refresh
from tests.lectures.factories import (
    AttendanceFactory,
    DeclarationFactory,
    MenuFactory,
    MenuTopicFactory,
    PlanFactory,
    SessionFactory,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db
API = "/api/v1/lectures"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(refresh(user))
    return client


def _payload(org, **overrides) -> dict:
    start = tomorrow_at()
    data = {
        "title": "新档案法解读", "track": org.track.pk, "host_unit": org.a.pk, "speakers": [org.speaker.pk],
        "start": start.isoformat(), "end": (start + dt.timedelta(hours=1)).isoformat(),
    }
    data.update(overrides)
    return data


# --- Classes: create, errors, list ---------------------------------------------------------------


def test_an_admin_schedules_a_class_through_the_api(org):
    r = api(org.admin_a).post(f"{API}/classes/", _payload(org, capacity=40), format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["speakers"][0]["name"] == org.speaker.name
    assert Session.objects.get().capacity == 40


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"end": tomorrow_at(15, 0).isoformat()}, "end"),
        ({"capacity": 0}, "capacity"),
        ({"start": (timezone.now() - dt.timedelta(days=1)).isoformat(),
          "end": (timezone.now() - dt.timedelta(days=1, hours=-1)).isoformat()}, "start"),
        ({"audience_open": False, "audience_units": []}, "audience_units"),
    ],
)
def test_bad_class_input_is_a_400_naming_the_field_and_writes_nothing(org, overrides, field):
    r = api(org.admin_a).post(f"{API}/classes/", _payload(org, **overrides), format="json")
    assert r.status_code == 400
    body = r.json()
    assert field in body and body["detail"]
    assert not Session.objects.exists()


def test_an_audience_outside_the_scope_is_a_400(org):
    r = api(org.admin_a).post(f"{API}/classes/", _payload(org, audience_open=False, audience_units=[org.b.pk]), format="json")
    assert r.status_code == 400 and org.b.name in r.json()["audience_units"][0]
    assert not Session.objects.exists()


def test_unknown_fields_are_refused(org):
    r = api(org.admin_a).post(f"{API}/classes/", _payload(org, colour="red"), format="json")
    assert r.status_code == 400 and "colour" in r.json()


def test_class_list_has_no_n_plus_one(org, django_assert_max_num_queries):
    client = api(org.learner)
    for i in range(3):
        SessionFactory(host_unit=org.a, speakers=[org.speaker], start=tomorrow_at(days=i + 1))
    with django_assert_max_num_queries(15) as small:
        assert client.get(f"{API}/classes/").json()["count"] == 3
    for i in range(15):
        SessionFactory(host_unit=org.a, speakers=[org.speaker], start=tomorrow_at(days=i + 10))
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(f"{API}/classes/").json()["count"] == 18


def test_attendance_list_has_no_n_plus_one(org, session_a, django_assert_max_num_queries):
    client = api(org.admin_a)
    for _ in range(3):
        AttendanceFactory(session=session_a, person=UserFactory(unit=org.a))
    with django_assert_max_num_queries(20) as small:
        assert client.get(f"{API}/classes/{session_a.pk}/attendance/").json()["count"] == 3
    for _ in range(15):
        AttendanceFactory(session=session_a, person=UserFactory(unit=org.a))
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(f"{API}/classes/{session_a.pk}/attendance/").json()["count"] == 18


def test_declaration_list_has_no_n_plus_one(org, django_assert_max_num_queries):
    client = api(org.admin_a)
    for _ in range(3):
        DeclarationFactory(declarer=UserFactory(unit=org.a1), track=org.track)
    with django_assert_max_num_queries(10) as small:
        assert client.get(f"{API}/declarations/").json()["count"] == 3
    for _ in range(15):
        DeclarationFactory(declarer=UserFactory(unit=org.a1), track=org.track)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(f"{API}/declarations/").json()["count"] == 18


# --- Permission matrix -------------------------------------------------------------------------------

ROLES = ["learner", "admin_a", "manager_a", "teacher_a", "sysadmin", "admin_b", "learner_b"]
# Who sees district A's class (inside the grant's subtree / audience) and who does not.
SEES_A = {"learner": True, "admin_a": True, "manager_a": True, "teacher_a": True, "sysadmin": True,
          "admin_b": False, "learner_b": False}
MANAGES_A = {"admin_a", "sysadmin"}


@pytest.mark.parametrize("role", ROLES)
def test_matrix_class_detail_and_list(org, session_a, role):
    client = api(getattr(org, role))
    r = client.get(f"{API}/classes/{session_a.pk}/")
    assert r.status_code == (200 if SEES_A[role] else 404)
    ids = [row["id"] for row in client.get(f"{API}/classes/").json()["results"]]
    assert (session_a.pk in ids) == SEES_A[role]


@pytest.mark.parametrize("role", ROLES)
def test_matrix_cancel(org, session_a, role):
    r = api(getattr(org, role)).post(f"{API}/classes/{session_a.pk}/cancel/", {"reason": "停课"}, format="json")
    expected = 200 if role in MANAGES_A else (403 if SEES_A[role] else 404)
    assert r.status_code == expected
    assert (Session.objects.get(pk=session_a.pk).status == "cancelled") == (role in MANAGES_A)


@pytest.mark.parametrize("role", ROLES)
def test_matrix_close(org, past_a, role):
    AttendanceFactory(session=past_a, person=org.learner)
    r = api(getattr(org, role)).post(f"{API}/classes/{past_a.pk}/close/", format="json")
    expected = 200 if role in MANAGES_A else (403 if SEES_A[role] else 404)
    assert r.status_code == expected
    assert (Session.objects.get(pk=past_a.pk).status == "closed") == (role in MANAGES_A)


@pytest.mark.parametrize("role", ROLES)
def test_matrix_mark_attendance(org, session_a, role):
    r = api(getattr(org, role)).post(
        f"{API}/classes/{session_a.pk}/attendance/", {"person": org.learner.pk, "status": "excused", "reason": "病假"},
        format="json",
    )
    expected = 200 if role in MANAGES_A else (403 if SEES_A[role] else 404)
    assert r.status_code == expected
    assert Attendance.objects.filter(person=org.learner).exists() == (role in MANAGES_A)


@pytest.mark.parametrize("role", ROLES)
def test_matrix_register_view(org, session_a, role):
    """The register (attendance list): viewers of the host unit and the speaker; learners 403."""
    r = api(getattr(org, role)).get(f"{API}/classes/{session_a.pk}/attendance/")
    viewers = {"admin_a", "manager_a", "teacher_a", "sysadmin"}
    assert r.status_code == (200 if role in viewers else (403 if SEES_A[role] else 404))


@pytest.mark.parametrize("role", ROLES)
def test_matrix_checkin_code_screen(org, session_a, role):
    r = api(getattr(org, role)).get(f"{API}/classes/{session_a.pk}/check-in-code/")
    expected = 200 if role in MANAGES_A else (403 if SEES_A[role] else 404)
    assert r.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_matrix_export(org, session_a, role):
    AttendanceFactory(session=session_a, person=org.learner)
    r = api(getattr(org, role)).get(f"{API}/classes/{session_a.pk}/export/", {"fmt": "csv"})
    viewers = {"admin_a", "manager_a", "teacher_a", "sysadmin"}
    assert r.status_code == (200 if role in viewers else (403 if SEES_A[role] else 404))


@pytest.mark.parametrize("role", ROLES)
def test_matrix_declaration_review(org, role):
    declaration = DeclarationFactory(declarer=org.learner, track=org.track)
    r = api(getattr(org, role)).post(f"{API}/declarations/{declaration.pk}/review/", {"decision": "approve"}, format="json")
    sees = {"learner", "admin_a", "manager_a", "teacher_a", "sysadmin"}
    expected = 200 if role in MANAGES_A else (403 if role in sees else 404)
    assert r.status_code == expected
    approved = Declaration.objects.get(pk=declaration.pk).status == "approved"
    assert approved == (role in MANAGES_A)


@pytest.mark.parametrize("role", ROLES)
def test_matrix_range_export_never_leaks_other_subtrees(org, session_a, role):
    b_session = SessionFactory(host_unit=org.b, start=session_a.start, end=session_a.end)
    AttendanceFactory(session=session_a, person=org.learner)
    AttendanceFactory(session=b_session, person=org.learner_b)
    day = timezone.localdate(session_a.start).isoformat()
    r = api(getattr(org, role)).get(f"{API}/attendance-export/", {"from": day, "to": day, "fmt": "csv"})
    if role in ("learner", "learner_b"):
        assert r.status_code == 403
        return
    text = b"".join(r.streaming_content).decode()
    assert (org.learner.employee_no in text) == (role in {"admin_a", "manager_a", "teacher_a", "sysadmin"})
    assert (org.learner_b.employee_no in text) == (role in {"admin_b", "sysadmin"})


# --- Check-in through the API ------------------------------------------------------------------


def test_api_checkin_with_token_then_replay(org, monkeypatch):
    session = SessionFactory(host_unit=org.a, start=timezone.now() - dt.timedelta(minutes=1))
    client = api(org.learner)
    token = checkin.make_token(session)
    r = client.post(f"{API}/classes/{session.pk}/check-in/", {"token": token}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "present"
    r = client.post(f"{API}/classes/{session.pk}/check-in/", {"token": token}, format="json")
    assert r.status_code == 400 and "already checked in" in r.json()["token"][0]
    assert Attendance.objects.count() == 1


def test_api_checkin_for_someone_elses_account_is_refused(org):
    session = SessionFactory(host_unit=org.a, start=timezone.now())
    r = api(org.learner).post(
        f"{API}/classes/{session.pk}/check-in/", {"token": checkin.make_token(session), "person": org.admin_a.pk},
        format="json",
    )
    assert r.status_code == 400 and "person" in r.json()
    assert not Attendance.objects.exists()


def test_api_checkin_with_code_only(org):
    session = SessionFactory(host_unit=org.a, start=timezone.now())
    r = api(org.learner).post(f"{API}/check-in/", {"code": checkin.short_code(session)}, format="json")
    assert r.status_code == 201 and r.json()["session"] == session.pk


def test_api_checkin_code_for_the_screen(org, session_a):
    body = api(org.speaker_person).get(f"{API}/classes/{session_a.pk}/check-in-code/").json()
    assert len(body["code"]) == 6 and body["url"].endswith(body["token"]) and 0 < body["expires_in"] <= 15


# --- Menus, wishes, declarations, plans through the API ------------------------------------------


def test_menu_choices_and_demand_through_the_api(org):
    menu = MenuFactory(unit=org.a)
    topic = MenuTopicFactory(menu=menu, track=org.track)
    r = api(org.learner).put(f"{API}/menus/{menu.pk}/my-choices/", {"topics": [topic.pk]}, format="json")
    assert r.status_code == 200
    topics = api(org.admin_a).get(f"{API}/menus/{menu.pk}/topics/").json()
    assert topics[0]["demand"] == 1
    r = api(org.learner).post(f"{API}/wishes/", {"menu": menu.pk, "text": "想学公文写作"}, format="json")
    assert r.status_code == 201
    assert api(org.learner_b).get(f"{API}/menus/{menu.pk}/").status_code == 404


def test_menu_lifecycle_through_the_api(org):
    client = api(org.admin_a)
    r = client.post(f"{API}/menus/", {"unit": org.a.pk, "year": timezone.localdate().year, "title": "菜单"}, format="json")
    menu_id = r.json()["id"]
    assert client.post(f"{API}/menus/{menu_id}/publish/").status_code == 400
    r = client.post(f"{API}/menu-topics/", {"menu": menu_id, "track": org.track.pk, "title": "调查研究"}, format="json")
    assert r.status_code == 201
    assert client.post(f"{API}/menus/{menu_id}/publish/").json()["status"] == Menu.Status.PUBLISHED


def test_declare_review_and_plan_through_the_api(org):
    r = api(org.learner).post(f"{API}/declarations/", {"title": "小窍门", "outline": "提纲", "track": org.track.pk}, format="json")
    assert r.status_code == 201
    declaration_id = r.json()["id"]
    r = api(org.admin_a).post(f"{API}/declarations/{declaration_id}/review/", {"decision": "reject"}, format="json")
    assert r.status_code == 400 and "comment" in r.json()
    r = api(org.admin_a).post(f"{API}/declarations/{declaration_id}/review/", {"decision": "approve"}, format="json")
    assert r.json()["status"] == "approved"
    plan = api(org.admin_a).post(f"{API}/plans/", {"unit": org.a.pk, "year": timezone.localdate().year}, format="json").json()
    items = api(org.admin_a).post(f"{API}/plans/{plan['id']}/propose/").json()
    assert items[0]["declaration"] == declaration_id
    months = api(org.admin_a).get(f"{API}/plans/{plan['id']}/months/").json()
    assert len(months) == 12 and sum(len(m["items"]) for m in months) == 1


def test_declarations_owed_through_the_api(org):
    year = timezone.localdate().year
    UserFactory(unit=org.a1, birth_date=dt.date(year - 30, 1, 2))
    r = api(org.admin_a).get(f"{API}/declarations-owed/", {"unit": org.a.pk, "year": year})
    assert r.status_code == 200 and r.json()["count"] == 1
    assert api(org.admin_b).get(f"{API}/declarations-owed/", {"unit": org.a.pk}).status_code == 404


def test_plan_of_another_district_is_invisible(org):
    plan = PlanFactory(unit=org.b)
    assert api(org.admin_a).get(f"{API}/plans/{plan.pk}/").status_code == 404
    assert api(org.admin_b).get(f"{API}/plans/{plan.pk}/").status_code == 200


def test_registration_through_the_api(org):
    session = SessionFactory(host_unit=org.a, capacity=1)
    client = api(org.learner)
    assert client.post(f"{API}/classes/{session.pk}/registration/").status_code == 201
    r = api(UserFactory(unit=org.a)).post(f"{API}/classes/{session.pk}/registration/")
    assert r.status_code == 400 and "full" in r.json()["detail"] + str(r.json())
    assert client.delete(f"{API}/classes/{session.pk}/registration/").status_code == 204


def test_calendar_feed_through_the_api(org):
    url = api(org.learner).get(f"{API}/calendar-feed/").json()["url"]
    assert url.endswith(".ics")


def test_the_schema_builds(org):
    client = api(org.sysadmin)
    r = client.get("/api/schema/")
    assert r.status_code == 200 and b"/api/v1/lectures/classes/" in r.content
