"""The permission customers.erase_customer: who may erase a customer's personal data in the admin."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_privacy"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="customer",
            options={"permissions": [("erase_customer", "Can erase a customer's personal data")]},
        ),
    ]
