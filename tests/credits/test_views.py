"""Credits pages: what each role sees inside and outside its scope, forms, query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from credits.models import CreditEntry, Requirement, SourceRule
from tests.credits.conftest import ROLES, local
from tests.factories import RankingPolicyFactory, UserFactory

pytestmark = pytest.mark.django_db


def login(client, person):
    client.force_login(person)
    return client


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- Home panel and my ledger ---------------------------------------------------------------


def test_home_shows_credits_vs_requirement_ranks_and_latest_causes(client, cast, award):
    Requirement.objects.create(cadre_level=None, year=local(2025, 1, 1).year, points=Decimal("40"))
    from django.utils import timezone

    award(cast.learner, "2", when=timezone.now(), label="课程：《公文写作规范与技巧》")
    award(cast.inside, "5", when=timezone.now())

    response = login(client, cast.learner).get(reverse("home"))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="credits-total">2.00<' in html
    assert "课程：《公文写作规范与技巧》" in html
    assert 'data-testid="rank-org">2<' in html
    assert 'data-testid="rank-unit">1<' in html
    assert cast.inside.name in html  # among the top learners
    assert reverse("credits:my") in html


def test_home_hides_ranks_when_the_organisation_switched_them_off(client, cast, award):
    from django.utils import timezone

    RankingPolicyFactory(root=cast.tree.city, visibility="off")
    award(cast.inside, "5", when=timezone.now())
    html = login(client, cast.learner).get(reverse("home")).content.decode()
    assert 'data-testid="rank-org"' not in html
    assert cast.inside.name not in html


def test_my_ledger_shows_causes_and_who_adjusted_why(client, cast, award, committed):
    from credits import services

    award(cast.learner, "1", when=local(2025, 3, 1, 9), label="下午微课堂：档案整理业务规范", kind="attendance")
    committed(services.credit_adjust, person=cast.learner, points="2", reason="补录线下培训", actor=cast.unit_admin)
    year = CreditEntry.objects.filter(source_kind="adjustment").get().occurred_at.year

    html = login(client, cast.learner).get(reverse("credits:my") + "?year=2025").content.decode()
    assert "下午微课堂：档案整理业务规范" in html
    html = client.get(reverse("credits:my") + f"?year={year}").content.decode()
    assert "补录线下培训" in html and cast.unit_admin.name in html


def test_my_ledger_pages_without_n_plus_one(client, cast, award, committed):
    from credits import services

    def entries(n: int, offset: int) -> None:
        for i in range(n):
            e = award(cast.learner, "1", when=local(2025, 3, 1 + (offset + i) % 28, 9))
            if i % 3 == 0:
                committed(services.credit_reverse, entry=e, actor=cast.unit_admin, reason="更正")

    login(client, cast.learner)
    url = reverse("credits:my") + "?year=2025"
    entries(3, 0)
    small = queries_of(client, url)
    entries(12, 3)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    assert len(ctx.captured_queries) <= small


@pytest.mark.parametrize("role", ROLES)
def test_person_ledger_is_visible_inside_scope_only(client, cast, role):
    viewer = cast.role(role)
    login(client, viewer)
    inside = client.get(reverse("credits:person", args=[cast.inside.pk]))
    outside = client.get(reverse("credits:person", args=[cast.outside.pk]))
    assert inside.status_code == (404 if role == "learner" else 200)
    assert outside.status_code == (200 if role == "system_admin" else 404)


# --- Reversal ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_in_scope_reverse_entries(client, cast, award, role):
    inside = award(cast.inside, "2", when=local(2025, 3, 1, 9))
    outside = award(cast.outside, "2", when=local(2025, 3, 1, 9))
    login(client, cast.role(role))
    can_inside = role in ("unit_admin", "system_admin")
    can_outside = role == "system_admin"
    assert client.get(reverse("credits:reverse", args=[inside.pk])).status_code == (200 if can_inside else 404)
    assert client.get(reverse("credits:reverse", args=[outside.pk])).status_code == (200 if can_outside else 404)
    response = client.post(reverse("credits:reverse", args=[outside.pk]), {"reason": "更正"})
    assert (response.status_code == 302) == can_outside
    assert CreditEntry.objects.filter(reverses=outside).exists() == can_outside


def test_reversal_form_needs_a_reason_and_changes_nothing_without_it(client, cast, award):
    entry = award(cast.inside, "2", when=local(2025, 3, 1, 9))
    response = login(client, cast.unit_admin).post(reverse("credits:reverse", args=[entry.pk]), {"reason": " "})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode() or "reason" in response.content.decode()
    assert CreditEntry.objects.count() == 1


# --- Rankings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_rankings_page_for_every_role_and_scope(client, cast, award, role):
    award(cast.inside, "3", when=local(2025, 3, 1, 9))
    login(client, cast.role(role))
    own = client.get(reverse("credits:rankings") + "?period=2025")
    assert own.status_code == 200
    assert cast.inside.name in own.content.decode()
    foreign = client.get(reverse("credits:rankings") + f"?period=2025&unit={cast.tree.township_b1.pk}")
    assert foreign.status_code == (200 if role == "system_admin" else 404)


def test_rankings_page_explains_a_bad_period(client, cast):
    response = login(client, cast.learner).get(reverse("credits:rankings") + "?period=2025-13")
    assert response.status_code == 200
    assert "01 to 12" in response.content.decode()


@pytest.mark.parametrize("kind", ["people", "units"])
def test_rankings_page_without_n_plus_one(client, cast, award, kind):
    RankingPolicyFactory(root=cast.tree.city, visibility="full")
    login(client, cast.learner)
    url = reverse("credits:rankings") + f"?period=2025&kind={kind}"

    def people(n: int) -> None:
        for _ in range(n):
            person = UserFactory(unit=cast.tree.township_a1 if kind == "people" else None)
            if kind == "units":
                from tests.factories import OrgUnitFactory

                person.unit = OrgUnitFactory(parent=cast.tree.district_b)
                person.save()
            award(person, "2", when=local(2025, 3, 1, 9))

    people(3)
    small = queries_of(client, url)
    people(12)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    assert len(ctx.captured_queries) <= small


# --- Compliance ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_compliance_is_for_admins_and_managers_in_scope(client, cast, role):
    login(client, cast.role(role))
    response = client.get(reverse("credits:compliance"))
    assert response.status_code == (403 if role == "learner" else 200)
    inside = client.get(reverse("credits:compliance_unit", args=[cast.tree.township_a1.pk]))
    outside = client.get(reverse("credits:compliance_unit", args=[cast.tree.township_b1.pk]))
    assert inside.status_code == (404 if role == "learner" else 200)
    assert outside.status_code == (200 if role == "system_admin" else 404)


def test_compliance_lists_units_behind_with_people_behind(client, cast, award):
    Requirement.objects.create(cadre_level=None, year=2025, points=Decimal("4"))
    award(cast.learner, "5", when=local(2025, 3, 1, 9))
    UserFactory(unit=cast.tree.township_a1, name="落后者")
    award(cast.outside, "5", when=local(2025, 3, 1, 9))  # outside the manager's scope

    login(client, cast.manager)
    html = client.get(reverse("credits:compliance") + "?year=2025").content.decode()
    assert "东一街道" in html and "西一街道" not in html
    detail = client.get(reverse("credits:compliance_unit", args=[cast.tree.township_a1.pk]) + "?year=2025")
    assert "落后者" in detail.content.decode() and cast.learner.name not in detail.content.decode()


def test_compliance_page_without_n_plus_one(client, cast, award):
    from tests.factories import OrgUnitFactory

    Requirement.objects.create(cadre_level=None, year=2025, points=Decimal("40"))
    login(client, cast.system_admin)
    url = reverse("credits:compliance") + "?year=2025&all=1"

    def units(n: int) -> None:
        for _ in range(n):
            person = UserFactory(unit=OrgUnitFactory(parent=cast.tree.district_b))
            award(person, "1", when=local(2025, 3, 1, 9))

    units(3)
    small = queries_of(client, url)
    units(12)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    assert len(ctx.captured_queries) <= small


# --- Adjustments --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_adjustment_page_is_for_unit_admins(client, cast, role):
    response = login(client, cast.role(role)).get(reverse("credits:adjustments"))
    assert response.status_code == (200 if role in ("unit_admin", "system_admin") else 403)


def test_unit_admin_adjusts_a_person_in_scope(client, cast):
    login(client, cast.unit_admin)
    response = client.post(
        reverse("credits:adjustments"),
        {"employee_no": cast.inside.employee_no, "points": "1.5", "reason": "补录线下培训", "token": "t1"},
    )
    assert response.status_code == 302
    entry = CreditEntry.objects.get()
    assert (entry.person, entry.points, entry.created_by) == (cast.inside, Decimal("1.50"), cast.unit_admin)
    # The same form submitted twice records one adjustment.
    client.post(
        reverse("credits:adjustments"),
        {"employee_no": cast.inside.employee_no, "points": "1.5", "reason": "补录线下培训", "token": "t1"},
    )
    assert CreditEntry.objects.count() == 1


@pytest.mark.parametrize(
    "data, message",
    [
        ({"employee_no": "P-TB1", "points": "1", "reason": "补录"}, "works in a unit you administer"),
        ({"employee_no": "P-TA2", "points": "1", "reason": ""}, "required"),
        ({"employee_no": "P-TA2", "points": "NaN", "reason": "补录"}, "finite"),
        ({"employee_no": "P-TA2", "points": "0.001", "reason": "补录"}, "two decimals"),
        ({"employee_no": "P-TA2", "points": "abc", "reason": "补录"}, "number"),
    ],
)
def test_bad_adjustments_show_what_is_wrong_and_change_nothing(client, cast, data, message):
    response = login(client, cast.unit_admin).post(reverse("credits:adjustments"), {**data, "token": "x"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert CreditEntry.objects.count() == 0


def test_adjustment_of_an_inactive_person_is_refused_on_the_page(client, cast):
    cast.inside.is_active = False
    cast.inside.save()
    response = login(client, cast.unit_admin).post(
        reverse("credits:adjustments"),
        {"employee_no": cast.inside.employee_no, "points": "1", "reason": "补录", "token": "x"},
    )
    assert "inactive" in response.content.decode()
    assert CreditEntry.objects.count() == 0


def test_adjustments_list_without_n_plus_one(client, cast, committed):
    from credits import services

    login(client, cast.unit_admin)

    def adjust(n: int) -> None:
        for _ in range(n):
            person = UserFactory(unit=cast.tree.township_a1)
            committed(services.credit_adjust, person=person, points="1", reason="补录", actor=cast.unit_admin)

    adjust(3)
    small = queries_of(client, reverse("credits:adjustments"))
    adjust(12)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("credits:adjustments")).status_code == 200
    assert len(ctx.captured_queries) <= small


# --- Rules ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_rules_page_is_for_system_admins(client, cast, role):
    response = login(client, cast.role(role)).get(reverse("credits:rules"))
    assert response.status_code == (200 if role == "system_admin" else 403)


def test_system_admin_sets_a_cap_and_a_requirement_on_the_page(client, cast):
    login(client, cast.system_admin)
    response = client.post(
        reverse("credits:rules"),
        {"form": "source", "source_kind": "course", "year": "2025", "counts_as": "elective", "cap_percent": "60"},
    )
    assert response.status_code == 302
    assert SourceRule.objects.get().cap_percent == Decimal("60")
    client.post(reverse("credits:rules"), {"form": "requirement", "year": "2025", "points": "40", "required_points": "16"})
    assert Requirement.objects.get(cadre_level=None).points == Decimal("40")
    bad = client.post(
        reverse("credits:rules"),
        {"form": "source", "source_kind": "course", "year": "2025", "counts_as": "elective", "cap_percent": "150"},
    )
    assert bad.status_code == 200 and "100" in bad.content.decode()
    assert SourceRule.objects.get().cap_percent == Decimal("60")


def test_system_admin_sets_ranking_visibility(client, cast):
    login(client, cast.system_admin)
    root = cast.tree.city
    response = client.post(
        reverse("credits:ranking_policy", args=[root.pk]),
        {f"r{root.pk}-root": root.pk, f"r{root.pk}-visibility": "own", f"r{root.pk}-top_n": "5",
         f"r{root.pk}-mask_names": "on"},
    )
    assert response.status_code == 302
    policy = root.ranking_policy
    assert (policy.visibility, policy.top_n, policy.mask_names) == ("own", 5, True)


def test_menu_links_credits_pages_by_role(client, cast):
    html = login(client, cast.learner).get(reverse("home")).content.decode()
    assert reverse("credits:my") in html and reverse("credits:rankings") in html
    assert reverse("credits:adjustments") not in html and reverse("credits:rules") not in html
    html = login(client, cast.system_admin).get(reverse("home")).content.decode()
    assert reverse("credits:rules") in html and reverse("credits:compliance") in html
