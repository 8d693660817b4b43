"""Merchants and customers get their codes from the database (the column defaults), and the database refuses
a code that breaks the rule of system/codes.py (its tests: system/tests/test_codes.py)."""

import pytest
from django.db import IntegrityError, transaction

from customers.tests.factories import CustomerFactory
from merchants.tests.factories import MerchantFactory
from system import codes
from system.testing import sql
from system.tests.test_codes import AMBIGUOUS, mistype


def test_a_new_merchant_gets_a_valid_nine_character_code_from_the_database(db):
    merchant = MerchantFactory()
    [(stored,)] = sql("SELECT merchant_code FROM merchants WHERE id = %s", [merchant.id])

    assert merchant.merchant_code == stored
    assert len(stored) == codes.MERCHANT_CODE_LENGTH == 9
    assert codes.is_valid(stored)
    assert not set(stored) & set(AMBIGUOUS)


def test_a_new_customer_gets_a_valid_eleven_character_code_from_the_database(db):
    customer = CustomerFactory()
    [(stored,)] = sql("SELECT customer_code FROM customers WHERE id = %s", [customer.id])

    assert customer.customer_code == stored
    assert len(stored) == codes.CUSTOMER_CODE_LENGTH == 11
    assert codes.is_valid(stored)
    assert not set(stored) & set(AMBIGUOUS)


def test_raw_sql_inserts_get_codes_from_the_column_defaults(db):
    [(merchant_code,)] = sql(
        "INSERT INTO merchants (business_name, business_email) VALUES ('Raw', 'raw@example.test') "
        "RETURNING merchant_code"
    )
    [(customer_code,)] = sql("INSERT INTO customers (first_name) VALUES ('Raw') RETURNING customer_code")

    assert (len(merchant_code), len(customer_code)) == (9, 11)
    assert codes.is_valid(merchant_code) and codes.is_valid(customer_code)


def test_many_merchants_get_different_codes(db):
    merchants = MerchantFactory.create_batch(20)
    assert len({m.merchant_code for m in merchants}) == 20


def test_a_merchant_inserted_with_a_mistyped_code_is_refused(db):
    typo = mistype(codes.generate(codes.MERCHANT_CODE_LENGTH))

    with pytest.raises(IntegrityError, match='violates check constraint "merchants_merchant_code_valid"'):
        with transaction.atomic():
            sql(
                "INSERT INTO merchants (business_name, business_email, merchant_code) VALUES ('Typo', 't@x.test', %s)",
                [typo],
            )

    assert sql("SELECT count(*) FROM merchants") == [(0,)]


def test_a_merchant_code_cannot_be_changed_to_a_mistyped_one(db):
    merchant = MerchantFactory()

    with pytest.raises(IntegrityError, match='violates check constraint "merchants_merchant_code_valid"'):
        with transaction.atomic():
            sql("UPDATE merchants SET merchant_code = %s WHERE id = %s", [mistype(merchant.merchant_code), merchant.id])

    assert sql("SELECT merchant_code FROM merchants WHERE id = %s", [merchant.id]) == [(merchant.merchant_code,)]


def test_a_merchant_inserted_with_a_lower_case_code_is_refused(db):
    code = codes.generate(codes.MERCHANT_CODE_LENGTH)
    while code.lower() == code:  # all digits: no lower case form
        code = codes.generate(codes.MERCHANT_CODE_LENGTH)

    with pytest.raises(IntegrityError, match="merchants_merchant_code_valid"):
        with transaction.atomic():
            sql(
                "INSERT INTO merchants (business_name, business_email, merchant_code) VALUES ('Low', 'l@x.test', %s)",
                [code.lower()],
            )


def test_a_customer_inserted_with_a_mistyped_code_is_refused(db):
    typo = mistype(codes.generate(codes.CUSTOMER_CODE_LENGTH))

    with pytest.raises(IntegrityError, match='violates check constraint "customers_customer_code_valid"'):
        with transaction.atomic():
            sql("INSERT INTO customers (first_name, customer_code) VALUES ('Typo', %s)", [typo])

    assert sql("SELECT count(*) FROM customers") == [(0,)]


def test_a_merchant_inserted_with_a_valid_code_of_its_own_keeps_it(db):
    code = codes.generate(codes.MERCHANT_CODE_LENGTH)
    sql(
        "INSERT INTO merchants (business_name, business_email, merchant_code) VALUES ('Own', 'own@x.test', %s)",
        [code],
    )
    assert sql("SELECT merchant_code FROM merchants") == [(code,)]
