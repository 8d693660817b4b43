"""API keys of merchant terminals, their request counters, and the stored responses of idempotent writes."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower, Now

from system.db import UUIDModel


class ApiKey(UUIDModel):
    """A terminal's key. Only its SHA-256 is kept: the key is 32 random bytes, shown once.

    Each key acts through its own service user (`user`, who cannot log in), so the scan log, the
    sales it makes and the audit log name the key, like any cashier.
    """

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The start of the key, to recognise it in the list.")
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the key, hex.")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_key", help_text="The key's service user."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    # The fixed-window request counter (api.rate_limit_requests per api.rate_limit_window_seconds).
    rate_window_start = models.DateTimeField(null=True, blank=True, editable=False)
    rate_count = models.IntegerField(default=0, db_default=0, editable=False)

    class Meta:
        db_table = "api_keys"
        verbose_name = "API key"
        constraints = [
            models.UniqueConstraint(fields=["key_hash"], name="api_keys_key_hash_key"),
            models.CheckConstraint(condition=models.Q(key_hash__regex=r"^[0-9a-f]{64}$"), name="api_keys_hash_hex"),
            models.CheckConstraint(condition=~models.Q(name=""), name="api_keys_name_not_empty"),
            models.CheckConstraint(condition=models.Q(rate_count__gte=0), name="api_keys_rate_count_nonnegative"),
            # One active key per name: the owner tells the tills apart, and a form sent twice makes one key.
            models.UniqueConstraint(
                Lower("name"), "merchant", condition=models.Q(revoked_at=None), name="api_keys_active_name_unique"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(UUIDModel):
    """The first response to a write sent with an `Idempotency-Key`, replayed to its retries.

    The row is inserted, with the response, at the end of the database transaction of the write it
    answers: a retry racing the first request waits on the unique key, then rolls back its own write
    and replays the stored response.
    """

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+", db_index=False)
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    response_status = models.IntegerField(null=True)
    response_body = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "api_idempotency_records"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "key"], name="api_idempotency_records_merchant_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="api_idempotency_created_idx")]

    def __str__(self):
        return self.key
