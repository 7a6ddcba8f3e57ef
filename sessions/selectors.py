"""Scoped reads of the micro-class programme.

Who sees a class: admins, managers and class teachers whose view scope covers the host
unit; the speakers; and the audience (see `Session`). Everything else is invisible,
so a list never shows it and a detail page is a 404. The pages and the API share these
functions.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import pgettext

from org import selectors as org_selectors
from org.models import OrgUnit, User
from org.models import ancestor_paths as org_ancestor_paths
from sessions.models import (
    Attendance,
    Courseware,
    Declaration,
    Menu,
    MenuTopic,
    PlanItem,
    ProgrammeSettings,
    Registration,
    Session,
    SessionSpeaker,
    Speaker,
    TeachingPlan,
    TopicChoice,
    Track,
    Venue,
    Wish,
)


def ancestor_paths(path: str) -> list[str]:
    """The materialised paths of a unit and all its ancestors."""
    return org_ancestor_paths(path)


# --- Programme settings -----------------------------------------------------------------


@dataclass(frozen=True)
class ProgrammeRules:
    """The effective settings for a unit (its own row, an ancestor's, or the defaults)."""

    slot_start: dt.time
    slot_minutes: int
    monthly_target: int
    checkin_opens_before: int
    checkin_closes_after: int
    late_after: int
    declaration_max_age: int | None
    declarations_per_year: int
    source_unit_id: int | None = None


def default_rules() -> ProgrammeRules:
    hour, minute = (int(x) for x in settings.LECTURES_DEFAULT_SLOT_START.split(":"))
    return ProgrammeRules(
        slot_start=dt.time(hour, minute),
        slot_minutes=settings.LECTURES_DEFAULT_SLOT_MINUTES,
        monthly_target=settings.LECTURES_MONTHLY_TARGET,
        checkin_opens_before=settings.LECTURES_CHECKIN_OPENS_BEFORE,
        checkin_closes_after=settings.LECTURES_CHECKIN_CLOSES_AFTER,
        late_after=settings.LECTURES_LATE_AFTER,
        declaration_max_age=settings.LECTURES_DECLARATION_MAX_AGE or None,
        declarations_per_year=1,
    )


def rules_for(unit: OrgUnit | None) -> ProgrammeRules:
    """The programme settings in force for `unit`: the nearest row up the tree wins."""
    if unit is None:
        return default_rules()
    row = (
        ProgrammeSettings.objects.filter(unit__path__in=ancestor_paths(unit.path))
        .order_by("-unit__depth")
        .first()
    )
    if row is None:
        return default_rules()
    return ProgrammeRules(
        slot_start=row.slot_start,
        slot_minutes=row.slot_minutes,
        monthly_target=row.monthly_target,
        checkin_opens_before=row.checkin_opens_before,
        checkin_closes_after=row.checkin_closes_after,
        late_after=row.late_after,
        declaration_max_age=row.declaration_max_age,
        declarations_per_year=row.declarations_per_year,
        source_unit_id=row.unit_id,
    )


def default_slot(unit: OrgUnit | None, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The default afternoon slot of `unit` on `day`, as aware datetimes."""
    rules = rules_for(unit)
    start = timezone.make_aware(dt.datetime.combine(day, rules.slot_start))
    return start, start + dt.timedelta(minutes=rules.slot_minutes)


# --- Reference data -------------------------------------------------------------------------


def tracks_active() -> QuerySet[Track]:
    return Track.objects.filter(is_active=True)


def speakers_visible_to(user: User) -> QuerySet[Speaker]:
    """Speaker pool entries looked after by units in the user's view scope."""
    paths = org_selectors.scope_for(user).paths("view")
    qs = Speaker.objects.select_related("person", "unit")
    return qs if paths is None else qs.filter(_prefix("unit__path", paths))


def _prefix(field: str, paths) -> Q:
    from org.models import prefix_q

    return prefix_q(field, paths)


def venues_visible_to(user: User, *, access: str = "view") -> QuerySet[Venue]:
    paths = org_selectors.scope_for(user).paths(access)
    qs = Venue.objects.select_related("unit")
    return qs if paths is None else qs.filter(_prefix("unit__path", paths))


# --- Classes -----------------------------------------------------------------------------------


def _audience_q(user: User) -> Q:
    """Classes whose audience includes `user` (one SQL expression, no per-row queries)."""
    if not user.is_authenticated or not user.unit_id:
        return Q(pk__in=[])
    ancestors = ancestor_paths(user.unit.path)
    units_through = Session.audience_units.through
    levels_through = Session.audience_levels.through
    has_units = Exists(units_through.objects.filter(session_id=OuterRef("pk")))
    unit_match = Exists(
        units_through.objects.filter(session_id=OuterRef("pk"), orgunit__path__in=ancestors)
    )
    has_levels = Exists(levels_through.objects.filter(session_id=OuterRef("pk")))
    level_match = Exists(
        levels_through.objects.filter(session_id=OuterRef("pk"), cadrelevel_id=user.cadre_level_id)
    )
    host_match = Q(host_unit__path__in=ancestors)
    unit_ok = (has_units & unit_match) | (~has_units & host_match)
    level_ok = ~has_levels | level_match
    return (Q(audience_open=True) & host_match) | (Q(audience_open=False) & unit_ok & level_ok)


def _speaker_q(user: User) -> Q:
    return Q(
        Exists(SessionSpeaker.objects.filter(session_id=OuterRef("pk"), speaker__person_id=user.pk))
    )


def sessions_visible_to(user: User) -> QuerySet[Session]:
    """Every class the user may see: in view scope, in the audience, or as a speaker."""
    paths = org_selectors.scope_for(user).paths("view")
    if paths is None:
        return Session.objects.all()
    return Session.objects.filter(_prefix("host_unit__path", paths) | _audience_q(user) | _speaker_q(user))


def calendar_sessions_for(person: User, *, since: dt.datetime) -> QuerySet[Session]:
    """The person's own classes for the iCalendar feed: those of their audience they may
    simply come to (or registered for), and those they teach."""
    mine = (_audience_q(person) & (Q(capacity__isnull=True) | Q(
        Exists(Registration.objects.filter(session_id=OuterRef("pk"), person_id=person.pk))
    ))) | _speaker_q(person)
    return Session.objects.filter(mine, start__gte=since).select_related("venue").order_by("start", "id")


def sessions_managed_by(user: User) -> QuerySet[Session]:
    return Session.objects.hosted_within(org_selectors.scope_for(user).paths("manage"))


def with_list_data(qs: QuerySet[Session], user: User) -> QuerySet[Session]:
    """Annotate what a class list shows, in a fixed number of queries however long the list."""
    return qs.select_related("track", "host_unit", "venue").prefetch_related(
        Prefetch("speaker_links", queryset=SessionSpeaker.objects.select_related("speaker"))
    ).annotate(
        registered_count=Count("registrations", distinct=True),
        is_registered=Exists(Registration.objects.filter(session_id=OuterRef("pk"), person_id=user.pk)),
        my_status=Attendance.objects.filter(session_id=OuterRef("pk"), person_id=user.pk).values("status")[:1],
    )


def upcoming_for(user: User, *, now: dt.datetime | None = None) -> QuerySet[Session]:
    now = now or timezone.now()
    return with_list_data(
        sessions_visible_to(user).filter(end__gte=now).exclude(status=Session.Status.CANCELLED), user
    ).order_by("start", "id")


def month_calendar(user: User, *, year: int, month: int) -> list[list[dict]]:
    """Weeks (Monday first) of {day, sessions} for the visible classes in a month."""
    first = timezone.make_aware(dt.datetime.combine(dt.date(year, month, 1), dt.time()))
    last_day = calendar.monthrange(year, month)[1]
    after = first + dt.timedelta(days=last_day)
    sessions = list(
        sessions_visible_to(user)
        .filter(start__gte=first, start__lt=after)
        .select_related("track")
        .order_by("start")
    )
    by_day: dict[dt.date, list[Session]] = defaultdict(list)
    for s in sessions:
        by_day[timezone.localtime(s.start).date()].append(s)
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        weeks.append(
            [{"day": d, "in_month": d.month == month, "sessions": by_day.get(d, [])} for d in week]
        )
    return weeks


def session_detail(user: User, pk: int) -> Session:
    """One visible class with what its page needs; Session.DoesNotExist when not visible."""
    return (
        sessions_visible_to(user)
        .select_related("track", "host_unit", "venue", "declaration")
        .prefetch_related(
            Prefetch("speaker_links", queryset=SessionSpeaker.objects.select_related("speaker__person")),
            "audience_units",
            "audience_levels",
            "courseware",
        )
        .get(pk=pk)
    )


def _hours(session: Session) -> Decimal:
    return (Decimal(session.minutes) / Decimal(60)).quantize(Decimal("0.01"))


def attendance_points_for(session: Session) -> Decimal:
    """Credits for attending: the class's own figure, else the credit rules by its length."""
    if session.attend_points is not None:
        return session.attend_points
    from credits import selectors as credit_selectors

    return credit_selectors.attendance_points(hours=_hours(session))


def lecture_points_for(session: Session) -> Decimal:
    """Credits for lecturing: the class's own figure, else the credit rules by its length."""
    if session.lecture_points is not None:
        return session.lecture_points
    from credits import selectors as credit_selectors

    return credit_selectors.lecture_points(hours=_hours(session))


def speakers_of(session: Session) -> list[Speaker]:
    return [link.speaker for link in session.speaker_links.all()]


def is_speaker(user: User, session: Session) -> bool:
    return any(link.speaker.person_id == user.pk for link in session.speaker_links.all())


def can_manage_session(user: User, session: Session) -> bool:
    return org_selectors.can_manage_unit(user, session.host_unit)


def can_run_checkin(user: User, session: Session) -> bool:
    """The admin of the host unit or one of the class's speakers may show the QR code."""
    return can_manage_session(user, session) or is_speaker(user, session)


def in_audience(session: Session, person: User) -> bool:
    """The Python twin of `_audience_q`, for one person and one class."""
    if person.unit_id is None:
        return False
    ancestors = set(ancestor_paths(person.unit.path))
    host_ok = session.host_unit.path in ancestors
    if session.audience_open:
        return host_ok
    units = list(session.audience_units.all())
    levels = list(session.audience_levels.all())
    unit_ok = any(u.path in ancestors for u in units) if units else host_ok
    level_ok = person.cadre_level_id in {lv.pk for lv in levels} if levels else True
    return unit_ok and level_ok


def audience_people(session: Session) -> QuerySet[User]:
    """Active people in the audience of a class (for reminders and notices)."""
    people = User.objects.filter(is_active=True)
    if session.audience_open:
        return people.filter(unit__path__startswith=session.host_unit.path)
    unit_paths = [u.path for u in session.audience_units.all()]
    level_ids = [lv.pk for lv in session.audience_levels.all()]
    people = people.filter(_prefix("unit__path", unit_paths or [session.host_unit.path]))
    if level_ids:
        people = people.filter(cadre_level_id__in=level_ids)
    return people


def notice_recipients(session: Session) -> QuerySet[User]:
    """Who is told about a class: the registered if it takes registrations, else its audience,
    plus its staff speakers."""
    speakers = Q(speaker_profile__session_links__session=session)
    if session.capacity:
        base = Q(lecture_registrations__session=session)
    else:
        base = Q(pk__in=audience_people(session).values("pk"))
    return User.objects.filter(is_active=True).filter(base | speakers).distinct()


def attendees_of(session: Session) -> QuerySet[User]:
    """People who attended a class (present or late). The survey of the evaluations app
    asks exactly these people."""
    return User.objects.filter(
        lecture_attendance__session=session, lecture_attendance__status__in=Attendance.ATTENDED
    )


def attendance_of(session: Session) -> QuerySet[Attendance]:
    return (
        Attendance.objects.filter(session=session)
        .select_related("person", "unit", "marked_by")
        .order_by("person__unit__path", "person__employee_no")
    )


def attendance_summary(session: Session) -> dict[str, int]:
    counts = dict(
        Attendance.objects.filter(session=session).values_list("status").annotate(n=Count("id"))
    )
    return {status: counts.get(status, 0) for status in Attendance.Status.values}


def clashes(
    *,
    start: dt.datetime,
    end: dt.datetime,
    speaker_ids: list[int],
    venue: Venue | None,
    exclude_pk: int | None = None,
) -> dict[str, list[Session]]:
    """Other live classes at an overlapping time with one of the speakers or the venue."""
    others = Session.objects.active().overlapping(start, end).select_related("venue")
    if exclude_pk:
        others = others.exclude(pk=exclude_pk)
    found: dict[str, list[Session]] = {}
    if speaker_ids:
        hits = list(
            others.filter(speaker_links__speaker_id__in=speaker_ids)
            .prefetch_related(Prefetch("speaker_links", queryset=SessionSpeaker.objects.select_related("speaker")))
            .distinct()
        )
        if hits:
            found["speakers"] = hits
    if venue is not None and not venue.is_online:
        hits = list(others.filter(venue=venue))
        if hits:
            found["venue"] = hits
    return found


# --- Courseware and library ------------------------------------------------------------------


def library_for(user: User) -> QuerySet[Courseware]:
    """The teaching-materials library: courseware of closed classes the user can see."""
    return (
        Courseware.objects.filter(in_library=True, session__in=sessions_visible_to(user))
        .select_related("session", "session__track", "session__host_unit")
        .order_by("-session__start", "id")
    )


def courseware_visible_to(user: User) -> QuerySet[Courseware]:
    return Courseware.objects.filter(session__in=sessions_visible_to(user)).select_related("session__host_unit")


# --- Menus, wishes, declarations ------------------------------------------------------------------


def menus_visible_to(user: User) -> QuerySet[Menu]:
    """Published menus of the user's unit and its ancestors, plus every menu in view scope."""
    paths = org_selectors.scope_for(user).paths("view")
    if paths is None:
        return Menu.objects.select_related("unit")
    own = Q(pk__in=[])
    if user.unit_id:
        own = Q(unit__path__in=ancestor_paths(user.unit.path), status=Menu.Status.PUBLISHED)
    return Menu.objects.filter(own | _prefix("unit__path", paths)).select_related("unit")


def menus_managed_by(user: User) -> QuerySet[Menu]:
    paths = org_selectors.scope_for(user).paths("manage")
    qs = Menu.objects.select_related("unit")
    return qs if paths is None else qs.filter(_prefix("unit__path", paths))


def menu_topics_with_demand(menu: Menu, user: User | None = None) -> list[MenuTopic]:
    """The menu's topics with `demand` (how many chose it) and `chosen` (by `user`)."""
    topics = menu.topics.select_related("track").annotate(demand=Count("choices"))
    if user is not None:
        topics = topics.annotate(
            chosen=Exists(TopicChoice.objects.filter(topic_id=OuterRef("pk"), person_id=user.pk))
        )
    return list(topics.order_by("track__sort_order", "ability_area", "sort_order", "id"))


def wishes_of(menu: Menu, *, person: User | None = None) -> QuerySet[Wish]:
    qs = menu.wishes.select_related("person", "person__unit")
    return qs.filter(person=person) if person is not None else qs


def declarations_of(person: User) -> QuerySet[Declaration]:
    return Declaration.objects.filter(declarer=person).select_related("track", "reviewed_by", "unit")


def declarations_managed_by(user: User) -> QuerySet[Declaration]:
    """Declarations sent from units the user manages (what they review)."""
    paths = org_selectors.scope_for(user).paths("manage")
    qs = Declaration.objects.select_related("declarer", "unit", "track", "reviewed_by", "menu_topic")
    return qs if paths is None else qs.filter(_prefix("unit__path", paths))


def declarations_visible_to(user: User) -> QuerySet[Declaration]:
    paths = org_selectors.scope_for(user).paths("view")
    qs = Declaration.objects.select_related("declarer", "unit", "track", "reviewed_by", "menu_topic")
    if paths is None:
        return qs
    return qs.filter(Q(declarer=user) | _prefix("unit__path", paths))


def declarations_owed(*, unit: OrgUnit, year: int) -> QuerySet[User]:
    """People under the unit who the declaration rule says still owe a regular declaration.

    The rule (e.g. 46周岁以下的干部 declare one topic a year) comes from the unit's
    programme settings; age is taken on 1 January of `year`. People without a birth date
    are not listed: the rule cannot be applied to them.
    """
    rules = rules_for(unit)
    if not rules.declaration_max_age:
        return User.objects.none()
    born_after = dt.date(year - rules.declaration_max_age, 1, 1)
    counted = Q(
        lecture_declarations__year=year,
        lecture_declarations__kind=Declaration.Kind.REGULAR,
        lecture_declarations__status__in=[Declaration.Status.SUBMITTED, Declaration.Status.APPROVED],
    )
    return (
        User.objects.filter(is_active=True, unit__path__startswith=unit.path, birth_date__gt=born_after)
        .annotate(declared=Count("lecture_declarations", filter=counted))
        .filter(declared__lt=rules.declarations_per_year)
        .select_related("unit")
        .order_by("unit__path", "employee_no")
    )


# --- Teaching plan ------------------------------------------------------------------------------


def plans_visible_to(user: User) -> QuerySet[TeachingPlan]:
    paths = org_selectors.scope_for(user).paths("view")
    qs = TeachingPlan.objects.select_related("unit")
    if paths is None:
        return qs
    own = Q(unit__path__in=ancestor_paths(user.unit.path)) if user.unit_id else Q(pk__in=[])
    return qs.filter(own | _prefix("unit__path", paths))


def plans_managed_by(user: User) -> QuerySet[TeachingPlan]:
    paths = org_selectors.scope_for(user).paths("manage")
    qs = TeachingPlan.objects.select_related("unit")
    return qs if paths is None else qs.filter(_prefix("unit__path", paths))


def plan_items(plan: TeachingPlan) -> QuerySet[PlanItem]:
    return plan.items.select_related("track", "speaker", "declaration__declarer", "session")


@dataclass
class PlanMonth:
    month: int
    items: list[PlanItem]
    target: int

    @property
    def short_by(self) -> int:
        return max(0, self.target - len(self.items))


def plan_months(plan: TeachingPlan) -> list[PlanMonth]:
    """The plan month by month, with how many classes each month falls short of the target."""
    by_month: dict[int, list[PlanItem]] = defaultdict(list)
    for item in plan_items(plan):
        by_month[item.month].append(item)
    return [PlanMonth(m, by_month.get(m, []), plan.monthly_target) for m in range(1, 13)]


def topic_demand(unit: OrgUnit, year: int) -> dict[int, int]:
    """`{menu topic id: number of people who chose it}` for the unit's menus of the year."""
    return dict(
        TopicChoice.objects.filter(topic__menu__unit__path__startswith=unit.path, topic__menu__year=year)
        .values_list("topic_id")
        .annotate(n=Count("id"))
    )


def track_demand(unit: OrgUnit, year: int) -> dict[int, int]:
    """`{track id: choices}` — demand for a track, for declarations that answer no topic."""
    return dict(
        TopicChoice.objects.filter(topic__menu__unit__path__startswith=unit.path, topic__menu__year=year)
        .values_list("topic__track_id")
        .annotate(n=Count("id"))
    )


def plannable_declarations(plan: TeachingPlan) -> QuerySet[Declaration]:
    """Approved declarations of the plan's unit subtree and year that are not planned yet."""
    return (
        Declaration.objects.filter(
            unit__path__startswith=plan.unit.path,
            year=plan.year,
            status=Declaration.Status.APPROVED,
            plan_item__isnull=True,
        )
        .select_related("declarer", "track", "menu_topic")
        .order_by("created_at", "id")
    )


# --- Attendance export rows -----------------------------------------------------------------


def export_header() -> list[str]:
    # A message context keeps these column titles apart from other apps' "Name", "Unit"….
    ctx = "attendance export"
    return [
        pgettext(ctx, "Name"), pgettext(ctx, "Employee number"), pgettext(ctx, "Unit"), pgettext(ctx, "Status"),
        pgettext(ctx, "Check-in time"), pgettext(ctx, "Check-in method"), pgettext(ctx, "Class"),
        pgettext(ctx, "Class starts"), pgettext(ctx, "Speaker"), pgettext(ctx, "Duration (minutes)"),
        pgettext(ctx, "Host unit"),
    ]


def export_attendance(
    user: User,
    *,
    session: Session | None = None,
    unit: OrgUnit | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[Attendance]:
    """The attendance rows an export covers, already limited to what `user` may see.

    One class: its whole register (the caller checked the user may see the class's
    attendance). A date range: rows of people whose unit at the time was in `unit`'s
    subtree, for classes starting inside the range (local dates, both inclusive).
    """
    qs = Attendance.objects.all()
    if session is not None:
        qs = qs.filter(session=session)
    else:
        paths = org_selectors.scope_for(user).paths("view")
        if unit is not None:
            qs = qs.filter(unit__path__startswith=unit.path)
        if paths is not None:
            qs = qs.filter(_prefix("unit__path", paths))
        if date_from:
            qs = qs.filter(session__start__gte=timezone.make_aware(dt.datetime.combine(date_from, dt.time())))
        if date_to:
            qs = qs.filter(
                session__start__lt=timezone.make_aware(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time()))
            )
    return qs


def attendance_export_rows(rows: QuerySet[Attendance]) -> Iterator[list]:
    """Rows for the writers: one per attendance record, in local time, in constant memory."""
    unit_names = org_selectors.unit_full_names()
    # Labels and the time zone are resolved once, not per row (10,000 rows → ~1 s saved).
    status_labels = {value: str(label) for value, label in Attendance.Status.choices}
    method_labels = {value: str(label) for value, label in Attendance.Method.choices}
    tz = timezone.get_current_timezone()

    def local(value: dt.datetime | None) -> dt.datetime | None:
        return value.astimezone(tz).replace(tzinfo=None) if value is not None else None

    session_ids = rows.values("session_id").distinct()
    names: dict[int, list[str]] = defaultdict(list)
    for sid, name in (
        SessionSpeaker.objects.filter(session_id__in=session_ids)
        .order_by("session_id", "sort_order", "id")
        .values_list("session_id", "speaker__name")
    ):
        names[sid].append(name)
    speaker_names = {sid: "、".join(n) for sid, n in names.items()}
    values = rows.order_by("session__start", "session_id", "unit__path", "person__employee_no").values_list(
        "person__name", "person__employee_no", "unit_id", "status", "checked_in_at", "method",
        "session__title", "session__start", "session_id", "session__end", "session__host_unit_id",
    )
    for (name, number, unit_id, status, checked_in_at, method, title, start, sid, end, host_id) in values.iterator(
        chunk_size=2000
    ):
        yield [
            name, number, unit_names.get(unit_id, ""), status_labels.get(status, status), local(checked_in_at),
            method_labels.get(method, method), title, local(start), speaker_names.get(sid, ""),
            int((end - start).total_seconds() // 60), unit_names.get(host_id, ""),
        ]


# --- For the evaluations app (surveys, awards) -------------------------------------------------


def sessions_attended_by(person: User) -> QuerySet[Session]:
    """Classes the person attended (present or late): the surveys they may fill in."""
    return Session.objects.filter(
        attendance__person_id=person.pk, attendance__status__in=Attendance.ATTENDED
    )


def sessions_given_by(person: User) -> QuerySet[Session]:
    """Classes in which the person is one of the (staff) speakers."""
    return Session.objects.filter(speaker_links__speaker__person_id=person.pk).distinct()
