"""The dashboard in a real browser (Chromium via Playwright): charts drawn, filters, CSV, screenshots.

Screenshots of the main pages go to screenshots/ (git-ignored), to look at what a merchant sees.
"""

import csv
import io
import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import expect, sync_playwright

SCREENSHOTS = Path(settings.BASE_DIR) / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is needed for the browser tests: apt-get install chromium (make test does it as root)"
    return found


@pytest.fixture(scope="module")
def browser():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", verbosity=0)


def log_in(page, live_server, email="owner@demo.test"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Log in").click()


def shoot(page, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def test_owner_sees_the_dashboard_with_its_charts_drawn(browser, live_server, demo):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server)
    expect(page.get_by_role("heading", name="Bean There Café")).to_be_visible()
    expect(page.locator("#today")).to_contain_text("Sales")
    for chart in ("chart-sales", "chart-points", "chart-visits"):
        expect(page.locator(f'[data-chart="{chart}"] svg.main-svg').first).to_be_visible()
    expect(page.locator("#recent-transactions tbody tr")).to_have_count(10)
    shoot(page, "dashboard")
    page.get_by_role("link", name="90 days").click()
    expect(page.get_by_role("heading", name="Last 90 days")).to_be_visible()


def test_owner_filters_transactions_and_exports_the_rows(browser, live_server, demo):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    log_in(page, live_server)
    page.get_by_role("link", name="Transactions", exact=True).click()
    page.get_by_label("Status").select_option("refunded")
    page.get_by_role("button", name="Filter").click()
    statuses = page.locator("table tbody td:nth-child(4)").all_inner_texts()
    assert statuses and set(statuses) == {"refunded"}
    shoot(page, "transactions-refunded")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert len(rows) >= len(statuses) and {row["Status"] for row in rows} == {"refunded"}

    page.locator("table tbody a").first.click()
    expect(page.locator("#history")).to_contain_text("refunded")
    shoot(page, "transaction")


def test_screenshots_of_the_main_pages(browser, live_server, demo):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    log_in(page, live_server)
    for name, path in [
        ("customers", "/customers/"),
        ("analytics", "/analytics/"),
        ("program", "/program/"),
        ("staff", "/staff/"),
    ]:
        page.goto(live_server.url + path)
        expect(page.locator("h1")).to_be_visible()
        shoot(page, name)
    page.goto(live_server.url + "/customers/")
    page.locator("table tbody a").first.click()
    expect(page.locator('[data-chart="chart-activity"] svg.main-svg').first).to_be_visible()
    expect(page.locator("#member-code")).to_have_text(re.compile(r"^•••• \w{4}$"))  # the printed code, masked
    shoot(page, "customer")

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    log_in(phone, live_server)
    expect(phone.locator('[data-chart="chart-sales"] svg.main-svg').first).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dashboard scrolls sideways on a phone ({width}px)"
    shoot(phone, "dashboard-phone")


def test_the_program_example_updates_as_the_owner_types(browser, live_server, demo):
    page = browser.new_page()
    log_in(page, live_server)
    page.goto(live_server.url + "/program/")
    page.get_by_label("Points per currency unit").fill("2")
    expect(page.locator("#example-earn")).to_have_text("A purchase of 23.50 earns 47 points.")
    page.get_by_label("Minimum spend to earn").fill("30")
    expect(page.locator("#example-earn")).to_contain_text("earns 0 points (below the minimum spend of 30.00)")


def test_a_cashier_lands_on_the_counter_and_sees_todays_transactions(browser, live_server, demo):
    page = browser.new_page()
    log_in(page, live_server, "cashier@demo.test")
    expect(page.get_by_role("heading", name="Scan the customer's card")).to_be_visible()
    expect(page.get_by_role("link", name="Dashboard")).to_have_count(0)
    page.get_by_role("link", name="Transactions", exact=True).click()
    expect(page.get_by_role("heading", name="Today's transactions")).to_be_visible()
