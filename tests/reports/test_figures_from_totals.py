"""The report's per-person figures come from credits' precomputed totals; they must say
exactly what the ledger says (window sums, capped year-to-date), reversals included."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from credits import services as credit_services
from credits.models import CreditEntry
from credits.rules import forget_rules
from reports import rows
from tests.factories import CadreLevelFactory, RequirementFactory, SourceRuleFactory, UserFactory

from .conftest import fresh, local

pytestmark = pytest.mark.django_db


@pytest.fixture
def capped(cast, award, quarter, django_capture_on_commit_callbacks):
    level = CadreLevelFactory(code="CJ")
    RequirementFactory(cadre_level=level, year=quarter.year, points=Decimal("40"))
    SourceRuleFactory(source_kind="course", year=quarter.year, cap_points=Decimal("10"))
    cast.learner.cadre_level = level
    cast.learner.save()
    forget_rules()
    early = local(quarter.year, 1, 5, 9)
    mid = local(quarter.year, quarter.first_month + 1, 5, 9)
    award(cast.learner, "8", when=early)
    award(cast.learner, "8", when=mid)
    award(cast.learner, "3", kind="attendance", when=mid)
    wrong = award(cast.learner, "5", when=mid)
    with django_capture_on_commit_callbacks(execute=True):
        credit_services.credit_reverse(entry=wrong, actor=None, reason="重复录入")
    award(cast.inside, "1", kind="exam", when=mid)
    award(cast.outside, "9", when=mid)
    return level


def from_ledger(person, window: rows.Window, caps: dict[str, Decimal | None]):
    """(window sums by source, capped year-to-date total) straight from the ledger."""
    in_window: dict[str, Decimal] = defaultdict(Decimal)
    in_year: dict[str, Decimal] = defaultdict(Decimal)
    for kind, points, when in CreditEntry.objects.filter(person=person).values_list(
        "source_kind", "points", "occurred_at"
    ):
        if window.year_start <= when < window.end:
            in_year[kind] += points
            if when >= window.start:
                in_window[kind] += points
    year_total = sum(
        (v if caps.get(k) is None else min(v, caps[k]) for k, v in in_year.items()), Decimal("0")
    )
    return {k: v for k, v in in_window.items() if v}, year_total


@pytest.mark.parametrize("kind", ["Q", "H"])
def test_person_figures_equal_the_ledgers_numbers_with_caps_and_reversals(cast, quarter, capped, kind):
    window = quarter if kind == "Q" else rows.half_window(quarter.year, 1 if quarter.index <= 2 else 2)
    figures = {pf.person_id: pf for pf in rows.person_figures(fresh(cast.manager), cast.tree.district_a, window)}
    assert cast.outside.pk not in figures
    for person in (cast.learner, cast.inside):
        caps = {"course": Decimal("10")}
        by_source, year_total = from_ledger(person, window, caps)
        pf = figures[person.pk]
        assert pf.by_source == by_source
        assert pf.period_total == sum(by_source.values(), Decimal("0"))
        assert pf.year_total == year_total
    learner = figures[cast.learner.pk]
    # 16 course credits earned (the reversed 5 net out), counted up to the cap of 10.
    assert learner.by_source == {"course": Decimal("8"), "attendance": Decimal("3")}
    assert learner.year_total == Decimal("13")
    assert learner.requirement == Decimal("40") and learner.target is not None


def test_person_figures_read_a_constant_number_of_queries(cast, quarter, capped):
    viewer = fresh(cast.manager)
    list(rows.person_figures(viewer, cast.tree.district_a, quarter))  # scope and rules cached

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            list(rows.person_figures(viewer, cast.tree.district_a, quarter))
        return len(queries)

    before = count()
    for _ in range(5):
        UserFactory(unit=cast.tree.township_a2)
    assert count() == before <= 4
