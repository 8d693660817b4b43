"""Model bases shared by every app: UUID keys and timestamps with database defaults."""

import functools
import uuid

from django.db import DEFAULT_DB_ALIAS, models
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


def set_prefetched(instance: models.Model, related_name: str, objects: list) -> None:
    """Give `instance` its related objects known already (a row just written with them), as
    prefetch_related would: `instance.<related_name>.all()` then runs no query."""
    queryset = getattr(instance, related_name).get_queryset()
    queryset._result_cache, queryset._prefetch_done = list(objects), True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[related_name] = queryset


@functools.cache
def _attnames(model: type[models.Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


def from_row(model: type[models.Model], values) -> models.Model:
    """An instance of `model` from the values of its concrete fields in order (see `columns`), as a
    query would load it."""
    return model.from_db(DEFAULT_DB_ALIAS, _attnames(model), values)


def columns(model: type[models.Model], alias: str) -> str:
    """`alias.column` of each concrete field of `model`, in order: the select list for from_row()."""
    return ", ".join(f"{alias}.{field.column}" for field in model._meta.concrete_fields)
