"""Writes of the courses app: courses, lessons and uploads, lifecycle, audience, pushes,
ratings, likes and recommendations — including every bad input the issue lists."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from courses import services
from courses.models import (
    Course,
    CourseAudience,
    CourseEvent,
    CoursePush,
    Lesson,
    Like,
    Rating,
    Recommendation,
)
from org.models import Notification
from tests.courses.factories import (
    CategoryFactory,
    enrol,
    exe_as_pdf,
    make_course,
    mp4_upload,
    pdf_upload,
    pptx_upload,
)

pytestmark = pytest.mark.django_db


def course_input(**overrides) -> services.CourseInput:
    values = {"title": "十八届四中全会关于全面推进依法治国的重大部署", "source": Course.Source.IMPORTED, "length_minutes": 30}
    values.update(overrides)
    return services.CourseInput(**values)


# --- Courses ----------------------------------------------------------------------------------------


def test_a_unit_admin_creates_a_draft_course_in_their_unit_with_tags(world):
    category = CategoryFactory(name="党性教育")
    course = services.course_create(
        actor=world.unit_admin,
        data=course_input(owner_unit=world.district_a, category=category, tags=["依法治国", "#法治", "依法治国"],
                          speaker="刘春", provider="中央党校"),
    )
    assert course.status == Course.Status.DRAFT
    assert sorted(course.tags.values_list("name", flat=True)) == ["依法治国", "法治"]
    assert "刘春" in course.search_text and "党性教育" in course.search_text
    assert course.created_by == world.unit_admin


def test_a_unit_admin_cannot_create_a_course_for_another_unit_or_everyone(world):
    with pytest.raises(PermissionDenied):
        services.course_create(actor=world.unit_admin, data=course_input(owner_unit=world.district_b))
    with pytest.raises(PermissionDenied):
        services.course_create(actor=world.unit_admin, data=course_input(owner_unit=None))
    assert Course.objects.count() == 1  # only the fixture's


def test_a_system_admin_creates_a_course_for_the_whole_organisation(world):
    course = services.course_create(actor=world.sysadmin, data=course_input())
    assert course.owner_unit is None


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("title", {"title": "  "}),
        ("source", {"source": "stolen"}),
        ("length_minutes", {"length_minutes": 0}),
        ("length_minutes", {"length_minutes": "30"}),
        ("points", {"points": Decimal("-1")}),
        ("points", {"points": Decimal("0.125")}),
        ("tags", {"tags": [f"t{i}" for i in range(11)]}),
    ],
)
def test_bad_course_fields_are_named_and_nothing_is_written(world, field, overrides):
    with pytest.raises(ValidationError) as error:
        services.course_create(actor=world.sysadmin, data=course_input(**overrides))
    assert field in error.value.message_dict
    assert Course.objects.count() == 1


@pytest.mark.parametrize(
    "html",
    [
        "<p>好课</p><script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">点我</a>',
        "<iframe src='https://evil.example'></iframe>",
        "<p style='x' onclick=steal()>hi</p>",
    ],
)
def test_a_description_with_script_is_refused_with_a_clear_message(world, html):
    with pytest.raises(ValidationError) as error:
        services.course_create(actor=world.sysadmin, data=course_input(description_html=html))
    message = error.value.message_dict["description_html"][0]
    assert "not allowed" in message
    assert Course.objects.count() == 1


def test_a_description_keeps_formatting_and_loses_unknown_markup(world):
    course = services.course_create(
        actor=world.sysadmin,
        data=course_input(description_html='<h3>课程简介</h3><p class="x"><strong>重点</strong> <a href="https://ok.cn">链接</a></p><marquee>旧</marquee>'),
    )
    assert "<strong>重点</strong>" in course.description_html
    assert 'rel="noopener noreferrer nofollow"' in course.description_html
    assert "marquee" not in course.description_html and 'class="x"' not in course.description_html


def test_the_code_must_be_unique(world):
    services.course_create(actor=world.sysadmin, data=course_input(code="CQ-001"))
    with pytest.raises(ValidationError) as error:
        services.course_create(actor=world.sysadmin, data=course_input(code="CQ-001"))
    assert "code" in error.value.message_dict


def test_updating_a_course_of_another_unit_is_refused(world):
    with pytest.raises(PermissionDenied):
        services.course_update(actor=world.admin_b, course=world.course, data=course_input(owner_unit=world.district_a))
    world.course.refresh_from_db()
    assert world.course.title == "基层干部如何与群众打交道"


# --- Lessons and uploads --------------------------------------------------------------------------


def test_a_pdf_lesson_is_stored_under_an_unguessable_name(world):
    lesson = services.lesson_add(
        actor=world.unit_admin, course=world.course, title="讲义", kind=Lesson.Kind.DOCUMENT,
        duration_seconds=600, upload=pdf_upload("讲义.pdf"),
    )
    assert lesson.file_kind == "pdf"
    assert lesson.file.name.startswith("courses/lessons/")
    assert "讲义" not in lesson.file.name
    assert lesson.file_name == "讲义.pdf"
    world.course.refresh_from_db()
    assert world.course.lesson_count == 3
    assert lesson.position == 3


def test_video_and_pptx_lessons_are_recognised_by_content(world):
    video = services.lesson_add(actor=world.unit_admin, course=world.course, title="视频", kind=Lesson.Kind.VIDEO,
                                duration_seconds=60, upload=mp4_upload())
    slides = services.lesson_add(actor=world.unit_admin, course=world.course, title="课件", kind=Lesson.Kind.DOCUMENT,
                                 duration_seconds=60, upload=pptx_upload())
    assert (video.file_kind, slides.file_kind) == ("video", "pptx")


def test_an_upload_that_lies_about_its_type_is_refused_and_nothing_is_stored(world, settings):
    with pytest.raises(ValidationError) as error:
        services.lesson_add(actor=world.unit_admin, course=world.course, title="讲义", kind=Lesson.Kind.DOCUMENT,
                            duration_seconds=600, upload=exe_as_pdf())
    assert "does not match" in error.value.message_dict["file"][0]
    assert Lesson.objects.filter(course=world.course).count() == 2
    media = settings.MEDIA_ROOT
    assert not any(p.is_file() for p in media.rglob("*")) if media.exists() else True


def test_a_pdf_sent_as_a_video_lesson_is_refused(world):
    with pytest.raises(ValidationError) as error:
        services.lesson_add(actor=world.unit_admin, course=world.course, title="视频", kind=Lesson.Kind.VIDEO,
                            duration_seconds=60, upload=pdf_upload("video.mp4"))
    assert "file" in error.value.message_dict


def test_an_oversize_upload_is_refused_with_its_size_and_the_limit(world, settings):
    settings.COURSES_MAX_DOCUMENT_BYTES = 1024 * 1024
    with pytest.raises(ValidationError) as error:
        services.lesson_add(actor=world.unit_admin, course=world.course, title="讲义", kind=Lesson.Kind.DOCUMENT,
                            duration_seconds=600, upload=pdf_upload(size=2 * 1024 * 1024))
    message = error.value.message_dict["file"][0]
    assert "2.0 MB" in message and "1.0 MB" in message
    assert Lesson.objects.filter(course=world.course).count() == 2


@pytest.mark.parametrize("url", ["", "ftp://x/y.mp4", "javascript:alert(1)", "not a url"])
def test_an_external_lesson_needs_a_web_address(world, url):
    with pytest.raises(ValidationError) as error:
        services.lesson_add(actor=world.unit_admin, course=world.course, title="外链", kind=Lesson.Kind.EXTERNAL_VIDEO,
                            duration_seconds=60, external_url=url)
    assert "external_url" in error.value.message_dict


def test_lessons_of_another_units_course_cannot_be_added(world):
    with pytest.raises(PermissionDenied):
        services.lesson_add(actor=world.admin_b, course=world.course, title="x", kind=Lesson.Kind.EXTERNAL_VIDEO,
                            duration_seconds=60, external_url="https://v.cn/a.mp4")


def test_reordering_needs_every_lesson_once(world):
    first, second = world.lessons
    services.lessons_reorder(actor=world.unit_admin, course=world.course, lesson_ids=[second.pk, first.pk])
    assert list(world.course.lessons.order_by("position").values_list("pk", flat=True)) == [second.pk, first.pk]
    with pytest.raises(ValidationError):
        services.lessons_reorder(actor=world.unit_admin, course=world.course, lesson_ids=[second.pk])


def test_the_last_lesson_of_an_online_course_cannot_be_removed(world):
    course = make_course(owner_unit=world.district_a, lessons=1)
    with pytest.raises(ValidationError):
        services.lesson_delete(actor=world.unit_admin, lesson=course.lessons.get())
    assert course.lessons.count() == 1


# --- Online / offline ------------------------------------------------------------------------------


def test_putting_courses_online_in_bulk_records_a_first_time_event(world):
    drafts = [make_course(owner_unit=world.district_a, status=Course.Status.DRAFT, first_online_at=None) for _ in range(3)]
    changed = services.courses_set_status(actor=world.unit_admin, courses=drafts, action="online")
    assert changed == 3
    assert Course.objects.filter(pk__in=[c.pk for c in drafts], status="online", first_online_at__isnull=False).count() == 3
    assert CourseEvent.objects.filter(action="online", first_time=True).count() == 3


def test_bulk_status_is_all_or_nothing(world):
    ok = make_course(owner_unit=world.district_a, status=Course.Status.DRAFT, first_online_at=None)
    empty = make_course(owner_unit=world.district_a, lessons=0, status=Course.Status.DRAFT, first_online_at=None)
    with pytest.raises(ValidationError) as error:
        services.courses_set_status(actor=world.unit_admin, courses=[ok, empty], action="online")
    assert "no lessons" in error.value.message_dict["courses"][0]
    assert Course.objects.get(pk=ok.pk).status == Course.Status.DRAFT
    assert not CourseEvent.objects.exists()


def test_bulk_status_with_a_course_of_another_unit_is_refused_entirely(world):
    other = make_course(owner_unit=world.district_b)
    with pytest.raises(PermissionDenied):
        services.courses_set_status(actor=world.unit_admin, courses=[world.course, other], action="offline")
    assert Course.objects.filter(status="online").count() == 2


def test_a_scheduled_offline_date_takes_effect_when_due(world):
    at = timezone.now() + dt.timedelta(hours=1)
    services.courses_set_status(actor=world.unit_admin, courses=[world.course], action="offline", at=at)
    world.course.refresh_from_db()
    assert world.course.status == "online" and world.course.scheduled_offline_at == at
    assert services.course_schedule_apply(now=at - dt.timedelta(minutes=1)) == 0
    assert services.course_schedule_apply(now=at + dt.timedelta(minutes=1)) == 1
    world.course.refresh_from_db()
    assert world.course.status == "offline" and world.course.scheduled_offline_at is None
    event = CourseEvent.objects.get(action="offline")
    assert event.at == at and event.actor is None
    # Safe to run twice.
    assert services.course_schedule_apply(now=at + dt.timedelta(minutes=2)) == 0


def test_due_schedules_apply_from_a_page_view_without_a_beat(world):
    course = make_course(owner_unit=world.district_a, status=Course.Status.DRAFT, first_online_at=None)
    past = timezone.now() - dt.timedelta(minutes=1)
    Course.objects.filter(pk=course.pk).update(scheduled_online_at=past)
    assert services.schedules_apply_due() == 1
    assert Course.objects.get(pk=course.pk).status == "online"
    assert services.schedules_apply_due() == 0


def test_a_naive_schedule_time_is_refused(world):
    with pytest.raises(ValidationError) as error:
        services.courses_set_status(actor=world.unit_admin, courses=[world.course], action="offline",
                                    at=dt.datetime(2030, 1, 1, 8, 0))
    assert "at" in error.value.message_dict


# --- Audience and pushes --------------------------------------------------------------------------------


def test_a_required_audience_with_a_deadline(world):
    deadline = timezone.localdate() + dt.timedelta(days=30)
    row = services.course_audience_add(actor=world.unit_admin, course=world.course, kind="required",
                                       unit=world.section_a1, cadre_level=world.ke, deadline=deadline)
    assert row.deadline == deadline


def test_an_audience_outside_the_admins_units_is_refused(world):
    with pytest.raises(ValidationError) as error:
        services.course_audience_add(actor=world.unit_admin, course=world.course, kind="required", unit=world.district_b)
    assert "unit" in error.value.message_dict
    assert not CourseAudience.objects.exists()


def test_an_elective_audience_has_no_deadline_and_deadlines_are_not_in_the_past(world):
    with pytest.raises(ValidationError) as error:
        services.course_audience_add(actor=world.unit_admin, course=world.course, kind="elective",
                                     deadline=timezone.localdate() + dt.timedelta(days=1))
    assert "deadline" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.course_audience_add(actor=world.unit_admin, course=world.course, kind="required",
                                     deadline=timezone.localdate() - dt.timedelta(days=1))
    assert not CourseAudience.objects.exists()


def test_a_push_notifies_its_audience_once(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        push = services.course_push(actor=world.unit_admin, course=world.course, message="重点课程，请于月底前学习",
                                    units=[world.section_a1], cadre_levels=[world.ke])
    push.refresh_from_db()
    assert push.status == CoursePush.Status.SENT
    notified = set(Notification.objects.filter(kind="course_push").values_list("recipient_id", flat=True))
    assert notified == {world.learner.pk, world.colleague.pk}
    assert push.recipient_count == 2
    # Sending again (a retried task) notifies nobody twice.
    assert services.course_push_send(push=push) == 0
    assert Notification.objects.filter(kind="course_push").count() == 2


def test_a_push_without_units_reaches_the_admins_whole_scope(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.course_push(actor=world.unit_admin, course=world.course)
    notified = set(Notification.objects.filter(kind="course_push").values_list("recipient_id", flat=True))
    assert world.learner.pk in notified and world.chief.pk in notified
    assert world.outsider.pk not in notified


def test_a_push_to_units_outside_scope_or_of_an_offline_course_is_refused(world):
    with pytest.raises(ValidationError) as error:
        services.course_push(actor=world.unit_admin, course=world.course, units=[world.district_b])
    assert "units" in error.value.message_dict
    Course.objects.filter(pk=world.course.pk).update(status="offline")
    world.course.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        services.course_push(actor=world.unit_admin, course=world.course)
    assert "course" in error.value.message_dict
    assert not CoursePush.objects.exists()


# --- Ratings -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stars", [0, 6, 4.5, "5", None, True, -1])
def test_a_rating_that_is_not_a_whole_number_from_1_to_5_is_refused(world, stars):
    enrol(world.learner, world.course)
    with pytest.raises(ValidationError) as error:
        services.course_rate(person=world.learner, course=world.course, stars=stars)
    assert "1 to 5" in error.value.message_dict["stars"][0]
    assert not Rating.objects.exists()
    world.course.refresh_from_db()
    assert (world.course.rating_count, world.course.rating_sum) == (0, 0)


def test_a_second_rating_updates_the_first_and_the_average(world):
    enrol(world.learner, world.course)
    enrol(world.colleague, world.course)
    services.course_rate(person=world.learner, course=world.course, stars=5, comment="很实用")
    services.course_rate(person=world.colleague, course=world.course, stars=4)
    rating = services.course_rate(person=world.learner, course=world.course, stars=2, comment="改主意了")
    assert Rating.objects.count() == 2
    assert (rating.stars, rating.comment) == (2, "改主意了")
    world.course.refresh_from_db()
    assert (world.course.rating_count, world.course.rating_sum, world.course.rating_avg) == (2, 6, Decimal("3.00"))


def test_rating_needs_the_course_started(world):
    with pytest.raises(ValidationError):
        services.course_rate(person=world.learner, course=world.course, stars=5)
    assert not Rating.objects.exists()


def test_a_comment_over_500_characters_is_refused(world):
    enrol(world.learner, world.course)
    with pytest.raises(ValidationError) as error:
        services.course_rate(person=world.learner, course=world.course, stars=5, comment="好" * 501)
    assert "comment" in error.value.message_dict


# --- Likes -----------------------------------------------------------------------------------------------


def test_liking_twice_counts_once_and_unliking_takes_it_back(world):
    assert services.course_like(person=world.learner, course=world.course) is True
    assert services.course_like(person=world.learner, course=world.course) is False
    world.course.refresh_from_db()
    assert world.course.like_count == 1
    assert services.course_unlike(person=world.learner, course=world.course) is True
    assert services.course_unlike(person=world.learner, course=world.course) is False
    world.course.refresh_from_db()
    assert world.course.like_count == 0 and not Like.objects.exists()


def test_liking_a_course_one_cannot_see_is_refused(world):
    with pytest.raises(PermissionDenied):
        services.course_like(person=world.outsider, course=world.course)


# --- Recommendations -------------------------------------------------------------------------------------


def test_recommending_to_colleagues_notifies_them_with_the_note(world):
    created = services.course_recommend(sender=world.learner, course=world.course,
                                        recipients=[world.colleague, world.chief], note="余哥，很实用")
    assert len(created) == 2
    notices = Notification.objects.filter(kind="course_recommendation")
    assert {n.recipient_id for n in notices} == {world.colleague.pk, world.chief.pk}
    assert all(n.body == "余哥，很实用" and world.learner.name in n.title for n in notices)


def test_recommending_again_to_the_same_person_notifies_nobody_twice(world):
    services.course_recommend(sender=world.learner, course=world.course, recipients=[world.colleague])
    again = services.course_recommend(sender=world.learner, course=world.course, recipients=[world.colleague])
    assert again == []
    assert Recommendation.objects.count() == 1
    assert Notification.objects.filter(kind="course_recommendation").count() == 1


def test_recommending_to_someone_outside_scope_is_refused_for_everyone(world):
    with pytest.raises(ValidationError) as error:
        services.course_recommend(sender=world.learner, course=world.course,
                                  recipients=[world.colleague, world.outsider])
    assert world.outsider.name in error.value.message_dict["recipients"][0]
    assert not Recommendation.objects.exists()
    assert not Notification.objects.exists()


def test_an_admin_recommends_within_their_scope(world):
    created = services.course_recommend(sender=world.unit_admin, course=world.course, recipients=[world.learner])
    assert len(created) == 1


def test_recommending_to_oneself_or_nobody_is_refused(world):
    with pytest.raises(ValidationError):
        services.course_recommend(sender=world.learner, course=world.course, recipients=[world.learner])
    with pytest.raises(ValidationError):
        services.course_recommend(sender=world.learner, course=world.course, recipients=[])


def test_recommending_to_a_colleague_who_cannot_see_the_course_is_refused(world):
    """A system admin may reach anyone, but the recipient must be able to open the course."""
    with pytest.raises(ValidationError) as error:
        services.course_recommend(sender=world.sysadmin, course=world.course, recipients=[world.outsider])
    assert "cannot see" in error.value.message_dict["recipients"][0]


# --- Reminders (class teachers) ----------------------------------------------------------------------------


def test_a_class_teacher_reminds_unfinished_required_learners_in_scope(world):
    from tests.courses.factories import require

    require(world.course, cadre_level=world.ke, deadline=timezone.localdate() + dt.timedelta(days=10))
    require(world.course, unit=world.section_b1)
    reminded = services.course_remind(actor=world.class_teacher, course=world.course)
    recipients = set(Notification.objects.filter(kind="course_reminder").values_list("recipient_id", flat=True))
    assert world.learner.pk in recipients and world.colleague.pk in recipients
    assert world.chief.pk not in recipients  # 处级: not required
    assert world.outsider.pk not in recipients  # outside the teacher's scope
    assert reminded == len(recipients)


def test_a_learner_cannot_send_reminders(world):
    with pytest.raises(PermissionDenied):
        services.course_remind(actor=world.learner, course=world.course)


def test_a_quiz_must_be_an_exam_the_admin_can_see(world):
    with pytest.raises(ValidationError) as error:
        services.course_create(actor=world.unit_admin, data=course_input(owner_unit=world.district_a, quiz_exam_id=987654))
    assert "987654" in error.value.message_dict["quiz_exam_id"][0]
    assert Course.objects.count() == 1
