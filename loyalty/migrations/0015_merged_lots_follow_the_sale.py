"""A refund of a sale follows its points into the lots a merge moved them to (sale_points_lots(), merge_lot rows)."""

from django.db import migrations

from system.sqlfiles import install


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_members_see_shared_contacts"),
        ("api", "0003_one_active_key_per_name"),
        ("customers", "0003_erase_permission"),
        ("loyalty", "0014_points_merge_types"),
        ("merchants", "0001_initial"),
        ("system", "0014_audit_redaction"),
        ("transactions", "0009_merge_moves_points_totals"),
    ]
    operations = [
        install("loyalty", "sale_points_lots", 1, reverse="DROP FUNCTION sale_points_lots(uuid);"),
        install("loyalty", "apply_points_change", 5, reverse=4),
    ]
