"""The second factor after the password, through the real login: codes computed from the device's key."""

import re
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from merchants.models import Merchant, MerchantStaff, User
from merchants.tests.factories import BUSINESS, MerchantFactory, UserFactory, login_verified

PASSWORD = "a-long-test-password"


def code(device, steps=0) -> str:
    """The code the authenticator app shows now (or `steps` periods of 30 s later)."""
    device = TOTPDevice.objects.get(pk=device.pk)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():06d}"


def wrong_code(device) -> str:
    return f"{(int(code(device)) + 1) % 1_000_000:06d}"


def wait_out_the_throttle(device):
    """Move the last failure back, as if the wait had passed."""
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=time_ago(3600))


def time_ago(seconds):
    from django.utils import timezone

    return timezone.now() - timedelta(seconds=seconds)


def log_in(client, user, next_url=None):
    """The password step of the login page; returns the response."""
    url = reverse("login") + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"username": user.email, "password": PASSWORD})


def set_up(client, user):
    """Set up an authenticator as the user would: open the page, scan (read the pending device), enter a code.
    Returns the device and the recovery codes shown."""
    page = client.get(reverse("two_factor_setup"))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"code": code(device)})
    assert response.status_code == 302 and response["Location"].startswith(reverse("two_factor"))
    shown = client.get(response["Location"])
    return TOTPDevice.objects.get(pk=device.pk), codes_shown(shown)


def codes_shown(page) -> list[str]:
    return re.findall(r'class="col recovery-code">([^<]+)<', page.content.decode())


@pytest.fixture
def owner(staff):
    return staff["owner"]


def test_an_owner_sets_up_an_authenticator_and_is_asked_for_a_code_at_each_login(client, owner):
    assert log_in(client, owner)["Location"] == reverse("home")
    assert client.get(reverse("business")).status_code == 200  # no second factor yet: nothing asked

    device, codes = set_up(client, owner)

    assert device.confirmed and len(set(codes)) == 10
    assert codes_shown(client.get(reverse("two_factor"))) == []  # shown once
    assert client.get(reverse("business")).status_code == 200  # this session gave a code
    client.post(reverse("logout"))

    log_in(client, owner)
    asked = client.get(reverse("business"))
    assert asked.status_code == 302 and asked["Location"] == reverse("two_factor_verify") + "?next=/business/"
    refused = client.post(asked["Location"], {"code": wrong_code(device)})
    assert "That code is not right" in refused.content.decode()
    assert client.get(reverse("business")).status_code == 302
    wait_out_the_throttle(device)
    done = client.post(asked["Location"], {"code": code(device, steps=1), "next": "/business/"})
    assert done.status_code == 302 and done["Location"] == "/business/"
    assert client.get(reverse("business")).status_code == 200


def test_a_recovery_code_works_once(client, owner):
    log_in(client, owner)
    _, codes = set_up(client, owner)
    client.post(reverse("logout"))

    log_in(client, owner)
    assert client.post(reverse("two_factor_verify"), {"code": codes[0].upper()}).status_code == 302
    assert client.get(reverse("business")).status_code == 200
    assert StaticToken.objects.filter(device__user=owner).count() == 9
    client.post(reverse("logout"))

    log_in(client, owner)
    again = client.post(reverse("two_factor_verify"), {"code": codes[0]})
    assert again.status_code == 200 and "That code is not right" in again.content.decode()
    assert client.get(reverse("business")).status_code == 302


def test_wrong_codes_are_throttled_even_before_a_right_one(client, owner, caplog):
    log_in(client, owner)
    device, _ = set_up(client, owner)
    client.post(reverse("logout"))
    log_in(client, owner)
    client.post(reverse("two_factor_verify"), {"code": wrong_code(device)})
    refused = client.post(reverse("two_factor_verify"), {"code": code(device, steps=1)})

    assert "Too many wrong codes" in refused.content.decode()
    assert f"A wrong second-factor code for user {owner.pk} from 127.0.0.1" in caplog.text
    assert client.get(reverse("business")).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # a refused attempt during the wait does not count
    wait_out_the_throttle(device)
    assert client.post(reverse("two_factor_verify"), {"code": code(device, steps=1)}).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_new_recovery_codes_replace_the_old_ones(client, owner):
    log_in(client, owner)
    _, old = set_up(client, owner)
    made = client.post(reverse("two_factor_recovery"))
    new = codes_shown(client.get(made["Location"]))
    client.post(reverse("logout"))

    log_in(client, owner)
    assert len(new) == 10 and not set(new) & set(old)
    assert client.post(reverse("two_factor_verify"), {"code": old[1]}).status_code == 200
    assert not StaticToken.objects.filter(token=old[1].replace("-", "")).exists()


def test_an_owner_turns_it_off_with_a_code_and_is_then_not_asked(client, owner):
    log_in(client, owner)
    device, codes = set_up(client, owner)
    assert client.post(reverse("two_factor_off"), {"code": ""}).status_code == 302
    assert TOTPDevice.objects.filter(user=owner).exists()  # no code, nothing changed

    client.post(reverse("two_factor_off"), {"code": codes[0]})

    assert not TOTPDevice.objects.filter(user=owner).exists()
    assert not StaticToken.objects.filter(device__user=owner).exists()
    client.post(reverse("logout"))
    log_in(client, owner)
    assert client.get(reverse("business")).status_code == 200


def test_a_merchant_requiring_it_sends_its_staff_to_set_up_then_to_the_code(client, merchant, staff):
    manager_form = login_verified(client, staff["manager"]).get(reverse("business")).context["form"]
    assert "require_2fa" not in manager_form.fields  # the owner's choice alone
    owner = login_verified(client, staff["owner"])
    form = {**BUSINESS, "business_email": merchant.business_email, "require_2fa": "on"}
    saved = owner.post(reverse("business"), form, follow=True)
    assert "Staff without an authenticator app set one up" in saved.content.decode()
    assert Merchant.objects.get(pk=merchant.pk).require_2fa
    client.post(reverse("logout"))

    cashier = staff["cashier"]
    log_in(client, cashier)
    sent = client.get(reverse("scan"))
    assert sent.status_code == 302 and sent["Location"] == reverse("two_factor_setup") + "?next=/scan/"
    assert client.get(reverse("transactions")).status_code == 302
    page = client.get(sent["Location"]).content.decode()
    assert "requires a second factor of all its staff" in page
    set_up(client, cashier)
    assert client.get(reverse("scan")).status_code == 200

    off = client.post(reverse("two_factor_off"), {"code": "whatever"}, follow=True)
    assert "cannot be turned off" in off.content.decode()
    assert TOTPDevice.objects.filter(user=cashier, confirmed=True).exists()
    client.post(reverse("logout"))
    log_in(client, cashier)
    assert client.get(reverse("scan"))["Location"].startswith(reverse("two_factor_verify"))


def test_staff_of_another_merchant_are_not_asked(client, merchant, staff):
    other = User.objects.create_user("elsewhere@shop.test", PASSWORD)
    MerchantStaff.objects.create(merchant=MerchantFactory(), user=other, role=MerchantStaff.Role.OWNER)
    merchant.require_2fa = True
    merchant.save()
    log_in(client, other)
    assert client.get(reverse("scan")).status_code == 200


def test_a_platform_admin_must_set_up_and_give_a_code_for_the_admin(client, db):
    admin = User.objects.create_superuser("root@platform.test", PASSWORD)
    logged = client.post(reverse("admin:login") + "?next=/admin/", {"username": admin.email, "password": PASSWORD})
    assert logged.status_code == 302
    sent = client.get("/admin/")
    assert sent.status_code == 302 and sent["Location"] == reverse("two_factor_setup") + "?next=/admin/"
    assert client.get(reverse("admin:merchants_merchant_changelist")).status_code == 302
    device, _ = set_up(client, admin)
    assert client.get("/admin/").status_code == 200
    client.post(reverse("logout"))

    client.post(reverse("admin:login"), {"username": admin.email, "password": PASSWORD})
    sent = client.get("/admin/")
    assert sent["Location"] == reverse("two_factor_verify") + "?next=/admin/"
    assert client.post(sent["Location"], {"code": code(device, steps=1), "next": "/admin/"})["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_forced_login_of_an_admin_without_a_code_is_not_enough(client, db):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert client.get("/admin/")["Location"].startswith(reverse("two_factor_setup"))
    TOTPDevice.objects.create(user=admin, name="app", confirmed=True)
    assert client.get("/admin/")["Location"].startswith(reverse("two_factor_verify"))
    login_verified(client, admin)
    assert client.get("/admin/").status_code == 200


def test_verify_ignores_a_next_of_another_site(client, owner):
    log_in(client, owner)
    device, _ = set_up(client, owner)
    client.post(reverse("logout"))
    log_in(client, owner)
    done = client.post(reverse("two_factor_verify"), {"code": code(device, steps=1), "next": "https://evil.test/"})
    assert done["Location"] == reverse("home")


def test_the_admin_can_remove_a_lost_authenticator_but_never_shows_its_key_or_codes(client, owner):
    log_in(client, owner)
    device, codes = set_up(client, owner)
    admin = login_verified(client, User.objects.create_superuser("root@platform.test", PASSWORD))

    page = admin.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])).content.decode()
    tokens = admin.get(reverse("admin:otp_static_staticdevice_changelist")).content.decode()

    assert device.key not in page and "qrcode" not in page
    assert not any(c.replace("-", "") in tokens for c in codes)
    admin.post(reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"})
    assert not TOTPDevice.objects.filter(user=owner).exists()


def test_with_an_authenticator_no_second_one_is_set_up_before_the_code(client, owner):
    log_in(client, owner)
    device, _ = set_up(client, owner)
    client.post(reverse("logout"))
    log_in(client, owner)  # the password alone: as someone who learnt it
    pending = TOTPDevice.objects.create(user=owner, name="theirs", confirmed=False)

    response = client.post(reverse("two_factor_setup"), {"code": code(pending)})

    assert response.status_code == 302 and response["Location"] == reverse("two_factor")
    assert not TOTPDevice.objects.get(pk=pending.pk).confirmed
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()
    assert client.get(reverse("business"))["Location"].startswith(reverse("two_factor_verify"))
