"""A small organisation with every role, inside and outside a district's subtree.

    city
    ├── district A ── section A1      (the course's owner unit is district A)
    └── district B ── section B1

Inside roles hold their grant on district A; outside roles on district B.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.conf import settings
from django.utils import translation

from courses import counters, memo
from org.models import Role
from tests.courses.factories import (
    CadreLevelFactory,
    OrgUnitFactory,
    RoleGrantFactory,
    UserFactory,
    make_course,
)


@pytest.fixture(autouse=True)
def _courses_isolated(settings, tmp_path):
    """Uploads in a temporary MEDIA_ROOT, an empty click buffer, and English messages
    (the tests read the messages; the Chinese catalogue is tested elsewhere)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LANGUAGE_CODE = "en"
    counters.reset_local_buffer()
    memo.clear()
    with translation.override("en"):
        yield
    counters.reset_local_buffer()
    memo.clear()


@pytest.fixture
def world(db):
    city = OrgUnitFactory(code="CITY", name="渝江市")
    district_a = OrgUnitFactory(parent=city, code="DA", name="江城区")
    section_a1 = OrgUnitFactory(parent=district_a, code="DA1", name="江城区司法科")
    district_b = OrgUnitFactory(parent=city, code="DB", name="临江区")
    section_b1 = OrgUnitFactory(parent=district_b, code="DB1", name="临江区民政科")
    chu = CadreLevelFactory(code="chu", name="处级")
    ke = CadreLevelFactory(code="ke", name="科级")

    def person(unit, level=None, **kw):
        return UserFactory(unit=unit, cadre_level=level, **kw)

    def granted(unit, role):
        user = person(unit)
        RoleGrantFactory(user=user, unit=unit, role=role)
        return user

    w = SimpleNamespace(
        city=city, district_a=district_a, section_a1=section_a1, district_b=district_b, section_b1=section_b1,
        chu=chu, ke=ke,
        learner=person(section_a1, ke, name="余旭"),
        colleague=person(section_a1, ke, name="王蕾"),
        chief=person(section_a1, chu, name="刘春"),
        outsider=person(section_b1, ke, name="杜鹏飞"),
        unit_admin=granted(district_a, Role.UNIT_ADMIN),
        manager=granted(district_a, Role.MANAGER),
        class_teacher=granted(district_a, Role.CLASS_TEACHER),
        admin_b=granted(district_b, Role.UNIT_ADMIN),
        manager_b=granted(district_b, Role.MANAGER),
        teacher_b=granted(district_b, Role.CLASS_TEACHER),
        sysadmin=UserFactory(unit=city, is_superuser=True, is_staff=True, name="系统管理员"),
    )
    # Sorted siblings (treebeard node_order_by) may have shifted paths: re-read everything.
    from org.models import OrgUnit, User

    for name, value in list(vars(w).items()):
        if isinstance(value, OrgUnit):
            setattr(w, name, OrgUnit.objects.get(pk=value.pk))
        elif isinstance(value, User):
            setattr(w, name, User.objects.select_related("unit", "cadre_level").get(pk=value.pk))
    w.course = make_course(owner_unit=w.district_a, title="基层干部如何与群众打交道")
    w.lessons = list(w.course.lessons.order_by("position"))
    return w


@pytest.fixture
def tolerance():
    return settings.COURSES_HEARTBEAT_TOLERANCE_SECONDS
