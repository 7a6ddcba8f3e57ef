"""Once means once under concurrency: 50 simultaneous submissions of one person's survey
store exactly one; 50 simultaneous confirmations of an award credit once. Threads need a
real database server: these run on PostgreSQL (DATABASE_URL), and a sequential double
submission is checked on every database. The rows the migrations seed (award types,
tracks) are put back for transactional tests by tests/conftest.py."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from credits.models import CreditEntry
from evaluations import services
from evaluations.models import (
    Award,
    AwardType,
    Survey,
    SurveyAnswer,
    SurveyRespondent,
    SurveyResponse,
)
from org.models import Role
from tests.evaluations.factories import attendees, closed_class
from tests.factories import OrgTree, RoleGrantFactory, UserFactory

THREADS = 50


def _race(work) -> Counter:
    """Run `work()` in THREADS threads released at the same instant; count the outcomes."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run():
        try:
            barrier.wait()
            work()
            outcome = "ok"
        except ValidationError:
            outcome = "refused"
        except Exception as exc:  # noqa: BLE001 - any other error is a failure of the guarantee
            outcome = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Counter(outcomes)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_submissions_of_one_person_store_exactly_one():
    tree = OrgTree()
    session = closed_class(host=tree.district_a, lecturer=UserFactory(unit=tree.district_a), attendees=2)
    survey = services.survey_open(session=session)
    person = attendees(session)[0]
    answers = {q.pk: 5 for q in survey.questions.all()}
    outcomes = _race(lambda: services.survey_submit(session=session, person=person, answers=answers))
    assert outcomes == Counter({"ok": 1, "refused": THREADS - 1})
    assert SurveyRespondent.objects.filter(survey=survey, person=person).count() == 1
    assert SurveyResponse.objects.filter(survey=survey).count() == 1
    assert SurveyAnswer.objects.filter(response__survey=survey).count() == len(answers)
    assert Survey.objects.get(pk=survey.pk).response_count == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_people_answering_at_once_are_all_counted():
    tree = OrgTree()
    session = closed_class(host=tree.district_a, attendees=THREADS)
    survey = services.survey_open(session=session)
    answers = {q.pk: 4 for q in survey.questions.all()}
    people = iter(attendees(session))
    lock = threading.Lock()

    def submit():
        with lock:
            person = next(people)
        services.survey_submit(session=session, person=person, answers=answers)

    assert _race(submit) == Counter({"ok": THREADS})
    assert Survey.objects.get(pk=survey.pk).response_count == THREADS == SurveyResponse.objects.count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_confirmations_credit_the_award_once():
    tree = OrgTree()
    admin = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.UNIT_ADMIN)
    person = UserFactory(unit=tree.township_a1)
    award = Award.objects.create(award_type=AwardType.objects.get(code="excellent_lecturer"), year=2024,
                                 person=person, unit=person.unit)
    outcomes = _race(lambda: services.award_confirm(actor=admin, award=award))
    assert outcomes == Counter({"ok": 1, "refused": THREADS - 1})
    assert CreditEntry.objects.filter(person=person).count() == 1


@pytest.mark.django_db
def test_a_sequential_double_submission_stores_one_on_any_database():
    tree = OrgTree()
    session = closed_class(host=tree.district_a, attendees=1)
    survey = services.survey_open(session=session)
    person = attendees(session)[0]
    answers = {q.pk: 5 for q in survey.questions.all()}
    results = []
    for _ in range(2):
        try:
            services.survey_submit(session=session, person=person, answers=answers)
            results.append("ok")
        except ValidationError:
            results.append("refused")
    assert results == ["ok", "refused"]
    assert SurveyResponse.objects.count() == 1 and SurveyRespondent.objects.count() == 1


@pytest.mark.django_db
def test_the_unique_respondent_key_refuses_a_second_row_even_bypassing_the_service():
    from django.db import IntegrityError, transaction

    tree = OrgTree()
    session = closed_class(host=tree.district_a, attendees=1)
    survey = services.survey_open(session=session)
    person = attendees(session)[0]
    SurveyRespondent.objects.create(survey=survey, person=person)
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyRespondent.objects.create(survey=survey, person=person)
