"""Errors are JSON under /api/ and portal pages elsewhere; never a bare stack trace."""

import pytest
from django.test import Client

from tests.factories import UserFactory


@pytest.mark.django_db
def test_unknown_api_url_is_a_json_404():
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


@pytest.mark.django_db
def test_unknown_page_is_the_portal_404_page():
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "404" in response.content.decode()
    assert 'href="/"' in response.content.decode()


def test_api_server_error_is_json(rf):
    from learning_portal.errors import server_error

    response = server_error(rf.get("/api/v1/me/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
