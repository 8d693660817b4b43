from decimal import Decimal

from django.db import models
from django.db.models.functions import Now

from system.db import TimeStampedModel, UUIDModel


class MerchantDailyAnalytics(TimeStampedModel):
    """A merchant's figures for one local day.

    Sales count on the day they complete, refunds on the day they happen. Triggers append
    per-sale deltas to `merchant_daily_analytics_deltas`; `rollup_merchant_daily_analytics()`
    folds them in. `rebuild_analytics` recomputes the rows from the transactions.
    """

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="daily_analytics", db_index=False
    )
    date = models.DateField()
    total_sales = models.DecimalField(max_digits=14, decimal_places=2, default=0, db_default=0)
    total_transactions = models.IntegerField(default=0, db_default=0)
    unique_customers = models.IntegerField(default=0, db_default=0)
    new_customers = models.IntegerField(default=0, db_default=0)
    points_issued = models.IntegerField(default=0, db_default=0)
    points_redeemed = models.IntegerField(default=0, db_default=0)
    points_reversed = models.IntegerField(default=0, db_default=0)
    total_refunds = models.DecimalField(max_digits=14, decimal_places=2, default=0, db_default=0)
    refund_count = models.IntegerField(default=0, db_default=0)
    average_transaction_value = models.GeneratedField(
        expression=models.Case(
            models.When(
                total_transactions__gt=0,
                then=models.Func(
                    models.F("total_sales") / models.F("total_transactions"),
                    2,
                    function="round",
                    output_field=models.DecimalField(),
                ),
            ),
            default=models.Value(Decimal("0")),
            output_field=models.DecimalField(),
        ),
        output_field=models.DecimalField(max_digits=12, decimal_places=2),
        db_persist=True,
    )

    class Meta:
        db_table = "merchant_daily_analytics"
        verbose_name_plural = "merchant daily analytics"
        constraints = [
            # Also the index of every date-range query on a merchant's days.
            models.UniqueConstraint(fields=["merchant", "date"], name="merchant_daily_analytics_merchant_date"),
        ]
        indexes = [
            # Platform-wide figures for a day (admin).
            models.Index(fields=["date"], name="mda_date_idx"),
        ]

    def __str__(self):
        return f"{self.merchant_id} {self.date}"


class MerchantDailyAnalyticsDelta(UUIDModel):
    """One sale's or refund's change to a day's figures, waiting to be rolled up.

    Appending a row takes no lock that another sale waits on, unlike updating the day's row.
    """

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    total_sales = models.DecimalField(max_digits=14, decimal_places=2, default=0, db_default=0)
    total_transactions = models.IntegerField(default=0, db_default=0)
    unique_customers = models.IntegerField(default=0, db_default=0)
    new_customers = models.IntegerField(default=0, db_default=0)
    points_issued = models.IntegerField(default=0, db_default=0)
    points_redeemed = models.IntegerField(default=0, db_default=0)
    points_reversed = models.IntegerField(default=0, db_default=0)
    total_refunds = models.DecimalField(max_digits=14, decimal_places=2, default=0, db_default=0)
    refund_count = models.IntegerField(default=0, db_default=0)
    hour = models.SmallIntegerField(null=True, blank=True, help_text="A sale's local hour, for the hourly figures.")
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "merchant_daily_analytics_deltas"
        indexes = [models.Index(fields=["merchant", "date"], name="mdad_merchant_date_idx")]


class MerchantHourlyAnalytics(models.Model):
    """Sales per merchant, local date and local hour, rolled up from the deltas like the days."""

    id = models.BigAutoField(primary_key=True)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    hour = models.SmallIntegerField()
    total_transactions = models.IntegerField(default=0, db_default=0)

    class Meta:
        db_table = "merchant_hourly_analytics"
        verbose_name_plural = "merchant hourly analytics"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "date", "hour"], name="merchant_hourly_analytics_key"),
            models.CheckConstraint(
                condition=models.Q(hour__gte=0, hour__lte=23), name="merchant_hourly_analytics_hour_range"
            ),
        ]

    def __str__(self):
        return f"{self.merchant_id} {self.date} {self.hour}:00"


class CustomerVisit(TimeStampedModel):
    """A customer's completed sales at a merchant on one local day."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="visits", db_index=False)
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="customer_visits", db_index=False
    )
    visit_date = models.DateField()
    visit_count = models.IntegerField(default=1, db_default=1)
    total_spent = models.DecimalField(max_digits=12, decimal_places=2, default=0, db_default=0)
    first_visit_at = models.DateTimeField()
    last_visit_at = models.DateTimeField()

    class Meta:
        db_table = "customer_visits"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "merchant", "visit_date"], name="customer_visits_customer_merchant_date"
            ),
            models.CheckConstraint(condition=models.Q(visit_count__gt=0), name="customer_visits_count_positive"),
        ]
        indexes = [
            # A merchant's visits over a date range (visits by weekday, daily customers).
            models.Index(fields=["merchant", "visit_date"], name="cv_merchant_date_idx"),
        ]


class MerchantDashboard(models.Model):
    """The `merchant_dashboard` view: lifetime and today's figures from the pre-aggregated days."""

    merchant = models.OneToOneField(
        "merchants.Merchant", on_delete=models.DO_NOTHING, primary_key=True, related_name="dashboard"
    )
    business_name = models.CharField(max_length=200)
    merchant_code = models.CharField(max_length=16)
    currency = models.CharField(max_length=3)
    timezone = models.CharField(max_length=64)
    total_sales = models.DecimalField(max_digits=14, decimal_places=2)
    total_refunds = models.DecimalField(max_digits=14, decimal_places=2)
    net_sales = models.DecimalField(max_digits=14, decimal_places=2)
    total_transactions = models.IntegerField()
    refund_count = models.IntegerField()
    total_customers = models.IntegerField()
    points_issued = models.IntegerField()
    points_redeemed = models.IntegerField()
    points_reversed = models.IntegerField()
    average_transaction_value = models.DecimalField(max_digits=12, decimal_places=2)
    first_sale_date = models.DateField(null=True)
    last_sale_date = models.DateField(null=True)
    today_date = models.DateField()
    today_sales = models.DecimalField(max_digits=14, decimal_places=2)
    today_transactions = models.IntegerField()
    today_customers = models.IntegerField()
    today_new_customers = models.IntegerField()
    today_points_issued = models.IntegerField()
    today_points_redeemed = models.IntegerField()

    class Meta:
        managed = False
        db_table = "merchant_dashboard"

    def __str__(self):
        return f"Dashboard of {self.business_name}"


class CustomerSummary(models.Model):
    """The `customer_summary` view: one row per customer and merchant, with recent activity."""

    account = models.OneToOneField(
        "loyalty.CustomerLoyaltyAccount",
        on_delete=models.DO_NOTHING,
        primary_key=True,
        db_column="account_id",
        related_name="summary",
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.DO_NOTHING, related_name="+")
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.DO_NOTHING, related_name="+")
    customer_code = models.CharField(max_length=16)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(null=True)  # noqa: DJ001 (a view over customers.email)
    phone = models.CharField(max_length=32)
    customer_status = models.CharField(max_length=16)
    member_since = models.DateTimeField()
    current_points = models.IntegerField()
    total_points_earned = models.IntegerField()
    total_points_redeemed = models.IntegerField()
    total_spent = models.DecimalField(max_digits=12, decimal_places=2)
    total_transactions = models.IntegerField()
    average_transaction_value = models.DecimalField(max_digits=12, decimal_places=2)
    last_visit_at = models.DateTimeField(null=True)
    days_since_last_visit = models.IntegerField(null=True)
    transactions_last_30_days = models.IntegerField()
    spent_last_30_days = models.DecimalField(max_digits=12, decimal_places=2)
    loyalty_status = models.CharField(max_length=16)

    class Meta:
        managed = False
        db_table = "customer_summary"

    def __str__(self):
        return f"{self.first_name} {self.last_name} at merchant {self.merchant_id}"
