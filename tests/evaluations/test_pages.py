"""The evaluations pages: the survey form, results without names, rating learners, the
honours board, awards admin, exams from start to result, imports — and query counts."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from evaluations import services
from evaluations.models import (
    Attempt,
    Award,
    AwardType,
    ParticipationRating,
    Question,
    SurveyRespondent,
    SurveyResponse,
    SurveyTemplate,
)
from org.models import Role
from tests.evaluations.conftest import actor_for
from tests.evaluations.factories import (
    answer_all,
    attendees,
    closed_class,
    make_exam,
    make_question,
    right_answers,
)
from tests.factories import RoleGrantFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _admin(unit):
    admin = UserFactory(unit=unit)
    RoleGrantFactory(user=admin, unit=unit, role=Role.UNIT_ADMIN)
    return admin


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


@pytest.fixture
def recent(tree):
    lecturer = UserFactory(unit=tree.township_a1, name="王讲师")
    return closed_class(host=tree.district_a, lecturer=lecturer, attendees=6,
                        closed_at=timezone.now() - dt.timedelta(hours=2))


# --- Survey form ---------------------------------------------------------------------------------


def test_an_attendee_fills_the_survey_page_once(recent):
    person = attendees(recent)[0]
    client = _client(person)
    url = reverse("evaluations:survey_form", args=[recent.pk])
    page = client.get(url)
    assert page.status_code == 200 and "anonymous" in page.content.decode()
    survey = recent.survey
    data = {f"q{q.pk}": "5" for q in survey.questions.all()}
    data["comment"] = "很好"
    response = client.post(url, data)
    assert response.status_code == 302
    assert SurveyRespondent.objects.filter(person=person).count() == 1
    again = client.post(url, data)
    assert again.status_code == 400 and "already rated" in again.content.decode()
    assert SurveyResponse.objects.count() == 1


def test_a_missing_answer_on_the_page_names_the_question_and_saves_nothing(recent):
    person = attendees(recent)[0]
    client = _client(person)
    url = reverse("evaluations:survey_form", args=[recent.pk])
    client.get(url)
    questions = list(recent.survey.questions.all())
    data = {f"q{q.pk}": "4" for q in questions[1:]}
    response = client.post(url, data)
    assert response.status_code == 400 and "Please answer this question." in response.content.decode()
    assert not SurveyRespondent.objects.exists()


def test_the_lecturer_and_non_attendees_see_why_they_cannot_answer(recent, tree):
    lecturer = recent.speakers.get().person
    page = _client(lecturer).get(reverse("evaluations:survey_form", args=[recent.pk]))
    assert "cannot rate it" in page.content.decode()
    colleague = UserFactory(unit=tree.township_a2)
    page = _client(colleague).get(reverse("evaluations:survey_form", args=[recent.pk]))
    assert "Only people who attended" in page.content.decode()
    outsider = UserFactory(unit=tree.township_b1)
    assert _client(outsider).get(reverse("evaluations:survey_form", args=[recent.pk])).status_code == 404


# --- Results ---------------------------------------------------------------------------------------


def test_the_results_page_and_its_export_show_aggregates_without_names(tree):
    lecturer = UserFactory(unit=tree.township_a1, name="王讲师")
    session = closed_class(host=tree.district_a, lecturer=lecturer, attendees=6,
                           closed_at=timezone.now() - dt.timedelta(days=5))
    answer_all(session, [5, 5, 4, 3, 2], comment="课件很好")
    names = [p.name for p in attendees(session)]
    for reader in (lecturer, _admin(tree.district_a)):
        client = _client(reader)
        html = client.get(reverse("evaluations:survey_results", args=[session.pk])).content.decode()
        assert "60.00%" in html and "课件很好" in html
        assert not any(name in html for name in names)
        export = client.get(reverse("evaluations:survey_results", args=[session.pk]) + "?export=xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
        cells = " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None)
        assert "课件很好" in cells and not any(name in cells for name in names)
    attendee = attendees(session)[0]
    assert _client(attendee).get(reverse("evaluations:survey_results", args=[session.pk])).status_code == 404
    outsider_admin = _admin(tree.district_b)
    assert _client(outsider_admin).get(reverse("evaluations:survey_results", args=[session.pk])).status_code == 404


def test_results_below_the_threshold_show_the_reason_and_export_nothing(recent):
    answer_all(recent, [5, 5])
    client = _client(recent.speakers.get().person)
    html = client.get(reverse("evaluations:survey_results", args=[recent.pk])).content.decode()
    assert "Results are shown when the survey closes" in html
    export = client.get(reverse("evaluations:survey_results", args=[recent.pk]) + "?export=csv")
    assert export.status_code == 302


def test_the_survey_list_uses_the_same_number_of_queries_for_3_and_15_classes(tree, django_assert_max_num_queries):
    admin = _admin(tree.district_a)
    client = _client(admin)

    def grow(n):
        for _ in range(n):
            session = closed_class(host=tree.township_a2, lecturer=UserFactory(unit=tree.township_a2), attendees=1)
            services.survey_open(session=session)

    grow(3)
    small = _queries(client, reverse("evaluations:survey_list"))
    grow(12)
    with django_assert_max_num_queries(small):
        client.get(reverse("evaluations:survey_list"))


def test_lecturer_stats_page_lists_lecturers_in_scope(tree, django_assert_max_num_queries):
    admin = _admin(tree.district_a)
    client = _client(admin)
    year = timezone.localdate().year

    def grow(n):
        for _ in range(n):
            lecturer = UserFactory(unit=tree.township_a2)
            closed_class(host=tree.township_a2, lecturer=lecturer, attendees=1,
                         start=timezone.now() - dt.timedelta(hours=3), closed_at=timezone.now() - dt.timedelta(hours=1))

    grow(3)
    url = reverse("evaluations:lecturer_stats") + f"?year={year}"
    small = _queries(client, url)
    grow(12)
    with django_assert_max_num_queries(small):
        html = client.get(url).content.decode()
    assert html.count("<tr>") >= 16


# --- Rating learners ---------------------------------------------------------------------------


def test_a_lecturer_rates_learners_on_the_page_and_others_may_not(recent):
    lecturer = recent.speakers.get().person
    learner = attendees(recent)[0]
    url = reverse("evaluations:participation", args=[recent.pk])
    client = _client(lecturer)
    assert learner.name in client.get(url).content.decode()
    client.post(url, {"person": learner.pk, "score": "5", "note": "积极"})
    assert ParticipationRating.objects.get(person=learner).score == 5
    assert _client(learner).get(url).status_code == 403


def test_the_rating_page_uses_the_same_number_of_queries_for_3_and_15_attendees(tree, django_assert_max_num_queries):
    lecturer = UserFactory(unit=tree.township_a1)
    session = closed_class(host=tree.district_a, lecturer=lecturer, attendees=3)
    client = _client(lecturer)
    url = reverse("evaluations:participation", args=[session.pk])
    for person in attendees(session)[:2]:
        services.participation_rate(rater=lecturer, session=session, person=person, score=4)
    small = _queries(client, url)
    from tests.lectures.factories import AttendanceFactory

    for _ in range(12):
        person = UserFactory(unit=tree.township_a2)
        AttendanceFactory(session=session, person=person)
        services.participation_rate(rater=lecturer, session=session, person=person, score=3)
    with django_assert_max_num_queries(small):
        client.get(url)


# --- Honours and awards ------------------------------------------------------------------------


def test_an_admin_confirms_a_nomination_on_the_page_and_it_appears_on_the_honours_board(tree):
    admin = _admin(tree.district_a)
    person = UserFactory(unit=tree.township_a2, name="优秀教员甲")
    award = Award.objects.create(award_type=AwardType.objects.get(code="excellent_lecturer"), year=2024,
                                 person=person, unit=tree.township_a2)
    client = _client(admin)
    assert "优秀教员甲" in client.get(reverse("evaluations:award_admin") + "?year=2024").content.decode()
    client.post(reverse("evaluations:award_confirm", args=[award.pk]), {"text": "授课效果好"})
    award.refresh_from_db()
    assert award.status == Award.Status.CONFIRMED
    colleague = UserFactory(unit=tree.township_a1)
    honours = _client(colleague).get(reverse("evaluations:honours") + "?year=2024").content.decode()
    assert "优秀教员甲" in honours and "年度优秀教员" in honours
    mine = _client(person).get(reverse("evaluations:honours")).content.decode()
    assert "Your honours" in mine
    learner = UserFactory(unit=tree.township_a1)
    assert _client(learner).get(reverse("evaluations:award_admin")).status_code == 403
    outsider = _admin(tree.district_b)
    assert _client(outsider).post(reverse("evaluations:award_reject", args=[award.pk])).status_code == 404


def test_award_admin_and_honours_use_the_same_number_of_queries_for_3_and_15(tree, django_assert_max_num_queries):
    admin = _admin(tree.district_a)
    excellent = AwardType.objects.get(code="excellent_lecturer")
    client = _client(admin)

    def grow(n):
        for _ in range(n):
            person = UserFactory(unit=tree.township_a2)
            session = closed_class(host=tree.township_a2, lecturer=person, attendees=0)
            Award.objects.create(award_type=excellent, year=2024, person=person, unit=tree.township_a2, session=session)
            Award.objects.create(award_type=AwardType.objects.get(code="best_potential"), year=2024, person=person,
                                 unit=tree.township_a2, status=Award.Status.CONFIRMED)

    grow(3)
    urls = [reverse("evaluations:award_admin") + "?year=2024", reverse("evaluations:honours") + "?year=2024"]
    small = [_queries(client, url) for url in urls]
    grow(12)
    for url, count in zip(urls, small, strict=True):
        with django_assert_max_num_queries(count):
            client.get(url)


# --- Exams ----------------------------------------------------------------------------------------


def test_a_learner_sits_an_exam_from_the_pages(tree):
    learner = UserFactory(unit=tree.township_a1)
    exam = make_exam(tree.district_a, questions=4, draw=3)
    client = _client(learner)
    assert exam.title in client.get(reverse("evaluations:exam_list")).content.decode()
    assert client.get(reverse("evaluations:exam_detail", args=[exam.pk])).status_code == 200
    response = client.post(reverse("evaluations:exam_start", args=[exam.pk]))
    attempt = Attempt.objects.get(person=learner)
    assert response.url == reverse("evaluations:attempt_take", args=[attempt.pk])
    page = client.get(response.url).content.decode()
    assert "evaluations-exam.js" in page and 'data-seconds-left="' in page
    data = {f"q{qid}": ids for qid, ids in right_answers(attempt).items()}
    done = client.post(response.url, data)
    assert done.url == reverse("evaluations:attempt_result", args=[attempt.pk])
    attempt.refresh_from_db()
    assert attempt.passed and attempt.status == Attempt.Status.SUBMITTED
    result = client.get(done.url).content.decode()
    assert "100.00%" in result
    again = client.post(response.url, data)
    assert again.status_code == 302  # a finished attempt goes to its result
    other = UserFactory(unit=tree.township_a1)
    assert _client(other).get(reverse("evaluations:attempt_take", args=[attempt.pk])).status_code == 404


def test_the_exam_list_and_admin_lists_use_the_same_number_of_queries_for_3_and_15(tree, django_assert_max_num_queries):
    admin = _admin(tree.district_a)
    client = _client(admin)

    def grow(n):
        for _ in range(n):
            exam = make_exam(tree.district_a, questions=1, draw=1, tags=["计数"])
            attempt = services.attempt_start(exam=exam, person=admin)
            services.attempt_submit(attempt=attempt, person=admin, answers={})
            make_question(tree.township_a2, tags=["计数"])

    grow(3)
    urls = [reverse("evaluations:exam_list"), reverse("evaluations:exam_manage"), reverse("evaluations:question_bank")]
    small = [_queries(client, url) for url in urls]
    grow(12)
    for url, count in zip(urls, small, strict=True):
        with django_assert_max_num_queries(count):
            client.get(url)


def test_exam_results_page_lists_people_and_units_with_a_fixed_number_of_queries(tree, django_assert_max_num_queries):
    admin = _admin(tree.district_a)
    exam = make_exam(tree.district_a, questions=2, draw=1)
    client = _client(admin)

    def sit(n):
        for _ in range(n):
            person = UserFactory(unit=tree.township_a2)
            attempt = services.attempt_start(exam=exam, person=person)
            services.attempt_submit(attempt=attempt, person=person, answers=right_answers(attempt))

    sit(3)
    url = reverse("evaluations:exam_results", args=[exam.pk])
    small = _queries(client, url)
    sit(12)
    with django_assert_max_num_queries(small):
        html = client.get(url).content.decode()
    assert "东二街道" in html
    export = client.get(url + "?export=xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert len(rows) == 16
    learner = UserFactory(unit=tree.township_a1)
    assert _client(learner).get(url).status_code == 403


def test_an_admin_creates_and_publishes_an_exam_on_the_pages(tree):
    admin = _admin(tree.district_a)
    for _ in range(3):
        make_question(tree.district_a)
    client = _client(admin)
    now = timezone.localtime()
    response = client.post(reverse("evaluations:exam_new"), {
        "unit": tree.district_a.pk, "title": "全员法制网上月考（5月）", "question_count": 5, "time_limit_minutes": 20,
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"), "closes_at": (now + dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
        "attempts_allowed": 1, "pass_percent": 60, "counts_for_awards": "on",
    })
    assert response.status_code == 302
    from evaluations.models import Exam

    exam = Exam.objects.get(title="全员法制网上月考（5月）")
    page = client.post(reverse("evaluations:exam_publish", args=[exam.pk]), follow=True).content.decode()
    assert "only 3" in page
    exam.refresh_from_db()
    assert exam.status == Exam.Status.DRAFT
    assert _client(_admin(tree.district_b)).get(reverse("evaluations:exam_edit", args=[exam.pk])).status_code == 404


def test_the_question_import_page_lists_errors_by_row_and_imports_nothing(tree):
    from tests.evaluations.test_imports import HEADER, xlsx

    admin = _admin(tree.district_a)
    client = _client(admin)
    upload = xlsx([HEADER, ["单选", "题一", "甲", "乙", "", "", "E", "", ""]])
    response = client.post(reverse("evaluations:question_import"), {"unit": tree.district_a.pk, "file": upload})
    html = response.content.decode()
    assert response.status_code == 400 and "答案" in html and ">2<" in html
    assert not Question.objects.exists()
    upload = xlsx([HEADER, ["单选", "题一", "甲", "乙", "", "", "B", "", ""]])
    client.post(reverse("evaluations:question_import"), {"unit": tree.district_a.pk, "file": upload})
    assert Question.objects.count() == 1


def test_the_survey_question_page_saves_a_units_set(tree):
    admin = _admin(tree.district_a)
    client = _client(admin)
    response = client.post(reverse("evaluations:survey_templates"), {
        "unit": tree.district_a.pk, "name": "A区测评表", "overall": "1", "q0": "内容", "q1": "总体满意度",
    })
    assert response.status_code == 302
    template = SurveyTemplate.objects.get(unit=tree.district_a)
    assert [(q.text, q.is_overall) for q in template.questions.all()] == [("内容", False), ("总体满意度", True)]
    assert _client(UserFactory(unit=tree.township_a1)).get(reverse("evaluations:survey_templates")).status_code == 403


def test_the_home_page_shows_what_to_rate_and_which_exams_are_open(recent, tree):
    person = attendees(recent)[0]
    make_exam(tree.district_a, title="全员法制网上月考（本月）")
    html = _client(person).get(reverse("home")).content.decode()
    assert recent.title in html and "全员法制网上月考（本月）" in html


@pytest.mark.parametrize("role", ["learner", "unit_admin", "manager", "class_teacher", "system_admin"])
def test_every_role_can_open_the_everyday_pages(tree, role):
    client = _client(actor_for(role, tree))
    for name in ("survey_list", "lecturer_stats", "honours", "exam_list"):
        assert client.get(reverse(f"evaluations:{name}")).status_code == 200
    admin_pages = ("award_admin", "exam_manage", "question_bank", "appraisal_import", "survey_templates")
    expected = 200 if role in ("unit_admin", "system_admin") else 403
    for name in admin_pages:
        assert client.get(reverse(f"evaluations:{name}")).status_code == expected


def test_an_exam_is_copied_as_a_draft_for_next_month(tree):
    from evaluations.models import Exam

    admin = _admin(tree.district_a)
    exam = make_exam(tree.district_a, title="全员法制网上月考（3月）",
                     opens_at=timezone.make_aware(dt.datetime(2031, 3, 1, 9)),
                     closes_at=timezone.make_aware(dt.datetime(2031, 3, 25, 18)))
    response = _client(admin).post(reverse("evaluations:exam_copy", args=[exam.pk]), {"title": "全员法制网上月考（4月）"})
    copy = Exam.objects.get(title="全员法制网上月考（4月）")
    assert response.url == reverse("evaluations:exam_edit", args=[copy.pk])
    assert copy.status == Exam.Status.DRAFT and copy.counts_for_awards == exam.counts_for_awards
    assert timezone.localtime(copy.opens_at).month == 4 and timezone.localtime(copy.closes_at).day == 25
    assert _client(UserFactory(unit=tree.township_a1)).post(
        reverse("evaluations:exam_copy", args=[exam.pk])).status_code == 403
