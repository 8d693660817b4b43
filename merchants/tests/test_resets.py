"""Password resets and staff invitations are rate-limited and answer the same for known and unknown emails;
reset links last an hour; passwords have 12 characters or more and are not common ones."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from merchants.models import MerchantStaff, User
from merchants.tests.factories import MerchantFactory
from system.testing import clear_jobs, run_jobs

pytestmark = pytest.mark.django_db(transaction=True)  # the worker sends the mail: committed rows only


@pytest.fixture(autouse=True)
def no_jobs_left():
    clear_jobs()


def ask_reset(email, ip="203.0.113.1"):
    return Client().post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip)


def test_resets_per_email_are_limited_and_known_and_unknown_emails_get_the_same_answer(staff, settings):
    answers = [ask_reset("owner@shop.test", ip=f"198.51.100.{n}") for n in range(5)]
    answers += [ask_reset("nobody@shop.test", ip=f"198.51.100.{n}") for n in range(5)]
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, reverse("password_reset_done"))}
    run_jobs()
    assert [m.to for m in mail.outbox] == [["owner@shop.test"]] * settings.PASSWORD_RESET_PER_EMAIL_PER_HOUR


def test_resets_per_address_are_limited(staff, settings):
    for n in range(settings.PASSWORD_RESET_PER_ADDRESS_PER_HOUR):
        ask_reset(f"someone{n}@shop.test", ip="198.51.100.9")
    assert ask_reset("owner@shop.test", ip="198.51.100.9").status_code == 302
    run_jobs()
    assert mail.outbox == []
    ask_reset("owner@shop.test", ip="198.51.100.10")
    run_jobs()
    assert [m.to for m in mail.outbox] == [["owner@shop.test"]]


class TokenMadeAt(PasswordResetTokenGenerator):
    """Django's reset token generator, making the token it would have made at `moment`."""

    def __init__(self, moment):
        super().__init__()
        self.moment = moment

    def _now(self):
        return self.moment


def reset_link(user, minutes_ago: int) -> str:
    token = TokenMadeAt(datetime.now() - timedelta(minutes=minutes_ago)).make_token(user)
    return reverse("password_reset_confirm", args=[urlsafe_base64_encode(force_bytes(user.pk)), token])


def test_a_reset_link_lasts_an_hour(client, staff, settings):
    assert settings.PASSWORD_RESET_TIMEOUT == 3600
    expired = client.get(reset_link(staff["owner"], 61), follow=True)
    assert "new_password1" not in expired.content.decode()
    fresh = client.get(reset_link(staff["owner"], 59), follow=True)
    assert "new_password1" in fresh.content.decode()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pass1", "at least 12 characters"),  # 11
        ("password1234", "too common"),
        ("123456789012", "entirely numeric"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(client, staff, password, message):
    form_page = client.get(reset_link(staff["owner"], 0), follow=True).redirect_chain[-1][0]
    response = client.post(form_page, {"new_password1": password, "new_password2": password})
    assert response.status_code == 200 and message in response.content.decode()
    assert staff["owner"].password == User.objects.get(pk=staff["owner"].pk).password


def test_a_password_of_twelve_characters_is_accepted(client, staff):
    form_page = client.get(reset_link(staff["owner"], 0), follow=True).redirect_chain[-1][0]
    response = client.post(form_page, {"new_password1": "tall-oak-27x", "new_password2": "tall-oak-27x"})
    assert response.status_code == 302
    assert User.objects.get(pk=staff["owner"].pk).check_password("tall-oak-27x")


def invite(client, email, ip="203.0.113.1"):
    return client.post(reverse("staff"), {"email": email, "role": "cashier"}, REMOTE_ADDR=ip)


def test_invitations_per_email_are_limited(as_role, staff, settings):
    # an email invited (and taken off again) by several merchants' owners
    for n in range(settings.INVITE_PER_EMAIL_PER_HOUR + 1):
        owner = User.objects.create_user(f"owner{n}@elsewhere.test", "a-long-test-password")
        MerchantStaff.objects.create(merchant=MerchantFactory(), user=owner, role=MerchantStaff.Role.OWNER)
        client = Client()
        client.force_login(owner)
        response = invite(client, "target@shop.test", ip=f"198.51.100.{n}")
    assert response.status_code == 200
    assert "Too many invitations in the last hour" in response.content.decode()
    assert MerchantStaff.objects.filter(user__email="target@shop.test").count() == settings.INVITE_PER_EMAIL_PER_HOUR


def test_invitations_per_merchant_and_per_address_are_limited(as_role, staff, settings):
    settings.INVITE_PER_MERCHANT_PER_HOUR = 2
    client = as_role("owner")
    assert invite(client, "a@shop.test", ip="198.51.100.1").status_code == 302
    assert invite(client, "b@shop.test", ip="198.51.100.2").status_code == 302
    refused = invite(client, "c@shop.test", ip="198.51.100.3")
    assert "Too many invitations" in refused.content.decode()
    assert not User.objects.filter(email="c@shop.test").exists()
    settings.INVITE_PER_MERCHANT_PER_HOUR = 100
    settings.INVITE_PER_ADDRESS_PER_HOUR = 1
    assert invite(client, "d@shop.test", ip="198.51.100.4").status_code == 302
    assert "Too many invitations" in invite(client, "e@shop.test", ip="198.51.100.4").content.decode()


def test_the_invitation_says_how_long_its_link_lasts(as_role, merchant):
    invite(as_role("owner"), "new@shop.test")
    run_jobs()
    [message] = mail.outbox
    assert re.search(r"Set your password here: http://testserver/accounts/reset/\S+/", message.body)
    assert "The link works for an hour" in message.body and "Forgot your password?" in message.body
