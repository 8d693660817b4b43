-- One month of the audit log as the admin lists it (system/admin.py, its month filter): the page's 100
-- newest rows with their users, and the planner's estimate of the month's rows, which its paginator
-- (system.admin.EstimatedCountPaginator) shows in place of a count above 10,000 rows, as here.
-- bench_audit_months (made by the harness) holds the months that have rows.
\set m random(1, :months)
SELECT start, stop FROM bench_audit_months WHERE m = :m \gset
SELECT a.id, a.created_at, a.table_name, a.action, a.record_id, a.changed_fields, u.email
  FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id
 WHERE a.created_at >= :start AND a.created_at < :stop
 ORDER BY a.created_at DESC LIMIT 100;
EXPLAIN (FORMAT JSON) SELECT a.id FROM audit_logs a LEFT JOIN users u ON u.id = a.user_id
 WHERE a.created_at >= :start AND a.created_at < :stop ORDER BY a.created_at DESC;
