"""Shared set-up of the reports tests: an organisation with people in every role, credits
in a past quarter, and helpers that build a report the way the worker does.

The tree (tests.factories.OrgTree): city → district A (townships A1, A2) and district B
(township B1). Grants under test are on district A.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from credits import services as credit_services
from credits.rules import forget_rules
from org.models import Role, User
from reports import services
from reports.models import ReportRun
from reports.rows import last_ended_quarter
from tests.factories import OrgTree, RoleGrantFactory, UserFactory

TZ = ZoneInfo("Asia/Shanghai")
ROLES = ["learner", "unit_admin", "manager", "class_teacher", "system_admin"]
_keys = itertools.count()


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


def fresh(user: User) -> User:
    """A new object for the user (the scope is cached per object)."""
    return User.objects.select_related("unit").get(pk=user.pk)


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    """Each test writes files under its own MEDIA_ROOT and reads the rules afresh; messages
    are checked in English (the source language), whatever the catalogues say."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.LANGUAGE_CODE = "en"
    os.makedirs(settings.MEDIA_ROOT, exist_ok=True)
    forget_rules()
    with translation.override("en"):
        yield
    forget_rules()


@dataclass
class Cast:
    tree: OrgTree
    learner: User
    unit_admin: User
    manager: User
    class_teacher: User
    system_admin: User
    inside: User  # a learner in township A2 (inside district A)
    outside: User  # a learner in township B1 (outside district A)

    def role(self, name: str) -> User:
        return getattr(self, name)


@pytest.fixture
def cast(db) -> Cast:
    tree = OrgTree()

    def staff(role: Role, name: str) -> User:
        person = UserFactory(unit=tree.district_a, name=name)
        RoleGrantFactory(user=person, unit=tree.district_a, role=role)
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
def quarter():
    """The quarter that ended last (a period every report may cover)."""
    return last_ended_quarter()


@pytest.fixture
def award(django_capture_on_commit_callbacks):
    """Award credits through the credits service (and run its after-commit work)."""

    def _award(person: User, points="1", *, kind: str = "course", when=None, label: str = "", ref: str = ""):
        with django_capture_on_commit_callbacks(execute=True):
            return credit_services.credit_award(
                person=person, source_kind=kind, source_ref=ref or f"courses.course:{next(_keys)}",
                points=Decimal(str(points)), idempotency_key=f"reports-test:{next(_keys)}",
                occurred_at=when or timezone.now(), label=label,
            )

    return _award


@pytest.fixture
def request_report(django_capture_on_commit_callbacks):
    """Ask for a report and run the queued build (eager Celery), as the worker would."""

    def _request(user: User, kind: str, **raw) -> ReportRun:
        with django_capture_on_commit_callbacks(execute=True):
            run, _created = services.report_request(requester=fresh(user), kind=kind, raw=raw)
        run.refresh_from_db()
        return run

    return _request
