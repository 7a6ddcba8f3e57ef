"""The reports API: create, poll, download, retry; subscriptions; dashboard figures.
Permissions as a matrix of roles × inside/outside the grant's subtree."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework.test import APIClient

from org.models import Notification
from reports import rows
from reports.models import ReportRun, ReportSubscription

from .conftest import ROLES, fresh

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/reports/runs/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(fresh(user))
    return client


def post_run(client, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(RUNS, data, format="json")


def quarterly(cast, quarter, unit=None, **extra):
    return {"kind": "quarterly", "unit": (unit or cast.tree.district_a).pk, "year": quarter.year,
            "quarter": quarter.index, **extra}


def test_create_poll_and_download_a_report(cast, quarter, django_capture_on_commit_callbacks):
    client = client_for(cast.manager)
    response = post_run(client, django_capture_on_commit_callbacks, **quarterly(cast, quarter))
    assert response.status_code == 201, response.json()
    run_id = response.json()["id"]
    polled = client.get(f"{RUNS}{run_id}/").json()
    assert polled["status"] == "succeeded" and polled["progress"] == 100
    download = client.get(polled["download_url"])
    assert download.status_code == 200
    assert download["Cache-Control"] == "private, no-store"
    assert "attachment" in download["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert len(book.sheetnames) == 8


def test_asking_again_while_running_returns_the_running_run_with_200(cast, quarter):
    client = client_for(cast.manager)
    first = client.post(RUNS, quarterly(cast, quarter), format="json")  # queued (on_commit not run)
    again = client.post(RUNS, quarterly(cast, quarter), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and ReportRun.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quarter": 5}, "quarter"),
        ({"kind": "gossip"}, "kind"),
        ({"colour": "red"}, "colour"),
        ({"year": 2999}, "year"),
        ({"quarter": "x"}, "quarter"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(cast, quarter, data, field):
    response = client_for(cast.manager).post(RUNS, {**quarterly(cast, quarter), **data}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body and body["detail"]
    assert ReportRun.objects.count() == 0


def test_a_future_quarter_and_a_unit_outside_the_scope_are_400s(cast, quarter):
    client = client_for(cast.manager)
    future = client.post(RUNS, {**quarterly(cast, quarter), "year": quarter.year + 2, "quarter": 1}, format="json")
    outside = client.post(RUNS, quarterly(cast, quarter, unit=cast.tree.district_b), format="json")
    assert future.status_code == outside.status_code == 400
    assert "has not begun" in future.json()["quarter"][0]
    assert "scope" in outside.json()["unit"][0]
    assert ReportRun.objects.count() == 0


# --- Permission matrix --------------------------------------------------------------------------

CAN_REPORT = {"learner": False, "unit_admin": True, "manager": True, "class_teacher": False, "system_admin": True}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("place", ["inside", "outside"])
def test_requesting_a_unit_report_by_role_and_place(cast, quarter, role, place):
    unit = cast.tree.township_a1 if place == "inside" else cast.tree.township_b1
    response = client_for(cast.role(role)).post(RUNS, quarterly(cast, quarter, unit=unit), format="json")
    allowed = CAN_REPORT[role] and (place == "inside" or role == "system_admin")
    if allowed:
        assert response.status_code == 201
    elif not CAN_REPORT[role]:
        assert response.status_code == 403 and response.json()["detail"]
    else:
        assert response.status_code == 400 and "unit" in response.json()
    assert ReportRun.objects.count() == (1 if allowed else 0)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("place", ["inside", "outside"])
def test_learning_record_of_someone_else_by_role_and_place(cast, role, place):
    person = cast.inside if place == "inside" else cast.outside
    response = client_for(cast.role(role)).post(
        RUNS, {"kind": "learning_record", "person": person.pk, "year": 2026}, format="json")
    allowed = role == "system_admin" or (role in ("unit_admin", "manager") and place == "inside")
    assert response.status_code == (201 if allowed else 400)


@pytest.mark.parametrize("role", ROLES)
def test_nobody_sees_or_downloads_someone_elses_run(cast, quarter, role, django_capture_on_commit_callbacks):
    owner = client_for(cast.unit_admin)
    run_id = post_run(owner, django_capture_on_commit_callbacks, **quarterly(cast, quarter)).json()["id"]
    if cast.role(role) == cast.unit_admin:
        return
    other = client_for(cast.role(role))
    assert other.get(f"{RUNS}{run_id}/").status_code == 404
    assert other.get(f"{RUNS}{run_id}/download/").status_code == 404
    assert other.post(f"{RUNS}{run_id}/retry/").status_code == 404
    assert all(r["id"] != run_id for r in other.get(RUNS).json()["results"])


def test_a_download_is_checked_against_the_current_scope(cast, quarter, django_capture_on_commit_callbacks):
    client = client_for(cast.manager)
    run_id = post_run(client, django_capture_on_commit_callbacks, **quarterly(cast, quarter)).json()["id"]
    assert client.get(f"{RUNS}{run_id}/download/").status_code == 200
    cast.manager.grants.all().delete()
    assert client_for(cast.manager).get(f"{RUNS}{run_id}/download/").status_code == 404


def test_an_expired_or_unfinished_run_cannot_be_downloaded(cast, quarter, django_capture_on_commit_callbacks):
    from django.utils import timezone

    client = client_for(cast.manager)
    queued = client.post(RUNS, quarterly(cast, quarter, format="pdf"), format="json").json()["id"]
    assert client.get(f"{RUNS}{queued}/download/").status_code == 404
    done = post_run(client, django_capture_on_commit_callbacks, **quarterly(cast, quarter)).json()["id"]
    ReportRun.objects.filter(pk=done).update(expires_at=timezone.now())
    assert client.get(f"{RUNS}{done}/download/").status_code == 404


def test_retry_a_failed_run(cast, quarter, django_capture_on_commit_callbacks):
    client = client_for(cast.manager)
    run_id = client.post(RUNS, quarterly(cast, quarter), format="json").json()["id"]
    ReportRun.objects.filter(pk=run_id).update(status="failed", error="x")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{RUNS}{run_id}/retry/")
    assert response.status_code == 200
    assert client.get(f"{RUNS}{run_id}/").json()["status"] == "succeeded"
    assert client.post(f"{RUNS}{run_id}/retry/").status_code == 400


def test_run_list_has_a_fixed_number_of_queries(cast, django_assert_max_num_queries):
    client = client_for(cast.manager)
    for n in (3, 15):
        ReportRun.objects.all().delete()
        for i in range(n):
            ReportRun.objects.create(kind="learning_record", fmt="pdf", fingerprint=f"f{i}", title=f"t{i}",
                                     requested_by=cast.manager, scope_unit=cast.tree.district_a,
                                     subject=cast.learner, status="succeeded", file=f"reports/x{i}.pdf")
        with django_assert_max_num_queries(6):
            body = client.get(RUNS).json()
        assert body["count"] == n


# --- Subscriptions ---------------------------------------------------------------------------------


def test_subscribe_list_and_cancel(cast):
    client = client_for(cast.manager)
    created = client.post("/api/v1/reports/subscriptions/", {"unit": cast.tree.township_a1.pk}, format="json")
    assert created.status_code == 201
    duplicate = client.post("/api/v1/reports/subscriptions/", {"unit": cast.tree.township_a1.pk}, format="json")
    assert duplicate.status_code == 400 and "unit" in duplicate.json()
    outside = client.post("/api/v1/reports/subscriptions/", {"unit": cast.tree.township_b1.pk}, format="json")
    assert outside.status_code == 400 and "unit" in outside.json()
    listed = client.get("/api/v1/reports/subscriptions/").json()
    assert [s["unit"] for s in listed["results"]] == [cast.tree.township_a1.pk]
    other = client_for(cast.unit_admin)
    sub_id = created.json()["id"]
    assert other.delete(f"/api/v1/reports/subscriptions/{sub_id}/").status_code == 404
    assert client.delete(f"/api/v1/reports/subscriptions/{sub_id}/").status_code == 204
    assert not ReportSubscription.objects.exists()


def test_a_learner_cannot_subscribe(cast):
    response = client_for(cast.learner).post("/api/v1/reports/subscriptions/", {"unit": cast.tree.township_a1.pk},
                                             format="json")
    assert response.status_code == 403 and not ReportSubscription.objects.exists()


# --- Dashboard = report ------------------------------------------------------------------------------


def test_dashboard_shows_the_same_numbers_as_the_quarterly_report(cast, quarter, award,
                                                                   django_capture_on_commit_callbacks):
    from .conftest import local

    when = local(quarter.year, quarter.first_month, 20, 10)
    award(cast.learner, "5", when=when)
    award(cast.inside, "2.5", kind="exam", when=when)
    client = client_for(cast.manager)
    dashboard = client.get("/api/v1/reports/dashboard/", {"unit": cast.tree.district_a.pk, "year": quarter.year,
                                                          "quarter": quarter.index})
    assert dashboard.status_code == 200
    data = dashboard.json()
    run_id = post_run(client, django_capture_on_commit_callbacks, **quarterly(cast, quarter)).json()["id"]
    run = ReportRun.objects.get(pk=run_id)
    with default_storage.open(run.file.name, "rb") as f:
        ws = openpyxl.load_workbook(io.BytesIO(f.read())).worksheets[0]
    sheet = {}
    for label, value in ws.iter_rows(min_row=5, max_col=2, values_only=True):
        if label is None:
            break
        sheet[label] = value
    for key, label in data["labels"].items():
        expected = data["summary"][key]
        assert sheet[label] == expected or float(sheet[label]) == pytest.approx(expected), key
    assert data["summary"]["points"] == 7.5 and data["summary"]["people"] == 6
    sources = {s["kind"]: s["points"] for s in data["sources"]}
    assert sources == {"course": 5.0, "exam": 2.5}
    assert data["labels"]["people"] == _("People")
    assert rows.summary_items  # the shared function both use


def test_dashboard_refuses_bad_input(cast, quarter):
    client = client_for(cast.manager)
    bad = client.get("/api/v1/reports/dashboard/", {"unit": cast.tree.district_b.pk, "year": quarter.year,
                                                    "quarter": 5})
    assert bad.status_code == 400 and {"unit", "quarter"} <= set(bad.json())
    assert client_for(cast.learner).get("/api/v1/reports/dashboard/", {"unit": cast.tree.district_a.pk}).status_code == 403


def test_schema_documents_the_reports_api(client, cast):
    client.force_login(cast.system_admin)
    schema = client.get(reverse("schema"))
    assert schema.status_code == 200 and b"/api/v1/reports/runs/" in schema.content


def test_scheduled_runs_notify_the_subscriber(cast, quarter, django_capture_on_commit_callbacks):
    from reports import services

    sub = services.subscription_create(subscriber=fresh(cast.manager), unit=cast.tree.district_a)
    ReportSubscription.objects.filter(pk=sub.pk).update(last_period="")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.subscriptions_deliver() == 1
    run = ReportRun.objects.get()
    assert run.status == "succeeded" and run.subscription_id == sub.pk
    assert run.parameters == {"unit": cast.tree.district_a.pk, "year": quarter.year, "quarter": quarter.index}
    assert Notification.objects.filter(recipient=cast.manager, kind="report").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.subscriptions_deliver() == 0  # each quarter once
    assert ReportRun.objects.count() == 1


def test_a_subscription_whose_unit_left_the_scope_ends_with_a_notice(cast, django_capture_on_commit_callbacks):
    from reports import services

    sub = services.subscription_create(subscriber=fresh(cast.manager), unit=cast.tree.district_a)
    ReportSubscription.objects.filter(pk=sub.pk).update(last_period="")
    cast.manager.grants.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        services.subscriptions_deliver()
    sub.refresh_from_db()
    assert not sub.is_active and not ReportRun.objects.exists()
    assert Notification.objects.filter(recipient=cast.manager, kind="report").count() == 1
