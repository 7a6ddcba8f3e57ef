"""Scoped reads and the attendance export rows."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.utils import timezone

from sessions import exports, selectors
from sessions.models import Session
from tests.factories import OrgUnitFactory, UserFactory
from tests.lectures.conftest import refresh
from tests.lectures.factories import AttendanceFactory, SessionFactory, SpeakerFactory, tomorrow_at

pytestmark = pytest.mark.django_db


def test_a_speaker_from_outside_the_audience_still_sees_their_class(org):
    outsider = UserFactory(unit=org.b)
    session = SessionFactory(host_unit=org.a, speakers=[SpeakerFactory(person=outsider)])
    assert session in selectors.sessions_visible_to(refresh(outsider))
    assert session not in selectors.sessions_visible_to(refresh(org.learner_b))


def test_visibility_follows_the_audience_rules(org):
    closed_to_a1 = SessionFactory(host_unit=org.a, audience_open=False)
    closed_to_a1.audience_units.set([org.a1])
    other_section = OrgUnitFactory(parent=org.a)
    assert closed_to_a1 in selectors.sessions_visible_to(refresh(org.learner))
    assert closed_to_a1 not in selectors.sessions_visible_to(refresh(UserFactory(unit=other_section)))
    assert closed_to_a1 in selectors.sessions_visible_to(refresh(org.manager_a))  # scope, not audience


def test_upcoming_hides_cancelled_and_ended_classes(org):
    live = SessionFactory(host_unit=org.a)
    SessionFactory(host_unit=org.a, status=Session.Status.CANCELLED)
    past_start = timezone.now() - dt.timedelta(days=2)
    SessionFactory(host_unit=org.a, start=past_start, end=past_start + dt.timedelta(hours=1))
    assert list(selectors.upcoming_for(refresh(org.learner))) == [live]


def test_the_month_calendar_puts_classes_on_their_local_day(org):
    start = tomorrow_at(8, 0)  # 08:00 Beijing time is 00:00 UTC the same day
    session = SessionFactory(host_unit=org.a, start=start, end=start + dt.timedelta(hours=1))
    local = timezone.localtime(start).date()
    weeks = selectors.month_calendar(refresh(org.learner), year=local.year, month=local.month)
    days = {d["day"]: d["sessions"] for week in weeks for d in week}
    assert days[local] == [session]


def test_the_calendar_feed_lists_only_the_persons_own_classes(org):
    mine = SessionFactory(host_unit=org.a)
    full = SessionFactory(host_unit=org.a, capacity=5)  # needs registration; not registered
    since = timezone.now() - dt.timedelta(days=1)
    assert list(selectors.calendar_sessions_for(refresh(org.learner), since=since)) == [mine]
    assert full not in selectors.calendar_sessions_for(refresh(org.learner), since=since)


def test_export_rows_are_local_time_and_neutralise_formulas(org, session_a):
    tricky = UserFactory(unit=org.a1, name="=HYPERLINK(\"http://evil\")")
    at = timezone.make_aware(dt.datetime.combine(timezone.localdate(session_a.start), dt.time(16, 31)))
    AttendanceFactory(session=session_a, person=tricky, checked_in_at=at)
    rows = selectors.export_attendance(refresh(org.admin_a), session=session_a)
    text = exports.csv_file(rows).read().decode("utf-8")
    assert text.startswith("\ufeff")
    record = list(csv.reader(io.StringIO(text[1:])))[1]
    assert record[0].startswith("'=")
    assert record[4].endswith("16:31:00")
    assert record[8] == org.speaker.name and record[9] == "60"
    book = openpyxl.load_workbook(exports.xlsx_file(rows))
    cells = next(iter(book.active.iter_rows(min_row=2, values_only=True)))
    assert cells[0].startswith("'=") and cells[4] == at.astimezone(timezone.get_current_timezone()).replace(tzinfo=None)


def test_the_range_export_covers_the_subtree_and_both_end_dates(org):
    day = timezone.localdate() - dt.timedelta(days=3)
    start = timezone.make_aware(dt.datetime.combine(day, dt.time(16, 30)))
    inside = SessionFactory(host_unit=org.a, start=start, end=start + dt.timedelta(hours=1))
    before = SessionFactory(host_unit=org.a, start=start - dt.timedelta(days=1), end=start - dt.timedelta(hours=23))
    AttendanceFactory(session=inside, person=org.learner)
    AttendanceFactory(session=before, person=org.learner)
    AttendanceFactory(session=inside, person=UserFactory(unit=org.b))
    rows = selectors.export_attendance(refresh(org.admin_a), unit=org.a, date_from=day, date_to=day)
    assert list(rows.values_list("session_id", flat=True)) == [inside.pk]
    everything = selectors.export_attendance(refresh(org.sysadmin), unit=None, date_from=day - dt.timedelta(days=1), date_to=day)
    assert everything.count() == 3
    b_admin_view = selectors.export_attendance(refresh(org.admin_b), unit=None, date_from=day, date_to=day)
    assert b_admin_view.count() == 1


def test_export_rows_are_produced_in_a_fixed_number_of_queries(org, session_a, django_assert_max_num_queries):
    for _ in range(20):
        AttendanceFactory(session=session_a, person=UserFactory(unit=org.a1))
    rows = selectors.export_attendance(refresh(org.admin_a), session=session_a)
    with django_assert_max_num_queries(4):
        assert len(list(selectors.attendance_export_rows(rows))) == 20


def test_rules_are_inherited_from_the_nearest_unit_with_settings(org, settings):
    import datetime as _dt

    from sessions import services

    services.programme_settings_save(
        actor=refresh(org.admin_a), unit=org.a, slot_start=_dt.time(16, 0), slot_minutes=45, monthly_target=2,
        checkin_opens_before=10, checkin_closes_after=15, late_after=3, declaration_max_age=40,
    )
    rules = selectors.rules_for(org.a1)
    assert (rules.slot_start, rules.slot_minutes, rules.late_after, rules.source_unit_id) == (_dt.time(16, 0), 45, 3, org.a.pk)
    assert selectors.rules_for(org.b).slot_minutes == settings.LECTURES_DEFAULT_SLOT_MINUTES
