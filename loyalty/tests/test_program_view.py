"""Program settings: owners edit the rules, with validation, a live example, and an audit trail."""

from decimal import Decimal

import pytest
from django.urls import reverse

from loyalty.models import LoyaltyProgram
from system.models import AuditLog

GOOD = {
    "name": "Rewards",
    "description": "",
    "points_per_dollar": "2",
    "min_spend_amount": "5.00",
    "rounding": "down",
    "min_redemption_points": "100",
    "point_value": "0.01",
    "max_redemption_percent": "50",
    "points_expiry_days": "365",
    "shortfall_policy": "take_available",
    "max_negative_points": "0",
}


def test_the_page_shows_the_example_from_the_databases_rule(as_role, program):
    page = as_role("owner").get(reverse("program")).content.decode()
    assert "A purchase of 23.50 earns 23 points." in page


def test_an_owner_changes_the_rules_and_the_change_is_audited(as_role, program, staff):
    response = as_role("owner").post(reverse("program"), GOOD)
    assert response.status_code == 302
    program.refresh_from_db()
    assert (program.points_per_dollar, program.min_spend_amount) == (Decimal("2"), Decimal("5.00"))
    log = AuditLog.objects.filter(table_name="loyalty_programs", record_id=program.pk, action="UPDATE").get()
    assert log.user_id == staff["owner"].pk
    assert "points_per_dollar" in log.changed_fields
    page = as_role("owner").get(reverse("program")).content.decode()
    assert "A purchase of 23.50 earns 47 points." in page


def test_a_merchant_without_a_program_creates_one(as_role, merchant):
    as_role("owner").post(reverse("program"), GOOD)
    assert LoyaltyProgram.objects.get(merchant=merchant, is_active=True).points_per_dollar == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("points_per_dollar", "-1", "Must be at least 0."),
        ("points_per_dollar", "lots", "Enter a number."),
        ("max_redemption_percent", "150", "Must be at most 100."),
        ("point_value", "0", "A point must be worth more than zero."),
        ("points_expiry_days", "0", "Leave empty for points that never expire"),
        ("points_expiry_days", "2000000000", "or 1 to 3650 days"),
        ("rounding", "up", "Select a valid choice."),
        ("name", "", "This field is required."),
    ],
)
def test_a_bad_rule_is_explained_next_to_its_field_and_nothing_is_saved(as_role, program, field, value, message):
    before = LoyaltyProgram.objects.values().get(pk=program.pk)
    response = as_role("owner").post(reverse("program"), {**GOOD, field: value})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert LoyaltyProgram.objects.values().get(pk=program.pk) == before


def test_managers_cannot_change_the_rules(as_role, program):
    assert as_role("manager").post(reverse("program"), GOOD).status_code == 403
    program.refresh_from_db()
    assert program.points_per_dollar == 1


def test_managers_cannot_change_tiers(as_role, program):
    response = as_role("manager").post(
        reverse("tier_add"), {"tier-name": "Gold", "tier-min_points": "5", "tier-multiplier": "2"}
    )
    assert response.status_code == 403


def test_the_shortfall_policy_is_saved_with_the_rules(as_role, program):
    response = as_role("owner").post(
        reverse("program"), {**GOOD, "shortfall_policy": "allow_negative", "max_negative_points": "200"}
    )
    assert response.status_code == 302
    program.refresh_from_db()
    assert (program.shortfall_policy, program.max_negative_points) == ("allow_negative", 200)
    response = as_role("owner").post(reverse("program"), {**GOOD, "max_negative_points": "-3"})
    assert "From 0 to 1,000,000 points." in response.content.decode()
