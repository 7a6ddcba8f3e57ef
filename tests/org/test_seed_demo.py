"""`manage.py seed_demo`: a realistic demo organisation, built idempotently and grown on demand."""

from __future__ import annotations

import collections
import datetime as dt
import io
import random
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from org import demo, selectors, services
from org.models import CadreLevel, Feedback, Notification, OrgUnit, Role, RoleGrant, User
from tests.factories import OrgUnitFactory, UserFactory

pytestmark = pytest.mark.django_db

HAN = re.compile(r"^[\u4e00-\u9fff]+$")
UNIT_SUFFIXES = ("市", "区", "县", "局", "委员会", "办公室", "部", "馆", "校", "科", "处", "室",
                 "中心", "大队", "街道", "镇", "乡", "社区", "村", "所", "站")


@pytest.fixture(autouse=True)
def _org_only_in_english(settings):
    """Other apps register seeders; these tests exercise the organisation alone, and read
    the command's output in English (the source language) whatever the catalogue says."""
    settings.DEMO_SEEDERS = []
    with translation.override("en"):
        yield


def seed(staff: int = 120, **options) -> str:
    out = io.StringIO()
    call_command("seed_demo", staff=staff, stdout=out, **options)
    return out.getvalue()


def snapshot() -> dict[str, list]:
    """Every row the demo writes, in a stable order."""
    return {
        "units": list(
            OrgUnit.objects.order_by("path").values_list(
                "pk", "code", "name", "kind", "path", "depth", "numchild", "sort_order", "is_active"
            )
        ),
        "people": list(
            User.objects.order_by("employee_no").values_list(
                "pk", "employee_no", "name", "unit_id", "cadre_level_id", "gender", "birth_date",
                "phone", "email", "is_active", "password", "is_staff", "is_superuser",
            )
        ),
        "grants": list(RoleGrant.objects.order_by("pk").values_list("user_id", "unit_id", "role")),
        "levels": list(CadreLevel.objects.order_by("pk").values_list("code", "name", "sort_order")),
        "notices": list(
            Notification.objects.order_by("pk").values_list("recipient_id", "title", "read_at")
        ),
        "feedback": list(
            Feedback.objects.order_by("pk").values_list("author_id", "subject", "status", "reply")
        ),
    }


def assert_tree_is_sound() -> None:
    evil_chars, bad_steplen, orphans, wrong_depth, wrong_numchild = OrgUnit.objects.find_problems()
    assert (evil_chars, bad_steplen, orphans, wrong_depth, wrong_numchild) == ([], [], [], [], [])
    for unit in OrgUnit.objects.all():
        assert unit.numchild == OrgUnit.objects.filter(
            path__startswith=unit.path, depth=unit.depth + 1
        ).count()


# --- The organisation it builds ------------------------------------------------------------


def test_builds_a_city_of_the_requested_size_four_levels_deep():
    seed(120, skip_apps=True)

    assert demo.demo_staff().count() == 120
    assert demo.demo_units().count() == OrgUnit.objects.count() == demo.unit_count_for(120) == 24
    root = OrgUnit.objects.get_root_nodes().get()
    assert (root.name, root.kind) == ("渝江市", "city")
    assert OrgUnit.objects.order_by("-depth").first().depth == 4
    kinds = set(OrgUnit.objects.values_list("kind", flat=True))
    assert {"city", "district", "department", "section"} <= kinds
    assert kinds & {"street", "township"}
    # Nobody works for "the city" or "the district" itself; everyone has a unit and a level.
    assert not demo.demo_staff().filter(unit__kind__in=["city", "district", "county"]).exists()
    assert not demo.demo_staff().filter(cadre_level__isnull=True).exists()


def test_tree_paths_depths_and_child_counts_are_what_treebeard_expects():
    seed(120, skip_apps=True)

    assert_tree_is_sound()
    jiangcheng = OrgUnit.objects.get(name="江城区")
    assert [u.name for u in OrgUnit.objects.get_ancestors(jiangcheng)] == ["渝江市"]
    assert OrgUnit.objects.get_parent(OrgUnit.objects.get(name="江城区档案馆")) == jiangcheng


def test_unit_and_person_names_are_chinese():
    seed(120, skip_apps=True)

    for name in OrgUnit.objects.values_list("name", flat=True):
        assert HAN.match(name), name
        assert name.endswith(UNIT_SUFFIXES), name
    for name in User.objects.values_list("name", flat=True):
        assert HAN.match(name) and 2 <= len(name) <= 4, name
    # Sibling names are unique, as the unit services require.
    pairs = [(u.path[:-4], u.name) for u in OrgUnit.objects.all()]
    assert len(pairs) == len(set(pairs))


def test_people_look_like_a_real_workforce():
    specs = demo.unit_specs(24)
    generator = demo.PersonGenerator(specs, seed=2026, reference_year=2026)
    people = [generator.person(i) for i in range(3000)]

    today = dt.date(2026, 1, 1)
    for p in people:
        assert re.fullmatch(r"D\d{7}", p.employee_no)
        assert re.fullmatch(r"1[3-9]\d{9}", p.phone), p.phone
        assert p.email == "" or p.email.endswith("@example.gov.cn")
        assert 22 <= (today - p.birth_date).days // 365 <= 60
        assert specs[p.unit].staff_weight > 0
    levels = collections.Counter(p.cadre_level for p in people)
    assert levels["staff"] > 0.6 * len(people)  # most people are 一般干部
    assert levels["section"] and levels["division"]
    inactive = sum(not p.is_active for p in people)
    assert 0.005 * len(people) < inactive < 0.05 * len(people)
    genders = collections.Counter(p.gender for p in people)
    assert genders["M"] > 1000 and genders["F"] > 1000
    surnames = collections.Counter(p.name[0] for p in people)
    assert {s for s, _n in surnames.most_common(5)} & {"王", "李", "张"} == {"王", "李", "张"}
    assert any(p.email == "" for p in people) and any(p.email for p in people)


def test_generation_is_deterministic_and_does_not_depend_on_n():
    assert demo.unit_specs(200)[:24] == demo.unit_specs(24)
    assert demo.unit_specs(24, seed=1) != demo.unit_specs(24, seed=2)

    small = demo.PersonGenerator(demo.unit_specs(24), seed=2026, reference_year=2026)
    large = demo.PersonGenerator(demo.unit_specs(2000), seed=2026, reference_year=2026)
    assert [small.person(i) for i in range(50)] == [large.person(i) for i in range(50)]
    other_seed = demo.PersonGenerator(demo.unit_specs(24), seed=7, reference_year=2026)
    assert other_seed.person(0) != small.person(0)


def test_units_scale_with_staff():
    assert demo.unit_count_for(0) == demo.unit_count_for(300) == demo.MIN_UNITS
    assert demo.unit_count_for(200_000) == 2000
    assert len(demo.unit_specs(2000)) == 2000
    depths: dict[int, int] = {}
    for spec in demo.unit_specs(2000):
        depths[spec.index] = 1 if spec.parent is None else depths[spec.parent] + 1
    assert max(depths.values()) == 4
    assert collections.Counter(depths.values())[4] > 1000  # most units are sections/offices


# --- Demo logins -------------------------------------------------------------------------


def test_demo_logins_authenticate_and_hold_their_roles(client):
    seed(120, skip_apps=True)

    for account in demo.DEMO_ACCOUNTS:
        assert client.login(username=account.employee_no, password=demo.DEMO_PASSWORD), account
        client.logout()
    # Every demo staff member shares the one password hash, and so the password.
    assert client.login(username="D0000001", password=demo.DEMO_PASSWORD)

    learner = User.objects.get(employee_no="demo-learner")
    admin = User.objects.get(employee_no="demo-admin")
    manager = User.objects.get(employee_no="demo-manager")
    teacher = User.objects.get(employee_no="demo-teacher")
    sysadmin = User.objects.get(employee_no="demo-sysadmin")
    district = OrgUnit.objects.get(name="江城区")
    assert list(admin.grants.values_list("role", "unit")) == [(Role.UNIT_ADMIN, district.pk)]
    assert district.depth == 2
    assert list(manager.grants.values_list("role", "unit__depth")) == [(Role.MANAGER, 1)]
    assert list(teacher.grants.values_list("role", flat=True)) == [Role.CLASS_TEACHER]
    assert not learner.grants.exists() and not learner.is_staff
    assert sysadmin.is_superuser and sysadmin.is_staff
    # The learner is inside everybody's scope; a person in another district is not the admin's.
    assert selectors.can_manage_person(admin, learner)
    assert selectors.can_view_person(manager, learner)
    assert selectors.can_view_person(teacher, learner)
    outsider = demo.demo_staff().exclude(unit__path__startswith=district.path).first()
    assert outsider is not None and not selectors.can_manage_person(admin, outsider)


def test_prints_a_table_of_the_logins_with_password_role_and_unit():
    out = seed(120, skip_apps=True)

    for account in demo.DEMO_ACCOUNTS:
        line = next(line for line in out.splitlines() if account.employee_no in line)
        assert demo.DEMO_PASSWORD in line
        assert str(account.role_label) in line
        assert "渝江市" in line
    assert "渝江市/江城区/江城区档案馆" in out
    assert "24 units (24 new), 120 staff (120 new)" in out


def test_inbox_and_feedback_box_have_something_to_show():
    seed(120, skip_apps=True)

    learner = User.objects.get(employee_no="demo-learner")
    admin = User.objects.get(employee_no="demo-admin")
    assert selectors.unread_notification_count(learner) >= 3
    assert selectors.unread_notification_count(admin) >= 1
    feedback = list(selectors.feedback_visible_to(admin))
    answered = [f for f in feedback if f.status == Feedback.Status.ANSWERED]
    assert len(feedback) == 3 and len(answered) == 2
    assert all(f.reply and f.replied_by == admin for f in answered)
    assert [f.subject for f in selectors.feedback_visible_to(learner)] == ["建议下午微课堂提供录播回放"]


# --- Idempotence and growth -------------------------------------------------------------------


def test_second_run_changes_nothing():
    seed(120)
    before = snapshot()

    out = seed(120)

    assert snapshot() == before
    assert "24 units (0 new), 120 staff (0 new)" in out


def test_larger_staff_adds_units_and_people_and_keeps_everyone_else():
    seed(120, skip_apps=True)
    # An admin added a unit of their own under a demo district in between.
    own = services.unit_create(
        parent=OrgUnit.objects.get(name="江城区"), code="JC-01", name="江城区新设科室"
    )
    own.refresh_from_db()
    before = snapshot()

    out = seed(2600, skip_apps=True)

    assert demo.demo_staff().count() == 2600
    assert demo.demo_units().count() == 26
    assert "26 units (2 new), 2600 staff (2480 new)" in out
    after = snapshot()
    assert set(before["people"]) <= set(after["people"])
    kept_units = {row[1]: row for row in after["units"]}
    for row in before["units"]:
        # Same unit, same place; only the child count of a parent may have grown.
        assert kept_units[row[1]][:6] == row[:6] and kept_units[row[1]][7:] == row[7:]
    assert OrgUnit.objects.get(pk=own.pk).path == own.path
    assert_tree_is_sound()


def test_never_touches_people_or_units_it_did_not_create():
    real_root = OrgUnitFactory(code="REAL", name="真实单位")
    real = UserFactory(employee_no="D0000007", name="赵真实", unit=real_root)
    real_row = User.objects.filter(pk=real.pk).values().get()

    out = seed(120, skip_apps=True)

    assert User.objects.filter(pk=real.pk).values().get() == real_row
    assert OrgUnit.objects.get(pk=real_root.pk).numchild == 0
    assert demo.demo_staff().count() == 120  # 119 created + the real D0000007
    assert "120 staff (119 new)" in out
    assert OrgUnit.objects.get_root_nodes().count() == 2
    assert_tree_is_sound()


def test_builds_with_a_constant_number_of_queries_per_batch():
    """No query per person or per unit: 10x the people costs no extra statements."""

    def queries_for(staff: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            seed(staff, skip_apps=True)
        sql = [q["sql"] for q in ctx.captured_queries]
        return len([s for s in sql if not s.startswith('INSERT INTO "org_user"')])

    small = queries_for(120)
    User.objects.all().delete()
    OrgUnit.objects.all().delete()
    CadreLevel.objects.all().delete()
    large = queries_for(1200)
    assert large == small


# --- Options -----------------------------------------------------------------------------------


def record_call(**kwargs) -> None:
    CALLS.append(("first", kwargs))


def record_second_call(**kwargs) -> None:
    CALLS.append(("second", kwargs))


CALLS: list[tuple[str, dict]] = []


def test_runs_every_app_seeder_in_order_unless_skipped(settings):
    settings.DEMO_SEEDERS = [
        "tests.org.test_seed_demo.record_call",
        "tests.org.test_seed_demo.record_second_call",
    ]
    CALLS.clear()

    seed(120, seed=5)

    assert [name for name, _kw in CALLS] == ["first", "second"]
    first, second = (kw for _name, kw in CALLS)
    assert first["staff_count"] == second["staff_count"] == 120
    assert isinstance(first["rng"], random.Random)
    # Each seeder gets its own stream, derived from the seed and its path.
    assert first["rng"].random() != second["rng"].random()
    assert first["stdout"] is not None

    CALLS.clear()
    seed(120, skip_apps=True)
    assert CALLS == []


@pytest.mark.parametrize(("verbosity", "shows_progress"), [(1, False), (2, True)])
def test_prints_progress_only_at_verbosity_2(verbosity, shows_progress):
    out = seed(120, skip_apps=True, verbosity=verbosity)

    assert ("people: 120 created" in out) is shows_progress
    assert ("units: 24/24" in out) is shows_progress


def test_negative_staff_is_refused_and_changes_nothing():
    with pytest.raises(CommandError, match="--staff must be 0 or more"):
        seed(-5)

    assert not OrgUnit.objects.exists()
    assert not User.objects.exists()
