-- Every change of a customer_loyalty_accounts row is recorded in audit_logs, whoever makes it.
CREATE OR REPLACE TRIGGER customer_loyalty_accounts_audit
    AFTER INSERT OR DELETE OR UPDATE ON customer_loyalty_accounts
    FOR EACH ROW EXECUTE FUNCTION audit_row_change('current_points', 'total_points_earned', 'total_points_redeemed', 'total_spent', 'total_transactions', 'last_visit_at');
