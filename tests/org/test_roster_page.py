"""The roster import page: upload → dry-run preview → confirm, the template, permissions.

The upload is kept under MEDIA_ROOT/roster_uploads/<token> between preview and confirm,
tied to the session; these tests point MEDIA_ROOT at a temporary directory.
"""

from __future__ import annotations

import io
import os
import time

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse, reverse_lazy

from org import roster
from org.models import Role, User
from org.views.roster import SESSION_KEY
from tests.factories import OrgUnitFactory, RoleGrantFactory, UserFactory
from tests.org.test_roster import HEADER, ROW_LI, ROW_ZHANG, Org, csv_bytes, snapshot
from tests.org.test_roster import org as org  # the shared organisation fixture

pytestmark = pytest.mark.django_db

PAGE = reverse_lazy("org:roster_import")
TEMPLATE = reverse_lazy("org:roster_template")


@pytest.fixture
def uploads(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path / "roster_uploads"


def stored(uploads) -> list[str]:
    return sorted(p.name for p in uploads.iterdir()) if uploads.exists() else []


def login(client, user):
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def upload(client, data: bytes, name: str = "roster.csv"):
    return client.post(PAGE, {"action": "preview", "file": SimpleUploadedFile(name, data)})


def person_with(org: Org, role: str) -> User:
    if role == "system_admin":
        return org.root
    if role == "unit_admin":
        return org.admin
    person = UserFactory(unit=org.district)
    if role != "learner":
        RoleGrantFactory(user=person, unit=org.district, role=role)
    return person


# --- Permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("learner", False),
        (Role.MANAGER, False),
        (Role.CLASS_TEACHER, False),
        (Role.UNIT_ADMIN, True),
        ("system_admin", True),
    ],
)
def test_only_unit_admins_and_system_admins_may_use_the_page(client, org, uploads, role, allowed):
    login(client, person_with(org, role))

    responses = [
        client.get(PAGE),
        client.get(TEMPLATE),
        upload(client, csv_bytes([ROW_ZHANG])),
        client.post(PAGE, {"action": "confirm", "token": "x" * 43}),
    ]

    expected = [200, 200, 200, 302] if allowed else [403] * 4
    assert [r.status_code for r in responses] == expected
    assert not User.objects.filter(employee_no="E001").exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client, org):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize(
    ("role", "unit_code", "outcome"),
    [
        (Role.UNIT_ADMIN, "GYQ", "create"),  # inside the admin's subtree
        (Role.UNIT_ADMIN, "JFB", "unknown_unit"),  # outside it: not even visible
        ("system_admin", "GYQ", "create"),
        ("system_admin", "JFB", "create"),  # a system admin's scope is everything
    ],
)
def test_rows_inside_scope_preview_and_rows_outside_scope_are_errors(
    client, org, uploads, role, unit_code, outcome
):
    login(client, person_with(org, role))

    response = upload(client, csv_bytes([["E050", "周八", unit_code, "", "", "", "", "", ""]]))

    result = response.context["result"]
    if outcome == "create":
        assert result.ok and [c.action for c in result.changes] == ["create"]
        assert b'data-action="create"' in response.content
    else:
        assert [e.code for e in result.errors] == [outcome]
        assert f'data-code="{outcome}"'.encode() in response.content
        assert "解放碑".encode() not in response.content
    assert not User.objects.filter(employee_no="E050").exists()


# --- Upload → preview → confirm ------------------------------------------------------------------


def test_upload_previews_then_confirm_applies_the_same_file(client, org, uploads):
    login(client, org.admin)
    before = snapshot()

    preview = upload(client, csv_bytes([ROW_ZHANG, ROW_LI]))

    assert preview.status_code == 200
    assert snapshot() == before  # a preview writes nothing
    token = client.session[SESSION_KEY]["token"]
    assert stored(uploads) == [token]
    assert preview.context["token"] == token
    assert preview.content.count(b'data-action="create"') == 2
    assert b'data-testid="roster-confirm"' in preview.content

    confirm = client.post(PAGE, {"action": "confirm", "token": token}, follow=True)

    assert confirm.redirect_chain[-1][0] == str(PAGE)
    assert User.objects.filter(employee_no__in=["E001", "E002"]).count() == 2
    assert stored(uploads) == []  # deleted after use
    assert SESSION_KEY not in client.session
    texts = [str(m) for m in confirm.context["messages"]]
    assert any("2 created, 0 updated, 0 unchanged" in t for t in texts)
    assert any("password" in t for t in texts)


def test_an_update_preview_shows_old_and_new_values(client, org, uploads):
    login(client, org.admin)
    upload(client, csv_bytes([ROW_ZHANG]))
    client.post(PAGE, {"action": "confirm", "token": client.session[SESSION_KEY]["token"]})
    edited = [*ROW_ZHANG]
    edited[6] = "13800000009"

    response = upload(client, csv_bytes([edited]))

    assert b'data-action="update"' in response.content
    assert b"13800000001" in response.content and b"13800000009" in response.content
    assert User.objects.get(employee_no="E001").phone == "13800000001"


def test_uploading_an_unchanged_roster_offers_nothing_to_apply(client, org, uploads):
    login(client, org.admin)
    data = csv_bytes([ROW_ZHANG])
    upload(client, data)
    client.post(PAGE, {"action": "confirm", "token": client.session[SESSION_KEY]["token"]})

    response = upload(client, data)

    assert b'data-testid="roster-nothing-to-do"' in response.content
    assert b'data-testid="roster-confirm"' not in response.content
    assert response.context["result"].unchanged == 1
    assert stored(uploads) == []
    assert SESSION_KEY not in client.session


def test_a_file_with_errors_lists_them_and_keeps_nothing(client, org, uploads):
    login(client, org.admin)
    rows = [ROW_ZHANG, ["E002", "李四", "JB", "", "", "2024-02-30", "", "", ""]]
    before = snapshot()

    response = upload(client, csv_bytes(rows))

    assert b'data-code="date_impossible"' in response.content
    errors = response.context["result"].errors
    assert [(e.sheet, e.row, e.column) for e in errors] == [("roster.csv", 3, "F (出生日期)")]
    assert b'data-testid="roster-confirm"' not in response.content
    assert stored(uploads) == []
    assert SESSION_KEY not in client.session
    assert snapshot() == before


def test_confirm_shows_a_new_preview_when_the_roster_changed_after_the_preview(
    client, org, uploads
):
    login(client, org.admin)
    upload(client, csv_bytes([ROW_ZHANG]))
    token = client.session[SESSION_KEY]["token"]
    # Meanwhile someone else creates E001 with another phone number.
    UserFactory(employee_no="E001", name="张三", unit=org.district, phone="1")

    response = client.post(PAGE, {"action": "confirm", "token": token})

    assert response.status_code == 200
    assert response.context["result"].stale
    assert User.objects.get(employee_no="E001").phone == "1"  # nothing applied
    assert b'data-action="update"' in response.content
    assert stored(uploads) == [token]

    client.post(PAGE, {"action": "confirm", "token": token})

    assert User.objects.get(employee_no="E001").phone == "13800000001"
    assert stored(uploads) == []


def test_confirm_with_a_wrong_or_forged_token_changes_nothing(client, org, uploads):
    login(client, org.admin)
    upload(client, csv_bytes([ROW_ZHANG]))

    for forged in ["x" * 43, "../../etc/passwd", ""]:
        response = client.post(PAGE, {"action": "confirm", "token": forged}, follow=True)
        assert any("expired" in str(m) for m in response.context["messages"])

    assert not User.objects.filter(employee_no="E001").exists()


def test_a_preview_cannot_be_applied_from_another_session_or_twice(client, org, uploads):
    login(client, org.admin)
    upload(client, csv_bytes([ROW_ZHANG]))
    token = client.session[SESSION_KEY]["token"]
    other_admin = UserFactory(unit=org.district)
    RoleGrantFactory(user=other_admin, unit=org.district, role=Role.UNIT_ADMIN)

    from django.test import Client

    intruder = login(Client(), other_admin)
    intruder.post(PAGE, {"action": "confirm", "token": token})
    assert not User.objects.filter(employee_no="E001").exists()

    client.post(PAGE, {"action": "confirm", "token": token})
    again = client.post(PAGE, {"action": "confirm", "token": token}, follow=True)

    assert User.objects.filter(employee_no="E001").count() == 1
    assert any("expired" in str(m) for m in again.context["messages"])


def test_discarding_a_preview_deletes_the_upload(client, org, uploads):
    login(client, org.admin)
    upload(client, csv_bytes([ROW_ZHANG]))
    assert len(stored(uploads)) == 1

    client.post(PAGE, {"action": "cancel"})

    assert stored(uploads) == []
    assert SESSION_KEY not in client.session
    assert not User.objects.filter(employee_no="E001").exists()


def test_a_new_upload_replaces_the_pending_one_and_sweeps_stale_files(client, org, uploads):
    login(client, org.admin)
    uploads.mkdir(parents=True)
    stale = uploads / ("s" * 43)
    stale.write_bytes(b"old")
    old = time.time() - 3 * 24 * 3600
    os.utime(stale, (old, old))
    upload(client, csv_bytes([ROW_ZHANG]))
    first = client.session[SESSION_KEY]["token"]

    upload(client, csv_bytes([ROW_LI]))

    second = client.session[SESSION_KEY]["token"]
    assert first != second
    assert stored(uploads) == [second]


def test_an_oversized_upload_is_refused_before_it_is_stored(client, org, uploads, settings):
    settings.ROSTER_MAX_UPLOAD_BYTES = 50
    login(client, org.admin)

    response = upload(client, csv_bytes([ROW_ZHANG, ROW_LI]))

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert stored(uploads) == []
    assert not User.objects.filter(employee_no="E001").exists()


def test_a_renamed_file_is_refused_on_the_page(client, org, uploads):
    login(client, org.admin)

    response = upload(client, csv_bytes([ROW_ZHANG]), "roster.xlsx")

    assert b'data-code="wrong_type"' in response.content
    assert stored(uploads) == []


@pytest.mark.parametrize("rows", [3, 15])
def test_the_preview_makes_the_same_number_of_queries_for_3_or_15_rows(
    client, org, uploads, rows, django_assert_max_num_queries
):
    login(client, org.admin)
    small = csv_bytes([[f"Q{i:03d}", f"人{i}", "JB", "科级", "男", "", "", "", ""] for i in range(3)])
    with CaptureQueriesContext(connection) as baseline:
        upload(client, small)
    baseline_count = len(baseline.captured_queries)  # read now: each request resets the log
    client.post(PAGE, {"action": "cancel"})
    data = csv_bytes(
        [[f"P{i:03d}", f"人{i}", "GYQ", "科级", "男", "", "", "", ""] for i in range(rows)]
    )

    with django_assert_max_num_queries(baseline_count):
        response = upload(client, data)

    assert response.context["result"].created == rows


# --- The template -----------------------------------------------------------------------------


def _workbook(response) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def test_the_template_is_an_xlsx_listing_only_the_admins_units(client, org):
    login(client, org.admin)

    response = client.get(TEMPLATE)

    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response["Content-Disposition"]
    book = _workbook(response)
    roster_sheet, units_sheet = book.worksheets[0], book.worksheets[2]
    header = [c.value for c in next(roster_sheet.iter_rows(max_row=1))]
    assert header == list(roster.TEMPLATE_HEADERS["en"])
    codes = {row[0] for row in units_sheet.iter_rows(min_row=2, values_only=True)}
    assert codes == {"JB", "GYQ"}


def test_the_chinese_template_has_chinese_headers(client, org):
    client.force_login(org.admin)

    response = client.get(TEMPLATE, HTTP_ACCEPT_LANGUAGE="zh-hans")

    header = [c.value for c in next(_workbook(response).worksheets[0].iter_rows(max_row=1))]
    assert header == HEADER


def test_a_filled_in_template_imports(client, org, uploads):
    login(client, org.admin)
    book = _workbook(client.get(TEMPLATE))
    book.worksheets[0].append(["E060", "吴九", "渝北市/江北区/观音桥街道", "科级", "男", "1980-05-06", "13800000060", "", "是"])
    buffer = io.BytesIO()
    book.save(buffer)

    response = upload(client, buffer.getvalue(), "template.xlsx")

    result = response.context["result"]
    assert result.ok, result.errors
    assert [(c.action, c.employee_no) for c in result.changes] == [("create", "E060")]


@pytest.mark.parametrize("units", [3, 15])
def test_the_template_makes_the_same_number_of_queries_for_3_or_15_units(
    client, org, units, django_assert_max_num_queries
):
    login(client, org.admin)
    for i in range(units):
        OrgUnitFactory(parent=org.street, name=f"社区{i}")

    with django_assert_max_num_queries(10):
        response = client.get(TEMPLATE)

    rows = list(_workbook(response).worksheets[2].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 2 + units
