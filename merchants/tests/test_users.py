"""Email logins: one account per address, whatever its case."""

import pytest
from django.contrib import admin
from django.db import IntegrityError, transaction
from django.urls import reverse

from merchants.models import User
from merchants.tests.factories import login_verified


def test_emails_are_stored_in_lower_case_and_log_in_in_any_case(client, db):
    User.objects.create_user("Mixed.Case@Shop.test", "a-long-test-password")
    assert User.objects.get().email == "mixed.case@shop.test"
    response = client.post(reverse("login"), {"username": "MIXED.case@shop.TEST", "password": "a-long-test-password"})
    assert response.status_code == 302


def test_the_database_refuses_an_upper_case_email(db):
    with pytest.raises(IntegrityError, match="users_email_lowercase"):
        with transaction.atomic():
            User.objects.bulk_create([User(email="Upper@Shop.test")])


def test_the_admin_makes_no_second_account_for_another_case(client, db):
    login_verified(client, User.objects.create_superuser("admin@shop.test", "x"))
    User.objects.create_user("new@shop.test", "x")
    assert admin.site._registry[User]
    response = client.post(
        reverse("admin:merchants_user_add"),
        {
            "email": "New@Shop.test",
            "password1": "a-long-test-password",
            "password2": "a-long-test-password",
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert "User with this Email address already exists." in response.content.decode()
    assert User.objects.filter(email__iexact="new@shop.test").count() == 1
