"""The owner's merge page (transactions/merge_views.py) and the admin's merge action (transactions/admin.py)."""

import pytest
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission
from django.urls import reverse

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from loyalty.testing import account_of
from merchants.models import User
from merchants.tests.factories import MerchantFactory, login_verified
from system.codes import mask_code
from transactions.models import CustomerMerge
from transactions.testing import complete_sale


@pytest.fixture
def pair(merchant, program):
    """Two members of `merchant`: Ann Lee with 30 points, A. Lee with 10."""
    source = CustomerFactory(first_name="Ann", last_name="Lee")
    target = CustomerFactory(first_name="A.", last_name="Lee")
    complete_sale(merchant=merchant, customer=source, amount="30.00")
    complete_sale(merchant=merchant, customer=target, amount="10.00")
    return source, target


def merge_url(customer):
    return reverse("customer_merge", args=[customer.pk])


def test_the_member_page_offers_the_merge_to_owners_only(as_role, pair):
    source, _ = pair
    assert 'id="merge"' in as_role("owner").get(reverse("customer", args=[source.pk])).content.decode()
    assert 'id="merge"' not in as_role("manager").get(reverse("customer", args=[source.pk])).content.decode()


@pytest.mark.parametrize("role", ["manager", "cashier"])
def test_managers_and_cashiers_cannot_merge(as_role, pair, role):
    source, target = pair
    client = as_role(role)
    assert client.get(merge_url(source)).status_code == 403
    assert client.get(merge_url(source), {"into": target.pk}).status_code == 403
    assert client.post(merge_url(source), {"into": target.pk}).status_code == 403
    assert not CustomerMerge.objects.exists()


def test_the_owner_picks_confirms_and_the_points_move(as_role, merchant, pair):
    source, target = pair
    stranger = CustomerFactory(first_name="Ann", last_name="Elsewhere")
    complete_sale(merchant=MerchantFactory(), customer=stranger)
    client = as_role("owner")

    listing = client.get(merge_url(source), {"q": "lee"}).content.decode()
    assert "A. Lee" in listing and f"?into={target.pk}" in listing
    assert f"?into={source.pk}" not in listing  # not into itself
    assert "Elsewhere" not in client.get(merge_url(source), {"q": "ann"}).content.decode()  # members only
    assert target.customer_code not in listing  # the whole code is never shown

    confirm = client.get(merge_url(source), {"into": target.pk}).content.decode()
    assert "Ann Lee" in confirm and "A. Lee" in confirm
    assert mask_code(source.customer_code) in confirm and mask_code(target.customer_code) in confirm
    assert "30 points" in confirm and "10 points" in confirm
    assert not CustomerMerge.objects.exists()  # a GET changes nothing

    response = client.post(merge_url(source), {"into": target.pk}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("customer", args=[target.pk])
    assert "was merged into A. Lee" in response.content.decode()
    assert account_of(target, merchant).current_points == 40
    assert account_of(source, merchant).current_points == 0
    merge = CustomerMerge.objects.get()
    assert (merge.source_id, merge.target_id, merge.merchant_id) == (source.pk, target.pk, merchant.pk)


def test_both_must_be_members_here(as_role, pair):
    source, target = pair
    outsider = CustomerFactory()
    complete_sale(merchant=MerchantFactory(), customer=outsider)
    client = as_role("owner")
    assert client.get(merge_url(outsider)).status_code == 404
    assert client.get(merge_url(source), {"into": outsider.pk}).status_code == 404
    assert client.post(merge_url(source), {"into": outsider.pk}).status_code == 404
    assert client.post(merge_url(outsider), {"into": target.pk}).status_code == 404
    assert client.get(merge_url(source), {"into": "not-a-uuid"}).status_code == 404
    assert not CustomerMerge.objects.exists()


@pytest.mark.parametrize("case, message", [("itself", "cannot be merged into itself"), ("erased", "is erased")])
def test_a_refused_merge_says_why_and_changes_nothing(as_role, merchant, pair, case, message):
    source, target = pair
    if case == "itself":
        target = source
    else:
        Customer.objects.filter(pk=target.pk).update(status="erased", email=None)
    response = as_role("owner").post(merge_url(source), {"into": target.pk}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("customer", args=[source.pk])
    assert message in response.content.decode()
    assert not CustomerMerge.objects.exists()
    assert account_of(source, merchant).current_points == 30


# The admin's action on customers


@pytest.fixture
def admin_client(client, db):
    login_verified(client, User.objects.create_superuser("admin@platform.test", "a-long-test-password"))
    return client


def run_action(client, customers, **extra):
    data = {
        "action": "merge_into_another_customer",
        helpers.ACTION_CHECKBOX_NAME: [str(c.pk) for c in customers],
        **extra,
    }
    return client.post(reverse("admin:customers_customer_changelist"), data, follow=True)


def test_the_admin_merges_one_customer_into_the_one_a_code_names(admin_client, merchant, pair):
    source, target = pair
    page = run_action(admin_client, [source])
    assert page.status_code == 200 and "customer code" in page.content.decode().lower()
    assert not CustomerMerge.objects.exists()

    code = target.customer_code.lower()
    typed = f"{code[:4]} {code[4:8]}-{code[8:]}"  # typed any way normalize() accepts
    response = run_action(admin_client, [source], post="yes", text=typed)
    assert f"was merged into {target.customer_code}" in response.content.decode()
    source.refresh_from_db()
    assert (source.status, source.merged_into_id) == ("merged", target.pk)
    assert account_of(target, merchant).current_points == 40
    assert CustomerMerge.objects.get().merchant is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("nonsense", "A code has 11 characters"),
        ("22222222222", "no customer has the code"),
        ("itself", "cannot be merged into itself"),
    ],
)
def test_the_admin_merge_refuses_with_a_message(admin_client, pair, text, message):
    source, _ = pair
    if text == "itself":
        text = source.customer_code
    elif text == "22222222222":
        from system.codes import check_character

        text = "2222222222" + check_character("2222222222")
    response = run_action(admin_client, [source], post="yes", text=text)
    assert message in response.content.decode()
    assert not CustomerMerge.objects.exists()


def test_the_admin_merge_takes_exactly_one_customer(admin_client, pair):
    response = run_action(admin_client, list(pair), post="yes", text=pair[1].customer_code)
    assert "Choose exactly one customer" in response.content.decode()
    assert not CustomerMerge.objects.exists()


def test_the_admin_merge_needs_the_change_permission(db, rf):
    model_admin = admin.site._registry[Customer]
    request = rf.get("/")
    request.user = User.objects.create_superuser("root@platform.test", "a-long-test-password")
    assert "merge_into_another_customer" in model_admin.get_actions(request)
    request.user = User.objects.create_user("viewer@platform.test", "a-long-test-password", is_staff=True)
    request.user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    request.user = User.objects.get(pk=request.user.pk)  # fresh permission cache
    assert "merge_into_another_customer" not in model_admin.get_actions(request)
