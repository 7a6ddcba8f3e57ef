"""The pages every person uses: home, units, people, a person, notifications, feedback."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from org.models import Feedback, Notification, Role
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


@pytest.fixture
def tree() -> OrgTree:
    return OrgTree()


def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin_of(unit, role: str = Role.UNIT_ADMIN, **fields):
    person = UserFactory(unit=unit, **fields)
    RoleGrantFactory(user=person, unit=unit, role=role)
    return person


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- Home ------------------------------------------------------------------------------------


def test_home_shows_a_learner_their_name_unit_level_and_latest_notices(tree):
    level = CadreLevelFactory(name="科级")
    me = UserFactory(unit=tree.township_a1, name="王芳", employee_no="A1001", cadre_level=level)
    NotificationFactory(recipient=me, title="明天下午微课堂", link="/feedback/")

    response = web(me).get("/")
    page = text(response)

    assert "王芳" in page
    assert "示范市/东区/东一街道" in page
    assert "科级" in page
    assert "明天下午微课堂" in page
    assert 'href="/feedback/new/"' in page
    # A learner has no scope summary and no organisation menu.
    assert response.context["admin_summary"] is None
    assert 'href="/org/people/"' not in page


def test_home_shows_an_admin_the_counts_of_their_scope(tree):
    admin = admin_of(tree.district_a)
    FeedbackFactory(author=tree.people["TA2"])
    FeedbackFactory(author=tree.people["TB1"])  # outside district A

    response = web(admin).get("/")

    summary = response.context["admin_summary"]
    assert (summary.units, summary.people, summary.open_feedback) == (3, 4, 1)
    assert 'href="/org/people/"' in text(response)
    assert 'href="/org/roster-import/"' in text(response)


def test_home_shows_the_unread_count_in_the_bell(tree):
    me = tree.people["TA1"]
    NotificationFactory(recipient=me)
    NotificationFactory(recipient=me)
    NotificationFactory(recipient=me, read_at=timezone.now())
    page = text(web(me).get("/"))
    assert (
        '<span class="position-absolute top-0 start-100 translate-middle badge rounded-pill bg-danger" data-testid="unread-count">2</span>'
        in page
    )


# --- Units ---------------------------------------------------------------------------------------


def test_unit_list_shows_the_scope_in_tree_order_with_active_member_counts(tree):
    admin = admin_of(tree.district_a)
    UserFactory(unit=tree.township_a2, is_active=False)

    response = web(admin).get("/org/units/")

    rows = response.context["rows"]
    assert [r["unit"].code for r in rows] == ["DA", "TA1", "TA2"]
    assert [r["indent"] for r in rows] == [0, 1, 1]
    assert [r["unit"].member_count for r in rows] == [2, 1, 1]  # the admin works in DA
    assert rows[2]["full_name"] == "示范市/东区/东二街道"
    page = text(response)
    assert f'href="/org/people/?unit={tree.township_a2.pk}"' in page
    assert "西区" not in page


# --- People --------------------------------------------------------------------------------------


def test_people_list_searches_by_name_or_number_and_filters_by_unit_and_status(tree):
    admin = admin_of(tree.district_a, employee_no="ADM")
    UserFactory(unit=tree.township_a2, name="李雷", employee_no="X-1")
    UserFactory(unit=tree.township_a1, name="韩梅梅", employee_no="X-2", is_active=False)
    client = web(admin)

    def listed(**params) -> list[str]:
        response = client.get("/org/people/", params)
        assert response.status_code == 200
        return sorted(p.employee_no for p in response.context["page"])

    assert listed() == ["ADM", "P-DA", "P-TA1", "P-TA2", "X-1", "X-2"]
    assert listed(q="李") == ["X-1"]
    assert listed(q="x-2") == ["X-2"]
    assert listed(unit=tree.township_a2.pk) == ["P-TA2", "X-1"]
    assert listed(active="0") == ["X-2"]
    assert listed(active="1", unit=tree.township_a1.pk) == ["P-TA1"]


def test_people_list_shows_each_persons_unit_full_name(tree):
    admin = admin_of(tree.district_a)
    page = text(web(admin).get("/org/people/", {"unit": tree.township_a2.pk}))
    assert "示范市/东区/东二街道" in page
    assert "<code>P-TA2</code>" in page


def test_people_list_for_a_unit_outside_the_scope_or_missing_is_404(tree):
    admin = admin_of(tree.district_a)
    client = web(admin)
    assert client.get("/org/people/", {"unit": tree.township_b1.pk}).status_code == 404
    assert client.get("/org/people/", {"unit": 999_999}).status_code == 404


def test_people_list_paginates_by_50(tree):
    admin = admin_of(tree.township_b1)
    for _ in range(55):
        UserFactory(unit=tree.township_b1)
    client = web(admin)
    first = client.get("/org/people/")
    second = client.get("/org/people/", {"page": 2})
    assert len(first.context["page"]) == 50
    assert len(second.context["page"]) == 7  # 55 + the fixture's learner + the admin
    assert client.get("/org/people/", {"page": "zzz"}).status_code == 200


# --- Person -----------------------------------------------------------------------------------------


def test_person_detail_shows_the_person_their_unit_and_roles(tree):
    admin = admin_of(tree.district_a)
    person = UserFactory(
        unit=tree.township_a2,
        name="李雷",
        phone="13800000000",
        email="li@example.gov.cn",
        birth_date=dt.date(1985, 6, 1),
    )
    RoleGrantFactory(user=person, unit=tree.township_a2, role=Role.CLASS_TEACHER)

    page = text(web(admin).get(f"/org/people/{person.pk}/"))

    assert "李雷" in page
    assert "示范市/东区/东二街道" in page
    assert "13800000000" in page
    assert "li@example.gov.cn" in page
    assert "1985-06-01" in page
    assert "东二街道</li>" in page  # the class-teacher grant


def test_person_detail_hides_personal_details_from_a_class_teacher(tree):
    teacher = admin_of(tree.district_a, role=Role.CLASS_TEACHER)
    person = UserFactory(unit=tree.township_a2, phone="13800000000", birth_date=dt.date(1985, 6, 1))
    page = text(web(teacher).get(f"/org/people/{person.pk}/"))
    assert person.name in page
    assert "13800000000" not in page
    assert "1985-06-01" not in page


def test_a_learner_sees_their_own_personal_details(tree):
    me = UserFactory(unit=tree.township_a1, phone="13900000000")
    assert "13900000000" in text(web(me).get(f"/org/people/{me.pk}/"))


# --- Notifications ------------------------------------------------------------------------------------


def test_notifications_page_lists_my_notices_newest_first(tree):
    me = tree.people["TA1"]
    now = timezone.now()
    NotificationFactory(recipient=me, title="旧通知", created_at=now - dt.timedelta(days=1))
    NotificationFactory(recipient=me, title="新通知", created_at=now)
    NotificationFactory(recipient=tree.people["TA2"], title="别人的通知")

    response = web(me).get("/notifications/")

    assert [n.title for n in response.context["page"]] == ["新通知", "旧通知"]
    assert "别人的通知" not in text(response)


def test_marking_one_notice_read_from_the_page(tree):
    me = tree.people["TA1"]
    one, other = NotificationFactory(recipient=me), NotificationFactory(recipient=me)

    response = web(me).post("/notifications/read/", {"id": one.pk})

    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    one.refresh_from_db()
    other.refresh_from_db()
    assert one.read_at is not None and other.read_at is None


def test_marking_all_notices_read_from_the_page(tree):
    me = tree.people["TA1"]
    for _ in range(3):
        NotificationFactory(recipient=me)
    web(me).post("/notifications/read/")
    assert not Notification.objects.filter(recipient=me, read_at__isnull=True).exists()


@pytest.mark.zh
def test_a_garbage_notice_id_says_so_and_marks_nothing(tree):
    me = tree.people["TA1"]
    NotificationFactory(recipient=me)
    response = web(me).post("/notifications/read/", {"id": "abc"}, follow=True)
    with translation.override("zh-hans"):
        expected = gettext("Invalid notification.")
    assert [str(m) for m in response.context["messages"]] == [expected]
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_marking_read_only_redirects_inside_the_site(tree):
    me = tree.people["TA1"]
    client = web(me)
    outside = client.post("/notifications/read/", {"next": "https://evil.example/"})
    inside = client.post("/notifications/read/", {"next": "/feedback/"})
    assert outside["Location"] == "/notifications/"
    assert inside["Location"] == "/feedback/"


def test_marking_read_needs_a_post(tree):
    assert web(tree.people["TA1"]).get("/notifications/read/").status_code == 405


# --- Feedback --------------------------------------------------------------------------------------------


def test_sending_feedback_from_the_page_creates_it_and_notifies_the_admins(tree):
    author = tree.people["TA2"]
    admin = admin_of(tree.district_a)

    response = web(author).post(
        "/feedback/new/", {"kind": "complaint", "subject": "教室太冷", "body": "请调高空调温度。"}
    )

    feedback = Feedback.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/feedback/{feedback.pk}/"
    assert (feedback.author, feedback.unit, feedback.kind) == (
        author,
        tree.township_a2,
        "complaint",
    )
    notice = Notification.objects.get(recipient=admin)
    assert notice.link == f"/feedback/{feedback.pk}/"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "complaint", "subject": "", "body": "b"}, "subject"),
        ({"kind": "complaint", "subject": "   ", "body": "b"}, "subject"),
        ({"kind": "rant", "subject": "s", "body": "b"}, "kind"),
        ({"kind": "complaint", "subject": "s", "body": "x" * 5001}, "body"),
    ],
)
def test_bad_feedback_on_the_page_shows_the_error_and_saves_nothing(tree, data, field):
    response = web(tree.people["TA2"]).post("/feedback/new/", data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Feedback.objects.exists()


def test_feedback_list_shows_my_own_and_filters_by_status(tree):
    me = tree.people["TA2"]
    open_one = FeedbackFactory(author=me, subject="待回复")
    FeedbackFactory(
        author=me, subject="已回复", status="answered", reply="好", replied_at=timezone.now()
    )
    FeedbackFactory(author=tree.people["TA1"], subject="别人的")
    client = web(me)

    assert {f.subject for f in client.get("/feedback/").context["page"]} == {"待回复", "已回复"}
    assert [f.pk for f in client.get("/feedback/", {"status": "open"}).context["page"]] == [
        open_one.pk
    ]
    # An unknown status is ignored rather than an error.
    assert len(client.get("/feedback/", {"status": "bogus"}).context["page"]) == 2


def test_an_admin_answers_feedback_on_its_page_and_the_author_is_told(tree):
    author = tree.people["TA2"]
    feedback = FeedbackFactory(author=author, subject="增加课程")
    admin = admin_of(tree.district_a, name="赵主任")
    client = web(admin)

    page = text(client.get(f"/feedback/{feedback.pk}/"))
    assert 'name="reply"' in page

    response = client.post(f"/feedback/{feedback.pk}/", {"reply": "下月安排。"})

    assert response.status_code == 302
    feedback.refresh_from_db()
    assert (feedback.status, feedback.reply, feedback.replied_by) == (
        "answered",
        "下月安排。",
        admin,
    )
    assert Notification.objects.filter(recipient=author, kind="feedback").count() == 1
    author_view = text(web(author).get(f"/feedback/{feedback.pk}/"))
    assert "下月安排。" in author_view
    assert "赵主任" in author_view
    assert 'name="reply"' not in author_view


def test_an_empty_reply_on_the_page_shows_an_error_and_changes_nothing(tree):
    feedback = FeedbackFactory(author=tree.people["TA2"])
    admin = admin_of(tree.district_a)
    response = web(admin).post(f"/feedback/{feedback.pk}/", {"reply": "   "})
    assert response.status_code == 200
    assert "reply" in response.context["form"].errors
    feedback.refresh_from_db()
    assert feedback.status == Feedback.Status.OPEN


# --- Query counts (no N+1) ---------------------------------------------------------------------------


def _page_queries(assert_max, client, url, limit=40) -> int:
    with assert_max(limit) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def _more_units(tree, admin, n):
    for _ in range(n):
        UserFactory(unit=OrgUnitFactory(parent=tree.township_a2))


def _more_people(tree, admin, n):
    level = CadreLevelFactory()
    for _ in range(n):
        UserFactory(unit=OrgUnitFactory(parent=tree.township_a2), cadre_level=level)


def _more_notices(tree, admin, n):
    for _ in range(n):
        NotificationFactory(recipient=admin, link="/feedback/")


def _more_feedback(tree, admin, n):
    for _ in range(n):
        FeedbackFactory(author=UserFactory(unit=tree.township_a2))


@pytest.mark.parametrize(
    ("url", "grow", "count"),
    [
        ("/org/units/", _more_units, lambda r: len(r.context["rows"])),
        ("/org/people/", _more_people, lambda r: len(r.context["page"])),
        ("/notifications/", _more_notices, lambda r: len(r.context["page"])),
        ("/feedback/", _more_feedback, lambda r: len(r.context["page"])),
    ],
    ids=["units", "people", "notifications", "feedback"],
)
def test_list_pages_use_the_same_number_of_queries_for_3_and_30_rows(
    tree, django_assert_max_num_queries, url, grow, count
):
    admin = admin_of(tree.district_a)
    client = web(admin)
    grow(tree, admin, 3)
    small = _page_queries(django_assert_max_num_queries, client, url)
    grow(tree, admin, 27)
    assert count(client.get(url)) >= 30
    assert _page_queries(django_assert_max_num_queries, client, url, limit=small) == small
