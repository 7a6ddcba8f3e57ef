"""The evaluations API: the permission matrix (role × inside / outside the grant's subtree),
the anonymity of everything a lecturer or admin can read, bad input, and query counts.

Grants are on district A. "inside" objects live in township A2, "outside" in township B1.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from evaluations import services
from evaluations.models import AppraisalGrade, Award, AwardType, SurveyResponse
from tests.evaluations.conftest import PLACES, ROLES, actor_for
from tests.evaluations.factories import (
    answer_all,
    attendees,
    closed_class,
    make_exam,
    make_question,
)
from tests.factories import UserFactory
from tests.lectures.factories import AttendanceFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/evaluations"
VIEWERS = {"unit_admin", "manager", "class_teacher", "system_admin"}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


class World:
    def __init__(self, tree, role: str) -> None:
        self.actor = actor_for(role, tree)
        self.units = {"inside": tree.township_a2, "outside": tree.township_b1}
        self.lecturers = {p: UserFactory(unit=u, name=f"{p}讲师") for p, u in self.units.items()}
        self.classes = {}
        self.surveys = {}
        for place, unit in self.units.items():
            session = closed_class(host=unit, lecturer=self.lecturers[place], attendees=5,
                                   start=dt.datetime.now(dt.UTC) - dt.timedelta(days=10),
                                   closed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=9))
            self.classes[place] = session
            self.surveys[place] = answer_all(session, [5, 4, 4, 3, 5], comment=f"{place}意见")
        excellent = AwardType.objects.get(code="excellent_lecturer")
        self.awards = {
            place: Award.objects.create(award_type=excellent, year=2024, person=self.lecturers[place], unit=unit)
            for place, unit in self.units.items()
        }
        self.exams = {place: make_exam(unit, questions=3, draw=2) for place, unit in self.units.items()}
        self.questions = {place: make_question(unit) for place, unit in self.units.items()}


@pytest.fixture(params=ROLES)
def world(request, tree):
    return World(tree, request.param), request.param


def _sees(role: str, place: str) -> bool:
    return role in VIEWERS and (place == "inside" or role == "system_admin")


@pytest.mark.parametrize("place", PLACES)
def test_survey_results_matrix(world, place):
    w, role = world
    client = _client(w.actor)
    survey = w.surveys[place]
    listed = {row["id"] for row in client.get(f"{API}/surveys/").json()["results"]}
    response = client.get(f"{API}/surveys/{survey.pk}/results/")
    if _sees(role, place):
        assert survey.pk in listed
        assert response.status_code == 200 and response.json()["available"] is True
    else:
        assert survey.pk not in listed
        assert response.status_code == 404


@pytest.mark.parametrize("place", PLACES)
def test_award_matrix(world, place):
    w, role = world
    client = _client(w.actor)
    award = w.awards[place]
    listed = {row["id"] for row in client.get(f"{API}/awards/").json()["results"]}
    confirm = client.post(f"{API}/awards/{award.pk}/confirm/", {}, format="json")
    award.refresh_from_db()
    if not _sees(role, place):
        assert award.pk not in listed and confirm.status_code == 404
    elif role in ("unit_admin", "system_admin"):
        assert award.pk in listed and confirm.status_code == 200 and award.status == Award.Status.CONFIRMED
    else:
        assert award.pk in listed and confirm.status_code == 403
    if confirm.status_code != 200:
        assert award.status == Award.Status.NOMINATED


@pytest.mark.parametrize("place", PLACES)
def test_exam_results_and_question_bank_matrix(world, place):
    w, role = world
    client = _client(w.actor)
    exam, question = w.exams[place], w.questions[place]
    results = client.get(f"{API}/exams/{exam.pk}/results/")
    units = client.get(f"{API}/exams/{exam.pk}/unit-results/")
    bank = client.get(f"{API}/questions/{question.pk}/")
    if _sees(role, place):
        assert results.status_code == 200 and units.status_code == 200
    else:
        assert results.status_code == 404 and units.status_code == 404
    manages = role == "system_admin" or (role == "unit_admin" and place == "inside")
    assert bank.status_code == (200 if manages else 404)


@pytest.mark.parametrize("place", PLACES)
def test_honours_matrix(world, place):
    w, role = world
    award = w.awards[place]
    Award.objects.filter(pk=award.pk).update(status=Award.Status.CONFIRMED)
    listed = {row["id"] for row in _client(w.actor).get(f"{API}/honours/").json()["results"]}
    # Everyone under district A sees its winners; only the system admin sees district B's.
    visible = place == "inside" or role == "system_admin"
    assert (award.pk in listed) is visible


def test_lecturer_stats_show_oneself_and_people_in_scope_only(world):
    w, role = world
    rows = _client(w.actor).get(f"{API}/lecturer-stats/?year={w.classes['inside'].start.year}").json()["results"]
    people = {row["person"] for row in rows}
    expected = set()
    if role in VIEWERS:
        expected.add(w.lecturers["inside"].pk)
    if role == "system_admin":
        expected.add(w.lecturers["outside"].pk)
    assert people == expected


# --- Anonymity through the API --------------------------------------------------------------------


def test_nothing_a_lecturer_or_admin_can_read_says_who_answered(tree):
    w = World(tree, "system_admin")
    session = w.classes["inside"]
    names = [p.name for p in attendees(session)] + [p.employee_no for p in attendees(session)]
    readers = [w.actor, w.lecturers["inside"]]
    for reader in readers:
        client = _client(reader)
        survey = w.surveys["inside"]
        bodies = [
            client.get(f"{API}/surveys/").content,
            client.get(f"{API}/surveys/{survey.pk}/").content,
            client.get(f"{API}/surveys/{survey.pk}/results/").content,
            client.get(f"{API}/surveys/{survey.pk}/export/?fmt=csv").content,
        ]
        assert "inside意见" in bodies[-1].decode("utf-8")
        for body in bodies:
            text = body.decode("utf-8")
            assert not any(name in text for name in names)
            assert "respondent" not in text and "person" not in text
        results = client.get(f"{API}/surveys/{survey.pk}/results/").json()
        assert set(results) == {"session", "available", "reason", "attendees", "responses", "response_rate",
                                "satisfaction_rate", "questions", "comments"}
        assert results["comments"] == ["inside意见"] * 5
    assert SurveyResponse.objects.filter(respondent__isnull=False).count() == 0


def test_an_attendee_fills_the_survey_through_the_api_once(tree):
    session = closed_class(host=tree.district_a, attendees=2, closed_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    person = attendees(session)[0]
    client = _client(person)
    pending = client.get(f"{API}/survey-forms/").json()["results"]
    assert [p["session"] for p in pending] == [session.pk]
    form = client.get(f"{API}/survey-forms/{session.pk}/").json()
    answers = {str(q["id"]): 5 for q in form["questions"]}
    assert client.post(f"{API}/survey-forms/{session.pk}/", {"answers": answers}, format="json").status_code == 201
    again = client.post(f"{API}/survey-forms/{session.pk}/", {"answers": answers}, format="json")
    assert again.status_code == 400 and "already rated" in again.json()["session"][0]
    extra = client.post(f"{API}/survey-forms/{session.pk}/", {"answers": answers, "name": "x"}, format="json")
    assert extra.status_code == 400 and "name" in extra.json()
    outsider = _client(UserFactory(unit=tree.district_b))
    assert outsider.get(f"{API}/survey-forms/{session.pk}/").status_code == 404
    assert SurveyResponse.objects.count() == 1


def test_bad_survey_values_get_a_message_naming_the_question(tree):
    session = closed_class(host=tree.district_a, attendees=1, closed_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    client = _client(attendees(session)[0])
    form = client.get(f"{API}/survey-forms/{session.pk}/").json()
    answers = {str(q["id"]): 9 for q in form["questions"]}
    response = client.post(f"{API}/survey-forms/{session.pk}/", {"answers": answers}, format="json")
    assert response.status_code == 400
    assert form["questions"][0]["text"] in " ".join(response.json()["answers"])
    assert SurveyResponse.objects.count() == 0


# --- Exams through the API --------------------------------------------------------------------------


def test_the_api_refuses_a_second_submission_and_foreign_questions(tree):
    learner = UserFactory(unit=tree.township_a1)
    exam = make_exam(tree.district_a, questions=3, draw=2)
    client = _client(learner)
    paper = client.post(f"{API}/exams/{exam.pk}/start/").json()
    foreign = make_question(tree.district_a)
    bad = client.put(f"{API}/attempts/{paper['id']}/answers/", {"answers": {str(foreign.pk): [1]}}, format="json")
    assert bad.status_code == 400 and str(foreign.pk) in " ".join(bad.json()["answers"])
    answers = {str(q["question"]): [q["choices"][0]["id"]] for q in paper["questions"]}
    done = client.post(f"{API}/attempts/{paper['id']}/submit/", {"answers": answers}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "submitted"
    assert "questions" not in done.json()
    twice = client.post(f"{API}/attempts/{paper['id']}/submit/", {"answers": answers}, format="json")
    assert twice.status_code == 400 and "already submitted" in twice.json()["attempt"][0]
    other = _client(UserFactory(unit=tree.township_a1))
    assert other.get(f"{API}/attempts/{paper['id']}/").status_code == 404


def test_a_learner_cannot_read_the_question_bank_or_exam_results(tree):
    learner = UserFactory(unit=tree.township_a1)
    exam = make_exam(tree.district_a)
    client = _client(learner)
    assert client.get(f"{API}/questions/").json()["count"] == 0
    assert client.get(f"{API}/exams/{exam.pk}/results/").status_code == 403
    assert client.get(f"{API}/exams/{exam.pk}/").status_code == 200


def test_award_confirmation_twice_credits_once_through_the_api(tree):
    w = World(tree, "unit_admin")
    client = _client(w.actor)
    award = w.awards["inside"]
    assert client.post(f"{API}/awards/{award.pk}/confirm/", {"citation": "优秀"}, format="json").status_code == 200
    second = client.post(f"{API}/awards/{award.pk}/confirm/", {}, format="json")
    assert second.status_code == 400 and "already confirmed" in second.json()["status"][0]
    from credits.models import CreditEntry

    assert CreditEntry.objects.filter(idempotency_key=f"award:{award.pk}").count() == 1


def test_question_import_errors_come_back_as_rows_and_nothing_is_written(tree):
    from evaluations.models import Question
    from tests.evaluations.test_imports import HEADER, xlsx

    w = World(tree, "unit_admin")
    before = Question.objects.count()
    upload = xlsx([HEADER, ["单选", "题", "甲", "乙", "", "", "C", "", ""]])
    response = _client(w.actor).post(f"{API}/questions/import/", {"unit": tree.district_a.pk, "file": upload},
                                     format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"sheet": "题库", "row": 2, "column": "答案",
                                          "message": "The answer names option C, which is empty."}]
    assert Question.objects.count() == before


# --- Query counts ------------------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


def _grow(tree, admin, n: int) -> None:
    excellent = AwardType.objects.get(code="excellent_lecturer")
    for _ in range(n):
        lecturer = UserFactory(unit=tree.township_a2)
        session = closed_class(host=tree.township_a2, lecturer=lecturer, attendees=1,
                               start=dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC),
                               closed_at=dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC))
        services.survey_open(session=session)
        learner = UserFactory(unit=tree.township_a2)
        AttendanceFactory(session=session, person=learner)
        services.participation_rate(rater=lecturer, session=session, person=learner, score=4)
        AppraisalGrade.objects.create(person=learner, year=2024, grade="competent")
        Award.objects.create(award_type=excellent, year=2024, person=lecturer, unit=tree.township_a2,
                             status=Award.Status.CONFIRMED)
        exam = make_exam(tree.district_a, questions=1, draw=1)
        make_question(tree.township_a2, tags=["计数"])
        attempt = services.attempt_start(exam=exam, person=admin)
        services.attempt_submit(attempt=attempt, person=admin, answers={})


@pytest.mark.parametrize("url", [
    "/surveys/", "/awards/?year=2024", "/honours/", "/exams/", "/questions/", "/attempts/",
    "/lecturer-stats/?year=2024", "/participation-ratings/", "/award-types/", "/survey-forms/", "/appraisals/",
])
def test_list_endpoints_use_the_same_number_of_queries_for_3_and_15_rows(tree, url, django_assert_max_num_queries):
    admin = actor_for("unit_admin", tree)
    client = _client(admin)
    _grow(tree, admin, 3)
    small = _queries(client, f"{API}{url}")
    _grow(tree, admin, 12)
    with django_assert_max_num_queries(small):
        client.get(f"{API}{url}")


def test_exam_result_lists_use_the_same_number_of_queries_for_3_and_15_people(tree, django_assert_max_num_queries):
    admin = actor_for("unit_admin", tree)
    exam = make_exam(tree.district_a, questions=2, draw=1, attempts_allowed=3)

    def sit(n):
        for _ in range(n):
            person = UserFactory(unit=tree.township_a2)
            for _try in range(2):
                attempt = services.attempt_start(exam=exam, person=person)
                services.attempt_submit(attempt=attempt, person=person, answers={})

    client = _client(admin)
    sit(3)
    small = _queries(client, f"{API}/exams/{exam.pk}/results/")
    small_units = _queries(client, f"{API}/exams/{exam.pk}/unit-results/")
    sit(12)
    assert client.get(f"{API}/exams/{exam.pk}/results/").json()["count"] == 15
    with django_assert_max_num_queries(small):
        client.get(f"{API}/exams/{exam.pk}/results/")
    with django_assert_max_num_queries(small_units):
        client.get(f"{API}/exams/{exam.pk}/unit-results/")
