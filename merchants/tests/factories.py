import factory

from merchants.models import Merchant, MerchantStaff, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    password = factory.django.Password("demo1234")


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    business_name = factory.Sequence(lambda n: f"Shop {n}")
    business_email = factory.Sequence(lambda n: f"shop{n}@example.test")
    timezone = "UTC"
    currency = "USD"


class MerchantStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MerchantStaff

    merchant = factory.SubFactory(MerchantFactory)
    user = factory.SubFactory(UserFactory)
    role = MerchantStaff.Role.OWNER


# A valid Business form, less the owner's billing field.
BUSINESS = {
    "business_name": "Renamed Café",
    "business_type": "cafe",
    "business_phone": "+1 555 0199",
    "business_address": "1 Main St",
    "timezone": "Europe/Berlin",
    "currency": "EUR",
}
