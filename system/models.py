import json
import re
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Now

from system.db import SQLPredicate, TimeStampedModel, UUIDModel, choices_check


class SystemSettingValueType(models.TextChoices):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    JSON = "json"


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


class SystemSetting(TimeStampedModel):
    """A platform-wide setting; the value is text checked against the declared type."""

    ValueType = SystemSettingValueType
    setting_key = models.CharField(max_length=100)
    setting_value = models.TextField(blank=True, default="", db_default="")
    value_type = models.CharField(
        max_length=16, choices=ValueType, default=ValueType.STRING, db_default=ValueType.STRING
    )
    description = models.TextField(blank=True, default="", db_default="")

    class Meta:
        db_table = "system_settings"
        constraints = [
            models.UniqueConstraint(fields=["setting_key"], name="system_settings_setting_key_key"),
            choices_check("system_settings", "value_type", SystemSettingValueType),
            models.CheckConstraint(
                condition=SQLPredicate("setting_value", "value_type", function="setting_value_is_valid"),
                name="system_settings_value_matches_type",
                violation_error_message="The value does not match its type.",
            ),
            models.CheckConstraint(
                condition=models.Q(setting_key__regex=r"^[a-z][a-z0-9_.]*$"),
                name="system_settings_key_format",
                violation_error_message="Keys are lower case letters, digits, dots and underscores.",
            ),
        ]

    def __str__(self):
        return self.setting_key

    def clean(self):
        """The value is of its type; a setting the code reads has its own type and range (settings_store.KNOWN)."""
        from system.settings_store import KNOWN  # it reads this model

        try:
            value = self.typed_value()
        except ValueError as error:
            raise ValidationError({"setting_value": f"Not a valid {self.value_type}: {error}"}) from error
        known = KNOWN.get(self.setting_key)
        if known is None:
            return
        if self.value_type != known.value_type:
            raise ValidationError(f"{self.setting_key} is a setting of type {known.value_type}.")
        if problem := known.problem(value):
            raise ValidationError({"setting_value": problem})

    def typed_value(self):
        """The value as its type; the same rules as the SQL function `setting_value_is_valid`."""
        value = self.setting_value
        match self.value_type:
            case SystemSettingValueType.INTEGER:
                if not re.fullmatch(r"-?[0-9]+", value):
                    raise ValueError(f"{value!r} is not a whole number")
                return int(value)
            case SystemSettingValueType.DECIMAL:
                if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
                    raise ValueError(f"{value!r} is not a number such as 12.5")
                return Decimal(value)
            case SystemSettingValueType.BOOLEAN:
                if value not in ("true", "false"):
                    raise ValueError(f"{value!r} is neither true nor false")
                return value == "true"
            case SystemSettingValueType.JSON:
                if "\\u0000" in value:
                    raise ValueError("JSON in the database cannot hold \\u0000")
                return json.loads(value, parse_constant=_refuse_constant)
        return value


class AuditLogAction(models.TextChoices):
    INSERT = "INSERT"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    REDACT = "REDACT"  # redact_customer_logs: a customer's personal values replaced in its history and scans


def audit_merchant_id() -> models.Func:
    """The merchant of an audit row (system/sql/audit_merchant_id.sql): the admin's filter and its index."""
    fields = [models.F("table_name"), models.F("record_id"), models.F("new_values"), models.F("old_values")]
    return models.Func(*fields, function="audit_merchant_id", output_field=models.UUIDField())


class AuditLog(UUIDModel):
    """Every change to an audited table, written by the `audit_row_change` trigger. Append-only.

    Partitioned by month on created_at (create_log_partitions): the database's primary key is (id, created_at),
    Django's is id, which stays unique (random UUIDs, never updated)."""

    Action = AuditLogAction
    table_name = models.CharField(max_length=63)
    record_id = models.UUIDField()
    action = models.CharField(max_length=8, choices=Action)
    old_values = models.JSONField(null=True)
    new_values = models.JSONField(null=True)
    changed_fields = models.JSONField(null=True, help_text="Columns whose value changed (UPDATE).")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
        help_text="The acting user, when the app made it.",
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "audit_logs"
        constraints = [choices_check("audit_logs", "action", AuditLogAction)]
        indexes = [
            # One record's history (transaction page, program settings).
            models.Index(fields=["table_name", "record_id", "-created_at"], name="audit_logs_record_idx"),
            models.Index(fields=["-created_at"], name="audit_logs_created_idx"),
            # One merchant's rows, newest first (the admin's filter by merchant).
            models.Index(audit_merchant_id(), models.F("created_at").desc(), name="audit_logs_merchant_idx"),
        ]

    def __str__(self):
        return f"{self.action} {self.table_name} {self.record_id}"


class QRScanLogResult(models.TextChoices):
    SUCCESS = "success"
    MALFORMED = "malformed"
    UNKNOWN_CODE = "unknown_code"
    BAD_CHECK_CHARACTER = "bad_check_character"
    INACTIVE_CUSTOMER = "inactive_customer"
    EXPIRED_TOKEN = "expired_token"
    FORGED_TOKEN = "forged_token"
    STATIC_CODE_REFUSED = "static_code_refused"
    RATE_LIMITED = "rate_limited"


class QRScanLog(UUIDModel):
    """Every scan attempt at a counter or till, for fraud detection.

    Partitioned by month on created_at, like AuditLog; its statements at the counter bound created_at so they
    read the recent partitions only."""

    Result = QRScanLogResult
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    scanned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sale = models.ForeignKey(
        "transactions.Transaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        help_text="The sale this scan was used for: one scan, one sale (qr_scan_sales keeps one scan per sale).",
    )
    scanned_code = models.CharField(max_length=512)
    scan_result = models.CharField(max_length=32, choices=Result)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "qr_scan_logs"
        verbose_name = "QR scan log"
        constraints = [choices_check("qr_scan_logs", "scan_result", QRScanLogResult)]
        indexes = [
            # A sale's scan (a sale's deletion is checked against it).
            models.Index(fields=["sale"], name="qr_scan_logs_sale_idx"),
            # A merchant's scans, newest first.
            models.Index(fields=["merchant", "-created_at"], name="qr_scan_logs_merchant_idx"),
            # Failed scans of a user, or from an address, in a window (the scan rate limits): failures only,
            # so a busy counter's successful scans never slow the check.
            models.Index(
                fields=["merchant", "scanned_by", "created_at"],
                name="qr_scan_logs_user_failures_idx",
                condition=~models.Q(scan_result__in=["success", "rate_limited"]),
            ),
            models.Index(
                fields=["merchant", "ip_address", "created_at"],
                name="qr_scan_logs_ip_failures_idx",
                condition=~models.Q(scan_result__in=["success", "rate_limited"]),
            ),
            # A customer's scans in a window (fraud flags).
            models.Index(fields=["customer", "-created_at"], name="qr_scan_logs_customer_idx"),
            models.Index(fields=["ip_address", "-created_at"], name="qr_scan_logs_ip_idx"),
            # Every merchant's scans newest first (the admin's list), and the old ones maintenance archives.
            models.Index(fields=["-created_at"], name="qr_scan_logs_created_idx"),
            # The scans that resolved to no customer, by code: redact_customer_logs finds a customer's among them.
            models.Index(
                fields=["scanned_code"], name="qr_scan_logs_no_customer_idx", condition=models.Q(customer__isnull=True)
            ),
            # The scans still holding an address or a browser, oldest first: the retention job reads only those.
            models.Index(
                fields=["created_at"],
                name="qr_scan_logs_identifies_idx",
                condition=models.Q(ip_address__isnull=False) | ~models.Q(user_agent=""),
            ),
        ]

    def __str__(self):
        return f"{self.scan_result}: {self.scanned_code}"


class QRScanSale(models.Model):
    """The sale each scan was taken for, written by the trigger qr_scan_logs_one_per_sale: its primary key keeps one
    scan per sale, which a unique index on the partitioned qr_scan_logs cannot (it would have to hold created_at)."""

    sale = models.OneToOneField(
        "transactions.Transaction", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    scan_id = models.UUIDField()
    # The scan's merchant (the trigger copies it), so the table can be distributed with the sales (docs/scale-out.md).
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        db_table = "qr_scan_sales"
        verbose_name = "QR scan's sale"

    def __str__(self):
        return f"sale {self.sale_id}: scan {self.scan_id}"


class FraudFlag(UUIDModel):
    """A pattern worth a look, e.g. one customer completing many sales at one merchant in minutes."""

    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="fraud_flags", db_index=False
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=255)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "fraud_flags"
        indexes = [models.Index(fields=["merchant", "-created_at"], name="fraud_flags_merchant_idx")]

    def __str__(self):
        return self.reason


class OutgoingEmail(UUIDModel):
    """A message waiting for the worker (system.mail): its job carries only this row's id, so the links in
    it (password resets, invitations, cards) never reach the job's arguments, shown in the admin and kept
    there. Written in the sender's transaction with its job; deleted once sent. Neither audited nor in the
    admin, so the body is copied nowhere."""

    to = ArrayField(models.CharField(max_length=254))
    subject = models.TextField()
    body = models.TextField()
    html_body = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "outgoing_emails"

    def __str__(self):
        return self.subject


class OutgoingSMS(UUIDModel):
    """A text message waiting for the worker (system.sms), as OutgoingEmail: its job carries only this row's id,
    so the one-time codes in it never reach the job's arguments. Deleted once sent; neither audited nor in the
    admin."""

    to = models.CharField(max_length=20, help_text="E.164: + and up to 15 digits.")
    body = models.TextField()
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "outgoing_sms"
        verbose_name = "outgoing SMS"
        verbose_name_plural = "outgoing SMS"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(to__regex=r"^\+[1-9][0-9]{1,14}$"),
                name="outgoing_sms_to_e164",
                violation_error_message="The number is not in E.164 form (+ and up to 15 digits).",
            )
        ]

    def __str__(self):
        return f"SMS to {self.to}"


class RateLimitHit(models.Model):
    """One attempt counted by system.ratelimit.hit(): the key (an address, an email, a phone number, a merchant)
    is kept as its SHA-256 only. Rows older than a day are purged hourly (operations.purge_rate_limit_hits)."""

    id = models.BigAutoField(primary_key=True)
    scope = models.CharField(max_length=64)
    key_digest = models.CharField(max_length=64, help_text="SHA-256 of the key, hex.")
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "rate_limit_hits"
        constraints = [
            models.CheckConstraint(condition=models.Q(key_digest__regex=r"^[0-9a-f]{64}$"), name="rate_limit_hits_hex")
        ]
        indexes = [
            # The hits of one key in a window.
            models.Index(fields=["scope", "key_digest", "created_at"], name="rate_limit_hits_key_idx"),
            # The hourly purge of the hits older than a day.
            models.Index(fields=["created_at"], name="rate_limit_hits_created_idx"),
        ]

    def __str__(self):
        return f"{self.scope} {self.key_digest[:12]}"
