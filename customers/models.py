from django.db import models
from django.db.models.functions import Length

from system.codes import CUSTOMER_CODE_LENGTH
from system.db import SQLPredicate, TimeStampedModel, choices_check


class NewCardToken(models.Func):
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


class Customer(TimeStampedModel):
    """A loyalty member. The totals are kept by the `update_customer_totals` trigger."""

    Status = CustomerStatus
    customer_code = models.CharField(max_length=16, db_default=NewCustomerCode(), editable=False)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True, default="", db_default="")
    email = models.EmailField(null=True, blank=True)  # noqa: DJ001 (NULL: no email, and unique ones otherwise)
    phone = models.CharField(max_length=32, blank=True, default="", db_default="")
    date_of_birth = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE, db_default=Status.ACTIVE)
    total_spent = models.DecimalField(max_digits=12, decimal_places=2, default=0, db_default=0, editable=False)
    total_transactions = models.IntegerField(default=0, db_default=0, editable=False)
    last_visit_at = models.DateTimeField(null=True, blank=True, editable=False)
    card_token = models.CharField(
        max_length=64,
        db_default=NewCardToken(),
        editable=False,
        help_text="The secret of the customer's card page link.",
    )

    class Meta:
        db_table = "customers"
        constraints = [
            # Unique constraints rather than unique=True: no extra LIKE index on each column.
            models.UniqueConstraint(fields=["customer_code"], name="customers_customer_code_key"),
            models.UniqueConstraint(fields=["email"], name="customers_email_key"),
            models.UniqueConstraint(fields=["card_token"], name="customers_card_token_key"),
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
            models.CheckConstraint(condition=models.Q(total_spent__gte=0), name="customers_total_spent_nonnegative"),
            models.CheckConstraint(
                condition=models.Q(total_transactions__gte=0), name="customers_total_transactions_nonnegative"
            ),
        ]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __str__(self):
        return f"{self.full_name} ({self.customer_code})"
