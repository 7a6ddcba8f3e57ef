"""Scoped reads: which units and people a user may see and manage.

A right granted on a unit covers its whole subtree and nothing else; a system admin sees
everything; a person without grants sees only themselves and their own unit.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from org import selectors
from org.models import Feedback, OrgUnit, Role, User
from tests.factories import (
    FeedbackFactory,
    NotificationFactory,
    OrgUnitFactory,
    RoleGrantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    """市 → 东城区 → {东华门街道 → 综合科, 景山街道}; 市 → 西城区; one person in each unit."""
    city = OrgUnitFactory(code="CITY", name="市")
    east = OrgUnitFactory(parent=city, code="E", name="东城区")
    donghua = OrgUnitFactory(parent=east, code="E1", name="东华门街道")
    section = OrgUnitFactory(parent=donghua, code="E1S", name="综合科")
    jingshan = OrgUnitFactory(parent=east, code="E2", name="景山街道")
    west = OrgUnitFactory(parent=city, code="W", name="西城区")
    units = SimpleNamespace(city=city, east=east, donghua=donghua, section=section, jingshan=jingshan, west=west)
    people = SimpleNamespace(**{name: UserFactory(unit=unit, name=name) for name, unit in vars(units).items()})
    return SimpleNamespace(u=units, p=people)


def _fresh(user: User) -> User:
    """The user as a new request would load them (no cached scope)."""
    return User.objects.select_related("unit").get(pk=user.pk)


def _granted(unit: OrgUnit, role: str = Role.UNIT_ADMIN, *, home: OrgUnit | None = None) -> User:
    person = UserFactory(unit=home or unit)
    RoleGrantFactory(user=person, unit=unit, role=role)
    return _fresh(person)


def _codes(units) -> set[str]:
    return {u.code for u in units}


def _names(people) -> set[str]:
    return {p.name for p in people}


# --- scope_for -------------------------------------------------------------------------


def test_nested_grants_collapse_to_the_outermost_subtree(org):
    person = UserFactory(unit=org.u.east)
    for unit in (org.u.east, org.u.donghua, org.u.section):
        RoleGrantFactory(user=person, unit=unit, role=Role.UNIT_ADMIN)
    RoleGrantFactory(user=person, unit=org.u.west, role=Role.MANAGER)
    scope = selectors.scope_for(_fresh(person))
    assert scope.manage == (org.u.east.path,)
    assert scope.view == (org.u.east.path, org.u.west.path)
    assert scope.roles == {Role.UNIT_ADMIN, Role.MANAGER}
    assert not scope.is_global


def test_sibling_paths_are_not_collapsed_into_each_other(org):
    person = UserFactory(unit=org.u.east)
    RoleGrantFactory(user=person, unit=org.u.donghua, role=Role.MANAGER)
    RoleGrantFactory(user=person, unit=org.u.jingshan, role=Role.MANAGER)
    assert selectors.scope_for(_fresh(person)).view == (org.u.donghua.path, org.u.jingshan.path)


def test_managers_and_class_teachers_see_but_do_not_manage(org):
    for role in (Role.MANAGER, Role.CLASS_TEACHER):
        scope = selectors.scope_for(_granted(org.u.east, role))
        assert scope.view == (org.u.east.path,)
        assert scope.manage == ()


def test_the_scope_is_computed_once_per_user_object_until_forgotten(org, django_assert_num_queries):
    admin = _granted(org.u.east)
    with django_assert_num_queries(1):
        selectors.scope_for(admin)
        selectors.scope_for(admin)
        selectors.can_manage_unit(admin, org.u.donghua)
    selectors.forget_scope(admin)
    with django_assert_num_queries(1):
        selectors.scope_for(admin)


def test_a_superuser_sees_and_manages_everything(org):
    root = _fresh(UserFactory(unit=None, is_superuser=True))
    scope = selectors.scope_for(root)
    assert (scope.view, scope.manage, scope.is_global) == (None, None, True)
    assert _codes(selectors.units_in_scope(root, access="manage")) == _codes(OrgUnit.objects.all())
    assert selectors.people_in_scope(root).count() == User.objects.count()
    assert selectors.can_manage_person(root, org.p.west)


@pytest.mark.parametrize("kind", ["inactive", "anonymous"])
def test_inactive_and_anonymous_users_get_an_empty_scope(org, kind):
    if kind == "anonymous":
        user = AnonymousUser()
    else:
        user = _granted(org.u.city)
        user.is_active = False
    scope = selectors.scope_for(user)
    assert (scope.view, scope.manage, scope.roles) == ((), (), frozenset())
    assert not selectors.people_in_scope(user, access="manage").exists()
    if kind == "anonymous":
        assert not selectors.units_in_scope(user).exists()
        assert not selectors.people_in_scope(user).exists()


# --- subtree coverage ------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.UNIT_ADMIN, Role.MANAGER, Role.CLASS_TEACHER])
def test_a_grant_covers_the_whole_subtree_and_nothing_else(org, role):
    user = _granted(org.u.east, role, home=org.u.east)
    assert _codes(selectors.units_in_scope(user)) == {"E", "E1", "E1S", "E2"}
    assert _names(selectors.people_in_scope(user)) == {"east", "donghua", "section", "jingshan", user.name}
    for inside in (org.p.east, org.p.section, org.p.jingshan):
        assert selectors.can_view_person(user, inside)
    for outside in (org.p.city, org.p.west):
        assert not selectors.can_view_person(user, outside)
    assert not selectors.can_view_unit(user, org.u.west)
    assert not selectors.can_view_unit(user, org.u.city)
    assert selectors.can_manage_unit(user, org.u.section) is (role == Role.UNIT_ADMIN)


def test_manage_scope_of_a_unit_admin_is_the_granted_subtree(org):
    admin = _granted(org.u.donghua, home=org.u.city)
    assert _codes(selectors.units_in_scope(admin, access="manage")) == {"E1", "E1S"}
    assert _names(selectors.people_in_scope(admin, access="manage")) == {"donghua", "section"}
    # …while viewing, they also see themselves and their own unit
    assert _codes(selectors.units_in_scope(admin)) == {"CITY", "E1", "E1S"}
    assert admin in selectors.people_in_scope(admin)
    assert not selectors.can_manage_person(admin, org.p.jingshan)
    assert not selectors.can_manage_unit(admin, org.u.east)


def test_a_grant_on_a_sibling_subtree_covers_nothing_here(org):
    west_admin = _granted(org.u.west)
    assert not selectors.can_view_unit(west_admin, org.u.east)
    assert not selectors.can_manage_person(west_admin, org.p.donghua)
    assert "donghua" not in _names(selectors.people_in_scope(west_admin))


def test_a_person_without_grants_sees_only_themselves_and_their_unit(org):
    learner = _fresh(org.p.donghua)
    assert _codes(selectors.units_in_scope(learner)) == {"E1"}
    assert list(selectors.people_in_scope(learner)) == [learner]
    assert not selectors.units_in_scope(learner, access="manage").exists()
    assert selectors.can_view_person(learner, learner)
    assert not selectors.can_view_person(learner, org.p.section)
    assert selectors.can_view_unit(learner, org.u.donghua)
    assert not selectors.can_view_unit(learner, org.u.section)


# --- admins_of_unit ----------------------------------------------------------------------


def test_admins_of_unit_finds_active_unit_admins_on_the_unit_and_its_ancestors(org):
    on_unit = _granted(org.u.donghua)
    on_ancestor = _granted(org.u.city)
    twice = _granted(org.u.east)
    RoleGrantFactory(user=twice, unit=org.u.city, role=Role.UNIT_ADMIN)
    _granted(org.u.section)  # below: does not cover 东华门街道
    _granted(org.u.jingshan)  # sibling
    _granted(org.u.east, Role.MANAGER)  # not an admin
    gone = _granted(org.u.city)
    gone.is_active = False
    gone.save()
    admins = list(selectors.admins_of_unit(org.u.donghua))
    assert sorted(a.pk for a in admins) == sorted([on_unit.pk, on_ancestor.pk, twice.pk])


# --- feedback_visible_to -------------------------------------------------------------------


def test_feedback_is_visible_to_its_author_and_to_admins_of_its_unit(org):
    from_section = FeedbackFactory(author=org.p.section)
    from_west = FeedbackFactory(author=org.p.west)
    from_east = FeedbackFactory(author=org.p.east)

    def visible(user):
        return set(selectors.feedback_visible_to(_fresh(user)).values_list("pk", flat=True))

    assert visible(org.p.section) == {from_section.pk}
    assert visible(_granted(org.u.east)) == {from_section.pk, from_east.pk}
    assert visible(_granted(org.u.donghua)) == {from_section.pk}
    assert visible(_granted(org.u.west)) == {from_west.pk}
    assert visible(_granted(org.u.east, Role.MANAGER)) == set()
    assert visible(UserFactory(unit=None, is_superuser=True)) == {from_section.pk, from_west.pk, from_east.pk}


def test_feedback_stays_with_the_unit_it_was_sent_from(org):
    feedback = FeedbackFactory(author=org.p.section)
    person = org.p.section
    person.unit = org.u.west
    person.save()
    assert feedback.pk in selectors.feedback_visible_to(_granted(org.u.donghua)).values_list("pk", flat=True)
    assert feedback.pk not in selectors.feedback_visible_to(_granted(org.u.west)).values_list("pk", flat=True)


# --- names, trees, searches, counts -------------------------------------------------------------


def test_unit_full_names_join_the_ancestors_names(org):
    names = selectors.unit_full_names()
    assert names[org.u.section.pk] == "市/东城区/东华门街道/综合科"
    assert names[org.u.city.pk] == "市"
    assert selectors.unit_full_names(OrgUnit.objects.filter(code="W")) == {org.u.west.pk: "市/西城区"}
    assert selectors.unit_full_name(org.u.section) == "市/东城区/东华门街道/综合科"


def test_unit_tree_with_counts_counts_active_members_in_tree_order(org):
    UserFactory.create_batch(2, unit=org.u.donghua)
    UserFactory(unit=org.u.donghua, is_active=False)
    tree = selectors.unit_tree_with_counts(_granted(org.u.east, home=org.u.city))
    assert [(u.code, u.member_count) for u in tree] == [
        ("CITY", 2), ("E", 1), ("E1", 3), ("E1S", 1), ("E2", 1),
    ]


def test_search_people_matches_name_or_number_within_scope(org):
    admin = _granted(org.u.east, home=org.u.city)
    UserFactory(unit=org.u.section, name="王小明", employee_no="A100")
    UserFactory(unit=org.u.west, name="王大明", employee_no="A200")
    UserFactory(unit=org.u.jingshan, name="赵六", employee_no="B300", is_active=False)
    assert _names(selectors.search_people(admin, text=" 王 ")) == {"王小明"}
    assert _names(selectors.search_people(admin, text="B3")) == {"赵六"}
    assert _names(selectors.search_people(admin, text="B3", active=True)) == set()
    assert _names(selectors.search_people(admin, unit=org.u.donghua)) == {"donghua", "section", "王小明"}


def test_scope_summary_counts_the_subtree(org):
    UserFactory(unit=org.u.section, is_active=False)
    admin = _granted(org.u.east, home=org.u.city)
    FeedbackFactory(author=org.p.section)
    FeedbackFactory(author=org.p.donghua, status=Feedback.Status.ANSWERED, reply="好", replied_at=timezone.now())
    FeedbackFactory(author=org.p.west)
    assert selectors.scope_summary(admin) == selectors.ScopeSummary(
        units=4, people=5, active_people=4, open_feedback=1
    )


def test_unread_notifications_count_and_list_only_the_users_own(org):
    me = org.p.east
    NotificationFactory.create_batch(2, recipient=me)
    NotificationFactory(recipient=org.p.west)
    assert selectors.unread_notification_count(me) == 2
    assert selectors.notifications_for(me).count() == 2
