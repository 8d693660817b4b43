"""A NUL character in the admin's path or query is refused with a 400, never a database error (a 500); the
site's own pages and forms check their input themselves (test_isolation.py)."""

import pytest
from django.urls import reverse

from merchants.tests.factories import UserFactory, login_verified


@pytest.fixture
def admin_client(client, db):
    login_verified(client, UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/system/auditlog/?table_name=a%00b",
        "/admin/operations/database/statements/?q=a%00b",
        "/admin/system/qrscanlog/?q=a%00b",
    ],
)
def test_a_nul_in_the_path_or_query_is_a_400(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_a_nul_in_a_form_is_refused_by_the_form_and_changes_nothing(client, db):
    user = UserFactory(email="owner@example.test")
    response = client.post(reverse("login"), {"username": "owner@example.test", "password": "x\x00y"})
    assert response.status_code == 200 and b"Null characters are not allowed" in response.content
    user.refresh_from_db()
    assert user.last_login is None


def test_requests_without_one_are_served(admin_client):
    assert admin_client.get("/admin/system/auditlog/?table_name=merchants").status_code == 200
    assert admin_client.get("/admin/operations/database/statements/?q=select").status_code == 200
