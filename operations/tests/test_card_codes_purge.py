"""The one-time codes past use are purged hourly, by the job and by its command; live ones stay."""

import io

from django.core.management import call_command
from procrastinate.contrib.django import app

from customers.services import card_code_issue
from loyalty.models import PhoneVerification
from operations import jobs
from system.testing import sql


def test_codes_past_use_go_and_live_ones_stay(customer, merchant):
    for _ in range(2):
        card_code_issue(customer=customer)
    sql(
        "UPDATE card_codes SET expires_at = now() - interval '25 hours' WHERE code = (SELECT min(code) FROM card_codes)"
    )
    for age in ("2 days", "1 minute"):
        sql(
            "INSERT INTO card_token_uses (token_digest, customer_id, used_at)"
            " VALUES (md5(%s) || md5(%s), %s, now() - %s::interval)",
            [age, age, customer.pk, age],
        )
    for hours in (30, -1):
        PhoneVerification.objects.create(
            phone="+14155550100",
            code_hmac="x" * 64,
            merchant=merchant,
            expires_at=sql(f"SELECT now() - interval '{hours} hours'")[0][0],
        )
    jobs.purge_card_codes(0)
    assert sql("SELECT count(*) FROM card_codes") == [(1,)]
    assert sql("SELECT count(*) FROM card_token_uses") == [(1,)]
    assert PhoneVerification.objects.count() == 1
    out = io.StringIO()
    call_command("purge_card_codes", stdout=out)  # twice: nothing more
    assert "Deleted 0 short codes, 0 used tokens and 0 texted codes" in out.getvalue()


def test_the_purge_is_hourly():
    [cron] = [p.cron for p in app.periodic_registry.periodic_tasks.values() if p.task is jobs.purge_card_codes]
    assert cron == "37 * * * *"
