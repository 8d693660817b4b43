"""The admin's side: erasing customers (with a confirmation page and its own permission), sending a new card link
the operator never sees, and the customers' erasure requests, confirmed or declined."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from customers.models import Customer, ErasureRequest
from customers.selectors import customer_by_card_secret
from customers.services import card_link_issue, erasure_request
from customers.tests.factories import CustomerFactory
from merchants.models import User
from merchants.tests.factories import login_verified
from system.models import OutgoingEmail

pytestmark = pytest.mark.django_db

CUSTOMERS = reverse("admin:customers_customer_changelist")
REQUESTS = reverse("admin:customers_erasurerequest_changelist")


@pytest.fixture
def admin_client(client):
    login_verified(client, User.objects.create_superuser("root@platform.test", "a-long-test-password"))
    return client


def act(client, url, action, objects, **extra):
    return client.post(url, {"action": action, "_selected_action": [str(o.pk) for o in objects], **extra})


def test_erase_asks_first_then_erases_with_the_reason(admin_client):
    customer = CustomerFactory(first_name="Zelda")
    page = act(admin_client, CUSTOMERS, "erase_personal_data", [customer])
    assert page.status_code == 200 and "your points" not in page.content.decode().lower()
    assert "This cannot be undone" in page.content.decode() and str(customer) in page.content.decode()
    assert Customer.objects.get(pk=customer.pk).status == "active"
    done = act(admin_client, CUSTOMERS, "erase_personal_data", [customer], post="yes", text="Asked by phone")
    assert done.status_code == 302
    customer.refresh_from_db()
    assert customer.status == "erased" and customer.first_name == ""
    messages = [str(m) for m in done.wsgi_request._messages]
    assert any("erased" in m for m in messages)
    # An erased customer's change page is read-only.
    page = admin_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    assert page.status_code == 200 and 'name="first_name"' not in page.content.decode()


def test_erase_refuses_a_merged_customer_with_a_message(admin_client):
    survivor, merged = CustomerFactory(), CustomerFactory()
    Customer.objects.filter(pk=merged.pk).update(status="merged", merged_into=survivor)
    done = act(admin_client, CUSTOMERS, "erase_personal_data", [merged], post="yes", text="r")
    assert any(survivor.customer_code in str(m) for m in done.wsgi_request._messages)
    assert Customer.objects.get(pk=merged.pk).status == "merged"


def test_erasing_needs_its_own_permission(client):
    user = User.objects.create_user("ops@platform.test", "a-long-test-password", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "change_customer"]))
    login_verified(client, user)
    customer = CustomerFactory()
    page = client.get(CUSTOMERS)
    assert "erase_personal_data" not in page.content.decode() and "send_new_card_link" in page.content.decode()
    act(client, CUSTOMERS, "erase_personal_data", [customer], post="yes", text="r")
    assert Customer.objects.get(pk=customer.pk).status == "active"
    user.user_permissions.add(Permission.objects.get(codename="erase_customer"))
    user = User.objects.get(pk=user.pk)
    login_verified(client, user)
    assert "erase_personal_data" in client.get(CUSTOMERS).content.decode()


def test_a_new_card_link_is_emailed_and_the_admin_never_sees_it(admin_client):
    customer = CustomerFactory(email="zelda@example.test")
    old = card_link_issue(customer=customer)
    response = act(admin_client, CUSTOMERS, "send_new_card_link", [customer])
    assert response.status_code == 302
    [email] = OutgoingEmail.objects.all()
    assert email.to == ["zelda@example.test"]
    new = re.search(r"/card/([0-9a-f]{64})/", email.body).group(1)
    assert customer_by_card_secret(old) is None and customer_by_card_secret(new) == customer
    shown = admin_client.get(response["Location"]).content.decode()
    assert new not in shown and "emailed" in shown
    assert admin_client.get(reverse("card", args=[new])).status_code == 200


def test_without_an_email_the_link_is_revoked(admin_client):
    customer = CustomerFactory(email=None)
    old = card_link_issue(customer=customer)
    response = act(admin_client, CUSTOMERS, "send_new_card_link", [customer])
    assert not OutgoingEmail.objects.exists() and customer_by_card_secret(old) is None
    assert "recovering their card with their phone" in admin_client.get(response["Location"]).content.decode()


def test_a_customers_request_lands_in_the_admin_pending_first_and_confirming_erases(admin_client):
    old_done = CustomerFactory()
    ErasureRequest.objects.create(customer=old_done, status="declined", note="test")
    customer = CustomerFactory(first_name="Zelda")
    request, _ = erasure_request(customer=customer)
    listing = admin_client.get(REQUESTS).content.decode()
    assert listing.index(str(request)) < listing.index(f"Erasure of {old_done.pk}")
    assert admin_client.get(REQUESTS + "?status__exact=pending").status_code == 200
    page = act(admin_client, REQUESTS, "confirm_and_erase", [request])
    assert page.status_code == 200 and Customer.objects.get(pk=customer.pk).status == "active"
    wrong = act(admin_client, REQUESTS, "confirm_and_erase", [request], post="yes", text="yes")
    assert Customer.objects.get(pk=customer.pk).status == "active" and wrong.status_code == 302
    act(admin_client, REQUESTS, "confirm_and_erase", [request], post="yes", text="ERASE")
    request.refresh_from_db()
    assert request.status == "done" and request.decided_by.email == "root@platform.test"
    assert Customer.objects.get(pk=customer.pk).status == "erased"


def test_a_request_is_declined_with_a_note_and_cannot_be_deleted_or_edited(admin_client):
    customer = CustomerFactory()
    request, _ = erasure_request(customer=customer)
    act(admin_client, REQUESTS, "decline", [request], post="yes", text="Has an open dispute")
    request.refresh_from_db()
    assert (request.status, request.note) == ("declined", "Has an open dispute")
    assert Customer.objects.get(pk=customer.pk).status == "active"
    assert admin_client.get(reverse("admin:customers_erasurerequest_delete", args=[request.pk])).status_code == 403
    page = admin_client.get(reverse("admin:customers_erasurerequest_change", args=[request.pk])).content.decode()
    assert 'name="note"' not in page
    # A declined request is no longer pending: confirming it does nothing.
    act(admin_client, REQUESTS, "confirm_and_erase", [request], post="yes", text="ERASE")
    assert Customer.objects.get(pk=customer.pk).status == "active"
