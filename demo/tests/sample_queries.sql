-- The sample queries of the schema document, verbatim. The tests put in a real merchant id.

SELECT * FROM merchant_dashboard WHERE merchant_id = 'merchant-uuid';

SELECT t.*, c.first_name, c.last_name 
FROM transactions t 
JOIN customers c ON t.customer_id = c.id 
WHERE t.merchant_id = 'merchant-uuid' 
ORDER BY t.created_at DESC 
LIMIT 10;

SELECT c.*, cla.current_points, cla.total_points_earned
FROM customers c
LEFT JOIN customer_loyalty_accounts cla ON c.id = cla.customer_id
WHERE cla.merchant_id = 'merchant-uuid'
ORDER BY cla.current_points DESC;

SELECT * FROM merchant_daily_analytics 
WHERE merchant_id = 'merchant-uuid' 
AND date >= CURRENT_DATE - INTERVAL '30 days'
ORDER BY date DESC;
