-- Each merchant's lifetime figures from its daily analytics and accounts, for the dashboard
-- (analytics/models.py MerchantDashboard).
CREATE OR REPLACE VIEW merchant_dashboard AS
SELECT m.id AS merchant_id, m.business_name, m.merchant_code, m.currency, m.timezone,
       coalesce(a.total_sales, 0) AS total_sales,
       coalesce(a.total_refunds, 0) AS total_refunds,
       coalesce(a.total_sales, 0) - coalesce(a.total_refunds, 0) AS net_sales,
       coalesce(a.total_transactions, 0)::integer AS total_transactions,
       coalesce(a.refund_count, 0)::integer AS refund_count,
       coalesce(a.new_customers, 0)::integer AS total_customers,
       coalesce(a.points_issued, 0)::integer AS points_issued,
       coalesce(a.points_redeemed, 0)::integer AS points_redeemed,
       coalesce(a.points_reversed, 0)::integer AS points_reversed,
       CASE WHEN a.total_transactions > 0 THEN round(a.total_sales / a.total_transactions, 2) ELSE 0 END
           AS average_transaction_value,
       a.first_sale_date, a.last_sale_date,
       (now() AT TIME ZONE m.timezone)::date AS today_date,
       coalesce(a.today_sales, 0) AS today_sales,
       coalesce(a.today_transactions, 0)::integer AS today_transactions,
       coalesce(a.today_customers, 0)::integer AS today_customers,
       coalesce(a.today_new_customers, 0)::integer AS today_new_customers,
       coalesce(a.today_points_issued, 0)::integer AS today_points_issued,
       coalesce(a.today_points_redeemed, 0)::integer AS today_points_redeemed
  FROM merchants m
  LEFT JOIN LATERAL (
      -- the rolled-up days plus the deltas not yet rolled up: exact, and one row per day at most
      SELECT sum(s.total_sales) AS total_sales, sum(s.total_refunds) AS total_refunds,
             sum(s.total_transactions) AS total_transactions, sum(s.refund_count) AS refund_count,
             sum(s.new_customers) AS new_customers, sum(s.points_issued) AS points_issued,
             sum(s.points_redeemed) AS points_redeemed, sum(s.points_reversed) AS points_reversed,
             min(s.date) FILTER (WHERE s.total_transactions > 0) AS first_sale_date,
             max(s.date) FILTER (WHERE s.total_transactions > 0) AS last_sale_date,
             sum(s.total_sales) FILTER (WHERE s.date = (now() AT TIME ZONE m.timezone)::date) AS today_sales,
             sum(s.total_transactions) FILTER (WHERE s.date = (now() AT TIME ZONE m.timezone)::date)
                 AS today_transactions,
             sum(s.unique_customers) FILTER (WHERE s.date = (now() AT TIME ZONE m.timezone)::date)
                 AS today_customers,
             sum(s.new_customers) FILTER (WHERE s.date = (now() AT TIME ZONE m.timezone)::date)
                 AS today_new_customers,
             sum(s.points_issued) FILTER (WHERE s.date = (now() AT TIME ZONE m.timezone)::date)
                 AS today_points_issued,
             sum(s.points_redeemed) FILTER (WHERE s.date = (now() AT TIME ZONE m.timezone)::date)
                 AS today_points_redeemed
        FROM (
            SELECT date, total_sales, total_refunds, total_transactions, refund_count, unique_customers,
                   new_customers, points_issued, points_redeemed, points_reversed
              FROM merchant_daily_analytics WHERE merchant_id = m.id
            UNION ALL
            SELECT date, total_sales, total_refunds, total_transactions, refund_count, unique_customers,
                   new_customers, points_issued, points_redeemed, points_reversed
              FROM merchant_daily_analytics_deltas WHERE merchant_id = m.id
        ) s
  ) a ON true;
