"""The counter in Chromium with a fake camera playing a video of a QR code (see shared/TESTING.md)."""

import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import qrcode
from django.conf import settings
from django.core.management import call_command
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from customers.models import Customer
from customers.services import card_code_issue, card_link_issue
from loyalty.models import CustomerLoyaltyAccount
from loyalty_site.tests.test_browser import CHROMIUM_ARGS, chromium_path, log_in, shoot
from merchants.models import Merchant
from system import codes
from system.models import QRScanLog
from transactions.models import Transaction


def video_of(text: str | None, folder: Path) -> Path:
    """A 2-second 640x480 video of `text` as a QR code (or of nothing), as Chromium's fake camera wants it."""
    assert shutil.which("ffmpeg"), "The camera tests need ffmpeg: apt-get install ffmpeg (make test does it as root)"
    frame = Image.new("RGB", (640, 480), "white")
    if text:
        code = qrcode.make(text, box_size=8, border=4).convert("RGB")
        frame.paste(code, ((640 - code.width) // 2, (480 - code.height) // 2))
    png, y4m = folder / "frame.png", folder / "camera.y4m"
    frame.save(png)
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-loop",
            "1",
            "-i",
            str(png),
            "-t",
            "2",
            "-r",
            "10",
            "-pix_fmt",
            "yuv420p",
            str(y4m),
        ],
        check=True,
    )
    return y4m


@pytest.fixture
def counter(transactional_db, live_server, tmp_path):
    """open(video=..., camera=True) -> a page logged in as the demo cashier, on the counter page."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    call_command("seed_demo", merchants=2, customers=20, transactions=200, verbosity=0)
    playwright = sync_playwright().start()
    browsers = []

    def open_counter(video: Path | None, camera: bool = True):
        args = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream"]
        args += (
            ["--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={video}"]
            if camera
            else ["--deny-permission-prompts"]
        )
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=args)
        browsers.append(browser)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        log_in(page, live_server, "cashier@demo.test")
        expect(page.get_by_role("heading", name="Scan the customer's card")).to_be_visible()
        return page

    yield open_counter
    for browser in browsers:
        browser.close()
    playwright.stop()


def a_member():
    shop = Merchant.objects.get(business_email="hello@beanthere.demo")
    return shop, Customer.objects.filter(loyalty_accounts__merchant=shop).order_by("customer_code").first()


def test_scan_to_receipt(counter, tmp_path):
    shop, customer = a_member()
    page = counter(video_of(customer.customer_code, tmp_path))
    expect(page.locator("#customer-name")).to_have_text(customer.full_name, timeout=10_000)
    shoot(page, "counter-checkout")
    page.get_by_label("Amount").fill("18.40")
    page.get_by_label("Payment").select_option("cash")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("heading", name="Sale complete")).to_be_visible()
    expect(page.locator("#receipt-amount")).to_have_text("$18.40")
    expect(page.locator("#receipt-points")).to_have_text("+18")
    shoot(page, "counter-receipt")

    sale = Transaction.objects.get(merchant=shop, customer=customer, amount=Decimal("18.40"))
    assert (sale.status, sale.payment_method, sale.points_earned) == ("completed", "cash", 18)
    balance = customer.loyalty_accounts.get(merchant=shop).current_points
    expect(page.locator("#receipt-balance")).to_have_text(f"{balance:,}")
    assert QRScanLog.objects.filter(customer=customer, scan_result="success").count() == 1
    page.get_by_role("link", name="Scan the next customer").click()
    expect(page.get_by_role("heading", name="Scan the customer's card")).to_be_visible()


def test_a_video_without_a_code_reads_nothing(counter, tmp_path):
    page = counter(video_of(None, tmp_path))
    expect(page.locator("#camera-status")).to_have_text("Point the camera at the customer's QR code.")
    page.wait_for_timeout(2500)
    expect(page.locator("#checkout")).to_be_hidden()
    assert not QRScanLog.objects.exists()
    shoot(page, "counter-scanning")


def test_an_unknown_code_is_refused_on_screen(counter, tmp_path):
    page = counter(video_of(codes.generate(codes.CUSTOMER_CODE_LENGTH), tmp_path))
    expect(page.locator("#scan-error")).to_have_text("No customer has this code.", timeout=10_000)
    expect(page.locator("#checkout")).to_be_hidden()
    assert QRScanLog.objects.filter(scan_result="unknown_code").exists()
    assert not Transaction.objects.filter(created_by__email="cashier@demo.test").exists()


def test_camera_refused_falls_back_to_typing_the_code(counter, tmp_path):
    shop, customer = a_member()
    page = counter(None, camera=False)
    expect(page.locator("#camera-status")).to_contain_text("type the customer's code below")
    code = customer.customer_code
    mistyped = code[:-1] + ("2" if code[-1] != "2" else "3")
    page.get_by_label("Customer code").fill(mistyped)
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#scan-error")).to_contain_text("mistyped character")
    page.get_by_label("Customer code").fill(f"{code[:4]}-{code[4:8]}-{code[8:]}".lower())
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#customer-name")).to_have_text(customer.full_name)


def test_a_short_code_or_a_phone_number_typed_finds_the_member(counter, tmp_path):
    shop, customer = a_member()
    page = counter(None, camera=False)
    code = card_code_issue(customer=customer).code
    page.get_by_label("Customer code").fill(f"{code[:3]} {code[3:]}".lower())
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#customer-name")).to_have_text(customer.full_name)
    expect(page.locator("#customer-code")).to_have_text("•••• " + customer.customer_code[-4:])
    expect(page.locator("#confirm-customer")).to_be_hidden()
    expect(page.get_by_label("Amount")).to_be_enabled()

    Customer.objects.filter(pk=customer.pk).update(phone="+14155550123")
    CustomerLoyaltyAccount.objects.filter(customer=customer, merchant=shop).update(shares_phone=True)  # given here
    page.get_by_role("link", name="Cancel").click()
    page.get_by_label("Phone").fill("+1 415 555 0199")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#scan-error")).to_have_text("No member here has this number.")
    page.get_by_label("Phone").fill("+1 415 555 0123")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#confirm-customer")).to_contain_text(f"Is this {customer.full_name}? Ask them to confirm")
    expect(page.get_by_label("Amount")).to_be_disabled()
    shoot(page, "counter-phone-confirm")
    page.get_by_role("button", name="Yes, confirmed").click()
    page.get_by_label("Amount").fill("3.00")
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("heading", name="Sale complete")).to_be_visible()
    assert QRScanLog.objects.filter(scanned_code="phone …0123", scan_result="success", sale__isnull=False).exists()


def test_a_double_click_on_complete_records_one_sale(counter, tmp_path):
    shop, customer = a_member()
    page = counter(video_of(customer.customer_code, tmp_path))
    expect(page.locator("#customer-name")).to_have_text(customer.full_name, timeout=10_000)
    page.get_by_label("Amount").fill("7.77")
    page.get_by_role("button", name="Complete").dblclick()
    expect(page.get_by_role("heading", name="Sale complete")).to_be_visible()
    assert Transaction.objects.filter(merchant=shop, customer=customer, amount=Decimal("7.77")).count() == 1


def test_screenshots_of_the_card_and_the_poster(counter, tmp_path, live_server):
    shop, customer = a_member()
    page = counter(None, camera=False)
    page.goto(f"{live_server.url}/card/{card_link_issue(customer=customer)}/")
    expect(page.locator("#live-qr svg")).to_be_visible()
    expect(page.locator("#card-code")).to_have_text(re.compile(r"^[2-9A-Z]{3} [2-9A-Z]{3}$"))
    shoot(page, "card")
    page.context.clear_cookies()
    log_in(page, live_server, "owner@demo.test")
    page.goto(f"{live_server.url}/poster/")
    expect(page.locator("#poster svg")).to_be_visible()
    shoot(page, "poster")
    assert Path(settings.BASE_DIR, "screenshots", "poster.png").exists()
