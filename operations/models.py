"""What operations keeps: daily sizes of the tables, and what an operator did to the database."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now

from system.db import UUIDModel, choices_check


class NoRows(models.Manager):
    def get_queryset(self):
        return super().get_queryset().none()


class Database(models.Model):
    """The admin's Database section. It has no rows: its pages read PostgreSQL's statistics
    (operations/monitoring.py). Its permissions say who may look (view_database) and who may
    reset the statement statistics or cancel and terminate queries (change_database)."""

    objects = NoRows()

    class Meta:
        managed = False
        db_table = "database_section"  # no such table: the manager returns no rows without a query
        verbose_name = "database"
        verbose_name_plural = "database"
        default_permissions = ("view", "change")

    def __str__(self):
        return "database"


class SizeSnapshot(UUIDModel):
    """A table's size on one day (with its TOAST data and indexes): one row per table and day,
    written by the daily snapshot (operations.monitoring.sizes_snapshot)."""

    snapshot_date = models.DateField()
    table_name = models.CharField(max_length=200, help_text="schema.table")
    table_bytes = models.BigIntegerField(help_text="The table and its TOAST data.")
    index_bytes = models.BigIntegerField()
    row_estimate = models.BigIntegerField()
    taken_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "size_snapshots"
        constraints = [
            models.UniqueConstraint(fields=["snapshot_date", "table_name"], name="size_snapshots_one_per_day"),
        ]
        ordering = ["-snapshot_date", "table_name"]

    def __str__(self):
        return f"{self.table_name} on {self.snapshot_date}"

    @property
    def total_bytes(self) -> int:
        return self.table_bytes + self.index_bytes


class DatabaseActionKind(models.TextChoices):
    CANCEL = "cancel", "Cancel a query"
    TERMINATE = "terminate", "Terminate a connection"
    RESET_STATEMENTS = "reset_statements", "Reset the statement statistics"


class DatabaseAction(UUIDModel):
    """What an operator did from the Database pages, who and when, on which backend, and whether
    it worked. Written by operations.monitoring; never changed."""

    Kind = DatabaseActionKind
    action = models.CharField(max_length=20, choices=Kind)
    pid = models.IntegerField(null=True, blank=True, help_text="The backend's process id.")
    backend_user = models.CharField(max_length=63, blank=True, help_text="The database role of the backend.")
    backend_application = models.CharField(max_length=200, blank=True)
    backend_state = models.CharField(max_length=40, blank=True)
    backend_query = models.TextField(blank=True, help_text="What the backend was running.")
    succeeded = models.BooleanField()
    error = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
        help_text="The operator.",
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "database_actions"
        constraints = [choices_check("database_actions", "action", DatabaseActionKind)]
        indexes = [models.Index(fields=["-created_at"], name="database_actions_created_idx")]
        ordering = ["-created_at"]

    def __str__(self):
        target = f" {self.pid}" if self.pid else ""
        return f"{self.get_action_display()}{target}"
