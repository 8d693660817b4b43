"""How long a session lasts: 12 hours at most however busy, 30 idle minutes for owners, managers and platform
admins, a shift for cashiers; the next page says why it ended."""

from django.urls import reverse

from merchants.models import MerchantStaff, User
from merchants.tests.factories import MerchantFactory, login_verified

HOUR = 3600


def back_in_time(client, login_at=0, seen_at=0):
    """Move the session's login time and latest request `login_at` and `seen_at` seconds into the past."""
    session = client.session
    session["login_at"] -= login_at
    session["seen_at"] -= seen_at
    session.save()


def assert_sent_to_log_in(client, page, reason):
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse(page)}"
    login_page = client.get(response["Location"])
    assert reason in login_page.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_session_cookie_lasts_twelve_hours_at_most(settings):
    assert settings.SESSION_COOKIE_AGE == 12 * HOUR == settings.SESSION_MAX_HOURS * HOUR


def test_an_owner_idle_for_thirty_minutes_is_logged_out_and_told_why(as_role, program):
    client = as_role("owner")
    back_in_time(client, login_at=29 * 60, seen_at=29 * 60)
    assert client.get(reverse("home")).status_code == 200  # 29 minutes: still in
    back_in_time(client, login_at=30 * 60, seen_at=30 * 60)
    assert_sent_to_log_in(client, "transactions", "logged out after 30 minutes without activity")


def test_a_manager_too(as_role, program):
    client = as_role("manager")
    back_in_time(client, seen_at=31 * 60)
    assert_sent_to_log_in(client, "home", "30 minutes without activity")


def test_a_busy_owner_is_logged_out_twelve_hours_after_logging_in(as_role, program):
    client = as_role("owner")
    back_in_time(client, login_at=12 * HOUR - 5)
    assert client.get(reverse("home")).status_code == 200
    back_in_time(client, login_at=5)
    assert_sent_to_log_in(client, "home", "logged out 12 hours after logging in")


def test_a_cashier_idles_between_customers_until_the_end_of_the_shift(as_role, program, settings):
    client = as_role("cashier")
    back_in_time(client, login_at=3 * HOUR, seen_at=3 * HOUR)  # three quiet hours at the counter
    assert client.get(reverse("scan")).status_code == 200
    back_in_time(client, login_at=settings.SESSION_CASHIER_SHIFT_HOURS * HOUR - 3 * HOUR)
    assert_sent_to_log_in(client, "scan", f"end of a {settings.SESSION_CASHIER_SHIFT_HOURS}-hour shift")


def test_the_shift_never_goes_past_the_twelve_hours(as_role, program, settings):
    settings.SESSION_CASHIER_SHIFT_HOURS = 16
    client = as_role("cashier")
    back_in_time(client, login_at=12 * HOUR, seen_at=60)
    assert_sent_to_log_in(client, "scan", "logged out 12 hours after logging in")


def test_a_cashier_who_manages_another_merchant_gets_the_idle_rule(as_role, staff, program):
    MerchantStaff.objects.create(merchant=MerchantFactory(), user=staff["cashier"], role=MerchantStaff.Role.MANAGER)
    client = as_role("cashier")
    back_in_time(client, seen_at=31 * 60)
    assert_sent_to_log_in(client, "scan", "30 minutes without activity")


def test_a_promoted_cashier_gets_the_idle_rule_within_a_minute(as_role, staff, program):
    client = as_role("cashier")
    MerchantStaff.objects.filter(user=staff["cashier"]).update(role=MerchantStaff.Role.MANAGER)
    back_in_time(client, seen_at=61)
    assert client.get(reverse("home")).status_code == 200  # the rule is worked out again with the minute's save
    assert client.session["session_rule"] == "idle"


def test_a_platform_admin_idle_for_thirty_minutes_is_logged_out(client, db):
    login_verified(client, User.objects.create_superuser("admin@shop.test", "a-long-test-password"))
    assert client.get("/admin/").status_code == 200
    back_in_time(client, seen_at=30 * 60)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next=/admin/"


def test_the_latest_request_is_saved_at_most_once_a_minute(as_role, program):
    client = as_role("owner")
    back_in_time(client, seen_at=30)
    seen = client.session["seen_at"]
    client.get(reverse("home"))
    assert client.session["seen_at"] == seen  # no session write for a request within the minute
    back_in_time(client, seen_at=31)
    client.get(reverse("home"))
    assert client.session["seen_at"] > seen


def test_a_session_from_before_these_rules_ends(as_role, program):
    client = as_role("owner")
    session = client.session
    del session["login_at"]
    session.save()
    assert_sent_to_log_in(client, "home", "Please log in again.")


def test_a_form_posted_after_the_session_ended_changes_nothing(as_role, staff, program):
    client = as_role("owner")
    back_in_time(client, seen_at=31 * 60)
    response = client.post(reverse("staff"), {"email": "new@shop.test", "role": "cashier"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not User.objects.filter(email="new@shop.test").exists()


def test_logging_in_starts_the_clock(client, staff):
    response = client.post(reverse("login"), {"username": "owner@shop.test", "password": "a-long-test-password"})
    assert response.status_code == 302
    assert client.session["login_at"] == client.session["seen_at"]
    assert client.session["session_rule"] == "idle"


def test_the_api_is_left_alone(as_role, program):
    """The API answers by its keys, not sessions: a request there ends no session, even one past its time."""
    client = as_role("owner")
    back_in_time(client, seen_at=31 * 60)
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert "_auth_user_id" in client.session
