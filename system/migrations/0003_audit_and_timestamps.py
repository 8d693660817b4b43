"""`updated_at` on every timestamped table, and the generic audit trigger.

Audited: merchants, merchant_staff, customers, loyalty_programs, customer_loyalty_accounts,
transactions, system_settings. Not audited: points_transactions (an append-only ledger
already), customer_visits, merchant_daily_analytics and its deltas (derived, rebuilt from
the transactions), qr_scan_logs and audit_logs (logs themselves). Columns that the
triggers keep (totals, balances) are passed as arguments: a change to those alone is
not recorded, so a sale writes one audit row, for the sale.
"""

from django.db import migrations

TIMESTAMPED = [
    "merchants",
    "merchant_staff",
    "customers",
    "loyalty_programs",
    "customer_loyalty_accounts",
    "transactions",
    "merchant_daily_analytics",
    "customer_visits",
    "system_settings",
]

AUDITED = {
    "merchants": [],
    "merchant_staff": [],
    "customers": ["total_spent", "total_transactions", "last_visit_at"],
    "loyalty_programs": [],
    "customer_loyalty_accounts": [
        "current_points",
        "total_points_earned",
        "total_points_redeemed",
        "total_spent",
        "total_transactions",
        "last_visit_at",
    ],
    "transactions": [],
    "system_settings": [],
}

AUDIT_FUNCTION = r"""
CREATE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
-- AFTER INSERT OR UPDATE OR DELETE: one audit_logs row with the old and new values.
-- Trigger arguments name columns whose changes alone are not worth a row.
DECLARE
    old_row jsonb;
    new_row jsonb;
    changed jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := to_jsonb(NEW);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT jsonb_agg(n.key ORDER BY n.key) INTO changed
          FROM jsonb_each(new_row) n
         WHERE n.value IS DISTINCT FROM old_row -> n.key AND n.key <> 'updated_at';
        IF changed IS NULL OR NOT EXISTS (
            SELECT 1 FROM jsonb_array_elements_text(changed) c(name) WHERE c.name <> ALL (coalesce(TG_ARGV, '{}'))) THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO audit_logs (table_name, record_id, action, old_values, new_values, changed_fields, user_id)
    VALUES (TG_TABLE_NAME, (coalesce(new_row, old_row) ->> 'id')::uuid, TG_OP, old_row, new_row, changed,
            nullif(current_setting('app.user_id', true), '')::uuid);
    RETURN NULL;
END $$;

CREATE TRIGGER audit_logs_append_only
    BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
"""


def _literal(columns):
    return ", ".join(f"'{c}'" for c in columns)


SQL = (
    AUDIT_FUNCTION
    + "".join(
        f"CREATE TRIGGER {t}_set_updated_at BEFORE UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION set_updated_at();\n"
        for t in TIMESTAMPED
    )
    + "".join(
        f"CREATE TRIGGER {t}_audit AFTER INSERT OR UPDATE OR DELETE ON {t} "
        f"FOR EACH ROW EXECUTE FUNCTION audit_row_change({_literal(ignored)});\n"
        for t, ignored in AUDITED.items()
    )
)

REVERSE_SQL = (
    "".join(f"DROP TRIGGER {t}_audit ON {t};\n" for t in AUDITED)
    + "".join(f"DROP TRIGGER {t}_set_updated_at ON {t};\n" for t in TIMESTAMPED)
    + """
DROP TRIGGER audit_logs_append_only ON audit_logs;
DROP FUNCTION audit_row_change();
"""
)


class Migration(migrations.Migration):
    dependencies = [
        ("system", "0002_initial"),
        ("merchants", "0001_initial"),
        ("customers", "0001_initial"),
        ("loyalty", "0003_ledger_rules"),
        ("transactions", "0002_database_rules"),
        ("analytics", "0003_rollup_and_views"),
    ]
    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
