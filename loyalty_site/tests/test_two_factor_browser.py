"""Two-factor sign-in in Chromium: set up from the key the page shows, then the code at the next login."""

import time
from base64 import b32decode

from django_otp.oath import TOTP
from playwright.sync_api import expect

from loyalty_site.tests.test_browser import browser, shoot  # noqa: F401 (browser: the fixture)
from merchants.models import MerchantStaff, User
from merchants.tests.factories import MerchantFactory


def code_for(typed_key: str, steps: int = 0) -> str:
    """What an authenticator app given `typed_key` (base32, in groups) shows now, or `steps` periods later."""
    key = typed_key.replace(" ", "")
    totp = TOTP(b32decode(key + "=" * (-len(key) % 8)))
    totp.time = time.time() + 30 * steps
    return f"{totp.token():06d}"


def test_an_owner_sets_up_two_factor_sign_in_and_logs_in_with_a_code(browser, live_server, transactional_db):  # noqa: F811
    owner = User.objects.create_user("owner@2fa.test", "a-long-test-password")
    MerchantStaff.objects.create(merchant=MerchantFactory(), user=owner, role=MerchantStaff.Role.OWNER)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def log_in():
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(owner.email)
        page.get_by_label("Password").fill("a-long-test-password")
        page.get_by_role("button", name="Log in").click()

    log_in()
    page.get_by_title("Two-factor sign-in").click()
    page.get_by_role("link", name="Set up an authenticator app").click()
    expect(page.locator(".qr svg")).to_be_visible()
    key = page.locator("#totp-key").inner_text()
    shoot(page, "two_factor_setup")
    page.get_by_label("Code").fill(code_for(key))
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator(".recovery-code")).to_have_count(10)
    shoot(page, "two_factor_recovery_codes")
    page.get_by_role("button", name="Log out").click()

    log_in()
    expect(page.get_by_role("heading", name="Your code")).to_be_visible()
    shoot(page, "two_factor_code")
    page.get_by_label("Code").fill(code_for(key, steps=1))  # the set-up's code cannot be used again
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()
    assert errors == []
