"""The PostgreSQL rebuild works in parts of the people and, when its transaction has
written nothing yet, runs the second part on another connection in the rebuild's
snapshot: the result is exactly the ledger's, drift in either part is found and fixed,
and a failed helper only means the rebuild does that part itself."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction

from credits import services, totals
from credits.models import PersonTotal, UnitTotal
from credits.rules import forget_rules
from tests.credits.conftest import local
from tests.credits.test_totals_property import actual, expected_from_ledger
from tests.factories import OrgTree, UserFactory

pg_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the helper exists on PostgreSQL only")


def _ledger_with_drift() -> tuple[list, OrgTree]:
    """Awards for people of both parts (even and odd ids), a cap and a person who moved,
    then totals spoilt in both parts the ways drift happens."""
    tree = OrgTree()
    services.source_rule_save(actor=None, source_kind="course", year=2025, cap_points=Decimal("3"))
    people = [UserFactory(unit=tree.township_a1) for _ in range(4)] + [UserFactory(unit=tree.township_b1)]
    assert {p.pk % totals.SCAN_PARTS for p in people} == set(range(totals.SCAN_PARTS))
    n = 0
    for person in people:
        for month, points in ((1, "2"), (4, "1.5"), (9, "0.25")):
            n += 1
            services.credit_award(
                person=person, source_kind="course", source_ref=f"c:{n}", points=Decimal(points),
                idempotency_key=f"helper:{n}", occurred_at=local(2025, month, 10, 9),
            )
    mover = people[0]
    mover.unit = tree.township_a2  # later entries carry the new unit; the cap is shared
    mover.save()
    services.credit_award(
        person=mover, source_kind="course", source_ref="c:moved", points=Decimal("2"),
        idempotency_key="helper:moved", occurred_at=local(2025, 11, 10, 9),
    )
    services.credit_award(
        person=people[1], source_kind="exam", source_ref="e:1", points=Decimal("1"),
        idempotency_key="helper:exam", occurred_at=local(2025, 11, 10, 9),
    )
    even = next(p for p in people if p.pk % 2 == 0)
    odd = next(p for p in people if p.pk % 2 == 1)
    PersonTotal.objects.filter(person=even, period="2025").update(total=Decimal("99"))
    PersonTotal.objects.filter(person=odd, period="2025-Q2").update(entries=7)
    PersonTotal.objects.filter(person=odd, period="2025-09").delete()
    UnitTotal.objects.filter(unit=tree.township_b1, period="2025-01").update(points=Decimal("5"))
    return people, tree


def _spy(monkeypatch, *, fail: bool = False) -> list:
    runs: list = []
    original = totals._Helper.run

    def run(self) -> None:
        if fail:
            self.error = RuntimeError("no connection for the helper")
        else:
            original(self)
        runs.append((self.parts, self.error))

    monkeypatch.setattr(totals._Helper, "run", run)
    return runs


@pg_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rebuild_with_the_helper_equals_the_ledger(monkeypatch):
    forget_rules()
    _ledger_with_drift()
    runs = _spy(monkeypatch)

    report = services.totals_rebuild(year=2025)

    assert runs == [([1], None)]  # the second part ran on the other connection, without error
    assert (report.person_rows_fixed, report.person_rows_added, report.person_rows_removed) == (2, 1, 0)
    assert report.unit_rows_fixed == 1
    assert report.entries == 17
    assert actual(2025) == expected_from_ledger(2025)
    assert services.totals_rebuild(year=2025).drift == 0
    forget_rules()


@pg_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_when_the_helper_fails_the_rebuild_does_its_part(monkeypatch):
    forget_rules()
    _ledger_with_drift()
    runs = _spy(monkeypatch, fail=True)

    report = services.totals_rebuild(year=2025)

    assert len(runs) == 1 and runs[0][1] is not None
    assert report.drift == 4
    assert actual(2025) == expected_from_ledger(2025)
    forget_rules()


@pg_only
@pytest.mark.django_db
def test_no_helper_once_the_transaction_has_written():
    tree = OrgTree()
    with transaction.atomic():
        services.credit_award(
            person=tree.people["TA1"], source_kind="exam", source_ref="e:1", points=Decimal("1"),
            idempotency_key="helper:written",
        )
        with connection.cursor() as cursor:
            # A second connection would not see this uncommitted entry.
            assert totals._helper_allowed(cursor) is False


@pg_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_helper_can_be_switched_off(monkeypatch, settings):
    settings.CREDITS_REBUILD_HELPER = False
    forget_rules()
    _ledger_with_drift()
    runs = _spy(monkeypatch)

    report = services.totals_rebuild(year=2025)

    assert runs == []  # one connection did every part
    assert report.drift == 4
    assert actual(2025) == expected_from_ledger(2025)
    forget_rules()
