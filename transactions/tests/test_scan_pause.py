"""Lifting a counter's scan pause: by an owner or a manager of that merchant at the counter page, or by a platform
admin from the scan log; never by a cashier, never for another merchant."""

import pytest
from django.test import Client
from django.urls import reverse

from merchants.models import MerchantStaff, User
from merchants.tests.factories import MerchantFactory, UserFactory, login_verified
from system.models import AuditLog, QRScanLog
from transactions.models import ScanPauseLift
from transactions.services.scan import ScanPauseError, scan_pause_lift, scan_pauses, scan_resolve


def logged_in(user, ip="127.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=ip)
    client.force_login(user)
    return client


def scan(client, code):
    return client.post(reverse("scan_resolve"), {"code": code})


@pytest.fixture
def paused_cashier(merchant, staff):
    """The cashier, logged in, after five bad scans: their scanning is paused."""
    cashier = logged_in(staff["cashier"])
    for i in range(5):
        assert scan(cashier, f"nonsense {i}").json()["result"] == "malformed"
    return cashier


def lift(client, kind, name):
    return client.post(reverse("scan_pause_lift"), {"kind": kind, "name": name}, follow=True)


def test_the_owner_sees_the_pause_lifts_it_and_the_cashier_scans_again(merchant, staff, customer, paused_cashier):
    refused = scan(paused_cashier, customer.customer_code)
    assert refused.status_code == 422 and refused.json()["result"] == "rate_limited"
    assert "lifts the pause" in refused.json()["message"]

    owner = logged_in(staff["owner"], ip="10.0.0.9")
    counter = owner.get(reverse("scan")).content.decode()
    assert 'id="scan-pauses"' in counter and staff["cashier"].email in counter

    response = lift(owner, "user", str(staff["cashier"].pk))
    assert f"Scanning resumes for {staff['cashier'].email}." in response.content.decode()
    assert 'id="scan-pauses"' not in response.content.decode()

    again = scan(paused_cashier, customer.customer_code)
    assert again.status_code == 200 and again.json()["ok"]
    lifted = ScanPauseLift.objects.get()
    assert (lifted.merchant, lifted.scanned_by, lifted.lifted_by) == (merchant, staff["cashier"], staff["owner"])
    audit = AuditLog.objects.get(table_name="scan_pause_lifts", record_id=lifted.pk)
    assert (audit.action, audit.user_id) == ("INSERT", staff["owner"].pk)


@pytest.mark.django_db(transaction=True)  # each request its own transaction and time, as on a server
def test_failed_scans_after_a_lift_pause_the_cashier_again(merchant, staff, customer, paused_cashier):
    lift(logged_in(staff["manager"]), "user", str(staff["cashier"].pk))
    for i in range(5):
        scan(paused_cashier, f"more nonsense {i}")
    assert scan(paused_cashier, customer.customer_code).json()["result"] == "rate_limited"


def test_an_address_pause_is_lifted_for_everyone_behind_it(merchant, staff, customer):
    tills = []
    for n in range(4):  # four tills behind one address: the first paused, the others one failure short of it
        tills.append(User.objects.create_user(f"till{n}@shop.test", "x"))
        MerchantStaff.objects.create(merchant=merchant, user=tills[-1], role="cashier")
    for n, till in enumerate(tills):
        for i in range(5 if n == 0 else 4):
            scan_resolve(merchant=merchant, user=till, text=f"nonsense {n}-{i}", ip_address="10.9.9.9")
    kinds = {(p.kind, p.name) for p in scan_pauses(merchant=merchant)}
    assert kinds == {("user", str(tills[0].pk)), ("address", "10.9.9.9")}

    response = lift(logged_in(staff["owner"]), "address", "10.9.9.9")
    assert "Scanning resumes for 10.9.9.9." in response.content.decode()
    assert scan_resolve(merchant=merchant, user=tills[1], text=tills[1].email, ip_address="10.9.9.9").result != (
        "rate_limited"
    )
    # the first till's own pause stands until it is lifted too
    assert scan_resolve(merchant=merchant, user=tills[0], text="x", ip_address="10.1.1.1").result == "rate_limited"


def test_another_merchants_owner_cannot_lift_it(merchant, staff, customer, paused_cashier):
    elsewhere = MerchantFactory()
    stranger = UserFactory()
    MerchantStaff.objects.create(merchant=elsewhere, user=stranger, role="owner")
    client = logged_in(stranger)
    assert 'id="scan-pauses"' not in client.get(reverse("scan")).content.decode()

    response = lift(client, "user", str(staff["cashier"].pk))
    assert "No such scan pause is running here" in response.content.decode()
    assert not ScanPauseLift.objects.exists()
    assert scan(paused_cashier, customer.customer_code).json()["result"] == "rate_limited"


def test_a_lift_at_one_merchant_leaves_the_pause_at_another(merchant, staff, customer):
    elsewhere = MerchantFactory()
    cashier = staff["cashier"]
    MerchantStaff.objects.create(merchant=elsewhere, user=cashier, role="cashier")
    for shop in (merchant, elsewhere):
        for i in range(5):
            scan_resolve(merchant=shop, user=cashier, text=f"nonsense {i}")
    scan_pause_lift(merchant=merchant, acting_user=staff["owner"], kind="user", name=str(cashier.pk))
    assert scan_resolve(merchant=merchant, user=cashier, text=customer.customer_code).ok
    assert scan_resolve(merchant=elsewhere, user=cashier, text=customer.customer_code).result == "rate_limited"


def test_a_cashier_cannot_lift_a_pause(merchant, staff, paused_cashier):
    other_cashier = User.objects.create_user("other@shop.test", "x")
    MerchantStaff.objects.create(merchant=merchant, user=other_cashier, role="cashier")
    client = logged_in(other_cashier)
    assert 'id="scan-pauses"' not in client.get(reverse("scan")).content.decode()
    response = client.post(reverse("scan_pause_lift"), {"kind": "user", "name": str(staff["cashier"].pk)})
    assert response.status_code == 403
    with pytest.raises(ScanPauseError, match="Only an owner or a manager"):
        scan_pause_lift(merchant=merchant, acting_user=other_cashier, kind="user", name=str(staff["cashier"].pk))
    assert not ScanPauseLift.objects.exists()


@pytest.mark.parametrize(("kind", "name"), [("user", "not an id"), ("address", "999.1.1.1"), ("printer", ""), ("", "")])
def test_a_lift_of_nothing_is_refused_clearly(merchant, staff, paused_cashier, kind, name):
    response = lift(logged_in(staff["owner"]), kind, name)
    assert response.status_code == 200
    assert "No such scan pause is running here" in response.content.decode()
    assert not ScanPauseLift.objects.exists()


def test_the_admin_action_lifts_the_pause_of_the_selected_scans(client, merchant, staff, customer, paused_cashier):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    login_verified(client, admin_user)
    url = reverse("admin:system_qrscanlog_changelist")
    assert "lift_scan_pauses" in client.get(url).content.decode()
    refused = QRScanLog.objects.filter(scan_result="malformed").values_list("pk", flat=True)[:1]
    response = client.post(url, {"action": "lift_scan_pauses", "_selected_action": list(refused)}, follow=True)
    assert f"Scanning resumes for {staff['cashier'].email} at {merchant}." in response.content.decode()
    assert ScanPauseLift.objects.get().lifted_by == admin_user
    assert scan(paused_cashier, customer.customer_code).json()["ok"]

    response = client.post(url, {"action": "lift_scan_pauses", "_selected_action": list(refused)}, follow=True)
    assert "None of these scans" in response.content.decode()


def test_staff_without_the_permission_see_no_lift_action(client, merchant, paused_cashier):
    from django.contrib.auth.models import Permission

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_qrscanlog"))
    login_verified(client, viewer)
    page = client.get(reverse("admin:system_qrscanlog_changelist"))
    assert page.status_code == 200 and "lift_scan_pauses" not in page.content.decode()
