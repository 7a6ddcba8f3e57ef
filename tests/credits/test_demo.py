"""The demo seeder: rules, requirements and a realistic two-year ledger, idempotently."""

from __future__ import annotations

import random
from io import StringIO

import pytest
from django.db.models import Count

from credits import demo, services
from credits.models import CreditEntry, RankStep, Requirement, SourceRule
from credits.periods import current_periods
from tests.factories import CadreLevelFactory

pytestmark = pytest.mark.django_db


def test_seeder_builds_rules_and_a_ledger_matching_its_totals(cast):
    CadreLevelFactory(code="section", name="科级")
    demo.seed(staff_count=10, rng=random.Random(7), stdout=StringIO())

    assert SourceRule.objects.filter(source_kind="course", cap_percent=60).exists()
    assert Requirement.objects.filter(cadre_level__name="科级").exists()
    assert Requirement.objects.filter(cadre_level__isnull=True).exists()
    per_person = CreditEntry.objects.values("person").annotate(n=Count("id"))
    assert len(per_person) == 10  # every active person with a unit
    assert all(15 <= row["n"] <= 90 for row in per_person)  # a few dozen over two years
    this_year = current_periods()[0].year
    years = {e.occurred_at.year for e in CreditEntry.objects.all()}
    assert years <= {this_year - 1, this_year} and len(years) == 2
    assert RankStep.objects.filter(period=str(this_year), scope="o").exists()
    for year in (this_year - 1, this_year):
        assert services.totals_rebuild(year=year).drift == 0


def test_seeder_is_idempotent(cast):
    demo.seed(staff_count=10, rng=random.Random(7), stdout=StringIO())
    count = CreditEntry.objects.count()
    out = StringIO()
    demo.seed(staff_count=10, rng=random.Random(8), stdout=out)
    assert CreditEntry.objects.count() == count
    assert "already" in out.getvalue()
    assert SourceRule.objects.filter(source_kind="course").count() == 1
