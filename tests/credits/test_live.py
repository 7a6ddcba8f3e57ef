"""With PostgreSQL and Redis: concurrent awards credit once; live ranks within seconds."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from credits import live, selectors, services
from credits.models import CreditEntry, PersonTotal
from credits.periods import current_periods
from tests.factories import OrgTree, UserFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent connections (PostgreSQL)")
def test_concurrent_awards_of_the_same_cause_credit_once():
    tree = OrgTree()
    person = tree.people["TA1"]
    barrier = threading.Barrier(4)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            entry = services.credit_award(
                person=person, source_kind="attendance", source_ref="lectures.session:1",
                points=Decimal("1"), idempotency_key="attendance:1:race",
            )
            results.append(entry.pk)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert not errors
    assert len(set(results)) == 1 and len(results) == 4
    assert CreditEntry.objects.count() == 1
    year = current_periods()[0].key
    assert PersonTotal.objects.get(person=person, period=year).entries == 1


def _db_rank(person, period) -> int | None:
    """The rank from the database's ranking steps (what readers get without Redis)."""
    from credits import totals

    return totals.rank_snapshot(person_id=person.pk, unit_id=person.unit_id, period_key=period.key).rank_org


def _wait_for(predicate, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_live_ranks_follow_an_award_within_seconds(celery_worker_live, settings):
    settings.CREDITS_RANK_DEBOUNCE_SECONDS = 0
    tree = OrgTree()
    leader, chaser = tree.people["TA1"], tree.people["TA2"]
    UserFactory(unit=tree.township_a1)
    year = current_periods()[0]

    services.credit_award(person=leader, source_kind="course", source_ref="c:1", points=Decimal("3"),
                          idempotency_key="live:1", occurred_at=timezone.now())
    # The worker refreshes the ranks and loads the live sets.
    assert _wait_for(lambda: live.is_synced(year))
    assert _wait_for(lambda: _db_rank(leader, year) == 1)

    started = time.monotonic()
    services.credit_award(person=chaser, source_kind="exam", source_ref="e:1", points=Decimal("5"),
                          idempotency_key="live:2", occurred_at=timezone.now())
    info = selectors.person_rank(chaser, year)
    assert info.live is True and info.rank_org == 1  # pushed on commit, read at once
    assert selectors.person_rank(leader, year).rank_org == 2
    assert time.monotonic() - started < 2
    # The precomputed ranking steps follow within seconds (the worker's refresh).
    assert _wait_for(lambda: _db_rank(leader, year) == 2)
    page = selectors.people_ranking(leader, period=year, scope=tree.city)
    assert page.live and [r.name for r in page.rows[:2]] == [chaser.name, leader.name]
