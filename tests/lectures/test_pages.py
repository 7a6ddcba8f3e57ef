"""The admin can run the whole programme from the pages, and learners use theirs."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from sessions import checkin
from sessions.models import Attendance, Declaration, Menu, PlanItem, Session, TopicChoice
from tests.factories import UserFactory
from tests.lectures.factories import AttendanceFactory, SessionFactory, VenueFactory, tomorrow_at

pytestmark = pytest.mark.django_db


def test_the_admin_runs_the_whole_programme_from_the_pages(client, org):
    year = timezone.localdate().year
    admin, learner = org.admin_a, org.learner

    # 1. Annual menu: create, add topics, publish.
    client.force_login(admin)
    r = client.post(reverse("lectures:menu_new"), {"unit": org.a.pk, "year": year, "title": "年度选学菜单"})
    menu = Menu.objects.get()
    assert r.status_code == 302 and r.url == reverse("lectures:menu_detail", args=[menu.pk])
    client.post(reverse("lectures:menu_topic_add", args=[menu.pk]),
                {"track": org.track.pk, "title": "档案数字化加工", "ability_area": "会办案"})
    client.post(reverse("lectures:menu_publish", args=[menu.pk]))
    assert Menu.objects.get().status == Menu.Status.PUBLISHED
    topic = menu.topics.get()

    # 2. A learner picks the topic, adds a wish, and declares a topic to teach.
    client.force_login(learner)
    assert "档案数字化加工" in client.get(reverse("lectures:menu_detail", args=[menu.pk])).content.decode()
    client.post(reverse("lectures:menu_choices", args=[menu.pk]), {"topic": [topic.pk]})
    client.post(reverse("lectures:wish_add", args=[menu.pk]), {"text": "想学新档案法"})
    assert TopicChoice.objects.filter(person=learner).count() == 1
    r = client.post(reverse("lectures:declaration_new"), {
        "title": "数字化加工中的难点", "track": org.track.pk, "format": "case", "outline": "案例分析",
        "kind": "regular", "year": year, "menu_topic": topic.pk,
    })
    assert r.status_code == 302, r.content.decode()[:2000]
    declaration = Declaration.objects.get()

    # 3. The admin approves it (with an edit); the learner is told.
    client.force_login(admin)
    assert "数字化加工中的难点" in client.get(reverse("lectures:declaration_queue")).content.decode()
    r = client.post(reverse("lectures:declaration_review", args=[declaration.pk]), {
        "decision": "approve", "comment": "", "title": "数字化加工的三个难点", "track": org.track.pk,
        "format": "case", "outline": "案例分析",
    })
    assert r.status_code == 302
    assert Declaration.objects.get().status == Declaration.Status.APPROVED

    # 4. Teaching plan: create, propose, see the shortfall.
    client.post(reverse("lectures:plan_list"), {"unit": org.a.pk, "year": year, "monthly_target": 1})
    plan = org.a.lecture_plans.get()
    client.post(reverse("lectures:plan_propose", args=[plan.pk]))
    item = PlanItem.objects.get()
    assert item.declaration == declaration and item.demand == 1
    page = client.get(reverse("lectures:plan_detail", args=[plan.pk])).content.decode()
    assert "数字化加工的三个难点" in page and "short of the target" in page

    # 5. Schedule the class from the plan item.
    assert client.get(reverse("lectures:session_new") + f"?plan_item={item.pk}").status_code == 200
    room = VenueFactory(unit=org.a, name="三楼会议室")
    day = tomorrow_at().date()
    r = client.post(reverse("lectures:session_new"), {
        "plan_item": item.pk, "title": item.title, "track": org.track.pk, "format": "case", "host_unit": org.a.pk,
        "speakers": [learner.speaker_profile.pk], "date": day.isoformat(), "start_time": "16:30",
        "end_time": "17:30", "venue": room.pk, "audience_open": "on",
    })
    assert r.status_code == 302, r.content.decode()[-3000:]
    session = Session.objects.get()
    assert PlanItem.objects.get().session == session

    # 6. Check-in screen, then a colleague scans the QR code.
    # (The class is moved to now: it is "tomorrow afternoon" for the purpose of scheduling.)
    at = timezone.now()
    Session.objects.filter(pk=session.pk).update(start=at - dt.timedelta(minutes=1), end=at + dt.timedelta(minutes=59))
    session.refresh_from_db()
    screen = client.get(reverse("lectures:checkin_screen", args=[session.pk]))
    assert screen.status_code == 200 and "<svg" in screen.content.decode()
    assert client.get(reverse("lectures:checkin_qr", args=[session.pk])).status_code == 200
    colleague = UserFactory(unit=org.a1)
    client.force_login(colleague)
    url = reverse("lectures:checkin_scan", args=[session.pk])
    token = checkin.make_token(session, at)
    assert client.get(url, {"t": token}).status_code == 200
    r = client.post(url, {"t": token})
    assert r.status_code == 200 and "checkin-ok" in r.content.decode()
    r = client.post(url, {"t": token})
    assert r.status_code == 400 and "already checked in" in r.content.decode()

    # 7. The admin marks someone excused, closes the class: credits are given once.
    client.force_login(admin)
    other = UserFactory(unit=org.a)
    client.post(reverse("lectures:attendance", args=[session.pk]),
                {"employee_no": other.employee_no, "status": "excused", "reason": "出差"})
    assert Attendance.objects.get(person=other).status == "excused"
    Session.objects.filter(pk=session.pk).update(
        start=timezone.now() - dt.timedelta(hours=2), end=timezone.now() - dt.timedelta(hours=1)
    )
    client.post(reverse("lectures:session_close", args=[session.pk]))
    client.post(reverse("lectures:session_close", args=[session.pk]))
    entries = apps.get_model("credits", "CreditEntry").objects.filter(source_ref=f"lectures.session:{session.pk}")
    assert sorted(entries.values_list("idempotency_key", flat=True)) == sorted(
        [f"attendance:{session.pk}:{colleague.pk}", f"lecture:{session.pk}:{learner.pk}"]
    )

    # 8. Export the register (xlsx and csv) and the date-range export.
    r = client.get(reverse("lectures:session_export", args=[session.pk]))
    book = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    rows = list(book.active.iter_rows(values_only=True))
    assert len(rows[0]) == 11
    assert {row[1] for row in rows[1:]} == {colleague.employee_no, other.employee_no}
    r = client.get(reverse("lectures:session_export", args=[session.pk]), {"fmt": "csv"})
    text = b"".join(r.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    assert len(list(csv.reader(io.StringIO(text[1:])))) == 3
    r = client.get(reverse("lectures:attendance_export"), {
        "unit": org.a.pk, "date_from": (day - dt.timedelta(days=3)).isoformat(),
        "date_to": (day + dt.timedelta(days=3)).isoformat(), "fmt": "csv",
    })
    assert r.status_code == 200 and colleague.employee_no in b"".join(r.streaming_content).decode()


@pytest.mark.parametrize("name", [
    "lectures:session_list", "lectures:calendar", "lectures:menu_list", "lectures:my_declarations",
    "lectures:declaration_new", "lectures:library", "lectures:calendar_feed", "lectures:checkin_code",
])
def test_learner_pages_render(client, org, session_a, name):
    client.force_login(org.learner)
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", [
    "lectures:manage_home", "lectures:declaration_queue", "lectures:declarations_owed", "lectures:plan_list",
    "lectures:manage_sessions", "lectures:session_new", "lectures:attendance_export", "lectures:speakers",
    "lectures:venues", "lectures:programme_settings", "lectures:menu_new",
])
def test_admin_pages_render_and_are_refused_to_learners(client, org, session_a, name):
    client.force_login(org.admin_a)
    assert client.get(reverse(name)).status_code == 200
    client.force_login(org.learner)
    assert client.get(reverse(name)).status_code == 403


def test_the_home_page_shows_the_next_classes(client, org, session_a):
    client.force_login(org.learner)
    page = client.get(reverse("home")).content.decode()
    assert session_a.title in page


def test_scanning_while_logged_out_goes_to_login_and_keeps_the_token(client, org, session_a):
    url = reverse("lectures:checkin_scan", args=[session_a.pk]) + "?t=abc"
    r = client.get(url)
    assert r.status_code == 302 and "next=" in r.url and "check-in" in r.url


def test_session_form_errors_name_the_field_and_write_nothing(client, org):
    client.force_login(org.admin_a)
    day = tomorrow_at().date().isoformat()
    r = client.post(reverse("lectures:session_new"), {
        "title": "x", "track": org.track.pk, "format": "lecture", "host_unit": org.a.pk,
        "speakers": [org.speaker.pk], "date": day, "start_time": "17:00", "end_time": "16:00",
        "capacity": "0", "audience_open": "on",
    })
    assert r.status_code == 200
    form = r.context["form"]
    assert "must end after it starts" in " ".join(form.errors["end_time"])
    assert "positive" in " ".join(form.errors["capacity"])
    assert not Session.objects.exists()


def test_class_list_page_has_no_n_plus_one(client, org, django_assert_max_num_queries):
    client.force_login(org.learner)
    for _ in range(3):
        SessionFactory(host_unit=org.a, speakers=[org.speaker], start=tomorrow_at(days=_ + 1))
    with django_assert_max_num_queries(20) as small:
        client.get(reverse("lectures:session_list"))
    for i in range(15):
        SessionFactory(host_unit=org.a, speakers=[org.speaker], start=tomorrow_at(days=i + 5))
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("lectures:session_list"))


def test_attendance_page_has_no_n_plus_one(client, org, session_a, django_assert_max_num_queries):
    client.force_login(org.admin_a)
    for _ in range(3):
        AttendanceFactory(session=session_a, person=UserFactory(unit=org.a1))
    with django_assert_max_num_queries(40) as small:
        client.get(reverse("lectures:attendance", args=[session_a.pk]))
    for _ in range(15):
        AttendanceFactory(session=session_a, person=UserFactory(unit=org.a1))
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("lectures:attendance", args=[session_a.pk]))


def test_the_calendar_feed_lists_the_persons_classes_and_a_reset_revokes_it(client, org, session_a):
    client.force_login(org.learner)
    url = client.get(reverse("lectures:calendar_feed")).context["url"]
    path = url.split("testserver", 1)[1]
    client.logout()
    body = client.get(path).content.decode()
    assert "BEGIN:VCALENDAR" in body and session_a.title in body
    client.force_login(org.learner_b)
    other_path = client.get(reverse("lectures:calendar_feed")).context["url"].split("testserver", 1)[1]
    assert session_a.title not in client.get(other_path).content.decode()
    client.force_login(org.learner)
    client.post(reverse("lectures:calendar_feed"))
    client.logout()
    assert client.get(path).status_code == 404


def test_the_scan_page_of_someone_elses_class_is_a_404_without_a_live_code(client, org, session_a):
    client.force_login(org.learner_b)
    url = reverse("lectures:checkin_scan", args=[session_a.pk])
    assert client.get(url, {"t": "nonsense"}).status_code == 404
    Session.objects.filter(pk=session_a.pk).update(start=timezone.now())
    session_a.refresh_from_db()
    r = client.post(url, {"t": checkin.make_token(session_a)})
    assert r.status_code == 400 and "not in the audience" in r.content.decode()
    assert not Attendance.objects.exists()
