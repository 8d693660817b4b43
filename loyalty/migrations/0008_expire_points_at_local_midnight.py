"""expire_points() takes p_local_midnight: the daily job expires only the lots due by each merchant's
latest local midnight. A new argument: the function without it goes first, and comes back last."""

from django.db import migrations

from system.sqlfiles import frozen, install


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0007_rules_as_functions"),
    ]
    operations = [
        migrations.RunSQL("DROP FUNCTION expire_points(integer);", frozen("loyalty", "expire_points", 1)),
        install("loyalty", "expire_points", 2, reverse="DROP FUNCTION expire_points(integer, boolean);"),
    ]
