import zoneinfo

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Length

from system.codes import MERCHANT_CODE_LENGTH
from system.db import SQLPredicate, TimeStampedModel, UUIDModel, choices_check


def validate_timezone(value: str) -> None:
    """An IANA 'Area/Location' name, or UTC: the rule of the SQL function is_valid_timezone()."""
    if value not in zoneinfo.available_timezones() or ("/" not in value and value not in ("UTC", "GMT")):
        raise ValidationError(f"{value!r} is not a time zone; use a name such as Europe/Berlin.")


class NewMerchantCode(models.Func):
    function = "new_merchant_code"
    template = "%(function)s()"
    output_field = models.CharField()


class EmailUserManager(UserManager):
    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email=(username or "").strip().lower())  # emails are stored in lower case

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra_fields)


class User(UUIDModel, AbstractUser):
    """A person who logs in: merchant staff and platform admins. The email is the login."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []
    objects = EmailUserManager()

    class Meta:
        db_table = "users"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email=models.functions.Lower("email")),
                name="users_email_lowercase",
                violation_error_message="Store email addresses in lower case.",
            ),
        ]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = (self.email or "").strip().lower()


class MerchantStatus(models.TextChoices):
    ACTIVE = "active"
    INACTIVE = "inactive"
    SUSPENDED = "suspended"


class MerchantPlan(models.TextChoices):
    BASIC = "basic"
    PREMIUM = "premium"
    ENTERPRISE = "enterprise"


class Merchant(TimeStampedModel):
    Status = MerchantStatus
    Plan = MerchantPlan
    business_name = models.CharField(max_length=200)
    business_email = models.EmailField()
    business_phone = models.CharField(max_length=32, blank=True, default="", db_default="")
    business_address = models.TextField(blank=True, default="", db_default="")
    business_type = models.CharField(max_length=50, blank=True, default="", db_default="")
    merchant_code = models.CharField(max_length=16, db_default=NewMerchantCode(), editable=False)
    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE, db_default=Status.ACTIVE)
    subscription_plan = models.CharField(max_length=16, choices=Plan, default=Plan.BASIC, db_default=Plan.BASIC)
    timezone = models.CharField(
        max_length=64,
        validators=[validate_timezone],
        default="UTC",
        db_default="UTC",
        help_text="IANA time zone, e.g. Europe/Berlin; a merchant's day is its local day.",
    )
    currency = models.CharField(max_length=3, default="USD", db_default="USD", help_text="ISO 4217 code, e.g. EUR.")
    allow_static_codes = models.BooleanField(
        "accept printed customer codes",
        default=True,
        db_default=True,
        help_text="Off: only the card's QR code, which changes every minute, is accepted at the counter.",
    )
    require_2fa = models.BooleanField(
        "require two-factor sign-in of all staff",
        default=False,
        db_default=False,
        help_text="On: every staff member gives a code from an authenticator app after the password.",
    )

    class Meta:
        db_table = "merchants"
        constraints = [
            # Unique constraints rather than unique=True: no extra LIKE index on each column.
            models.UniqueConstraint(fields=["business_email"], name="merchants_business_email_key"),
            models.UniqueConstraint(fields=["merchant_code"], name="merchants_merchant_code_key"),
            choices_check("merchants", "status", MerchantStatus),
            choices_check("merchants", "subscription_plan", MerchantPlan),
            models.CheckConstraint(
                condition=models.lookups.Exact(Length("merchant_code"), MERCHANT_CODE_LENGTH),
                name="merchants_merchant_code_length",
            ),
            models.CheckConstraint(
                condition=SQLPredicate("merchant_code", function="loyalty_code_is_valid"),
                name="merchants_merchant_code_valid",
                violation_error_message="The merchant code's check character is wrong.",
            ),
            models.CheckConstraint(
                condition=SQLPredicate("timezone", function="is_valid_timezone"),
                name="merchants_timezone_valid",
                violation_error_message="Unknown time zone.",
            ),
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"),
                name="merchants_currency_valid",
                violation_error_message="A currency is a three-letter ISO code such as USD.",
            ),
        ]

    def __str__(self):
        return f"{self.business_name} ({self.merchant_code})"

    def clean(self):
        """Once a merchant has sales, its time zone and currency stay (the database refuses it too)."""
        if self._state.adding or not self.transactions.exists():
            return
        saved = Merchant.objects.values("timezone", "currency").get(pk=self.pk)
        errors = {
            name: "This cannot change once the merchant has sales."
            for name in ("timezone", "currency")
            if getattr(self, name) != saved[name]
        }
        if errors:
            raise ValidationError(errors)


class MerchantStaffRole(models.TextChoices):
    OWNER = "owner"
    MANAGER = "manager"
    CASHIER = "cashier"


class MerchantStaff(TimeStampedModel):
    """A user's membership of a merchant, with a role."""

    Role = MerchantStaffRole
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role)
    is_active = models.BooleanField(default=True, db_default=True)

    class Meta:
        db_table = "merchant_staff"
        verbose_name_plural = "merchant staff"
        constraints = [
            choices_check("merchant_staff", "role", MerchantStaffRole),
            models.UniqueConstraint(fields=["merchant", "user"], name="merchant_staff_merchant_user_unique"),
        ]
        indexes = [models.Index(fields=["user", "merchant"], name="merchant_staff_user_idx")]

    def __str__(self):
        return f"{self.user} — {self.role} at {self.merchant.business_name}"
