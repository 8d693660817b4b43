"""Login throttling: per client address (axes, the real address behind the proxies) and per account (a growing
delay, not a lockout; browsers that logged in to the account before are not slowed). Real requests."""

import pytest
from django.test import Client
from django.urls import reverse

from merchants.login_throttle import throttle_wait
from system.testing import sql

# Committed rows and a moving now(): rate limits count within now()'s window, frozen inside a test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)
LOGIN = "/accounts/login/"
PASSWORD = "a-long-test-password"


def attempt(client, email, password="wrong", ip="203.0.113.1", **headers):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip, **headers)


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("home")


def time_passes(seconds: int) -> None:
    """Move every recorded failure and turn `seconds` into the past."""
    sql("UPDATE rate_limit_hits SET created_at = created_at - make_interval(secs => %s)", [seconds])


def throttle(email: str, delay: int) -> None:
    """Fail to log in to `email` (a stranger at five addresses, waiting out each delay) until the delay is `delay`."""
    for n in range(5):
        attempt(Client(), email, ip=f"198.51.100.{n}")
    while (in_force := throttle_wait(email)[1]) < delay:
        time_passes(in_force)
        attempt(Client(), email, ip="198.51.100.0")


def test_an_address_is_locked_out_after_failures_across_emails_and_others_are_not(client, staff, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"guess{n}@shop.test", ip="198.51.100.7")
    assert attempt(client, "owner@shop.test", PASSWORD, ip="198.51.100.7").status_code == 429
    assert logged_in(attempt(Client(), "owner@shop.test", PASSWORD, ip="198.51.100.8"))


def test_behind_a_proxy_the_address_is_the_real_clients(staff, settings):
    """Everyone comes from the proxy's address: only the address it forwarded counts, and what a client wrote
    into X-Forwarded-For itself changes nothing."""
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        forged = f"192.0.2.{n}, 198.51.100.66"  # a made-up address on the left, the proxy's entry on the right
        attempt(attacker, f"guess{n}@shop.test", ip="10.0.0.1", HTTP_X_FORWARDED_FOR=forged)
    locked = attempt(attacker, "owner@shop.test", PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.66")
    assert locked.status_code == 429
    owner = attempt(Client(), "owner@shop.test", PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert logged_in(owner)


def use_up_fresh_tries(email: str, settings) -> None:
    """Wrong passwords from as many new addresses as an account lets through while it is throttled (a botnet)."""
    for n in range(settings.LOGIN_THROTTLE_FRESH_TRIES):
        page = attempt(Client(), email, ip=f"192.0.2.{n}").content.decode()
        assert "Please enter a correct email address and password" in page  # checked, not made to wait


def refused(response) -> bool:
    return response.status_code == 200 and "Too many failed logins for this email" in response.content.decode()


def test_after_the_free_failures_the_addresses_that_failed_wait(client, staff, settings):
    for n in range(settings.LOGIN_THROTTLE_FREE_FAILURES):
        assert attempt(client, "owner@shop.test", ip=f"198.51.100.{n}").status_code == 200
    # the right password, from an address that failed: refused before the password is checked
    response = attempt(Client(), "owner@shop.test", PASSWORD, ip="198.51.100.0")
    assert "Too many failed logins for this email: try again in 2 seconds." in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session
    # the email typed in another case is the same account; an unknown email is throttled the same way
    assert refused(attempt(Client(), "OWNER@shop.test", ip="198.51.100.1"))
    for n in range(settings.LOGIN_THROTTLE_FREE_FAILURES):
        attempt(Client(), "nobody@shop.test", ip=f"198.51.100.{n}")
    assert refused(attempt(Client(), "nobody@shop.test", ip="198.51.100.2"))
    # the manager's account is not slowed by the owner's failures
    assert logged_in(attempt(Client(), "manager@shop.test", PASSWORD, ip="198.51.100.3"))


def test_a_stranger_at_one_address_cannot_keep_the_owner_out(client, staff, settings):
    throttle("owner@shop.test", 32)
    for _ in range(10):  # hammering on from the stranger's address
        assert refused(attempt(Client(), "owner@shop.test", ip="198.51.100.0"))
    assert logged_in(attempt(Client(), "owner@shop.test", PASSWORD, ip="203.0.113.50"))  # no wait


def test_new_addresses_get_a_limited_number_of_tries_while_an_account_is_throttled(client, staff, settings):
    throttle("owner@shop.test", 8)
    use_up_fresh_tries("owner@shop.test", settings)
    assert refused(attempt(Client(), "owner@shop.test", PASSWORD, ip="203.0.113.51"))
    assert throttle_wait("owner@shop.test")[1] == settings.LOGIN_THROTTLE_MAX_DELAY_SECONDS  # each try counted
    time_passes(settings.LOGIN_THROTTLE_MAX_DELAY_SECONDS)
    assert logged_in(attempt(Client(), "owner@shop.test", PASSWORD, ip="203.0.113.51"))  # once the wait is over


def test_the_delay_grows_with_each_checked_failure_up_to_the_maximum(client, staff, settings):
    settings.LOGIN_THROTTLE_MAX_DELAY_SECONDS = 20
    for n in range(settings.LOGIN_THROTTLE_FREE_FAILURES):
        attempt(client, "owner@shop.test", ip=f"198.51.100.{n}")
    delays = []
    for _ in range(5):
        delays.append(throttle_wait("owner@shop.test")[1])
        time_passes(delays[-1])
        assert attempt(Client(), "owner@shop.test", ip="198.51.100.0").status_code == 200  # checked: fails
    assert delays == [2, 4, 8, 16, 20]


def test_throttled_tries_gain_no_guess_and_do_not_lengthen_the_wait(client, staff, settings):
    throttle("owner@shop.test", 32)
    for n in range(30):  # a stranger hammering from the addresses that failed while the email waits
        assert refused(attempt(Client(), "owner@shop.test", PASSWORD, ip=f"198.51.100.{n % 5}"))
    assert throttle_wait("owner@shop.test")[1] == 32
    time_passes(32)
    assert logged_in(attempt(Client(), "owner@shop.test", PASSWORD, ip="198.51.100.0"))


def test_a_stranger_with_many_addresses_cannot_keep_the_owner_out_of_a_browser_they_logged_in_from(
    client, staff, settings
):
    owner = Client()
    assert logged_in(attempt(owner, "owner@shop.test", PASSWORD, ip="203.0.113.80"))
    assert owner.cookies["trusted_logins"]["httponly"]
    owner.post(reverse("logout"), REMOTE_ADDR="203.0.113.80")
    throttle("owner@shop.test", 32)
    use_up_fresh_tries("owner@shop.test", settings)
    assert refused(attempt(Client(), "owner@shop.test", PASSWORD, ip="203.0.113.81"))  # a browser never used
    # the owner's own browser is not slowed; a wrong password there still fails like anywhere
    assert "Please enter a correct" in attempt(owner, "owner@shop.test", "wrong", ip="203.0.113.82").content.decode()
    assert logged_in(attempt(owner, "owner@shop.test", PASSWORD, ip="203.0.113.82"))


def test_a_trusted_browser_is_trusted_for_its_own_accounts_only_and_a_forged_cookie_is_ignored(client, staff, settings):
    browser = Client()
    assert logged_in(attempt(browser, "cashier@shop.test", PASSWORD, ip="203.0.113.90"))
    browser.post(reverse("logout"), REMOTE_ADDR="203.0.113.90")
    throttle("owner@shop.test", 32)
    use_up_fresh_tries("owner@shop.test", settings)
    assert refused(attempt(browser, "owner@shop.test", PASSWORD, ip="203.0.113.90"))
    forged = Client()
    forged.cookies["trusted_logins"] = browser.cookies["trusted_logins"].value.replace(":", "x:", 1)
    assert refused(attempt(forged, "owner@shop.test", PASSWORD, ip="203.0.113.91"))


def test_when_the_wait_is_over_concurrent_tries_take_one_turn(staff, settings):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    for n in range(settings.LOGIN_THROTTLE_FREE_FAILURES):
        attempt(Client(), "owner@shop.test", ip=f"198.51.100.{n}")
    time_passes(2)

    def one(n):
        try:
            return attempt(Client(), "owner@shop.test", ip=f"198.51.100.{n % 5}")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(one, range(6)))
    assert sum(not refused(response) for response in responses) == 1  # one password checked
    assert throttle_wait("owner@shop.test")[1] == 4


def test_the_admin_login_shows_the_throttle_too(staff, settings):
    User = staff["owner"].__class__
    User.objects.create_superuser("admin@shop.test", PASSWORD)
    admin_login = "/admin/login/"
    for n in range(settings.LOGIN_THROTTLE_FREE_FAILURES):
        Client().post(admin_login, {"username": "admin@shop.test", "password": "wrong"}, REMOTE_ADDR=f"198.51.100.{n}")
    right = {"username": "admin@shop.test", "password": PASSWORD}
    response = Client().post(admin_login, right, REMOTE_ADDR="198.51.100.0")
    assert response.status_code == 200
    assert "Too many failed logins for this email" in response.content.decode()
