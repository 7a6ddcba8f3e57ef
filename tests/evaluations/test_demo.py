"""seed_demo for evaluations: answered surveys, ratings, a question bank, monthly exams with
attempts, appraisal grades and awards — idempotently, and anonymous like the real thing."""

from __future__ import annotations

import io
import random

import pytest

from evaluations import demo
from evaluations.models import (
    AppraisalGrade,
    Attempt,
    Award,
    Exam,
    ParticipationRating,
    Question,
    Survey,
    SurveyAnswer,
    SurveyRespondent,
    SurveyResponse,
)
from org import demo as org_demo

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (
        Survey, SurveyRespondent, SurveyResponse, SurveyAnswer, ParticipationRating, Question, Exam, Attempt,
        AppraisalGrade, Award)}


def _seed() -> str:
    out = io.StringIO()
    demo.seed(staff_count=300, rng=random.Random("2026:evaluations.demo.seed"), stdout=out)
    return out.getvalue()


def test_the_demo_seeds_every_part_once_and_keeps_surveys_anonymous(settings):
    from sessions import demo as sessions_demo

    org_demo.demo_organisation_build(staff=300)
    sessions_demo.seed(staff_count=300, rng=random.Random("2026:sessions.demo.seed"), stdout=io.StringIO())
    output = _seed()
    counts = _counts()
    assert counts["Question"] >= 20 and counts["Exam"] == 4
    assert counts["Attempt"] > 0 and counts["AppraisalGrade"] > 0
    if Survey.objects.exists():  # the micro-class demo made closed classes
        assert counts["SurveyResponse"] == counts["SurveyRespondent"] > 0
        assert SurveyResponse.objects.filter(respondent__isnull=False).count() == 0
        for survey in Survey.objects.all():
            assert survey.response_count == survey.responses.count()
    assert Exam.objects.filter(status="published", counts_for_awards=True).count() == 4
    assert "evaluations:" in output
    _seed()
    assert _counts() == counts


def test_the_demo_does_nothing_without_a_demo_organisation():
    assert "nothing seeded" in _seed()
    assert sum(_counts().values()) == 0
