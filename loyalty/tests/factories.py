from decimal import Decimal

import factory

from loyalty.models import LoyaltyProgram
from merchants.tests.factories import MerchantFactory


class LoyaltyProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoyaltyProgram

    merchant = factory.SubFactory(MerchantFactory)
    name = "Rewards"
    points_per_dollar = Decimal("1")
