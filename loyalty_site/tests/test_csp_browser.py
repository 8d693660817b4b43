"""The Content-Security-Policy in Chromium: the main pages, the charts, the admin, the API's docs and the counter's
camera work with the policy on and the browser reports no violation; then the counter, a chart and the API under
the production profile (gunicorn, collected static files, Secure cookies over plain HTTP on loopback).

A violation is caught twice: by a `securitypolicyviolation` listener every page gets before its own scripts
run, and by Chromium's console message ("... violates the following Content Security Policy directive ...").
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from django.db import connection
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect, sync_playwright

from api.services import api_key_create
from customers.models import Customer
from customers.services import card_link_issue
from loyalty_site import embedded_db
from loyalty_site.tests.test_browser import CHROMIUM_ARGS, chromium_path
from loyalty_site.tests.test_counter_browser import video_of
from merchants.models import Merchant, MerchantStaff, User
from operations.monitoring import sizes_snapshot
from transactions.models import Transaction

WATCH = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.reportCspViolation(event.violatedDirective + " blocked " + (event.blockedURI || "inline") + " in "
    + event.sourceFile + ":" + event.lineNumber + " on " + document.location.pathname);
});
"""


def watch(context) -> list[str]:
    """The CSP violations of every page of `context`, as they happen."""
    violations = []
    context.expose_function("reportCspViolation", lambda text: violations.append(text))
    context.add_init_script(WATCH)

    def console(message):
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    context.on("console", console)
    return violations


def log_in(page, base_url, email):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def visit(page, url):
    """Open `url`; it answers 200 with the policy, scripts limited to our own files."""
    response = page.goto(url)
    assert response.status == 200, f"{url}: {response.status}"
    policy = response.headers["content-security-policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'self'" in script_src and "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    page.wait_for_load_state("load")
    return response


def a_member():
    shop = Merchant.objects.get(business_email="hello@beanthere.demo")
    return shop, Customer.objects.filter(loyalty_accounts__merchant=shop).order_by("customer_code").first()


@pytest.fixture
def chromium(tmp_path):
    """open(video) -> a new browser context with a fake camera playing `video` (None: no camera at all)."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    playwright = sync_playwright().start()
    browsers = []

    def open_context(video=None):
        args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream"]
        args += (
            ["--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={video}"]
            if video
            else ["--deny-permission-prompts"]
        )
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=args)
        browsers.append(browser)
        return browser.new_context(viewport={"width": 1280, "height": 900})

    yield open_context
    for browser in browsers:
        browser.close()
    playwright.stop()


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", merchants=2, customers=20, transactions=200, verbosity=0)


def scan_and_sell(page, base_url, customer, amount):
    visit(page, f"{base_url}/scan/")
    expect(page.locator("#customer-name")).to_have_text(customer.full_name, timeout=10_000)  # read by the camera
    page.get_by_label("Amount").fill(amount)
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("heading", name="Sale complete")).to_be_visible()
    assert Transaction.objects.filter(customer=customer, amount=Decimal(amount), status="completed").count() == 1


def test_the_watch_sees_a_violation(chromium, live_server, demo):
    """The listener works: an inline script added to a page is refused, and reported."""
    context = chromium()
    violations = watch(context)
    page = context.new_page()
    visit(page, f"{live_server.url}/accounts/login/")
    page.evaluate("() => { var s = document.createElement('script'); s.textContent = 'window.ran = 1'; "
                  "document.body.appendChild(s); }")  # fmt: skip
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.ran") is None
    assert any("script-src" in v for v in violations), violations


def test_every_main_page_works_under_the_policy(chromium, live_server, demo, tmp_path):
    shop, customer = a_member()
    base = live_server.url
    context = chromium(video_of(customer.customer_code, tmp_path))
    violations = watch(context)
    page = context.new_page()

    visit(page, f"{base}/accounts/login/")
    visit(page, f"{base}/accounts/password_reset/")
    visit(page, f"{base}/card/recover/")
    visit(page, f"{base}/join/{shop.merchant_code}/")
    visit(page, f"{base}/card/{card_link_issue(customer=customer)}/")
    expect(page.locator("#live-qr svg")).to_be_visible()
    page.evaluate("() => { window.print = () => { window.printed = true; }; }")  # headless Chromium prints nothing
    page.get_by_role("button", name="Print a card").click()
    assert page.evaluate("() => window.printed") is True

    other = Merchant.objects.exclude(pk=shop.pk).first()
    owner = User.objects.get(email="owner@demo.test")
    MerchantStaff.objects.create(merchant=other, user=owner, role=MerchantStaff.Role.MANAGER)
    log_in(page, base, "owner@demo.test")
    page.get_by_label("Merchant", exact=True).select_option(str(other.pk))  # switches on change, no button
    expect(page.get_by_role("heading", name=other.business_name)).to_be_visible()
    page.get_by_label("Merchant", exact=True).select_option(str(shop.pk))
    expect(page.get_by_role("heading", name=shop.business_name)).to_be_visible()
    for path in ("/", "/analytics/", f"/customers/{customer.pk}/"):
        visit(page, base + path)
        expect(page.locator("[data-chart] svg.main-svg").first).to_be_visible()
    for path in ("/transactions/", "/customers/", "/program/", "/staff/", "/business/", "/flags/"):
        visit(page, base + path)
        expect(page.locator("h1").first).to_be_visible()
    visit(page, f"{base}/poster/")
    expect(page.locator("#poster svg")).to_be_visible()
    visit(page, f"{base}/api-keys/")
    visit(page, f"{base}/customers/{customer.pk}/merge/")

    # the scripts that replaced the inline handlers: a confirmation worded from the form, refused: nothing sent
    sale = Transaction.objects.filter(merchant=shop, status="completed").order_by("created_at").first()
    visit(page, f"{base}/transactions/{sale.pk}/")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Refund").click()
    expect(page.locator("#refund-form")).to_be_visible()
    assert asked and asked[0].startswith("Refund everything left, "), asked
    page.get_by_label("Amount to refund").fill("1.00")
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Refund").click()
    page.wait_for_timeout(200)
    assert asked[1].startswith(f"Refund 1.00 {sale.currency} of this sale?"), asked
    sale.refresh_from_db()
    assert sale.status == "completed" and not sale.refunded_amount

    visit(page, f"{base}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()

    page.context.clear_cookies()
    log_in(page, base, "cashier@demo.test")
    scan_and_sell(page, base, customer, "12.30")

    # A platform admin gives a second factor after the password: the code page is under the policy too.
    admin_device = TOTPDevice.objects.create(user=User.objects.get(email="admin@demo.test"), name="App", confirmed=True)
    page.context.clear_cookies()
    page.goto(f"{base}/admin/login/")
    page.get_by_label("Email").fill("admin@demo.test")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your code")).to_be_visible()
    totp = TOTP(admin_device.bin_key, admin_device.step, admin_device.t0, admin_device.digits, admin_device.drift)
    page.get_by_label("Code").fill(f"{totp.token():06d}")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#site-name")).to_be_visible()
    sizes_snapshot()  # the tables page draws their sizes
    for path in (
        "/admin/",
        "/admin/merchants/merchant/",
        f"/admin/merchants/merchant/{shop.pk}/change/",
        "/admin/operations/database/",
        "/admin/operations/database/tables/",
        "/admin/operations/database/activity/",
    ):
        visit(page, base + path)
        if path.endswith("/tables/"):
            expect(page.locator("[data-chart] svg.main-svg").first).to_be_visible()
    assert violations == []


# The production profile: gunicorn as `make serve` runs it, on the test database.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def production_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """The base URL of gunicorn in the production profile, serving the test database as the runtime role (the
    owner made and migrated it); one per module."""
    with django_db_blocker.unblock():
        params = connection.get_connection_params()
    data_dir = settings.DATABASES["default"].get("DATA_DIR")  # the embedded server's; else DATABASE_URL's login
    runtime = embedded_db.ensure_server(Path(data_dir)).login(embedded_db.APP) if data_dir else params
    workdir = tmp_path_factory.mktemp("production")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty_site.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback, as make serve
        "STATIC_ROOT": str(workdir / "static"),
        "DATABASE_URL": f"postgres:///{params['dbname']}",  # the test database; libpq takes the rest from PG*
        "PGHOST": str(runtime["host"]),
        "PGPORT": str(runtime["port"]),
        "PGUSER": runtime["user"],
        "PGPASSWORD": str(runtime.get("password") or ""),
        "DB_POOL": "0",
        "WEB_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(workdir),
    }
    env.pop("TEST_DATABASE_NAME", None)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env=env, cwd=settings.BASE_DIR, check=True
    )
    port = free_port()
    log = (workdir / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
        env={**env, "WEB_BIND": f"127.0.0.1:{port}"},
        cwd=settings.BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (workdir / "gunicorn.log").read_text()[-3000:]
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_the_counter_a_chart_and_the_api_work_under_the_production_profile(production_server, chromium, demo, tmp_path):
    base = production_server
    shop, customer = a_member()
    # production keeps no MD5 hasher (the test profile's): store the demo password the way production reads it
    pbkdf2 = PBKDF2PasswordHasher()
    password = pbkdf2.encode("demo-password", pbkdf2.salt(), iterations=1000)
    User.objects.filter(email__endswith="@demo.test").update(password=password)
    context = chromium(video_of(customer.customer_code, tmp_path))
    violations = watch(context)
    page = context.new_page()

    visit(page, f"{base}/accounts/login/")
    # the cookies are Secure, and Chromium keeps them on http://127.0.0.1 (loopback is a secure context)
    log_in(page, base, "cashier@demo.test")
    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    assert cookies["sessionid"]["secure"] and cookies["sessionid"]["httpOnly"] and cookies["csrftoken"]["secure"]
    scan_and_sell(page, base, customer, "9.90")

    context.clear_cookies()
    log_in(page, base, "owner@demo.test")
    visit(page, f"{base}/analytics/")
    expect(page.locator('[data-chart="chart-sales"] svg.main-svg').first).to_be_visible()
    static = page.evaluate("() => [...document.scripts].map(s => s.src).filter(Boolean)")
    assert any(re.search(r"/plotly\.min\.[0-9a-f]{12}\.js$", src) for src in static), static  # collected, hashed

    owner = User.objects.get(email="owner@demo.test")
    _, raw = api_key_create(merchant=shop, name="Till CSP", acting_user=owner)
    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": secrets.token_hex(8)}
    scan = page.request.post(f"{base}/api/v1/scans", data={"code": customer.customer_code}, headers=headers)
    assert scan.status == 200, scan.text()
    headers["Idempotency-Key"] = secrets.token_hex(8)
    body = {"scan_id": scan.json()["scan_id"], "customer_id": str(customer.pk), "amount": "4.20"}
    sale = page.request.post(f"{base}/api/v1/transactions", data=body, headers=headers)
    assert sale.status == 201, sale.text()
    assert Transaction.objects.filter(pk=sale.json()["id"], amount=Decimal("4.20"), status="completed").exists()
    assert violations == []
