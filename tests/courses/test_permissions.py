"""Permission matrix: role × inside / outside the course owner's subtree, for every page and
endpoint kind. Out-of-scope courses are 404 and never appear in lists."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from courses import services
from tests.courses.factories import pdf_upload

pytestmark = pytest.mark.django_db

INSIDE = ["learner", "unit_admin", "manager", "class_teacher", "sysadmin"]
OUTSIDE = ["outsider", "admin_b", "manager_b", "teacher_b"]
ROLES = INSIDE + OUTSIDE

# role → expected status for the pages of the course owned by district A.
SEE = {role: 200 for role in INSIDE} | {role: 404 for role in OUTSIDE}
MANAGE = {
    "unit_admin": 200, "sysadmin": 200,
    "manager": 403, "class_teacher": 403, "learner": 403, "outsider": 403,  # may not manage anything
    "admin_b": 404, "manager_b": 403, "teacher_b": 403,  # admin_b manages courses, not this one
}
FOLLOW = {"unit_admin": 200, "manager": 200, "class_teacher": 200, "sysadmin": 200, "learner": 403,
          "outsider": 404, "admin_b": 404, "manager_b": 404, "teacher_b": 404}
ANALYSE = {"unit_admin": True, "manager": True, "class_teacher": True, "sysadmin": True,
           "admin_b": False, "manager_b": False, "teacher_b": False}


@pytest.fixture
def lesson_file(world):
    return services.lesson_add(actor=world.unit_admin, course=world.course, title="讲义", kind="document",
                               duration_seconds=60, upload=pdf_upload())


def page_client(client, world, role):
    client.force_login(getattr(world, role))
    return client


def api_client(world, role) -> APIClient:
    client = APIClient()
    client.force_authenticate(getattr(world, role))
    return client


@pytest.mark.parametrize("role", ROLES)
def test_course_page_and_api_detail(client, world, role):
    assert page_client(client, world, role).get(reverse("courses:course_detail", args=[world.course.pk])).status_code == SEE[role]
    assert api_client(world, role).get(f"/api/v1/courses/courses/{world.course.pk}/").status_code == SEE[role]


@pytest.mark.parametrize("role", ROLES)
def test_catalog_lists_the_course_only_inside(client, world, role):
    html = page_client(client, world, role).get(reverse("courses:catalog")).content.decode()
    assert (world.course.title in html) == (role in INSIDE)
    rows = api_client(world, role).get("/api/v1/courses/courses/").json()["results"]
    assert (world.course.pk in [r["id"] for r in rows]) == (role in INSIDE)


@pytest.mark.parametrize("role", ROLES)
def test_lesson_file(client, world, role, lesson_file):
    url = reverse("courses:lesson_file", args=[world.course.pk, lesson_file.pk])
    assert page_client(client, world, role).get(url).status_code == SEE[role]


@pytest.mark.parametrize("role", ROLES)
def test_learner_commands_outside_scope_are_404(world, role):
    api = api_client(world, role)
    expected = 404 if role in OUTSIDE else 200
    assert api.post(f"/api/v1/courses/courses/{world.course.pk}/like/").status_code == expected
    if role in OUTSIDE:
        assert api.post(f"/api/v1/courses/courses/{world.course.pk}/enrol/").status_code == 404
        assert api.post(f"/api/v1/courses/lessons/{world.lessons[0].pk}/start/").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_manage_pages(client, world, role):
    c = page_client(client, world, role)
    assert c.get(reverse("courses:course_edit", args=[world.course.pk])).status_code == MANAGE[role]
    assert c.get(reverse("courses:manage_lessons", args=[world.course.pk])).status_code == MANAGE[role]
    assert c.get(reverse("courses:course_audience", args=[world.course.pk])).status_code == MANAGE[role]
    assert c.get(reverse("courses:course_push", args=[world.course.pk])).status_code == MANAGE[role]
    response = c.post(reverse("courses:course_status", args=[world.course.pk]), {"action": "offline"})
    assert response.status_code == (302 if MANAGE[role] == 200 else MANAGE[role])
    world.course.refresh_from_db()
    assert (world.course.status == "offline") == (MANAGE[role] == 200)


@pytest.mark.parametrize("role", ROLES)
def test_manage_api(world, role):
    api = api_client(world, role)
    status = api.get(f"/api/v1/courses/manage/courses/{world.course.pk}/").status_code
    expected = {200: 200, 403: 403, 404: 404}[MANAGE[role]]
    if role in ("manager", "class_teacher", "learner"):
        expected = 403  # they see the course but may not manage it
    if role in ("outsider", "manager_b", "teacher_b"):
        expected = 404  # they cannot even see it
    assert status == expected
    listing = api.get("/api/v1/courses/manage/courses/")
    if role in ("unit_admin", "sysadmin", "admin_b"):
        ids = [c["id"] for c in listing.json()["results"]]
        assert (world.course.pk in ids) == (role != "admin_b")
    else:
        assert listing.status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_learners_page_and_api(client, world, role):
    assert page_client(client, world, role).get(reverse("courses:learners", args=[world.course.pk])).status_code == FOLLOW[role]
    expected = FOLLOW[role]
    assert api_client(world, role).get(f"/api/v1/courses/courses/{world.course.pk}/learners/").status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_dynamic_management_shows_only_courses_in_scope(client, world, role):
    api = api_client(world, role)
    response = api.get("/api/v1/courses/dynamic/")
    page = page_client(client, world, role).get(reverse("courses:dynamic"))
    if role in ("learner", "outsider"):
        assert response.status_code == 403 and page.status_code == 403
        return
    ids = [c["id"] for c in response.json()["ranking"]]
    assert (world.course.pk in ids) == ANALYSE[role]
    assert (world.course.title in page.content.decode()) == ANALYSE[role]


@pytest.mark.parametrize("role", ROLES)
def test_learners_never_see_other_units_people(world, role):
    """The learners list of an organisation-wide course only shows people in the caller's scope."""
    from tests.courses.factories import make_course, require

    course = make_course(owner_unit=None)
    require(course)
    response = api_client(world, role).get(f"/api/v1/courses/courses/{course.pk}/learners/")
    if role in ("learner", "outsider"):
        assert response.status_code == 403
        return
    names = {p["name"] for p in response.json()["results"]}
    if role == "sysadmin":
        assert {world.learner.name, world.outsider.name} <= names
    elif role in INSIDE:
        assert world.learner.name in names and world.outsider.name not in names
    else:
        assert world.outsider.name in names and world.learner.name not in names
