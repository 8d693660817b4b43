"""Customer privacy: the card link's secret stored hashed (existing links keep working: their hash is
stored), phones in E.164 and unique (a number two customers share stays on the older one and is kept for
the later one in customer_phone_duplicates until an operator merges them), merged and erased customers,
the short codes and used live tokens of the counter, and customers' erasure requests."""

import uuid

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

import system.db
from system.sqlfiles import frozen, install


def normalize_phones(apps, schema_editor):
    """Every phone in E.164, read in the country of the customer's first merchant (or PHONE_DEFAULT_REGION); a
    number that does not parse stays as typed. Where customers share a number, the oldest keeps it."""
    from customers.phones import PhoneError, normalize

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.id, c.phone,
                      (SELECT m.timezone FROM customer_loyalty_accounts a JOIN merchants m ON m.id = a.merchant_id
                        WHERE a.customer_id = c.id ORDER BY a.created_at LIMIT 1)
                 FROM customers c WHERE c.phone <> '' ORDER BY c.created_at, c.id"""
        )
        rows = cursor.fetchall()
        owner = {}
        for customer_id, phone, timezone_name in rows:
            try:
                number = normalize(phone, timezone_name=timezone_name)
            except PhoneError:
                number = phone.strip()
            if number in owner:
                cursor.execute(
                    "INSERT INTO customer_phone_duplicates (customer_id, phone, same_phone_as_id) VALUES (%s, %s, %s)",
                    [customer_id, phone, owner[number]],
                )
                number = ""
            else:
                owner[number] = customer_id
            if number != phone:
                cursor.execute("UPDATE customers SET phone = %s WHERE id = %s", [number, customer_id])


def restore_phones(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers c SET phone = d.phone FROM customer_phone_duplicates d WHERE d.customer_id = c.id"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("loyalty", "0009_members_by_points_and_id"),
        ("merchants", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CardCode",
            fields=[
                ("code", models.CharField(max_length=8, primary_key=True, serialize=False)),
                ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                ("expires_at", models.DateTimeField()),
                ("used_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "db_table": "card_codes",
            },
        ),
        migrations.CreateModel(
            name="CardTokenUse",
            fields=[
                ("token_digest", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("used_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
            options={
                "db_table": "card_token_uses",
            },
        ),
        migrations.CreateModel(
            name="ErasureRequest",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        db_default=system.db.GenRandomUUID(),
                        default=uuid.uuid4,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), editable=False),
                ),
                (
                    "updated_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), editable=False),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("done", "Done"), ("declined", "Declined")],
                        db_default="pending",
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("note", models.CharField(blank=True, db_default="", default="", max_length=255)),
            ],
            options={
                "db_table": "erasure_requests",
            },
        ),
        migrations.CreateModel(
            name="PhoneDuplicate",
            fields=[
                (
                    "customer",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="customers.customer",
                    ),
                ),
                ("phone", models.CharField(max_length=32)),
                ("found_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
            options={
                "db_table": "customer_phone_duplicates",
            },
        ),
        migrations.RemoveConstraint(
            model_name="customer",
            name="customers_card_token_key",
        ),
        migrations.RemoveConstraint(
            model_name="customer",
            name="customers_status_valid",
        ),
        migrations.AlterField(
            model_name="customer",
            name="card_token",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.RunSQL(
            "UPDATE customers SET card_token = encode(sha256(convert_to(card_token, 'UTF8')), 'hex')"
            " WHERE card_token IS NOT NULL",
            # Going back, the secrets cannot be recovered: every customer gets a new link.
            "UPDATE customers SET card_token = replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')",
        ),
        migrations.RenameField(model_name="customer", old_name="card_token", new_name="card_token_hash"),
        migrations.RunSQL("DROP FUNCTION new_card_token()", frozen("system", "new_card_token", 1)),
        migrations.AddField(
            model_name="customer",
            name="erased_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="customer",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="customers.customer",
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="status",
            field=models.CharField(
                choices=[
                    ("active", "Active"),
                    ("inactive", "Inactive"),
                    ("blocked", "Blocked"),
                    ("merged", "Merged"),
                    ("erased", "Erased"),
                ],
                db_default="active",
                default="active",
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(fields=("card_token_hash",), name="customers_card_token_hash_key"),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["active", "inactive", "blocked", "merged", "erased"])),
                name="customers_status_valid",
                violation_error_message="status must be one of: active, inactive, blocked, merged, erased.",
            ),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("merged_into__isnull", False), ("status", "merged")),
                    models.Q(models.Q(("status", "merged"), _negated=True), ("merged_into__isnull", True)),
                    _connector="OR",
                ),
                name="customers_merged_into_when_merged",
            ),
        ),
        migrations.AddField(
            model_name="cardcode",
            name="customer",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="customers.customer"
            ),
        ),
        migrations.AddField(
            model_name="cardtokenuse",
            name="customer",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="customers.customer"
            ),
        ),
        migrations.AddField(
            model_name="erasurerequest",
            name="customer",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="erasure_requests", to="customers.customer"
            ),
        ),
        migrations.AddField(
            model_name="erasurerequest",
            name="decided_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="phoneduplicate",
            name="same_phone_as",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="customers.customer"
            ),
        ),
        migrations.AddIndex(
            model_name="cardtokenuse",
            index=models.Index(fields=["used_at"], name="card_token_uses_used_at_idx"),
        ),
        migrations.AddConstraint(
            model_name="erasurerequest",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["pending", "done", "declined"])),
                name="erasure_requests_status_valid",
                violation_error_message="status must be one of: pending, done, declined.",
            ),
        ),
        migrations.AddConstraint(
            model_name="erasurerequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "pending")), fields=("customer",), name="erasure_requests_one_pending"
            ),
        ),
        migrations.RunPython(normalize_phones, restore_phones),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                condition=models.Q(("phone", ""), _negated=True), fields=("phone",), name="customers_phone_key"
            ),
        ),
        install(
            "customers", "erasure_requests_audit", 1, reverse="DROP TRIGGER erasure_requests_audit ON erasure_requests"
        ),
        install(
            "customers",
            "erasure_requests_set_updated_at",
            1,
            reverse="DROP TRIGGER erasure_requests_set_updated_at ON erasure_requests",
        ),
    ]
