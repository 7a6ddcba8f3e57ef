"""Shared set-up of the credits tests: an organisation, people in every role, awarding."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from credits import live, services
from credits.rules import forget_rules
from org.models import Role, User
from tests.factories import OrgTree, RoleGrantFactory, UserFactory

TZ = ZoneInfo("Asia/Shanghai")
_keys = itertools.count()


def local(*args: int) -> datetime:
    """An aware Beijing-time datetime."""
    return datetime(*args, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _fresh_rules():
    """Rules are cached per process for a few seconds; each test starts from its own rows."""
    forget_rules()
    live.forget_memo()
    yield
    forget_rules()
    live.forget_memo()


@pytest.fixture(autouse=True)
def _english(settings):
    """Messages are asserted in English (the source language), whatever the catalogue holds."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@dataclass
class Cast:
    """The organisation of `OrgTree` and one person per role, granted on district A."""

    tree: OrgTree
    learner: User
    unit_admin: User
    manager: User
    class_teacher: User
    system_admin: User
    inside: User  # a learner in township A1 (inside district A)
    outside: User  # a learner in township B1 (outside district A)

    def role(self, name: str) -> User:
        return getattr(self, name)


ROLES = ["learner", "unit_admin", "manager", "class_teacher", "system_admin"]


@pytest.fixture
def cast(db) -> Cast:
    tree = OrgTree()
    district_a = tree.district_a

    def staff(role: Role | None, name: str) -> User:
        person = UserFactory(unit=district_a, name=name)
        if role is not None:
            RoleGrantFactory(user=person, unit=district_a, role=role)
        return person

    return Cast(
        tree=tree,
        learner=tree.people["TA1"],
        unit_admin=staff(Role.UNIT_ADMIN, "管理员"),
        manager=staff(Role.MANAGER, "经理"),
        class_teacher=staff(Role.CLASS_TEACHER, "班主任"),
        system_admin=UserFactory(unit=tree.city, name="系统管理员", is_superuser=True, is_staff=True),
        inside=tree.people["TA2"],
        outside=tree.people["TB1"],
    )


@pytest.fixture
def award(django_capture_on_commit_callbacks):
    """Award through the service and run what follows the commit (the rank refresh)."""

    def _award(person: User, points: str | Decimal = "1", *, kind: str = "course", when=None, key=None, **kw):
        with django_capture_on_commit_callbacks(execute=True):
            return services.credit_award(
                person=person,
                source_kind=kind,
                source_ref=kw.pop("source_ref", "courses.course:1"),
                points=Decimal(str(points)),
                idempotency_key=key or f"test:{next(_keys)}",
                occurred_at=when,
                **kw,
            )

    return _award


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a callable and the on-commit work it queues (e.g. `committed(services.credit_adjust, ...)`)."""

    def _run(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return _run
