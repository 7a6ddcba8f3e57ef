"""Writes of the micro-class programme, one function per use case.

Reading order follows the programme's year: reference data (tracks, speakers, venues,
settings) → annual menu and wishes (demand) → declarations and their review (supply) →
teaching plan → classes (schedule, reschedule, cancel, registration, courseware) →
check-in and attendance → closing (credits) → reminders and the calendar feed.

Every function validates first and raises ValidationError({field: [message]}) or
PermissionDenied before it writes anything, then writes inside one transaction.
Credits are given only through the credit service, with idempotency keys
`attendance:<class id>:<user id>` and `lecture:<class id>:<user id>`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from learning_portal.uploads import validate_upload
from org import selectors as org_selectors
from org.models import CadreLevel, OrgUnit, User
from org.services import notification_send
from sessions import checkin, selectors
from sessions.models import (
    Attendance,
    AttendanceChange,
    CalendarFeed,
    Courseware,
    Declaration,
    Format,
    Menu,
    MenuTopic,
    PlanItem,
    ProgrammeSettings,
    Registration,
    Reminder,
    Session,
    SessionSpeaker,
    Speaker,
    TeachingPlan,
    TopicChoice,
    Track,
    Venue,
    Wish,
)

Errors = dict[str, list[str]]


def _fail(errors: Errors) -> None:
    if errors:
        raise ValidationError(errors)


def _local(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M")


def _span(start: dt.datetime, end: dt.datetime) -> str:
    return f"{_local(start)}–{timezone.localtime(end):%H:%M}"


def _require_manage(actor: User, unit: OrgUnit, message: str | None = None) -> None:
    if not org_selectors.can_manage_unit(actor, unit):
        raise PermissionDenied(message or _("You do not manage this unit."))


def _link(name: str, *args) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


# --- Reference data ------------------------------------------------------------------------


@transaction.atomic
def track_save(
    *, actor: User, name: str, description: str = "", sort_order: int = 0,
    is_active: bool = True, track: Track | None = None,
) -> Track:
    """Tracks (series) are shared by the whole organisation, so only a system admin edits them."""
    if not actor.is_superuser:
        raise PermissionDenied(_("Only a system administrator may change tracks."))
    name = name.strip()
    others = Track.objects.exclude(pk=track.pk) if track else Track.objects.all()
    errors: Errors = {}
    if not name:
        errors["name"] = [_("A track needs a name.")]
    elif others.filter(name=name).exists():
        errors["name"] = [_("There is already a track called “%(name)s”.") % {"name": name}]
    _fail(errors)
    track = track or Track()
    track.name, track.description, track.sort_order, track.is_active = name, description.strip(), sort_order, is_active
    track.save()
    return track


@transaction.atomic
def programme_settings_save(
    *, actor: User, unit: OrgUnit, slot_start: dt.time, slot_minutes: int, monthly_target: int,
    checkin_opens_before: int, checkin_closes_after: int, late_after: int,
    declaration_max_age: int | None, declarations_per_year: int = 1,
) -> ProgrammeSettings:
    """Set a unit's programme settings (units below it inherit them)."""
    _require_manage(actor, unit)
    errors: Errors = {}
    if not 15 <= slot_minutes <= 240:
        errors["slot_minutes"] = [_("A class lasts between 15 and 240 minutes.")]
    if not 1 <= monthly_target <= 10:
        errors["monthly_target"] = [_("Plan between 1 and 10 classes a month.")]
    if checkin_opens_before > 120:
        errors["checkin_opens_before"] = [_("Check-in can open at most 120 minutes before the start.")]
    if checkin_closes_after > 240:
        errors["checkin_closes_after"] = [_("Check-in must close within 240 minutes of the start.")]
    if late_after > checkin_closes_after:
        errors["late_after"] = [_("“Late after” cannot be later than the end of check-in.")]
    if declaration_max_age is not None and not 18 <= declaration_max_age <= 70:
        errors["declaration_max_age"] = [_("Give an age between 18 and 70, or leave it empty for no rule.")]
    _fail(errors)
    row, _created = ProgrammeSettings.objects.update_or_create(
        unit=unit,
        defaults=dict(
            slot_start=slot_start, slot_minutes=slot_minutes, monthly_target=monthly_target,
            checkin_opens_before=checkin_opens_before, checkin_closes_after=checkin_closes_after,
            late_after=late_after, declaration_max_age=declaration_max_age,
            declarations_per_year=declarations_per_year,
        ),
    )
    return row


@transaction.atomic
def speaker_save(
    *, actor: User, name: str = "", organisation: str = "", title: str = "", expertise: str = "",
    unit: OrgUnit | None = None, person: User | None = None, is_active: bool = True,
    speaker: Speaker | None = None,
) -> Speaker:
    """Add or edit a speaker-pool entry: a member of staff, or an external expert."""
    errors: Errors = {}
    if person is not None:
        if not org_selectors.can_manage_person(actor, person):
            errors["person"] = [_("%(name)s is outside the units you manage.") % {"name": person.name}]
        unit = person.unit
        name = name.strip() or person.name
        existing = Speaker.objects.filter(person=person).exclude(pk=speaker.pk if speaker else None).first()
        if existing:
            errors["person"] = [_("%(name)s is already in the speaker pool.") % {"name": person.name}]
    else:
        name = name.strip()
        if not name:
            errors["name"] = [_("An external speaker needs a name.")]
        if not organisation.strip():
            errors["organisation"] = [_("Give the organisation the external expert comes from.")]
        if unit is None:
            errors["unit"] = [_("Choose the unit that looks after this speaker.")]
        elif not org_selectors.can_manage_unit(actor, unit):
            errors["unit"] = [_("“%(unit)s” is outside the units you manage.") % {"unit": unit.name}]
    if speaker is not None and not org_selectors.can_manage_unit(actor, speaker.unit):
        raise PermissionDenied(_("You do not look after this speaker."))
    _fail(errors)
    speaker = speaker or Speaker()
    speaker.person, speaker.name, speaker.unit = person, name, unit
    speaker.organisation, speaker.title, speaker.expertise = organisation.strip(), title.strip(), expertise.strip()
    speaker.is_active = is_active
    speaker.save()
    return speaker


def _speaker_for_person(person: User) -> Speaker:
    """The person's pool entry, created on first need (a staff member who will teach)."""
    speaker, _created = Speaker.objects.get_or_create(
        person=person, defaults={"name": person.name, "unit_id": person.unit_id}
    )
    return speaker


@transaction.atomic
def venue_save(
    *, actor: User, unit: OrgUnit, name: str, kind: str = Venue.Kind.ROOM, address: str = "",
    capacity: int | None = None, is_active: bool = True, venue: Venue | None = None,
) -> Venue:
    errors: Errors = {}
    if not org_selectors.can_manage_unit(actor, unit):
        errors["unit"] = [_("“%(unit)s” is outside the units you manage.") % {"unit": unit.name}]
    if venue is not None and not org_selectors.can_manage_unit(actor, venue.unit):
        raise PermissionDenied(_("You do not manage this venue."))
    name = name.strip()
    if not name:
        errors["name"] = [_("A venue needs a name.")]
    elif Venue.objects.filter(unit=unit, name=name).exclude(pk=venue.pk if venue else None).exists():
        errors["name"] = [_("This unit already has a venue called “%(name)s”.") % {"name": name}]
    if kind not in Venue.Kind.values:
        errors["kind"] = [_("Choose room, canteen, on-site location or online.")]
    if capacity is not None and capacity <= 0:
        errors["capacity"] = [_("Seats must be a positive number (or empty).")]
    _fail(errors)
    venue = venue or Venue()
    venue.unit, venue.name, venue.kind, venue.address = unit, name, kind, address.strip()
    venue.capacity, venue.is_active = capacity, is_active
    venue.save()
    return venue


# --- Annual menu (年度选学菜单) and wishes ---------------------------------------------------------


@transaction.atomic
def menu_create(*, actor: User, unit: OrgUnit, year: int, title: str, introduction: str = "") -> Menu:
    errors: Errors = {}
    if not org_selectors.can_manage_unit(actor, unit):
        errors["unit"] = [_("“%(unit)s” is outside the units you manage.") % {"unit": unit.name}]
    this_year = timezone.localdate().year
    if not this_year - 1 <= year <= this_year + 1:
        errors["year"] = [_("A menu is for last year, this year or next year.")]
    elif Menu.objects.filter(unit=unit, year=year).exists():
        errors["year"] = [_("%(unit)s already has a menu for %(year)s.") % {"unit": unit.name, "year": year}]
    title = title.strip()
    if not title:
        errors["title"] = [_("Give the menu a title.")]
    _fail(errors)
    return Menu.objects.create(unit=unit, year=year, title=title, introduction=introduction.strip(), created_by=actor)


@transaction.atomic
def menu_update(*, actor: User, menu: Menu, title: str, introduction: str = "") -> Menu:
    _require_manage(actor, menu.unit)
    title = title.strip()
    if not title:
        raise ValidationError({"title": [_("Give the menu a title.")]})
    menu.title, menu.introduction = title, introduction.strip()
    menu.save(update_fields=["title", "introduction"])
    return menu


@transaction.atomic
def menu_publish(*, actor: User, menu: Menu, now: dt.datetime | None = None) -> Menu:
    """Open the menu: people of the unit can now choose topics and add wishes."""
    _require_manage(actor, menu.unit)
    if menu.status == Menu.Status.PUBLISHED:
        return menu
    if not menu.topics.exists():
        raise ValidationError({"topics": [_("Add at least one topic before publishing the menu.")]})
    menu.status, menu.published_at = Menu.Status.PUBLISHED, now or timezone.now()
    menu.save(update_fields=["status", "published_at"])
    return menu


@transaction.atomic
def menu_close(*, actor: User, menu: Menu) -> Menu:
    """Stop collecting choices (the demand is frozen for planning)."""
    _require_manage(actor, menu.unit)
    menu.status = Menu.Status.CLOSED
    menu.save(update_fields=["status"])
    return menu


@transaction.atomic
def menu_topic_add(
    *, actor: User, menu: Menu, track: Track, title: str, ability_area: str = "",
    description: str = "", sort_order: int = 0,
) -> MenuTopic:
    _require_manage(actor, menu.unit)
    errors: Errors = {}
    title = title.strip()
    if not title:
        errors["title"] = [_("A topic needs a title.")]
    elif menu.topics.filter(title=title).exists():
        errors["title"] = [_("“%(title)s” is already on this menu.") % {"title": title}]
    if menu.status == Menu.Status.CLOSED:
        errors["menu"] = [_("This menu is closed.")]
    _fail(errors)
    return MenuTopic.objects.create(
        menu=menu, track=track, title=title, ability_area=ability_area.strip(),
        description=description.strip(), sort_order=sort_order,
    )


@transaction.atomic
def menu_topic_remove(*, actor: User, topic: MenuTopic) -> None:
    _require_manage(actor, topic.menu.unit)
    topic.delete()


def _require_menu_member(menu: Menu, person: User) -> None:
    if menu.status != Menu.Status.PUBLISHED:
        raise ValidationError({"menu": [_("This menu is not open for choices.")]})
    if person.unit_id is None or not person.unit.path.startswith(menu.unit.path):
        raise PermissionDenied(_("This menu is for another unit."))


@transaction.atomic
def menu_choices_set(*, menu: Menu, person: User, topic_ids: Iterable[int]) -> list[int]:
    """Replace the person's choices on a menu with `topic_ids` (what they want to learn)."""
    _require_menu_member(menu, person)
    wanted = {int(t) for t in topic_ids}
    on_menu = set(menu.topics.filter(pk__in=wanted).values_list("pk", flat=True))
    unknown = sorted(wanted - on_menu)
    if unknown:
        raise ValidationError(
            {"topics": [_("Topic %(ids)s is not on this menu.") % {"ids": ", ".join(map(str, unknown))}]}
        )
    current = set(TopicChoice.objects.filter(topic__menu=menu, person=person).values_list("topic_id", flat=True))
    TopicChoice.objects.filter(topic__menu=menu, person=person, topic_id__in=current - wanted).delete()
    TopicChoice.objects.bulk_create(
        [TopicChoice(topic_id=t, person=person) for t in sorted(wanted - current)], ignore_conflicts=True
    )
    return sorted(wanted)


@transaction.atomic
def wish_add(*, menu: Menu, person: User, text: str) -> Wish:
    _require_menu_member(menu, person)
    text = text.strip()
    if not text:
        raise ValidationError({"text": [_("Write what you would like to learn.")]})
    if len(text) > 500:
        raise ValidationError({"text": [_("A wish is at most 500 characters.")]})
    if Wish.objects.filter(menu=menu, person=person).count() >= 20:
        raise ValidationError({"text": [_("You can add at most 20 wishes to a menu.")]})
    return Wish.objects.create(menu=menu, person=person, text=text)


@transaction.atomic
def wish_remove(*, wish: Wish, person: User) -> None:
    if wish.person_id != person.pk:
        raise PermissionDenied(_("You can remove only your own wishes."))
    wish.delete()


# --- Declarations (课程申报) --------------------------------------------------------------------


def _check_declaration_fields(
    errors: Errors, *, title: str, outline: str, track: Track | None, format: str
) -> None:
    if not title:
        errors["title"] = [_("Give the topic a title.")]
    elif len(title) > 200:
        errors["title"] = [_("The title is at most 200 characters.")]
    if not outline:
        errors["outline"] = [_("Outline what you will teach.")]
    if track is None or not track.is_active:
        errors["track"] = [_("Choose a track.")]
    if format not in Format.values:
        errors["format"] = [_("Choose a format.")]


@transaction.atomic
def declaration_submit(
    *, declarer: User, title: str, outline: str, track: Track, format: str = Format.LECTURE,
    kind: str = Declaration.Kind.REGULAR, year: int | None = None, audience_note: str = "",
    menu_topic: MenuTopic | None = None,
) -> Declaration:
    """Offer a topic to teach; it goes to the admins of the declarer's unit for review."""
    title, outline = title.strip(), outline.strip()
    this_year = timezone.localdate().year
    year = year or this_year
    errors: Errors = {}
    _check_declaration_fields(errors, title=title, outline=outline, track=track, format=format)
    if kind not in Declaration.Kind.values:
        errors["kind"] = [_("Choose regular or ad hoc.")]
    if not this_year <= year <= this_year + 1:
        errors["year"] = [_("Declare for this year or next year.")]
    if declarer.unit_id is None:
        errors["declarer"] = [_("You are not a member of any unit, so nobody can review a declaration.")]
    if menu_topic is not None and (
        declarer.unit_id is None
        or not declarer.unit.path.startswith(menu_topic.menu.unit.path)
        or menu_topic.menu.year != year
    ):
        errors["menu_topic"] = [_("That topic is not on a menu of your unit for %(year)s.") % {"year": year}]
    _fail(errors)
    declaration = Declaration.objects.create(
        declarer=declarer, unit_id=declarer.unit_id, year=year, kind=kind, title=title, outline=outline,
        track=track, format=format, audience_note=audience_note.strip(), menu_topic=menu_topic,
    )
    notification_send(
        recipients=org_selectors.admins_of_unit(declarer.unit),
        title=_("New course declaration: %(title)s") % {"title": title},
        body=_("%(name)s offers to teach “%(title)s”.") % {"name": declarer.name, "title": title},
        link=_link("lectures:declaration_review", declaration.pk),
        kind="lectures.declaration",
    )
    return declaration


@transaction.atomic
def declaration_withdraw(*, declaration: Declaration, person: User) -> Declaration:
    if declaration.declarer_id != person.pk:
        raise PermissionDenied(_("You can withdraw only your own declarations."))
    if declaration.status != Declaration.Status.SUBMITTED:
        raise ValidationError({"status": [_("Only a declaration awaiting review can be withdrawn.")]})
    declaration.status = Declaration.Status.WITHDRAWN
    declaration.save(update_fields=["status"])
    return declaration


@transaction.atomic
def declaration_review(
    *, declaration: Declaration, actor: User, approve: bool, comment: str = "",
    title: str | None = None, outline: str | None = None, track: Track | None = None,
    format: str | None = None, now: dt.datetime | None = None,
) -> Declaration:
    """Approve (optionally with edits) or reject (with a comment); the declarer is told."""
    declaration = Declaration.objects.select_for_update(of=("self",)).select_related("unit", "declarer").get(pk=declaration.pk)
    _require_manage(actor, declaration.unit, _("Only an admin of the declarer's unit may review this."))
    comment = comment.strip()
    errors: Errors = {}
    if declaration.status != Declaration.Status.SUBMITTED:
        errors["status"] = [
            _("This declaration was already decided (%(status)s).") % {"status": declaration.get_status_display()}
        ]
    if not approve and not comment:
        errors["comment"] = [_("Say why the declaration is rejected; the declarer will read it.")]
    new_title = declaration.title if title is None else title.strip()
    new_outline = declaration.outline if outline is None else outline.strip()
    new_track = track or declaration.track
    new_format = format or declaration.format
    if approve:
        _check_declaration_fields(errors, title=new_title, outline=new_outline, track=new_track, format=new_format)
    _fail(errors)
    edited = (new_title, new_outline, new_track.pk, new_format) != (
        declaration.title, declaration.outline, declaration.track_id, declaration.format
    )
    declaration.title, declaration.outline, declaration.track, declaration.format = (
        new_title, new_outline, new_track, new_format
    )
    declaration.status = Declaration.Status.APPROVED if approve else Declaration.Status.REJECTED
    declaration.review_comment, declaration.reviewed_by = comment, actor
    declaration.reviewed_at = now or timezone.now()
    declaration.save()
    if approve:
        _speaker_for_person(declaration.declarer)
        title_text = (
            _("Your declaration was approved with changes: %(title)s") if edited
            else _("Your declaration was approved: %(title)s")
        )
    else:
        title_text = _("Your declaration was not accepted: %(title)s")
    notification_send(
        recipients=[declaration.declarer],
        title=title_text % {"title": declaration.title},
        body=comment,
        link=_link("lectures:my_declarations"),
        kind="lectures.declaration",
    )
    return declaration


# --- Teaching plan (基础教学计划) -----------------------------------------------------------------


@transaction.atomic
def plan_create(*, actor: User, unit: OrgUnit, year: int, monthly_target: int | None = None) -> TeachingPlan:
    errors: Errors = {}
    if not org_selectors.can_manage_unit(actor, unit):
        errors["unit"] = [_("“%(unit)s” is outside the units you manage.") % {"unit": unit.name}]
    this_year = timezone.localdate().year
    if not this_year - 1 <= year <= this_year + 1:
        errors["year"] = [_("A plan is for last year, this year or next year.")]
    elif TeachingPlan.objects.filter(unit=unit, year=year).exists():
        errors["year"] = [_("%(unit)s already has a plan for %(year)s.") % {"unit": unit.name, "year": year}]
    target = monthly_target or selectors.rules_for(unit).monthly_target
    if not 1 <= target <= 10:
        errors["monthly_target"] = [_("Plan between 1 and 10 classes a month.")]
    _fail(errors)
    return TeachingPlan.objects.create(unit=unit, year=year, monthly_target=target, created_by=actor)


@transaction.atomic
def plan_update(*, actor: User, plan: TeachingPlan, monthly_target: int) -> TeachingPlan:
    _require_manage(actor, plan.unit)
    if not 1 <= monthly_target <= 10:
        raise ValidationError({"monthly_target": [_("Plan between 1 and 10 classes a month.")]})
    plan.monthly_target = monthly_target
    plan.save(update_fields=["monthly_target"])
    return plan


@transaction.atomic
def plan_propose(*, actor: User, plan: TeachingPlan, now: dt.datetime | None = None) -> list[PlanItem]:
    """Put the approved, unplanned declarations into the plan, most wanted first.

    Demand is how many people chose the declaration's menu topic (or, for a declaration
    that answers no topic, its track). Each goes to the month (from now on) that has the
    fewest classes so far, earliest first, so months fill up to the target evenly.
    """
    _require_manage(actor, plan.unit)
    today = timezone.localtime(now or timezone.now()).date()
    first_month = 1 if plan.year > today.year else (today.month if plan.year == today.year else 1)
    topic_demand = selectors.topic_demand(plan.unit, plan.year)
    track_demand = selectors.track_demand(plan.unit, plan.year)
    candidates = list(selectors.plannable_declarations(plan))
    if not candidates:
        raise ValidationError({"plan": [_("There are no approved declarations left to plan for %(year)s.") % {"year": plan.year}]})

    def demand(d: Declaration) -> int:
        if d.menu_topic_id:
            return topic_demand.get(d.menu_topic_id, 0)
        return track_demand.get(d.track_id, 0)

    candidates.sort(key=lambda d: (-demand(d), d.created_at, d.pk))
    load = dict(plan.items.values_list("month").annotate(n=Count("id")))
    months = list(range(first_month, 13))
    items = []
    for declaration in candidates:
        month = min(months, key=lambda m: (load.get(m, 0), m))
        load[month] = load.get(month, 0) + 1
        items.append(
            PlanItem(
                plan=plan, month=month, title=declaration.title, track_id=declaration.track_id,
                declaration=declaration, speaker=_speaker_for_person(declaration.declarer),
                demand=demand(declaration),
            )
        )
    return PlanItem.objects.bulk_create(items)


@transaction.atomic
def plan_item_add(
    *, actor: User, plan: TeachingPlan, month: int, title: str = "", track: Track | None = None,
    declaration: Declaration | None = None, speaker: Speaker | None = None,
) -> PlanItem:
    _require_manage(actor, plan.unit)
    errors: Errors = {}
    if not 1 <= month <= 12:
        errors["month"] = [_("Choose a month from 1 to 12.")]
    if declaration is not None:
        if (
            declaration.status != Declaration.Status.APPROVED
            or not declaration.unit.path.startswith(plan.unit.path)
        ):
            errors["declaration"] = [_("Only an approved declaration from this unit can be planned.")]
        elif PlanItem.objects.filter(declaration=declaration).exists():
            errors["declaration"] = [_("This declaration is already in a plan.")]
        title = title.strip() or declaration.title
        track = track or declaration.track
        speaker = speaker or (_speaker_for_person(declaration.declarer) if not errors else None)
    title = title.strip()
    if not title:
        errors["title"] = [_("Give the planned class a title.")]
    if track is None:
        errors["track"] = [_("Choose a track.")]
    _fail(errors)
    return PlanItem.objects.create(
        plan=plan, month=month, title=title, track=track, declaration=declaration, speaker=speaker
    )


@transaction.atomic
def plan_item_update(*, actor: User, item: PlanItem, month: int, title: str | None = None) -> PlanItem:
    _require_manage(actor, item.plan.unit)
    if not 1 <= month <= 12:
        raise ValidationError({"month": [_("Choose a month from 1 to 12.")]})
    item.month = month
    if title is not None and title.strip():
        item.title = title.strip()
    item.save(update_fields=["month", "title"])
    return item


@transaction.atomic
def plan_item_remove(*, actor: User, item: PlanItem) -> None:
    _require_manage(actor, item.plan.unit)
    item.delete()


# --- Classes: scheduling -------------------------------------------------------------------------


def _points_error(value: Decimal | None) -> str | None:
    if value is not None and (value < 0 or value > 100):
        return _("Credits must be between 0 and 100 (or empty to use the credit rules).")
    return None


def _validate_session(
    *, actor: User, title: str, track: Track | None, host_unit: OrgUnit | None, start: dt.datetime | None,
    end: dt.datetime | None, speakers: Sequence[Speaker], venue: Venue | None, online_url: str,
    capacity: int | None, audience_open: bool, audience_units: Sequence[OrgUnit],
    audience_levels: Sequence[CadreLevel], attend_points: Decimal | None, lecture_points: Decimal | None,
    now: dt.datetime, exclude_pk: int | None = None, times_changed: bool = True,
) -> None:
    errors: Errors = {}
    if not title:
        errors["title"] = [_("Give the class a title.")]
    if track is None:
        errors["track"] = [_("Choose a track.")]
    if host_unit is None:
        errors["host_unit"] = [_("Choose the host unit.")]
    elif not org_selectors.can_manage_unit(actor, host_unit):
        errors["host_unit"] = [_("“%(unit)s” is outside the units you manage.") % {"unit": host_unit.name}]
    if start is None:
        errors["start"] = [_("Give the start time.")]
    if end is None:
        errors["end"] = [_("Give the end time.")]
    if start and end:
        if end <= start:
            errors["end"] = [
                _("The class must end after it starts (starts %(start)s, ends %(end)s).")
                % {"start": _local(start), "end": _local(end)}
            ]
        elif end - start > dt.timedelta(hours=8):
            errors["end"] = [_("A micro-class lasts at most 8 hours.")]
        if times_changed and start < now:
            errors["start"] = [_("%(start)s is in the past; choose a future time.") % {"start": _local(start)}]
    if capacity is not None and capacity <= 0:
        errors["capacity"] = [_("Capacity must be a positive number of seats, or empty for no limit.")]
    if not audience_open and not audience_units and not audience_levels:
        errors["audience_units"] = [_("Choose the audience units or cadre levels, or open the class to the whole unit.")]
    outside = [u.name for u in audience_units if not org_selectors.can_manage_unit(actor, u)]
    if outside:
        errors["audience_units"] = [
            _("Outside the units you manage: %(units)s.") % {"units": "、".join(outside)}
        ]
    if not speakers:
        errors["speakers"] = [_("Choose at least one speaker.")]
    else:
        visible = set(selectors.speakers_visible_to(actor).filter(pk__in=[s.pk for s in speakers]).values_list("pk", flat=True))
        hidden = [s.name for s in speakers if s.pk not in visible]
        inactive = [s.name for s in speakers if not s.is_active]
        if hidden:
            errors["speakers"] = [_("Not in your speaker pool: %(names)s.") % {"names": "、".join(hidden)}]
        elif inactive:
            errors["speakers"] = [_("No longer active: %(names)s.") % {"names": "、".join(inactive)}]
    if venue is not None:
        if not selectors.venues_visible_to(actor).filter(pk=venue.pk).exists():
            errors["venue"] = [_("This venue belongs to a unit outside your scope.")]
        elif not venue.is_active:
            errors["venue"] = [_("This venue is no longer in use.")]
        elif venue.is_online and not online_url:
            errors["online_url"] = [_("An online class needs the meeting link.")]
        elif capacity and venue.capacity and capacity > venue.capacity:
            errors["capacity"] = [
                _("%(venue)s has %(seats)s seats; the capacity cannot be larger.")
                % {"venue": venue.name, "seats": venue.capacity}
            ]
    for field, value in (("attend_points", attend_points), ("lecture_points", lecture_points)):
        problem = _points_error(value)
        if problem:
            errors[field] = [problem]
    if not errors and start and end:
        # Lock the speakers' and venue's rows so two admins cannot book the same person
        # or room at once: the second waits, then sees the first booking as a clash.
        list(Speaker.objects.select_for_update().filter(pk__in=[s.pk for s in speakers]).values_list("pk", flat=True))
        if venue is not None:
            list(Venue.objects.select_for_update().filter(pk=venue.pk).values_list("pk", flat=True))
        found = selectors.clashes(
            start=start, end=end, speaker_ids=[s.pk for s in speakers], venue=venue, exclude_pk=exclude_pk
        )
        wanted = {s.pk for s in speakers}
        for other in found.get("speakers", []):
            names = "、".join(link.speaker.name for link in other.speaker_links.all() if link.speaker_id in wanted)
            errors.setdefault("speakers", []).append(
                _("%(names)s already teaches “%(title)s” at %(when)s.")
                % {"names": names, "title": other.title, "when": _span(other.start, other.end)}
            )
        for other in found.get("venue", []):
            errors.setdefault("venue", []).append(
                _("%(venue)s is booked for “%(title)s” at %(when)s.")
                % {"venue": venue.name, "title": other.title, "when": _span(other.start, other.end)}
            )
    _fail(errors)


@transaction.atomic
def session_create(
    *, actor: User, title: str, track: Track | None, host_unit: OrgUnit | None, start: dt.datetime | None,
    end: dt.datetime | None, speakers: Sequence[Speaker], venue: Venue | None = None,
    location_note: str = "", online_url: str = "", capacity: int | None = None,
    audience_open: bool = True, audience_units: Sequence[OrgUnit] = (),
    audience_levels: Sequence[CadreLevel] = (), attend_points: Decimal | None = None,
    lecture_points: Decimal | None = None, description: str = "", format: str = Format.LECTURE,
    plan_item: PlanItem | None = None, now: dt.datetime | None = None,
) -> Session:
    """Schedule a class. Refused when a speaker or the venue is booked at the same time."""
    now = now or timezone.now()
    title = title.strip()
    if format not in Format.values:
        raise ValidationError({"format": [_("Choose a format.")]})
    if plan_item is not None and (plan_item.session_id or not org_selectors.can_manage_unit(actor, plan_item.plan.unit)):
        raise ValidationError({"plan_item": [_("This plan item is already scheduled or not yours.")]})
    _validate_session(
        actor=actor, title=title, track=track, host_unit=host_unit, start=start, end=end, speakers=speakers,
        venue=venue, online_url=online_url, capacity=capacity, audience_open=audience_open,
        audience_units=audience_units, audience_levels=audience_levels, attend_points=attend_points,
        lecture_points=lecture_points, now=now,
    )
    rules = selectors.rules_for(host_unit)
    session = Session.objects.create(
        title=title, description=description.strip(), track=track, format=format, host_unit=host_unit,
        audience_open=audience_open, venue=venue, location_note=location_note.strip(),
        online_url=online_url.strip(), start=start, end=end, capacity=capacity,
        attend_points=attend_points, lecture_points=lecture_points,
        checkin_opens_before=rules.checkin_opens_before, checkin_closes_after=rules.checkin_closes_after,
        late_after=rules.late_after, created_by=actor,
        declaration=plan_item.declaration if plan_item else None,
    )
    SessionSpeaker.objects.bulk_create(
        [SessionSpeaker(session=session, speaker=s, sort_order=i) for i, s in enumerate(speakers)]
    )
    if not audience_open:
        session.audience_units.set(audience_units)
        session.audience_levels.set(audience_levels)
    if plan_item is not None:
        plan_item.session = session
        plan_item.save(update_fields=["session"])
    return session


def _require_live(session: Session) -> None:
    if session.status == Session.Status.CANCELLED:
        raise ValidationError({"status": [_("This class was cancelled.")]})
    if session.status == Session.Status.CLOSED:
        raise ValidationError({"status": [_("This class is closed.")]})


@transaction.atomic
def session_update(
    *, actor: User, session: Session, title: str, track: Track | None, start: dt.datetime | None,
    end: dt.datetime | None, speakers: Sequence[Speaker], venue: Venue | None = None,
    location_note: str = "", online_url: str = "", capacity: int | None = None,
    audience_open: bool = True, audience_units: Sequence[OrgUnit] = (),
    audience_levels: Sequence[CadreLevel] = (), attend_points: Decimal | None = None,
    lecture_points: Decimal | None = None, description: str = "", format: str = Format.LECTURE,
    now: dt.datetime | None = None,
) -> Session:
    """Edit or reschedule a class; when the time or place changes, the audience is told."""
    session = Session.objects.select_for_update(of=("self",)).select_related("host_unit", "venue").get(pk=session.pk)
    _require_manage(actor, session.host_unit)
    _require_live(session)
    now = now or timezone.now()
    title = title.strip()
    times_changed = (start, end) != (session.start, session.end)
    if format not in Format.values:
        raise ValidationError({"format": [_("Choose a format.")]})
    _validate_session(
        actor=actor, title=title, track=track, host_unit=session.host_unit, start=start, end=end,
        speakers=speakers, venue=venue, online_url=online_url, capacity=capacity,
        audience_open=audience_open, audience_units=audience_units, audience_levels=audience_levels,
        attend_points=attend_points, lecture_points=lecture_points, now=now, exclude_pk=session.pk,
        times_changed=times_changed,
    )
    if capacity is not None and session.registrations.count() > capacity:
        raise ValidationError(
            {"capacity": [_("%(n)s people have registered already; the capacity cannot be lower.")
                          % {"n": session.registrations.count()}]}
        )
    moved = times_changed or venue != session.venue
    session.title, session.track, session.start, session.end = title, track, start, end
    session.venue, session.location_note, session.online_url = venue, location_note.strip(), online_url.strip()
    session.capacity, session.audience_open = capacity, audience_open
    session.attend_points, session.lecture_points = attend_points, lecture_points
    session.description, session.format = description.strip(), format
    session.save()
    SessionSpeaker.objects.filter(session=session).exclude(speaker__in=speakers).delete()
    existing = set(SessionSpeaker.objects.filter(session=session).values_list("speaker_id", flat=True))
    SessionSpeaker.objects.bulk_create(
        [SessionSpeaker(session=session, speaker=s, sort_order=i) for i, s in enumerate(speakers) if s.pk not in existing]
    )
    session.audience_units.set([] if audience_open else audience_units)
    session.audience_levels.set([] if audience_open else audience_levels)
    if moved:
        if times_changed:
            # The reminders of the old time no longer apply.
            Reminder.objects.filter(session=session).delete()
        notification_send(
            recipients=selectors.notice_recipients(session),
            title=_("Class rescheduled: %(title)s") % {"title": session.title},
            body=_("Now at %(when)s, %(where)s.") % {"when": _span(start, end), "where": _where(session)},
            link=_link("lectures:session_detail", session.pk),
            kind="lectures.session",
        )
    return session


def _where(session: Session) -> str:
    if session.venue_id:
        return " ".join(filter(None, [session.venue.name, session.location_note]))
    return session.location_note or (_("online") if session.online_url else "")


@transaction.atomic
def session_cancel(*, actor: User, session: Session, reason: str) -> Session:
    """Cancel a class; everyone who expected it is told why."""
    session = Session.objects.select_for_update(of=("self",)).select_related("host_unit", "venue").get(pk=session.pk)
    _require_manage(actor, session.host_unit)
    _require_live(session)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the class is cancelled; the audience will read it.")]})
    session.status, session.cancel_reason = Session.Status.CANCELLED, reason[:500]
    session.save(update_fields=["status", "cancel_reason"])
    notification_send(
        recipients=selectors.notice_recipients(session),
        title=_("Class cancelled: %(title)s") % {"title": session.title},
        body=_("“%(title)s” at %(when)s is cancelled: %(reason)s")
        % {"title": session.title, "when": _span(session.start, session.end), "reason": reason},
        link=_link("lectures:session_detail", session.pk),
        kind="lectures.session",
    )
    return session


# --- Registration ---------------------------------------------------------------------------------


@transaction.atomic
def registration_create(*, session: Session, person: User, now: dt.datetime | None = None) -> Registration:
    """Take a seat in a class with a capacity (first come, first served)."""
    session = Session.objects.select_for_update(of=("self",)).select_related("host_unit").get(pk=session.pk)
    now = now or timezone.now()
    _require_live(session)
    errors: Errors = {}
    if not session.capacity:
        errors["session"] = [_("This class has no seat limit: no need to register, just come.")]
    elif session.start <= now:
        errors["session"] = [_("Registration closed when the class started.")]
    elif not selectors.in_audience(session, person):
        errors["session"] = [_("This class is not open to your unit or cadre level.")]
    elif Registration.objects.filter(session=session, person=person).exists():
        errors["session"] = [_("You are registered already.")]
    elif session.registrations.count() >= session.capacity:
        errors["session"] = [_("The class is full (%(n)s seats).") % {"n": session.capacity}]
    _fail(errors)
    return Registration.objects.create(session=session, person=person, created_at=now)


@transaction.atomic
def registration_cancel(*, session: Session, person: User, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    if session.start <= now:
        raise ValidationError({"session": [_("The class has started; the registration can no longer be withdrawn.")]})
    deleted, _detail = Registration.objects.filter(session=session, person=person).delete()
    if not deleted:
        raise ValidationError({"session": [_("You were not registered.")]})


# --- Courseware -------------------------------------------------------------------------------------


@transaction.atomic
def courseware_add(*, actor: User, session: Session, upload: UploadedFile) -> Courseware:
    """Attach a PDF, PPTX or video to a class (recognised by content, size-capped)."""
    if not selectors.can_run_checkin(actor, session):
        raise PermissionDenied(_("Only the class's admin or speaker may add courseware."))
    if session.status == Session.Status.CANCELLED:
        raise ValidationError({"file": [_("This class was cancelled.")]})
    kind = validate_upload(
        upload, kinds=("pdf", "pptx", "video"), max_bytes=settings.LECTURES_COURSEWARE_MAX_BYTES, field="file"
    )
    return Courseware.objects.create(
        session=session, file=upload, kind=kind, original_name=(upload.name or "")[:200], size=upload.size or 0,
        uploaded_by=actor, in_library=session.status == Session.Status.CLOSED,
    )


@transaction.atomic
def courseware_remove(*, actor: User, courseware: Courseware) -> None:
    if not selectors.can_run_checkin(actor, courseware.session):
        raise PermissionDenied(_("Only the class's admin or speaker may remove courseware."))
    courseware.file.delete(save=False)
    courseware.delete()


# --- Check-in and attendance -------------------------------------------------------------------


def _check_in(
    *, session: Session, person: User, method: str, now: dt.datetime, token_problem: str | None
) -> Attendance:
    session = Session.objects.select_related("host_unit", "venue").get(pk=session.pk)
    field = "token" if method == Attendance.Method.QR else "code"
    if session.status == Session.Status.CANCELLED:
        raise ValidationError({field: [_("This class was cancelled.")]})
    if session.status == Session.Status.CLOSED:
        raise ValidationError({field: [_("This class is closed; ask its admin to correct the attendance.")]})
    if session.is_online:
        raise ValidationError({field: [_("Check-in is only for classes held in person.")]})
    messages = {
        checkin.TokenProblem.MALFORMED: _("This is not a check-in code of the portal."),
        checkin.TokenProblem.OTHER_CLASS: _("This QR code belongs to another class."),
        checkin.TokenProblem.INVALID: _("This QR code is not valid; scan the code on the screen again."),
        checkin.TokenProblem.EXPIRED: _("This QR code has expired; scan the code on the screen again."),
        "wrong_code": _("The code is wrong or has expired; type the code now on the screen."),
    }
    if token_problem:
        raise ValidationError({field: [messages[token_problem]]})
    if now < session.checkin_opens_at or now > session.checkin_closes_at:
        raise ValidationError(
            {field: [_("Check-in for “%(title)s” is open from %(open)s to %(close)s.")
                     % {"title": session.title, "open": _local(session.checkin_opens_at),
                        "close": timezone.localtime(session.checkin_closes_at).strftime("%H:%M")}]}
        )
    if not selectors.in_audience(session, person):
        raise ValidationError({field: [_("You are not in the audience of this class.")]})
    if session.capacity and not Registration.objects.filter(session=session, person=person).exists():
        raise ValidationError({field: [_("This class has limited seats and you did not register.")]})
    status = (
        Attendance.Status.LATE
        if now > session.start + dt.timedelta(minutes=session.late_after)
        else Attendance.Status.PRESENT
    )
    existing = Attendance.objects.filter(session=session, person=person).first()
    if existing is not None:
        if existing.attended:
            raise ValidationError(
                {field: [_("You already checked in at %(time)s.")
                         % {"time": timezone.localtime(existing.checked_in_at or existing.updated_at).strftime("%H:%M")}]}
            )
        # Marked absent or excused in advance, but came after all.
        existing.status, existing.method, existing.checked_in_at, existing.updated_at = status, method, now, now
        existing.save(update_fields=["status", "method", "checked_in_at", "updated_at"])
        return existing
    try:
        with transaction.atomic():
            return Attendance.objects.create(
                session=session, person=person, unit_id=person.unit_id, status=status, method=method,
                checked_in_at=now, updated_at=now,
            )
    except IntegrityError:
        # A concurrent duplicate (a double tap): the unique constraint kept one row.
        raise ValidationError({field: [_("You already checked in.")]}) from None


def checkin_by_token(*, session: Session, person: User, token: str, now: dt.datetime | None = None) -> Attendance:
    """Check the person in from a scanned QR token (only the audience, in the window, once)."""
    now = now or timezone.now()
    return _check_in(
        session=session, person=person, method=Attendance.Method.QR, now=now,
        token_problem=checkin.check_token(session, token, now),
    )


def checkin_by_code(*, session: Session, person: User, code: str, now: dt.datetime | None = None) -> Attendance:
    """Check the person in with the 6-digit code shown on the screen."""
    now = now or timezone.now()
    ok = checkin.check_code(session, code, now)
    return _check_in(
        session=session, person=person, method=Attendance.Method.CODE, now=now,
        token_problem=None if ok else "wrong_code",
    )


def checkin_by_code_any(*, person: User, code: str, now: dt.datetime | None = None) -> Attendance:
    """Check in with a code alone: the class is the one of the person's open check-ins it fits."""
    now = now or timezone.now()
    candidates = selectors.sessions_visible_to(person).filter(
        status=Session.Status.SCHEDULED, start__lte=now + dt.timedelta(hours=2), start__gte=now - dt.timedelta(hours=4)
    )
    for session in candidates:
        if checkin.check_code(session, code, now):
            return checkin_by_code(session=session, person=person, code=code, now=now)
    raise ValidationError({"code": [_("The code is wrong or has expired; type the code now on the screen.")]})


def _credit_keys(session: Session, person_id: int, round_: int, kind: str) -> str:
    base = f"{kind}:{session.pk}:{person_id}"
    return base if round_ == 0 else f"{base}:{round_}"


def _award_attendance(session: Session, row: Attendance, *, actor: User | None, now: dt.datetime) -> None:
    from credits import services as credit_services

    entry = credit_services.credit_award(
        person=row.person, source_kind="attendance", source_ref=f"lectures.session:{session.pk}",
        points=selectors.attendance_points_for(session), idempotency_key=_credit_keys(session, row.person_id, row.credit_round, "attendance"),
        occurred_at=session.start, created_by=actor, reason="", label=session.title,
    )
    row.credit_entry_id = entry.pk
    row.save(update_fields=["credit_entry_id"])


def _credit_entry(entry_id: int):
    """The ledger entry a row points at (read through the credits app's selectors when offered)."""
    from credits import selectors as credit_selectors

    getter = getattr(credit_selectors, "entry_by_id", None)
    if getter is not None:
        return getter(entry_id)
    from django.apps import apps

    return apps.get_model("credits", "CreditEntry").objects.get(pk=entry_id)


def _reverse_attendance(row: Attendance, *, actor: User, reason: str) -> None:
    from credits import services as credit_services

    # The host unit's admin corrects the register; should the person have moved out of
    # the admin's scope since, the reversal is still this service's (trusted) decision.
    by = actor if org_selectors.can_manage_person(actor, row.person) else None
    credit_services.credit_reverse(entry=_credit_entry(row.credit_entry_id), actor=by, reason=reason)
    row.credit_entry_id = None
    row.credit_round += 1
    row.save(update_fields=["credit_entry_id", "credit_round"])


@transaction.atomic
def attendance_mark(
    *, actor: User, session: Session, person: User, status: str, reason: str = "", now: dt.datetime | None = None
) -> Attendance:
    """An admin records or corrects one person's attendance, saying why.

    After the class was closed a correction changes credits only through the ledger:
    attended → not attended reverses the credit; not attended → attended awards a new one.
    """
    session = Session.objects.select_for_update(of=("self",)).select_related("host_unit", "venue").get(pk=session.pk)
    _require_manage(actor, session.host_unit, _("Only an admin of the host unit may mark attendance."))
    now = now or timezone.now()
    reason = reason.strip()
    errors: Errors = {}
    if session.status == Session.Status.CANCELLED:
        errors["status"] = [_("This class was cancelled.")]
    if status not in Attendance.Status.values:
        errors["status"] = [_("Choose present, late, absent, excused or on leave.")]
    if not selectors.in_audience(session, person) and not Attendance.objects.filter(session=session, person=person).exists():
        errors["person"] = [_("%(name)s is not in the audience of this class.") % {"name": person.name}]
    row = Attendance.objects.select_for_update().filter(session=session, person=person).first()
    if row is not None and not reason and row.status != status:
        errors["reason"] = [_("Say why the attendance is corrected.")]
    if session.status == Session.Status.CLOSED and not reason:
        errors["reason"] = [_("The class is closed; say why the attendance is corrected.")]
    if len(reason) > 500:
        errors["reason"] = [_("The reason is at most 500 characters.")]
    _fail(errors)
    old_status = row.status if row else ""
    if row is None:
        row = Attendance.objects.create(
            session=session, person=person, unit_id=person.unit_id, status=status, method=Attendance.Method.ADMIN,
            checked_in_at=now if status in Attendance.ATTENDED else None, marked_by=actor, reason=reason,
            updated_at=now,
        )
    elif old_status == status:
        return row
    else:
        row.status, row.marked_by, row.reason, row.updated_at = status, actor, reason, now
        if status in Attendance.ATTENDED and row.checked_in_at is None:
            row.checked_in_at, row.method = now, Attendance.Method.ADMIN
        row.save(update_fields=["status", "marked_by", "reason", "updated_at", "checked_in_at", "method"])
    AttendanceChange.objects.create(
        attendance=row, old_status=old_status, new_status=status, reason=reason or _("marked"), actor=actor
    )
    if session.status == Session.Status.CLOSED:
        was, now_attended = old_status in Attendance.ATTENDED, status in Attendance.ATTENDED
        row.person = person
        if was and not now_attended and row.credit_entry_id:
            _reverse_attendance(row, actor=actor, reason=reason)
        elif now_attended and not was and not row.credit_entry_id:
            _award_attendance(session, row, actor=actor, now=now)
    return row


# --- Closing ------------------------------------------------------------------------------------


@transaction.atomic
def session_close(*, actor: User, session: Session, now: dt.datetime | None = None) -> Session:
    """Close a class: credit attendees and staff speakers once, and file its courseware.

    Closing a closed class does nothing (the ledger's idempotency keys would refuse a
    second credit anyway). Attendees are then `attendees_of(session)` — the survey hook.
    """
    session = Session.objects.select_for_update(of=("self",)).select_related("host_unit", "venue").get(pk=session.pk)
    _require_manage(actor, session.host_unit, _("Only an admin of the host unit may close the class."))
    now = now or timezone.now()
    if session.status == Session.Status.CLOSED:
        return session
    if session.status == Session.Status.CANCELLED:
        raise ValidationError({"status": [_("A cancelled class cannot be closed.")]})
    if now < session.start:
        raise ValidationError(
            {"status": [_("The class starts at %(start)s; close it after it took place.") % {"start": _local(session.start)}]}
        )
    from credits import services as credit_services

    session.status, session.closed_at, session.closed_by = Session.Status.CLOSED, now, actor
    session.save(update_fields=["status", "closed_at", "closed_by"])
    attended = Attendance.objects.filter(session=session, status__in=Attendance.ATTENDED, credit_entry_id__isnull=True)
    for row in attended.select_related("person").iterator(chunk_size=500):
        _award_attendance(session, row, actor=actor, now=now)
    points = None
    for link in SessionSpeaker.objects.filter(session=session, speaker__person__isnull=False).select_related("speaker__person"):
        if link.credit_entry_id:
            continue
        points = points if points is not None else selectors.lecture_points_for(session)
        entry = credit_services.credit_award(
            person=link.speaker.person, source_kind="lecture", source_ref=f"lectures.session:{session.pk}",
            points=points, idempotency_key=f"lecture:{session.pk}:{link.speaker.person_id}",
            occurred_at=session.start, created_by=actor, reason="", label=session.title,
        )
        link.credit_entry_id = entry.pk
        link.save(update_fields=["credit_entry_id"])
    Courseware.objects.filter(session=session).update(in_library=True)
    return session


# --- Reminders ------------------------------------------------------------------------------------


def reminders_send_due(*, now: dt.datetime | None = None) -> int:
    """Send the day-before and hour-before reminders that are due; each at most once.

    The Reminder row is written in the same transaction as the notices, and its unique
    key (class, kind) makes a second run (or a second beat) skip it.
    """
    now = now or timezone.now()
    sent = 0
    windows = [
        (Reminder.Kind.HOUR_BEFORE, now, now + dt.timedelta(hours=1)),
        (Reminder.Kind.DAY_BEFORE, now + dt.timedelta(hours=1), now + dt.timedelta(hours=24)),
    ]
    for kind, after, before in windows:
        due = (
            Session.objects.filter(status=Session.Status.SCHEDULED, start__gt=after, start__lte=before)
            .exclude(reminders__kind=kind)
            .values_list("pk", flat=True)
        )
        for pk in list(due):
            sent += reminder_send(session_id=pk, kind=kind)
    return sent


def reminder_send(*, session_id: int, kind: str) -> int:
    """Send one reminder of one class unless it was sent already; returns recipients."""
    try:
        with transaction.atomic():
            session = Session.objects.select_related("host_unit", "venue").get(pk=session_id)
            marker = Reminder.objects.create(session=session, kind=kind)
            recipients = list(selectors.notice_recipients(session))
            when = _span(session.start, session.end)
            title = (
                _("Tomorrow: %(title)s") if kind == Reminder.Kind.DAY_BEFORE else _("Starting soon: %(title)s")
            ) % {"title": session.title}
            notification_send(
                recipients=recipients, title=title,
                body=_("%(when)s, %(where)s.") % {"when": when, "where": _where(session)},
                link=_link("lectures:session_detail", session.pk), kind="lectures.reminder",
            )
            marker.recipients = len(recipients)
            marker.save(update_fields=["recipients"])
            return len(recipients)
    except IntegrityError:
        return 0


# --- Calendar feed ---------------------------------------------------------------------------------


def calendar_feed_for(*, person: User) -> CalendarFeed:
    feed, _created = CalendarFeed.objects.get_or_create(
        person=person, defaults={"token": secrets.token_urlsafe(32)}
    )
    return feed


@transaction.atomic
def calendar_feed_reset(*, person: User) -> CalendarFeed:
    """A new secret address; the old one stops working (e.g. after it was shared)."""
    CalendarFeed.objects.filter(person=person).delete()
    return CalendarFeed.objects.create(person=person, token=secrets.token_urlsafe(32))
