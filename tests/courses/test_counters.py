"""Buffered click/view counts and the "studying now" presence set."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses import counters, services
from courses.models import CounterFlush, Course, CourseDailyStat
from tests.courses.factories import make_course

pytestmark = pytest.mark.django_db
local_only = pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="local-memory back end only")


@pytest.fixture(autouse=True)
def _no_inline_flush(settings):
    settings.COURSES_COUNTER_INLINE_FLUSH = False


def test_a_click_writes_nothing_to_the_database(world):
    with CaptureQueriesContext(connection) as queries:
        for _ in range(50):
            counters.track(course_id=world.course.pk, cadre_level_id=world.ke.pk, person_id=world.learner.pk)
    assert len(queries) == 0
    world.course.refresh_from_db()
    assert world.course.click_count == 0


def test_flushing_adds_buffered_clicks_per_day_and_level_and_to_the_course(world):
    other = make_course(owner_unit=world.district_a)
    for _ in range(3):
        counters.track(course_id=world.course.pk, cadre_level_id=world.ke.pk)
    counters.track(course_id=world.course.pk, cadre_level_id=world.chu.pk)
    counters.track(course_id=world.course.pk, cadre_level_id=None, kind=counters.VIEW)
    counters.track(course_id=other.pk, cadre_level_id=world.ke.pk)
    written = counters.counters_flush(include_current=True)
    assert written == 6
    stats = {(s.course_id, s.cadre_level_key): (s.clicks, s.views) for s in CourseDailyStat.objects.all()}
    assert stats[(world.course.pk, world.ke.pk)] == (3, 0)
    assert stats[(world.course.pk, world.chu.pk)] == (1, 0)
    assert stats[(world.course.pk, 0)] == (0, 1)
    world.course.refresh_from_db()
    assert (world.course.click_count, world.course.view_count) == (4, 1)
    # A second flush adds the new clicks to the same rows.
    counters.track(course_id=world.course.pk, cadre_level_id=world.ke.pk)
    counters.counters_flush(include_current=True)
    assert CourseDailyStat.objects.get(course=world.course, cadre_level_key=world.ke.pk).clicks == 4
    assert Course.objects.get(pk=world.course.pk).click_count == 5


def test_flushing_an_empty_buffer_writes_nothing(world):
    with CaptureQueriesContext(connection) as queries:
        assert counters.counters_flush(include_current=True) == 0
    assert len(queries) == 0


def test_the_current_minute_is_kept_back_for_late_clicks(world):
    counters.track(course_id=world.course.pk, cadre_level_id=None)
    assert counters.counters_flush() == 0
    assert counters.counters_flush(include_current=True) == 1


def test_a_bucket_already_written_is_not_written_again(world):
    counts = counters.Counter({f"c:{world.course.pk}:0": 2})
    name = "202504080800:abc"
    assert counters._write_bucket(name, counts) == 2
    assert counters._write_bucket(name, counts) == 0
    assert Course.objects.get(pk=world.course.pk).click_count == 2
    assert CounterFlush.objects.filter(bucket=name).count() == 1


def test_clicks_of_a_deleted_course_are_dropped(world):
    gone = make_course(owner_unit=world.district_a)
    counters.track(course_id=gone.pk, cadre_level_id=None)
    gone.delete()
    assert counters.counters_flush(include_current=True) == 0


@local_only
def test_the_embedded_default_flushes_inline_once_the_interval_passed(world, settings):
    settings.COURSES_COUNTER_INLINE_FLUSH = True
    settings.COURSES_COUNTER_FLUSH_SECONDS = 0
    counters.track(course_id=world.course.pk, cadre_level_id=None)
    assert Course.objects.get(pk=world.course.pk).click_count == 1


def test_studying_now_counts_different_people_once(world):
    for person in (world.learner, world.colleague, world.learner):
        counters.track(person_id=person.pk)
    assert counters.studying_now() == 2


def test_studying_now_forgets_people_after_the_presence_window(world, settings, monkeypatch):
    counters.track(person_id=world.learner.pk)
    now = counters._minute()
    monkeypatch.setattr(counters, "_minute", lambda now_=None: now + settings.COURSES_PRESENCE_MINUTES)
    assert counters.studying_now() == 0


def test_the_periodic_flush_service_also_purges_old_markers(world):
    counters.track(course_id=world.course.pk, cadre_level_id=None)
    counters.counters_flush(include_current=True)
    assert services.counters_flush() == 0  # nothing left in a closed bucket
    assert CounterFlush.objects.count() == 1


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_redis_backend_round_trip(world, settings):
    """With Redis: hash buckets, rename-then-read flush, HyperLogLog presence."""
    counters.track(course_id=world.course.pk, cadre_level_id=world.ke.pk, person_id=world.learner.pk)
    counters.track(course_id=world.course.pk, cadre_level_id=world.ke.pk, person_id=world.colleague.pk)
    assert counters.studying_now() == 2
    assert counters.counters_flush(include_current=True) == 2
    assert Course.objects.get(pk=world.course.pk).click_count == 2


def test_a_person_is_marked_present_in_redis_once_per_minute_per_process():
    counters.reset_local_buffer()
    assert counters._first_mark_this_minute(7, 1000) is True
    assert counters._first_mark_this_minute(7, 1000) is False
    assert counters._first_mark_this_minute(8, 1000) is True
    # A new minute starts afresh (and forgets the previous one).
    assert counters._first_mark_this_minute(7, 1001) is True
    assert counters._first_mark_this_minute(8, 1001) is True
    assert set(counters._marked) == {1001}
