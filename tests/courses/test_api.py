"""The courses API: shapes, bad input (clear JSON errors, nothing changed), query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from courses import memo
from courses.models import (
    Course,
    CourseAudience,
    CoursePush,
    Enrolment,
    Lesson,
    LessonProgress,
    Like,
    Rating,
)
from credits.rules import forget_rules
from org.models import Notification
from tests.courses.factories import (
    CategoryFactory,
    enrol,
    exe_as_pdf,
    make_course,
    pdf_upload,
    require,
    started,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/courses"


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def learner_api(world):
    return api_for(world.learner)


@pytest.fixture
def admin_api(world):
    return api_for(world.unit_admin)


# --- Catalog --------------------------------------------------------------------------------------------


def test_catalog_lists_courses_with_points_and_own_progress(learner_api, world):
    enrol(world.learner, world.course)
    Enrolment.objects.filter(person=world.learner).update(progress_percent=50)
    body = learner_api.get(f"{API}/courses/").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["title"] == world.course.title and row["progress"] == 50 and row["points"] == "1.00"


def test_catalog_filters_and_refuses_unknown_parameters(learner_api, world):
    make_course(owner_unit=None, title="高校公开课", source="open_course", length_minutes=10)
    body = learner_api.get(f"{API}/courses/", {"source": "open_course", "max_minutes": 15}).json()
    assert [r["title"] for r in body["results"]] == ["高校公开课"]
    response = learner_api.get(f"{API}/courses/", {"colour": "red"})
    assert response.status_code == 400 and response.json()["colour"] == ["Unknown field."]
    response = learner_api.get(f"{API}/courses/", {"min_rating": "9"})
    assert response.status_code == 400 and "min_rating" in response.json()


def test_catalog_query_count_is_flat(world, django_assert_max_num_queries):
    client = api_for(world.manager)
    category = CategoryFactory(name="业务知识")

    def build(n):
        for _ in range(n):
            c = make_course(owner_unit=world.district_a, category=category)
            require(c, cadre_level=world.ke)
        cache.clear()  # cold: the factories bypass the services, which would drop the cache
        forget_rules()
        memo.clear()

    build(3)
    with CaptureQueriesContext(connection) as small:
        client.get(f"{API}/courses/", {"page_size": 50})
    build(12)
    with django_assert_max_num_queries(len(small)):
        body = client.get(f"{API}/courses/", {"page_size": 50}).json()
    assert body["count"] == 16


def test_course_detail_has_lessons_and_own_state(learner_api, world):
    enrol(world.learner, world.course)
    body = learner_api.get(f"{API}/courses/{world.course.pk}/").json()
    assert [lesson["id"] for lesson in body["lessons"]] == [lesson.pk for lesson in world.lessons]
    assert body["enrolment"]["course"] == world.course.pk
    assert body["liked"] is False and body["my_stars"] is None


def test_course_detail_out_of_scope_is_404(world):
    assert api_for(world.outsider).get(f"{API}/courses/{world.course.pk}/").status_code == 404


# --- Learning ---------------------------------------------------------------------------------------------


def test_enrol_start_and_heartbeat(learner_api, world):
    assert learner_api.post(f"{API}/courses/{world.course.pk}/enrol/").status_code == 200
    lesson = world.lessons[0]
    start = learner_api.post(f"{API}/lessons/{lesson.pk}/start/").json()
    assert start["position_seconds"] == 0 and start["heartbeat_seconds"] == 15
    LessonProgress.objects.update(
        last_heartbeat_at=timezone.now() - dt.timedelta(seconds=15),
        accounted_until=timezone.now() - dt.timedelta(seconds=15),
    )
    body = learner_api.post(f"{API}/lessons/{lesson.pk}/heartbeat/",
                            {"position": 15.2, "client_time": timezone.now().isoformat()}, format="json").json()
    assert body["position"] == 15 and 14 <= body["watched_seconds"] <= 15 and body["lesson_done"] is False


def test_starting_a_lesson_without_enrolment_is_a_clear_400(learner_api, world):
    response = learner_api.post(f"{API}/lessons/{world.lessons[0].pk}/start/")
    assert response.status_code == 400
    assert "Start learning" in response.json()["lesson"][0]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"position": "15"}, "position"),
        ({"position": None}, "position"),
        ({"position": -3}, "position"),
        ({"position": True}, "position"),
        ({}, "position"),
        ({"position": 15, "client_time": "yesterday"}, "client_time"),
        ({"position": 15, "speed": 2}, "speed"),
    ],
)
def test_bad_heartbeats_are_refused_with_the_field_named(learner_api, world, payload, field):
    enrol(world.learner, world.course)
    started(world.learner, world.lessons[0], at=timezone.now())
    response = learner_api.post(f"{API}/lessons/{world.lessons[0].pk}/heartbeat/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json() and response.json()["detail"]
    assert LessonProgress.objects.get().heartbeat_count == 0


def test_a_heartbeat_claiming_more_time_than_passed_is_400(learner_api, world):
    enrol(world.learner, world.course)
    now = timezone.now()
    started(world.learner, world.lessons[0], at=now)
    LessonProgress.objects.update(last_client_time=now)
    response = learner_api.post(
        f"{API}/lessons/{world.lessons[0].pk}/heartbeat/",
        {"position": 100, "client_time": (now + dt.timedelta(minutes=5)).isoformat()}, format="json",
    )
    assert response.status_code == 400
    assert "faster than real time" in response.json()["client_time"][0]


def test_heartbeats_for_not_enrolled_or_offline_courses_are_400(learner_api, world):
    url = f"{API}/lessons/{world.lessons[0].pk}/heartbeat/"
    response = learner_api.post(url, {"position": 10}, format="json")
    assert response.status_code == 400 and "lesson" in response.json()
    enrol(world.learner, world.course)
    started(world.learner, world.lessons[0], at=timezone.now())
    Course.objects.filter(pk=world.course.pk).update(status="offline")
    response = learner_api.post(url, {"position": 10}, format="json")
    assert response.status_code == 400 and "offline" in response.json()["lesson"][0]


def test_heartbeat_endpoint_costs_two_queries_beyond_authentication(world):
    """force_authenticate skips the auth queries: what remains is the heartbeat itself."""
    client = api_for(world.learner)
    enrol(world.learner, world.course)
    started(world.learner, world.lessons[0], at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        response = client.post(f"{API}/lessons/{world.lessons[0].pk}/heartbeat/", {"position": 1}, format="json")
    assert response.status_code == 200
    assert len(queries) == 2, [q["sql"] for q in queries]


# --- Ratings, likes, recommendations -----------------------------------------------------------------------


@pytest.mark.parametrize("stars", [0, 6, 4.5, "5", None])
def test_bad_ratings_are_refused_with_a_clear_message(learner_api, world, stars):
    enrol(world.learner, world.course)
    response = learner_api.post(f"{API}/courses/{world.course.pk}/rate/", {"stars": stars}, format="json")
    assert response.status_code == 400
    assert "1 to 5" in response.json()["stars"][0]
    assert not Rating.objects.exists()


def test_a_second_rating_updates_the_first(learner_api, world):
    enrol(world.learner, world.course)
    url = f"{API}/courses/{world.course.pk}/rate/"
    learner_api.post(url, {"stars": 5, "comment": "好"}, format="json")
    body = learner_api.post(url, {"stars": 4}, format="json").json()
    assert body["stars"] == 4 and Rating.objects.count() == 1
    assert Course.objects.get(pk=world.course.pk).rating_avg == 4


def test_like_and_unlike(learner_api, world):
    url = f"{API}/courses/{world.course.pk}/like/"
    assert learner_api.post(url).json() == {"liked": True, "like_count": 1}
    assert learner_api.post(url).json()["like_count"] == 1
    assert learner_api.delete(url).json() == {"liked": False, "like_count": 0}
    assert not Like.objects.exists()


def test_recommend_in_scope_and_refuse_outside(learner_api, world):
    url = f"{API}/courses/{world.course.pk}/recommend/"
    response = learner_api.post(url, {"recipients": [world.outsider.pk], "note": "看看"}, format="json")
    assert response.status_code == 400 and "recipients" in response.json()
    response = learner_api.post(url, {"recipients": [999999]}, format="json")
    assert response.status_code == 400 and "999999" in response.json()["recipients"][0]
    response = learner_api.post(url, {"recipients": [world.colleague.pk], "note": "看看"}, format="json")
    assert response.status_code == 201 and response.json() == {"sent": 1}
    assert Notification.objects.filter(recipient=world.colleague, body="看看").exists()


def test_ratings_list_query_count_is_flat(learner_api, world, django_assert_max_num_queries):
    from tests.factories import UserFactory

    for n in (3, 12):
        for _ in range(n):
            Rating.objects.create(course=world.course, person=UserFactory(unit=world.section_a1), stars=4, comment="好")
        with django_assert_max_num_queries(6):
            body = learner_api.get(f"{API}/courses/{world.course.pk}/ratings/").json()
    assert body["count"] == 15


def test_my_courses_and_recommendations_and_live(learner_api, world):
    require(world.course, cadre_level=world.ke, deadline=timezone.localdate() + dt.timedelta(days=3))
    body = learner_api.get(f"{API}/my/").json()
    assert body["required"][0]["course"] == world.course.pk and body["required"][0]["overdue"] is False
    assert learner_api.get(f"{API}/recommendations/").json()["count"] == 0
    assert learner_api.get(f"{API}/live/").json() == {"studying_now": 0}


def test_learners_and_remind_for_class_teachers_only(world):
    require(world.course, cadre_level=world.ke)
    teacher = api_for(world.class_teacher)
    body = teacher.get(f"{API}/courses/{world.course.pk}/learners/").json()
    assert world.learner.name in [p["name"] for p in body["results"]]
    assert teacher.post(f"{API}/courses/{world.course.pk}/remind/").json()["reminded"] == 2
    assert api_for(world.learner).get(f"{API}/courses/{world.course.pk}/learners/").status_code == 403


# --- Categories -------------------------------------------------------------------------------------------


def test_categories_are_read_by_all_and_changed_by_system_admins(world):
    assert api_for(world.unit_admin).post(f"{API}/categories/", {"name": "技能型"}, format="json").status_code == 403
    response = api_for(world.sysadmin).post(f"{API}/categories/", {"name": "技能型"}, format="json")
    assert response.status_code == 201
    duplicate = api_for(world.sysadmin).post(f"{API}/categories/", {"name": "技能型"}, format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()
    assert [c["name"] for c in api_for(world.learner).get(f"{API}/categories/").json()["results"]] == ["技能型"]


# --- Management ------------------------------------------------------------------------------------------


def test_admin_creates_a_course_and_adds_lessons(admin_api, world):
    response = admin_api.post(f"{API}/manage/courses/", {
        "title": "全面推进依法治国", "source": "imported", "length_minutes": 30, "owner_unit": world.district_a.pk,
        "tags": ["依法治国"], "speaker": "刘春",
    }, format="json")
    assert response.status_code == 201, response.json()
    course_id = response.json()["id"]
    upload = admin_api.post(f"{API}/manage/courses/{course_id}/lessons/",
                            {"title": "讲义", "kind": "document", "duration_seconds": 600, "file": pdf_upload()},
                            format="multipart")
    assert upload.status_code == 201, upload.json()
    assert upload.json()["file_url"].endswith("/file/")
    link = admin_api.post(f"{API}/manage/courses/{course_id}/lessons/",
                          {"title": "视频", "kind": "external", "duration_seconds": 60,
                           "external_url": "https://v.cn/a.mp4"}, format="multipart")
    assert link.status_code == 201
    response = admin_api.post(f"{API}/manage/courses/status/", {"action": "online", "courses": [course_id]}, format="json")
    assert response.json() == {"changed": 1}


def test_admin_api_refuses_scripts_lying_and_oversize_uploads(admin_api, world, settings):
    response = admin_api.post(f"{API}/manage/courses/", {
        "title": "x", "source": "imported", "length_minutes": 30, "owner_unit": world.district_a.pk,
        "description_html": "<p onmouseover='x()'>hi</p>",
    }, format="json")
    assert response.status_code == 400 and "not allowed" in response.json()["description_html"][0]
    url = f"{API}/manage/courses/{world.course.pk}/lessons/"
    response = admin_api.post(url, {"title": "讲义", "kind": "document", "duration_seconds": 60, "file": exe_as_pdf()},
                              format="multipart")
    assert response.status_code == 400 and "does not match" in response.json()["file"][0]
    settings.COURSES_MAX_DOCUMENT_BYTES = 1000
    response = admin_api.post(url, {"title": "讲义", "kind": "document", "duration_seconds": 60,
                                    "file": pdf_upload(size=3000)}, format="multipart")
    assert response.status_code == 400 and "limit" in response.json()["file"][0]
    assert Lesson.objects.filter(course=world.course).count() == 2
    assert Course.objects.count() == 1


def test_admin_list_is_scoped_and_flat(world, django_assert_max_num_queries):
    client = api_for(world.unit_admin)
    make_course(owner_unit=world.district_b, title="别区的课")
    for n in (3, 12):
        for _ in range(n):
            c = make_course(owner_unit=world.district_a, category=CategoryFactory(name="党性教育"))
            c.tags.add(*[])
        with django_assert_max_num_queries(6):
            body = client.get(f"{API}/manage/courses/").json()
    assert body["count"] == 16 and "别区的课" not in [c["title"] for c in body["results"]]


def test_a_manager_cannot_manage_and_a_learner_cannot_list(world):
    assert api_for(world.manager).get(f"{API}/manage/courses/{world.course.pk}/").status_code == 403
    assert api_for(world.learner).get(f"{API}/manage/courses/").status_code == 403


def test_bulk_status_with_unknown_course_changes_nothing(admin_api, world):
    response = admin_api.post(f"{API}/manage/courses/status/",
                              {"action": "offline", "courses": [world.course.pk, 999999]}, format="json")
    assert response.status_code == 404
    assert Course.objects.get(pk=world.course.pk).status == "online"


def test_scheduling_via_the_api(admin_api, world):
    at = (timezone.now() + dt.timedelta(days=1)).isoformat()
    response = admin_api.post(f"{API}/manage/courses/status/",
                              {"action": "offline", "courses": [world.course.pk], "at": at}, format="json")
    assert response.json() == {"changed": 1}
    assert Course.objects.get(pk=world.course.pk).scheduled_offline_at is not None


def test_audiences_and_pushes(admin_api, world, django_capture_on_commit_callbacks):
    url = f"{API}/manage/courses/{world.course.pk}/audiences/"
    response = admin_api.post(url, {"kind": "required", "cadre_level": world.ke.pk,
                                    "deadline": (timezone.localdate() + dt.timedelta(days=5)).isoformat()}, format="json")
    assert response.status_code == 201
    assert admin_api.post(url, {"kind": "required", "unit": world.district_b.pk}, format="json").status_code == 404
    assert len(admin_api.get(url).json()) == 1
    audience_id = CourseAudience.objects.get().pk
    assert admin_api.delete(f"{API}/manage/audiences/{audience_id}/").status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(f"{API}/manage/courses/{world.course.pk}/push/",
                                  {"message": "重点课程", "cadre_levels": [world.ke.pk]}, format="json")
    assert response.status_code == 201
    assert CoursePush.objects.get().status == "sent"
    assert admin_api.get(f"{API}/manage/pushes/").json()["count"] == 1
    response = admin_api.post(f"{API}/manage/courses/{world.course.pk}/push/", {"units": [world.district_b.pk]}, format="json")
    assert response.status_code == 400 and "units" in response.json()


def test_dynamic_figures_and_bad_periods(admin_api, world):
    body = admin_api.get(f"{API}/dynamic/").json()
    assert {"period", "ranking", "offline_candidates", "promote_candidates", "lifecycle", "demand"} <= set(body)
    assert body["ranking"][0]["id"] == world.course.pk
    response = admin_api.get(f"{API}/dynamic/", {"start": "2025-05-01", "end": "2025-04-01"})
    assert response.status_code == 400 and "start" in response.json()
    assert api_for(world.learner).get(f"{API}/dynamic/").status_code == 403


def test_the_schema_documents_the_courses_api(world):
    response = api_for(world.sysadmin).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/courses/lessons/{id}/heartbeat/" in response.content
