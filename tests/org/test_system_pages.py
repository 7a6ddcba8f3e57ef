"""System-admin pages: organisation tree, cadre levels, role grants.

Only a system admin may use them; every other role gets 403 whether the object lies
inside or outside its grant's subtree. Bad input is shown on the field it concerns and
changes nothing.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from org import selectors
from org.models import CadreLevel, OrgUnit, Role, RoleGrant, User
from tests.factories import CadreLevelFactory, OrgUnitFactory, RoleGrantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    """市 → 东城区 → 东华门街道, and 市 → 西城区; a system admin working at the city."""
    city = OrgUnitFactory(code="CITY", name="市")
    district = OrgUnitFactory(parent=city, code="D1", name="东城区")
    township = OrgUnitFactory(parent=district, code="D1T1", name="东华门街道")
    other = OrgUnitFactory(parent=city, code="D2", name="西城区")
    admin = UserFactory(unit=city, employee_no="SYS", name="系统管理员", is_superuser=True)
    return SimpleNamespace(city=city, district=district, township=township, other=other, admin=admin)


def _client(user: User | None = None) -> Client:
    client = Client(headers={"accept-language": "en"})
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def admin_client(org) -> Client:
    return _client(org.admin)


def _paths() -> dict[str, str]:
    return dict(OrgUnit.objects.values_list("code", "path"))


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


# --- Who may open the pages -------------------------------------------------------------

ROLES = ["learner", Role.UNIT_ADMIN, Role.MANAGER, Role.CLASS_TEACHER]


def _person_with_role(org, role: str) -> User:
    """Someone working in the district; unless a learner, holding `role` on the district."""
    person = UserFactory(unit=org.district)
    if role != "learner":
        RoleGrantFactory(user=person, unit=org.district, role=role)
    return person


def _get_urls(target: OrgUnit, grant: RoleGrant, level: CadreLevel) -> list[str]:
    return [
        reverse("org:manage_units"),
        reverse("org:unit_new"),
        reverse("org:unit_new_child", args=[target.pk]),
        reverse("org:unit_edit", args=[target.pk]),
        reverse("org:unit_move", args=[target.pk]),
        reverse("org:cadre_levels"),
        reverse("org:cadre_level_new"),
        reverse("org:cadre_level_edit", args=[level.pk]),
        reverse("org:grants"),
        reverse("org:grant_new"),
        reverse("org:grant_revoke", args=[grant.pk]),
        reverse("org:person_search") + "?person=E",
    ]


@pytest.mark.parametrize("where", ["inside", "outside"])
@pytest.mark.parametrize("role", ROLES)
def test_every_system_page_is_403_for_anyone_but_a_system_admin(org, role, where):
    person = _person_with_role(org, role)
    target = org.township if where == "inside" else org.other
    grant = RoleGrantFactory(user=UserFactory(unit=target), unit=target)
    level = CadreLevelFactory()
    client = _client(person)
    for url in _get_urls(target, grant, level):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("where", ["inside", "outside"])
@pytest.mark.parametrize("role", ROLES)
def test_posts_by_anyone_but_a_system_admin_are_403_and_change_nothing(org, role, where):
    person = _person_with_role(org, role)
    target = org.township if where == "inside" else org.other
    grant = RoleGrantFactory(user=UserFactory(unit=target), unit=target)
    level = CadreLevelFactory(code="KJ", name="科级")
    paths_before = _paths()
    grants_before = set(RoleGrant.objects.values_list("pk", "user_id", "unit_id", "role"))
    client = _client(person)
    unit_data = {"code": "NEW", "name": "新单位", "kind": "", "sort_order": 0}
    posts = [
        (reverse("org:unit_new"), unit_data),
        (reverse("org:unit_new_child", args=[target.pk]), unit_data),
        (reverse("org:unit_edit", args=[target.pk]), {**unit_data, "is_active": "on"}),
        (reverse("org:unit_move", args=[target.pk]), {"parent": ""}),
        (reverse("org:cadre_level_new"), {"code": "CJ", "name": "处级", "sort_order": 0}),
        (reverse("org:cadre_level_edit", args=[level.pk]), {"code": "X", "name": "改", "sort_order": 0}),
        (reverse("org:grant_new"), {"person": person.employee_no, "unit": target.pk, "role": "unit_admin"}),
        (reverse("org:grant_revoke", args=[grant.pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert _paths() == paths_before
    assert list(CadreLevel.objects.values_list("code", "name")) == [("KJ", "科级")]
    assert set(RoleGrant.objects.values_list("pk", "user_id", "unit_id", "role")) == grants_before


def test_anonymous_visitors_are_sent_to_the_login_page(org):
    response = Client().get(reverse("org:manage_units"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_system_admin_opens_every_page(org, admin_client):
    grant = RoleGrantFactory(user=UserFactory(unit=org.other), unit=org.other)
    for url in _get_urls(org.township, grant, CadreLevelFactory()):
        assert admin_client.get(url).status_code == 200, url


def test_unknown_objects_are_404(admin_client):
    for name in ("unit_edit", "unit_move", "unit_new_child", "cadre_level_edit", "grant_revoke"):
        key = "parent_pk" if name == "unit_new_child" else "pk"
        assert admin_client.get(reverse(f"org:{name}", kwargs={key: 99999})).status_code == 404


def test_the_system_menu_shows_only_for_system_admins(org, admin_client):
    assert reverse("org:manage_units") in admin_client.get(reverse("home")).content.decode()
    unit_admin = _person_with_role(org, Role.UNIT_ADMIN)
    assert reverse("org:manage_units") not in _client(unit_admin).get(reverse("home")).content.decode()


# --- Organisation tree ---------------------------------------------------------------------


def test_tree_lists_every_unit_in_tree_order_with_indent_and_member_counts(org, admin_client):
    UserFactory.create_batch(2, unit=org.township)
    UserFactory(unit=org.township, is_active=False)
    UserFactory(unit=org.district)
    UserFactory(unit=org.other)
    response = admin_client.get(reverse("org:manage_units"))
    rows = {r["unit"].code: r for r in response.context["rows"]}
    assert [r["unit"].code for r in response.context["rows"]] == ["CITY", "D1", "D1T1", "D2"]
    assert {code: r["indent"] for code, r in rows.items()} == {"CITY": 0, "D1": 1, "D1T1": 2, "D2": 1}
    # own active members / active members in the whole subtree (the admin works at the city)
    assert (rows["D1T1"]["unit"].member_count, rows["D1T1"]["subtree_count"]) == (2, 2)
    assert (rows["D1"]["unit"].member_count, rows["D1"]["subtree_count"]) == (1, 3)
    assert (rows["CITY"]["unit"].member_count, rows["CITY"]["subtree_count"]) == (1, 5)
    html = response.content.decode()
    assert f'id="unit-{org.township.pk}"' in html
    assert reverse("org:unit_move", args=[org.township.pk]) in html
    assert reverse("org:unit_new_child", args=[org.township.pk]) in html


def test_tree_page_queries_do_not_grow_with_the_number_of_units(org, admin_client):
    few = _queries(admin_client, reverse("org:manage_units"))
    for i in range(12):
        unit = OrgUnitFactory(parent=org.other if i % 2 else org.township)
        UserFactory(unit=unit)
    assert OrgUnit.objects.count() == 16
    assert _queries(admin_client, reverse("org:manage_units")) == few


def _bulk_tree(districts: int, townships: int, *, root: int = 1) -> None:
    """A city with `districts` districts of `townships` townships, in one insert."""
    root_path = OrgUnit._get_path(None, 1, root)
    units = [OrgUnit(code=f"C{root}", name=f"市{root}", path=root_path, depth=1, numchild=districts)]
    for d in range(1, districts + 1):
        district_path = OrgUnit._get_path(root_path, 2, d)
        units.append(
            OrgUnit(code=f"C{root}-{d}", name=f"区{d}", path=district_path, depth=2, numchild=townships)
        )
        units += [
            OrgUnit(
                code=f"C{root}-{d}-{t}",
                name=f"街道{t}",
                path=OrgUnit._get_path(district_path, 3, t),
                depth=3,
            )
            for t in range(1, townships + 1)
        ]
    OrgUnit.objects.bulk_create(units)


def test_a_tree_of_two_thousand_units_renders_fast_with_the_same_queries():
    client = _client(UserFactory(is_superuser=True, unit=None))
    _bulk_tree(2, 1, root=1)
    few = _queries(client, reverse("org:manage_units"))
    _bulk_tree(40, 49, root=2)
    assert OrgUnit.objects.count() == 2006
    started = time.perf_counter()
    assert _queries(client, reverse("org:manage_units")) == few
    # ~0.4 s on the 2-core CI machine; the bound only catches a per-unit query or worse.
    assert time.perf_counter() - started < 5


def test_big_trees_open_folded_and_small_ones_open_in_full(admin_client):
    assert admin_client.get(reverse("org:manage_units")).context["collapse_from_depth"] == 0
    _bulk_tree(8, 8, root=2)
    assert admin_client.get(reverse("org:manage_units")).context["collapse_from_depth"] == 2


def test_add_a_top_level_unit(admin_client):
    response = admin_client.post(
        reverse("org:unit_new"), {"code": "PROV", "name": "省直", "kind": "省", "sort_order": 5}
    )
    unit = OrgUnit.objects.get(code="PROV")
    assert response.status_code == 302
    assert response.url == f"{reverse('org:manage_units')}#unit-{unit.pk}"
    assert (unit.depth, unit.name, unit.kind, unit.sort_order, unit.is_active) == (1, "省直", "省", 5, True)


def test_add_a_unit_under_another(org, admin_client):
    admin_client.post(
        reverse("org:unit_new_child", args=[org.township.pk]),
        {"code": "D1T1S1", "name": "综合科", "kind": "科室", "sort_order": 0},
    )
    unit = OrgUnit.objects.get(code="D1T1S1")
    assert OrgUnit.objects.get_parent(unit) == org.township
    assert unit.depth == 4


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"code": "D2", "name": "新单位"}, "code", "The code “D2” is already used by another unit."),
        ({"code": "NEW", "name": "   "}, "name", "This field is required."),
        ({"code": "", "name": "新单位"}, "code", "This field is required."),
        ({"code": "NEW", "name": "东城/区"}, "name", "cannot contain “/”"),
        ({"code": "NEW", "name": "东华门街道"}, "name", "There is already a unit called “东华门街道” here."),
        ({"code": "X" * 33, "name": "新单位"}, "code", "at most 32 characters"),
        ({"code": "NEW", "name": "新单位", "sort_order": -1}, "sort_order", "greater than or equal to 0"),
    ],
)
def test_bad_new_unit_is_refused_on_its_field_and_nothing_is_written(org, admin_client, data, field, message):
    before = _paths()
    response = admin_client.post(
        reverse("org:unit_new_child", args=[org.district.pk]), {"kind": "", "sort_order": 0, **data}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert any(message in e for e in errors[field])
    assert message in response.content.decode()
    assert _paths() == before


def test_edit_a_unit(org, admin_client):
    response = admin_client.post(
        reverse("org:unit_edit", args=[org.other.pk]),
        {"code": "D2X", "name": "西城区（新）", "kind": "区", "sort_order": 3, "is_active": "on"},
    )
    assert response.status_code == 302
    org.other.refresh_from_db()
    assert (org.other.code, org.other.name, org.other.kind, org.other.sort_order) == ("D2X", "西城区（新）", "区", 3)


def test_a_new_sort_order_reorders_the_tree(org, admin_client):
    assert [r["unit"].code for r in admin_client.get(reverse("org:manage_units")).context["rows"]] == [
        "CITY", "D1", "D1T1", "D2",
    ]
    admin_client.post(
        reverse("org:unit_edit", args=[org.district.pk]),
        {"code": "D1", "name": "东城区", "sort_order": 9, "is_active": "on"},
    )
    assert [r["unit"].code for r in admin_client.get(reverse("org:manage_units")).context["rows"]] == [
        "CITY", "D2", "D1", "D1T1",
    ]


def test_deactivating_a_unit_with_active_members_is_refused_on_the_active_field(org, admin_client):
    UserFactory(unit=org.other)
    response = admin_client.post(
        reverse("org:unit_edit", args=[org.other.pk]), {"code": "D2", "name": "西城区", "sort_order": 0}
    )
    assert list(response.context["form"].errors) == ["is_active"]
    org.other.refresh_from_db()
    assert org.other.is_active


def test_bad_unit_edit_changes_nothing(org, admin_client):
    response = admin_client.post(
        reverse("org:unit_edit", args=[org.other.pk]),
        {"code": "D1", "name": "新/名", "sort_order": 0, "is_active": "on"},
    )
    assert set(response.context["form"].errors) == {"code", "name"}
    org.other.refresh_from_db()
    assert (org.other.code, org.other.name) == ("D2", "西城区")
    assert "西城区" in response.content.decode()  # the page still shows the saved name


def test_move_a_unit_with_its_subtree(org, admin_client):
    response = admin_client.post(reverse("org:unit_move", args=[org.district.pk]), {"parent": org.other.pk})
    assert response.status_code == 302
    district = OrgUnit.objects.get(pk=org.district.pk)
    township = OrgUnit.objects.get(pk=org.township.pk)
    assert OrgUnit.objects.get_parent(district) == org.other
    assert OrgUnit.objects.get_parent(township) == district
    assert (district.depth, township.depth) == (3, 4)
    assert selectors.unit_full_name(township) == "市/西城区/东城区/东华门街道"


def test_move_a_unit_to_the_top_level(org, admin_client):
    admin_client.post(reverse("org:unit_move", args=[org.district.pk]), {"parent": ""})
    district = OrgUnit.objects.get(pk=org.district.pk)
    assert district.depth == 1
    assert OrgUnit.objects.get(pk=org.township.pk).depth == 2


@pytest.mark.parametrize("into", ["itself", "child"])
def test_moving_a_unit_into_its_own_subtree_is_refused_and_changes_nothing(org, admin_client, into):
    before = _paths()
    target = org.district if into == "itself" else org.township
    response = admin_client.post(reverse("org:unit_move", args=[org.district.pk]), {"parent": target.pk})
    assert response.status_code == 200
    assert response.context["form"].errors == {"parent": ["A unit cannot be moved inside its own subtree."]}
    assert "A unit cannot be moved inside its own subtree." in response.content.decode()
    assert _paths() == before


def test_moving_next_to_a_unit_of_the_same_name_is_refused(org, admin_client):
    OrgUnitFactory(parent=org.other, code="D2X", name="东城区")
    before = _paths()
    response = admin_client.post(reverse("org:unit_move", args=[org.district.pk]), {"parent": org.other.pk})
    assert list(response.context["form"].errors) == ["parent"]
    assert _paths() == before


def test_moving_under_an_unknown_unit_is_refused(org, admin_client):
    before = _paths()
    response = admin_client.post(reverse("org:unit_move", args=[org.district.pk]), {"parent": 99999})
    assert list(response.context["form"].errors) == ["parent"]
    assert _paths() == before


def test_unit_pickers_show_full_paths(org, admin_client):
    html = admin_client.get(reverse("org:unit_move", args=[org.township.pk])).content.decode()
    assert f'<option value="{org.township.pk}" selected>' not in html
    assert f'<option value="{org.district.pk}" selected>市/东城区 · D1</option>' in html
    assert "市/东城区/东华门街道 · D1T1" in html


# --- Cadre levels ------------------------------------------------------------------------


def test_cadre_levels_list_in_order_with_member_counts(org, admin_client):
    cj = CadreLevelFactory(code="CJ", name="处级", sort_order=1)
    kj = CadreLevelFactory(code="KJ", name="科级", sort_order=2)
    UserFactory.create_batch(2, unit=org.district, cadre_level=kj)
    UserFactory(unit=org.district, cadre_level=kj, is_active=False)
    levels = list(admin_client.get(reverse("org:cadre_levels")).context["levels"])
    assert [(lv.name, lv.member_count) for lv in levels] == [("处级", 0), ("科级", 2)]
    assert cj.pk in [lv.pk for lv in levels]


def test_cadre_level_list_queries_do_not_grow(org, admin_client):
    CadreLevelFactory.create_batch(3)
    few = _queries(admin_client, reverse("org:cadre_levels"))
    for level in CadreLevelFactory.create_batch(12):
        UserFactory(unit=org.district, cadre_level=level)
    assert _queries(admin_client, reverse("org:cadre_levels")) == few


def test_add_and_edit_a_cadre_level(admin_client):
    response = admin_client.post(reverse("org:cadre_level_new"), {"code": "CJ", "name": "处级", "sort_order": 1})
    assert response.status_code == 302
    level = CadreLevel.objects.get(code="CJ")
    admin_client.post(
        reverse("org:cadre_level_edit", args=[level.pk]), {"code": "CJ", "name": "处级干部", "sort_order": 2}
    )
    level.refresh_from_db()
    assert (level.name, level.sort_order) == ("处级干部", 2)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"code": "KJ", "name": "新级别"}, "code"),
        ({"code": "NEW", "name": "科级"}, "name"),
        ({"code": "NEW", "name": " "}, "name"),
        ({"code": "", "name": "新级别"}, "code"),
    ],
)
def test_bad_cadre_level_is_refused_on_its_field_and_nothing_is_written(admin_client, data, field):
    CadreLevelFactory(code="KJ", name="科级")
    edited = CadreLevelFactory(code="CJ", name="处级")
    before = list(CadreLevel.objects.values_list("pk", "code", "name"))
    for url in (reverse("org:cadre_level_new"), reverse("org:cadre_level_edit", args=[edited.pk])):
        response = admin_client.post(url, {"sort_order": 0, **data})
        assert response.status_code == 200
        assert list(response.context["form"].errors) == [field]
    assert list(CadreLevel.objects.values_list("pk", "code", "name")) == before


# --- Role grants -------------------------------------------------------------------------


def test_grant_list_shows_person_role_and_unit_path(org, admin_client):
    person = UserFactory(unit=org.township, name="张三", employee_no="1001")
    RoleGrantFactory(user=person, unit=org.district, role=Role.MANAGER, granted_by=org.admin)
    response = admin_client.get(reverse("org:grants"))
    (grant,) = response.context["page"]
    assert (grant.unit_full_name, grant.person_unit_full_name) == ("市/东城区", "市/东城区/东华门街道")
    html = response.content.decode()
    assert "张三" in html
    assert "1001" in html
    assert reverse("org:grant_revoke", args=[grant.pk]) in html


def test_grant_list_filters_by_role_unit_subtree_and_person(org, admin_client):
    zhang = UserFactory(unit=org.district, name="张三", employee_no="1001")
    li = UserFactory(unit=org.other, name="李四", employee_no="2002")
    g1 = RoleGrantFactory(user=zhang, unit=org.township, role=Role.UNIT_ADMIN)
    g2 = RoleGrantFactory(user=zhang, unit=org.district, role=Role.MANAGER)
    g3 = RoleGrantFactory(user=li, unit=org.other, role=Role.CLASS_TEACHER)

    def listed(**params):
        return {g.pk for g in admin_client.get(reverse("org:grants"), params).context["page"]}

    assert listed() == {g1.pk, g2.pk, g3.pk}
    assert listed(role="manager") == {g2.pk}
    assert listed(unit=org.district.pk) == {g1.pk, g2.pk}
    assert listed(unit=org.township.pk) == {g1.pk}
    assert listed(q="李") == {g3.pk}
    assert listed(q="1001") == {g1.pk, g2.pk}
    assert listed(q="张", role="unit_admin") == {g1.pk}


def test_a_bad_grant_filter_is_shown_and_the_others_still_apply(org, admin_client):
    RoleGrantFactory(user=UserFactory(unit=org.district), unit=org.district, role=Role.MANAGER)
    RoleGrantFactory(user=UserFactory(unit=org.district), unit=org.district, role=Role.UNIT_ADMIN)
    response = admin_client.get(reverse("org:grants"), {"unit": "nonsense", "role": "manager"})
    assert response.status_code == 200
    assert "unit" in response.context["form"].errors
    assert [g.role for g in response.context["page"]] == ["manager"]


def test_grant_list_queries_do_not_grow_with_the_number_of_grants(org, admin_client):
    for _ in range(3):
        RoleGrantFactory(user=UserFactory(unit=org.township), unit=org.district, granted_by=org.admin)
    few = _queries(admin_client, reverse("org:grants"))
    for i in range(12):
        unit = OrgUnitFactory(parent=org.other)
        RoleGrantFactory(user=UserFactory(unit=unit), unit=unit, role=Role.values[i % 3], granted_by=org.admin)
    assert len(admin_client.get(reverse("org:grants")).context["page"]) == 15
    with_15 = _queries(admin_client, reverse("org:grants"))
    assert with_15 == few


def test_grant_a_role_by_employee_number(org, admin_client):
    person = UserFactory(unit=org.township, employee_no="1001")
    response = admin_client.post(
        reverse("org:grant_new"), {"person": " 1001 ", "unit": org.district.pk, "role": "unit_admin"}
    )
    assert response.status_code == 302
    grant = RoleGrant.objects.get()
    assert (grant.user, grant.unit, grant.role, grant.granted_by) == (person, org.district, "unit_admin", org.admin)
    fresh = User.objects.get(pk=person.pk)
    assert selectors.can_manage_unit(fresh, org.township)
    assert not selectors.can_manage_unit(fresh, org.other)


def test_the_grant_form_can_be_prefilled_with_a_unit(org, admin_client):
    response = admin_client.get(reverse("org:grant_new"), {"unit": org.district.pk})
    assert f'<option value="{org.district.pk}" selected>' in response.content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"person": "NOBODY", "role": "unit_admin"}, "person", "Nobody has the employee number “NOBODY”."),
        ({"person": "INACTIVE", "role": "unit_admin"}, "person", "An inactive person cannot be given a role."),
        ({"person": "1001", "role": "emperor"}, "role", "Select a valid choice."),
        ({"person": "", "role": "manager"}, "person", "This field is required."),
    ],
)
def test_bad_grant_is_refused_on_its_field_and_nothing_is_written(org, admin_client, data, field, message):
    UserFactory(unit=org.district, employee_no="1001")
    UserFactory(unit=org.district, employee_no="INACTIVE", is_active=False)
    response = admin_client.post(reverse("org:grant_new"), {"unit": org.district.pk, **data})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert any(message in e for e in errors[field])
    assert not RoleGrant.objects.exists()


def test_a_grant_needs_a_known_unit(org, admin_client):
    UserFactory(unit=org.district, employee_no="1001")
    response = admin_client.post(reverse("org:grant_new"), {"person": "1001", "unit": 99999, "role": "manager"})
    assert list(response.context["form"].errors) == ["unit"]
    assert not RoleGrant.objects.exists()


def test_revoking_asks_first_and_only_a_post_revokes(org, admin_client):
    person = UserFactory(unit=org.district)
    grant = RoleGrantFactory(user=person, unit=org.district)
    kept = RoleGrantFactory(user=person, unit=org.other, role=Role.MANAGER)
    url = reverse("org:grant_revoke", args=[grant.pk])
    page = admin_client.get(url)
    assert "市/东城区" in page.content.decode()
    assert RoleGrant.objects.filter(pk=grant.pk).exists()
    response = admin_client.post(url)
    assert response.status_code == 302
    assert list(RoleGrant.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not selectors.can_manage_unit(User.objects.get(pk=person.pk), org.district)
    assert admin_client.post(url).status_code == 404


def test_person_search_finds_active_people_by_name_or_number(org, admin_client):
    UserFactory(unit=org.township, name="王小明", employee_no="3001")
    UserFactory(unit=org.other, name="王大明", employee_no="3002", is_active=False)
    UserFactory(unit=org.other, name="赵六", employee_no="4001")
    url = reverse("org:person_search")
    by_name = admin_client.get(url, {"person": "小明"})
    assert [p.employee_no for p in by_name.context["people"]] == ["3001"]
    assert "市/东城区/东华门街道" in by_name.content.decode()
    assert 'data-employee-no="3001"' in by_name.content.decode()
    assert [p.employee_no for p in admin_client.get(url, {"person": "王"}).context["people"]] == ["3001"]
    assert [p.employee_no for p in admin_client.get(url, {"q": "400"}).context["people"]] == ["4001"]
    assert "No active person matches" in admin_client.get(url, {"person": "钱"}).content.decode()
    assert admin_client.get(url).context["people"] == []


def test_person_search_is_capped_and_says_so(org, admin_client):
    UserFactory.create_batch(12, unit=org.district, name="同名")
    response = admin_client.get(reverse("org:person_search"), {"person": "同名"})
    assert len(response.context["people"]) == 10
    assert response.context["more"]
    assert _queries(admin_client, reverse("org:person_search") + "?person=同名") <= 8
