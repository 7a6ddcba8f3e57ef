"""A small organisation for the micro-class tests.

city ─┬─ district A (unit admin `admin_a`, manager, class teacher) ─ section A1 (learner)
      └─ district B (unit admin `admin_b`, learner_b)
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from org.models import OrgUnit, Role, User
from sessions.models import Session, Speaker, Track
from tests.factories import OrgUnitFactory, RoleGrantFactory, UserFactory
from tests.lectures.factories import SessionFactory, SpeakerFactory, TrackFactory, VenueFactory


@dataclass
class Org:
    city: OrgUnit
    a: OrgUnit
    a1: OrgUnit
    b: OrgUnit
    admin_a: User
    admin_b: User
    manager_a: User
    teacher_a: User
    learner: User
    learner_b: User
    sysadmin: User
    speaker_person: User
    speaker: Speaker
    track: Track


@pytest.fixture
def org(db) -> Org:
    city = OrgUnitFactory(name="市")
    a = OrgUnitFactory(parent=city, name="A区")
    a1 = OrgUnitFactory(parent=a, name="A区一科")
    b = OrgUnitFactory(parent=city, name="B区")
    admin_a = UserFactory(unit=a, name="管理员A")
    admin_b = UserFactory(unit=b, name="管理员B")
    manager_a = UserFactory(unit=a, name="经理A")
    teacher_a = UserFactory(unit=a, name="班主任A")
    RoleGrantFactory(user=admin_a, unit=a, role=Role.UNIT_ADMIN)
    RoleGrantFactory(user=admin_b, unit=b, role=Role.UNIT_ADMIN)
    RoleGrantFactory(user=manager_a, unit=a, role=Role.MANAGER)
    RoleGrantFactory(user=teacher_a, unit=a, role=Role.CLASS_TEACHER)
    speaker_person = UserFactory(unit=a1, name="主讲人")
    return Org(
        city=city, a=a, a1=a1, b=b, admin_a=admin_a, admin_b=admin_b, manager_a=manager_a,
        teacher_a=teacher_a, learner=UserFactory(unit=a1, name="学员"), learner_b=UserFactory(unit=b, name="学员B"),
        sysadmin=UserFactory(unit=city, is_superuser=True, is_staff=True, name="系统管理员"),
        speaker_person=speaker_person, speaker=SpeakerFactory(person=speaker_person),
        track=TrackFactory(name="业务专家谈业务"),
    )


@pytest.fixture
def session_a(org) -> Session:
    """A class of district A tomorrow afternoon, open to A's subtree, with a staff speaker."""
    return SessionFactory(host_unit=org.a, track=org.track, speakers=[org.speaker], venue=VenueFactory(unit=org.a))


def refresh(user: User) -> User:
    """A fresh user object (the scope is cached per object)."""
    return User.objects.select_related("unit").get(pk=user.pk)


@pytest.fixture
def past_a(org) -> Session:
    """A class of district A that took place two hours ago (ready to be closed)."""
    import datetime as dt

    from django.utils import timezone

    start = timezone.now() - dt.timedelta(hours=2)
    return SessionFactory(host_unit=org.a, track=org.track, speakers=[org.speaker], start=start,
                          end=start + dt.timedelta(hours=1))
