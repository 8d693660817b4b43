"""Every change to an audited table is recorded by the database, with the acting user."""

import pytest
from django.db import IntegrityError, transaction

from merchants.tests.factories import UserFactory
from system.audit import set_acting_user
from system.models import AuditLog
from system.testing import sql
from transactions.testing import complete_sale


def test_an_insert_is_recorded_with_its_values(merchant):
    log = AuditLog.objects.get(table_name="merchants", record_id=merchant.id)
    assert log.action == "INSERT"
    assert log.new_values["business_name"] == merchant.business_name
    assert log.old_values is None and log.user_id is None


def test_an_update_by_a_user_records_who_and_what_changed(merchant):
    user = UserFactory()
    with transaction.atomic():
        set_acting_user(user)
        sql("UPDATE merchants SET business_name = 'Renamed', business_phone = '123' WHERE id = %s", [merchant.id])

    log = AuditLog.objects.get(table_name="merchants", record_id=merchant.id, action="UPDATE")
    assert log.user_id == user.id
    assert log.changed_fields == ["business_name", "business_phone"]
    assert (log.old_values["business_name"], log.new_values["business_name"]) == (merchant.business_name, "Renamed")


@pytest.mark.django_db(transaction=True)
def test_the_acting_user_lasts_one_database_transaction(merchant):
    user = UserFactory()
    with transaction.atomic():
        set_acting_user(user)
    sql("UPDATE merchants SET business_phone = '999' WHERE id = %s", [merchant.id])
    assert AuditLog.objects.get(table_name="merchants", action="UPDATE").user_id is None


def test_a_delete_is_recorded(merchant):
    sql("DELETE FROM merchants WHERE id = %s", [merchant.id])
    log = AuditLog.objects.get(table_name="merchants", record_id=merchant.id, action="DELETE")
    assert log.old_values["merchant_code"] == merchant.merchant_code and log.new_values is None


def test_a_sale_writes_one_audit_row_not_one_per_total(merchant, program, customer):
    complete_sale(merchant=merchant, customer=customer)  # the first sale opens the account (audited too)
    before = set(AuditLog.objects.values_list("id", flat=True))
    sale = complete_sale(merchant=merchant, customer=customer, amount="9.00")
    new = AuditLog.objects.exclude(id__in=before)
    assert [(log.table_name, log.record_id, log.action) for log in new] == [("transactions", sale.id, "INSERT")]


def test_a_refund_is_recorded_as_a_status_change(merchant, program, customer):
    sale = complete_sale(merchant=merchant, customer=customer)
    sql("UPDATE transactions SET status = 'refunded' WHERE id = %s", [sale.id])
    log = AuditLog.objects.get(table_name="transactions", record_id=sale.id, action="UPDATE")
    assert "status" in log.changed_fields and "refunded_at" in log.changed_fields
    assert (log.old_values["status"], log.new_values["status"]) == ("completed", "refunded")


def test_saving_a_row_unchanged_records_nothing(merchant):
    before = AuditLog.objects.count()
    merchant.save()
    assert AuditLog.objects.count() == before


@pytest.mark.parametrize("statement", ["UPDATE audit_logs SET action = 'DELETE'", "DELETE FROM audit_logs"])
def test_the_audit_log_is_append_only(merchant, statement):
    with pytest.raises(IntegrityError, match="audit_logs is append-only"):
        with transaction.atomic():
            sql(statement)
    assert AuditLog.objects.filter(table_name="merchants").count() == 1


def test_updated_at_is_kept_by_the_database_and_created_at_never_moves(merchant):
    sql("UPDATE merchants SET created_at = '2000-01-01', business_phone = '1' WHERE id = %s", [merchant.id])
    [(created_at, updated_at)] = sql("SELECT created_at, updated_at FROM merchants WHERE id = %s", [merchant.id])
    assert created_at == merchant.created_at
    assert updated_at >= merchant.updated_at


@pytest.mark.django_db(transaction=True)
def test_a_requests_user_names_the_author_of_each_of_its_database_transactions(merchant):
    from django.db import connection

    from system.audit import ActingUserWrapper

    user, other = UserFactory(), UserFactory()
    with connection.execute_wrapper(ActingUserWrapper(str(user.pk))):
        for name in ("First", "Second"):  # two transactions: each gets the author again
            with transaction.atomic():
                merchant.business_name = name
                merchant.save(update_fields=["business_name"])
                merchant.business_name = name + " again"
                merchant.save(update_fields=["business_name"])  # the same transaction: named once
        with transaction.atomic():
            set_acting_user(other)  # a service that names its author keeps it
            merchant.business_name = "By the service"
            merchant.save(update_fields=["business_name"])
        merchant.business_name = "Autocommit"
        merchant.save(update_fields=["business_name"])
    authors = list(
        AuditLog.objects.filter(table_name="merchants", record_id=merchant.pk, action="UPDATE")
        .order_by("created_at", "id")
        .values_list("new_values__business_name", "user_id")
    )
    assert sorted(authors, key=str) == sorted(
        [
            ("First", user.pk),
            ("First again", user.pk),
            ("Second", user.pk),
            ("Second again", user.pk),
            ("By the service", other.pk),
            ("Autocommit", user.pk),
        ],
        key=str,
    )
