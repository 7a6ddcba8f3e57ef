"""Unit admins issue temporary passwords to people they manage; the person must change it."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from org import services
from org.models import Role, User
from tests.factories import OrgUnitFactory, RoleGrantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    city = OrgUnitFactory(name="渝江市")
    district = OrgUnitFactory(parent=city, name="江城区")
    other = OrgUnitFactory(parent=city, name="江北区")
    district.refresh_from_db()  # a sorted sibling insert may renumber materialised paths
    admin = UserFactory(unit=district)
    RoleGrantFactory(user=admin, unit=district, role=Role.UNIT_ADMIN)
    return {"district": district, "other": other, "admin": admin}


def test_admin_resets_password_of_person_in_scope_and_person_must_change_it(tree):
    person = UserFactory(unit=tree["district"])
    person.set_unusable_password()
    person.save()

    temporary = services.person_password_reset(actor=tree["admin"], person=person)

    person.refresh_from_db()
    assert person.check_password(temporary)
    assert person.must_change_password
    assert person.notifications.filter(kind="account").count() == 1

    client = Client()
    assert client.login(username=person.employee_no, password=temporary)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/password_change/"
    assert client.get("/api/v1/me/").status_code == 403

    response = client.post(
        "/accounts/password_change/",
        {"old_password": temporary, "new_password1": "Xuexi-2026-abc", "new_password2": "Xuexi-2026-abc"},
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert not person.must_change_password
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CLASS_TEACHER])
def test_read_only_roles_cannot_reset_passwords(tree, role):
    viewer = UserFactory(unit=tree["district"])
    RoleGrantFactory(user=viewer, unit=tree["district"], role=role)
    person = UserFactory(unit=tree["district"])
    before = User.objects.get(pk=person.pk).password

    with pytest.raises(PermissionDenied):
        services.person_password_reset(actor=viewer, person=person)

    client = Client()
    client.force_login(viewer)
    assert client.post(f"/org/people/{person.pk}/reset-password/").status_code == 404
    assert User.objects.get(pk=person.pk).password == before


def test_admin_cannot_reset_password_outside_scope(tree):
    outsider = UserFactory(unit=tree["other"])
    before = outsider.password
    client = Client()
    client.force_login(tree["admin"])

    assert client.post(f"/org/people/{outsider.pk}/reset-password/").status_code == 404
    outsider.refresh_from_db()
    assert outsider.password == before and not outsider.must_change_password


def test_reset_page_shows_the_temporary_password_once(tree):
    person = UserFactory(unit=tree["district"], name="李娜")
    client = Client()
    client.force_login(tree["admin"])

    page = client.get(f"/org/people/{person.pk}/").content.decode()
    assert f"/org/people/{person.pk}/reset-password/" in page

    response = client.post(f"/org/people/{person.pk}/reset-password/", follow=True)
    text = response.content.decode()
    assert "李娜" in text
    person.refresh_from_db()
    assert person.must_change_password
    again = client.get(f"/org/people/{person.pk}/").content.decode()
    assert again.count("alert-success") == 0


def test_inactive_people_get_no_password(tree):
    person = UserFactory(unit=tree["district"], is_active=False)
    client = Client()
    client.force_login(tree["admin"])
    client.post(f"/org/people/{person.pk}/reset-password/")
    person.refresh_from_db()
    assert not person.must_change_password
