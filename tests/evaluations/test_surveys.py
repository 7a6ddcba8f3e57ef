"""The satisfaction survey (课程质量满意度测评表): who may answer, when, once, what, and the
anonymity guarantees of what is stored and shown."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import models

from evaluations import selectors, services
from evaluations.models import (
    Survey,
    SurveyAnswer,
    SurveyRespondent,
    SurveyResponse,
    SurveyTemplate,
)
from org.models import Notification, Role, User
from sessions.models import Attendance
from tests.evaluations.factories import after_close, answer_all, attendees, closed_class
from tests.factories import OrgUnitFactory, RoleGrantFactory, UserFactory
from tests.lectures.factories import AttendanceFactory

pytestmark = pytest.mark.django_db


def _answers(survey: Survey, value: int = 4, overall: int | None = None) -> dict[int, int]:
    return {q.pk: (overall if overall is not None and q.is_overall else value) for q in survey.questions.all()}


@pytest.fixture
def klass(tree):
    lecturer = UserFactory(unit=tree.district_a, name="主讲人")
    return closed_class(host=tree.district_a, lecturer=lecturer, attendees=6)


def _inside(klass):
    return klass.closed_at + dt.timedelta(hours=2)


def _nothing_stored(survey: Survey) -> None:
    assert SurveyRespondent.objects.filter(survey=survey).count() == 0
    assert SurveyResponse.objects.filter(survey=survey).count() == 0
    assert SurveyAnswer.objects.filter(response__survey=survey).count() == 0
    survey.refresh_from_db()
    assert survey.response_count == 0


# --- Who, when, once ---------------------------------------------------------------------------


def test_an_attendee_answers_once_and_only_a_respondent_marker_names_them(klass):
    person = attendees(klass)[0]
    survey = services.survey_open(session=klass, now=_inside(klass))
    services.survey_submit(session=klass, person=person, answers=_answers(survey), comment="很实用", now=_inside(klass))
    assert SurveyRespondent.objects.filter(survey=survey, person=person).count() == 1
    response = SurveyResponse.objects.get(survey=survey)
    assert response.respondent_id is None
    assert response.comment == "很实用"
    assert SurveyAnswer.objects.filter(response=response).count() == survey.questions.count()
    survey.refresh_from_db()
    assert survey.response_count == 1


def test_a_second_submission_is_refused_and_changes_nothing(klass):
    person = attendees(klass)[0]
    survey = services.survey_open(session=klass, now=_inside(klass))
    services.survey_submit(session=klass, person=person, answers=_answers(survey, 5), now=_inside(klass))
    with pytest.raises(ValidationError) as error:
        services.survey_submit(session=klass, person=person, answers=_answers(survey, 1), now=_inside(klass))
    assert "already rated" in str(error.value)
    assert SurveyResponse.objects.filter(survey=survey).count() == 1
    assert set(SurveyAnswer.objects.filter(response__survey=survey).values_list("value", flat=True)) == {5}
    survey.refresh_from_db()
    assert survey.response_count == 1


@pytest.mark.parametrize("status", [Attendance.Status.ABSENT, Attendance.Status.EXCUSED, None])
def test_people_who_did_not_attend_cannot_answer(klass, tree, status):
    outsider = UserFactory(unit=tree.district_a)
    if status is not None:
        AttendanceFactory(session=klass, person=outsider, status=status)
    survey = services.survey_open(session=klass, now=_inside(klass))
    with pytest.raises(ValidationError) as error:
        services.survey_submit(session=klass, person=outsider, answers=_answers(survey), now=_inside(klass))
    assert "attended" in str(error.value)
    _nothing_stored(survey)


def test_a_late_attendee_may_answer(klass, tree):
    late = UserFactory(unit=tree.district_a)
    AttendanceFactory(session=klass, person=late, status=Attendance.Status.LATE)
    survey = services.survey_open(session=klass, now=_inside(klass))
    services.survey_submit(session=klass, person=late, answers=_answers(survey), now=_inside(klass))
    assert SurveyRespondent.objects.filter(person=late).exists()


def test_nobody_rates_their_own_class_even_if_marked_present(klass):
    lecturer = User.objects.get(name="主讲人")
    AttendanceFactory(session=klass, person=lecturer, status=Attendance.Status.PRESENT)
    survey = services.survey_open(session=klass, now=_inside(klass))
    with pytest.raises(ValidationError) as error:
        services.survey_submit(session=klass, person=lecturer, answers=_answers(survey), now=_inside(klass))
    assert "gave this class" in str(error.value)
    _nothing_stored(survey)


def test_answers_are_accepted_until_the_window_closes_and_not_after(klass, settings):
    settings.EVALUATIONS_SURVEY_WINDOW_DAYS = 3
    first, second = attendees(klass)[:2]
    survey = services.survey_open(session=klass, now=_inside(klass))
    assert survey.closes_at == klass.closed_at + dt.timedelta(days=3)
    services.survey_submit(session=klass, person=first, answers=_answers(survey),
                           now=survey.closes_at - dt.timedelta(seconds=1))
    with pytest.raises(ValidationError) as error:
        services.survey_submit(session=klass, person=second, answers=_answers(survey), now=survey.closes_at)
    assert "closed" in str(error.value)
    assert not SurveyRespondent.objects.filter(person=second).exists()
    survey.refresh_from_db()
    assert survey.response_count == 1


def test_a_class_not_yet_closed_has_no_survey(tree):
    from tests.lectures.factories import SessionFactory

    session = SessionFactory(host_unit=tree.district_a)
    person = UserFactory(unit=tree.district_a)
    AttendanceFactory(session=session, person=person)
    with pytest.raises(ValidationError):
        services.survey_submit(session=session, person=person, answers={})
    assert not Survey.objects.exists()


@pytest.mark.parametrize("bad", [0, 6, -1, "5", 4.5, True, None, [4]])
def test_out_of_range_or_non_integer_values_are_refused_naming_the_question(klass, bad):
    person = attendees(klass)[0]
    survey = services.survey_open(session=klass, now=_inside(klass))
    overall = survey.questions.get(is_overall=True)
    answers = _answers(survey)
    answers[overall.pk] = bad
    with pytest.raises(ValidationError) as error:
        services.survey_submit(session=klass, person=person, answers=answers, now=_inside(klass))
    assert overall.text in " ".join(error.value.message_dict["answers"])
    _nothing_stored(survey)


def test_a_missing_answer_or_a_foreign_question_is_refused(klass):
    person = attendees(klass)[0]
    survey = services.survey_open(session=klass, now=_inside(klass))
    answers = _answers(survey)
    dropped = survey.questions.first()
    del answers[dropped.pk]
    with pytest.raises(ValidationError) as error:
        services.survey_submit(session=klass, person=person, answers=answers, now=_inside(klass))
    assert dropped.text in str(error.value)
    answers = _answers(survey)
    answers[999999] = 3
    with pytest.raises(ValidationError) as error:
        services.survey_submit(session=klass, person=person, answers=answers, now=_inside(klass))
    assert "999999" in str(error.value)
    _nothing_stored(survey)


def test_a_long_comment_is_refused(klass):
    person = attendees(klass)[0]
    survey = services.survey_open(session=klass, now=_inside(klass))
    with pytest.raises(ValidationError) as error:
        services.survey_submit(session=klass, person=person, answers=_answers(survey), comment="长" * 1001,
                               now=_inside(klass))
    assert "comment" in error.value.message_dict
    _nothing_stored(survey)


# --- Anonymity of what is stored ---------------------------------------------------------------------


def test_a_response_row_has_no_link_to_a_person_no_time_and_a_random_key():
    fields = {f.name: f for f in SurveyResponse._meta.get_fields() if f.concrete}
    person_links = [f for f in fields.values() if f.is_relation and f.related_model is User]
    assert [f.name for f in person_links] == ["respondent"]  # only for non-anonymous surveys
    assert not any(isinstance(f, models.DateTimeField | models.TimeField) for f in fields.values())
    assert isinstance(fields["id"], models.UUIDField)
    answer_fields = [f for f in SurveyAnswer._meta.get_fields() if f.concrete]
    assert not any(f.is_relation and f.related_model is User for f in answer_fields)
    assert isinstance(SurveyAnswer._meta.pk, models.UUIDField)
    respondent_fields = {f.name for f in SurveyRespondent._meta.get_fields() if f.concrete}
    assert respondent_fields == {"id", "survey", "person"}  # no time, no response


def test_stored_responses_cannot_be_matched_to_respondents(klass):
    survey = answer_all(klass, [5, 4, 3, 2, 1])
    responses = list(SurveyResponse.objects.filter(survey=survey).values("pk", "respondent_id", "submitted_on"))
    assert all(isinstance(r["pk"], uuid.UUID) for r in responses)
    assert {r["respondent_id"] for r in responses} == {None}
    assert len({r["submitted_on"] for r in responses}) == 1  # a date shared by everyone that day


def test_anonymity_cannot_be_switched_off_once_anyone_answered(klass, tree):
    admin = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.UNIT_ADMIN)
    survey = services.survey_open(session=klass, now=_inside(klass))
    services.survey_submit(session=klass, person=attendees(klass)[0], answers=_answers(survey), now=_inside(klass))
    with pytest.raises(ValidationError) as error:
        services.survey_set_anonymity(actor=admin, survey=survey, anonymous=False)
    assert "already answered" in str(error.value)
    survey.refresh_from_db()
    assert survey.anonymous is True
    assert SurveyResponse.objects.get(survey=survey).respondent_id is None


def test_anonymity_may_be_switched_off_before_anyone_answered_by_an_admin_of_the_host(klass, tree):
    from django.core.exceptions import PermissionDenied

    admin_b = UserFactory(unit=tree.district_b)
    RoleGrantFactory(user=admin_b, unit=tree.district_b, role=Role.UNIT_ADMIN)
    admin = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.UNIT_ADMIN)
    survey = services.survey_open(session=klass, now=_inside(klass))
    with pytest.raises(PermissionDenied):
        services.survey_set_anonymity(actor=admin_b, survey=survey, anonymous=False)
    services.survey_set_anonymity(actor=admin, survey=survey, anonymous=False)
    person = attendees(klass)[0]
    services.survey_submit(session=klass, person=person, answers=_answers(survey), now=_inside(klass))
    assert SurveyResponse.objects.get(survey=survey).respondent_id == person.pk


# --- Results --------------------------------------------------------------------------------------


def test_results_appear_only_after_the_survey_closed_with_enough_answers(klass):
    survey = answer_all(klass, [5, 5, 4, 4])
    assert not selectors.survey_results(survey, now=after_close(survey)).available  # 4 < 5
    assert "5" in selectors.survey_results(survey, now=after_close(survey)).reason
    services.survey_submit(session=klass, person=attendees(klass)[4], answers=_answers(survey, 3),
                           now=_inside(klass))
    survey.refresh_from_db()
    while_open = selectors.survey_results(survey, now=_inside(klass))
    assert not while_open.available and while_open.questions == [] and while_open.comments == []
    results = selectors.survey_results(survey, now=after_close(survey))
    assert results.available
    assert results.responses == 5 and results.attendees == 6
    assert str(results.response_rate) == "83.33"


def test_satisfaction_rate_is_the_share_answering_4_or_5_on_the_overall_question(klass):
    survey = answer_all(klass, [5, 4, 4, 3, 1, 2], others=5)
    results = selectors.survey_results(survey, now=after_close(survey))
    assert str(results.satisfaction_rate) == "50.00"  # 3 of 6
    overall = next(q for q in results.questions if q.is_overall)
    assert str(overall.average) == "3.17"
    assert overall.distribution == {5: 1, 4: 2, 3: 1, 2: 1, 1: 1}
    other = next(q for q in results.questions if not q.is_overall)
    assert str(other.average) == "5.00"


def test_comments_are_shown_in_the_order_of_their_random_keys_not_as_written(klass):
    survey = services.survey_open(session=klass, now=_inside(klass))
    for i, person in enumerate(attendees(klass)):
        services.survey_submit(session=klass, person=person, answers=_answers(survey), comment=f"意见{i}",
                               now=_inside(klass))
    survey.refresh_from_db()
    results = selectors.survey_results(survey, now=after_close(survey))
    by_key = list(SurveyResponse.objects.filter(survey=survey).order_by("pk").values_list("comment", flat=True))
    assert results.comments == by_key
    assert sorted(results.comments) == [f"意见{i}" for i in range(6)]


def test_the_results_export_holds_aggregates_and_comments_but_no_names(klass):
    survey = answer_all(klass, [5, 5, 4, 4, 3], comment="讲得好")
    rows = list(selectors.survey_results_rows(selectors.survey_results(survey, now=after_close(survey))))
    text = repr(rows)
    for person in attendees(klass):
        assert person.name not in text and person.employee_no not in text
    assert "讲得好" in text
    assert len(rows) == survey.questions.count() + 5
    below = answer_all(closed_class(host=klass.host_unit, attendees=3), [5, 5, 5])
    assert list(selectors.survey_results_rows(selectors.survey_results(below, now=after_close(below)))) == []


# --- Opening, question sets, reminders ---------------------------------------------------------------


def test_opening_a_survey_is_idempotent_and_invites_attendees_but_not_the_speaker(klass, settings):
    settings.LANGUAGE_CODE = "en"
    first = services.survey_open(session=klass, now=_inside(klass))
    again = services.survey_open(session=klass, now=_inside(klass))
    assert first.pk == again.pk and Survey.objects.count() == 1
    invited = set(Notification.objects.filter(kind="evaluations.survey").values_list("recipient_id", flat=True))
    assert invited == {p.pk for p in attendees(klass)}
    assert first.attendee_count == 6
    assert [q.is_overall for q in first.questions.all()].count(True) == 1


def test_the_open_due_job_opens_surveys_of_recently_closed_classes_only(tree):
    import django.utils.timezone as tz

    now = tz.now()
    recent = closed_class(host=tree.district_a, attendees=2, closed_at=now - dt.timedelta(days=1))
    old = closed_class(host=tree.district_a, attendees=2, start=now - dt.timedelta(days=20),
                       closed_at=now - dt.timedelta(days=10))
    assert services.surveys_open_due(now=now) == 1
    assert Survey.objects.filter(session=recent).exists() and not Survey.objects.filter(session=old).exists()
    assert services.surveys_open_due(now=now) == 0


def test_a_units_question_set_applies_to_classes_hosted_below_it(tree):
    admin = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.UNIT_ADMIN)
    services.survey_template_save(actor=admin, unit=tree.district_a, name="A区测评表", questions=[
        {"text": "内容贴近工作", "is_overall": False}, {"text": "总体满意度", "is_overall": True},
    ])
    below = closed_class(host=tree.township_a1, attendees=1)
    elsewhere = closed_class(host=tree.township_b1, attendees=1)
    assert [q.text for q in services.survey_open(session=below).questions.all()] == ["内容贴近工作", "总体满意度"]
    assert services.survey_open(session=elsewhere).questions.count() == 4


@pytest.mark.parametrize("questions, message", [
    ([{"text": "A", "is_overall": False}], "exactly one"),
    ([{"text": "A", "is_overall": True}, {"text": "B", "is_overall": True}], "exactly one"),
    ([{"text": "", "is_overall": True}], "empty"),
    ([], "between 1 and"),
])
def test_a_question_set_is_validated_and_nothing_is_saved_on_error(tree, questions, message):
    admin = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.UNIT_ADMIN)
    with pytest.raises(ValidationError) as error:
        services.survey_template_save(actor=admin, unit=tree.district_a, name="表", questions=questions)
    assert message in str(error.value)
    assert not SurveyTemplate.objects.exists()


def test_the_reminder_goes_once_to_attendees_who_have_not_answered(klass, settings):
    settings.EVALUATIONS_SURVEY_REMIND_HOURS = 24
    survey = services.survey_open(session=klass, now=_inside(klass), notify=False)
    answered = attendees(klass)[0]
    services.survey_submit(session=klass, person=answered, answers=_answers(survey), now=_inside(klass))
    early = survey.closes_at - dt.timedelta(hours=30)
    assert services.surveys_remind_due(now=early) == 0
    due = survey.closes_at - dt.timedelta(hours=12)
    assert services.surveys_remind_due(now=due) == 5
    assert services.surveys_remind_due(now=due) == 0
    reminded = set(Notification.objects.filter(kind="evaluations.survey_reminder").values_list("recipient_id", flat=True))
    assert answered.pk not in reminded and len(reminded) == 5


def test_pending_surveys_list_what_the_person_may_still_answer(klass, tree):
    import django.utils.timezone as tz

    person = attendees(klass)[0]
    assert [p.session.pk for p in selectors.pending_surveys_for(person, now=_inside(klass))] == [klass.pk]
    survey = services.survey_open(session=klass, now=_inside(klass))
    services.survey_submit(session=klass, person=person, answers=_answers(survey), now=_inside(klass))
    assert selectors.pending_surveys_for(person, now=_inside(klass)) == []
    lecturer = User.objects.get(name="主讲人")
    AttendanceFactory(session=klass, person=lecturer)
    assert selectors.pending_surveys_for(lecturer, now=_inside(klass)) == []
    other = attendees(klass)[1]
    assert selectors.pending_surveys_for(other, now=survey.closes_at + dt.timedelta(seconds=1)) == []
    assert tz.now()  # keep the import used


def test_a_unit_outside_the_tree_does_not_inherit(tree):
    root = OrgUnitFactory(code="X", name="另一市")
    assert selectors.survey_template_for(root) is None


def test_a_survey_made_named_before_answers_signs_its_comments(klass, tree):
    admin = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=admin, unit=tree.district_a, role=Role.UNIT_ADMIN)
    survey = services.survey_open(session=klass, now=_inside(klass))
    services.survey_set_anonymity(actor=admin, survey=survey, anonymous=False)
    people = attendees(klass)[:5]
    for person in people:
        services.survey_submit(session=klass, person=person, answers=_answers(survey), comment="建议",
                               now=_inside(klass))
    survey.refresh_from_db()
    results = selectors.survey_results(survey, now=after_close(survey))
    assert sorted(results.comments) == sorted(f"{p.name}: 建议" for p in people)
