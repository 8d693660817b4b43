from django.db import models
from django.db.models.functions import Length, Now

from system.codes import CUSTOMER_CODE_LENGTH
from system.db import SQLPredicate, TimeStampedModel, choices_check


class NewCardToken(models.Func):
    """The card token's database default before tokens were hashed: named by migration 0001 only."""

    function = "new_card_token"
    template = "%(function)s()"
    output_field = models.CharField()


class NewCustomerCode(models.Func):
    function = "new_customer_code"
    template = "%(function)s()"
    output_field = models.CharField()


class CustomerStatus(models.TextChoices):
    ACTIVE = "active"
    INACTIVE = "inactive"
    BLOCKED = "blocked"
    MERGED = "merged"  # the same person as `merged_into`, whose card this one's code now finds
    ERASED = "erased"  # personal data erased at the customer's request; sales and points stay


class Customer(TimeStampedModel):
    """A loyalty member. The totals are kept by the `update_customer_totals` trigger."""

    Status = CustomerStatus
    customer_code = models.CharField(max_length=16, db_default=NewCustomerCode(), editable=False)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True, default="", db_default="")
    email = models.EmailField(null=True, blank=True)  # noqa: DJ001 (NULL: no email, and unique ones otherwise)
    # E.164 (customers.phones.normalize), or "" for none; one customer per phone, like email.
    phone = models.CharField(max_length=32, blank=True, default="", db_default="")
    date_of_birth = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE, db_default=Status.ACTIVE)
    total_spent = models.DecimalField(max_digits=12, decimal_places=2, default=0, db_default=0, editable=False)
    total_transactions = models.IntegerField(default=0, db_default=0, editable=False)
    last_visit_at = models.DateTimeField(null=True, blank=True, editable=False)
    # sha256 of the secret in the card page's link (customers.services.card_link_issue); only the link sent to
    # the customer carries the secret. NULL: no link issued, or revoked.
    card_token_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, editable=False, related_name="+"
    )
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "customers"
        permissions = [("erase_customer", "Can erase a customer's personal data")]
        constraints = [
            # Unique constraints rather than unique=True: no extra LIKE index on each column.
            models.UniqueConstraint(fields=["customer_code"], name="customers_customer_code_key"),
            models.UniqueConstraint(fields=["email"], name="customers_email_key"),
            models.UniqueConstraint(fields=["card_token_hash"], name="customers_card_token_hash_key"),
            models.UniqueConstraint(fields=["phone"], condition=~models.Q(phone=""), name="customers_phone_key"),
            choices_check("customers", "status", CustomerStatus),
            models.CheckConstraint(
                condition=models.lookups.Exact(Length("customer_code"), CUSTOMER_CODE_LENGTH),
                name="customers_customer_code_length",
            ),
            models.CheckConstraint(
                condition=SQLPredicate("customer_code", function="loyalty_code_is_valid"),
                name="customers_customer_code_valid",
                violation_error_message="The customer code's check character is wrong.",
            ),
            models.CheckConstraint(
                condition=models.Q(email=models.functions.Lower("email")),
                name="customers_email_lowercase",
                violation_error_message="Store email addresses in lower case.",
            ),
            models.CheckConstraint(
                condition=models.Q(status="merged", merged_into__isnull=False)
                | (~models.Q(status="merged") & models.Q(merged_into__isnull=True)),
                name="customers_merged_into_when_merged",
            ),
            models.CheckConstraint(condition=models.Q(total_spent__gte=0), name="customers_total_spent_nonnegative"),
            models.CheckConstraint(
                condition=models.Q(total_transactions__gte=0), name="customers_total_transactions_nonnegative"
            ),
        ]

    @property
    def full_name(self) -> str:
        if self.status == CustomerStatus.ERASED:
            return "Erased customer"
        return f"{self.first_name} {self.last_name}".strip()

    def __str__(self):
        return f"{self.full_name} ({self.customer_code})"


class CardCode(models.Model):
    """A short code the card page shows beside its QR code, for a cashier to type when the camera fails: good
    for `privacy.card_code_minutes`, for one sale. A code is unique among the live ones; an expired one's row
    is reused for the next customer it is drawn for."""

    code = models.CharField(max_length=8, primary_key=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(db_default=Now())
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "card_codes"

    def __str__(self):
        return self.code


class CardTokenUse(models.Model):
    """A live card token (the card page's rotating QR) that a counter accepted: its primary key makes the
    second counter scanning it at the same instant fail, whoever commits first."""

    token_digest = models.CharField(max_length=64, primary_key=True)  # sha256 of the token's text
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    used_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "card_token_uses"
        indexes = [models.Index(fields=["used_at"], name="card_token_uses_used_at_idx")]

    def __str__(self):
        return self.token_digest


class ErasureStatus(models.TextChoices):
    PENDING = "pending"
    DONE = "done"
    DECLINED = "declined"


class ErasureRequest(TimeStampedModel):
    """A customer's request, from their card page, that their personal data be erased; an operator confirms
    it in the admin (customers.services.customer_erase)."""

    Status = ErasureStatus
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="erasure_requests")
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING, db_default=Status.PENDING)
    decided_by = models.ForeignKey(
        "merchants.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True, default="", db_default="")

    class Meta:
        db_table = "erasure_requests"
        constraints = [
            choices_check("erasure_requests", "status", ErasureStatus),
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(status="pending"), name="erasure_requests_one_pending"
            ),
        ]

    def __str__(self):
        return f"Erasure of {self.customer_id} ({self.status})"


class PhoneDuplicate(models.Model):
    """A phone number two customers had before phones were unique: kept here, off the later customer, until an
    operator merges them (manage.py merge_duplicate_customers) or decides they are different people."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, primary_key=True, related_name="+")
    phone = models.CharField(max_length=32)
    same_phone_as = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    found_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "customer_phone_duplicates"

    def __str__(self):
        return f"{self.customer_id} has {self.phone} like {self.same_phone_as_id}"
