"""The org REST API: /me, units, people, cadre levels, inbox, feedback, bad input, schema."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.utils import timezone, translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from org.models import CadreLevel, Feedback, Notification, Role
from tests.factories import (
    CadreLevelFactory,
    FeedbackFactory,
    NotificationFactory,
    OrgTree,
    OrgUnitFactory,
    RoleGrantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
UNITS = "/api/v1/org/units/"
PEOPLE = "/api/v1/org/people/"
LEVELS = "/api/v1/org/cadre-levels/"
NOTICES = "/api/v1/notifications/"
FEEDBACK = "/api/v1/feedback/"


@pytest.fixture
def tree() -> OrgTree:
    return OrgTree()


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def admin_of(unit, role: str = Role.UNIT_ADMIN, **fields):
    person = UserFactory(unit=unit, **fields)
    RoleGrantFactory(user=person, unit=unit, role=role)
    return person


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def codes(response) -> list[str]:
    return [row["code"] for row in rows(response)]


def numbers(response) -> list[str]:
    return [row["employee_no"] for row in rows(response)]


# --- /me ------------------------------------------------------------------------------------


@pytest.mark.zh
def test_me_describes_the_caller_their_unit_roles_and_unread_count(tree):
    level = CadreLevelFactory(code="KJ", name="科级")
    me = UserFactory(unit=tree.township_a1, cadre_level=level, name="王芳", employee_no="A1001")
    RoleGrantFactory(user=me, unit=tree.district_a, role=Role.CLASS_TEACHER)
    NotificationFactory(recipient=me)
    NotificationFactory(recipient=me, read_at=timezone.now())
    NotificationFactory(recipient=tree.people["TA1"])

    body = client_for(me).get(ME).json()

    with translation.override("zh-hans"):
        class_teacher_label = str(Role.CLASS_TEACHER.label)
    assert body == {
        "id": me.pk,
        "employee_no": "A1001",
        "name": "王芳",
        "unit": {
            "id": tree.township_a1.pk,
            "code": "TA1",
            "name": "东一街道",
            "full_name": "示范市/东区/东一街道",
        },
        "cadre_level": {"id": level.pk, "code": "KJ", "name": "科级"},
        "roles": [
            {
                "role": "class_teacher",
                "label": class_teacher_label,
                "unit": {"id": tree.district_a.pk, "code": "DA", "name": "东区"},
            }
        ],
        "is_system_admin": False,
        "unread_notifications": 1,
    }


def test_me_of_a_system_admin_without_unit_has_null_unit_and_no_roles():
    root = UserFactory(unit=None, is_superuser=True)
    body = client_for(root).get(ME).json()
    assert body["unit"] is None
    assert body["cadre_level"] is None
    assert body["roles"] == []
    assert body["is_system_admin"] is True


def test_token_authentication_works_for_me(tree):
    person = tree.people["TA2"]
    token = Token.objects.create(user=person)
    client = APIClient()

    response = client.get(ME, HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 200
    assert response.json()["employee_no"] == person.employee_no


def test_a_wrong_token_is_refused_with_json(tree):
    response = APIClient().get(ME, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]


@pytest.mark.parametrize("url", [ME, UNITS, PEOPLE, LEVELS, NOTICES, FEEDBACK, f"{NOTICES}read/"])
def test_unauthenticated_callers_get_a_json_refusal(url):
    client = APIClient()
    response = client.post(url, {}, format="json") if url.endswith("read/") else client.get(url)
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]


def test_session_authenticated_writes_need_the_csrf_token(tree):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(tree.people["TA2"])
    payload = {"kind": "question", "subject": "s", "body": "b"}

    response = client.post(FEEDBACK, payload, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Feedback.objects.exists()


def test_token_authenticated_writes_need_no_csrf_token(tree):
    token = Token.objects.create(user=tree.people["TA2"])
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(
        FEEDBACK,
        {"kind": "question", "subject": "s", "body": "b"},
        format="json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 201
    assert Feedback.objects.get().author == tree.people["TA2"]


def test_an_inactive_persons_token_is_refused(tree):
    person = tree.people["TA2"]
    token = Token.objects.create(user=person)
    person.is_active = False
    person.save()
    response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code in (401, 403)


# --- Units -----------------------------------------------------------------------------------


def test_units_list_the_grant_subtree_in_tree_order_with_parent_depth_and_full_name(tree):
    admin = admin_of(tree.district_a)
    UserFactory(unit=tree.township_a2)
    UserFactory(unit=tree.township_a2, is_active=False)

    results = rows(client_for(admin).get(UNITS))

    assert [r["code"] for r in results] == ["DA", "TA1", "TA2"]
    ta2 = results[2]
    assert ta2 == {
        "id": tree.township_a2.pk,
        "code": "TA2",
        "name": "东二街道",
        "kind": "",
        "parent": tree.district_a.pk,
        "depth": 3,
        "full_name": "示范市/东区/东二街道",
        "is_active": True,
        # The fixture's learner and one more active person; the inactive one is not counted.
        "member_count": 2,
    }
    assert results[0]["parent"] == tree.city.pk


def test_units_can_be_filtered_by_code_name_parent_subtree_and_active(tree):
    admin = UserFactory(unit=tree.city, is_superuser=True)
    tree.township_b1.is_active = False
    tree.township_b1.save()
    client = client_for(admin)

    assert codes(client.get(UNITS, {"code": "TA2"})) == ["TA2"]
    assert codes(client.get(UNITS, {"name": "东"})) == ["DA", "TA1", "TA2"]
    assert codes(client.get(UNITS, {"parent": tree.city.pk})) == ["DA", "DB"]
    assert codes(client.get(UNITS, {"within": tree.district_b.pk})) == ["DB", "TB1"]
    assert codes(client.get(UNITS, {"active": "false"})) == ["TB1"]
    assert codes(client.get(UNITS, {"search": "西一"})) == ["TB1"]
    assert codes(client.get(UNITS, {"ordering": "-code"}))[:2] == ["TB1", "TA2"]


def test_unit_filters_refuse_a_unit_outside_the_scope_like_a_missing_one(tree):
    admin = admin_of(tree.district_a)
    client = client_for(admin)

    outside = client.get(UNITS, {"within": tree.district_b.pk})
    missing = client.get(UNITS, {"within": 999_999})

    assert outside.status_code == missing.status_code == 400
    assert "within" in outside.json()
    assert outside.json()["within"] == missing.json()["within"]


def test_unit_filter_with_a_non_numeric_id_is_a_400_naming_the_filter(tree):
    admin = admin_of(tree.district_a)
    response = client_for(admin).get(UNITS, {"parent": "abc"})
    assert response.status_code == 400
    assert "parent" in response.json()


def test_unit_detail_has_the_same_shape_as_the_list(tree):
    admin = admin_of(tree.district_a)
    body = client_for(admin).get(f"{UNITS}{tree.township_a1.pk}/").json()
    assert body["full_name"] == "示范市/东区/东一街道"
    assert body["parent"] == tree.district_a.pk
    assert body["member_count"] == 1


def test_a_learner_sees_only_their_own_unit(tree):
    learner = tree.people["TA1"]
    client = client_for(learner)
    assert codes(client.get(UNITS)) == ["TA1"]
    assert client.get(f"{UNITS}{tree.district_a.pk}/").status_code == 404


# --- People ------------------------------------------------------------------------------------


def test_people_list_is_scoped_and_filterable_by_unit_subtree_level_active_and_search(tree):
    admin = admin_of(tree.district_a, employee_no="ADM-A")
    level = CadreLevelFactory(code="CJ", name="处级")
    UserFactory(unit=tree.township_a2, employee_no="X-1", name="李雷", cadre_level=level)
    UserFactory(unit=tree.township_a1, employee_no="X-2", name="韩梅梅", is_active=False)
    client = client_for(admin)

    assert sorted(numbers(client.get(PEOPLE))) == ["ADM-A", "P-DA", "P-TA1", "P-TA2", "X-1", "X-2"]
    assert sorted(numbers(client.get(PEOPLE, {"unit": tree.township_a2.pk}))) == ["P-TA2", "X-1"]
    assert numbers(client.get(PEOPLE, {"cadre_level": level.pk})) == ["X-1"]
    assert numbers(client.get(PEOPLE, {"active": "false"})) == ["X-2"]
    assert numbers(client.get(PEOPLE, {"search": "韩梅"})) == ["X-2"]
    assert numbers(client.get(PEOPLE, {"search": "x-1"})) == ["X-1"]
    assert client.get(PEOPLE, {"unit": tree.township_b1.pk}).status_code == 400
    assert client.get(PEOPLE, {"cadre_level": 999_999}).status_code == 400


def test_person_items_carry_unit_full_name_and_cadre_level(tree):
    admin = admin_of(tree.district_a)
    level = CadreLevelFactory(code="KJ", name="科级")
    person = UserFactory(unit=tree.township_a2, cadre_level=level, gender="F")

    body = client_for(admin).get(f"{PEOPLE}{person.pk}/").json()

    assert body["unit"] == {
        "id": tree.township_a2.pk,
        "code": "TA2",
        "name": "东二街道",
        "full_name": "示范市/东区/东二街道",
    }
    assert body["cadre_level"] == {"id": level.pk, "code": "KJ", "name": "科级"}
    assert body["gender"] == "F"
    assert "password" not in body
    assert "is_superuser" not in body


@pytest.mark.parametrize(
    ("role", "sees_details"),
    [(Role.UNIT_ADMIN, True), (Role.MANAGER, True), (Role.CLASS_TEACHER, False)],
)
def test_personal_details_are_shown_to_admins_and_managers_but_not_class_teachers(
    tree, role, sees_details
):
    viewer = admin_of(tree.district_a, role=role)
    person = UserFactory(
        unit=tree.township_a2,
        phone="13800000000",
        email="li@example.gov.cn",
        birth_date=dt.date(1985, 6, 1),
    )

    body = client_for(viewer).get(f"{PEOPLE}{person.pk}/").json()
    listed = next(r for r in rows(client_for(viewer).get(PEOPLE)) if r["id"] == person.pk)

    expected = (
        {"phone": "13800000000", "email": "li@example.gov.cn", "birth_date": "1985-06-01"}
        if sees_details
        else {"phone": None, "email": None, "birth_date": None}
    )
    for item in (body, listed):
        assert {k: item[k] for k in expected} == expected


def test_a_learner_sees_their_own_personal_details_and_nobody_else(tree):
    me = UserFactory(unit=tree.township_a1, phone="13900000000", birth_date=dt.date(1990, 1, 2))
    results = rows(client_for(me).get(PEOPLE))
    assert [r["id"] for r in results] == [me.pk]
    assert results[0]["phone"] == "13900000000"
    assert results[0]["birth_date"] == "1990-01-02"


# --- Cadre levels -------------------------------------------------------------------------------


def test_everyone_reads_cadre_levels_in_order(tree):
    CadreLevelFactory(code="YB", name="一般干部", sort_order=3)
    CadreLevelFactory(code="CJ", name="处级", sort_order=1)
    names = [r["name"] for r in rows(client_for(tree.people["TA1"]).get(LEVELS))]
    assert names == ["处级", "一般干部"]


def test_a_system_admin_creates_and_changes_cadre_levels():
    root = UserFactory(is_superuser=True)
    client = client_for(root)

    created = client.post(LEVELS, {"code": "KJ", "name": "科级", "sort_order": 2}, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert CadreLevel.objects.get(pk=pk).name == "科级"

    patched = client.patch(f"{LEVELS}{pk}/", {"name": "科级干部"}, format="json")
    assert patched.status_code == 200
    assert patched.json() == {"id": pk, "code": "KJ", "name": "科级干部", "sort_order": 2}

    put = client.put(f"{LEVELS}{pk}/", {"code": "K", "name": "科级"}, format="json")
    assert put.status_code == 200
    level = CadreLevel.objects.get(pk=pk)
    assert (level.code, level.name, level.sort_order) == ("K", "科级", 0)


@pytest.mark.parametrize("role", [None, Role.UNIT_ADMIN, Role.MANAGER, Role.CLASS_TEACHER])
def test_only_system_admins_write_cadre_levels(tree, role):
    person = admin_of(tree.city, role=role) if role else tree.people["TA1"]
    level = CadreLevelFactory(code="KJ", name="科级")
    client = client_for(person)

    created = client.post(LEVELS, {"code": "CJ", "name": "处级"}, format="json")
    changed = client.patch(f"{LEVELS}{level.pk}/", {"name": "改"}, format="json")

    assert created.status_code == changed.status_code == 403
    assert created.json()["detail"]
    assert list(CadreLevel.objects.values_list("name", flat=True)) == ["科级"]


def test_a_duplicate_cadre_level_is_a_400_naming_the_field_and_changes_nothing():
    root = UserFactory(is_superuser=True)
    CadreLevelFactory(code="KJ", name="科级")
    response = client_for(root).post(LEVELS, {"code": "KJ", "name": "新"}, format="json")
    assert response.status_code == 400
    assert "KJ" in response.json()["code"][0]
    assert CadreLevel.objects.count() == 1


def test_cadre_levels_cannot_be_deleted_through_the_api():
    root = UserFactory(is_superuser=True)
    level = CadreLevelFactory()
    assert client_for(root).delete(f"{LEVELS}{level.pk}/").status_code == 405
    assert CadreLevel.objects.filter(pk=level.pk).exists()


# --- Notifications ---------------------------------------------------------------------------------


def test_the_inbox_lists_only_my_notices_newest_first_and_filters_unread(tree):
    me = tree.people["TA1"]
    now = timezone.now()
    old = NotificationFactory(recipient=me, title="旧", created_at=now - dt.timedelta(days=2))
    new = NotificationFactory(recipient=me, title="新", created_at=now)
    read = NotificationFactory(
        recipient=me, title="已读", created_at=now - dt.timedelta(days=1), read_at=now
    )
    NotificationFactory(recipient=tree.people["TA2"], title="别人的")
    client = client_for(me)

    assert [r["title"] for r in rows(client.get(NOTICES))] == ["新", "已读", "旧"]
    assert [r["id"] for r in rows(client.get(NOTICES, {"unread": "true"}))] == [new.pk, old.pk]
    assert [r["id"] for r in rows(client.get(NOTICES, {"unread": "false"}))] == [read.pk]
    item = rows(client.get(NOTICES))[0]
    assert set(item) == {"id", "kind", "title", "body", "link", "created_at", "read_at"}
    assert item["created_at"].endswith("+08:00")


def test_marking_some_notices_read_leaves_the_others_and_other_peoples(tree):
    me = tree.people["TA1"]
    a, b, c = (NotificationFactory(recipient=me) for _ in range(3))
    theirs = NotificationFactory(recipient=tree.people["TA2"])
    client = client_for(me)

    response = client.post(f"{NOTICES}read/", {"ids": [a.pk, b.pk, theirs.pk]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"marked": 2, "unread_notifications": 1}
    assert set(Notification.objects.filter(read_at__isnull=False).values_list("pk", flat=True)) == {
        a.pk,
        b.pk,
    }
    theirs.refresh_from_db()
    c.refresh_from_db()
    assert theirs.read_at is None and c.read_at is None


def test_marking_with_an_empty_object_marks_every_notice_read(tree):
    me = tree.people["TA1"]
    for _ in range(3):
        NotificationFactory(recipient=me)
    response = client_for(me).post(f"{NOTICES}read/", {}, format="json")
    assert response.json() == {"marked": 3, "unread_notifications": 0}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"ids": "1,2"}, "ids"),
        ({"ids": ["x"]}, "ids"),
        ({"ids": [0]}, "ids"),
        ({"ids": [10**30]}, "ids"),
        ({"ids": list(range(1, 1002))}, "ids"),
        ({"ids": None}, "ids"),
        ({"all": True}, "all"),
    ],
)
def test_bad_mark_read_input_is_a_400_naming_the_field_and_marks_nothing(tree, payload, field):
    me = tree.people["TA1"]
    NotificationFactory(recipient=me)
    response = client_for(me).post(f"{NOTICES}read/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert field in body
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


# --- Feedback -------------------------------------------------------------------------------------


def test_sending_feedback_creates_it_and_notifies_the_admins_of_the_unit(tree):
    author = tree.people["TA2"]
    district_admin = admin_of(tree.district_a)
    other_admin = admin_of(tree.district_b)

    response = client_for(author).post(
        FEEDBACK,
        {"kind": "suggestion", "subject": "增加法制课程", "body": "希望每月一次。"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "open"
    assert body["author"] == {"id": author.pk, "employee_no": "P-TA2", "name": author.name}
    assert body["unit"]["code"] == "TA2"
    assert body["replied_by"] is None
    feedback = Feedback.objects.get(pk=body["id"])
    assert feedback.subject == "增加法制课程"
    assert Notification.objects.filter(recipient=district_admin, kind="feedback").count() == 1
    assert not Notification.objects.filter(recipient=other_admin).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "rant", "subject": "s", "body": "b"}, "kind"),
        ({"kind": "suggestion", "subject": "", "body": "b"}, "subject"),
        ({"kind": "suggestion", "subject": "   ", "body": "b"}, "subject"),
        ({"kind": "suggestion", "subject": "x" * 201, "body": "b"}, "subject"),
        ({"kind": "suggestion", "subject": "s", "body": "x" * 5001}, "body"),
        ({"kind": "suggestion", "subject": "s"}, "body"),
        ({"kind": "suggestion", "subject": ["s"], "body": "b"}, "subject"),
        ({"kind": "suggestion", "subject": "s", "body": "b", "status": "answered"}, "status"),
        ({"kind": "suggestion", "subject": "s", "body": "b", "author": 1}, "author"),
    ],
)
def test_bad_feedback_is_a_400_naming_the_field_and_creates_nothing(tree, payload, field):
    response = client_for(tree.people["TA2"]).post(FEEDBACK, payload, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert response.json()["detail"]
    assert not Feedback.objects.exists()
    assert not Notification.objects.exists()


def test_feedback_from_someone_without_a_unit_is_refused_with_a_message():
    response = client_for(UserFactory(unit=None)).post(
        FEEDBACK, {"kind": "question", "subject": "s", "body": "b"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["author"]
    assert not Feedback.objects.exists()


def test_an_admin_of_the_unit_answers_feedback_and_the_author_is_told(tree):
    author = tree.people["TA2"]
    feedback = FeedbackFactory(author=author)
    admin = admin_of(tree.district_a, name="赵主任")

    response = client_for(admin).post(
        f"{FEEDBACK}{feedback.pk}/reply/", {"reply": "已安排。"}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "answered"
    assert body["reply"] == "已安排。"
    assert body["replied_by"]["name"] == "赵主任"
    feedback.refresh_from_db()
    assert feedback.status == Feedback.Status.ANSWERED
    assert Notification.objects.filter(recipient=author, kind="feedback").count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "reply"),
        ({"reply": "  "}, "reply"),
        ({"reply": 5}, None),
        ({"reply": "ok", "x": 1}, "x"),
    ],
)
def test_a_bad_reply_is_a_400_and_changes_nothing(tree, payload, field):
    feedback = FeedbackFactory(author=tree.people["TA2"])
    admin = admin_of(tree.district_a)
    response = client_for(admin).post(f"{FEEDBACK}{feedback.pk}/reply/", payload, format="json")
    if field is None:
        # A number is coerced to the string "5" by DRF, which is a valid (if terse) reply.
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert field in response.json()
    feedback.refresh_from_db()
    assert feedback.status == Feedback.Status.OPEN and feedback.reply == ""


def test_the_author_cannot_answer_their_own_feedback(tree):
    author = tree.people["TA2"]
    feedback = FeedbackFactory(author=author)
    response = client_for(author).post(
        f"{FEEDBACK}{feedback.pk}/reply/", {"reply": "自问自答"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["detail"]
    feedback.refresh_from_db()
    assert feedback.status == Feedback.Status.OPEN


def test_feedback_list_filters_by_status_kind_and_unit(tree):
    admin = admin_of(tree.city)
    open_a = FeedbackFactory(author=tree.people["TA1"], kind="complaint")
    answered = FeedbackFactory(
        author=tree.people["TB1"],
        status="answered",
        reply="好",
        replied_at=timezone.now(),
    )
    client = client_for(admin)

    assert [r["id"] for r in rows(client.get(FEEDBACK, {"status": "open"}))] == [open_a.pk]
    assert [r["id"] for r in rows(client.get(FEEDBACK, {"status": "answered"}))] == [answered.pk]
    assert [r["id"] for r in rows(client.get(FEEDBACK, {"kind": "complaint"}))] == [open_a.pk]
    assert [r["id"] for r in rows(client.get(FEEDBACK, {"unit": tree.district_b.pk}))] == [
        answered.pk
    ]
    assert client.get(FEEDBACK, {"status": "closed"}).status_code == 400


# --- Bad input in general -----------------------------------------------------------------------


def test_malformed_json_is_a_400_with_a_message(tree):
    client = client_for(tree.people["TA1"])
    response = client.post(FEEDBACK, data='{"kind": "suggestion",', content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]
    assert not Feedback.objects.exists()


def test_a_json_array_instead_of_an_object_is_a_400(tree):
    client = client_for(tree.people["TA1"])
    response = client.post(FEEDBACK, data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"]


def test_an_oversize_body_is_a_413_with_a_json_message(tree, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = client_for(tree.people["TA1"])
    payload = json.dumps({"kind": "suggestion", "subject": "s", "body": "字" * 20_000})
    response = client.post(FEEDBACK, data=payload, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["detail"]
    assert not Feedback.objects.exists()


def test_an_unsupported_media_type_is_a_415_with_a_message(tree):
    client = client_for(tree.people["TA1"])
    response = client.post(FEEDBACK, data="kind=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["detail"]


def test_a_non_numeric_id_in_the_path_is_a_404_not_a_500(tree):
    client = client_for(tree.people["TA1"])
    assert client.get(f"{PEOPLE}abc/").status_code == 404
    assert client.get(f"{FEEDBACK}99999999999999999999999/").status_code == 404


def test_an_unknown_ordering_field_is_ignored_and_a_bad_page_is_a_404(tree):
    client = client_for(UserFactory(is_superuser=True, unit=tree.city))
    assert client.get(PEOPLE, {"ordering": "password"}).status_code == 200
    assert client.get(PEOPLE, {"page": 999}).status_code == 404


# --- Schema and docs ------------------------------------------------------------------------------


def test_the_openapi_schema_is_served_and_lists_the_org_endpoints(client):
    UserFactory(employee_no="S1")
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for path in (
        "/api/v1/me/",
        "/api/v1/org/units/",
        "/api/v1/org/units/{id}/",
        "/api/v1/org/people/",
        "/api/v1/org/cadre-levels/",
        "/api/v1/notifications/",
        "/api/v1/notifications/read/",
        "/api/v1/feedback/",
        "/api/v1/feedback/{id}/reply/",
    ):
        assert path in paths, path
    params = {p["name"]: p for p in paths["/api/v1/org/units/"]["get"]["parameters"]}
    assert params["within"]["schema"]["type"] == "integer"
    assert params["within"]["description"]


def test_the_org_schema_validates_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    from org.api import urls as org_api_urls

    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=org_api_urls.urlpatterns)
    schema = generator.get_schema(request=None, public=True)
    validate_schema(schema)
    # Truthy when the generator warned or erred; the caches name what it complained about.
    assert not GENERATOR_STATS, [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]


@pytest.mark.parametrize(
    ("url", "marker"), [("/api/docs/", "swagger-ui"), ("/api/redoc/", "redoc")]
)
def test_the_api_docs_pages_load_only_local_assets(client, url, marker):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert [s for s in sources if marker in s], "the page should load its own bundle"
    assert all(s.startswith("/static/") for s in sources), sources
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", html)
    if marker == "swagger-ui":
        # Swagger UI's default would fetch a badge from validator.swagger.io.
        assert '"validatorUrl": null' in html


# --- Query counts (no N+1) -------------------------------------------------------------------


def _query_count(assert_max, client, url, limit=20) -> int:
    with assert_max(limit) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def _grow_units(parent, n):
    for _ in range(n):
        unit = OrgUnitFactory(parent=parent)
        UserFactory(unit=unit)


@pytest.mark.parametrize(
    ("url", "grow"),
    [
        (UNITS, lambda tree, admin, n: _grow_units(tree.township_a2, n)),
        (
            PEOPLE,
            lambda tree, admin, n: [
                UserFactory(
                    unit=OrgUnitFactory(parent=tree.township_a2), cadre_level=CadreLevelFactory()
                )
                for _ in range(n)
            ],
        ),
        (LEVELS, lambda tree, admin, n: [CadreLevelFactory() for _ in range(n)]),
        (NOTICES, lambda tree, admin, n: [NotificationFactory(recipient=admin) for _ in range(n)]),
        (
            FEEDBACK,
            lambda tree, admin, n: [
                FeedbackFactory(
                    author=UserFactory(unit=tree.township_a2),
                    status="answered",
                    reply="好",
                    replied_by=admin,
                    replied_at=timezone.now(),
                )
                for _ in range(n)
            ],
        ),
    ],
    ids=["units", "people", "cadre-levels", "notifications", "feedback"],
)
def test_list_endpoints_use_the_same_number_of_queries_for_3_and_30_rows(
    tree, django_assert_max_num_queries, url, grow
):
    admin = admin_of(tree.district_a)
    client = client_for(admin)
    grow(tree, admin, 3)
    small = _query_count(django_assert_max_num_queries, client, url)
    grow(tree, admin, 27)
    assert len(rows(client.get(url))) >= 30
    large = _query_count(django_assert_max_num_queries, client, url, limit=small)
    assert large == small
