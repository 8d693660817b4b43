"""Load demo data: merchants in several time zones, their programs, customers, 90 days of sales.

Sales are generated in SQL and loaded in bulk with the row triggers switched off inside
the loading transaction; what the triggers would have written (accounts, ledger, lots, totals,
visits, daily and hourly figures, audit history) is computed set-wise through the database's
own rule functions (points, discounts, ledger totals, lots), and checked
against the transactions before the transaction commits (unless --no-check). A million sales load
in about 70 to 90 s on 2 cores without their audit history (--no-audit); the check adds
5 to 30 s.
"""

import time
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from tqdm import tqdm

from loyalty.integrity import derived_state_errors
from loyalty.models import LoyaltyProgram, LoyaltyTier
from merchants.models import Merchant, MerchantStaff, User

DEMO_PASSWORD = "demo-password"
DEMO_LOGINS = [
    ("owner@demo.test", "owner of the first merchant"),
    ("cashier@demo.test", "cashier of the first merchant"),
    ("admin@demo.test", "platform admin (Django admin)"),
]

# name, type, email, time zone, currency, points per unit, menu of (product, sku, price)
DEMO_MERCHANTS = [
    (
        "Bean There Café",
        "cafe",
        "hello@beanthere.demo",
        "America/New_York",
        "USD",
        "1",
        [
            ("Flat white", "FW", "4.20"),
            ("Cappuccino", "CAP", "4.50"),
            ("Croissant", "CRO", "3.25"),
            ("Bagel", "BAG", "3.80"),
            ("Cold brew", "CB", "5.10"),
            ("Muffin", "MUF", "3.40"),
            ("Beans 250g", "BN250", "14.00"),
        ],
    ),
    (
        "Brezel & Co",
        "bakery",
        "servus@brezel.demo",
        "Europe/Berlin",
        "EUR",
        "1",
        [
            ("Brezel", "BRZ", "1.20"),
            ("Roggenbrot", "ROG", "4.60"),
            ("Apfelstrudel", "APS", "3.90"),
            ("Kaffee", "KAF", "2.80"),
            ("Käsekuchen", "KK", "3.70"),
        ],
    ),
    (
        "Sakura Ramen",
        "restaurant",
        "info@sakura.demo",
        "Asia/Tokyo",
        "JPY",
        "0.01",
        [
            ("Shoyu ramen", "SHO", "980"),
            ("Tonkotsu ramen", "TON", "1150"),
            ("Gyoza", "GYO", "450"),
            ("Edamame", "EDA", "350"),
            ("Ramune", "RAM", "250"),
        ],
    ),
    (
        "Harbour Books",
        "retail",
        "shop@harbourbooks.demo",
        "Australia/Sydney",
        "AUD",
        "1",
        [
            ("Paperback", "PB", "22.99"),
            ("Hardcover", "HC", "39.99"),
            ("Notebook", "NB", "12.50"),
            ("Gift card", "GC", "50.00"),
            ("Bookmark", "BM", "3.00"),
        ],
    ),
]
MORE_ZONES = [
    ("America/Los_Angeles", "USD"),
    ("Europe/London", "GBP"),
    ("America/Sao_Paulo", "BRL"),
    ("Asia/Kolkata", "INR"),
    ("Europe/Paris", "EUR"),
    ("America/Chicago", "USD"),
]

FIRST_NAMES = (
    "Olivia Liam Emma Noah Ava Elijah Sophia Mateo Mia Lucas Amelia Levi Harper Ezra Evelyn Luca "
    "Aria Kai Chloe Leo Yuki Hana Sora Ren Lena Jonas Mila Felix Ines Tomas Priya Arjun Zara Omar "
    "Fatima Diego Lucia Chen Wei Aiko"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Martinez Lopez Müller Schmidt Schneider "
    "Fischer Weber Tanaka Suzuki Sato Takahashi Watanabe Nguyen Tran Kim Lee Patel Singh Khan Silva "
    "Santos Costa Rossi Russo Dubois Martin Bernard Novak Kowalski Jensen Larsen O'Brien"
).split()


class Command(BaseCommand):
    help = "Load demo data (merchants, programs, customers, 90 days of sales) and the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--merchants", type=int, default=4, help="number of merchants (default 4)")
        parser.add_argument("--customers", type=int, default=400, help="number of customers (default 400)")
        parser.add_argument("--transactions", type=int, default=9000, help="number of sales (default 9000)")
        parser.add_argument("--days", type=int, default=90, help="days of history (default 90)")
        parser.add_argument("--seed", type=float, default=0.42, help="random seed in [-1, 1] (default 0.42)")
        parser.add_argument(
            "--busy-merchant-sales",
            type=int,
            default=0,
            help="this many of the sales go to the last merchant (shopN@merchants.demo), from every customer "
            "(for benchmarks)",
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing if there are merchants already")
        parser.add_argument("--no-logins", action="store_true", help="do not create the demo logins")
        parser.add_argument(
            "--no-audit",
            action="store_true",
            help="write no audit history for the loaded rows (faster for large bench sets)",
        )
        parser.add_argument(
            "--no-check",
            action="store_true",
            help="do not compare the loaded rows with what the triggers would have written (check_ledger checks the "
            "points later; faster for large bench sets)",
        )

    def handle(self, *args, **options):
        if options["if_empty"] and Merchant.objects.exists():
            self.stdout.write("Demo data is loaded already.")
            self.print_logins()
            return
        for name in ("merchants", "customers", "transactions", "days"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1.")
        if not 0 <= options["busy_merchant_sales"] <= options["transactions"]:
            raise CommandError("--busy-merchant-sales must be between 0 and --transactions.")
        if options["busy_merchant_sales"] and options["merchants"] < 2:
            raise CommandError("--busy-merchant-sales needs at least 2 merchants.")
        if not -1 <= options["seed"] <= 1:
            raise CommandError("--seed must be between -1 and 1.")

        if Merchant.objects.filter(business_email__in=[m[2] for m in DEMO_MERCHANTS]).exists():
            raise CommandError("The demo data is loaded already: use --if-empty, or an empty database.")
        started = time.monotonic()
        steps = DemoLoader(options, self.stdout).steps()
        with transaction.atomic(), tqdm(total=len(steps), unit="step", disable=options["verbosity"] == 0) as bar:
            for label, step in steps:
                bar.set_description(label)
                step()
                bar.update()
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {options['merchants']} merchants, {options['customers']} customers and "
                f"{options['transactions']} sales in {time.monotonic() - started:.1f} s."
            )
        )
        if not options["no_logins"]:
            self.print_logins()

    def print_logins(self):
        if not User.objects.filter(email=DEMO_LOGINS[0][0]).exists():
            return
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}):")
        for email, role in DEMO_LOGINS:
            self.stdout.write(f"  {email:<20} {role}")


BULK_TABLES = (
    "merchants",
    "customers",
    "loyalty_programs",
    "transactions",
    "transaction_items",
    "customer_loyalty_accounts",
    "points_transactions",
    "points_lots",
    "transaction_refunds",
    "customer_visits",
    "audit_logs",
)


CUSTOMER_KEY = "'customer' || i"
SALE_KEY = "'sale' || i"

# Written in bulk with their indexes and keys dropped and rebuilt afterwards.
LOADED_TABLES = (
    "customers",
    "transactions",
    "transaction_items",
    "customer_loyalty_accounts",
    "points_transactions",
    "points_lots",
    "transaction_refunds",
    "customer_visits",
    "merchant_daily_analytics",
    "merchant_hourly_analytics",
)


def busy_merchant_email(merchants: int) -> str:
    """The merchant that --busy-merchant-sales fills: the last one made (a shop without line items)."""
    return f"shop{merchants}@merchants.demo" if merchants > len(DEMO_MERCHANTS) else DEMO_MERCHANTS[merchants - 1][2]


class DemoLoader:
    CHUNK = 250_000

    def __init__(self, options, stdout):
        self.options = options
        self.stdout = stdout
        self.replica = False

    def steps(self):
        n = self.options["transactions"]
        chunks = [(start, min(start + self.CHUNK, n)) for start in range(0, n, self.CHUNK)]
        return [
            ("merchants", self.merchants),
            ("customers", self.customers),
            *[(f"sales {end:,}/{n:,}", lambda s=start, e=end: self.sales(s, e)) for start, end in chunks],
            ("line items", self.items),
            ("points paid", self.redemptions),
            ("tables", self.load),
            ("statistics", self.finish),
            *([] if self.options["no_check"] else [("check", self.check)]),
            ("tiers", self.tiers),
            ("logins", self.logins),
        ]

    def uid(self, unique_text: str) -> str:
        """SQL for a UUID from a secret of this load and text unique to the row.

        gen_random_uuid() reads the system's random source on every call, the slowest part of
        a bulk load; an MD5 of a random secret and a row key is as unguessable and 4 times faster.
        """
        return f"md5('{self.secret}' || {unique_text})::uuid"

    def count(self, table) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            return cursor.fetchone()[0]

    def execute(self, query, params=None):
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(query, params)
        if self.options["verbosity"] >= 2:
            self.stdout.write(f"\n{time.monotonic() - started:7.2f} s  {' '.join(query.split())[:90]}")

    def merchants(self):
        self.execute("SELECT setseed(%s)", [self.options["seed"]])
        with connection.cursor() as cursor:
            cursor.execute("SELECT md5(gen_random_uuid()::text)")
            (self.secret,) = cursor.fetchone()
        self.use_large_temp_buffers()
        self.execute("SET LOCAL work_mem = '256MB'")
        self.execute("SET LOCAL maintenance_work_mem = '512MB'")
        self.switch_triggers(on=False)
        count = self.options["merchants"]
        named = DEMO_MERCHANTS[:count]
        self.execute(
            "CREATE TEMP TABLE seed_menu (merchant_id uuid, product text, sku text, price numeric) ON COMMIT DROP"
        )
        for name, kind, email, tz, currency, rate, menu in named:
            self.execute(
                "WITH m AS (INSERT INTO merchants (business_name, business_type, business_email, timezone, currency,"
                " business_phone, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, '+1 555 0100', "
                " now() - interval '2 years', now()) RETURNING id), "
                "p AS (INSERT INTO loyalty_programs (merchant_id, name, description, points_per_dollar, "
                " min_redemption_points, point_value, max_redemption_percent, points_expiry_days, created_at) "
                " SELECT id, %s, %s, %s, 100, %s, 50, 365, now() - interval '2 years' FROM m) "
                "INSERT INTO seed_menu SELECT m.id, x.product, x.sku, x.price FROM m, "
                " unnest(%s::text[], %s::text[], %s::numeric[]) AS x(product, sku, price)",
                [
                    name,
                    kind,
                    email,
                    tz,
                    currency,
                    f"{name} Rewards",
                    f"Points on every purchase at {name}.",
                    rate,
                    "1" if currency == "JPY" else "0.01",
                    [p for p, _, _ in menu],
                    [s for _, s, _ in menu],
                    [v for _, _, v in menu],
                ],
            )
        if count > len(named):
            zones = [z for z, _ in MORE_ZONES]
            currencies = [c for _, c in MORE_ZONES]
            self.execute(
                "WITH m AS (INSERT INTO merchants (business_name, business_type, business_email, timezone, currency, "
                " created_at, updated_at) "
                " SELECT 'Shop ' || i, 'retail', 'shop' || i || '@merchants.demo', "
                "        (%s::text[])[1 + i %% %s], (%s::text[])[1 + i %% %s], now() - interval '2 years', now() "
                "   FROM generate_series(%s::int, %s::int) i RETURNING id) "
                "INSERT INTO loyalty_programs (merchant_id, name, points_per_dollar, created_at) "
                "SELECT id, 'Rewards', 1, now() - interval '2 years' FROM m",
                [zones, len(zones), currencies, len(currencies), len(named) + 1, count],
            )
        # Merchants whose programs earn alike, in the same kind of currency, share a price list.
        self.execute(
            "CREATE TEMP TABLE seed_merchants ON COMMIT DROP AS "
            "SELECT row_number() OVER (ORDER BY m.created_at, m.business_email) AS n, m.id, m.timezone, "
            "       m.currency, p.points_per_dollar, (p.*)::loyalty_programs AS program, "
            "       dense_rank() OVER (ORDER BY m.currency = 'JPY', to_jsonb(p) - %s::text[]) AS price_list "
            "  FROM merchants m JOIN loyalty_programs p ON p.merchant_id = m.id AND p.is_active",
            [["id", "merchant_id", "name", "description", "created_at", "updated_at"]],
        )
        self.execute("CREATE UNIQUE INDEX ON seed_merchants (n)")
        # The prices a sale can have (whole yen, or cents from 3 to 63), each with the points it earns.
        self.execute(
            "CREATE TEMP TABLE seed_prices ON COMMIT DROP AS "
            "SELECT l.price_list, l.yen, k, x.amount, loyalty_sale_points(l.program, x.amount, 0, 1) AS points "
            "  FROM (SELECT DISTINCT ON (price_list) price_list, currency = 'JPY' AS yen, program "
            "          FROM seed_merchants ORDER BY price_list) l "
            " CROSS JOIN LATERAL generate_series(0, CASE WHEN l.yen THEN 3000 ELSE 6000 END) k "
            " CROSS JOIN LATERAL (SELECT (CASE WHEN l.yen THEN 300 + k ELSE 3 + k / 100.0 END)::numeric(12, 2) "
            "                            AS amount) x"
        )
        self.execute("ANALYZE seed_prices")

    def customers(self):
        self.execute(
            "CREATE TEMP TABLE seed_customers ON COMMIT DROP AS "
            f"SELECT {self.uid(CUSTOMER_KEY)} AS id, new_customer_code() AS customer_code, f AS first_name, "
            "       l AS last_name, "
            "       lower(translate(f || '.' || l, ' ''ü', '__u')) || '.' || i || '.' "
            "           || substr(md5(random()::text), 1, 4) || '@example.test' AS email, "
            # one number each, E.164 like the app stores them (unique: customers_phone_key)
            "       '+1202' || (200 + (i / 10000) %% 800) || lpad((i %% 10000)::text, 4, '0') AS phone, "
            "       now() - make_interval(days => %s + (random() * 60)::int) AS created_at "
            "  FROM generate_series(1, %s::int) i, "
            "       LATERAL (SELECT (%s::text[])[1 + floor(random() * %s)::int + 0 * i] AS f, "
            "                       (%s::text[])[1 + floor(random() * %s)::int + 0 * i] AS l) names",
            [
                self.options["days"],
                self.options["customers"],
                FIRST_NAMES,
                len(FIRST_NAMES),
                LAST_NAMES,
                len(LAST_NAMES),
            ],
        )
        # Each customer is a regular at one to three merchants; some merchants are busier than others.
        # A member row names the account its sales go to.
        account = self.uid("p.customer_id::text || m.id::text")
        self.execute(
            "CREATE TEMP TABLE seed_members ON COMMIT DROP AS "
            f"SELECT row_number() OVER () AS n, p.customer_id, m.id AS merchant_id, {account} AS account_id, "
            "       (now() AT TIME ZONE m.timezone)::date AS today, "
            # days since the customer's first visit there: a third joined during the period
            "       least(%s, 1 + floor(random() * %s * 1.5))::int AS member_days "
            "  FROM (SELECT DISTINCT c.id AS customer_id, 1 + floor(power(random(), 1.5) * %s)::int AS merchant_n "
            "          FROM (SELECT id, 1 + floor(random() * 3)::int AS k FROM seed_customers) c "
            "          JOIN generate_series(1, 3) g ON g <= c.k) p "
            "  JOIN seed_merchants m ON m.n = p.merchant_n",
            [self.options["days"], self.options["days"], self.options["merchants"]],
        )
        self.regulars = self.count("seed_members")
        if self.options["busy_merchant_sales"]:
            # The busy merchant has every customer as a member, numbered after the regulars.
            account = self.uid("p.customer_id::text || m.id::text")
            self.execute(
                f"INSERT INTO seed_members SELECT %s + row_number() OVER (ORDER BY p.customer_id), p.customer_id, "
                f"       m.id, {account}, (now() AT TIME ZONE m.timezone)::date, %s "
                "  FROM (SELECT id AS customer_id FROM seed_customers) p, merchants m WHERE m.business_email = %s",
                [self.regulars, self.options["days"], busy_merchant_email(self.options["merchants"])],
            )
        self.execute("CREATE UNIQUE INDEX ON seed_members (n)")
        self.execute("ANALYZE seed_members")
        # A sale as the triggers would have left it, with its account and its merchant-local day and hour.
        self.execute(
            "CREATE TEMP TABLE seed_sales (id uuid, account_id uuid, merchant_id uuid, customer_id uuid, "
            " amount numeric(12,2), status text, payment_method text, completed_at timestamptz, "
            " closed_at timestamptz, points_earned integer, points_reversed integer, points_redeemed integer, "
            " discount_amount numeric(12,2), local_date date, hour smallint) ON COMMIT DROP"
        )

    def sales(self, start, end):
        self.execute(
            "INSERT INTO seed_sales "
            f"SELECT {self.uid(SALE_KEY)}, m.account_id, m.merchant_id, m.customer_id, price.amount, t.status, "
            "       (ARRAY['card', 'card', 'card', 'cash', 'mobile', 'mobile', 'other'])[1 + floor(r.pay * 7)::int], "
            "       CASE WHEN t.status <> 'failed' THEN t.at END, "
            "       CASE WHEN t.status = 'failed' THEN t.at "
            "            WHEN t.status IN ('refunded', 'cancelled') "
            "            THEN least(t.at + r.close * interval '5 days', now()) END, "
            "       CASE WHEN t.status = 'failed' THEN 0 ELSE price.points END, "
            "       CASE WHEN t.status IN ('refunded', 'cancelled') THEN price.points ELSE 0 END, 0, 0, "
            "       moved.local::date, date_part('hour', moved.local) "
            "  FROM generate_series(%s::int, %s::int - 1) i "
            "  CROSS JOIN LATERAL (SELECT random() AS s, random() AS pick, random() AS day, random() AS hour, "
            "                             random() AS mins, random() AS secs, random() AS back, random() AS spend, "
            "                             random() AS pay, random() AS close WHERE i IS NOT NULL) r "
            # the first --busy-merchant-sales sales are the busy merchant's, the rest the regulars'
            "  JOIN seed_members m ON m.n = CASE WHEN i < %s THEN %s + 1 + floor(r.pick * %s)::int "
            "                                    ELSE 1 + floor(r.pick * %s)::int END "
            "  JOIN seed_merchants sm ON sm.id = m.merchant_id "
            "  JOIN seed_prices price ON price.price_list = sm.price_list "
            "   AND price.k = CASE WHEN sm.currency = 'JPY' THEN floor(r.spend * 3001)::int "
            "                      ELSE floor(power(r.spend, 2) * 6001)::int END "
            # a day of the period, more sales lately, at a busy hour of the merchant's day (local time)
            "  CROSS JOIN LATERAL (SELECT m.today - floor(power(r.day, 1.2) * m.member_days)::int "
            "                             + make_interval(hours => (ARRAY[7,8,8,9,9,10,11,12,12,12,13,13,14,15,16,"
            "                                 17,17,18,18,19,19,20,21])[1 + floor(r.hour * 23)::int], "
            "                                 mins => floor(r.mins * 60)::int, secs => floor(r.secs * 60)::int) "
            "                             AS local OFFSET 0) planned "
            # later today than now: move it to an earlier day
            "  CROSS JOIN LATERAL (SELECT CASE WHEN planned.local AT TIME ZONE sm.timezone <= now() THEN planned.local "
            "                             ELSE planned.local - make_interval(days => 1 + floor(r.back * "
            "                                  greatest(m.member_days - 1, 1))::int) END AS local OFFSET 0) moved "
            "  CROSS JOIN LATERAL (SELECT moved.local AT TIME ZONE sm.timezone AS at, "
            "                             CASE WHEN r.s < 0.93 THEN 'completed' WHEN r.s < 0.95 THEN 'refunded' "
            "                                  WHEN r.s < 0.96 THEN 'cancelled' ELSE 'failed' END AS status "
            "                      OFFSET 0) t",
            [start, end, self.options["busy_merchant_sales"], self.regulars, self.options["customers"], self.regulars],
        )

    def items(self):
        self.execute("ANALYZE seed_sales")  # the work tables' sizes, for hash joins rather than sorts
        # Sales of the named merchants get line items, and their amount (and points) is the items' total.
        self.execute(
            "CREATE TEMP TABLE seed_items ON COMMIT DROP AS "
            "SELECT s.id AS transaction_id, s.merchant_id, s.completed_at, x.product, x.sku, x.quantity, x.price "
            "  FROM seed_sales s "
            "  CROSS JOIN LATERAL (SELECT mn.product, mn.sku, 1 + floor(random() * 2)::int AS quantity, mn.price "
            "                        FROM generate_series(1, 1 + floor(random() * 3)::int) g "
            "                        JOIN LATERAL (SELECT * FROM seed_menu mn WHERE mn.merchant_id = s.merchant_id "
            "                                      AND g IS NOT NULL ORDER BY random() LIMIT 1) mn ON true) x "
            " WHERE s.merchant_id IN (SELECT merchant_id FROM seed_menu)"
        )
        self.execute(
            "UPDATE seed_sales s SET amount = i.total, "
            "       points_earned = CASE WHEN s.status = 'failed' THEN 0 ELSE i.points END, "
            "       points_reversed = CASE WHEN s.status IN ('refunded', 'cancelled') THEN i.points ELSE 0 END "
            "  FROM (SELECT i.transaction_id, i.total, loyalty_sale_points(m.program, i.total, 0, 1) AS points "
            "          FROM (SELECT transaction_id, merchant_id, sum(quantity * price) AS total FROM seed_items "
            "                 GROUP BY 1, 2) i "
            "          JOIN seed_merchants m ON m.id = i.merchant_id) i "
            " WHERE i.transaction_id = s.id"
        )

    def redemptions(self):
        # Some customers pay part of their latest purchase with points, as far as their earlier
        # purchases allow (counting every refund of those, whenever it came) and the rules let them.
        self.execute(
            "WITH accounts AS ("
            "  SELECT account_id, max(completed_at) AS latest, sum(points_earned - points_reversed) AS net "
            "    FROM seed_sales WHERE completed_at IS NOT NULL GROUP BY account_id"
            "), latest AS ("
            "  SELECT s.id, s.status, s.merchant_id, s.amount, a.net - (s.points_earned - s.points_reversed) AS before,"
            # a sale at the same second as another of the account: the ledger may order them either way
            "         count(*) OVER (PARTITION BY s.account_id) AS same_time "
            "    FROM seed_sales s JOIN accounts a ON a.account_id = s.account_id AND a.latest = s.completed_at"
            "), chosen AS ("
            "  SELECT l.id, m.program, (least(floor(l.before / (m.program).min_redemption_points), "
            "             floor(loyalty_redemption_limit(m.program, l.amount) / (m.program).point_value "
            "                   / (m.program).min_redemption_points)) * (m.program).min_redemption_points)::int "
            "         AS points "
            "    FROM latest l JOIN seed_merchants m ON m.id = l.merchant_id "
            "   WHERE l.same_time = 1 AND l.status = 'completed' AND (m.program).min_redemption_points > 0 "
            "     AND random() < 0.4"
            ") "
            "UPDATE seed_sales s SET points_redeemed = c.points, "
            "       discount_amount = loyalty_redemption_discount(c.program, c.points), "
            "       points_earned = loyalty_sale_points(c.program, s.amount, "
            "                                           loyalty_redemption_discount(c.program, c.points), 1) "
            "  FROM chosen c WHERE c.id = s.id AND c.points >= (c.program).min_redemption_points"
        )

    def load(self):
        """Write the tables in bulk, their secondary indexes built afterwards.

        Sales, customers and accounts are written in the order of their keys: check_ledger's and the
        load's checks read them by key, and a scan of a key's index then reads its table in order.
        """
        restore = self.drop_indexes_and_keys(LOADED_TABLES)
        self.execute("ANALYZE seed_sales")  # after the points paid: few sales have any
        self.ledger_rows()
        self.execute(
            "CREATE TEMP TABLE seed_accounts ON COMMIT DROP AS "
            "SELECT account_id AS id, customer_id, merchant_id, "
            "       coalesce(sum(amount) FILTER (WHERE status = 'completed'), 0) AS spent, "
            "       count(*) FILTER (WHERE status = 'completed') AS sales, max(completed_at) AS last_visit, "
            "       min(completed_at) AS first_visit "
            "  FROM seed_sales WHERE completed_at IS NOT NULL GROUP BY account_id, customer_id, merchant_id"
        )
        self.execute("ANALYZE seed_accounts")
        # Customers carry the totals of their sales (refunded and cancelled ones taken back).
        self.execute(
            "INSERT INTO customers (id, customer_code, first_name, last_name, email, phone, total_spent, "
            " total_transactions, last_visit_at, created_at, updated_at) "
            "SELECT c.id, c.customer_code, c.first_name, c.last_name, c.email, c.phone, coalesce(t.spent, 0), "
            "       coalesce(t.sales, 0), t.last_visit, c.created_at, now() "
            "  FROM seed_customers c LEFT JOIN ("
            "       SELECT customer_id, sum(spent) AS spent, sum(sales) AS sales, max(last_visit) AS last_visit "
            "         FROM seed_accounts GROUP BY 1) t ON t.customer_id = c.id "
            " ORDER BY c.id"
        )
        self.execute(
            "INSERT INTO transactions (id, merchant_id, customer_id, amount, currency, payment_method, status, "
            " external_reference, description, points_earned, points_rate, points_multiplier, points_reversed, "
            " points_redeemed, discount_amount, refunded_amount, completed_at, refunded_at, cancelled_at, created_at, "
            " updated_at) "
            "SELECT s.id, s.merchant_id, s.customer_id, s.amount, m.currency, s.payment_method, s.status, '', '', "
            "       s.points_earned, CASE WHEN s.status <> 'failed' THEN m.points_per_dollar END, "
            "       CASE WHEN s.status <> 'failed' THEN 1 END, "
            "       s.points_reversed, s.points_redeemed, s.discount_amount, "
            "       CASE WHEN s.status = 'refunded' THEN s.amount ELSE 0 END, s.completed_at, "
            "       CASE WHEN s.status = 'refunded' THEN s.closed_at END, "
            "       CASE WHEN s.status = 'cancelled' THEN s.closed_at END, "
            "       coalesce(s.completed_at, s.closed_at) - interval '20 seconds', "
            "       coalesce(s.closed_at, s.completed_at) "
            "  FROM seed_sales s JOIN seed_merchants m ON m.id = s.merchant_id ORDER BY s.id"
        )
        # Refunds and cancellations are of whole sales, none of them paid with points.
        refund_id = self.uid("'refund' || s.id::text")
        self.execute(
            "INSERT INTO transaction_refunds (id, transaction_id, merchant_id, kind, amount, points_taken_back, "
            " points_given_back, points_shortfall, created_at) "
            f"SELECT {refund_id}, s.id, s.merchant_id, "
            "       CASE WHEN s.status = 'refunded' THEN 'refund' ELSE 'cancel' END, s.amount, s.points_reversed, "
            "       0, 0, s.closed_at "
            "  FROM seed_sales s WHERE s.status IN ('refunded', 'cancelled') AND s.completed_at IS NOT NULL"
        )
        self.execute(
            "INSERT INTO transaction_items (id, transaction_id, merchant_id, product_name, product_sku, quantity, "
            " unit_price, created_at) SELECT gen_random_uuid(), transaction_id, merchant_id, product, sku, quantity, "
            " price, "
            " coalesce(completed_at, now()) FROM seed_items"
        )
        self.execute(
            "INSERT INTO customer_loyalty_accounts (id, customer_id, merchant_id, loyalty_program_id, current_points, "
            " total_points_earned, total_points_redeemed, total_spent, total_transactions, last_visit_at, created_at, "
            " updated_at, shares_email, shares_phone) "  # the demo's members joined each shop with their contacts
            "SELECT a.id, a.customer_id, a.merchant_id, (m.program).id, coalesce(l.points, 0), coalesce(l.earned, 0), "
            "       coalesce(l.redeemed, 0), a.spent, a.sales, a.last_visit, a.first_visit, now(), true, true "
            "  FROM seed_accounts a JOIN seed_merchants m ON m.id = a.merchant_id "
            # the account's figures are its ledger's, counted as the ledger's trigger counts them
            "  LEFT JOIN (SELECT account_id, sum(change) AS points, sum(ledger_points_earned(kind, change)) AS earned, "
            "                    sum(ledger_points_redeemed(kind, change)) AS redeemed "
            "               FROM seed_ledger GROUP BY account_id) l ON l.account_id = a.id "
            " ORDER BY a.id"
        )
        self.ledger()
        self.visits_and_analytics()
        if not self.options["no_audit"]:
            self.audit()
        for statement in restore:
            self.execute(statement)

    def ledger_rows(self):
        """Each account's ledger in order, with its balance after each row."""
        self.execute(
            "CREATE TEMP TABLE seed_ledger ON COMMIT DROP AS "
            "SELECT l.*, sum(l.change) OVER so_far AS balance_after "
            "  FROM (SELECT s.account_id, s.merchant_id, s.id AS transaction_id, 'redeem' AS kind, "
            "               -s.points_redeemed AS change, s.completed_at AS at, 1 AS step, "
            "               'Paid ' || s.discount_amount || ' ' || m.currency || ' of a purchase of ' || s.amount "
            "                   || ' ' || m.currency AS description "
            "          FROM seed_sales s JOIN seed_merchants m ON m.id = s.merchant_id WHERE s.points_redeemed > 0 "
            "        UNION ALL "
            "        SELECT s.account_id, s.merchant_id, s.id, 'earn', s.points_earned, s.completed_at, 2, "
            "               'Earned on a purchase of ' || s.amount || ' ' || m.currency "
            "          FROM seed_sales s JOIN seed_merchants m ON m.id = s.merchant_id "
            "         WHERE s.completed_at IS NOT NULL AND s.points_earned > 0 "
            "        UNION ALL "
            "        SELECT s.account_id, s.merchant_id, s.id, 'reverse', -s.points_reversed, s.closed_at, 3, "
            "               'Taken back: purchase ' || s.status "
            "          FROM seed_sales s WHERE s.points_reversed > 0) l "
            "WINDOW so_far AS (PARTITION BY l.account_id ORDER BY l.at, l.step, l.transaction_id "
            "                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        )
        self.execute("ANALYZE seed_ledger")

    def ledger(self):
        """The ledger rows, and the lots their incoming points opened."""
        entry_id = self.uid("l.kind || l.transaction_id::text")
        self.execute(
            "INSERT INTO points_transactions (id, customer_loyalty_account_id, merchant_id, transaction_id, "
            " transaction_type, points_change, balance_after, multiplier, description, created_at) "
            f"SELECT {entry_id}, l.account_id, l.merchant_id, l.transaction_id, l.kind, l.change, l.balance_after, "
            "       CASE WHEN l.kind = 'earn' THEN 1 END, l.description, l.at "
            "  FROM seed_ledger l"
        )
        # The lots, by the rule the ledger's trigger keeps (the oldest points used first), each expiring by its
        # program's setting: a load of history gives no notice.
        self.execute("SELECT create_missing_points_lots(NULL)")

    def visits_and_analytics(self):
        """Visits per customer and local day (a refunded sale was a visit too), and the daily and hourly figures
        as rebuild_merchant_daily_analytics() computes them: sales on the day they completed, refunds and
        cancellations on theirs, points redeemed on the day of the sale."""
        self.execute(
            "CREATE TEMP TABLE seed_visits ON COMMIT DROP AS "
            "SELECT account_id, customer_id, merchant_id, local_date, count(*) AS sales, sum(amount) AS spent, "
            "       min(completed_at) AS first_at, max(completed_at) AS last_at, sum(points_earned) AS points, "
            "       sum(points_redeemed) AS redeemed "
            "  FROM seed_sales WHERE completed_at IS NOT NULL GROUP BY account_id, customer_id, merchant_id, local_date"
        )
        self.execute("ANALYZE seed_visits")
        self.execute(
            "INSERT INTO customer_visits (id, customer_id, merchant_id, visit_date, visit_count, total_spent, "
            " first_visit_at, last_visit_at, created_at, updated_at) "
            f"SELECT {self.uid('v.account_id::text || v.local_date')}, v.customer_id, v.merchant_id, v.local_date, "
            "       v.sales, v.spent, v.first_at, v.last_at, v.first_at, v.last_at "
            "  FROM seed_visits v"
        )
        day_id = self.uid("'day' || d.merchant_id::text || d.date")
        self.execute(
            "INSERT INTO merchant_daily_analytics (id, merchant_id, date, total_sales, total_transactions, "
            " unique_customers, new_customers, points_issued, points_redeemed, points_reversed, total_refunds, "
            " refund_count) "
            f"SELECT {day_id}, d.merchant_id, d.date, sum(d.total_sales), "
            "       sum(d.total_transactions), sum(d.unique_customers), sum(d.new_customers), sum(d.points_issued), "
            "       sum(d.points_redeemed), sum(d.points_reversed), sum(d.total_refunds), sum(d.refund_count) "
            "  FROM (SELECT merchant_id, local_date AS date, spent AS total_sales, sales AS total_transactions, "
            "               1 AS unique_customers, 0 AS new_customers, points AS points_issued, "
            "               redeemed AS points_redeemed, 0 AS points_reversed, 0 AS total_refunds, 0 AS refund_count "
            "          FROM seed_visits "
            "        UNION ALL "
            "        SELECT a.merchant_id, (a.first_visit AT TIME ZONE m.timezone)::date, 0, 0, 0, 1, 0, 0, 0, 0, 0 "
            "          FROM seed_accounts a JOIN seed_merchants m ON m.id = a.merchant_id "
            "        UNION ALL "
            "        SELECT s.merchant_id, (s.closed_at AT TIME ZONE m.timezone)::date, 0, 0, 0, 0, 0, 0, "
            "               s.points_reversed, s.amount, 1 "
            "          FROM seed_sales s JOIN seed_merchants m ON m.id = s.merchant_id "
            "         WHERE s.status IN ('refunded', 'cancelled') AND s.completed_at IS NOT NULL) d "
            " GROUP BY d.merchant_id, d.date"
        )
        self.execute(
            "INSERT INTO merchant_hourly_analytics (merchant_id, date, hour, total_transactions) "
            "SELECT merchant_id, local_date, hour, count(*) FROM seed_sales WHERE completed_at IS NOT NULL "
            " GROUP BY merchant_id, local_date, hour"
        )

    def audit(self):
        """The audit rows the audit trigger would have written for the loaded rows."""
        merchant_key, program_key = self.uid("'audit' || m.id::text"), self.uid("'audit' || p.id::text")
        customer_key, account_key = self.uid("'audit' || c.id::text"), self.uid("'audit' || a.id::text")
        sale_key, refund_key = self.uid("'audit' || t.id::text"), self.uid("'audit-update' || t.id::text")
        as_completed = (
            "to_jsonb(t) || jsonb_build_object('status', 'completed', 'refunded_at', NULL, "
            "'cancelled_at', NULL, 'points_reversed', 0, 'updated_at', t.created_at)"
        )
        # The history's months get their partitions (audit_logs is partitioned by month), not the default one.
        self.execute(
            "SELECT create_log_partitions('audit_logs', (least((SELECT min(created_at) FROM merchants), "
            "(SELECT min(created_at) FROM customers), (SELECT min(created_at) FROM transactions)) "
            "AT TIME ZONE 'UTC')::date, %s)",
            [settings.PARTITIONS_AHEAD_MONTHS],
        )
        self.execute(
            "INSERT INTO audit_logs (id, table_name, record_id, action, new_values, created_at) "
            f"SELECT {merchant_key}, 'merchants', m.id, 'INSERT', to_jsonb(m), m.created_at "
            "  FROM merchants m JOIN seed_merchants s ON s.id = m.id "
            "UNION ALL "
            f"SELECT {program_key}, 'loyalty_programs', p.id, 'INSERT', to_jsonb(p), p.created_at "
            "  FROM loyalty_programs p JOIN seed_merchants s ON s.id = p.merchant_id "
            "UNION ALL "
            f"SELECT {customer_key}, 'customers', c.id, 'INSERT', to_jsonb(c) || jsonb_build_object("
            "       'total_spent', 0, 'total_transactions', 0, 'last_visit_at', NULL), c.created_at "
            "  FROM customers c JOIN seed_customers s ON s.id = c.id "
            "UNION ALL "
            # an account opens with its customer's first sale there
            f"SELECT {account_key}, 'customer_loyalty_accounts', a.id, 'INSERT', to_jsonb(a) || jsonb_build_object("
            "       'current_points', 0, 'total_points_earned', 0, 'total_points_redeemed', 0, "
            "       'total_spent', f.first_amount, 'total_transactions', 1, 'last_visit_at', a.created_at), "
            "       a.created_at "
            "  FROM customer_loyalty_accounts a "
            "  JOIN (SELECT DISTINCT ON (account_id) account_id AS id, amount AS first_amount FROM seed_sales "
            "         WHERE completed_at IS NOT NULL ORDER BY account_id, completed_at) f ON f.id = a.id "
            "UNION ALL "
            # a sale as it was recorded; its refund or cancellation is a change of status below
            f"SELECT {sale_key}, 'transactions', t.id, 'INSERT', "
            f"       CASE WHEN t.status IN ('refunded', 'cancelled') THEN {as_completed} ELSE to_jsonb(t) END, "
            "       t.created_at "
            "  FROM transactions t JOIN seed_sales s ON s.id = t.id"
        )
        self.execute(
            "INSERT INTO audit_logs (id, table_name, record_id, action, old_values, new_values, changed_fields, "
            " created_at) "
            f"SELECT {refund_key}, 'transactions', t.id, 'UPDATE', {as_completed}, to_jsonb(t), "
            "       jsonb_build_array(CASE t.status WHEN 'refunded' THEN 'points_reversed' ELSE 'cancelled_at' END, "
            "                         CASE t.status WHEN 'refunded' THEN 'refunded_at' ELSE 'points_reversed' END, "
            "                         'status'), "
            "       coalesce(t.refunded_at, t.cancelled_at) "
            "  FROM transactions t JOIN seed_sales s ON s.id = t.id WHERE t.status IN ('refunded', 'cancelled')"
        )

    def drop_indexes_and_keys(self, tables) -> list[str]:
        """Drop the indexes, keys and foreign keys of `tables`; return the statements that restore them.

        Building an index once is several times faster than growing it row by row, and adding
        the foreign keys back checks every loaded row against its parent.
        """
        with connection.cursor() as cursor:
            cursor.execute(
                # a partition's copies of its parent's keys (conparentid) go and come back with the parent's
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                " WHERE contype = 'f' AND conparentid = 0 "
                "   AND (conrelid::regclass::text = ANY(%s) OR confrelid::regclass::text = ANY(%s))",
                [list(tables), list(tables)],
            )
            foreign_keys = cursor.fetchall()
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                " WHERE contype IN ('p', 'u') AND conparentid = 0 AND conrelid::regclass::text = ANY(%s)",
                [list(tables)],
            )
            keys = cursor.fetchall()
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                " WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s) "
                "   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                [list(tables)],
            )
            indexes = cursor.fetchall()
        for table, name, _ in foreign_keys + keys:
            self.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            self.execute(f'DROP INDEX "{name}"')
        return (
            [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, definition in keys]
            + [definition for _, definition in indexes]
            + [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, definition in foreign_keys]
        )

    def use_large_temp_buffers(self):
        """The work tables are temporary; read them from memory (possible before a session's first one)."""
        try:
            with transaction.atomic():
                self.execute("SET LOCAL temp_buffers = '1GB'")
        except DatabaseError:
            pass  # this session has used temporary tables already: the default is slower, not wrong

    def switch_triggers(self, *, on: bool):
        """The loading transaction switches the row triggers off; what they do is done here in bulk.

        Where this role may set it (a superuser, or the embedded server's owner role, granted it), by
        replication mode, which skips the foreign key checks too (the keys come from the tables
        themselves); otherwise table by table.
        """
        if not on and self.replication_mode_allowed():
            self.replica = True
            self.execute("SET LOCAL session_replication_role = replica")
            return
        if self.replica:
            self.execute("SET LOCAL session_replication_role = origin")
            return
        if on:
            self.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the deferred foreign key checks now
        for table in BULK_TABLES:
            self.execute(f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} TRIGGER USER")

    def replication_mode_allowed(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT has_parameter_privilege('session_replication_role', 'SET')")
            return bool(cursor.fetchone()[0])

    def finish(self):
        self.switch_triggers(on=True)
        for table in LOADED_TABLES:
            self.execute(f"ANALYZE {table}")  # plans for the new sizes, before autovacuum gets to it

    def check(self):
        """What was loaded against what the triggers would have written. (The daily and hourly figures are
        computed as rebuild_merchant_daily_analytics() computes them; the tests compare them with a rebuild,
        which takes longer than the load.)"""
        errors = derived_state_errors(limit=5, analytics=False)
        if errors:
            raise CommandError("The loaded data is inconsistent:\n" + "\n".join(errors))

    def tiers(self):
        """The first demo merchant's program has tiers, for sales from now on (past sales earned without)."""
        program = LoyaltyProgram.objects.filter(merchant__business_email=DEMO_MERCHANTS[0][2], is_active=True).first()
        if program:
            LoyaltyTier.objects.bulk_create(
                [
                    # loyalty_tiers_set_merchant gives each its program's merchant
                    LoyaltyTier(program=program, name="Silver", min_points=300, multiplier=Decimal("1.25")),
                    LoyaltyTier(program=program, name="Gold", min_points=1000, multiplier=Decimal("1.5")),
                ]
            )

    def logins(self):
        if self.options["no_logins"]:
            return
        first = Merchant.objects.get(business_email=DEMO_MERCHANTS[0][2]) if self.options["merchants"] else None
        owner = User.objects.create_user("owner@demo.test", DEMO_PASSWORD, first_name="Olive", last_name="Owner")
        cashier = User.objects.create_user("cashier@demo.test", DEMO_PASSWORD, first_name="Cass", last_name="Cashier")
        User.objects.create_superuser("admin@demo.test", DEMO_PASSWORD, first_name="Ada", last_name="Admin")
        MerchantStaff.objects.create(merchant=first, user=owner, role=MerchantStaff.Role.OWNER)
        MerchantStaff.objects.create(merchant=first, user=cashier, role=MerchantStaff.Role.CASHIER)
