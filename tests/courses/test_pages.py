"""The course pages: catalog, course, player, my courses, admin pages, dynamic management,
the home panel — what they show, their forms' errors, and their query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses import counters, memo
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


@pytest.fixture
def as_learner(client, world):
    client.force_login(world.learner)
    return client


@pytest.fixture
def as_admin(client, world):
    client.force_login(world.unit_admin)
    return client


# --- Catalog -------------------------------------------------------------------------------------------


def test_the_catalog_lists_visible_online_courses_with_badges(as_learner, world):
    make_course(owner_unit=world.district_b, title="临江区专属")
    require(world.course, cadre_level=world.ke, deadline=timezone.localdate() + dt.timedelta(days=9))
    response = as_learner.get(reverse("courses:catalog"))
    assert response.status_code == 200
    html = response.content.decode()
    assert world.course.title in html and "临江区专属" not in html
    assert "text-bg-danger" in html  # the required badge


def test_catalog_search_with_bad_parameters_still_answers(as_learner, world):
    response = as_learner.get(reverse("courses:catalog"), {"category": "abc", "min_rating": "x", "page": "zz"})
    assert response.status_code == 200


def test_catalog_page_query_count_does_not_grow_with_courses(client, world, django_assert_max_num_queries):
    """Measured on a cold cache (the worst case): 3 courses, then 18 — the same count."""
    category = CategoryFactory(name="技能型")
    client.force_login(world.manager)

    def build(n):
        for i in range(n):
            c = make_course(owner_unit=world.district_a, category=category, title=f"课{n}-{i}")
            Enrolment.objects.create(person=world.manager, course=c, progress_percent=20)
        cache.clear()
        forget_rules()
        memo.clear()  # cold: the factories bypass the services, and nothing is cached yet

    build(3)
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("courses:catalog")).status_code == 200
    build(15)
    with django_assert_max_num_queries(len(small)):
        response = client.get(reverse("courses:catalog"))
    assert response.content.decode().count("course-card") == 19
    # Warm: a colleague's catalog is the shared page plus their own marks.
    client.force_login(world.unit_admin)
    with django_assert_max_num_queries(len(small) - 4):
        client.get(reverse("courses:catalog"))


# --- Course page ----------------------------------------------------------------------------------------------


def test_the_course_page_counts_a_click_in_the_cache_not_the_database(as_learner, world, settings):
    settings.COURSES_COUNTER_INLINE_FLUSH = False
    response = as_learner.get(reverse("courses:course_detail", args=[world.course.pk]))
    assert response.status_code == 200
    assert world.course.title in response.content.decode()
    assert Course.objects.get(pk=world.course.pk).click_count == 0
    assert counters.counters_flush(include_current=True) == 1
    assert counters.studying_now() == 1


def test_course_page_query_count_does_not_grow_with_lessons(as_learner, world, django_assert_max_num_queries):
    enrol(world.learner, world.course)
    for lesson in world.lessons:
        started(world.learner, lesson, at=timezone.now())
    cache.clear()
    forget_rules()  # both measurements start cold (with Redis, the session too)
    with CaptureQueriesContext(connection) as small:
        as_learner.get(reverse("courses:course_detail", args=[world.course.pk]))
    for i in range(12):
        lesson = Lesson.objects.create(course=world.course, position=10 + i, title=f"加讲{i}", kind="external",
                                       external_url="https://v.cn/x.mp4", duration_seconds=60)
        started(world.learner, lesson, at=timezone.now())
    cache.clear()
    forget_rules()
    memo.clear()  # the factories bypass the services, which would drop the cached course
    with django_assert_max_num_queries(len(small)):
        response = as_learner.get(reverse("courses:course_detail", args=[world.course.pk]))
    assert "加讲11" in response.content.decode()


def test_a_course_of_another_district_is_404(client, world):
    client.force_login(world.outsider)
    assert client.get(reverse("courses:course_detail", args=[world.course.pk])).status_code == 404


def test_start_learning_enrols_and_opens_the_first_lesson(as_learner, world):
    response = as_learner.post(reverse("courses:enrol", args=[world.course.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("courses:lesson_player", args=[world.course.pk, world.lessons[0].pk])
    assert Enrolment.objects.filter(person=world.learner, course=world.course).exists()


def test_the_player_page_needs_an_enrolment(as_learner, world):
    url = reverse("courses:lesson_player", args=[world.course.pk, world.lessons[0].pk])
    assert as_learner.get(url).status_code == 302
    enrol(world.learner, world.course)
    response = as_learner.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "courses-player.js" in html and 'data-heartbeat-url="/courses/heartbeat/' in html


def test_rating_from_the_page_and_changing_it(as_learner, world):
    enrol(world.learner, world.course)
    html = as_learner.get(reverse("courses:course_detail", args=[world.course.pk])).content.decode()
    assert html.count('name="stars"') == 5
    url = reverse("courses:rate", args=[world.course.pk])
    as_learner.post(url, {"stars": "5", "comment": "实用"})
    as_learner.post(url, {"stars": "3", "comment": ""})
    rating = Rating.objects.get()
    assert (rating.stars, rating.comment) == (3, "")


@pytest.mark.parametrize("stars", ["0", "6", "4.5", ""])
def test_a_bad_rating_from_the_page_says_so_and_saves_nothing(as_learner, world, stars):
    enrol(world.learner, world.course)
    response = as_learner.post(reverse("courses:rate", args=[world.course.pk]), {"stars": stars}, follow=True)
    assert "1 to 5 stars" in response.content.decode()
    assert not Rating.objects.exists()


def test_like_button_toggles_with_htmx(as_learner, world):
    url = reverse("courses:like", args=[world.course.pk])
    response = as_learner.post(url, HTTP_HX_REQUEST="true")
    assert 'aria-pressed="true"' in response.content.decode()
    assert Like.objects.count() == 1
    response = as_learner.post(url, {"undo": "1"}, HTTP_HX_REQUEST="true")
    assert 'aria-pressed="false"' in response.content.decode()
    assert not Like.objects.exists()


def test_recommend_from_the_page_refuses_people_outside_scope(as_learner, world):
    url = reverse("courses:recommend", args=[world.course.pk])
    response = as_learner.post(url, {"recipients": [world.outsider.pk], "note": "看看"}, follow=True)
    assert "only recommend to colleagues" in response.content.decode()
    response = as_learner.post(url, {"recipients": [world.colleague.pk], "note": "看看"}, follow=True)
    assert "Recommended to 1" in response.content.decode()


def test_colleague_search_offers_only_colleagues(as_learner, world):
    html = as_learner.get(reverse("courses:colleague_search"), {"q": "杜"}).content.decode()
    assert world.outsider.name not in html
    html = as_learner.get(reverse("courses:colleague_search"), {"q": "王"}).content.decode()
    assert world.colleague.name in html


# --- Files ------------------------------------------------------------------------------------------------


@pytest.fixture
def pdf_lesson(world):
    from courses import services

    return services.lesson_add(actor=world.unit_admin, course=world.course, title="讲义", kind="document",
                               duration_seconds=600, upload=pdf_upload(size=5000))


def test_a_lesson_file_is_served_to_people_who_see_the_course(as_learner, world, pdf_lesson):
    response = as_learner.get(reverse("courses:lesson_file", args=[world.course.pk, pdf_lesson.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_a_lesson_file_supports_byte_ranges_for_seeking(as_learner, world, pdf_lesson):
    url = reverse("courses:lesson_file", args=[world.course.pk, pdf_lesson.pk])
    response = as_learner.get(url, HTTP_RANGE="bytes=0-3")
    assert response.status_code == 206
    assert response["Content-Range"] == "bytes 0-3/5000"
    assert b"".join(response.streaming_content) == b"%PDF"
    assert as_learner.get(url, HTTP_RANGE="bytes=9000-").status_code == 416


def test_a_lesson_file_is_404_outside_scope_and_never_under_media(client, world, pdf_lesson):
    client.force_login(world.outsider)
    assert client.get(reverse("courses:lesson_file", args=[world.course.pk, pdf_lesson.pk])).status_code == 404
    assert client.get("/media/" + pdf_lesson.file.name).status_code == 404


# --- My courses and home -----------------------------------------------------------------------------------


def test_my_courses_page(as_learner, world):
    require(world.course, cadre_level=world.ke, deadline=timezone.localdate() + dt.timedelta(days=3))
    response = as_learner.get(reverse("courses:my_courses"))
    assert response.status_code == 200
    assert world.course.title in response.content.decode()


def test_the_home_page_shows_studying_now_pushes_and_required_courses(as_learner, world):
    counters.track(person_id=world.colleague.pk)
    counters.track(person_id=world.chief.pk)
    push = CoursePush.objects.create(course=world.course, show_until=timezone.localdate(), status="sent", message="月底前学完")
    push.units.set([world.district_a])
    response = as_learner.get(reverse("home"))
    html = response.content.decode()
    assert 'data-testid="studying-now"' in html and "2 people studying now" in html
    assert "月底前学完" in html


# --- Administration ------------------------------------------------------------------------------------------


def test_an_admin_creates_a_course_adds_a_lesson_and_puts_it_online(as_admin, world):
    response = as_admin.post(reverse("courses:course_new"), {
        "title": "重大会议精神解读", "source": "in_house", "length_minutes": "40", "owner_unit": world.district_a.pk,
        "tags": "会议精神，解读", "description_html": "<p>本地制作</p>",
    })
    course = Course.objects.get(title="重大会议精神解读")
    assert response["Location"] == reverse("courses:manage_lessons", args=[course.pk])
    assert sorted(course.tags.values_list("name", flat=True)) == ["会议精神", "解读"]
    as_admin.post(reverse("courses:manage_lessons", args=[course.pk]), {
        "title": "第一讲", "kind": "document", "duration_minutes": "10", "file": pdf_upload(),
    })
    assert course.lessons.count() == 1
    as_admin.post(reverse("courses:manage_list"), {"courses": [course.pk], "action": "online", "at": ""})
    assert Course.objects.get(pk=course.pk).status == "online"


def test_a_script_in_the_description_is_shown_as_a_form_error(as_admin, world):
    response = as_admin.post(reverse("courses:course_new"), {
        "title": "x", "source": "in_house", "length_minutes": "40", "owner_unit": world.district_a.pk,
        "description_html": "<script>alert(1)</script>",
    })
    assert response.status_code == 200
    assert "not allowed" in response.content.decode()
    assert not Course.objects.filter(title="x").exists()


def test_a_lying_upload_is_shown_as_a_form_error(as_admin, world):
    response = as_admin.post(reverse("courses:manage_lessons", args=[world.course.pk]), {
        "title": "讲义", "kind": "document", "duration_minutes": "10", "file": exe_as_pdf(),
    })
    assert response.status_code == 200
    assert "does not match its extension" in response.content.decode()
    assert world.course.lessons.count() == 2


def test_admin_list_query_count_does_not_grow(as_admin, world, django_assert_max_num_queries):
    for n in (3, 12):
        for _ in range(n):
            make_course(owner_unit=world.district_a, category=CategoryFactory(name="修养型"))
        with django_assert_max_num_queries(14):
            assert as_admin.get(reverse("courses:manage_list")).status_code == 200


def test_audience_and_push_pages(as_admin, world, django_capture_on_commit_callbacks):
    url = reverse("courses:course_audience", args=[world.course.pk])
    deadline = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    as_admin.post(url, {"kind": "required", "cadre_level": world.ke.pk, "deadline": deadline})
    assert CourseAudience.objects.get().cadre_level == world.ke
    assert as_admin.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        as_admin.post(reverse("courses:course_push", args=[world.course.pk]), {"message": "请学习", "units": [world.section_a1.pk]})
    assert CoursePush.objects.get().status == "sent"
    assert as_admin.get(reverse("courses:course_push", args=[world.course.pk])).status_code == 200


def test_lesson_edit_move_and_delete_pages(as_admin, world):
    first, second = world.lessons
    as_admin.post(reverse("courses:lesson_move", args=[world.course.pk, second.pk]), {"direction": "up"})
    assert list(world.course.lessons.order_by("position").values_list("pk", flat=True)) == [second.pk, first.pk]
    as_admin.post(reverse("courses:lesson_edit", args=[world.course.pk, first.pk]), {
        "title": "改名", "kind": "external", "duration_minutes": "2", "external_url": "https://v.cn/n.mp4"})
    assert Lesson.objects.get(pk=first.pk).title == "改名"
    as_admin.post(reverse("courses:lesson_delete", args=[world.course.pk, first.pk]))
    assert world.course.lessons.count() == 1


def test_the_dynamic_page_and_its_csv_export(as_admin, world):
    from courses.models import CourseDailyStat

    CourseDailyStat.objects.create(course=world.course, day=timezone.localdate(), clicks=7)
    response = as_admin.get(reverse("courses:dynamic"))
    assert response.status_code == 200
    assert world.course.title in response.content.decode()
    export = as_admin.get(reverse("courses:dynamic"), {"export": "csv"})
    body = export.content.decode("utf-8")
    assert body.startswith("\ufeff") and world.course.title in body


def test_learners_page_and_reminder(client, world):
    require(world.course, cadre_level=world.ke)
    client.force_login(world.class_teacher)
    response = client.get(reverse("courses:learners", args=[world.course.pk]))
    assert world.learner.name in response.content.decode()
    client.post(reverse("courses:learners", args=[world.course.pk]))
    from org.models import Notification

    assert Notification.objects.filter(recipient=world.learner, kind="course_reminder").exists()


def test_progress_rows_are_not_touched_by_page_views(as_learner, world):
    enrol(world.learner, world.course)
    started(world.learner, world.lessons[0], at=timezone.now())
    before = list(LessonProgress.objects.values())
    as_learner.get(reverse("courses:lesson_player", args=[world.course.pk, world.lessons[0].pk]))
    assert list(LessonProgress.objects.values()) == before


def test_one_course_is_scheduled_offline_from_its_admin_page(as_admin, world):
    at = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = as_admin.post(reverse("courses:course_status", args=[world.course.pk]), {"action": "offline", "at": at})
    assert response.status_code == 302
    course = Course.objects.get(pk=world.course.pk)
    assert course.status == "online" and course.scheduled_offline_at is not None
    assert timezone.localtime(course.scheduled_offline_at).strftime("%Y-%m-%dT%H:%M") == at
    html = as_admin.get(reverse("courses:course_edit", args=[world.course.pk])).content.decode()
    assert "goes offline" in html


def test_a_new_comment_and_live_counters_show_at_once_on_a_cached_course_page(
    as_learner, world, django_capture_on_commit_callbacks
):
    enrol(world.learner, world.course)
    url = reverse("courses:course_detail", args=[world.course.pk])
    assert "很实用的一课" not in as_learner.get(url).content.decode()  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        as_learner.post(reverse("courses:rate", args=[world.course.pk]), {"stars": "5", "comment": "很实用的一课"})
    as_learner.post(reverse("courses:like", args=[world.course.pk]))
    html = as_learner.get(url).content.decode()
    assert "很实用的一课" in html
    assert "5.0" in html and "(1)" in html  # the live rating count
    assert 'aria-pressed="true"' in html


def test_the_admin_forms_render(as_admin, world):
    for url in [
        reverse("courses:course_new"),
        reverse("courses:lesson_edit", args=[world.course.pk, world.lessons[0].pk]),
        reverse("courses:manage_list") + "?status=online&q=群众",
    ]:
        response = as_admin.get(url)
        assert response.status_code == 200, url
