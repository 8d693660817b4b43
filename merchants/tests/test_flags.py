from django.urls import reverse

from system.models import FraudFlag


def test_owners_see_and_review_flags(as_role, merchant, customer, staff):
    flag = FraudFlag.objects.create(merchant=merchant, customer=customer, reason="6 sales within 10 minutes")
    client = as_role("owner")
    assert "6 sales within 10 minutes" in client.get(reverse("flags")).content.decode()
    client.post(reverse("flags"), {"flag": str(flag.pk)})
    flag.refresh_from_db()
    assert flag.reviewed_by == staff["owner"] and flag.reviewed_at is not None


def test_a_bad_flag_id_is_refused_clearly(as_role):
    response = as_role("owner").post(reverse("flags"), {"flag": "not-a-uuid"}, follow=True)
    assert "No such open flag." in response.content.decode()


def test_managers_and_cashiers_do_not_see_flags(as_role):
    assert as_role("manager").get(reverse("flags")).status_code == 403
