"""Exams: drawing from tags, shuffled options, a server-enforced deadline, attempts, grading,
points on pass exactly once, and the answers never leaving the server before submission."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from credits.models import CreditEntry
from evaluations import selectors, services
from evaluations.models import Attempt, AttemptQuestion, Choice, Exam
from org.models import Role
from tests.evaluations.factories import make_exam, make_question, right_answers, wrong_answers
from tests.factories import RoleGrantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def learner(tree):
    return UserFactory(unit=tree.township_a1)


@pytest.fixture
def exam(tree):
    return make_exam(tree.district_a, questions=6, draw=4, attempts_allowed=2)


def _stored(attempt: Attempt) -> list:
    return list(AttemptQuestion.objects.filter(attempt=attempt).order_by("position").values_list("selected", flat=True))


def test_an_attempt_draws_n_questions_from_the_tagged_pool_of_the_unit_and_its_ancestors(tree, learner):
    make_question(tree.city, tags=["宪法"])           # an ancestor's bank: may be drawn
    make_question(tree.district_a, tags=["宪法"])
    make_question(tree.district_a, tags=["档案法"])   # other tag: never drawn
    make_question(tree.district_b, tags=["宪法"])     # a sibling's bank: never drawn
    retired = make_question(tree.district_a, tags=["宪法"])
    retired.is_active = False
    retired.save()
    exam = make_exam(tree.district_a, questions=0, draw=2, tags=["宪法"])
    allowed = set(selectors.question_pool(exam).values_list("pk", flat=True))
    assert len(allowed) == 2
    attempt = services.attempt_start(exam=exam, person=learner)
    drawn = set(attempt.items.values_list("question_id", flat=True))
    assert drawn == allowed and attempt.total == 2


def test_options_are_shuffled_per_attempt(tree):
    exam = make_exam(tree.district_a, questions=1, draw=1, attempts_allowed=1)
    question = exam_question = selectors.question_pool(exam).get()
    for i in range(4):
        Choice.objects.create(question=question, text=f"追加{i}", sort_order=10 + i)
    orders = set()
    for _ in range(12):
        attempt = services.attempt_start(exam=exam, person=UserFactory(unit=tree.township_a1))
        order = attempt.items.get().choice_order
        assert sorted(order) == sorted(exam_question.choices.values_list("pk", flat=True))
        orders.add(tuple(order))
    assert len(orders) > 1  # 8! orders: twelve identical draws would be a broken shuffle


def test_the_paper_sent_before_submission_holds_no_answer_and_no_explanation(tree, learner, exam):
    api = APIClient()
    api.force_authenticate(learner)
    response = api.post(f"/api/v1/evaluations/exams/{exam.pk}/start/")
    assert response.status_code == 201
    body = response.json()
    text = json.dumps(body, ensure_ascii=False)
    assert "is_correct" not in text and "explanation" not in text and "解析" not in text and "review" not in body
    assert len(body["questions"]) == 4 and body["seconds_left"] > 0
    again = api.get(f"/api/v1/evaluations/attempts/{body['id']}/").json()
    assert "is_correct" not in json.dumps(again) and "解析" not in json.dumps(again, ensure_ascii=False)
    page = Client()
    page.force_login(learner)
    html = page.get(reverse("evaluations:attempt_take", args=[body["id"]])).content.decode()
    assert "解析" not in html and "is_correct" not in html
    right = Choice.objects.filter(question_id=body["questions"][0]["question"], is_correct=True).get()
    assert f'value="{right.pk}"' in html  # every option is there, with nothing marking the right one


def test_submitting_grades_and_credits_a_pass_once_per_exam_and_person(tree, learner, exam):
    first = services.attempt_start(exam=exam, person=learner)
    first = services.attempt_submit(attempt=first, person=learner, answers=right_answers(first))
    assert first.status == Attempt.Status.SUBMITTED and first.passed and first.percent == Decimal("100.00")
    assert first.correct == 4 and all(first.items.values_list("is_correct", flat=True))
    second = services.attempt_start(exam=exam, person=learner)
    services.attempt_submit(attempt=second, person=learner, answers=right_answers(second))
    entries = CreditEntry.objects.filter(person=learner, source_kind="exam")
    assert entries.count() == 1
    assert entries.get().idempotency_key == f"exam:{exam.pk}:{learner.pk}"
    assert entries.get().points == Decimal("1.00")


def test_a_fail_credits_nothing_and_the_pass_mark_is_inclusive(tree, learner):
    exam = make_exam(tree.district_a, questions=5, draw=5, pass_percent=60, attempts_allowed=3)
    attempt = services.attempt_start(exam=exam, person=learner)
    answers = wrong_answers(attempt)
    good = right_answers(attempt)
    for key in list(answers)[:2]:
        answers[key] = good[key]
    attempt = services.attempt_submit(attempt=attempt, person=learner, answers=answers)
    assert attempt.percent == Decimal("40.00") and not attempt.passed
    assert not CreditEntry.objects.exists()
    attempt = services.attempt_start(exam=exam, person=learner)
    answers = wrong_answers(attempt)
    good = right_answers(attempt)
    for key in list(answers)[:3]:
        answers[key] = good[key]
    attempt = services.attempt_submit(attempt=attempt, person=learner, answers=answers)
    assert attempt.percent == Decimal("60.00") and attempt.passed


def test_multiple_choice_is_right_only_with_exactly_the_right_options(tree, learner):
    make_question(tree.district_a, kind="multiple", options=4, right=(0, 2), tags=["多选"])
    exam = make_exam(tree.district_a, questions=0, draw=1, tags=["多选"], attempts_allowed=3)
    question = selectors.question_pool(exam).get()
    right = list(question.choices.filter(is_correct=True).values_list("pk", flat=True))
    for chosen, expected in ((right[:1], False), ([*right, question.choices.filter(is_correct=False).first().pk], False),
                             (right, True)):
        attempt = services.attempt_start(exam=exam, person=learner)
        attempt = services.attempt_submit(attempt=attempt, person=learner, answers={str(question.pk): chosen})
        assert attempt.passed is expected


def test_answers_after_the_deadline_are_refused_and_change_nothing(tree, learner, exam, settings):
    settings.EVALUATIONS_EXAM_GRACE_SECONDS = 15
    start = timezone.now()
    attempt = services.attempt_start(exam=exam, person=learner, now=start)
    assert attempt.deadline == start + dt.timedelta(minutes=30)
    late = attempt.deadline + dt.timedelta(seconds=16)
    before = _stored(attempt)
    for write in (services.attempt_answer, services.attempt_submit):
        with pytest.raises(ValidationError) as error:
            write(attempt=attempt, person=learner, answers=right_answers(attempt), now=late)
        assert "Time ran out" in str(error.value)
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.IN_PROGRESS and _stored(attempt) == before
    within_grace = attempt.deadline + dt.timedelta(seconds=10)
    services.attempt_answer(attempt=attempt, person=learner, answers=right_answers(attempt), now=within_grace)


def test_the_deadline_never_passes_the_exams_closing_time(tree, learner):
    now = timezone.now()
    exam = make_exam(tree.district_a, time_limit_minutes=60, closes_at=now + dt.timedelta(minutes=10))
    attempt = services.attempt_start(exam=exam, person=learner, now=now)
    assert attempt.deadline == exam.closes_at


def test_an_attempt_left_open_is_graded_on_its_saved_answers_when_time_runs_out(tree, learner, exam):
    start = timezone.now()
    attempt = services.attempt_start(exam=exam, person=learner, now=start)
    services.attempt_answer(attempt=attempt, person=learner, answers=right_answers(attempt), now=start)
    assert services.attempts_expire_due(now=attempt.deadline + dt.timedelta(minutes=1)) == 1
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.EXPIRED and attempt.passed
    assert attempt.submitted_at == attempt.deadline
    assert CreditEntry.objects.filter(person=learner).count() == 1
    assert services.attempts_expire_due(now=attempt.deadline + dt.timedelta(minutes=2)) == 0


def test_answers_for_questions_not_in_the_attempt_are_refused(tree, learner, exam):
    attempt = services.attempt_start(exam=exam, person=learner)
    foreign = make_question(tree.district_a)
    answers = right_answers(attempt)
    answers[str(foreign.pk)] = [foreign.choices.first().pk]
    with pytest.raises(ValidationError) as error:
        services.attempt_submit(attempt=attempt, person=learner, answers=answers)
    assert str(foreign.pk) in str(error.value)
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.IN_PROGRESS and all(s == [] for s in _stored(attempt))


def test_an_option_of_another_question_or_two_options_for_single_choice_are_refused(tree, learner, exam):
    attempt = services.attempt_start(exam=exam, person=learner)
    items = list(attempt.items.order_by("position"))
    other = items[1].choice_order[0]
    with pytest.raises(ValidationError):
        services.attempt_answer(attempt=attempt, person=learner, answers={str(items[0].question_id): [other]})
    with pytest.raises(ValidationError):
        services.attempt_answer(attempt=attempt, person=learner,
                                answers={str(items[0].question_id): items[0].choice_order[:2]})
    assert all(s == [] for s in _stored(attempt))


def test_a_second_submission_is_refused_and_changes_nothing(tree, learner, exam):
    attempt = services.attempt_start(exam=exam, person=learner)
    attempt = services.attempt_submit(attempt=attempt, person=learner, answers=wrong_answers(attempt))
    graded = (attempt.percent, attempt.passed, _stored(attempt))
    with pytest.raises(ValidationError) as error:
        services.attempt_submit(attempt=attempt, person=learner, answers=right_answers(attempt))
    assert "already submitted" in str(error.value)
    attempt.refresh_from_db()
    assert (attempt.percent, attempt.passed, _stored(attempt)) == graded
    assert not CreditEntry.objects.exists()


def test_attempts_are_limited_and_starting_twice_resumes(tree, learner, exam):
    first = services.attempt_start(exam=exam, person=learner)
    assert services.attempt_start(exam=exam, person=learner).pk == first.pk
    services.attempt_submit(attempt=first, person=learner, answers={})
    second = services.attempt_start(exam=exam, person=learner)
    services.attempt_submit(attempt=second, person=learner, answers={})
    with pytest.raises(ValidationError) as error:
        services.attempt_start(exam=exam, person=learner)
    assert "all 2 attempts" in str(error.value)
    assert Attempt.objects.filter(person=learner).count() == 2


def test_only_the_audience_may_sit_and_only_while_open(tree, exam):
    with pytest.raises(PermissionDenied):
        services.attempt_start(exam=exam, person=UserFactory(unit=tree.township_b1))
    closed = make_exam(tree.district_a, opens_at=timezone.now() - dt.timedelta(days=3),
                       closes_at=timezone.now() - dt.timedelta(days=1))
    draft = make_exam(tree.district_a, status=Exam.Status.DRAFT)
    for which in (closed, draft):
        with pytest.raises(ValidationError):
            services.attempt_start(exam=which, person=UserFactory(unit=tree.township_a1))
    assert not Attempt.objects.filter(exam__in=[closed, draft]).exists()


def test_someone_elses_attempt_cannot_be_answered(tree, learner, exam):
    attempt = services.attempt_start(exam=exam, person=learner)
    with pytest.raises(PermissionDenied):
        services.attempt_submit(attempt=attempt, person=UserFactory(unit=tree.township_a1), answers={})


def test_the_review_shows_answers_only_when_no_attempt_is_left(tree, learner, exam):
    first = services.attempt_start(exam=exam, person=learner)
    first = services.attempt_submit(attempt=first, person=learner, answers=wrong_answers(first))
    assert not selectors.can_review_answers(first)
    second = services.attempt_start(exam=exam, person=learner)
    services.attempt_submit(attempt=second, person=learner, answers=wrong_answers(second))
    first.refresh_from_db()
    assert selectors.can_review_answers(first)
    review = selectors.attempt_review(first)
    assert all(item.explanation for item in review)
    assert all(any(right for _id, _t, _c, right in item.choices) for item in review)


def test_results_per_person_take_the_best_attempt_and_per_unit_aggregate(tree, exam):
    a1, a2 = UserFactory(unit=tree.township_a1), UserFactory(unit=tree.township_a2)
    for person, tries in ((a1, [wrong_answers, right_answers]), (a2, [wrong_answers])):
        for answers in tries:
            attempt = services.attempt_start(exam=exam, person=person)
            services.attempt_submit(attempt=attempt, person=person, answers=answers(attempt))
    admin = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.UNIT_ADMIN)
    rows = {a.person_id: a for a in selectors.exam_person_results(exam, admin)}
    assert rows[a1.pk].percent == Decimal("100.00") and rows[a1.pk].attempts_used == 2
    assert rows[a2.pk].percent == Decimal("0.00") and not rows[a2.pk].passed
    units = {u.unit_id: u for u in selectors.exam_unit_results(exam, admin)}
    assert units[tree.township_a1.pk].passed == 1 and units[tree.township_a1.pk].pass_rate == Decimal("100.00")
    assert units[tree.township_a2.pk].people == 1 and units[tree.township_a2.pk].passed == 0
    admin_b = UserFactory(unit=tree.district_b)
    RoleGrantFactory(user=admin_b, unit=tree.district_b, role=Role.UNIT_ADMIN)
    assert list(selectors.exam_person_results(exam, admin_b)) == []


def test_publishing_needs_enough_questions_and_tells_the_audience(tree, django_capture_on_commit_callbacks):
    from org.models import Notification

    admin = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.UNIT_ADMIN)
    member = UserFactory(unit=tree.township_a2)
    exam = make_exam(tree.district_a, questions=2, draw=3, status=Exam.Status.DRAFT)
    with pytest.raises(ValidationError) as error:
        services.exam_publish(actor=admin, exam=exam)
    assert "only 2" in str(error.value)
    make_question(tree.district_a)
    with django_capture_on_commit_callbacks(execute=True):
        services.exam_publish(actor=admin, exam=exam)
    exam.refresh_from_db()
    assert exam.status == Exam.Status.PUBLISHED
    assert Notification.objects.filter(recipient=member, kind="evaluations.exam").exists()
    assert not Notification.objects.filter(recipient__unit=tree.township_b1, kind="evaluations.exam").exists()


def test_an_exam_people_sat_keeps_what_decided_their_grade(tree, learner, exam):
    admin = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.UNIT_ADMIN)
    services.attempt_start(exam=exam, person=learner)
    fields = {f: getattr(exam, f) for f in ("unit", "title", "question_count", "time_limit_minutes", "opens_at",
                                             "closes_at", "attempts_allowed", "pass_percent", "points_on_pass")}
    with pytest.raises(ValidationError) as error:
        services.exam_save(actor=admin, exam=exam, **{**fields, "pass_percent": 90})
    assert "pass_percent" in error.value.message_dict
    services.exam_save(actor=admin, exam=exam, **{**fields, "title": "改名的月考"})
    exam.refresh_from_db()
    assert exam.title == "改名的月考" and exam.pass_percent == 60


def test_a_question_used_in_an_attempt_keeps_its_options(tree, learner, exam):
    admin = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.UNIT_ADMIN)
    attempt = services.attempt_start(exam=exam, person=learner)
    question = attempt.items.first().question
    choices = [{"text": c.text, "is_correct": not c.is_correct} for c in question.choices.all()]
    with pytest.raises(ValidationError):
        services.question_save(actor=admin, question=question, unit=question.unit, kind=question.kind,
                               text=question.text, choices=choices)
    same = [{"text": c.text, "is_correct": c.is_correct} for c in question.choices.all()]
    services.question_save(actor=admin, question=question, unit=question.unit, kind=question.kind,
                           text="改写的题干", choices=same, tags=["新标签"])
    question.refresh_from_db()
    assert question.text == "改写的题干" and [t.name for t in question.tags.all()] == ["新标签"]


@pytest.mark.parametrize("kind, choices, message", [
    ("single", [{"text": "甲", "is_correct": True}, {"text": "乙", "is_correct": True}], "exactly one"),
    ("multiple", [{"text": "甲", "is_correct": False}, {"text": "乙", "is_correct": False}], "at least one"),
    ("true_false", [{"text": "对", "is_correct": True}], "two options"),
    ("single", [{"text": "甲", "is_correct": True}], "2 to 8"),
    ("essay", [], "Choose"),
])
def test_a_bad_question_is_refused_with_a_message(tree, kind, choices, message):
    admin = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.UNIT_ADMIN)
    with pytest.raises(ValidationError) as error:
        services.question_save(actor=admin, unit=tree.district_a, kind=kind, text="题", choices=choices)
    assert message in str(error.value)
    from evaluations.models import Question

    assert not Question.objects.exists()


def test_a_pass_calls_the_configured_hooks(tree, learner, exam, settings):
    settings.EVALUATIONS_ON_EXAM_PASSED = ["tests.evaluations.test_exams.record_pass"]
    RECORDED.clear()
    attempt = services.attempt_start(exam=exam, person=learner)
    services.attempt_submit(attempt=attempt, person=learner, answers=right_answers(attempt))
    assert [(learner.pk, exam.pk)] == RECORDED


RECORDED: list = []


def record_pass(*, person, exam_id, passed_at):
    RECORDED.append((person.pk, exam_id))


def test_a_district_admin_reads_the_city_exams_results_of_their_own_people_only(tree):
    exam = make_exam(tree.city, questions=2, draw=1)
    inside, outside = UserFactory(unit=tree.township_a2), UserFactory(unit=tree.township_b1)
    for person in (inside, outside):
        attempt = services.attempt_start(exam=exam, person=person)
        services.attempt_submit(attempt=attempt, person=person, answers=right_answers(attempt))
    admin = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.MANAGER)
    api = APIClient()
    api.force_authenticate(admin)
    rows = api.get(f"/api/v1/evaluations/exams/{exam.pk}/results/").json()["results"]
    assert [r["person"] for r in rows] == [inside.pk]
    units = api.get(f"/api/v1/evaluations/exams/{exam.pk}/unit-results/").json()["results"]
    assert [u["unit"] for u in units] == [tree.township_a2.pk]
