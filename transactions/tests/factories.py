from decimal import Decimal

import factory

from customers.tests.factories import CustomerFactory
from merchants.tests.factories import MerchantFactory
from transactions.models import Transaction


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    merchant = factory.SubFactory(MerchantFactory)
    customer = factory.SubFactory(CustomerFactory)
    amount = Decimal("10.00")
    status = Transaction.Status.COMPLETED
