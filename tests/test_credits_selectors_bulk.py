"""Bulk reads of credits for reports: per-person quarter sums from the precomputed totals
and the standards (requirement, pro-rata target, caps) a cadre level is judged by.

The sums must equal what the ledger says, reversals and caps included."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from credits import selectors, services
from credits.models import CreditEntry, PeriodKind, SourceKind
from credits.periods import Period
from credits.rules import forget_rules
from org.models import Role
from tests.factories import (
    CadreLevelFactory,
    OrgTree,
    RequirementFactory,
    RoleGrantFactory,
    SourceRuleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
YEAR = 2025
KINDS = list(SourceKind.values)
_keys = itertools.count()


def at(month: int, day: int = 10, hour: int = 10) -> dt.datetime:
    return dt.datetime(YEAR, month, day, hour, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _fresh_rules():
    forget_rules()
    yield
    forget_rules()


@pytest.fixture
def award(django_capture_on_commit_callbacks):
    def _award(person, points, kind="course", when=None):
        with django_capture_on_commit_callbacks(execute=True):
            return services.credit_award(
                person=person, source_kind=kind, source_ref=f"courses.course:{next(_keys)}",
                points=Decimal(points), idempotency_key=f"bulk-test:{next(_keys)}", occurred_at=when or at(2),
            )

    return _award


@pytest.fixture
def org(award, django_capture_on_commit_callbacks):
    """District A with a manager, people with credits in several quarters, a reversal, a
    quarter-boundary entry, an inactive person and a person outside the district."""
    tree = OrgTree()
    manager = UserFactory(unit=tree.district_a, name="经理")
    RoleGrantFactory(user=manager, unit=tree.district_a, role=Role.MANAGER)
    learner, inside, outside = tree.people["TA1"], tree.people["TA2"], tree.people["TB1"]
    award(learner, "8", when=at(1))
    award(learner, "8", when=at(3, 31, 23))  # 23:00 on 31 March in Beijing: still Q1
    award(learner, "4", kind="attendance", when=at(5))
    wrong = award(learner, "6", when=at(5))
    with django_capture_on_commit_callbacks(execute=True):
        services.credit_reverse(entry=wrong, actor=None, reason="录入错误")
    award(learner, "2", kind="exam", when=at(8))  # after Q2: not in a year-to-date at Q2
    award(inside, "1.5", kind="exam", when=at(4, 1, 0))  # first minute of Q2
    award(outside, "50", when=at(5))
    gone = UserFactory(unit=tree.township_a1)
    award(gone, "3", when=at(5))
    gone.is_active = False
    gone.save()
    return tree, manager, learner, inside, outside


def ledger_sums(person_ids, start: dt.datetime, end: dt.datetime) -> dict[int, dict[str, Decimal]]:
    """What the ledger itself says: raw sums per source in [start, end)."""
    out: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for pid, kind, points in CreditEntry.objects.filter(
        person_id__in=person_ids, occurred_at__gte=start, occurred_at__lt=end
    ).values_list("person_id", "source_kind", "points"):
        out[pid][kind] += points
    return out


def as_dicts(rows) -> dict[int, tuple[dict[str, Decimal], dict[str, Decimal]]]:
    out = {}
    for row in rows:
        values = row[2:]
        window = {k: Decimal(values[2 * i]) for i, k in enumerate(KINDS) if values[2 * i]}
        year = {k: Decimal(values[2 * i + 1]) for i, k in enumerate(KINDS) if values[2 * i + 1]}
        out[row[1]] = (window, year)
    return out


@pytest.mark.parametrize(("quarters", "through"), [((2,), 2), ((1,), 1), ((1, 2), 2), ((3, 4), 4)])
def test_quarter_sums_equal_the_ledgers_sums(org, quarters, through):
    tree, manager, learner, inside, outside = org
    rows = list(selectors.quarter_source_sums(manager, unit=tree.district_a, year=YEAR, quarters=quarters,
                                              through=through))
    got = as_dicts(rows)
    first = Period(PeriodKind.QUARTER, YEAR, quarters[0]).start
    end = Period(PeriodKind.QUARTER, YEAR, quarters[-1]).end
    in_window = ledger_sums([learner.pk, inside.pk], first, end)
    in_year = ledger_sums([learner.pk, inside.pk], Period(PeriodKind.YEAR, YEAR).start, end)
    for person in (learner, inside):
        window, year = got.get(person.pk, ({}, {}))
        assert window == {k: v for k, v in in_window[person.pk].items() if v}
        assert year == {k: v for k, v in in_year[person.pk].items() if v}
    # Only active people of the subtree the viewer may see; in (unit path, person id) order.
    assert outside.pk not in got and set(got) <= {learner.pk, inside.pk}
    assert [(r[0], r[1]) for r in rows] == sorted((r[0], r[1]) for r in rows)


def test_reversed_credits_net_out_and_boundaries_follow_local_time(org):
    tree, manager, learner, inside, _outside = org
    got = as_dicts(selectors.quarter_source_sums(manager, unit=tree.district_a, year=YEAR, quarters=(2,), through=2))
    window, year = got[learner.pk]
    assert window == {"attendance": Decimal("4")}  # the 6-point course credit was reversed
    assert year == {"course": Decimal("16"), "attendance": Decimal("4")}
    assert got[inside.pk] == ({"exam": Decimal("1.5")}, {"exam": Decimal("1.5")})


def test_quarter_sums_are_one_query_and_refuse_impossible_quarters(org):
    tree, manager, *_ = org
    list(selectors.quarter_source_sums(manager, unit=tree.district_a, year=YEAR, quarters=(1,), through=1))
    with CaptureQueriesContext(connection) as queries:  # the viewer's scope is cached by now
        list(selectors.quarter_source_sums(manager, unit=tree.district_a, year=YEAR, quarters=(1, 2), through=2))
    assert len(queries) == 1
    for quarters, through in (((3,), 2), ((), 2), ((1,), 5), ((0,), 1)):
        with pytest.raises(ValueError):
            selectors.quarter_source_sums(manager, unit=tree.district_a, year=YEAR, quarters=quarters,
                                          through=through)


def test_a_learner_sees_only_their_own_sums(org):
    tree, _manager, learner, _inside, _outside = org
    got = as_dicts(selectors.quarter_source_sums(learner, unit=tree.city, year=YEAR, quarters=(1,), through=1))
    assert set(got) == {learner.pk}


def test_level_standard_applies_caps_and_the_pro_rata_target_like_the_year_summary(org):
    tree, _manager, learner, *_ = org
    level = CadreLevelFactory(code="KJ")
    RequirementFactory(cadre_level=level, year=YEAR, points=Decimal("40"))
    SourceRuleFactory(source_kind="course", year=YEAR, cap_points=Decimal("10"))
    learner.cadre_level = level
    learner.save()
    forget_rules()  # the rules of the year were read (and cached) by the awards above

    standard = selectors.level_standard(YEAR, level.pk, as_of=dt.date(YEAR, 6, 30))
    fraction = Decimal(str(Period(PeriodKind.YEAR, YEAR).fraction_elapsed(dt.date(YEAR, 6, 30))))
    assert standard.requirement == Decimal("40")
    assert standard.target == (Decimal("40") * fraction).quantize(Decimal("0.01"))
    assert standard.caps["course"] == Decimal("10") and standard.caps["exam"] is None
    assert standard.counted({"course": Decimal("16"), "attendance": Decimal("4")}) == Decimal("14")
    # The year's own total, as credits keeps it (caps applied on the year row), agrees.
    services.totals_rebuild(year=YEAR)
    year_total = selectors.person_totals_visible_to(learner, period_keys=[str(YEAR)]).get(person=learner).total
    got = as_dicts(selectors.quarter_source_sums(learner, unit=tree.city, year=YEAR, quarters=(4,), through=4))
    assert standard.counted(got[learner.pk][1]) == year_total

    none = selectors.level_standard(YEAR, None, as_of=dt.date(YEAR, 6, 30))
    assert none.requirement is None and none.target is None
