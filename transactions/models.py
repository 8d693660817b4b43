from django.conf import settings
from django.db import models
from django.db.models.functions import Now

from system.db import GenRandomUUID, TimeStampedModel, UUIDModel, choices_check


class TransactionStatus(models.TextChoices):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class TransactionPaymentMethod(models.TextChoices):
    CASH = "cash"
    CARD = "card"
    MOBILE = "mobile"
    OTHER = "other"


class Transaction(TimeStampedModel):
    """A sale. Its status moves are checked, and its effects applied, by database triggers."""

    Status = TransactionStatus
    PaymentMethod = TransactionPaymentMethod
    # Both keys lead composite indexes below, so they need none of their own.
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, blank=True, help_text="Filled from the merchant when empty.")
    payment_method = models.CharField(
        max_length=16, choices=PaymentMethod, default=PaymentMethod.CARD, db_default=PaymentMethod.CARD
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING, db_default=Status.PENDING)
    external_reference = models.CharField(max_length=100, blank=True, default="", db_default="")
    description = models.CharField(max_length=255, blank=True, default="", db_default="")
    points_earned = models.IntegerField(default=0, db_default=0, editable=False)
    points_rate = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        null=True,
        blank=True,
        editable=False,
        help_text="Points per currency unit used for this sale.",
    )
    points_multiplier = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        editable=False,
        help_text="The customer's tier multiplier used for this sale.",
    )
    points_reversed = models.IntegerField(
        default=0, db_default=0, editable=False, help_text="Earned points taken back by refunds."
    )
    points_shortfall = models.IntegerField(
        default=0, db_default=0, editable=False, help_text="Earned points a refund could not take back: already spent."
    )
    points_returned = models.IntegerField(
        default=0, db_default=0, editable=False, help_text="Redeemed points given back by refunds."
    )
    refunded_amount = models.DecimalField(
        max_digits=12, decimal_places=2, default=0, db_default=0, help_text="What refunds have paid back so far."
    )
    points_redeemed = models.IntegerField(
        default=0, db_default=0, help_text="Points the customer paid part of this sale with."
    )
    discount_amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=0,
        db_default=0,
        editable=False,
        help_text="What the redeemed points paid, set by the database.",
    )
    idempotency_key = models.CharField(  # noqa: DJ001 (NULL: no key; unique per merchant otherwise)
        max_length=100,
        null=True,
        blank=True,
        editable=False,
        help_text="The key of the checkout form or API request that made this sale.",
    )
    # Staff are deactivated, not deleted: no index for the rare protect check on delete.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "transactions"
        constraints = [
            choices_check("transactions", "status", TransactionStatus),
            choices_check("transactions", "payment_method", TransactionPaymentMethod),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0),
                name="transactions_amount_positive",
                violation_error_message="The amount must be more than zero.",
            ),
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="transactions_currency_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(points_earned__gte=0), name="transactions_points_earned_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(points_reversed__gte=0, points_reversed__lte=models.F("points_earned")),
                name="transactions_points_reversed_range",
            ),
            models.CheckConstraint(
                condition=models.Q(points_redeemed__gte=0), name="transactions_points_redeemed_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    points_shortfall__gte=0,
                    points_shortfall__lte=models.F("points_earned") - models.F("points_reversed"),
                ),
                name="transactions_points_shortfall_range",
            ),
            models.CheckConstraint(
                condition=models.Q(points_returned__gte=0, points_returned__lte=models.F("points_redeemed")),
                name="transactions_points_returned_range",
            ),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0, refunded_amount__lte=models.F("amount")),
                name="transactions_refunded_amount_range",
            ),
            models.CheckConstraint(
                condition=models.Q(discount_amount__gte=0, discount_amount__lte=models.F("amount")),
                name="transactions_discount_range",
            ),
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="transactions_merchant_idempotency_key",
            ),
            # The key a line item names its sale by, with the merchant (the primary key of docs/scale-out.md).
            models.UniqueConstraint(fields=["merchant", "id"], name="transactions_merchant_id_key"),
            models.CheckConstraint(
                condition=models.Q(completed_at__isnull=False) | ~models.Q(status__in=["completed", "refunded"]),
                name="transactions_completed_has_time",
            ),
        ]
        indexes = [
            # A merchant's transactions, newest first: dashboard, transactions table, sample query.
            models.Index(fields=["merchant", "-created_at"], name="tx_merchant_created_idx"),
            # A customer's history, newest first: customer page, customer_summary.
            models.Index(fields=["customer", "merchant", "-created_at"], name="tx_customer_created_idx"),
            # The transactions table filtered by status (pending sales, refunds).
            models.Index(fields=["merchant", "status", "-created_at"], name="tx_merchant_status_idx"),
            # Sales completed in a time range: rebuild_analytics.
            models.Index(fields=["completed_at"], name="tx_completed_at_idx"),
            # Time-range scans in the admin.
            models.Index(fields=["-created_at"], name="tx_created_at_idx"),
        ]

    def __str__(self):
        return f"{self.amount} {self.currency} {self.status}"

    @property
    def amount_due(self):
        """What the customer pays beyond the points."""
        return self.amount - self.discount_amount

    @property
    def refundable_amount(self):
        """What is left to refund."""
        return self.amount - self.refunded_amount if self.status == TransactionStatus.COMPLETED else 0


class TransactionItem(UUIDModel):
    # The sale's key is checked together with its merchant: the foreign key (merchant_id, transaction_id) ->
    # transactions (merchant_id, id) of migration transactions 0011, which Django cannot declare.
    transaction = models.ForeignKey(
        Transaction, on_delete=models.CASCADE, related_name="items", db_index=False, db_constraint=False
    )
    # The sale's merchant: the distribution column of docs/scale-out.md. The checkout writes it; for a writer
    # that leaves it out, the trigger transaction_items_set_merchant looks it up.
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+", db_index=False)
    product_name = models.CharField(max_length=200)
    product_sku = models.CharField(max_length=64, blank=True, default="", db_default="")
    quantity = models.IntegerField(default=1, db_default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    total_price = models.GeneratedField(
        expression=models.F("quantity") * models.F("unit_price"),
        output_field=models.DecimalField(max_digits=12, decimal_places=2),
        db_persist=True,
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "transaction_items"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0),
                name="transaction_items_quantity_positive",
                violation_error_message="The quantity must be at least 1.",
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0),
                name="transaction_items_unit_price_nonnegative",
                violation_error_message="The unit price cannot be negative.",
            ),
        ]
        indexes = [models.Index(fields=["transaction"], name="ti_transaction_idx")]

    def __str__(self):
        return f"{self.quantity} × {self.product_name}"


class TransactionRefundKind(models.TextChoices):
    REFUND = "refund"
    CANCEL = "cancel"


class TransactionRefund(models.Model):
    """One refund (or cancellation) of a completed sale, written by the sale's trigger."""

    Kind = TransactionRefundKind
    id = models.UUIDField(primary_key=True, db_default=GenRandomUUID(), editable=False)
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="refunds", db_index=False)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(max_length=8, choices=Kind)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    points_taken_back = models.IntegerField()
    points_given_back = models.IntegerField()
    points_shortfall = models.IntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "transaction_refunds"
        constraints = [
            choices_check("transaction_refunds", "kind", TransactionRefundKind),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="transaction_refunds_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(points_taken_back__gte=0, points_given_back__gte=0, points_shortfall__gte=0),
                name="transaction_refunds_points_nonnegative",
            ),
        ]
        indexes = [
            models.Index(fields=["transaction", "created_at"], name="tr_transaction_idx"),
            # Refunds by day: rebuild_analytics.
            models.Index(fields=["merchant", "created_at"], name="tr_merchant_created_idx"),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount}"


class ScanPauseLift(UUIDModel):
    """An owner, a manager or a platform admin lifted the scan pause of a user, or of an address, at a merchant:
    the failed scans before it no longer count (transactions/services/scan.py)."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+", db_index=False)
    scanned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="The user whose pause was lifted.",
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True, help_text="The address whose pause was lifted.")
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "scan_pause_lifts"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scanned_by__isnull=False) | models.Q(ip_address__isnull=False),
                name="scan_pause_lifts_user_or_address",
                violation_error_message="A lift names the user or the address whose pause it lifts.",
            )
        ]
        indexes = [
            # The latest lift of a user, or of an address, here: read at every scan.
            models.Index(fields=["merchant", "scanned_by", "-created_at"], name="spl_user_idx"),
            models.Index(fields=["merchant", "ip_address", "-created_at"], name="spl_address_idx"),
        ]

    def __str__(self):
        return f"lift of {self.scanned_by or self.ip_address}"


class CustomerMerge(UUIDModel):
    """Two customers found to be the same person: `source`'s sales, visits and points moved to `target` (at one
    merchant, or, with no merchant, everywhere: then source is merged into target). Written by the SQL function
    merge_customers() only (transactions/services/merge.py calls it), which names the merge in progress in
    `app.customer_merge`: the guards let a sale, an account and the totals move only for that merge."""

    source = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey(
        "merchants.Merchant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="The merchant whose accounts were combined; empty: a platform merge of everything.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "customer_merges"
        constraints = [
            models.CheckConstraint(condition=~models.Q(source=models.F("target")), name="customer_merges_not_itself"),
        ]

    def __str__(self):
        return f"{self.source_id} into {self.target_id}"
