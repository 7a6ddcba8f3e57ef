"""The report pages: download centre with live progress, request forms, dashboard, learning record."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reports.models import ReportRun

from .conftest import ROLES, fresh

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(fresh(user))
    return client


@pytest.mark.parametrize("role", ROLES)
def test_nav_shows_reports_to_report_roles_and_the_record_to_everyone(client, cast, role):
    page = login(client, cast.role(role)).get(reverse("home")).content.decode()
    assert reverse("reports:record") in page
    assert (f'href="{reverse("reports:centre")}"' in page) == (role in ("unit_admin", "manager", "system_admin"))


def test_centre_shows_request_forms_progress_bars_and_polls_while_building(client, cast, quarter):
    login(client, cast.manager)
    ReportRun.objects.create(kind="quarterly", fmt="xlsx", fingerprint="a", title="季度报表 · 东区",
                             requested_by=cast.manager, status="running", progress=42, progress_note="People")
    page = client.get(reverse("reports:centre"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'hx-trigger="every 2s"' in html and 'style="width: 42%"' in html
    assert reverse("reports:request", args=["quarterly"]) in html
    partial = client.get(reverse("reports:runs_partial")).content.decode()
    assert "42%" in partial and 'id="report-runs"' in partial
    ReportRun.objects.update(status="succeeded", progress=100, file="reports/x.xlsx")
    partial = client.get(reverse("reports:runs_partial")).content.decode()
    assert "every 2s" not in partial  # nothing left to watch: polling stops


def test_a_failed_run_shows_its_error_and_a_retry_button(client, cast):
    login(client, cast.manager)
    run = ReportRun.objects.create(kind="quarterly", fmt="xlsx", fingerprint="a", title="季度报表",
                                   requested_by=cast.manager, status="failed", error="没有中文字体")
    html = client.get(reverse("reports:centre")).content.decode()
    assert "没有中文字体" in html and reverse("reports:retry", args=[run.pk]) in html


def test_requesting_through_the_form_builds_the_report(client, cast, quarter, django_capture_on_commit_callbacks):
    login(client, cast.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:request", args=["quarterly"]), {
            "quarterly-unit": cast.tree.district_a.pk, "quarterly-year": quarter.year,
            "quarterly-quarter": quarter.index, "quarterly-format": "xlsx"})
    assert response.status_code == 302
    run = ReportRun.objects.get()
    assert run.status == "succeeded"
    download = client.get(reverse("reports:download", args=[run.pk]))
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")


def test_form_errors_are_shown_and_nothing_is_built(client, cast, quarter):
    login(client, cast.manager)
    response = client.post(reverse("reports:request", args=["quarterly"]), {
        "quarterly-unit": cast.tree.district_b.pk, "quarterly-year": quarter.year, "quarterly-quarter": 5,
        "quarterly-format": "xlsx"})
    assert response.status_code == 400
    assert "is-invalid" in response.content.decode()
    assert not ReportRun.objects.exists()


def test_a_future_quarter_is_a_form_error(client, cast):
    from django.utils import timezone

    login(client, cast.manager)
    response = client.post(reverse("reports:request", args=["quarterly"]), {
        "quarterly-unit": cast.tree.district_a.pk, "quarterly-year": timezone.localdate().year + 1,
        "quarterly-quarter": 1, "quarterly-format": "xlsx"})
    assert response.status_code == 400 and not ReportRun.objects.exists()


def test_someone_elses_download_is_404(client, cast):
    run = ReportRun.objects.create(kind="quarterly", fmt="xlsx", fingerprint="a", requested_by=cast.manager,
                                   status="succeeded", file="reports/x.xlsx")
    login(client, cast.unit_admin)
    assert client.get(reverse("reports:download", args=[run.pk])).status_code == 404
    assert client.post(reverse("reports:retry", args=[run.pk])).status_code == 404


def test_learners_cannot_use_unit_report_forms(client, cast, quarter):
    login(client, cast.learner)
    html = client.get(reverse("reports:centre")).content.decode()
    assert reverse("reports:request", args=["quarterly"]) not in html
    response = client.post(reverse("reports:request", args=["quarterly"]), {
        "quarterly-unit": cast.tree.township_a1.pk, "quarterly-year": quarter.year,
        "quarterly-quarter": quarter.index, "quarterly-format": "xlsx"})
    assert response.status_code in (400, 403) and not ReportRun.objects.exists()
    assert client.get(reverse("reports:dashboard")).status_code == 403


def test_centre_has_a_fixed_number_of_queries(client, cast, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, cast.manager)
    counts = []
    for n in (3, 15):
        ReportRun.objects.all().delete()
        for i in range(n):
            ReportRun.objects.create(kind="quarterly", fmt="xlsx", fingerprint=f"f{i}", title=f"t{i}",
                                     requested_by=cast.manager, scope_unit=cast.tree.district_a,
                                     status="succeeded", file=f"reports/x{i}.xlsx")
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("reports:centre"))
        assert page.content.decode().count('data-run="') == n
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(counts[1]):
        client.get(reverse("reports:runs_partial"))


def test_dashboard_draws_the_quarter_with_echarts(client, cast, quarter, award):
    from .conftest import local

    award(cast.learner, "3", when=local(quarter.year, quarter.first_month, 3, 9))
    login(client, cast.manager)
    page = client.get(reverse("reports:dashboard"), {"unit": cast.tree.district_a.pk, "year": quarter.year,
                                                     "quarter": quarter.index})
    html = page.content.decode()
    assert page.status_code == 200
    assert "vendor/echarts/echarts.min.js" in html and "js/reports-dashboard.js" in html
    assert 'id="dashboard-data"' in html and '"points": 3.0' in html
    bad = client.get(reverse("reports:dashboard"), {"unit": cast.tree.district_b.pk, "year": quarter.year,
                                                    "quarter": quarter.index})
    assert bad.status_code == 400 and "dashboard-data" not in bad.content.decode()


def test_a_learner_sees_their_own_record_and_asks_for_the_certificate(client, cast, award,
                                                                      django_capture_on_commit_callbacks):
    from .conftest import local

    award(cast.learner, "2", label="课程：《安全生产》", when=local(2026, 4, 2, 9))
    login(client, cast.learner)
    page = client.get(reverse("reports:record"), {"year": 2026})
    assert page.status_code == 200 and "安全生产" in page.content.decode()
    assert client.get(reverse("reports:record"), {"person": cast.inside.pk}).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:request", args=["learning_record"]), {
            "learning_record-year": 2026, "learning_record-format": "pdf"})
    assert response.status_code == 302
    run = ReportRun.objects.get()
    assert run.status == "succeeded" and run.subject_id == cast.learner.pk
    assert client.get(reverse("reports:download", args=[run.pk])).status_code == 200


def test_an_admin_finds_people_in_scope_only(client, cast):
    login(client, cast.unit_admin)
    found = client.get(reverse("reports:record"), {"q": cast.inside.employee_no}).content.decode()
    assert f"?person={cast.inside.pk}" in found
    missing = client.get(reverse("reports:record"), {"q": cast.outside.employee_no}).content.decode()
    assert f"?person={cast.outside.pk}" not in missing
    assert client.get(reverse("reports:record"), {"person": cast.inside.pk}).status_code == 200
    assert client.get(reverse("reports:record"), {"person": cast.outside.pk}).status_code == 404


def test_subscribe_from_the_centre(client, cast):
    login(client, cast.manager)
    response = client.post(reverse("reports:subscribe"), {"sub-unit": cast.tree.township_a2.pk, "sub-format": "pdf"})
    assert response.status_code == 302
    html = client.get(reverse("reports:centre")).content.decode()
    assert cast.tree.township_a2.name in html
