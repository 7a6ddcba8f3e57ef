"""Every step of the programme, through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from org.models import Notification
from sessions import checkin, selectors, services
from sessions.models import (
    Attendance,
    AttendanceChange,
    Courseware,
    Declaration,
    Menu,
    PlanItem,
    Registration,
    Reminder,
    Session,
    TopicChoice,
    Venue,
)
from tests.factories import CadreLevelFactory, UserFactory
from tests.lectures.conftest import refresh
from tests.lectures.factories import (
    AttendanceFactory,
    DeclarationFactory,
    MenuFactory,
    MenuTopicFactory,
    PlanFactory,
    SessionFactory,
    SpeakerFactory,
    VenueFactory,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db


def CreditEntry():
    return apps.get_model("credits", "CreditEntry")


def _create(org, **overrides):
    start = overrides.pop("start", tomorrow_at())
    kwargs = dict(
        actor=refresh(org.admin_a), title="档案数字化加工的难点", track=org.track, host_unit=org.a,
        start=start, end=overrides.pop("end", start + dt.timedelta(hours=1)), speakers=[org.speaker],
    )
    kwargs.update(overrides)
    return services.session_create(**kwargs)


# --- Scheduling ---------------------------------------------------------------------------


def test_scheduling_a_class_copies_the_units_checkin_rules_and_links_speakers(org):
    session = _create(org, capacity=30)
    assert session.status == Session.Status.SCHEDULED
    assert selectors.speakers_of(session) == [org.speaker]
    assert (session.checkin_opens_before, session.checkin_closes_after, session.late_after) == (15, 20, 5)


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"start": tomorrow_at(17, 0), "end": tomorrow_at(16, 0)}, "end", "must end after it starts"),
        ({"start": tomorrow_at(days=-1), "end": tomorrow_at(days=-1) + dt.timedelta(hours=1)}, "start", "in the past"),
        ({"capacity": 0}, "capacity", "positive"),
        ({"capacity": -5}, "capacity", "positive"),
        ({"speakers": []}, "speakers", "at least one speaker"),
        ({"title": "  "}, "title", "title"),
        ({"attend_points": Decimal("-1")}, "attend_points", "between 0 and 100"),
    ],
)
def test_bad_class_input_names_the_field_and_writes_nothing(org, overrides, field, fragment):
    with pytest.raises(ValidationError) as exc:
        _create(org, **overrides)
    assert fragment in " ".join(exc.value.message_dict[field])
    assert not Session.objects.exists()


def test_an_audience_outside_the_admins_scope_is_refused(org):
    with pytest.raises(ValidationError) as exc:
        _create(org, audience_open=False, audience_units=[org.b])
    assert org.b.name in exc.value.message_dict["audience_units"][0]
    assert not Session.objects.exists()


def test_a_host_unit_outside_the_admins_scope_is_refused(org):
    with pytest.raises(ValidationError) as exc:
        _create(org, host_unit=org.b)
    assert "host_unit" in exc.value.message_dict
    assert not Session.objects.exists()


def test_double_booking_a_speaker_names_the_clashing_class_and_time(org):
    first = _create(org, title="第一课")
    with pytest.raises(ValidationError) as exc:
        _create(org, title="第二课", start=first.start + dt.timedelta(minutes=30))
    message = exc.value.message_dict["speakers"][0]
    assert "第一课" in message and timezone.localtime(first.start).strftime("%H:%M") in message
    assert Session.objects.count() == 1


def test_double_booking_a_venue_is_refused_but_back_to_back_is_fine(org):
    room = VenueFactory(unit=org.a, name="三楼会议室")
    first = _create(org, venue=room)
    other_speaker = SpeakerFactory(person=UserFactory(unit=org.a))
    with pytest.raises(ValidationError) as exc:
        _create(org, venue=room, speakers=[other_speaker], start=first.start + dt.timedelta(minutes=59))
    assert "三楼会议室" in exc.value.message_dict["venue"][0]
    _create(org, venue=room, speakers=[other_speaker], start=first.end)
    assert Session.objects.count() == 2


def test_an_online_venue_needs_a_link(org):
    online = VenueFactory(unit=org.a, kind=Venue.Kind.ONLINE)
    with pytest.raises(ValidationError) as exc:
        _create(org, venue=online)
    assert "online_url" in exc.value.message_dict


def test_audience_by_units_and_cadre_levels_selects_the_right_people(org):
    level = CadreLevelFactory(name="科级")
    in_a1_with_level = UserFactory(unit=org.a1, cadre_level=level)
    session = _create(org, audience_open=False, audience_units=[org.a1], audience_levels=[level])
    assert selectors.in_audience(session, in_a1_with_level)
    assert not selectors.in_audience(session, org.learner)  # no level
    assert not selectors.in_audience(session, org.learner_b)
    assert set(selectors.audience_people(session)) == {in_a1_with_level}


def test_rescheduling_tells_the_audience_and_rechecks_clashes_excluding_itself(org, django_capture_on_commit_callbacks):
    session = _create(org)
    new_start = session.start + dt.timedelta(days=1)
    services.session_update(
        actor=refresh(org.admin_a), session=session, title=session.title, track=org.track, start=new_start,
        end=new_start + dt.timedelta(hours=1), speakers=[org.speaker],
    )
    session.refresh_from_db()
    assert session.start == new_start
    assert Notification.objects.filter(recipient=org.learner, kind="lectures.session", title__contains=session.title).exists()


def test_cancelling_needs_a_reason_and_tells_the_audience(org, session_a):
    with pytest.raises(ValidationError):
        services.session_cancel(actor=refresh(org.admin_a), session=session_a, reason=" ")
    assert Session.objects.get(pk=session_a.pk).status == Session.Status.SCHEDULED
    services.session_cancel(actor=refresh(org.admin_a), session=session_a, reason="台风停课")
    assert Session.objects.get(pk=session_a.pk).status == Session.Status.CANCELLED
    notice = Notification.objects.get(recipient=org.learner, kind="lectures.session")
    assert "台风停课" in notice.body
    assert not Notification.objects.filter(recipient=org.learner_b).exists()


def test_an_admin_of_another_unit_cannot_cancel(org, session_a):
    with pytest.raises(PermissionDenied):
        services.session_cancel(actor=refresh(org.admin_b), session=session_a, reason="x")


# --- Registration -------------------------------------------------------------------------


def test_registration_respects_capacity_and_audience(org):
    session = SessionFactory(host_unit=org.a, capacity=1, speakers=[org.speaker])
    services.registration_create(session=session, person=org.learner)
    with pytest.raises(ValidationError, match="registered already"):
        services.registration_create(session=session, person=org.learner)
    with pytest.raises(ValidationError, match="full"):
        services.registration_create(session=session, person=UserFactory(unit=org.a))
    with pytest.raises(ValidationError, match="not open"):
        services.registration_create(session=session, person=org.learner_b)
    assert Registration.objects.count() == 1


def test_a_class_without_capacity_takes_no_registration(org, session_a):
    with pytest.raises(ValidationError, match="no seat limit"):
        services.registration_create(session=session_a, person=org.learner)


# --- Check-in ---------------------------------------------------------------------------------


def test_checkin_with_a_fresh_token_marks_present_then_late_after_the_threshold(org, session_a):
    at = session_a.start + dt.timedelta(minutes=2)
    row = services.checkin_by_token(session=session_a, person=org.learner, token=checkin.make_token(session_a, at), now=at)
    assert (row.status, row.method, row.unit_id) == (Attendance.Status.PRESENT, "qr", org.a1.pk)
    later = session_a.start + dt.timedelta(minutes=10)
    other = UserFactory(unit=org.a)
    row = services.checkin_by_token(session=session_a, person=other, token=checkin.make_token(session_a, later), now=later)
    assert row.status == Attendance.Status.LATE


def test_a_token_from_another_class_is_refused(org, session_a):
    other = SessionFactory(host_unit=org.a, start=session_a.start, end=session_a.end)
    at = session_a.start
    with pytest.raises(ValidationError, match="another class"):
        services.checkin_by_token(session=session_a, person=org.learner, token=checkin.make_token(other, at), now=at)
    assert not Attendance.objects.exists()


def test_an_expired_token_is_refused(org, session_a):
    at = session_a.start + dt.timedelta(minutes=1)
    old = checkin.make_token(session_a, at - dt.timedelta(minutes=2))
    with pytest.raises(ValidationError, match="expired"):
        services.checkin_by_token(session=session_a, person=org.learner, token=old, now=at)
    assert not Attendance.objects.exists()


def test_a_tampered_token_is_refused(org, session_a):
    at = session_a.start
    token = checkin.make_token(session_a, at)[:-2] + "xx"
    with pytest.raises(ValidationError, match="not valid"):
        services.checkin_by_token(session=session_a, person=org.learner, token=token, now=at)


def test_a_replayed_token_says_already_checked_in_and_keeps_one_row(org, session_a):
    at = session_a.start
    token = checkin.make_token(session_a, at)
    services.checkin_by_token(session=session_a, person=org.learner, token=token, now=at)
    with pytest.raises(ValidationError, match="already checked in"):
        services.checkin_by_token(session=session_a, person=org.learner, token=token, now=at + dt.timedelta(seconds=5))
    assert Attendance.objects.count() == 1


@pytest.mark.parametrize("offset_minutes", [-16, 21])
def test_checkin_outside_the_window_is_refused(org, session_a, offset_minutes):
    at = session_a.start + dt.timedelta(minutes=offset_minutes)
    with pytest.raises(ValidationError, match="is open from"):
        services.checkin_by_token(session=session_a, person=org.learner, token=checkin.make_token(session_a, at), now=at)
    assert not Attendance.objects.exists()


def test_checkin_by_someone_outside_the_audience_is_refused(org, session_a):
    at = session_a.start
    with pytest.raises(ValidationError, match="not in the audience"):
        services.checkin_by_token(session=session_a, person=org.learner_b, token=checkin.make_token(session_a, at), now=at)
    assert not Attendance.objects.exists()


def test_short_code_is_valid_for_the_current_and_previous_step_only(org, session_a):
    at = session_a.start
    step = checkin.step_seconds()
    code = checkin.short_code(session_a, at)
    assert checkin.check_code(session_a, code, at + dt.timedelta(seconds=step))
    assert not checkin.check_code(session_a, code, at + dt.timedelta(seconds=3 * step))
    with pytest.raises(ValidationError, match="wrong or has expired"):
        services.checkin_by_code(session=session_a, person=org.learner, code="000000" if code != "000000" else "111111", now=at)
    row = services.checkin_by_code(session=session_a, person=org.learner, code=code, now=at)
    assert row.method == Attendance.Method.CODE


def test_code_alone_finds_the_persons_class(org, session_a, monkeypatch):
    at = session_a.start
    monkeypatch.setattr(timezone, "now", lambda: at)
    row = services.checkin_by_code_any(person=refresh(org.learner), code=checkin.short_code(session_a, at))
    assert row.session_id == session_a.pk


def test_a_concurrent_duplicate_checkin_leaves_exactly_one_row(org, session_a, monkeypatch):
    """The second request passed the 'already there?' check before the first wrote; the
    unique constraint keeps one row and the second gets a clear message."""
    at = session_a.start
    AttendanceFactory(session=session_a, person=org.learner)
    real_filter = Attendance.objects.filter

    class _Blind:
        def first(self):
            return None

    def filter_blind(*args, **kwargs):
        if kwargs.get("person") == org.learner:
            return _Blind()
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(Attendance.objects, "filter", filter_blind)
    with pytest.raises(ValidationError, match="already checked in"):
        services.checkin_by_token(session=session_a, person=org.learner, token=checkin.make_token(session_a, at), now=at)
    monkeypatch.undo()
    assert Attendance.objects.filter(session=session_a, person=org.learner).count() == 1


def test_checkin_to_a_cancelled_or_online_class_is_refused(org, session_a):
    at = session_a.start
    online = SessionFactory(host_unit=org.a, online_url="https://meeting.example.cn/1")
    with pytest.raises(ValidationError, match="in person"):
        services.checkin_by_token(session=online, person=org.learner, token=checkin.make_token(online, at), now=at)
    Session.objects.filter(pk=session_a.pk).update(status=Session.Status.CANCELLED)
    with pytest.raises(ValidationError, match="cancelled"):
        services.checkin_by_token(session=session_a, person=org.learner, token=checkin.make_token(session_a, at), now=at)


def test_a_class_with_capacity_admits_only_the_registered(org):
    session = SessionFactory(host_unit=org.a, capacity=10)
    at = session.start
    with pytest.raises(ValidationError, match="did not register"):
        services.checkin_by_token(session=session, person=org.learner, token=checkin.make_token(session, at), now=at)
    Registration.objects.create(session=session, person=org.learner)
    services.checkin_by_token(session=session, person=org.learner, token=checkin.make_token(session, at), now=at)


# --- Attendance, closing and credits -----------------------------------------------------------


def _close(org, session):
    return services.session_close(actor=refresh(org.admin_a), session=session)


def test_closing_credits_attendees_and_staff_speakers_exactly_once(org, past_a):
    external = SpeakerFactory(person=None, name="市档案馆专家", organisation="市档案馆", unit=org.a)
    past_a.speaker_links.create(speaker=external, sort_order=1)
    late = UserFactory(unit=org.a)
    absent = UserFactory(unit=org.a)
    AttendanceFactory(session=past_a, person=org.learner)
    AttendanceFactory(session=past_a, person=late, status=Attendance.Status.LATE)
    AttendanceFactory(session=past_a, person=absent, status=Attendance.Status.ABSENT, method="admin")
    _close(org, past_a)
    _close(org, past_a)  # twice
    entries = CreditEntry().objects.filter(source_ref=f"lectures.session:{past_a.pk}")
    keys = sorted(entries.values_list("idempotency_key", flat=True))
    assert keys == sorted([
        f"attendance:{past_a.pk}:{org.learner.pk}",
        f"attendance:{past_a.pk}:{late.pk}",
        f"lecture:{past_a.pk}:{org.speaker_person.pk}",
    ])
    hour = entries.get(idempotency_key=f"attendance:{past_a.pk}:{org.learner.pk}")
    assert hour.points > 0 and hour.source_kind == "attendance"
    assert set(selectors.attendees_of(past_a)) == {org.learner, late}
    assert Session.objects.get(pk=past_a.pk).status == Session.Status.CLOSED


def test_explicit_points_on_the_class_are_used(org, past_a):
    Session.objects.filter(pk=past_a.pk).update(attend_points=Decimal("2.50"))
    past_a.refresh_from_db()
    AttendanceFactory(session=past_a, person=org.learner)
    _close(org, past_a)
    assert CreditEntry().objects.get(idempotency_key=f"attendance:{past_a.pk}:{org.learner.pk}").points == Decimal("2.50")


def test_a_class_cannot_be_closed_before_it_starts_or_when_cancelled(org, session_a):
    with pytest.raises(ValidationError, match="close it after"):
        services.session_close(actor=refresh(org.admin_a), session=session_a, now=session_a.start - dt.timedelta(minutes=1))
    Session.objects.filter(pk=session_a.pk).update(status=Session.Status.CANCELLED)
    with pytest.raises(ValidationError, match="cancelled"):
        _close(org, session_a)


def test_a_correction_after_closing_reverses_and_reawards_through_the_ledger(org, past_a):
    row = AttendanceFactory(session=past_a, person=org.learner)
    _close(org, past_a)
    original = CreditEntry().objects.get(idempotency_key=f"attendance:{past_a.pk}:{org.learner.pk}")
    services.attendance_mark(actor=refresh(org.admin_a), session=past_a, person=org.learner,
                             status=Attendance.Status.ABSENT, reason="代签，实际未到")
    reversal = CreditEntry().objects.get(reverses=original)
    assert reversal.points == -original.points
    services.attendance_mark(actor=refresh(org.admin_a), session=past_a, person=org.learner,
                             status=Attendance.Status.PRESENT, reason="核实后确实到场")
    again = CreditEntry().objects.get(idempotency_key=f"attendance:{past_a.pk}:{org.learner.pk}:1")
    assert again.points == original.points
    original.refresh_from_db()
    assert original.points > 0  # never edited
    row.refresh_from_db()
    assert row.credit_entry_id == again.pk
    assert AttendanceChange.objects.filter(attendance=row).count() == 2


def test_marking_someone_absent_who_was_never_credited_writes_no_ledger_rows(org, past_a):
    _close(org, past_a)
    services.attendance_mark(actor=refresh(org.admin_a), session=past_a, person=org.learner,
                             status=Attendance.Status.ON_LEAVE, reason="公休")
    assert not CreditEntry().objects.filter(person=org.learner).exists()


def test_a_correction_needs_a_reason_and_changes_nothing_without_one(org, session_a):
    AttendanceFactory(session=session_a, person=org.learner)
    with pytest.raises(ValidationError) as exc:
        services.attendance_mark(actor=refresh(org.admin_a), session=session_a, person=org.learner,
                                 status=Attendance.Status.EXCUSED)
    assert "reason" in exc.value.message_dict
    assert Attendance.objects.get(person=org.learner).status == Attendance.Status.PRESENT


def test_only_the_host_units_admin_marks_attendance(org, session_a):
    with pytest.raises(PermissionDenied):
        services.attendance_mark(actor=refresh(org.admin_b), session=session_a, person=org.learner, status="present")
    with pytest.raises(PermissionDenied):
        services.attendance_mark(actor=refresh(org.manager_a), session=session_a, person=org.learner, status="present")


def test_marking_a_person_outside_the_audience_is_refused(org, session_a):
    with pytest.raises(ValidationError) as exc:
        services.attendance_mark(actor=refresh(org.admin_a), session=session_a, person=org.learner_b, status="present")
    assert "person" in exc.value.message_dict


# --- Courseware ----------------------------------------------------------------------------------


def test_courseware_is_checked_by_content_and_filed_in_the_library_on_close(org, past_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    pdf = SimpleUploadedFile("讲义.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    item = services.courseware_add(actor=refresh(org.speaker_person), session=past_a, upload=pdf)
    assert item.kind == "pdf" and not item.in_library
    fake = SimpleUploadedFile("病毒.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(ValidationError, match="does not match"):
        services.courseware_add(actor=refresh(org.admin_a), session=past_a, upload=fake)
    settings.LECTURES_COURSEWARE_MAX_BYTES = 5
    with pytest.raises(ValidationError, match="limit"):
        services.courseware_add(actor=refresh(org.admin_a), session=past_a, upload=SimpleUploadedFile("b.pdf", b"%PDF-1.4 xx"))
    with pytest.raises(PermissionDenied):
        services.courseware_add(actor=refresh(org.learner), session=past_a, upload=pdf)
    _close(org, past_a)
    assert list(Courseware.objects.values_list("in_library", flat=True)) == [True]
    assert list(selectors.library_for(refresh(org.learner))) == [item]
    assert not selectors.library_for(refresh(org.learner_b)).exists()


# --- Menu, wishes, declarations -------------------------------------------------------------


def test_a_menu_is_published_only_with_topics_and_people_of_the_unit_choose_from_it(org):
    menu = services.menu_create(actor=refresh(org.admin_a), unit=org.a, year=timezone.localdate().year, title="2025年度选学菜单")
    with pytest.raises(ValidationError, match="at least one topic"):
        services.menu_publish(actor=refresh(org.admin_a), menu=menu)
    t1 = services.menu_topic_add(actor=refresh(org.admin_a), menu=menu, track=org.track, title="公文撰写")
    t2 = services.menu_topic_add(actor=refresh(org.admin_a), menu=menu, track=org.track, title="调查研究", ability_area="调查研究")
    services.menu_publish(actor=refresh(org.admin_a), menu=menu)
    services.menu_choices_set(menu=menu, person=org.learner, topic_ids=[t1.pk, t2.pk])
    services.menu_choices_set(menu=menu, person=org.learner, topic_ids=[t2.pk])
    assert list(TopicChoice.objects.filter(person=org.learner).values_list("topic_id", flat=True)) == [t2.pk]
    with pytest.raises(ValidationError, match="not on this menu"):
        services.menu_choices_set(menu=menu, person=org.learner, topic_ids=[t2.pk, 99999])
    assert TopicChoice.objects.filter(person=org.learner).count() == 1
    with pytest.raises(PermissionDenied):
        services.menu_choices_set(menu=menu, person=org.learner_b, topic_ids=[t1.pk])
    services.wish_add(menu=menu, person=org.learner, text="希望学习档案法新规")
    demand = {t.title: t.demand for t in selectors.menu_topics_with_demand(menu)}
    assert demand == {"公文撰写": 0, "调查研究": 1}


def test_a_second_menu_for_the_same_unit_and_year_is_refused(org):
    MenuFactory(unit=org.a)
    with pytest.raises(ValidationError) as exc:
        services.menu_create(actor=refresh(org.admin_a), unit=org.a, year=timezone.localdate().year, title="x")
    assert "year" in exc.value.message_dict
    assert Menu.objects.count() == 1


def test_a_declaration_goes_to_the_units_admins_and_the_decision_back_to_the_declarer(org):
    declaration = services.declaration_submit(
        declarer=org.learner, title="网格化监管小窍门", outline="一、二、三", track=org.track, format="case"
    )
    assert Notification.objects.filter(recipient=org.admin_a, kind="lectures.declaration").exists()
    assert not Notification.objects.filter(recipient=org.admin_b).exists()
    with pytest.raises(PermissionDenied):
        services.declaration_review(declaration=declaration, actor=refresh(org.admin_b), approve=True)
    services.declaration_review(declaration=declaration, actor=refresh(org.admin_a), approve=True,
                                title="网格化监管的三个小窍门", comment="请结合案例")
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.APPROVED and declaration.title == "网格化监管的三个小窍门"
    notice = Notification.objects.get(recipient=org.learner, kind="lectures.declaration")
    assert "changes" in notice.title
    assert org.learner.speaker_profile  # joined the speaker pool
    with pytest.raises(ValidationError, match="already decided"):
        services.declaration_review(declaration=declaration, actor=refresh(org.admin_a), approve=False, comment="x")


def test_rejecting_needs_a_comment(org):
    declaration = DeclarationFactory(declarer=org.learner)
    with pytest.raises(ValidationError) as exc:
        services.declaration_review(declaration=declaration, actor=refresh(org.admin_a), approve=False)
    assert "comment" in exc.value.message_dict
    assert Declaration.objects.get(pk=declaration.pk).status == Declaration.Status.SUBMITTED


def test_bad_declarations_name_the_field(org):
    with pytest.raises(ValidationError) as exc:
        services.declaration_submit(declarer=org.learner, title="", outline="", track=org.track, year=1999)
    assert {"title", "outline", "year"} <= set(exc.value.message_dict)
    assert not Declaration.objects.exists()


def test_the_age_rule_lists_who_still_owes_a_declaration(org):
    year = timezone.localdate().year
    young = UserFactory(unit=org.a1, birth_date=dt.date(year - 30, 5, 1))
    declared = UserFactory(unit=org.a1, birth_date=dt.date(year - 30, 5, 1))
    DeclarationFactory(declarer=declared, year=year)
    UserFactory(unit=org.a1, birth_date=dt.date(year - 50, 5, 1))  # 50: not required
    owed = list(selectors.declarations_owed(unit=org.a, year=year))
    assert owed == [young]


# --- Teaching plan ---------------------------------------------------------------------------------


def test_the_proposed_plan_puts_the_most_wanted_first_and_spreads_months(org):
    year = timezone.localdate().year + 1
    menu = MenuFactory(unit=org.a, year=year)
    popular = MenuTopicFactory(menu=menu)  # on another track than d_low
    for _ in range(3):
        TopicChoice.objects.create(topic=popular, person=UserFactory(unit=org.a))
    d_low = DeclarationFactory(declarer=UserFactory(unit=org.a), year=year, status="approved", track=org.track)
    d_high = DeclarationFactory(declarer=UserFactory(unit=org.a), year=year, status="approved", menu_topic=popular)
    DeclarationFactory(declarer=UserFactory(unit=org.a), year=year, status="submitted")  # not approved
    plan = services.plan_create(actor=refresh(org.admin_a), unit=org.a, year=year)
    items = services.plan_propose(actor=refresh(org.admin_a), plan=plan)
    assert [(i.declaration_id, i.month, i.demand) for i in items] == [(d_high.pk, 1, 3), (d_low.pk, 2, 0)]
    months = selectors.plan_months(plan)
    assert [m.short_by for m in months][:3] == [0, 0, 1]
    with pytest.raises(ValidationError, match="no approved declarations left"):
        services.plan_propose(actor=refresh(org.admin_a), plan=plan)


def test_scheduling_from_a_plan_item_links_the_class(org):
    plan = PlanFactory(unit=org.a)
    item = services.plan_item_add(actor=refresh(org.admin_a), plan=plan, month=12, title="年终总结", track=org.track)
    session = _create(org, plan_item=item)
    assert PlanItem.objects.get(pk=item.pk).session_id == session.pk
    with pytest.raises(ValidationError, match="already scheduled"):
        _create(org, plan_item=PlanItem.objects.get(pk=item.pk), start=tomorrow_at(days=3))


def test_plan_items_need_a_valid_month(org):
    plan = PlanFactory(unit=org.a)
    with pytest.raises(ValidationError) as exc:
        services.plan_item_add(actor=refresh(org.admin_a), plan=plan, month=13, title="x", track=org.track)
    assert "month" in exc.value.message_dict
    assert not PlanItem.objects.exists()


# --- Reminders ----------------------------------------------------------------------------------------


def test_reminders_go_out_the_day_before_and_the_hour_before_never_twice(org, session_a):
    day_before = session_a.start - dt.timedelta(hours=20)
    assert services.reminders_send_due(now=day_before) > 0
    assert services.reminders_send_due(now=day_before + dt.timedelta(minutes=5)) == 0
    assert Notification.objects.filter(recipient=org.learner, kind="lectures.reminder").count() == 1
    hour_before = session_a.start - dt.timedelta(minutes=50)
    services.reminders_send_due(now=hour_before)
    services.reminders_send_due(now=hour_before)
    assert Notification.objects.filter(recipient=org.learner, kind="lectures.reminder").count() == 2
    assert set(Reminder.objects.values_list("kind", flat=True)) == {"day_before", "hour_before"}
    assert Notification.objects.filter(recipient=org.speaker_person, kind="lectures.reminder").count() == 2
    assert not Notification.objects.filter(recipient=org.learner_b).exists()


def test_a_cancelled_class_gets_no_reminder(org, session_a):
    Session.objects.filter(pk=session_a.pk).update(status=Session.Status.CANCELLED)
    assert services.reminders_send_due(now=session_a.start - dt.timedelta(minutes=30)) == 0


def test_the_reminder_task_runs_the_service(org, session_a, monkeypatch):
    from sessions import tasks

    monkeypatch.setattr(timezone, "now", lambda: session_a.start - dt.timedelta(minutes=30))
    assert tasks.send_due_reminders.delay().get() > 0
    assert tasks.send_reminder.delay(session_a.pk, "hour_before").get() == 0
