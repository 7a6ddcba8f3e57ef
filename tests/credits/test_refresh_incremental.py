"""The rank refresh writes only what changed, pages follow it, and live pushes are one call."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from credits import live, selectors, services, tasks, totals
from credits.models import PersonTotal, RankStep
from credits.periods import Period, current_periods
from tests.credits.conftest import local

Y2025 = Period("Y", 2025)


def _steps(period_key: str) -> set[tuple]:
    return set(
        RankStep.objects.filter(period=period_key).values_list("scope", "scope_id", "total", "people", "rank")
    )


def test_pages_show_the_order_of_the_last_refresh_and_follow_the_next(cast, award):
    award(cast.learner, "3", when=local(2025, 4, 1, 9))
    award(cast.inside, "1", when=local(2025, 4, 1, 9))
    # Without the refresh that follows the commit (a worker would run it seconds later):
    services.credit_award(
        person=cast.inside, source_kind="exam", source_ref="exams.exam:1", points=Decimal("5"),
        idempotency_key="incremental:1", occurred_at=local(2025, 4, 2, 9),
    )
    row = PersonTotal.objects.get(person=cast.inside, period="2025")
    assert (row.total, row.rank_total) == (Decimal("6.00"), Decimal("1.00"))
    page = selectors.people_ranking(cast.system_admin, period=Y2025, scope=cast.tree.city)
    assert [(r.name, r.total, r.rank) for r in page.rows] == [
        (cast.learner.name, Decimal("3.00"), 1), (cast.inside.name, Decimal("1.00"), 2),
    ]

    services.ranks_refresh(period_keys=["2025", "2025-Q2", "2025-04"])

    assert not PersonTotal.objects.exclude(rank_total=F("total")).exists()
    page = selectors.people_ranking(cast.system_admin, period=Y2025, scope=cast.tree.city)
    assert [(r.name, r.total, r.rank) for r in page.rows] == [
        (cast.inside.name, Decimal("6.00"), 1), (cast.learner.name, Decimal("3.00"), 2),
    ]
    leaf = selectors.people_ranking(cast.system_admin, period=Y2025, scope=cast.inside.unit)
    assert leaf.rows[0].name == cast.inside.name and leaf.rows[0].total == Decimal("6.00")


def test_a_refresh_that_finds_nothing_new_writes_nothing(cast, award):
    award(cast.learner, "3", when=local(2025, 4, 1, 9))
    award(cast.inside, "1", when=local(2025, 4, 1, 9))
    award(cast.outside, "1", when=local(2025, 4, 1, 9))

    ids = set(RankStep.objects.filter(period="2025").values_list("pk", flat=True))

    assert totals.refresh_ranks([Y2025]) == 0
    assert totals.refresh_ranks([Y2025]) == 0
    assert set(RankStep.objects.filter(period="2025").values_list("pk", flat=True)) == ids  # not rewritten


def test_steps_written_incrementally_equal_steps_written_from_scratch(cast, award):
    award(cast.learner, "3", when=local(2025, 4, 1, 9))
    award(cast.inside, "1", when=local(2025, 4, 1, 9))
    award(cast.outside, "2", when=local(2025, 4, 1, 9))
    before = _steps("2025")
    # Changes of every kind: a step disappears (1 → nobody), one appears (4), one moves.
    services.credit_award(
        person=cast.inside, source_kind="exam", source_ref="exams.exam:1", points=Decimal("3"),
        idempotency_key="incremental:2", occurred_at=local(2025, 4, 2, 9),
    )
    changed = totals.refresh_ranks([Y2025])
    incremental = _steps("2025")
    assert incremental != before and changed > 0

    RankStep.objects.filter(period="2025").delete()
    totals.refresh_ranks([Y2025])
    assert _steps("2025") == incremental
    assert selectors.person_rank(cast.inside, Y2025).rank_org == 1
    assert selectors.person_rank(cast.learner, Y2025).rank_org == 2


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs REDIS_URL (live sets in Redis)")
def test_a_push_writes_the_synced_periods_only(cast, award):
    year, quarter, month = current_periods()
    now = timezone.now()
    award(cast.learner, "2", when=now)  # the eager refresh loads the live sets of the periods
    r = live.client()
    r.delete(live._synced_key(month.key))  # the month's sets are not loaded
    live.forget_memo()

    pushed = live.push(
        person_id=cast.inside.pk, root_id=cast.tree.city.pk, unit_id=cast.inside.unit_id,
        totals={year.key: Decimal("7.50"), quarter.key: Decimal("7.50"), month.key: Decimal("7.50"),
                "2000": Decimal("1.00")},  # a period that is not live is never pushed
    )

    assert pushed == 2
    assert r.zscore(live.org_key(year.key, cast.tree.city.pk), cast.inside.pk) == 7.5
    assert r.zscore(live.unit_key(quarter.key, cast.inside.unit_id), cast.inside.pk) == 7.5
    assert r.zscore(live.org_key(month.key, cast.tree.city.pk), cast.inside.pk) is None
    assert live.push(person_id=cast.inside.pk, root_id=None, unit_id=None, totals={year.key: Decimal(1)}) == 0


@pytest.mark.skipif(
    not django_settings.REDIS_URL or connection.vendor != "postgresql",
    reason="needs REDIS_URL (live sets in Redis) and PostgreSQL",
)
def test_the_refresh_after_awards_updates_the_live_sets_without_reloading_them(cast, award, monkeypatch):
    periods = current_periods()
    year = periods[0]
    now = timezone.now()
    award(cast.learner, "2", when=now)  # the first refresh loads the live sets
    award(cast.outside, "1", when=now)
    assert live.is_synced(year)
    r = live.client()
    old_unit = cast.outside.unit_id
    # An award whose push never happened (say, lost to a race with a sync) …
    services.credit_award(
        person=cast.inside, source_kind="exam", source_ref="exams.exam:9", points=Decimal("3"),
        idempotency_key="incremental:lost-push", occurred_at=now,
    )
    # … and a person who moved to another unit.
    cast.outside.unit = cast.tree.township_a2
    cast.outside.save()
    monkeypatch.setattr(live, "sync", lambda period: pytest.fail("reloaded the live sets"))

    tasks.refresh_ranks(period_keys=[p.key for p in periods])

    for p in periods:
        assert r.zscore(live.org_key(p.key, cast.tree.city.pk), cast.inside.pk) == 3.0
        assert r.zscore(live.unit_key(p.key, cast.inside.unit_id), cast.inside.pk) == 3.0
        assert r.zscore(live.unit_key(p.key, old_unit), cast.outside.pk) is None
        assert r.zscore(live.unit_key(p.key, cast.tree.township_a2.pk), cast.outside.pk) == 1.0
        assert r.zscore(live.org_key(p.key, cast.tree.city.pk), cast.outside.pk) == 1.0
    info = selectors.person_rank(cast.inside, year)
    assert info.live and info.rank_org == 1
    assert selectors.person_rank(cast.outside, year).rank_unit == 2  # behind 东二街道职工 in the new unit
