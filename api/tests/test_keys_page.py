"""The owner's API keys page: create (shown once), list, revoke; nobody else's keys, no other role."""

from api.models import ApiKey
from api.services import api_key_create, api_key_use
from merchants.models import MerchantStaff
from merchants.tests.factories import MerchantFactory, MerchantStaffFactory


def test_an_owner_creates_a_key_seen_once_and_listed_by_its_prefix(as_role, merchant):
    client = as_role("owner")
    response = client.post("/api-keys/", {"name": "Front till"})
    assert response.status_code == 200
    raw = response.context["raw_key"]
    assert raw in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    key = ApiKey.objects.get(merchant=merchant)
    assert (key.name, key.created_by.email) == ("Front till", "owner@shop.test")
    listing = client.get("/api-keys/").content.decode()
    assert key.prefix in listing and raw not in listing and "never" in listing
    assert api_key_use(raw_key=raw).key == key


def test_an_empty_name_is_refused(as_role, merchant):
    response = as_role("owner").post("/api-keys/", {"name": "  "})
    assert "This field is required." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_a_form_sent_twice_makes_one_key(as_role, merchant):
    client = as_role("owner")
    client.post("/api-keys/", {"name": "Front till"})
    response = client.post("/api-keys/", {"name": "front till "})  # a reload, or a second key of the same name
    assert "An active key is named “front till” already" in response.content.decode()
    assert ApiKey.objects.count() == 1


def test_an_owner_revokes_a_key_and_it_stops_working(as_role, merchant, staff):
    key, raw = api_key_create(merchant=merchant, name="Till", acting_user=staff["owner"])
    client = as_role("owner")
    page = client.get("/api-keys/").content.decode()
    assert "data-confirm=" in page  # a confirmation before revoking (static/js/forms.js)
    response = client.post(f"/api-keys/{key.pk}/revoke/", follow=True)
    assert "revoked" in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == staff["owner"]
    assert api_key_use(raw_key=raw).key is None


def test_managers_and_cashiers_cannot_see_keys(as_role):
    for role in ("manager", "cashier"):
        assert as_role(role).get("/api-keys/").status_code == 403
    assert "API keys" in as_role("owner").get("/").content.decode()
    assert "/api-keys/" not in as_role("manager").get("/").content.decode()


def test_another_merchants_key_cannot_be_revoked(as_role, db):
    other = MerchantFactory()
    owner = MerchantStaffFactory(merchant=other, role=MerchantStaff.Role.OWNER).user
    key, _ = api_key_create(merchant=other, name="Theirs", acting_user=owner)
    assert as_role("owner").post(f"/api-keys/{key.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
