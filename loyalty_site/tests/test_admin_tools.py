"""The platform admin's daily tools: settings checked by range, fixed keys and types, no deletes; every list newest
first; the logs filtered by merchant and by record without reading the whole log."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from merchants.tests.factories import MerchantFactory, UserFactory, login_verified
from system.admin import AuditMerchantFilter
from system.models import AuditLog, QRScanLog, SystemSetting
from system.settings_store import KNOWN, setting, setting_set
from transactions.testing import complete_sale

OUR_APPS = {"merchants", "customers", "loyalty", "transactions", "analytics", "api", "system"}

# The order of every list of ours: newest first by its time (a setting: the last changed first).
NEWEST_FIRST = {
    "merchants.Merchant": "-created_at",
    "merchants.MerchantStaff": "-created_at",
    "merchants.User": "-date_joined",
    "customers.Customer": "-created_at",
    "customers.ErasureRequest": "-created_at",
    "customers.PhoneDuplicate": "-found_at",
    "transactions.CustomerMerge": "-created_at",  # the pending ones first (get_ordering), each part newest first
    "loyalty.LoyaltyProgram": "-created_at",
    "loyalty.CustomerLoyaltyAccount": "-created_at",
    "loyalty.PointsTransaction": "-created_at",
    "loyalty.LoyaltyTier": "-created_at",
    "loyalty.PointsLot": "-earned_at",
    "transactions.Transaction": "-created_at",
    "transactions.TransactionItem": "-created_at",
    "transactions.TransactionRefund": "-created_at",
    "transactions.ScanPauseLift": "-created_at",
    "analytics.MerchantDailyAnalytics": "-date",
    "analytics.CustomerVisit": "-visit_date",
    "analytics.MerchantHourlyAnalytics": "-date",
    "api.ApiKey": "-created_at",
    "system.SystemSetting": "-updated_at",
    "system.AuditLog": "-created_at",
    "system.QRScanLog": "-created_at",
    "system.FraudFlag": "-created_at",
}


@pytest.fixture
def admin_client(client, db):
    login_verified(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def change_url(row):
    return reverse("admin:system_systemsetting_change", args=[row.pk])


def post_setting(client, row, value, **changes):
    data = {"setting_value": value, "description": row.description, **changes}
    return client.post(change_url(row), data)


# Settings


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5", "This setting is a whole number from 1 to 100."),
        ("0", "This setting is a whole number from 1 to 100."),
        ("101", "This setting is a whole number from 1 to 100."),
        ("five", "Not a valid integer: &#x27;five&#x27; is not a whole number"),
    ],
)
def test_a_known_setting_out_of_its_range_is_refused_and_nothing_is_saved(admin_client, value, message):
    row = SystemSetting.objects.get(setting_key="scan.max_failures")
    response = post_setting(admin_client, row, value)
    assert response.status_code == 200
    assert message in response.content.decode()
    row.refresh_from_db()
    assert row.setting_value == "5"
    assert not AuditLog.objects.filter(table_name="system_settings", record_id=row.pk, action="UPDATE").exists()


def test_a_known_setting_within_its_range_is_saved_and_read(admin_client):
    row = SystemSetting.objects.get(setting_key="scan.max_failures")
    response = post_setting(admin_client, row, "7")
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.setting_value == "7"
    assert setting("scan.max_failures") == 7


def test_the_change_form_says_what_values_a_setting_takes(admin_client):
    row = SystemSetting.objects.get(setting_key="card.token_max_age_seconds")
    page = admin_client.get(change_url(row)).content.decode()
    assert "A whole number from 60 to 3,600; 180 by default." in page


def test_a_known_key_cannot_be_added_with_another_type(admin_client):
    SystemSetting.objects.filter(setting_key="fraud.max_sales").delete()
    response = admin_client.post(
        reverse("admin:system_systemsetting_add"),
        {"setting_key": "fraud.max_sales", "setting_value": "many", "value_type": "string", "description": ""},
    )
    assert response.status_code == 200
    assert "fraud.max_sales is a setting of type integer." in response.content.decode()
    assert not SystemSetting.objects.filter(setting_key="fraud.max_sales").exists()


def test_an_unknown_setting_takes_any_value_of_its_type(admin_client):
    response = admin_client.post(
        reverse("admin:system_systemsetting_add"),
        {"setting_key": "test.offset", "setting_value": "-5", "value_type": "integer", "description": ""},
    )
    assert response.status_code == 302
    assert SystemSetting.objects.get(setting_key="test.offset").typed_value() == -5


def test_setting_set_applies_the_same_ranges(db):
    with pytest.raises(ValidationError) as error:
        setting_set(key="scan.max_failures", value="-5")
    assert error.value.message_dict == {"setting_value": ["This setting is a whole number from 1 to 100."]}
    assert SystemSetting.objects.get(setting_key="scan.max_failures").setting_value == "5"
    setting_set(key="scan.max_failures", value="8")
    assert setting("scan.max_failures") == 8


def test_a_value_written_around_the_checks_outside_its_range_reads_as_the_default(db):
    SystemSetting.objects.filter(setting_key="scan.block_minutes").update(setting_value="100000")
    SystemSetting.objects.filter(setting_key="api.idempotency_hours").update(setting_value="2")
    assert (setting("scan.block_minutes"), setting("api.idempotency_hours")) == (10, 24)


def test_every_default_is_within_its_range():
    assert all(known.problem(known.default) is None for known in KNOWN.values())


def test_a_settings_key_and_type_are_read_only_after_creation(admin_client):
    row = SystemSetting.objects.get(setting_key="scan.max_failures")
    page = admin_client.get(change_url(row)).content.decode()
    assert 'name="setting_key"' not in page and 'name="value_type"' not in page
    response = post_setting(admin_client, row, "6", setting_key="scan.renamed", value_type="string")
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.setting_key, row.value_type, row.setting_value) == ("scan.max_failures", "integer", "6")


def test_a_setting_cannot_be_deleted(admin_client):
    row = SystemSetting.objects.get(setting_key="scan.max_failures")
    assert "deletelink" not in admin_client.get(change_url(row)).content.decode()
    changelist = admin_client.get(reverse("admin:system_systemsetting_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    delete_url = reverse("admin:system_systemsetting_delete", args=[row.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    bulk = admin_client.post(
        reverse("admin:system_systemsetting_changelist"), {"action": "delete_selected", "_selected_action": [row.pk]}
    )
    assert bulk.status_code == 200 and SystemSetting.objects.filter(pk=row.pk).exists()


# Newest first


def test_every_admin_list_of_ours_has_its_order():
    ours = {
        model._meta.label: model_admin.ordering
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in OUR_APPS
    }
    assert {label: (ordering or [None])[0] for label, ordering in ours.items()} == NEWEST_FIRST


@pytest.fixture
def history(merchant, program, customer):
    """Two sales: rows in most lists."""
    older = complete_sale(merchant=merchant, customer=customer, amount="5.00", idempotency_key="older")
    newer = complete_sale(merchant=merchant, customer=CustomerFactory(), amount="7.00", idempotency_key="newer")
    return older, newer


def test_every_admin_list_shows_the_newest_first(admin_client, history):
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OUR_APPS:
            continue
        response = admin_client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
        assert response.status_code == 200, model
        field = model_admin.ordering[0].lstrip("-")
        shown = [getattr(row, field) for row in response.context["cl"].result_list]
        assert shown == sorted(shown, reverse=True), model


# The logs' filters


@pytest.fixture
def scans(merchant, customer):
    """Scans at two merchants: a success and a failure here, one elsewhere."""
    elsewhere = MerchantFactory(business_name="Elsewhere")
    other = CustomerFactory()
    rows = {
        "here_ok": QRScanLog.objects.create(
            merchant=merchant, customer=customer, scanned_code=customer.customer_code, scan_result="success"
        ),
        "here_bad": QRScanLog.objects.create(
            merchant=merchant, scanned_code="nonsense", scan_result="malformed", ip_address="10.0.0.7"
        ),
        "elsewhere": QRScanLog.objects.create(
            merchant=elsewhere, customer=other, scanned_code=other.customer_code, scan_result="success"
        ),
    }
    return rows, elsewhere


def scan_list(client, **params):
    response = client.get(reverse("admin:system_qrscanlog_changelist"), params)
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}, response


def test_the_scan_log_is_filtered_by_merchant_result_and_customer(admin_client, merchant, customer, scans):
    rows, elsewhere = scans
    assert scan_list(admin_client, merchant=str(merchant.pk))[0] == {rows["here_ok"].pk, rows["here_bad"].pk}
    assert scan_list(admin_client, merchant=str(elsewhere.pk))[0] == {rows["elsewhere"].pk}
    assert scan_list(admin_client, scan_result="malformed")[0] == {rows["here_bad"].pk}
    assert scan_list(admin_client, customer=str(customer.pk))[0] == {rows["here_ok"].pk}
    assert scan_list(admin_client, merchant="not an id")[0] == set()


def test_the_scan_logs_merchant_filter_lists_the_merchants_by_name(admin_client, merchant, scans):
    _, response = scan_list(admin_client)
    merchant_filter = response.context["cl"].filter_specs[0]
    assert merchant_filter.lookup_choices == [
        (str(scans[1].pk), "Elsewhere"),
        (str(merchant.pk), merchant.business_name),
    ]
    assert f"?merchant={merchant.pk}" in response.content.decode()


def test_the_scan_log_is_searched_by_code_address_and_id(admin_client, merchant, customer, scans):
    rows, elsewhere = scans
    assert scan_list(admin_client, q=customer.customer_code)[0] == {rows["here_ok"].pk}
    assert scan_list(admin_client, q=elsewhere.merchant_code)[0] == {rows["elsewhere"].pk}
    assert scan_list(admin_client, q="10.0.0.7")[0] == {rows["here_bad"].pk}
    assert scan_list(admin_client, q=str(merchant.pk))[0] == {rows["here_ok"].pk, rows["here_bad"].pk}


def test_a_scanned_code_is_searched_within_one_merchant(admin_client, merchant, scans):
    rows, _ = scans
    found, response = scan_list(admin_client, q="nonsense")
    assert found == set() and "Choose a merchant to search its scans" in response.content.decode()
    assert scan_list(admin_client, q="nonsense", merchant=str(merchant.pk))[0] == {rows["here_bad"].pk}


def test_the_audit_log_is_filtered_by_table_and_record(admin_client, merchant, customer):
    other = MerchantFactory()
    url = reverse("admin:system_auditlog_changelist")
    response = admin_client.get(url, {"table_name": "merchants", "record": str(merchant.pk)})
    shown = response.context["cl"].result_list
    assert shown and {(row.table_name, row.record_id) for row in shown} == {("merchants", merchant.pk)}
    searched = admin_client.get(url, {"q": str(other.pk)}).context["cl"].result_list
    assert searched and {row.record_id for row in searched} == {other.pk}
    tables = next(spec for spec in response.context["cl"].filter_specs if spec.parameter_name == "table_name")
    assert "customers" in [choice for choice, _ in tables.lookup_choices]


@pytest.mark.parametrize(
    ("model", "params"),
    [
        (AuditLog, {}),
        (AuditLog, {"table_name": "merchants"}),
        (QRScanLog, {}),
        (QRScanLog, {"scan_result": "success", "created_at__gte": "2020-01-01 00:00:00+00:00"}),
    ],
)
def test_opening_a_log_never_reads_the_whole_log_for_its_filters(admin_client, scans, model, params):
    url = reverse(f"admin:system_{model._meta.model_name}_changelist")
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(url, params).status_code == 200
    table = model._meta.db_table
    reads = [q["sql"] for q in queries if f'FROM "{table}"' in q["sql"]]
    assert reads and not [sql for sql in reads if "DISTINCT" in sql.upper()]


def explain(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row for (row,) in cursor.fetchall())


def test_the_searches_of_the_logs_can_use_an_index(admin_client, merchant, scans):
    # Many scans at another merchant, so the planner weighs the indexes as on a real log.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO qr_scan_logs (merchant_id, scanned_code, scan_result, created_at) "
            "SELECT %s, 'x' || g, 'malformed', now() - g * interval '1 minute' FROM generate_series(1, 20000) g",
            [scans[1].pk],
        )
        cursor.execute("ANALYZE qr_scan_logs")
    audit_admin = admin.site._registry[AuditLog]
    request = admin_client.get("/").wsgi_request
    by_record, _ = audit_admin.get_search_results(request, AuditLog.objects.all(), str(merchant.pk))
    assert "audit_logs_record_idx" in explain(*by_record.query.sql_with_params())
    scan_admin = admin.site._registry[QRScanLog]
    by_merchant, _ = scan_admin.get_search_results(request, QRScanLog.objects.all(), merchant.merchant_code)
    by_merchant = by_merchant.order_by("-created_at")[:100]
    assert "Index Cond: (merchant_id = " in explain(*by_merchant.query.sql_with_params())


def test_the_audit_logs_record_column_links_to_the_records_history(admin_client, merchant):
    page = admin_client.get(reverse("admin:system_auditlog_changelist")).content.decode()
    assert f"?table_name=merchants&amp;record={merchant.pk}" in page


def test_old_scans_are_listed_after_new_ones(admin_client, merchant, scans):
    rows, _ = scans
    QRScanLog.objects.filter(pk=rows["here_ok"].pk).update(created_at=timezone.now() - timedelta(days=3))
    response = admin_client.get(reverse("admin:system_qrscanlog_changelist"), {"merchant": str(merchant.pk)})
    assert [row.pk for row in response.context["cl"].result_list] == [rows["here_bad"].pk, rows["here_ok"].pk]


def test_the_audit_log_filters_by_merchant(admin_client, merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer, amount="5.00", idempotency_key="mine")
    elsewhere = MerchantFactory(business_name="Elsewhere")
    complete_sale(merchant=elsewhere, customer=customer, amount="6.00", idempotency_key="theirs")

    response = admin_client.get(reverse("admin:system_auditlog_changelist"), {"merchant": str(merchant.pk)})

    rows = list(response.context["cl"].result_list)
    assert {"merchants", "loyalty_programs", "transactions", "customer_loyalty_accounts"} <= {
        r.table_name for r in rows
    }
    assert any(r.table_name == "transactions" and r.record_id == sale.pk for r in rows)
    assert all(
        r.record_id == merchant.pk or (r.new_values or r.old_values)["merchant_id"] == str(merchant.pk) for r in rows
    )
    assert admin_client.get(reverse("admin:system_auditlog_changelist"), {"merchant": "nonsense"}).status_code == 200


def test_the_audit_logs_merchant_filter_reads_its_index(admin_client, merchant):
    elsewhere = MerchantFactory(business_name="Elsewhere")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_logs (table_name, record_id, action, new_values, created_at) "
            "SELECT 'transactions', gen_random_uuid(), 'INSERT', jsonb_build_object('merchant_id', %s::text), "
            "now() - g * interval '1 minute' FROM generate_series(1, 20000) g",
            [str(elsewhere.pk)],
        )
        cursor.execute("ANALYZE audit_logs")
    request = admin_client.get("/").wsgi_request
    audit_admin = admin.site._registry[AuditLog]
    mine = AuditMerchantFilter(request, {"merchant": [str(merchant.pk)]}, AuditLog, audit_admin)
    query = mine.queryset(request, AuditLog.objects.all()).order_by("-created_at")[:100]
    assert "audit_logs_merchant_idx" in explain(*query.query.sql_with_params())
