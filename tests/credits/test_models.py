"""The ledger is append-only: in code everywhere, and in the database on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from credits.models import AppendOnlyError, CreditEntry
from tests.credits.conftest import local

pytestmark = pytest.mark.django_db


def test_an_entry_cannot_be_saved_again(cast, award):
    entry = CreditEntry.objects.get(pk=award(cast.learner, "1", when=local(2025, 1, 5, 9)).pk)
    entry.points = Decimal("100")
    with pytest.raises(AppendOnlyError):
        entry.save()
    assert CreditEntry.objects.get(pk=entry.pk).points == Decimal("1.00")


def test_an_entry_cannot_be_deleted(cast, award):
    entry = CreditEntry.objects.get(pk=award(cast.learner, "1", when=local(2025, 1, 5, 9)).pk)
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert CreditEntry.objects.filter(pk=entry.pk).exists()


def test_entries_cannot_be_updated_or_deleted_in_bulk(cast, award):
    award(cast.learner, "1", when=local(2025, 1, 5, 9))
    with pytest.raises(AppendOnlyError):
        CreditEntry.objects.all().update(points=Decimal("9"))
    with pytest.raises(AppendOnlyError):
        CreditEntry.objects.filter(person=cast.learner).delete()
    with pytest.raises(AppendOnlyError):
        CreditEntry.objects.bulk_update(list(CreditEntry.objects.all()), ["points"])
    assert CreditEntry.objects.get().points == Decimal("1.00")


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE credits_creditentry SET points = 100",
        "UPDATE credits_creditentry SET reason = 'changed'",
        "DELETE FROM credits_creditentry",
    ],
)
def test_postgres_refuses_update_and_delete_of_entries_from_raw_sql(cast, award, sql):
    entry = award(cast.learner, "1", when=local(2025, 1, 5, 9))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    stored = CreditEntry.objects.get(pk=entry.pk)
    assert stored.points == Decimal("1.00") and stored.reason == ""
