from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower, Now

from system.db import GenRandomUUID, TimeStampedModel, UUIDModel, choices_check


class LoyaltyProgramRounding(models.TextChoices):
    DOWN = "down", "Round down"
    NEAREST = "nearest", "Round to nearest"


class ShortfallPolicy(models.TextChoices):
    TAKE_AVAILABLE = "take_available", "Take back what is left and record the shortfall"
    ALLOW_NEGATIVE = "allow_negative", "Let the balance go negative, down to a limit"


class LoyaltyProgram(TimeStampedModel):
    """A merchant's earning and redemption rules. At most one is active per merchant."""

    Rounding = LoyaltyProgramRounding
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="loyalty_programs")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="", db_default="")
    points_per_dollar = models.DecimalField(
        "points per currency unit", max_digits=8, decimal_places=4, default=Decimal("1"), db_default=Decimal("1")
    )
    min_spend_amount = models.DecimalField(
        "minimum spend to earn", max_digits=12, decimal_places=2, default=0, db_default=0
    )
    rounding = models.CharField(max_length=8, choices=Rounding, default=Rounding.DOWN, db_default=Rounding.DOWN)
    min_redemption_points = models.IntegerField(default=100, db_default=100)
    point_value = models.DecimalField(
        "value of a point",
        max_digits=10,
        decimal_places=4,
        default=Decimal("0.01"),
        db_default=Decimal("0.01"),
        help_text="Discount, in the merchant's currency, that one redeemed point is worth.",
    )
    max_redemption_percent = models.DecimalField(
        "maximum share of a bill paid with points (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("50"),
        db_default=Decimal("50"),
    )
    points_expiry_days = models.IntegerField(
        null=True, blank=True, help_text="Points expire this many days after they are earned; empty for never."
    )
    max_points_per_transaction = models.IntegerField(
        "most points per sale", null=True, blank=True, help_text="A cap on the points one sale earns; empty for none."
    )
    earn_on_total = models.BooleanField(
        "earn on the whole bill",
        default=False,
        db_default=False,
        help_text="On: points are earned on the bill before points pay part of it. Off: on what is paid.",
    )
    shortfall_policy = models.CharField(
        "when a refund takes back points already spent",
        max_length=16,
        choices=ShortfallPolicy,
        default=ShortfallPolicy.TAKE_AVAILABLE,
        db_default=ShortfallPolicy.TAKE_AVAILABLE,
    )
    max_negative_points = models.IntegerField(
        "lowest balance a refund may leave (points below zero)",
        default=0,
        db_default=0,
        help_text="Only with a negative balance allowed.",
    )
    is_active = models.BooleanField(default=True, db_default=True)

    Shortfall = ShortfallPolicy

    class Meta:
        db_table = "loyalty_programs"
        constraints = [
            choices_check("loyalty_programs", "rounding", LoyaltyProgramRounding),
            choices_check("loyalty_programs", "shortfall_policy", ShortfallPolicy),
            models.CheckConstraint(
                condition=models.Q(max_negative_points__gte=0, max_negative_points__lte=1_000_000),
                name="loyalty_programs_max_negative_points_range",
            ),
            models.UniqueConstraint(
                fields=["merchant"],
                condition=models.Q(is_active=True),
                name="loyalty_programs_one_active_per_merchant",
                violation_error_message="This merchant already has an active loyalty program.",
            ),
            models.CheckConstraint(
                condition=models.Q(points_per_dollar__gte=0), name="loyalty_programs_points_per_dollar_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(min_spend_amount__gte=0), name="loyalty_programs_min_spend_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(min_redemption_points__gte=0), name="loyalty_programs_min_redemption_nonnegative"
            ),
            models.CheckConstraint(condition=models.Q(point_value__gt=0), name="loyalty_programs_point_value_positive"),
            models.CheckConstraint(
                condition=models.Q(max_redemption_percent__gte=0, max_redemption_percent__lte=100),
                name="loyalty_programs_max_redemption_percent_range",
            ),
            models.CheckConstraint(
                condition=models.Q(points_expiry_days__gt=0) | models.Q(points_expiry_days=None),
                name="loyalty_programs_expiry_days_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(max_points_per_transaction__gt=0) | models.Q(max_points_per_transaction=None),
                name="loyalty_programs_max_points_positive",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.merchant.business_name})"


class CustomerLoyaltyAccount(TimeStampedModel):
    """A customer's points at one merchant. Point columns move only through the ledger."""

    # Both keys lead the unique constraint and the points index, so they need none of their own.
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="loyalty_accounts", db_index=False
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="loyalty_accounts", db_index=False
    )
    # Programs are deactivated, not deleted: no index for the rare protect check on delete.
    loyalty_program = models.ForeignKey(
        LoyaltyProgram, on_delete=models.PROTECT, null=True, blank=True, related_name="accounts", db_index=False
    )
    current_points = models.IntegerField(default=0, db_default=0, editable=False)
    total_points_earned = models.IntegerField(default=0, db_default=0, editable=False)
    total_points_redeemed = models.IntegerField(default=0, db_default=0, editable=False)
    total_spent = models.DecimalField(max_digits=12, decimal_places=2, default=0, db_default=0, editable=False)
    total_transactions = models.IntegerField(default=0, db_default=0, editable=False)
    last_visit_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the customer gave this merchant: its pages show the customer's email and phone only when true. An
    # account opened by a first sale at the counter shares neither; a join the customer confirmed shares
    # what they typed into this merchant's join form.
    shares_email = models.BooleanField(default=False, db_default=False)
    shares_phone = models.BooleanField(default=False, db_default=False)

    class Meta:
        db_table = "customer_loyalty_accounts"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "merchant"], name="customer_loyalty_accounts_customer_merchant"
            ),
            models.CheckConstraint(
                condition=models.Q(total_points_earned__gte=0), name="customer_loyalty_accounts_earned_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(total_points_redeemed__gte=0), name="customer_loyalty_accounts_redeemed_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(total_spent__gte=0), name="customer_loyalty_accounts_total_spent_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(total_transactions__gte=0),
                name="customer_loyalty_accounts_total_transactions_nonnegative",
            ),
        ]
        indexes = [
            # "Customer Loyalty Status": a merchant's members by points, and the customers list's first page
            # (ties by id, so a page is read from the index in order, with no sort).
            models.Index(fields=["merchant", "-current_points", "id"], name="cla_merchant_points_id_idx"),
            # Customers who came since a day: the dashboard's figure for a period ending today.
            models.Index(fields=["merchant", "last_visit_at"], name="cla_merchant_last_visit_idx"),
        ]

    def __str__(self):
        return f"{self.customer} at {self.merchant.business_name}: {self.current_points} points"

    def clean(self):
        if self.loyalty_program_id and self.loyalty_program.merchant_id != self.merchant_id:
            raise ValidationError({"loyalty_program": "This program belongs to another merchant."})


class PointsTransactionType(models.TextChoices):
    EARN = "earn"
    REDEEM = "redeem"
    REVERSE = "reverse"
    EXPIRE = "expire"
    ADJUST = "adjust"
    # A merge of two customers moves the source account's earned and redeemed totals to the target's.
    MERGE_EARNED = "merge_earned"
    MERGE_REDEEMED = "merge_redeemed"
    # ... and each open lot of the source account to the target's, keeping its expiry: the row names the lot.
    MERGE_LOT = "merge_lot"


class PointsTransaction(models.Model):
    """The append-only points ledger. Inserting a row moves the account (trigger `apply_points_change`)."""

    Type = PointsTransactionType
    id = models.UUIDField(primary_key=True, db_default=GenRandomUUID(), editable=False)
    customer_loyalty_account = models.ForeignKey(
        CustomerLoyaltyAccount, on_delete=models.PROTECT, related_name="ledger", db_index=False
    )
    # The account's merchant, set by the ledger's trigger (a writer may leave it out): the distribution column
    # of docs/scale-out.md. Merchants are never deleted: no index for the protect check.
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="+", db_index=False, editable=False
    )
    transaction = models.ForeignKey(
        "transactions.Transaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_movements",
        db_index=False,
    )
    transaction_type = models.CharField(max_length=16, choices=Type)
    points_change = models.IntegerField()
    balance_after = models.IntegerField(null=True, editable=False)
    description = models.CharField(max_length=255, blank=True, default="", db_default="")
    multiplier = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True, help_text="The tier multiplier of an earn."
    )
    # The lot an `expire` row expires; one expire row per lot (indexed by that constraint).
    lot = models.ForeignKey(
        "PointsLot", on_delete=models.PROTECT, null=True, blank=True, related_name="expiries", db_index=False
    )
    # Staff are deactivated, not deleted: no index for the rare protect check on delete.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "points_transactions"
        constraints = [
            choices_check("points_transactions", "transaction_type", PointsTransactionType),
            models.CheckConstraint(condition=~models.Q(points_change=0), name="points_transactions_change_nonzero"),
            models.CheckConstraint(
                condition=(
                    models.Q(transaction_type="earn", points_change__gt=0)
                    | models.Q(transaction_type__in=["redeem", "expire"], points_change__lt=0)
                    | models.Q(transaction_type="merge_lot", points_change__gt=0)
                    | models.Q(transaction_type__in=["reverse", "adjust", "merge_earned", "merge_redeemed"])
                ),
                name="points_transactions_sign_matches_type",
            ),
            models.UniqueConstraint(
                fields=["merchant", "transaction"],
                condition=models.Q(transaction_type="earn"),
                name="points_transactions_one_earn_per_transaction",
            ),
            models.UniqueConstraint(
                fields=["merchant", "lot"],
                condition=models.Q(transaction_type="expire"),
                name="points_transactions_one_expiry_per_lot",
            ),
            models.CheckConstraint(
                condition=models.Q(lot__isnull=True) | models.Q(transaction_type__in=["expire", "merge_lot"]),
                name="points_transactions_lot_only_on_expire",
            ),
        ]
        indexes = [
            # An account's ledger, newest first (customer page, check_ledger).
            models.Index(fields=["customer_loyalty_account", "-created_at"], name="pt_account_created_idx"),
            # The lots a merge moved on from a lot (a refund of a moved sale follows its lot).
            models.Index(fields=["lot"], condition=models.Q(transaction_type="merge_lot"), name="pt_merged_lot_idx"),
            # A sale's points movements (transaction page, reversal).
            models.Index(fields=["transaction"], name="pt_transaction_idx"),
        ]

    def __str__(self):
        return f"{self.transaction_type} {self.points_change:+d}"


class LoyaltyTier(UUIDModel):
    """A level of a program, reached by points earned in the last 12 months; it multiplies what a sale earns."""

    program = models.ForeignKey(LoyaltyProgram, on_delete=models.CASCADE, related_name="tiers", db_index=False)
    # The program's merchant, filled from the program by the trigger loyalty_tiers_set_merchant when a writer
    # leaves it out (the admin does): the distribution column of docs/scale-out.md.
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="+", db_index=False, editable=False
    )
    name = models.CharField(max_length=40)
    min_points = models.IntegerField("points earned in the last 12 months", default=0, db_default=0)
    multiplier = models.DecimalField(
        "earning multiplier", max_digits=5, decimal_places=2, default=Decimal("1"), db_default=Decimal("1")
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "loyalty_tiers"
        ordering = ["min_points"]
        constraints = [
            models.UniqueConstraint(fields=["program", "min_points"], name="loyalty_tiers_program_min_points"),
            models.UniqueConstraint(Lower("name"), "program", name="loyalty_tiers_program_name"),
            models.CheckConstraint(condition=models.Q(min_points__gte=0), name="loyalty_tiers_min_points_nonnegative"),
            models.CheckConstraint(
                condition=models.Q(multiplier__gte=1, multiplier__lte=10), name="loyalty_tiers_multiplier_range"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.min_points}+ points, ×{self.multiplier})"


class PointsLot(models.Model):
    """Points that came in by one ledger row, used oldest first; kept by the ledger's trigger."""

    id = models.UUIDField(primary_key=True, db_default=GenRandomUUID(), editable=False)
    customer_loyalty_account = models.ForeignKey(
        CustomerLoyaltyAccount, on_delete=models.PROTECT, related_name="lots", db_index=False
    )
    # The account's merchant, written with the lot by the ledger's trigger: the distribution column.
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="+", db_index=False, editable=False
    )
    entry = models.OneToOneField(PointsTransaction, on_delete=models.PROTECT, related_name="lot_created")
    points = models.IntegerField()
    remaining = models.IntegerField()
    earned_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "points_lots"
        constraints = [
            models.CheckConstraint(condition=models.Q(points__gt=0), name="points_lots_points_positive"),
            models.CheckConstraint(
                condition=models.Q(remaining__gte=0, remaining__lte=models.F("points")),
                name="points_lots_remaining_range",
            ),
        ]
        indexes = [
            # An account's open lots, oldest first: every points-taking ledger row.
            models.Index(
                fields=["customer_loyalty_account", "earned_at"],
                condition=models.Q(remaining__gt=0),
                name="pl_account_open_idx",
            ),
            # Lots due to expire: expire_points.
            models.Index(fields=["expires_at"], condition=models.Q(remaining__gt=0), name="pl_expires_open_idx"),
        ]

    def __str__(self):
        return f"{self.remaining} of {self.points} points"


class PhoneVerification(UUIDModel):
    """A one-time code sent by SMS to a phone typed into a join form: proving the phone joins its owner (a new
    card, or the card the phone already has) to the merchant. The code is kept as an HMAC only; it is good for
    a few minutes and `privacy.otp_attempts` wrong tries."""

    phone = models.CharField(max_length=32)
    code_hmac = models.CharField(max_length=64)
    # The merchant being joined; none when a customer recovers their card.
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    attempts = models.IntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(db_default=Now())
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "phone_verifications"
        indexes = [models.Index(fields=["created_at"], name="phone_verif_created_idx")]

    def __str__(self):
        return f"Verification of a phone for {self.merchant_id}"
