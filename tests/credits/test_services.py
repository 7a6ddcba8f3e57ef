"""credits.services: awarding once, reversing, adjusting, caps, periods, rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from credits import selectors, services
from credits.models import (
    AwardRule,
    CreditEntry,
    PersonTotal,
    Requirement,
    SourceRule,
    UnitTotal,
)
from tests.credits.conftest import local
from tests.factories import CadreLevelFactory, UserFactory

pytestmark = pytest.mark.django_db


def totals_of(person, period: str) -> PersonTotal | None:
    return PersonTotal.objects.filter(person=person, period=period).first()


# --- credit_award ---------------------------------------------------------------------------


def test_award_writes_entry_and_totals_of_year_quarter_and_month(cast, award):
    entry = award(cast.learner, "1.5", when=local(2025, 5, 20, 10), label="课程：《公文写作》")

    assert entry.created is True
    stored = CreditEntry.objects.get(pk=entry.pk)
    assert stored.points == Decimal("1.50")
    assert stored.unit_id == cast.learner.unit_id
    assert stored.label == "课程：《公文写作》"
    for period in ("2025", "2025-Q2", "2025-05"):
        row = totals_of(cast.learner, period)
        assert row.total == Decimal("1.50") and row.src_course == Decimal("1.50") and row.entries == 1
    unit_year = UnitTotal.objects.get(unit=cast.learner.unit, period="2025")
    assert unit_year.points == Decimal("1.50")


def test_same_idempotency_key_returns_the_first_entry_and_writes_nothing(cast, award):
    first = award(cast.learner, "1", key="attendance:12:345", when=local(2025, 3, 1, 9))
    again = award(cast.learner, "1", key="attendance:12:345", when=local(2025, 3, 1, 9))

    assert again.pk == first.pk and again.created is False
    assert CreditEntry.objects.count() == 1
    assert totals_of(cast.learner, "2025").total == Decimal("1.00")
    assert totals_of(cast.learner, "2025").entries == 1


def test_entry_at_last_second_of_the_year_in_beijing_counts_in_that_year(cast, award):
    # 2025-12-31 23:59:59 in Beijing is 15:59:59 UTC: still 2025 locally.
    award(cast.learner, "1", when=local(2025, 12, 31, 23, 59, 59))
    award(cast.learner, "2", when=local(2026, 1, 1, 0, 0, 0))

    assert totals_of(cast.learner, "2025").total == Decimal("1.00")
    assert totals_of(cast.learner, "2025-Q4").total == Decimal("1.00")
    assert totals_of(cast.learner, "2025-12").total == Decimal("1.00")
    assert totals_of(cast.learner, "2026").total == Decimal("2.00")
    assert totals_of(cast.learner, "2026-Q1").total == Decimal("2.00")
    assert totals_of(cast.learner, "2026-01").total == Decimal("2.00")


@pytest.mark.parametrize(
    "bad, message_part",
    [
        ("abc", "number"),
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("-inf", "finite"),
        ("1000000", "between"),
        ("1e9", "between"),
        ("0.125", "two decimals"),
        ("1.001", "two decimals"),
        (True, "number"),
        (None, "number"),
        ("", "number"),
    ],
)
def test_bad_points_are_refused_naming_the_field_and_nothing_is_written(cast, bad, message_part):
    with pytest.raises(ValidationError) as caught:
        services.credit_award(
            person=cast.learner, source_kind="course", source_ref="c:1",
            points=bad, idempotency_key="bad:1",
        )
    messages = caught.value.message_dict["points"]
    assert any(message_part in m for m in messages), messages
    assert CreditEntry.objects.count() == 0
    assert PersonTotal.objects.count() == 0


@pytest.mark.parametrize(
    "field, kwargs",
    [
        ("source_kind", {"source_kind": "likes"}),
        ("idempotency_key", {"idempotency_key": "  "}),
        ("occurred_at", {"occurred_at": timezone.now() + timezone.timedelta(days=3)}),
        ("occurred_at", {"occurred_at": timezone.now().replace(tzinfo=None)}),
        ("label", {"label": "x" * 201}),
    ],
)
def test_bad_award_fields_are_named_and_nothing_is_written(cast, field, kwargs):
    args = {
        "person": cast.learner, "source_kind": "course", "source_ref": "c:1",
        "points": Decimal("1"), "idempotency_key": "k:1", **kwargs,
    }
    with pytest.raises(ValidationError) as caught:
        services.credit_award(**args)
    assert field in caught.value.message_dict
    assert CreditEntry.objects.count() == 0


def test_time_online_likes_and_shares_are_not_sources_of_credit():
    # DESIGN.md §5: credits come from completions, attendance, lectures, exams and awards.
    from credits.models import SourceKind

    assert set(SourceKind.values) == {"course", "attendance", "lecture", "exam", "award", "adjustment"}


# --- Reversal ---------------------------------------------------------------------------------


def test_reversal_is_a_new_entry_in_the_original_period_that_nets_totals_to_zero(cast, award, committed):
    original = award(cast.learner, "2", kind="exam", when=local(2025, 2, 10, 9))

    reversal = committed(services.credit_reverse, entry=original, actor=cast.unit_admin, reason="考试作弊，成绩作废")

    assert reversal.reverses_id == original.pk
    assert reversal.points == Decimal("-2.00")
    assert reversal.created_by == cast.unit_admin
    assert CreditEntry.objects.filter(pk=original.pk, points=Decimal("2")).exists()
    for period in ("2025", "2025-Q1", "2025-02"):
        row = totals_of(cast.learner, period)
        assert row.total == Decimal("0.00") and row.entries == 2
    assert UnitTotal.objects.get(unit=cast.learner.unit, period="2025").points == Decimal("0.00")


def test_second_reversal_of_the_same_entry_is_refused(cast, award, committed):
    original = award(cast.learner, "2", when=local(2025, 2, 10, 9))
    committed(services.credit_reverse, entry=original, actor=None, reason="重复记录")

    with pytest.raises(ValidationError) as caught:
        services.credit_reverse(entry=original, actor=None, reason="再次撤销")
    assert "already been reversed" in caught.value.message_dict["entry"][0]
    assert CreditEntry.objects.count() == 2


def test_a_reversal_cannot_itself_be_reversed(cast, award, committed):
    original = award(cast.learner, "2", when=local(2025, 2, 10, 9))
    reversal = committed(services.credit_reverse, entry=original, actor=None, reason="重复记录")

    with pytest.raises(ValidationError):
        services.credit_reverse(entry=reversal, actor=None, reason="撤销撤销")
    assert CreditEntry.objects.count() == 2


def test_reversal_needs_a_reason_and_an_admin_in_scope(cast, award):
    original = award(cast.outside, "2", when=local(2025, 2, 10, 9))

    with pytest.raises(ValidationError) as caught:
        services.credit_reverse(entry=original, actor=cast.unit_admin, reason="  ")
    assert "reason" in caught.value.message_dict
    with pytest.raises(PermissionDenied):
        services.credit_reverse(entry=original, actor=cast.unit_admin, reason="不在范围")
    with pytest.raises(PermissionDenied):
        services.credit_reverse(entry=original, actor=cast.manager, reason="经理只读")
    assert CreditEntry.objects.count() == 1


# --- Adjustments -------------------------------------------------------------------------------


def test_adjustment_is_an_attributed_entry_with_its_reason(cast, committed):
    entry = committed(
        services.credit_adjust, person=cast.learner, points="-1.5", reason="补录错误，扣回", actor=cast.unit_admin
    )
    assert entry.source_kind == "adjustment"
    assert entry.created_by == cast.unit_admin and entry.reason == "补录错误，扣回"
    year = str(timezone.localtime(entry.occurred_at).year)
    assert totals_of(cast.learner, year).src_adjustment == Decimal("-1.50")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"points": "0"}, "points"),
        ({"points": "abc"}, "points"),
        ({"points": "NaN"}, "points"),
        ({"points": "0.001"}, "points"),
        ({"reason": "x" * 501}, "reason"),
    ],
)
def test_bad_adjustments_are_refused_and_change_nothing(cast, kwargs, field):
    args = {"person": cast.learner, "points": "1", "reason": "补录", "actor": cast.unit_admin, **kwargs}
    with pytest.raises(ValidationError) as caught:
        services.credit_adjust(**args)
    assert field in caught.value.message_dict
    assert CreditEntry.objects.count() == 0


def test_adjustment_for_an_inactive_person_is_refused(cast):
    cast.learner.is_active = False
    cast.learner.save()
    with pytest.raises(ValidationError) as caught:
        services.credit_adjust(person=cast.learner, points="1", reason="补录", actor=cast.unit_admin)
    assert "inactive" in caught.value.message_dict["person"][0]
    assert CreditEntry.objects.count() == 0


@pytest.mark.parametrize("role", ["learner", "manager", "class_teacher"])
def test_only_unit_admins_in_scope_adjust(cast, role):
    with pytest.raises(PermissionDenied):
        services.credit_adjust(person=cast.inside, points="1", reason="补录", actor=cast.role(role))
    with pytest.raises(PermissionDenied):
        services.credit_adjust(person=cast.outside, points="1", reason="补录", actor=cast.unit_admin)
    assert CreditEntry.objects.count() == 0


def test_adjustment_with_the_same_token_is_recorded_once(cast, committed):
    first = committed(services.credit_adjust, person=cast.inside, points="1", reason="补录",
                      actor=cast.unit_admin, idempotency_key="form-token-1")
    second = committed(services.credit_adjust, person=cast.inside, points="1", reason="补录",
                       actor=cast.unit_admin, idempotency_key="form-token-1")
    assert first.pk == second.pk
    assert CreditEntry.objects.count() == 1


# --- Caps and requirements ---------------------------------------------------------------------


def test_course_credits_count_at_most_the_capped_share_of_the_requirement(cast, award):
    level = CadreLevelFactory(code="section", name="科级")
    cast.learner.cadre_level = level
    cast.learner.save()
    Requirement.objects.create(cadre_level=level, year=2025, points=Decimal("40"))
    SourceRule.objects.create(source_kind="course", year=2025, cap_percent=Decimal("60"))
    services.forget_rules()

    for day in range(1, 31):  # 30 points of courses; the cap is 60 % of 40 = 24
        award(cast.learner, "1", when=local(2025, 3, day, 10))
    award(cast.learner, "5", kind="attendance", when=local(2025, 4, 1, 10))

    year = totals_of(cast.learner, "2025")
    assert year.src_course == Decimal("30.00")
    assert year.total == Decimal("29.00")  # 24 counted courses + 5 attendance
    assert totals_of(cast.learner, "2025-03").total == Decimal("30.00")  # months show activity
    assert UnitTotal.objects.get(unit=cast.learner.unit, period="2025").points == Decimal("29.00")
    summary = selectors.person_year_summary(cast.learner, 2025)
    course = next(line for line in summary.by_source if line.kind == "course")
    assert (course.raw, course.counted, course.cap) == (Decimal("30.00"), Decimal("24.00"), Decimal("24.00"))
    assert summary.total == Decimal("29.00") and summary.required == Decimal("40.00")


def test_summary_splits_required_and_elective_and_judges_pro_rata_progress(cast, award):
    Requirement.objects.create(cadre_level=None, year=2025, points=Decimal("10"), required_points=Decimal("4"))
    services.forget_rules()
    award(cast.learner, "3", kind="attendance", when=local(2025, 6, 1, 10))
    award(cast.learner, "2", kind="course", when=local(2025, 6, 2, 10))

    summary = selectors.person_year_summary(cast.learner, 2025)
    assert summary.earned_required == Decimal("3.00") and summary.earned_elective == Decimal("2.00")
    assert summary.distinguishes_required is True
    assert summary.progress_percent == 50
    # 2025 is over: the pro-rata target is the whole requirement.
    assert summary.target_to_date == Decimal("10.00") and summary.on_track is False


# --- Prices of causes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "minutes, points",
    [(0, "0.25"), (14, "0.25"), (15, "0.5"), (29, "0.5"), (30, "1"), (240, "1")],
)
def test_course_points_follow_course_length_by_default(minutes, points):
    assert selectors.course_points(minutes=minutes) == Decimal(points)


def test_prices_follow_the_policy_a_system_admin_sets(cast):
    services.credit_policy_update(
        actor=cast.system_admin, course_long_minutes=45, course_long_points="2",
        attendance_points_per_hour="1.5", lecture_multiplier="3", exam_points="0.5",
        award_points="4", unit_label="学时",
    )
    services.award_rule_save(actor=cast.system_admin, award_code="excellent_lecturer", points="6")
    services.forget_rules()

    assert selectors.course_points(minutes=45) == Decimal("2")
    assert selectors.course_points(minutes=44) == Decimal("0.5")
    assert selectors.attendance_points(hours=Decimal("2")) == Decimal("3.00")
    assert selectors.lecture_points(hours=Decimal("1")) == Decimal("3.00")
    assert selectors.exam_points() == Decimal("0.5")
    assert selectors.award_points() == Decimal("4")
    assert selectors.award_points(award_code="excellent_lecturer") == Decimal("6")
    assert selectors.unit_label() == "学时"


def test_negative_course_minutes_are_refused():
    with pytest.raises(ValidationError) as caught:
        selectors.course_points(minutes=-5)
    assert "minutes" in caught.value.message_dict


@pytest.mark.parametrize("role", ["learner", "unit_admin", "manager", "class_teacher"])
def test_only_system_admins_change_rules(cast, role):
    actor = cast.role(role)
    with pytest.raises(PermissionDenied):
        services.credit_policy_update(actor=actor, exam_points="5")
    with pytest.raises(PermissionDenied):
        services.source_rule_save(actor=actor, source_kind="course", year=2025, cap_percent="60")
    with pytest.raises(PermissionDenied):
        services.requirement_save(actor=actor, cadre_level=None, year=2025, points="40")
    with pytest.raises(PermissionDenied):
        services.award_rule_save(actor=actor, award_code="x", points="1")
    assert not SourceRule.objects.exists() and not Requirement.objects.exists()
    assert not AwardRule.objects.exists()


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"cap_percent": "120"}, "cap_percent"),
        ({"cap_percent": "abc"}, "cap_percent"),
        ({"cap_points": "-1"}, "cap_points"),
        ({"year": "20x5"}, "year"),
        ({"year": 1990}, "year"),
        ({"source_kind": "likes"}, "source_kind"),
        ({"counts_as": "maybe"}, "counts_as"),
    ],
)
def test_bad_source_rules_are_refused(cast, kwargs, field):
    args = {"actor": cast.system_admin, "source_kind": "course", "year": 2025, **kwargs}
    with pytest.raises(ValidationError) as caught:
        services.source_rule_save(**args)
    assert field in caught.value.message_dict
    assert not SourceRule.objects.exists()


def test_required_part_cannot_exceed_the_requirement(cast):
    with pytest.raises(ValidationError) as caught:
        services.requirement_save(
            actor=cast.system_admin, cadre_level=None, year=2025, points="40", required_points="50"
        )
    assert "required_points" in caught.value.message_dict


def test_a_new_cap_rebuilds_the_affected_year(cast, award, committed):
    for day in range(1, 11):
        award(cast.learner, "1", when=local(2025, 3, day, 10))
    committed(services.requirement_save, actor=cast.system_admin, cadre_level=None, year=2025, points="10")
    assert totals_of(cast.learner, "2025").total == Decimal("10.00")

    committed(services.source_rule_save, actor=cast.system_admin, source_kind="course", year=2025,
              cap_percent="50")

    assert totals_of(cast.learner, "2025").total == Decimal("5.00")
    assert UnitTotal.objects.get(unit=cast.learner.unit, period="2025").points == Decimal("5.00")


def test_award_of_a_person_without_unit_keeps_person_totals_only(award):
    loner = UserFactory(unit=None)
    award(loner, "1", when=local(2025, 3, 1, 10))
    assert totals_of(loner, "2025").total == Decimal("1.00")
    assert not UnitTotal.objects.exists()
