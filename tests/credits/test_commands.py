"""recompute_credits, the rebuild task and the periodic rank refresh."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from credits import tasks
from credits.models import PersonTotal, UnitTotal
from tests.credits.conftest import local

pytestmark = pytest.mark.django_db


def test_recompute_credits_reports_and_fixes_drift(cast, award):
    award(cast.learner, "2", when=local(2025, 3, 1, 9))
    award(cast.inside, "3", when=local(2025, 7, 1, 9))
    PersonTotal.objects.filter(person=cast.learner, period="2025").update(total=Decimal("99"))
    PersonTotal.objects.filter(person=cast.inside, period="2025-07").delete()
    UnitTotal.objects.filter(unit=cast.inside.unit, period="2025").update(points=Decimal("7"))
    PersonTotal.objects.create(person=cast.outside, period="2025-01", kind="M", year=2025, total=Decimal("5"))

    out = StringIO()
    call_command("recompute_credits", "--year", "2025", stdout=out)

    text = out.getvalue()
    assert "drift fixed: 4" in text
    assert PersonTotal.objects.get(person=cast.learner, period="2025").total == Decimal("2.00")
    assert PersonTotal.objects.get(person=cast.inside, period="2025-07").total == Decimal("3.00")
    assert not PersonTotal.objects.filter(person=cast.outside).exists()
    assert UnitTotal.objects.get(unit=cast.inside.unit, period="2025").points == Decimal("3.00")
    out = StringIO()
    call_command("recompute_credits", stdout=out)
    assert "drift fixed: 0" in out.getvalue()


def test_recompute_credits_on_an_empty_ledger_says_so(db):
    out = StringIO()
    call_command("recompute_credits", stdout=out)
    assert "empty" in out.getvalue()


def test_recompute_credits_refuses_a_year_out_of_range(db):
    with pytest.raises(CommandError, match="between"):
        call_command("recompute_credits", "--year", "1800", stdout=StringIO())


def test_rebuild_task_reports_drift_per_year(cast, award):
    award(cast.learner, "2", when=local(2025, 3, 1, 9))
    PersonTotal.objects.filter(person=cast.learner, period="2025-03").update(total=Decimal("0"))
    result = tasks.rebuild_totals.delay(year=2025).get()
    assert result[2025]["drift"] == 1 and result[2025]["person_rows_fixed"] == 1


def test_periodic_refresh_reranks_the_current_periods(cast, award):
    from django.utils import timezone

    from credits.models import RankStep

    award(cast.learner, "2", when=timezone.now())
    award(cast.inside, "1", when=timezone.now())
    RankStep.objects.all().delete()
    tasks.refresh_current_ranks.delay().get()
    year = str(timezone.localtime(timezone.now()).year)
    steps = RankStep.objects.filter(period=year, scope="o", scope_id=cast.tree.city.pk).order_by("rank")
    assert [(s.total, s.rank, s.people) for s in steps] == [
        (Decimal("2.00"), 1, 1), (Decimal("1.00"), 2, 1)
    ]


def test_every_beat_entry_of_credits_expires():
    from learning_portal.schedule import BEAT_SCHEDULE

    entries = {k: v for k, v in BEAT_SCHEDULE.items() if k.startswith("credits.")}
    assert entries and all(v["options"]["expires"] > 0 for v in entries.values())
