"""Who can open what, the merchant switcher, staff management, login throttling, password reset."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from merchants.models import MerchantStaff, User
from merchants.tests.factories import BUSINESS, MerchantFactory, MerchantStaffFactory
from system.testing import clear_jobs, run_jobs, sql

PAGES = ["home", "transactions", "customers", "daily_analytics", "business", "program", "staff"]
ALLOWED = {
    "owner": {"home", "transactions", "customers", "daily_analytics", "business", "program", "staff"},
    "manager": {"home", "transactions", "customers", "daily_analytics", "business"},
    "cashier": {"transactions"},
}


@pytest.mark.parametrize("role", ["owner", "manager", "cashier"])
def test_each_role_opens_its_pages_and_no_others(as_role, program, role):
    client = as_role(role)
    for page in PAGES:
        response = client.get(reverse(page))
        if page == "home" and role == "cashier":
            assert response.status_code == 302 and response["Location"] == reverse("scan")
        elif page in ALLOWED[role]:
            assert response.status_code == 200, (role, page)
        else:
            assert response.status_code == 403, (role, page)


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    for page in PAGES:
        response = client.get(reverse(page))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_someone_who_is_staff_of_no_merchant_is_told_so(client, db):
    client.force_login(User.objects.create_user("nobody@shop.test", "x"))
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert "not staff of any merchant" in response.content.decode()


def test_a_deactivated_membership_opens_nothing(as_role, staff, merchant):
    MerchantStaff.objects.filter(user=staff["manager"]).update(is_active=False)
    assert as_role("manager").get(reverse("home")).status_code == 403


def test_login_with_email_and_password(client, staff):
    response = client.post(reverse("login"), {"username": "owner@shop.test", "password": "a-long-test-password"})
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_a_wrong_password_says_so_and_keeps_the_user_out(client, staff):
    response = client.post(reverse("login"), {"username": "owner@shop.test", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct email address and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_failed_logins_from_one_address_lock_it_out_with_a_clear_message(client, staff, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):  # other emails each time: no account is throttled
        client.post(reverse("login"), {"username": f"guess{attempt}@shop.test", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "owner@shop.test", "password": "a-long-test-password"})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "paused for 15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db(transaction=True)
def test_password_reset_by_email(client, staff):
    clear_jobs()
    response = client.post(reverse("password_reset"), {"email": "owner@shop.test"})
    assert response.status_code == 302
    assert mail.outbox == []  # the worker sends it
    run_jobs()
    [message] = mail.outbox
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)
    response = client.get(link, follow=True)
    response = client.post(
        response.redirect_chain[-1][0], {"new_password1": "brand-new-secret-77", "new_password2": "brand-new-secret-77"}
    )
    assert response.status_code == 302
    assert User.objects.get(email="owner@shop.test").check_password("brand-new-secret-77")


def test_the_switcher_changes_the_active_merchant(client, staff, merchant):
    other = MerchantFactory(business_name="Second Shop")
    MerchantStaffFactory(merchant=other, user=staff["owner"], role="manager")
    client.force_login(staff["owner"])
    assert merchant.business_name in client.get(reverse("home")).content.decode()

    response = client.post(reverse("switch_merchant"), {"merchant": str(other.pk)})

    assert response.status_code == 302
    page = client.get(reverse("home")).content.decode()
    assert '<h1 class="h4 mb-0">Second Shop</h1>' in page
    assert client.get(reverse("staff")).status_code == 403  # a manager there


def test_the_switcher_refuses_a_merchant_of_someone_else(as_role, db):
    stranger = MerchantFactory()
    response = as_role("owner").post(reverse("switch_merchant"), {"merchant": str(stranger.pk)})
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_an_owner_invites_a_cashier_who_sets_a_password(as_role, merchant):
    clear_jobs()
    client = as_role("owner")
    response = client.post(reverse("staff"), {"email": "New.Person@Shop.test", "role": "cashier"})
    assert response.status_code == 302
    run_jobs()
    membership = MerchantStaff.objects.get(user__email="new.person@shop.test")
    assert (membership.merchant, membership.role, membership.is_active) == (merchant, "cashier", True)
    assert not membership.user.has_usable_password()
    [message] = mail.outbox
    assert "Set your password here: http://testserver/accounts/reset/" in message.body


def test_inviting_someone_already_on_the_staff_is_refused_next_to_the_email(as_role, staff):
    response = as_role("owner").post(reverse("staff"), {"email": "cashier@shop.test", "role": "manager"})
    assert response.status_code == 200
    assert "already cashier here" in response.content.decode()
    assert MerchantStaff.objects.get(user=staff["cashier"]).role == "cashier"


def test_a_bad_invitation_changes_nothing(as_role, staff):
    before = MerchantStaff.objects.count()
    response = as_role("owner").post(reverse("staff"), {"email": "not an email", "role": "emperor"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Enter a valid email address." in content and "Select a valid choice." in content
    assert MerchantStaff.objects.count() == before


def test_an_owner_deactivates_a_cashier(as_role, staff):
    membership = MerchantStaff.objects.get(user=staff["cashier"])
    response = as_role("owner").post(reverse("staff_deactivate", args=[membership.pk]))
    assert response.status_code == 302
    membership.refresh_from_db()
    assert not membership.is_active


def test_an_owner_cannot_deactivate_themselves(as_role, staff):
    membership = MerchantStaff.objects.get(user=staff["owner"])
    response = as_role("owner").post(reverse("staff_deactivate", args=[membership.pk]), follow=True)
    assert "You cannot deactivate yourself." in response.content.decode()
    membership.refresh_from_db()
    assert membership.is_active


def test_the_last_active_owner_stays(as_role, staff, merchant):
    second = User.objects.create_user("second@shop.test", "x")
    MerchantStaff.objects.create(merchant=merchant, user=second, role="owner")
    owner = MerchantStaff.objects.get(user=staff["owner"])
    client = as_role("owner")
    client.force_login(second)
    client.post(reverse("staff_deactivate", args=[owner.pk]))  # second removes the first owner
    owner.refresh_from_db()
    assert not owner.is_active


def test_times_show_in_the_merchants_time_zone(as_role, merchant, program, customer):
    merchant.timezone = "Asia/Tokyo"
    merchant.save()
    sql(
        "INSERT INTO transactions (merchant_id, customer_id, amount, status, completed_at, created_at) "
        "VALUES (%s, %s, 10, 'completed', '2026-03-09 15:30+00', '2026-03-09 15:30+00')",
        [merchant.id, customer.id],
    )
    page = as_role("owner").get(reverse("transactions")).content.decode()
    assert "10 Mar 2026 00:30" in page


def test_a_manager_edits_the_business_but_not_its_billing(as_role, merchant):
    client = as_role("manager")
    assert "business_email" not in client.get(reverse("business")).context["form"].fields
    response = client.post(
        reverse("business"), {**BUSINESS, "subscription_plan": "enterprise", "business_email": "hijack@example.test"}
    )
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.business_name, merchant.timezone) == ("Renamed Café", "Europe/Berlin")
    assert (merchant.subscription_plan, merchant.business_email) == ("basic", merchant.business_email)
    assert merchant.business_email != "hijack@example.test"


def test_an_owner_changes_the_billing_email_but_the_plan_is_the_platforms(as_role, merchant):
    data = {**BUSINESS, "subscription_plan": "enterprise", "business_email": "Shop@New.test"}
    response = as_role("owner").post(reverse("business"), data)
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.subscription_plan, merchant.business_email) == ("basic", "shop@new.test")


def test_a_billing_email_taken_in_another_case_is_refused(as_role, merchant):
    from merchants.tests.factories import MerchantFactory

    other = MerchantFactory(business_email="taken@shop.test")
    data = {**BUSINESS, "business_email": other.business_email.upper()}
    response = as_role("owner").post(reverse("business"), data)
    assert response.status_code == 200 and "this one is taken" in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "Select a valid choice."),
        ("currency", "usd", "Select a valid choice."),
        ("business_name", "", "This field is required."),
    ],
)
def test_bad_business_details_are_explained_and_nothing_is_saved(as_role, merchant, field, value, message):
    before = merchant.business_name
    response = as_role("owner").post(
        reverse("business"),
        {**BUSINESS, "subscription_plan": "basic", "business_email": merchant.business_email, field: value},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    merchant.refresh_from_db()
    assert merchant.business_name == before


def test_a_merchant_turns_printed_codes_off(as_role, merchant):
    data = {**BUSINESS, "subscription_plan": "basic", "business_email": merchant.business_email}
    as_role("owner").post(reverse("business"), data)  # an unticked box is absent from the form
    merchant.refresh_from_db()
    assert merchant.allow_static_codes is False


def test_only_an_owner_turns_printed_codes_off_or_on(as_role, merchant):
    manager = as_role("manager")
    assert "allow_static_codes" not in manager.get(reverse("business")).context["form"].fields
    assert manager.post(reverse("business"), BUSINESS).status_code == 302  # the box unticked: ignored
    merchant.refresh_from_db()
    assert merchant.allow_static_codes
    owner, data = as_role("owner"), {**BUSINESS, "business_email": merchant.business_email}
    assert owner.post(reverse("business"), data).status_code == 302
    merchant.refresh_from_db()
    assert not merchant.allow_static_codes
    assert owner.post(reverse("business"), {**data, "allow_static_codes": "on"}).status_code == 302
    merchant.refresh_from_db()
    assert merchant.allow_static_codes
