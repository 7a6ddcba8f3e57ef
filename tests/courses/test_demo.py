"""The demo catalog: built at small scale, consistent counters, idempotent."""

from __future__ import annotations

import io
import random

import pytest
from django.db.models import Count, F

from courses import demo
from courses.models import Course, Enrolment, Lesson, Like, Rating
from credits.models import CreditEntry
from org import demo as org_demo

pytestmark = pytest.mark.django_db


def test_the_demo_catalog_is_consistent_and_idempotent(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    org_demo.demo_organisation_build(staff=80, seed=1)
    out = io.StringIO()
    demo.seed(staff_count=80, rng=random.Random(1), stdout=out)
    assert Course.objects.count() == 80
    assert Course.objects.filter(code="DEMO-C0001").exists()
    course = Course.objects.filter(status="online").annotate(n=Count("lessons")).order_by("-enrolment_count").first()
    assert course.lesson_count == course.n > 0
    assert course.enrolment_count == Enrolment.objects.filter(course=course).count()
    assert course.like_count == Like.objects.filter(course=course).count()
    assert course.rating_count == Rating.objects.filter(course=course).count()
    assert Lesson.objects.filter(file_kind="pdf").exists()
    completed = Enrolment.objects.filter(completed_at__isnull=False)
    assert completed.exists()
    assert CreditEntry.objects.filter(source_kind="course").count() == completed.count()
    assert completed.filter(credit_entry_id__isnull=True).count() == 0
    # Some courses belong to a district; only people who can see a course study it.
    assert Course.objects.filter(owner_unit__isnull=False).exists()
    assert not Enrolment.objects.filter(course__owner_unit__isnull=False).exclude(
        person__unit__path__startswith=F("course__owner_unit__path")
    ).exists()
    before = (Course.objects.count(), Enrolment.objects.count())
    demo.seed(staff_count=80, rng=random.Random(1), stdout=out)
    assert (Course.objects.count(), Enrolment.objects.count()) == before
    assert "already present" in out.getvalue()
