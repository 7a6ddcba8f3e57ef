"""Builders for the evaluations tests (kept here to avoid edit collisions).

Classes, speakers and attendance come from the micro-class tests' factories; surveys are
answered through the real service, as people would.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from evaluations import services
from evaluations.models import Choice, Exam, Question, QuestionTag, Survey
from org.models import OrgUnit, User
from sessions.models import Attendance, Session, Speaker
from tests.factories import UserFactory
from tests.lectures.factories import AttendanceFactory, SessionFactory, SpeakerFactory, TrackFactory


def speaker_for(person: User) -> Speaker:
    return Speaker.objects.filter(person=person).first() or SpeakerFactory(person=person)


def closed_class(
    *,
    host: OrgUnit,
    lecturer: User | None = None,
    attendees: list[User] | int = 0,
    start: dt.datetime | None = None,
    closed_at: dt.datetime | None = None,
    title: str | None = None,
) -> Session:
    """A class that took place and was closed, with present attendees (made up if a count)."""
    start = start or timezone.now() - dt.timedelta(days=1)
    speakers = [speaker_for(lecturer)] if lecturer is not None else []
    session = SessionFactory(
        host_unit=host, track=TrackFactory(name="业务专家谈业务"), start=start,
        end=start + dt.timedelta(hours=1), speakers=speakers,
        **({"title": title} if title else {}),
    )
    if isinstance(attendees, int):
        attendees = [UserFactory(unit=host) for _ in range(attendees)]
    for person in attendees:
        AttendanceFactory(session=session, person=person, status=Attendance.Status.PRESENT)
    Session.objects.filter(pk=session.pk).update(
        status=Session.Status.CLOSED, closed_at=closed_at or start + dt.timedelta(hours=1)
    )
    session.refresh_from_db()
    return session


def attendees(session: Session) -> list[User]:
    return list(User.objects.filter(lecture_attendance__session=session).order_by("pk"))


def answer_all(session: Session, overall: list[int], *, others: int = 4, comment: str = "") -> Survey:
    """Each attendee in turn answers (overall value from the list, `others` elsewhere)."""
    now = session.closed_at + dt.timedelta(hours=1)
    survey = services.survey_open(session=session, now=now)
    questions = list(survey.questions.all())
    people = attendees(session)
    assert len(people) >= len(overall), "not enough attendees"
    for person, value in zip(people, overall, strict=False):
        services.survey_submit(
            session=session, person=person, now=now, comment=comment,
            answers={q.pk: (value if q.is_overall else others) for q in questions},
        )
    survey.refresh_from_db()
    return survey


def after_close(survey: Survey) -> dt.datetime:
    return survey.closes_at + dt.timedelta(minutes=1)


class TagFactory(DjangoModelFactory):
    class Meta:
        model = QuestionTag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"标签{n}")


def make_question(unit: OrgUnit, *, kind: str = "single", tags: list[str] = (), text: str | None = None,
                  options: int = 4, right: tuple[int, ...] = (0,), explanation: str = "解析：依据法律规定。") -> Question:
    question = Question.objects.create(unit=unit, kind=kind, text=text or f"题目{Question.objects.count() + 1}",
                                       explanation=explanation)
    if kind == "true_false":
        options = 2
    Choice.objects.bulk_create([
        Choice(question=question, text=f"选项{i}", is_correct=i in right, sort_order=i) for i in range(options)
    ])
    question.tags.set([TagFactory(name=t) for t in tags])
    return question


def make_exam(unit: OrgUnit, *, questions: int = 5, draw: int = 3, tags: list[str] = (), **fields) -> Exam:
    """A published exam open now for `unit`'s subtree, with `questions` single-choice questions
    (option 0 right) in the unit's bank."""
    for _ in range(questions):
        make_question(unit, tags=list(tags))
    now = timezone.now()
    values = {
        "title": "全员法制网上月考", "unit": unit, "question_count": draw, "time_limit_minutes": 30,
        "opens_at": now - dt.timedelta(hours=1), "closes_at": now + dt.timedelta(days=3),
        "attempts_allowed": 2, "pass_percent": 60, "points_on_pass": Decimal("1.00"),
        "status": Exam.Status.PUBLISHED,
    }
    values.update(fields)
    exam = Exam.objects.create(**values)
    exam.tags.set([TagFactory(name=t) for t in tags])
    return exam


def right_answers(attempt) -> dict[str, list[int]]:
    answers = {}
    for item in attempt.items.all():
        answers[str(item.question_id)] = list(
            Choice.objects.filter(question_id=item.question_id, is_correct=True).values_list("pk", flat=True)
        )
    return answers


def wrong_answers(attempt) -> dict[str, list[int]]:
    answers = {}
    for item in attempt.items.all():
        answers[str(item.question_id)] = list(
            Choice.objects.filter(question_id=item.question_id, is_correct=False).values_list("pk", flat=True)[:1]
        )
    return answers
