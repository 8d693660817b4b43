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
