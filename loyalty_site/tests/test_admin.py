"""The Django admin: every model is there, logs are read-only, settings are validated."""

import pytest
from django.contrib import admin
from django.urls import reverse

from merchants.tests.factories import UserFactory, login_verified
from system.models import AuditLog, SystemSetting
from transactions.testing import complete_sale


@pytest.fixture
def admin_client(client, db):
    login_verified(client, UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def some_data(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer, amount="12.00")
    SystemSetting.objects.create(setting_key="test.some_number", setting_value="5", value_type="integer")


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def test_every_model_of_the_project_is_in_the_admin():
    from django.apps import apps

    ours = {
        m
        for m in apps.get_models()
        if m._meta.app_label in {"merchants", "customers", "loyalty", "transactions", "analytics", "system"}
        and m._meta.managed
    }
    ours -= {apps.get_model("analytics", "MerchantDailyAnalyticsDelta")}  # transient, folded within seconds
    ours -= {apps.get_model("system", "OutgoingEmail")}  # unsent mail, secrets in it: never shown
    ours -= {apps.get_model("system", "OutgoingSMS")}  # unsent text messages, one-time codes in them: never shown
    ours -= {apps.get_model("system", "RateLimitHit")}  # digests of attempts, purged within a day: nothing to read
    # One-time codes and the live tokens used: good for minutes, purged hourly, nothing to read.
    ours -= {apps.get_model("customers", "CardCode"), apps.get_model("customers", "CardTokenUse")}
    ours -= {apps.get_model("loyalty", "PhoneVerification")}
    ours -= {apps.get_model("system", "QRScanSale")}  # a copy of each scan's sale, for its key: the scan log shows it
    assert ours <= set(admin.site._registry)


@pytest.mark.parametrize("search", ["", "abc", "7MJYY77RM2N", "00000000-0000-0000-0000-000000000000", "1.2.3.4"])
def test_every_changelist_opens_and_searches(admin_client, some_data, search):
    for model in admin.site._registry:
        response = admin_client.get(changelist(model), {"q": search} if search else {})
        assert response.status_code == 200, (model, search)


def test_every_change_page_opens(admin_client, some_data):
    for model in admin.site._registry:
        obj = model.objects.first()
        if obj is None:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
        assert admin_client.get(url).status_code == 200, model


@pytest.mark.parametrize(
    "model", [AuditLog, "loyalty.PointsTransaction", "system.QRScanLog", "transactions.TransactionRefund"]
)
def test_logs_and_the_ledger_are_read_only(admin_client, some_data, model):
    from django.apps import apps

    model = apps.get_model(model) if isinstance(model, str) else model
    model_admin = admin.site._registry[model]
    request = admin_client.get("/").wsgi_request
    # the ledger takes new adjustment rows (with a reason, by the service); no row ever changes
    assert model_admin.has_add_permission(request) == (model._meta.label == "loyalty.PointsTransaction")
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_a_setting_with_a_value_of_the_wrong_type_is_refused(admin_client):
    url = reverse("admin:system_systemsetting_add")
    response = admin_client.post(
        url, {"setting_key": "test.some_number", "setting_value": "five", "value_type": "integer", "description": ""}
    )
    assert response.status_code == 200
    assert "Not a valid integer" in response.content.decode()
    assert not SystemSetting.objects.filter(setting_key="test.some_number").exists()


def test_a_setting_with_a_good_value_is_saved_and_audited(admin_client):
    url = reverse("admin:system_systemsetting_add")
    response = admin_client.post(
        url,
        {
            "setting_key": "test.some_number",
            "setting_value": "5",
            "value_type": "integer",
            "description": "failed scans before a pause",
        },
    )
    assert response.status_code == 302
    setting = SystemSetting.objects.get(setting_key="test.some_number")
    assert setting.typed_value() == 5
    log = AuditLog.objects.get(table_name="system_settings", record_id=setting.id)
    assert log.user_id == response.wsgi_request.user.id
