"""Awards: the ≥ 80 % and three-year rules at their edges, learner scores, nominations
computed idempotently, confirmation in scope crediting points exactly once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from credits.models import CreditEntry
from evaluations import selectors, services
from evaluations.models import AppraisalGrade, Award, AwardType, ParticipationRating
from evaluations.selectors import LecturerYear
from org.models import Notification, Role
from tests.evaluations.factories import after_close, answer_all, attendees, closed_class, make_exam
from tests.factories import RoleGrantFactory, UserFactory

pytestmark = pytest.mark.django_db

YEAR = 2024


def _in(year: int, month: int = 5, day: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, 16, 30))


def _rated_class(host, lecturer, overall: list[int], *, year: int = YEAR, month: int = 5):
    session = closed_class(host=host, lecturer=lecturer, attendees=len(overall), start=_in(year, month))
    return answer_all(session, overall)


def _type(code: str) -> AwardType:
    return AwardType.objects.get(code=code)


def _admin(unit):
    admin = UserFactory(unit=unit)
    RoleGrantFactory(user=admin, unit=unit, role=Role.UNIT_ADMIN)
    return admin


NOW = timezone.make_aware(dt.datetime(YEAR + 1, 1, 20, 12, 0))


# --- 年度优秀教员: ≥ 80 % -------------------------------------------------------------------------------


def test_the_default_award_types_are_data_with_the_rules_of_the_method():
    codes = set(AwardType.objects.values_list("code", flat=True))
    assert {"excellent_lecturer", "excellent_courseware", "model_lecturer", "best_innovation",
            "best_professional", "best_performance", "best_potential", "excellent_learner", "post_model"} <= codes
    excellent = _type("excellent_lecturer")
    assert excellent.name == "年度优秀教员" and excellent.min_satisfaction == Decimal("80")
    assert _type("model_lecturer").consecutive_years == 3


@pytest.mark.parametrize("satisfied, total, eligible", [
    (4, 5, True),        # exactly 80 % is eligible
    (799, 1000, False),  # 79.9 % is not
    (800, 1000, True),
    (5, 5, True),
    (0, 5, False),
])
def test_the_80_percent_edge(satisfied, total, eligible):
    year = LecturerYear(person_id=1, year=YEAR, classes_rated=1, overall_answers=total, satisfied_answers=satisfied)
    assert year.meets(min_rate=Decimal("80"), min_classes=1) is eligible


def test_the_minimum_number_of_rated_classes_is_configurable():
    year = LecturerYear(person_id=1, year=YEAR, classes_rated=2, overall_answers=10, satisfied_answers=10)
    assert year.meets(min_rate=Decimal("80"), min_classes=2)
    assert not year.meets(min_rate=Decimal("80"), min_classes=3)


def test_excellent_lecturers_are_computed_from_pooled_answers_over_the_years_classes(tree):
    exactly = UserFactory(unit=tree.township_a1, name="恰好80")
    _rated_class(tree.district_a, exactly, [5, 5, 4, 4, 3])               # 4 of 5 = 80 %
    below = UserFactory(unit=tree.township_a1, name="低于80")
    _rated_class(tree.district_a, below, [5, 5, 4, 3, 3])                 # 60 %
    _rated_class(tree.district_a, below, [5, 5, 5, 5, 5, 5, 5, 5, 5, 3])  # pooled 12 of 15 = 80 %
    another_year = UserFactory(unit=tree.township_a1, name="去年")
    _rated_class(tree.district_a, another_year, [5, 5, 5, 5, 5], year=YEAR - 1)
    few = UserFactory(unit=tree.township_a1, name="答卷不足")
    _rated_class(tree.district_a, few, [5, 5, 5, 5])                      # below the minimum answers

    candidates = selectors.excellent_lecturer_candidates(_type("excellent_lecturer"), year=YEAR, now=NOW)
    assert {c.person_id for c in candidates} == {exactly.pk, below.pk}
    by_person = {c.person_id: c for c in candidates}
    assert by_person[exactly.pk].score == Decimal("80.00")
    assert "2" in by_person[below.pk].basis  # over 2 classes

    stats = {s.person_id: s for s in selectors.lecturer_year_stats(year=YEAR, now=NOW)}
    assert stats[below.pk].classes_given == 2 and stats[below.pk].classes_rated == 2
    assert stats[below.pk].attendance == 15
    assert stats[few.pk].classes_given == 1 and stats[few.pk].classes_rated == 0


def test_a_stricter_minimum_of_classes_drops_single_class_lecturers(tree):
    one = UserFactory(unit=tree.township_a1)
    _rated_class(tree.district_a, one, [5, 5, 5, 5, 5])
    excellent = _type("excellent_lecturer")
    excellent.min_classes = 2
    excellent.save()
    assert selectors.excellent_lecturer_candidates(excellent, year=YEAR, now=NOW) == []


def test_results_of_a_survey_still_open_do_not_count(tree):
    lecturer = UserFactory(unit=tree.township_a1)
    survey = _rated_class(tree.district_a, lecturer, [5, 5, 5, 5, 5])
    assert selectors.excellent_lecturer_candidates(_type("excellent_lecturer"), year=YEAR,
                                                   now=survey.closes_at - dt.timedelta(minutes=1)) == []
    assert selectors.excellent_lecturer_candidates(_type("excellent_lecturer"), year=YEAR, now=after_close(survey))


# --- 模范教员: three consecutive years ------------------------------------------------------------------


def _confirmed_excellent(person, years):
    excellent = _type("excellent_lecturer")
    for year in years:
        Award.objects.create(award_type=excellent, year=year, person=person, unit=person.unit,
                             status=Award.Status.CONFIRMED)


@pytest.mark.parametrize("years, nominated", [
    ([YEAR - 2, YEAR - 1, YEAR], True),
    ([YEAR - 3, YEAR - 2, YEAR - 1, YEAR], True),
    ([YEAR - 1, YEAR], False),                  # only two
    ([YEAR - 3, YEAR - 1, YEAR], False),        # a gap
    ([YEAR - 3, YEAR - 2, YEAR - 1], False),    # three, but not up to this year
])
def test_model_lecturer_needs_three_consecutive_confirmed_excellent_years(tree, years, nominated):
    person = UserFactory(unit=tree.township_a1)
    _confirmed_excellent(person, years)
    candidates = selectors.model_lecturer_candidates(_type("model_lecturer"), year=YEAR, now=NOW)
    assert ({c.person_id for c in candidates} == {person.pk}) is nominated


def test_a_nominated_but_unconfirmed_year_does_not_count_towards_model_lecturer(tree):
    person = UserFactory(unit=tree.township_a1)
    _confirmed_excellent(person, [YEAR - 2, YEAR - 1])
    Award.objects.create(award_type=_type("excellent_lecturer"), year=YEAR, person=person, unit=person.unit)
    assert selectors.model_lecturer_candidates(_type("model_lecturer"), year=YEAR, now=NOW) == []


# --- Computing nominations ------------------------------------------------------------------------------


def test_computing_nominations_is_idempotent_and_keeps_decisions(tree):
    lecturer = UserFactory(unit=tree.township_a1)
    _rated_class(tree.district_a, lecturer, [5, 5, 5, 4, 4])
    first = services.nominations_compute(year=YEAR, now=NOW)
    assert first.by_type["excellent_lecturer"] == 1
    count = Award.objects.count()
    again = services.nominations_compute(year=YEAR, now=NOW)
    assert again.created == 0 and Award.objects.count() == count
    nomination = Award.objects.get(award_type__code="excellent_lecturer", person=lecturer)
    assert nomination.status == Award.Status.NOMINATED and nomination.unit == tree.township_a1
    services.award_reject(actor=_admin(tree.district_a), award=nomination, reason="名额已满")
    services.nominations_compute(year=YEAR, now=NOW)
    nomination.refresh_from_db()
    assert nomination.status == Award.Status.REJECTED
    assert Award.objects.filter(award_type__code="excellent_lecturer").count() == 1


def test_a_nomination_that_no_longer_qualifies_is_withdrawn(tree):
    lecturer = UserFactory(unit=tree.township_a1)
    _rated_class(tree.district_a, lecturer, [5, 5, 5, 4, 4])
    services.nominations_compute(year=YEAR, now=NOW)
    _rated_class(tree.district_a, lecturer, [1, 1, 1, 1, 1, 1, 1, 1], month=6)  # pooled 5 of 13
    summary = services.nominations_compute(year=YEAR, now=NOW)
    assert summary.withdrawn >= 1
    assert not Award.objects.filter(award_type__code="excellent_lecturer", person=lecturer).exists()


def test_courseware_and_class_awards_are_nominated_from_the_years_classes(tree):
    from sessions.models import Courseware

    lecturer = UserFactory(unit=tree.township_a1)
    survey = _rated_class(tree.district_a, lecturer, [5, 5, 5, 5, 4])
    Courseware.objects.create(session=survey.session, file="courseware/x.pdf", kind="pdf", original_name="讲义.pdf")
    weak = UserFactory(unit=tree.township_a1)
    _rated_class(tree.district_a, weak, [3, 3, 3, 3, 3])
    services.nominations_compute(year=YEAR, now=NOW)
    courseware = Award.objects.get(award_type__code="excellent_courseware")
    assert courseware.person == lecturer and courseware.session == survey.session
    innovation = set(Award.objects.filter(award_type__code="best_innovation").values_list("person_id", flat=True))
    assert innovation == {lecturer.pk, weak.pk}


def test_learner_scores_combine_participation_exams_and_appraisal_by_weight(tree):
    learner = UserFactory(unit=tree.township_a1)
    lecturer = UserFactory(unit=tree.township_a1)
    session = closed_class(host=tree.district_a, lecturer=lecturer, attendees=[learner], start=_in(YEAR))
    services.participation_rate(rater=lecturer, session=session, person=learner, score=5)
    exam = make_exam(tree.district_a, counts_for_awards=True, opens_at=_in(YEAR, 3), closes_at=_in(YEAR, 3, 20))
    make_exam(tree.district_a, counts_for_awards=True, opens_at=_in(YEAR, 4), closes_at=_in(YEAR, 4, 20))
    from evaluations.models import Attempt

    Attempt.objects.create(exam=exam, person=learner, unit=learner.unit, started_at=_in(YEAR, 3, 11),
                           deadline=_in(YEAR, 3, 12), status=Attempt.Status.SUBMITTED, percent=Decimal("90"))
    AppraisalGrade.objects.create(person=learner, year=YEAR, grade="competent")
    post_model = _type("post_model")  # weights 0.3 / 0.3 / 0.4
    score = next(s for s in selectors.learner_scores(post_model, year=YEAR) if s.person_id == learner.pk)
    assert score.participation == Decimal("100.00")
    assert score.exams == Decimal("45.00")  # 90 on one of the two monthly exams open to them
    assert score.appraisal == Decimal("80")
    assert score.total == Decimal("75.50")  # (0.3×100 + 0.3×45 + 0.4×80) / 1.0
    post_model.min_score = Decimal("75.5")
    post_model.save()
    assert [c.person_id for c in selectors.learner_score_candidates(post_model, year=YEAR, now=NOW)] == [learner.pk]
    post_model.min_score = Decimal("75.51")
    post_model.save()
    assert selectors.learner_score_candidates(post_model, year=YEAR, now=NOW) == []


# --- Confirming: in scope, once ------------------------------------------------------------------------


@pytest.fixture
def nomination(tree):
    person = UserFactory(unit=tree.township_a2)
    return Award.objects.create(award_type=_type("excellent_lecturer"), year=YEAR, person=person,
                                unit=tree.township_a2)


def test_confirming_credits_the_award_points_once_and_tells_the_winner(tree, nomination):
    admin = _admin(tree.district_a)
    services.award_confirm(actor=admin, award=nomination, citation="授课满意率高")
    nomination.refresh_from_db()
    assert nomination.status == Award.Status.CONFIRMED and nomination.decided_by == admin
    entry = CreditEntry.objects.get(idempotency_key=f"award:{nomination.pk}")
    assert entry.person_id == nomination.person_id and entry.source_kind == "award"
    assert entry.points > 0 and nomination.credit_entry_id == entry.pk
    assert Notification.objects.filter(recipient=nomination.person, kind="evaluations.award").count() == 1
    with pytest.raises(ValidationError) as error:
        services.award_confirm(actor=admin, award=nomination)
    assert "already confirmed" in str(error.value)
    assert CreditEntry.objects.filter(person=nomination.person).count() == 1
    assert list(selectors.awards_of(nomination.person)) == [nomination]


def test_the_award_types_points_override_the_credit_rules(tree, nomination):
    excellent = _type("excellent_lecturer")
    excellent.points = Decimal("3.50")
    excellent.save()
    services.award_confirm(actor=_admin(tree.district_a), award=nomination)
    assert CreditEntry.objects.get(idempotency_key=f"award:{nomination.pk}").points == Decimal("3.50")


@pytest.mark.parametrize("role", ["manager", "class_teacher", "outside_admin", "learner"])
def test_only_an_admin_whose_scope_covers_the_nominee_may_decide(tree, nomination, role):
    if role == "outside_admin":
        actor = _admin(tree.district_b)
    elif role == "learner":
        actor = UserFactory(unit=tree.township_a2)
    else:
        actor = UserFactory(unit=tree.district_a)
        RoleGrantFactory(user=actor, unit=tree.district_a, role=Role(role))
    for decide in (services.award_confirm, services.award_reject):
        with pytest.raises(PermissionDenied):
            decide(actor=actor, award=nomination)
    nomination.refresh_from_db()
    assert nomination.status == Award.Status.NOMINATED
    assert not CreditEntry.objects.exists()


def test_revoking_reverses_the_credit_and_leaves_the_honours_board(tree, nomination):
    admin = _admin(tree.district_a)
    services.award_confirm(actor=admin, award=nomination)
    with pytest.raises(ValidationError):
        services.award_revoke(actor=admin, award=nomination, reason="")
    services.award_revoke(actor=admin, award=nomination, reason="材料不实")
    nomination.refresh_from_db()
    assert nomination.status == Award.Status.REVOKED
    assert sum(CreditEntry.objects.filter(person=nomination.person).values_list("points", flat=True)) == 0
    assert not selectors.honours_visible_to(UserFactory(unit=tree.township_a2)).exists()


def test_manual_nominations_are_for_people_in_scope_and_once(tree):
    admin = _admin(tree.district_a)
    person = UserFactory(unit=tree.township_a1)
    award = services.award_nominate(actor=admin, award_type=_type("best_innovation"), year=YEAR, person=person)
    assert award.computed is False and award.nominated_by == admin
    with pytest.raises(ValidationError):
        services.award_nominate(actor=admin, award_type=_type("best_innovation"), year=YEAR, person=person)
    with pytest.raises(PermissionDenied):
        services.award_nominate(actor=admin, award_type=_type("best_innovation"), year=YEAR,
                                person=UserFactory(unit=tree.township_b1))
    assert Award.objects.count() == 1


def test_the_honours_board_shows_confirmed_awards_of_the_persons_district(tree, nomination):
    services.award_confirm(actor=_admin(tree.district_a), award=nomination)
    other = UserFactory(unit=tree.township_b1)
    elsewhere = Award.objects.create(award_type=_type("excellent_learner"), year=YEAR, person=other,
                                     unit=tree.township_b1, status=Award.Status.CONFIRMED)
    Award.objects.create(award_type=_type("post_model"), year=YEAR, person=UserFactory(unit=tree.township_a1),
                         unit=tree.township_a1)  # only nominated
    colleague = UserFactory(unit=tree.township_a1)
    assert list(selectors.honours_visible_to(colleague)) == [nomination]
    sysadmin = UserFactory(unit=tree.city, is_superuser=True)
    assert set(selectors.honours_visible_to(sysadmin)) == {nomination, elsewhere}


# --- Participation ratings -------------------------------------------------------------------------------


def test_a_lecturer_rates_attendees_of_their_own_closed_class_only(tree):
    lecturer = UserFactory(unit=tree.township_a1)
    session = closed_class(host=tree.district_a, lecturer=lecturer, attendees=2)
    learner = attendees(session)[0]
    rating = services.participation_rate(rater=lecturer, session=session, person=learner, score=4, note="积极发言")
    services.participation_rate(rater=lecturer, session=session, person=learner, score=5)
    rating.refresh_from_db()
    assert rating.score == 5 and ParticipationRating.objects.count() == 1
    with pytest.raises(PermissionDenied):
        services.participation_rate(rater=learner, session=session, person=attendees(session)[1], score=3)
    with pytest.raises(ValidationError):
        services.participation_rate(rater=lecturer, session=session, person=UserFactory(unit=tree.township_a1),
                                    score=3)
    for bad in (0, 6, "4", True):
        with pytest.raises(ValidationError):
            services.participation_rate(rater=lecturer, session=session, person=learner, score=bad)
    with pytest.raises(ValidationError):
        services.participation_rate(rater=lecturer, session=session, person=lecturer, score=5)
    rating.refresh_from_db()
    assert rating.score == 5 and ParticipationRating.objects.count() == 1


def test_appraisal_grades_import_checks_every_row_and_writes_all_or_nothing(tree):
    from tests.evaluations.test_imports import xlsx

    admin = _admin(tree.district_a)
    a, b = UserFactory(unit=tree.township_a1, name="张三"), UserFactory(unit=tree.township_a2, name="李四")
    outside = UserFactory(unit=tree.township_b1)
    bad = xlsx([["工号", "姓名", "考核等次"], [a.employee_no, "张三", "优秀"], [outside.employee_no, "", "称职"],
                [b.employee_no, "王五", "称职"], [b.employee_no + "x", "", "良好"]])
    result = services.appraisal_import(actor=admin, file=bad, filename="考核.xlsx", year=YEAR, dry_run=False)
    assert not result.applied and not AppraisalGrade.objects.exists()
    assert [(e.row, e.column) for e in result.errors] == [(5, "考核等次")]
    bad = xlsx([["工号", "姓名", "考核等次"], [a.employee_no, "张三", "优秀"], [outside.employee_no, "", "称职"],
                [b.employee_no, "王五", "称职"]])
    result = services.appraisal_import(actor=admin, file=bad, filename="考核.xlsx", year=YEAR, dry_run=False)
    assert [(e.row, e.column) for e in result.errors] == [(3, "工号"), (4, "姓名")]
    assert not AppraisalGrade.objects.exists()
    good = xlsx([["工号", "考核等次"], [a.employee_no, "优秀"], [b.employee_no, "基本称职"]])
    result = services.appraisal_import(actor=admin, file=good, filename="考核.xlsx", year=YEAR, dry_run=True)
    assert result.ok and result.created == 2 and not AppraisalGrade.objects.exists()
    good.seek(0)
    result = services.appraisal_import(actor=admin, file=good, filename="考核.xlsx", year=YEAR, dry_run=False)
    assert result.applied
    assert dict(AppraisalGrade.objects.values_list("person_id", "grade")) == {a.pk: "excellent", b.pk: "basic"}
