"""Property: after any sequence of awards, reversals, unit moves and cap changes, the
derived totals equal what the ledger implies, and a rebuild finds no drift."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credits import services
from credits.models import CreditEntry, PersonTotal, UnitTotal
from credits.periods import periods_of
from credits.rules import forget_rules, rules_for_year
from tests.credits.conftest import local

KINDS = ["course", "attendance", "exam", "award", "adjustment"]

award_op = st.tuples(
    st.just("award"),
    st.integers(0, 2),  # person
    st.sampled_from(KINDS),
    st.decimals(min_value=Decimal("-3"), max_value=Decimal("9"), places=2),
    st.integers(1, 12),  # month
    st.integers(1, 28),  # day
)
reverse_op = st.tuples(st.just("reverse"), st.integers(0, 50))
move_op = st.tuples(st.just("move"), st.integers(0, 2), st.integers(0, 2))
cap_op = st.tuples(st.just("cap"), st.sampled_from([None, Decimal("20"), Decimal("50")]))
operations = st.lists(st.one_of(award_op, award_op, award_op, reverse_op, move_op, cap_op), max_size=25)


def expected_from_ledger(year: int):
    """Totals computed in plain Python from the ledger, under the year's rules."""
    forget_rules()
    rules = rules_for_year(year)
    raw = defaultdict(Decimal)  # (person, period, kind)
    entries = defaultdict(int)
    unit_points = defaultdict(Decimal)
    running = defaultdict(Decimal)  # (person, kind) year raw, in id order
    levels = {}
    for e in CreditEntry.objects.order_by("id").select_related("person"):
        levels[e.person_id] = e.person.cadre_level_id
        for p in periods_of(e.occurred_at):
            if p.year != year:
                continue
            raw[(e.person_id, p.key, e.source_kind)] += e.points
            entries[(e.person_id, p.key)] += 1
            if e.unit_id is None:
                continue
            if p.kind == "Y":
                cap = rules.cap_for(e.source_kind, e.person.cadre_level_id)
                running[(e.person_id, e.source_kind)] += e.points
                new = running[(e.person_id, e.source_kind)]
                counted = e.points if cap is None else min(new, cap) - min(new - e.points, cap)
                unit_points[(e.unit_id, p.key)] += counted
            else:
                unit_points[(e.unit_id, p.key)] += e.points
    person_totals = {}
    for (person_id, period) in entries:
        total = Decimal("0")
        for kind in {k for (pid, per, k) in raw if pid == person_id and per == period}:
            value = raw[(person_id, period, kind)]
            cap = rules.cap_for(kind, levels[person_id]) if len(period) == 4 else None
            total += value if cap is None else min(value, cap)
        person_totals[(person_id, period)] = (total.quantize(Decimal("0.01")), entries[(person_id, period)])
    return person_totals, {k: v.quantize(Decimal("0.01")) for k, v in unit_points.items()}


def actual(year: int):
    people = {
        (r.person_id, r.period): (r.total, r.entries)
        for r in PersonTotal.objects.filter(year=year)
    }
    units = {
        (r.unit_id, r.period): r.points
        for r in UnitTotal.objects.filter(year=year)
        if r.points or r.entries
    }
    return people, units


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_totals_equal_the_ledger_after_any_sequence(cast, django_capture_on_commit_callbacks, ops):
    people = [cast.learner, cast.inside, cast.outside]
    units = [cast.tree.township_a1, cast.tree.township_a2, cast.tree.township_b1]
    with transaction.atomic():  # each example is rolled back, so examples do not meet
        for person in people:
            person.refresh_from_db()
        _run(ops, people, units, django_capture_on_commit_callbacks)
        transaction.set_rollback(True)
    forget_rules()


def _run(ops, people, units, capture) -> None:
    services.requirement_save(actor=None, cadre_level=None, year=2025, points="40")
    n = 0
    with capture(execute=True):
        for op in ops:
            if op[0] == "award":
                _, who, kind, points, month, day = op
                n += 1
                services.credit_award(
                    person=people[who], source_kind=kind, source_ref=f"p:{n}",
                    points=points, idempotency_key=f"prop:{n}", occurred_at=local(2025, month, day, 12),
                )
            elif op[0] == "reverse":
                candidates = list(
                    CreditEntry.objects.filter(reverses__isnull=True, reversals__isnull=True).order_by("id")
                )
                if candidates:
                    services.credit_reverse(entry=candidates[op[1] % len(candidates)], actor=None, reason="更正")
            elif op[0] == "move":
                person = people[op[1]]
                person.unit = units[op[2]]
                person.save()
            else:
                services.source_rule_save(actor=None, source_kind="course", year=2025, cap_points=op[1])
    expected_people, expected_units = expected_from_ledger(2025)
    changed_caps = any(op[0] == "cap" for op in ops)
    if not changed_caps:
        # Incremental totals, without any rebuild, already equal the ledger.
        assert actual(2025) == (expected_people, expected_units)
    report = services.totals_rebuild(year=2025)
    if not changed_caps:
        assert report.drift == 0
    assert actual(2025) == (expected_people, expected_units)
    assert services.totals_rebuild(year=2025).drift == 0
