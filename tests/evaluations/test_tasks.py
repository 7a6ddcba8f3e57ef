"""Background work: tasks take ids or nothing, call one service, are safe to run twice, and
every periodic entry has an expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from evaluations import tasks
from evaluations.models import Attempt, Award, Survey
from learning_portal.schedule import BEAT_SCHEDULE
from tests.evaluations.factories import answer_all, closed_class, make_exam
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_every_evaluations_beat_entry_expires():
    entries = {k: v for k, v in BEAT_SCHEDULE.items() if k.startswith("evaluations.")}
    assert set(entries) == {"evaluations.open_due_surveys", "evaluations.remind_due_surveys",
                            "evaluations.expire_due_attempts", "evaluations.compute_nominations"}
    assert all(entry["options"]["expires"] > 0 for entry in entries.values())


def test_the_survey_jobs_open_and_remind_once(tree):
    closed_class(host=tree.district_a, attendees=2, closed_at=timezone.now() - dt.timedelta(days=2, hours=12))
    assert tasks.open_due_surveys.delay().get() == 1
    assert tasks.open_due_surveys.delay().get() == 0
    assert tasks.remind_due_surveys.delay().get() == 2
    assert tasks.remind_due_surveys.delay().get() == 0
    assert Survey.objects.get().reminded_at is not None


def test_the_nomination_job_for_a_year_is_idempotent(tree):
    lecturer = UserFactory(unit=tree.township_a1)
    start = timezone.make_aware(dt.datetime(2024, 4, 1, 16, 30))
    answer_all(closed_class(host=tree.district_a, lecturer=lecturer, attendees=5, start=start), [5, 5, 5, 5, 4])
    first = tasks.compute_nominations.delay(2024).get()
    assert first[2024]["created"] >= 1
    assert tasks.compute_nominations.delay(2024).get()[2024]["created"] == 0
    assert Award.objects.filter(person=lecturer, award_type__code="excellent_lecturer").exists()


def test_the_expiry_job_grades_attempts_whose_time_ran_out(tree):
    exam = make_exam(tree.district_a, opens_at=timezone.now() - dt.timedelta(hours=3))
    person = UserFactory(unit=tree.township_a1)
    from evaluations import services

    past = timezone.now() - dt.timedelta(hours=2)
    attempt = services.attempt_start(exam=exam, person=person, now=past)
    assert tasks.expire_due_attempts.delay().get() == 1
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.EXPIRED and attempt.percent == 0
