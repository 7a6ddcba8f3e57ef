"""Factories for the micro-class tests (kept here to avoid edit collisions)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from sessions.models import (
    Attendance,
    Declaration,
    Menu,
    MenuTopic,
    Session,
    SessionSpeaker,
    Speaker,
    TeachingPlan,
    Track,
    Venue,
)
from tests.factories import OrgUnitFactory, UserFactory


class TrackFactory(DjangoModelFactory):
    class Meta:
        model = Track
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"专题{n}")


class SpeakerFactory(DjangoModelFactory):
    class Meta:
        model = Speaker

    person = factory.SubFactory(UserFactory)
    name = factory.LazyAttribute(lambda o: o.person.name if o.person else "外部专家")
    unit = factory.LazyAttribute(lambda o: o.person.unit if o.person else OrgUnitFactory())


class VenueFactory(DjangoModelFactory):
    class Meta:
        model = Venue

    unit = factory.SubFactory(OrgUnitFactory)
    name = factory.Sequence(lambda n: f"会议室{n}")
    kind = Venue.Kind.ROOM


def tomorrow_at(hour: int = 16, minute: int = 30, days: int = 1) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


class SessionFactory(DjangoModelFactory):
    """A scheduled class tomorrow 16:30–17:30, open to the host unit's subtree."""

    class Meta:
        model = Session
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"微课堂{n}")
    track = factory.SubFactory(TrackFactory)
    host_unit = factory.SubFactory(OrgUnitFactory)
    start = factory.LazyFunction(tomorrow_at)
    end = factory.LazyAttribute(lambda o: o.start + dt.timedelta(hours=1))
    attend_points = None
    lecture_points = None

    @factory.post_generation
    def speakers(obj, create, extracted, **kwargs):
        if create and extracted:
            for i, speaker in enumerate(extracted):
                SessionSpeaker.objects.create(session=obj, speaker=speaker, sort_order=i)


class AttendanceFactory(DjangoModelFactory):
    class Meta:
        model = Attendance

    session = factory.SubFactory(SessionFactory)
    person = factory.SubFactory(UserFactory)
    unit = factory.LazyAttribute(lambda o: o.person.unit)
    status = Attendance.Status.PRESENT
    method = Attendance.Method.QR
    checked_in_at = factory.LazyAttribute(lambda o: o.session.start)


class MenuFactory(DjangoModelFactory):
    class Meta:
        model = Menu

    unit = factory.SubFactory(OrgUnitFactory)
    year = factory.LazyFunction(lambda: timezone.localdate().year)
    title = factory.Sequence(lambda n: f"年度选学菜单{n}")
    status = Menu.Status.PUBLISHED


class MenuTopicFactory(DjangoModelFactory):
    class Meta:
        model = MenuTopic

    menu = factory.SubFactory(MenuFactory)
    track = factory.SubFactory(TrackFactory)
    title = factory.Sequence(lambda n: f"选题{n}")


class DeclarationFactory(DjangoModelFactory):
    class Meta:
        model = Declaration

    declarer = factory.SubFactory(UserFactory)
    unit = factory.LazyAttribute(lambda o: o.declarer.unit)
    year = factory.LazyFunction(lambda: timezone.localdate().year)
    title = factory.Sequence(lambda n: f"申报课程{n}")
    outline = "提纲"
    track = factory.SubFactory(TrackFactory)


class PlanFactory(DjangoModelFactory):
    class Meta:
        model = TeachingPlan

    unit = factory.SubFactory(OrgUnitFactory)
    year = factory.LazyFunction(lambda: timezone.localdate().year)
    monthly_target = 1
