"""Model bases shared by every app: UUID keys and timestamps with database defaults."""

import uuid

from django.db import models
from django.db.models.functions import Now


class GenRandomUUID(models.Func):
    function = "gen_random_uuid"
    output_field = models.UUIDField()


class UUIDModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=GenRandomUUID(), editable=False)

    class Meta:
        abstract = True


class TimeStampedModel(UUIDModel):
    """`updated_at` is kept by the `set_updated_at` trigger, whoever writes the row."""

    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        abstract = True


def choices_check(table: str, field: str, choices) -> models.CheckConstraint:
    """CHECK (field IN (...)), named after the table and field."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__in": choices.values}),
        name=f"{table}_{field}_valid",
        violation_error_message=f"{field} must be one of: {', '.join(choices.values)}.",
    )


class SQLPredicate(models.Func):
    """A call of a boolean SQL function, for CHECK constraints."""

    output_field = models.BooleanField()
