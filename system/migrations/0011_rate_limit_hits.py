"""Rate limits in the database (system.ratelimit): one row per attempt, its key kept as a SHA-256 only; the
index of a key's hits in a window, and the one of the hourly purge."""

import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("system", "0010_outgoing_sms"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateLimitHit",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("scope", models.CharField(max_length=64)),
                ("key_digest", models.CharField(help_text="SHA-256 of the key, hex.", max_length=64)),
                (
                    "created_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), editable=False),
                ),
            ],
            options={
                "db_table": "rate_limit_hits",
                "indexes": [
                    models.Index(fields=["scope", "key_digest", "created_at"], name="rate_limit_hits_key_idx"),
                    models.Index(fields=["created_at"], name="rate_limit_hits_created_idx"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("key_digest__regex", "^[0-9a-f]{64}$")), name="rate_limit_hits_hex"
                    )
                ],
            },
        ),
    ]
