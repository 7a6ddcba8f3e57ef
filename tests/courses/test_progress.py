"""Honest progress: enrolment, lesson start, heartbeats, completion and its credit."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from courses import services
from courses.models import Course, Enrolment, LessonProgress
from credits.models import CreditEntry
from org.models import Notification
from tests.courses.factories import enrol, make_course, started

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 4, 8, 8, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def beat(person, lesson, position, seconds, client_seconds=None):
    return services.lesson_heartbeat(
        person_id=person.pk,
        lesson_id=lesson.pk,
        position=position,
        client_time=at(client_seconds if client_seconds is not None else seconds),
        now=at(seconds),
    )


@pytest.fixture
def playing(world):
    """The learner enrolled and opened the first lesson (300 s) at T0."""
    enrol(world.learner, world.course)
    lesson = world.lessons[0]
    started(world.learner, lesson, at=T0)
    return lesson


# --- Enrolment and start ----------------------------------------------------------------------


def test_enrolling_twice_returns_the_same_enrolment_and_counts_one_learner(world):
    first = services.course_enrol(person=world.learner, course=world.course)
    second = services.course_enrol(person=world.learner, course=world.course)
    assert first.pk == second.pk
    world.course.refresh_from_db()
    assert world.course.enrolment_count == 1
    assert first.cadre_level == world.ke


def test_enrolling_in_an_offline_course_is_refused_and_writes_nothing(world):
    Course.objects.filter(pk=world.course.pk).update(status=Course.Status.OFFLINE)
    world.course.refresh_from_db()
    # An admin of the owner unit still sees it, but cannot start it.
    with pytest.raises(ValidationError) as error:
        services.course_enrol(person=world.unit_admin, course=world.course)
    assert "not online" in str(error.value)
    assert not Enrolment.objects.exists()


def test_enrolling_in_a_course_outside_ones_unit_is_refused(world):
    with pytest.raises(PermissionDenied):
        services.course_enrol(person=world.outsider, course=world.course)
    assert not Enrolment.objects.exists()


def test_enrolment_origin_is_required_when_an_audience_requires_it(world):
    from tests.courses.factories import require

    require(world.course, cadre_level=world.ke)
    enrolment = services.course_enrol(person=world.learner, course=world.course)
    assert enrolment.origin == Enrolment.Origin.REQUIRED


def test_starting_a_lesson_needs_an_enrolment(world):
    with pytest.raises(ValidationError) as error:
        services.lesson_start(person=world.learner, lesson=world.lessons[0])
    assert "Start learning" in str(error.value)
    assert not LessonProgress.objects.exists()


def test_start_returns_the_resume_position_saved_on_another_device(world, playing):
    beat(world.learner, playing, 15, 15)
    beat(world.learner, playing, 30, 30)
    progress = services.lesson_start(person=world.learner, lesson=playing, now=at(3600))
    assert progress.position_seconds == 30
    enrolment = Enrolment.objects.get(person=world.learner)
    assert enrolment.last_lesson == playing


# --- Heartbeats -------------------------------------------------------------------------------------


def test_heartbeats_in_real_time_credit_what_was_watched(world, playing):
    for i in range(1, 5):
        result = beat(world.learner, playing, 15 * i, 15 * i)
    assert result.watched_seconds == 60
    assert result.position == 60
    row = LessonProgress.objects.get()
    assert row.watched == [[0, 60]]


def test_a_heartbeat_cannot_credit_more_than_the_time_that_passed(world, playing, tolerance):
    # 15 s later the player claims to be at 200 s: at most 15 s + tolerance counts.
    result = beat(world.learner, playing, 200, 15)
    assert result.watched_seconds == 15 + tolerance
    assert LessonProgress.objects.get().watched == [[200 - 15 - tolerance, 200]]


def test_seeking_ahead_does_not_count_the_skipped_part(world, playing):
    beat(world.learner, playing, 30, 30)
    # Jump to 200 s, then play on for 15 s and 30 s.
    beat(world.learner, playing, 200, 31)
    beat(world.learner, playing, 215, 46)
    result = beat(world.learner, playing, 230, 61)
    row = LessonProgress.objects.get()
    assert row.watched[0] == [0, 30]
    assert all(start >= 190 for start, _end in row.watched[1:])
    assert result.watched_seconds < 30 + 31 + 11  # nothing of 30–190 s


def test_tolerance_cannot_be_added_up_by_many_quick_heartbeats(world, playing, tolerance):
    # A script sends a heartbeat every second claiming 6 s more each time.
    position = 0
    for second in range(1, 61):
        position += 6
        result = beat(world.learner, playing, min(position, 300), second)
    assert result.watched_seconds <= 60 + tolerance


def test_pausing_and_resuming_counts_only_the_played_time(world, playing):
    beat(world.learner, playing, 15, 15)
    beat(world.learner, playing, 20, 20)  # paused at 20 s
    result = beat(world.learner, playing, 35, 20 + 600 + 15)  # ten minutes later, 15 s more
    assert result.watched_seconds == 35
    assert LessonProgress.objects.get().watched == [[0, 35]]


def test_a_long_gap_credits_at_most_the_maximum_gap(world, playing, settings, tolerance):
    result = beat(world.learner, playing, 300, 3600)
    assert result.watched_seconds == settings.COURSES_HEARTBEAT_MAX_GAP_SECONDS + tolerance


def test_a_heartbeat_whose_clock_claims_more_time_than_passed_is_refused_and_changes_nothing(world, playing):
    beat(world.learner, playing, 15, 15)
    before = LessonProgress.objects.values().get()
    with pytest.raises(ValidationError) as error:
        beat(world.learner, playing, 75, seconds=30, client_seconds=90)
    assert "client_time" in error.value.message_dict
    assert "faster than real time" in error.value.message_dict["client_time"][0]
    assert LessonProgress.objects.values().get() == before


def test_a_heartbeat_older_than_the_previous_one_is_refused(world, playing):
    beat(world.learner, playing, 15, 15)
    with pytest.raises(ValidationError) as error:
        beat(world.learner, playing, 20, seconds=20, client_seconds=5)
    assert "older" in error.value.message_dict["client_time"][0]


def test_a_heartbeat_for_a_lesson_not_started_is_refused(world):
    enrol(world.learner, world.course)
    with pytest.raises(ValidationError) as error:
        beat(world.learner, world.lessons[0], 15, 15)
    assert "lesson" in error.value.message_dict
    assert not LessonProgress.objects.exists()


def test_a_heartbeat_for_someone_elses_progress_is_refused(world, playing):
    with pytest.raises(ValidationError):
        beat(world.colleague, playing, 15, 15)


def test_a_heartbeat_for_an_offline_course_is_refused_and_changes_nothing(world, playing):
    Course.objects.filter(pk=world.course.pk).update(status=Course.Status.OFFLINE)
    before = LessonProgress.objects.values().get()
    with pytest.raises(ValidationError) as error:
        beat(world.learner, playing, 15, 15)
    assert "offline" in error.value.message_dict["lesson"][0]
    assert LessonProgress.objects.values().get() == before


@pytest.mark.parametrize("position", [-1, float("nan"), float("inf"), "15", None, True])
def test_a_position_that_is_not_a_number_of_seconds_is_refused(world, playing, position):
    with pytest.raises(ValidationError) as error:
        services.lesson_heartbeat(person_id=world.learner.pk, lesson_id=playing.pk, position=position, now=at(15))
    assert "position" in error.value.message_dict


def test_a_position_past_the_end_is_taken_as_the_end(world, playing):
    result = beat(world.learner, playing, 99999, 15)
    assert result.position == 300


def test_two_windows_cannot_credit_the_same_stretch_twice(world, playing):
    """The optimistic version check: a heartbeat based on a stale read changes nothing."""
    beat(world.learner, playing, 15, 15)
    row = LessonProgress.objects.get()
    updated = LessonProgress.objects.filter(pk=row.pk, heartbeat_count=row.heartbeat_count - 1).update(watched_seconds=999)
    assert updated == 0


def test_a_heartbeat_costs_two_queries(world, playing):
    beat(world.learner, playing, 15, 15)
    with CaptureQueriesContext(connection) as queries:
        beat(world.learner, playing, 30, 30)
    assert len(queries) == 2, [q["sql"] for q in queries]


# --- Completion ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Watched:
    lesson_done: bool
    course_completed: bool


def watch_whole(person, lesson, start_second) -> Watched:
    """Play a lesson through in real time from `start_second`; what the heartbeats said."""
    services.lesson_start(person=person, lesson=lesson, now=at(start_second))
    results = [
        beat(person, lesson, min(15 * i, lesson.duration_seconds), start_second + 15 * i)
        for i in range(1, lesson.duration_seconds // 15 + 1)
    ]
    return Watched(results[-1].lesson_done, any(r.course_completed for r in results))


def test_watching_every_lesson_completes_the_course_and_credits_it_once(world):
    services.course_enrol(person=world.learner, course=world.course)
    first = watch_whole(world.learner, world.lessons[0], 0)
    assert first.lesson_done and not first.course_completed
    enrolment = Enrolment.objects.get()
    assert enrolment.lessons_done == 1 and enrolment.progress_percent == 50
    last = watch_whole(world.learner, world.lessons[1], 1000)
    assert last.course_completed
    enrolment.refresh_from_db()
    assert enrolment.completed_at is not None and enrolment.progress_percent == 100
    entry = CreditEntry.objects.get(person=world.learner)
    assert entry.idempotency_key == f"course:{world.course.pk}:{world.learner.pk}"
    assert entry.source_kind == "course"
    assert entry.points == Decimal("1.00")  # 45 minutes: a long course by the default rules
    assert enrolment.credit_entry_id == entry.pk
    world.course.refresh_from_db()
    assert world.course.completion_count == 1
    assert Notification.objects.filter(recipient=world.learner, kind="course_completed").count() == 1
    # Watching again credits nothing more.
    watch_whole(world.learner, world.lessons[1], 5000)
    assert CreditEntry.objects.filter(person=world.learner).count() == 1
    world.course.refresh_from_db()
    assert world.course.completion_count == 1


def test_a_course_with_its_own_points_credits_those(world):
    Course.objects.filter(pk=world.course.pk).update(points=Decimal("2.50"))
    world.course.refresh_from_db()
    services.course_enrol(person=world.learner, course=world.course)
    watch_whole(world.learner, world.lessons[0], 0)
    watch_whole(world.learner, world.lessons[1], 1000)
    assert CreditEntry.objects.get(person=world.learner).points == Decimal("2.50")


def test_a_course_with_a_quiz_completes_only_when_the_quiz_is_passed(world):
    Course.objects.filter(pk=world.course.pk).update(quiz_exam_id=7)
    world.course.refresh_from_db()
    services.course_enrol(person=world.learner, course=world.course)
    watch_whole(world.learner, world.lessons[0], 0)
    last = watch_whole(world.learner, world.lessons[1], 1000)
    assert not last.course_completed
    assert not CreditEntry.objects.exists()
    enrolment = services.enrolment_quiz_pass(person=world.learner, course=world.course)
    assert enrolment.completed_at is not None
    assert CreditEntry.objects.filter(person=world.learner).count() == 1


def test_quiz_pass_for_a_course_without_quiz_is_refused(world):
    services.course_enrol(person=world.learner, course=world.course)
    with pytest.raises(ValidationError):
        services.enrolment_quiz_pass(person=world.learner, course=world.course)


def test_a_lesson_watched_at_double_speed_needs_the_real_time(world):
    """At 2× the playhead moves 30 s per 15 s heartbeat; only 15 s (+ tolerance once) count."""
    course = make_course(owner_unit=world.district_a, lessons=1, duration=600)
    services.course_enrol(person=world.learner, course=course)
    lesson = course.lessons.get()
    services.lesson_start(person=world.learner, lesson=lesson, now=at(0))
    for i in range(1, 21):  # 300 s of wall time, playhead reaches the end
        result = beat(world.learner, lesson, min(30 * i, 600), 15 * i)
    assert result.watched_seconds <= 300 + 10
    assert not result.lesson_done


def test_removing_a_lesson_recounts_progress(world):
    services.course_enrol(person=world.learner, course=world.course)
    watch_whole(world.learner, world.lessons[0], 0)
    extra = make_course(owner_unit=world.district_a)  # unrelated course stays untouched
    services.lesson_delete(actor=world.unit_admin, lesson=world.lessons[1])
    enrolment = Enrolment.objects.get(course=world.course)
    assert enrolment.lessons_done == 1
    assert enrolment.completed_at is not None  # the only remaining lesson is done
    assert extra.lesson_count == 2


def test_heartbeat_time_is_server_time_by_default(world, playing):
    LessonProgress.objects.update(last_heartbeat_at=timezone.now() - dt.timedelta(seconds=15),
                                  accounted_until=timezone.now() - dt.timedelta(seconds=15))
    result = services.lesson_heartbeat(person_id=world.learner.pk, lesson_id=playing.pk, position=15)
    assert 14 <= result.watched_seconds <= 15 + 10


# --- The player's cookie-less heartbeat endpoint ------------------------------------------------------


@pytest.fixture
def token(world, playing):
    from courses import player

    return player.heartbeat_token(person_id=world.learner.pk, lesson_id=playing.pk)


def post_beat(client, lesson, body, token):
    import json

    return client.post(f"/courses/heartbeat/{lesson.pk}/", data=json.dumps(body), content_type="application/json",
                       HTTP_X_HEARTBEAT_TOKEN=token)


def test_the_player_endpoint_costs_two_queries_in_all(client, world, playing, token):
    LessonProgress.objects.update(last_heartbeat_at=timezone.now() - dt.timedelta(seconds=15),
                                  accounted_until=timezone.now() - dt.timedelta(seconds=15))
    with CaptureQueriesContext(connection) as queries:
        response = post_beat(client, playing, {"position": 15, "client_time": timezone.now().isoformat()}, token)
    assert response.status_code == 200, response.content
    assert 14 <= response.json()["watched_seconds"] <= 15 + 10
    assert len(queries) == 2, [q["sql"] for q in queries]


def test_the_player_endpoint_refuses_bad_tokens_and_other_lessons(client, world, playing, token):
    assert post_beat(client, playing, {"position": 1}, "forged").status_code == 403
    assert post_beat(client, world.lessons[1], {"position": 1}, token).status_code == 403
    from courses import player

    other = player.heartbeat_token(person_id=world.colleague.pk, lesson_id=playing.pk)
    response = post_beat(client, playing, {"position": 1}, other)  # the colleague never opened it
    assert response.status_code == 400 and "lesson" in response.json()
    assert LessonProgress.objects.get().heartbeat_count == 0


def test_an_expired_token_is_refused(client, world, playing, token, settings):
    settings.COURSES_HEARTBEAT_TOKEN_SECONDS = -1
    response = post_beat(client, playing, {"position": 1}, token)
    assert response.status_code == 403 and "expired" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"position": "15"}, "position"), ({}, "position"), ({"position": 1, "client_time": "soon"}, "client_time"),
     ({"position": 1, "speed": 2}, "speed")],
)
def test_the_player_endpoint_names_bad_fields(client, world, playing, token, body, field):
    response = post_beat(client, playing, body, token)
    assert response.status_code == 400 and field in response.json() and response.json()["detail"]
    assert LessonProgress.objects.get().heartbeat_count == 0


def test_start_hands_out_the_heartbeat_token(client, world, playing):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(world.learner)
    body = api.post(f"/api/v1/courses/lessons/{playing.pk}/start/").json()
    assert body["heartbeat_url"] == f"/courses/heartbeat/{playing.pk}/"
    response = post_beat(client, playing, {"position": 0}, body["heartbeat_token"])
    assert response.status_code == 200


def test_the_exam_engine_hook_completes_a_course_whose_quiz_was_passed(world):
    Course.objects.filter(pk=world.course.pk).update(quiz_exam_id=41)
    world.course.refresh_from_db()
    services.course_enrol(person=world.learner, course=world.course)
    watch_whole(world.learner, world.lessons[0], 0)
    watch_whole(world.learner, world.lessons[1], 1000)
    assert not CreditEntry.objects.exists()
    assert services.quiz_exam_passed(person=world.learner, exam_id=99, passed_at=timezone.now()) == 0
    assert services.quiz_exam_passed(person=world.learner, exam_id=41, passed_at=timezone.now()) == 1
    assert Enrolment.objects.get().completed_at is not None
    assert CreditEntry.objects.filter(person=world.learner, source_kind="course").count() == 1
    services.quiz_exam_passed(person=world.learner, exam_id=41, passed_at=timezone.now())  # twice: no change
    assert CreditEntry.objects.filter(person=world.learner, source_kind="course").count() == 1


def test_the_hook_is_registered_with_the_exam_engine(settings):
    assert "courses.services.quiz_exam_passed" in settings.EVALUATIONS_ON_EXAM_PASSED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="asynchronous commit is PostgreSQL's")
def test_a_heartbeat_on_its_own_commits_without_waiting_and_stays_exact(world, playing):
    """Outside a transaction a plain heartbeat is committed asynchronously (its statement's
    transaction only); the completing one and everything else stay synchronous."""
    beat(world.learner, playing, 15, 15)
    with CaptureQueriesContext(connection) as queries:
        beat(world.learner, playing, 30, 30)
    assert len(queries) == 2
    assert "set_config('synchronous_commit', 'off', true)" in queries[1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"  # the setting ended with the heartbeat's transaction
    row = LessonProgress.objects.get()
    assert (row.position_seconds, row.watched_seconds, row.heartbeat_count) == (30, 30, 2)

    with CaptureQueriesContext(connection) as played:
        assert watch_whole(world.learner, world.lessons[1], 100).lesson_done
    saves = [q["sql"] for q in played if "heartbeat_count = heartbeat_count + 1" in q["sql"]]
    completing = [sql for sql in saves if "completed_at = NULL" not in sql]
    assert "set_config" in saves[0]
    assert completing and "set_config" not in completing[0]  # the heartbeat that finishes the lesson
