"""The API's keys are not concerned by the second factor of the people who log in."""

from django_otp.plugins.otp_totp.models import TOTPDevice


def test_a_merchant_requiring_a_second_factor_keeps_its_terminals_working(client, api, merchant, staff):
    merchant.require_2fa = True
    merchant.save()
    TOTPDevice.objects.create(user=staff["owner"], name="app", confirmed=True)  # the key's maker has one too
    assert api.get("/transactions").status_code == 200
    client.force_login(staff["cashier"])  # a session that still owes its second factor, on the same client
    assert client.get("/transactions/").status_code == 302
    assert api.get("/transactions").status_code == 200
