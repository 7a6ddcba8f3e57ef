"""The credits API: endpoints × roles × inside/outside scope, bad input, 405s, query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from credits.models import AwardRule, CreditEntry, RankingPolicy, Requirement, SourceRule
from tests.credits.conftest import ROLES, local
from tests.factories import CadreLevelFactory, OrgUnitFactory, RankingPolicyFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/credits/"


@pytest.fixture
def api():
    return APIClient()


def as_(api: APIClient, person) -> APIClient:
    api.force_authenticate(person)
    return api


def count_queries(api: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


def test_anonymous_callers_are_refused(api):
    assert api.get(API + "me/").status_code in (401, 403)
    assert api.get(API + "entries/").status_code in (401, 403)


# --- My credits and entries -------------------------------------------------------------------


def test_my_credits_summarise_the_year(api, cast, award):
    Requirement.objects.create(cadre_level=None, year=2025, points=Decimal("10"))
    award(cast.learner, "3", kind="exam", when=local(2025, 5, 1, 9))
    data = as_(api, cast.learner).get(API + "me/?year=2025").json()
    assert data["total"] == "3.00" and data["required"] == "10.00"
    assert data["progress_percent"] == 30 and data["on_track"] is False
    assert data["rank"]["rank_org"] == 1
    assert data["by_source"][0]["kind"] == "exam"


@pytest.mark.parametrize("year", ["abc", "1999", "2999"])
def test_my_credits_refuse_a_year_that_makes_no_sense(api, cast, year):
    response = as_(api, cast.learner).get(API + f"me/?year={year}")
    assert response.status_code == 400
    assert "year" in response.json()


def test_rank_is_hidden_in_my_credits_when_rankings_are_off(api, cast, award):
    RankingPolicyFactory(root=cast.tree.city, visibility="off")
    award(cast.learner, "3", when=local(2025, 5, 1, 9))
    assert as_(api, cast.learner).get(API + "me/?year=2025").json()["rank"] is None


def test_entries_list_my_ledger_with_causes(api, cast, award):
    award(cast.learner, "1", when=local(2025, 5, 1, 9), label="课程：《法治思维》")
    award(cast.inside, "1", when=local(2025, 5, 1, 9))
    data = as_(api, cast.learner).get(API + "entries/").json()
    assert data["count"] == 1
    assert data["results"][0]["label"] == "课程：《法治思维》"
    assert data["results"][0]["person"]["id"] == cast.learner.pk


@pytest.mark.parametrize("role", ROLES)
def test_entries_of_another_person_are_visible_inside_scope_only(api, cast, award, role):
    inside = award(cast.inside, "1", when=local(2025, 5, 1, 9))
    outside = award(cast.outside, "1", when=local(2025, 5, 1, 9))
    client = as_(api, cast.role(role))
    sees_inside = role != "learner"
    sees_outside = role == "system_admin"
    assert client.get(API + f"entries/?person={cast.inside.pk}").status_code == (200 if sees_inside else 404)
    assert client.get(API + f"entries/?person={cast.outside.pk}").status_code == (200 if sees_outside else 404)
    assert client.get(API + f"entries/{inside.pk}/").status_code == (200 if sees_inside else 404)
    assert client.get(API + f"entries/{outside.pk}/").status_code == (200 if sees_outside else 404)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_entries_cannot_be_changed_or_deleted(api, cast, award, method):
    entry = award(cast.inside, "1", when=local(2025, 5, 1, 9))
    response = getattr(as_(api, cast.system_admin), method)(API + f"entries/{entry.pk}/", {"points": "9"}, format="json")
    assert response.status_code == 405
    assert "detail" in response.json()
    assert CreditEntry.objects.get(pk=entry.pk).points == Decimal("1.00")


def test_entries_cannot_be_created_directly(api, cast):
    response = as_(api, cast.system_admin).post(API + "entries/", {"person": cast.inside.pk, "points": "5"}, format="json")
    assert response.status_code == 405
    assert CreditEntry.objects.count() == 0


def test_entries_list_without_n_plus_one(api, cast, award, committed):
    from credits import services

    client = as_(api, cast.learner)

    def entries(n: int) -> None:
        for i in range(n):
            e = award(cast.learner, "1", when=local(2025, 5, 1 + i % 28, 9))
            if i % 2:
                committed(services.credit_reverse, entry=e, actor=cast.unit_admin, reason="更正")

    entries(3)
    small = count_queries(client, API + "entries/")
    entries(12)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(API + "entries/").status_code == 200
    assert len(ctx.captured_queries) <= small


# --- Reversal and adjustments ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_reverse_an_entry_inside_scope_only(api, cast, award, role):
    inside = award(cast.inside, "2", when=local(2025, 5, 1, 9))
    outside = award(cast.outside, "2", when=local(2025, 5, 1, 9))
    client = as_(api, cast.role(role))
    in_resp = client.post(API + f"entries/{inside.pk}/reverse/", {"reason": "重复"}, format="json")
    out_resp = client.post(API + f"entries/{outside.pk}/reverse/", {"reason": "重复"}, format="json")
    expected_in = {"learner": 404, "unit_admin": 201, "manager": 403, "class_teacher": 403, "system_admin": 201}
    expected_out = {"learner": 404, "unit_admin": 404, "manager": 404, "class_teacher": 404, "system_admin": 201}
    assert in_resp.status_code == expected_in[role]
    assert out_resp.status_code == expected_out[role]
    assert CreditEntry.objects.filter(reverses=inside).exists() == (expected_in[role] == 201)


def test_second_reversal_is_a_400_that_says_so(api, cast, award):
    entry = award(cast.inside, "2", when=local(2025, 5, 1, 9))
    client = as_(api, cast.unit_admin)
    assert client.post(API + f"entries/{entry.pk}/reverse/", {"reason": "重复"}, format="json").status_code == 201
    again = client.post(API + f"entries/{entry.pk}/reverse/", {"reason": "再次"}, format="json")
    assert again.status_code == 400
    assert "already been reversed" in again.json()["entry"][0]
    assert CreditEntry.objects.count() == 2


@pytest.mark.parametrize("role", ROLES)
def test_adjustments_by_role_inside_and_outside_scope(api, cast, role):
    client = as_(api, cast.role(role))
    inside = client.post(API + "adjustments/", {"person": cast.inside.pk, "points": "2", "reason": "补录"}, format="json")
    outside = client.post(API + "adjustments/", {"person": cast.outside.pk, "points": "2", "reason": "补录"}, format="json")
    can_inside = role in ("unit_admin", "system_admin")
    assert inside.status_code == (201 if can_inside else 404)
    assert outside.status_code == (201 if role == "system_admin" else 404)
    listed = client.get(API + "adjustments/").json()
    people = {row["person"]["id"] for row in listed["results"]}
    if role == "unit_admin":
        assert people == {cast.inside.pk}
    if role in ("learner", "manager", "class_teacher"):
        assert people == set()


def test_adjustment_made_through_the_api_is_attributed(api, cast):
    response = as_(api, cast.unit_admin).post(
        API + "adjustments/", {"person": cast.inside.pk, "points": "-1.25", "reason": "扣除重复学时"}, format="json"
    )
    data = response.json()
    assert response.status_code == 201
    assert data["points"] == "-1.25" and data["created_by_name"] == cast.unit_admin.name
    assert data["reason"] == "扣除重复学时" and data["source_kind"] == "adjustment"


def test_idempotency_key_header_makes_a_retry_harmless(api, cast):
    client = as_(api, cast.unit_admin)
    body = {"person": cast.inside.pk, "points": "1", "reason": "补录"}
    first = client.post(API + "adjustments/", body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    second = client.post(API + "adjustments/", body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.json()["id"] == second.json()["id"]
    assert CreditEntry.objects.count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"points": "2", "reason": ""}, "reason"),
        ({"points": "abc", "reason": "补录"}, "points"),
        ({"points": "NaN", "reason": "补录"}, "points"),
        ({"points": "Infinity", "reason": "补录"}, "points"),
        ({"points": "99999999", "reason": "补录"}, "points"),
        ({"points": "1.005", "reason": "补录"}, "points"),
        ({"points": True, "reason": "补录"}, "points"),
        ({"points": [1], "reason": "补录"}, "points"),
        ({"points": "1", "reason": "补录", "occurred_at": "2025-01-01"}, "occurred_at"),
    ],
)
def test_bad_adjustments_are_400_naming_the_field(api, cast, body, field):
    response = as_(api, cast.unit_admin).post(API + "adjustments/", {"person": cast.inside.pk, **body}, format="json")
    assert response.status_code == 400
    data = response.json()
    assert field in data and data["detail"]
    assert CreditEntry.objects.count() == 0


def test_adjustment_of_an_inactive_person_is_400(api, cast):
    cast.inside.is_active = False
    cast.inside.save()
    response = as_(api, cast.unit_admin).post(
        API + "adjustments/", {"person": cast.inside.pk, "points": "1", "reason": "补录"}, format="json"
    )
    assert response.status_code == 400 and "inactive" in response.json()["person"][0]
    assert CreditEntry.objects.count() == 0


def test_adjustments_list_without_n_plus_one(api, cast, committed):
    from credits import services

    client = as_(api, cast.unit_admin)

    def adjust(n: int) -> None:
        for _ in range(n):
            committed(services.credit_adjust, person=UserFactory(unit=cast.tree.township_a1), points="1",
                      reason="补录", actor=cast.unit_admin)

    adjust(3)
    small = count_queries(client, API + "adjustments/")
    adjust(12)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(API + "adjustments/").status_code == 200
    assert len(ctx.captured_queries) <= small


# --- Rankings -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_people_ranking_scopes_by_role(api, cast, award, role):
    award(cast.inside, "3", when=local(2025, 5, 1, 9))
    award(cast.outside, "5", when=local(2025, 5, 1, 9))
    client = as_(api, cast.role(role))
    org = client.get(API + "rankings/people/?period=2025")
    assert org.status_code == 200
    assert [r["name"] for r in org.json()["results"]] == [cast.outside.name, cast.inside.name]
    district_b = client.get(API + f"rankings/people/?period=2025&unit={cast.tree.district_b.pk}")
    assert district_b.status_code == (200 if role == "system_admin" else 404)
    district_a = client.get(API + f"rankings/people/?period=2025&unit={cast.tree.district_a.pk}")
    assert district_a.status_code == 200  # the learner's own district; the others' scope
    assert cast.outside.name not in {r["name"] for r in district_a.json()["results"]}


def test_people_ranking_applies_visibility_and_masking_for_learners(api, cast, award):
    RankingPolicyFactory(root=cast.tree.city, visibility="top_n", top_n=1, mask_names=True)
    award(cast.inside, "3", when=local(2025, 5, 1, 9))
    award(cast.learner, "1", when=local(2025, 5, 1, 9))
    data = as_(api, cast.learner).get(API + "rankings/people/?period=2025").json()
    assert [r["name"] for r in data["results"]] == [cast.inside.name[0] + "*" * (len(cast.inside.name) - 1)]
    assert data["me"]["rank"] == 2 and data["me"]["name"] == cast.learner.name
    assert data["visibility"] == "top_n" and data["has_next"] is False


@pytest.mark.parametrize(
    "query, field",
    [
        ("period=2025-13", "period"),
        ("period=2025-Q5", "period"),
        ("period=last-year", "period"),
        ("period=2999", "period"),
        ("period=1990", "period"),
        ("unit=abc", "unit"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("page_size=1000", "page_size"),
    ],
)
def test_rankings_refuse_parameters_that_make_no_sense(api, cast, query, field):
    response = as_(api, cast.learner).get(API + f"rankings/people/?{query}")
    assert response.status_code == 400
    data = response.json()
    assert field in data and data["detail"]


def test_unknown_unit_is_404(api, cast):
    assert as_(api, cast.learner).get(API + "rankings/people/?unit=999999").status_code == 404


def test_units_ranking_by_average_and_compliance(api, cast, award):
    Requirement.objects.create(cadre_level=None, year=2025, points=Decimal("4"))
    award(cast.learner, "4", when=local(2025, 5, 1, 9))
    client = as_(api, cast.system_admin)
    avg = client.get(API + "rankings/units/?period=2025").json()
    assert avg["results"][0]["name"] == cast.tree.township_a1.name
    compliance = client.get(API + "rankings/units/?period=2025&by=compliance").json()
    assert compliance["results"][0]["compliance_percent"] == 100.0
    bad = client.get(API + "rankings/units/?period=2025-Q2&by=compliance")
    assert bad.status_code == 400 and "annual requirement" in bad.json()["by"][0]
    assert client.get(API + "rankings/units/?by=fastest").status_code == 400


@pytest.mark.parametrize("path", ["rankings/people/", "rankings/units/"])
def test_rankings_without_n_plus_one(api, cast, award, path):
    RankingPolicyFactory(root=cast.tree.city, visibility="full")
    client = as_(api, cast.learner)

    def people(n: int) -> None:
        for _ in range(n):
            person = UserFactory(unit=OrgUnitFactory(parent=cast.tree.district_b))
            award(person, "2", when=local(2025, 5, 1, 9))

    people(3)
    small = count_queries(client, API + path + "?period=2025")
    people(12)
    with CaptureQueriesContext(connection) as ctx:
        data = client.get(API + path + "?period=2025").json()
    assert len(data["results"]) >= 15
    assert len(ctx.captured_queries) <= small


# --- Compliance ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_compliance_by_role_inside_and_outside_scope(api, cast, award, role):
    Requirement.objects.create(cadre_level=None, year=2025, points=Decimal("4"))
    award(cast.inside, "1", when=local(2025, 5, 1, 9))
    award(cast.outside, "1", when=local(2025, 5, 1, 9))
    client = as_(api, cast.role(role))
    response = client.get(API + "compliance/?year=2025")
    if role == "learner":
        assert response.status_code == 403
        return
    units = {row["unit_code"] for row in response.json()["results"]}
    assert "TA2" in units
    assert ("TB1" in units) == (role == "system_admin")
    outside = client.get(API + f"compliance/?year=2025&unit={cast.tree.township_b1.pk}")
    assert outside.status_code == (200 if role == "system_admin" else 404)


def test_compliance_counts_people_behind(api, cast, award):
    Requirement.objects.create(cadre_level=None, year=2025, points=Decimal("4"))
    award(cast.learner, "4", when=local(2025, 5, 1, 9))
    UserFactory(unit=cast.tree.township_a1)
    UserFactory(unit=cast.tree.township_a1)
    from credits import services

    services.ranks_refresh(period_keys=["2025"])
    rows = as_(api, cast.manager).get(API + "compliance/?year=2025").json()["results"]
    a1 = next(r for r in rows if r["unit_code"] == "TA1")
    assert (a1["members"], a1["behind"], a1["on_track"]) == (3, 2, 1)
    assert a1["compliance_percent"] == pytest.approx(33.3, abs=0.1)


def test_compliance_refuses_bad_parameters(api, cast):
    client = as_(api, cast.manager)
    assert client.get(API + "compliance/?year=20x5").status_code == 400
    assert client.get(API + "compliance/?behind=maybe").status_code == 400


def test_compliance_without_n_plus_one(api, cast, award):
    Requirement.objects.create(cadre_level=None, year=2025, points=Decimal("40"))
    client = as_(api, cast.system_admin)

    def units(n: int) -> None:
        for _ in range(n):
            award(UserFactory(unit=OrgUnitFactory(parent=cast.tree.district_b)), "1", when=local(2025, 5, 1, 9))

    units(3)
    small = count_queries(client, API + "compliance/?year=2025")
    units(12)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(API + "compliance/?year=2025").json()["count"] >= 15
    assert len(ctx.captured_queries) <= small


# --- Rules ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_rules_are_read_by_all_and_written_by_system_admins(api, cast, role):
    client = as_(api, cast.role(role))
    level = CadreLevelFactory()
    writes = [
        client.patch(API + "policy/", {"exam_points": "2", "unit_label": "学时"}, format="json"),
        client.post(API + "source-rules/", {"source_kind": "course", "year": 2025, "cap_percent": "60"}, format="json"),
        client.post(API + "requirements/", {"cadre_level": level.pk, "year": 2025, "points": "40"}, format="json"),
        client.post(API + "award-rules/", {"award_code": "excellent_learner", "points": "2"}, format="json"),
        client.post(API + "ranking-policies/", {"root": cast.tree.city.pk, "visibility": "own"}, format="json"),
    ]
    expected = [200, 201, 201, 201, 201] if role == "system_admin" else [403] * 5
    assert [w.status_code for w in writes] == expected
    for path in ("policy/", "source-rules/", "requirements/", "award-rules/"):
        assert client.get(API + path).status_code == 200
    assert client.get(API + "ranking-policies/").status_code == (200 if role == "system_admin" else 403)
    exists = role == "system_admin"
    assert SourceRule.objects.exists() == exists and Requirement.objects.exists() == exists
    assert AwardRule.objects.exists() == exists and RankingPolicy.objects.exists() == exists


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("policy/", {"exam_points": "NaN"}, "exam_points"),
        ("policy/", {"course_medium_minutes": 50}, "course_medium_minutes"),
        ("policy/", {"color": "red"}, "color"),
        ("source-rules/", {"source_kind": "course", "year": 2025, "cap_percent": "101"}, "cap_percent"),
        ("source-rules/", {"source_kind": "likes", "year": 2025}, "source_kind"),
        ("requirements/", {"cadre_level": 999999, "year": 2025, "points": "40"}, "cadre_level"),
        ("requirements/", {"cadre_level": None, "year": 2025, "points": "40", "required_points": "41"},
         "required_points"),
        ("award-rules/", {"award_code": "", "points": "1"}, "award_code"),
        ("ranking-policies/", {"root": "x", "visibility": "own"}, "root"),
        ("ranking-policies/", {"root": 1, "visibility": "secret"}, "visibility"),
    ],
)
def test_bad_rules_are_400_naming_the_field(api, cast, path, body, field):
    method = "patch" if path == "policy/" else "post"
    response = getattr(as_(api, cast.system_admin), method)(API + path, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not SourceRule.objects.exists() and not Requirement.objects.exists()


def test_rule_delete_by_system_admin(api, cast):
    rule = AwardRule.objects.create(award_code="x", points=Decimal("1"))
    assert as_(api, cast.unit_admin).delete(API + f"award-rules/{rule.pk}/").status_code == 403
    assert as_(api, cast.system_admin).delete(API + f"award-rules/{rule.pk}/").status_code == 204
    assert not AwardRule.objects.exists()


def test_rule_lists_without_n_plus_one(api, cast):
    client = as_(api, cast.system_admin)

    def requirements(n: int, start: int) -> None:
        for i in range(n):
            Requirement.objects.create(cadre_level=CadreLevelFactory(), year=2000 + start + i, points=Decimal("40"))

    requirements(3, 0)
    small = count_queries(client, API + "requirements/")
    requirements(12, 3)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(API + "requirements/").status_code == 200
    assert len(ctx.captured_queries) <= small


def test_openapi_schema_is_valid_and_lists_credits(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("me/", "entries/", "rankings/people/", "rankings/units/", "compliance/", "adjustments/",
                 "policy/", "source-rules/", "requirements/", "award-rules/", "ranking-policies/"):
        assert f"/api/v1/credits/{path}" in paths
    assert "put" not in paths["/api/v1/credits/entries/{id}/"]
