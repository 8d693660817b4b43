import factory

from merchants.models import Merchant, MerchantStaff, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    password = factory.django.Password("demo-password")


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


def login_verified(client, user):
    """Log `user` in as after the password and a second factor: an authenticator app set up (made here if
    missing) whose code this session gave. Platform admins need it (merchants/two_factor.py)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    device = device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
