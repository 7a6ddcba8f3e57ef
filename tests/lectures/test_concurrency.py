"""Real concurrent duplicate check-ins (PostgreSQL only: SQLite serialises writers)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone

from sessions import checkin, services
from sessions.models import Attendance
from tests.factories import OrgUnitFactory, UserFactory
from tests.lectures.factories import SessionFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_checkins_of_one_person_leave_exactly_one_row():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent writers")
    unit = OrgUnitFactory()
    person = UserFactory(unit=unit)
    session = SessionFactory(host_unit=unit, start=timezone.now() - dt.timedelta(minutes=1))
    token = checkin.make_token(session)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt():
        try:
            barrier.wait()
            services.checkin_by_token(session=session, person=person, token=token)
            outcomes.append("ok")
        except ValidationError as error:
            outcomes.append(" ".join(error.messages))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    assert all("already checked in" in o for o in outcomes if o != "ok")
    assert Attendance.objects.filter(session=session, person=person).count() == 1
