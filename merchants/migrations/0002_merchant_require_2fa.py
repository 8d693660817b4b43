"""A merchant can require a second factor of all its staff (merchants/two_factor.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="merchant",
            name="require_2fa",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="On: every staff member gives a code from an authenticator app after the password.",
                verbose_name="require two-factor sign-in of all staff",
            ),
        ),
    ]
