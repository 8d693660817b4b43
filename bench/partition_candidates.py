"""Would time partitioning help points_transactions, customer_visits and the analytics tables?

Measures, on a loaded database (a `make bench` data set: about 2 million sales), each table's
queries on two copies built the same way in a scratch schema `pm`: a plain copy and a copy
range-partitioned by month on its date column (primary and unique keys extended by that column,
as PostgreSQL requires). Neither copy has triggers or foreign keys, so only the layout differs.

- queries: the product's reads of each table, EXPLAIN (ANALYZE, BUFFERS) repeated, plain and
  partitioned interleaved; median planning and execution time, buffers, partitions scanned;
- inserts: the counter path's writes of each table (pgbench, bounded, interleaved);
- maintenance: dropping the oldest month (DETACH + DROP) against DELETE, and VACUUM after a day
  of upserts (the whole plain table against the current month's partition).

    LOYALTY_DATA_DIR=<a copy of .data/bench> LOYALTY_WAL_ARCHIVE=0 nice python -m bench.partition_candidates \
        [--repeat 9] [--rounds 3] [--seconds 5] [--only queries,maintenance,inserts] [--past-months 33] [--keep]

--past-months adds empty monthly partitions before the data (an older database). Prints each
figure and writes bench/partition_results.json (--out). Drops the `pm` schema at the end unless
--keep (which also reuses copies a run kept). Reads the app's tables, never writes them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent

# table: partition column
TABLES = {
    "points_transactions": "created_at",
    "customer_visits": "visit_date",
    "merchant_daily_analytics": "date",
    "merchant_hourly_analytics": "date",
    "merchant_daily_analytics_deltas": "date",
}
AHEAD_MONTHS = 3  # partitions made ahead of today, as a periodic job would

# (table, name, SQL with {t} for the copy). Parameters: %(name)s from `parameters()`.
QUERIES = [
    # points_transactions
    (
        "points_transactions",
        "member ledger / API ledger page (account, newest 50)",
        "SELECT * FROM {t} WHERE customer_loyalty_account_id = %(account)s ORDER BY created_at DESC, id DESC LIMIT 50",
    ),
    (
        "points_transactions",
        "a sale's ledger rows (transaction_points, refunds)",
        "SELECT * FROM {t} WHERE transaction_id = %(sale)s",
    ),
    (
        "points_transactions",
        "one row by id (points_lots.entry_id join in apply_points_change)",
        "SELECT * FROM {t} WHERE id = %(entry)s",
    ),
    (
        "points_transactions",
        "loyalty_points_last_year (tier: account, 12 months)",
        "SELECT coalesce(sum(points_change), 0) FROM {t} WHERE customer_loyalty_account_id = %(account)s "
        "AND created_at > now() - interval '12 months' AND transaction_type IN ('earn', 'reverse')",
    ),
    (
        "points_transactions",
        "rebuild's redemptions (6 days, all merchants)",
        "SELECT count(*), sum(points_change) FROM {t} WHERE transaction_type IN ('redeem', 'reverse') "
        "AND created_at >= %(today)s::date - 3 AND created_at < %(today)s::date + 3",
    ),
    (
        "points_transactions",
        "check_ledger: balance per account (whole table)",
        "SELECT customer_loyalty_account_id, sum(points_change) FROM {t} GROUP BY 1",
    ),
    # customer_visits
    (
        "customer_visits",
        "sale trigger: first visit day (customer, merchant, other days)",
        "SELECT min(visit_date) FROM {t} WHERE customer_id = %(customer)s AND merchant_id = %(busy)s "
        "AND visit_date <> %(today)s",
    ),
    (
        "customer_visits",
        "period customers, busy merchant, 30 days",
        "SELECT count(DISTINCT customer_id) FROM {t} WHERE merchant_id = %(busy)s "
        "AND visit_date BETWEEN %(month_ago)s AND %(today)s",
    ),
    (
        "customer_visits",
        "period customers, quiet merchant, 30 days",
        "SELECT count(DISTINCT customer_id) FROM {t} WHERE merchant_id = %(quiet)s "
        "AND visit_date BETWEEN %(month_ago)s AND %(today)s",
    ),
    (
        "customer_visits",
        "member_months (customer at merchant, 12 months)",
        "SELECT date_trunc('month', visit_date), sum(visit_count), sum(total_spent), count(id) FROM {t} "
        "WHERE customer_id = %(customer)s AND merchant_id = %(busy)s AND visit_date >= %(year_ago)s "
        "GROUP BY 1 ORDER BY 1",
    ),
    (
        "customer_visits",
        "customer data export (all visits of a customer)",
        "SELECT * FROM {t} WHERE customer_id = %(customer)s ORDER BY visit_date DESC, id DESC LIMIT 1001",
    ),
    # merchant_daily_analytics
    (
        "merchant_daily_analytics",
        "daily_rows, busy merchant, 30 days (dashboard, API)",
        "SELECT * FROM {t} WHERE merchant_id = %(busy)s AND date BETWEEN %(month_ago)s AND %(today)s ORDER BY date",
    ),
    (
        "merchant_daily_analytics",
        "merchant_dashboard lifetime sums (no date)",
        "SELECT sum(total_sales), sum(total_transactions), min(date), max(date) FROM {t} WHERE merchant_id = %(busy)s",
    ),
    (
        "merchant_daily_analytics",
        "check_ledger / rebuild compare (whole table)",
        "SELECT count(*), sum(total_sales) FROM {t}",
    ),
    # merchant_hourly_analytics
    (
        "merchant_hourly_analytics",
        "visits_by_weekday_and_hour, busy merchant, 30 days",
        "SELECT extract(isodow FROM date), hour, sum(total_transactions) FROM {t} WHERE merchant_id = %(busy)s "
        "AND date BETWEEN %(month_ago)s AND %(today)s GROUP BY 1, 2",
    ),
    (
        "merchant_hourly_analytics",
        "visits_by_weekday_and_hour, quiet merchant, 30 days",
        "SELECT extract(isodow FROM date), hour, sum(total_transactions) FROM {t} WHERE merchant_id = %(quiet)s "
        "AND date BETWEEN %(month_ago)s AND %(today)s GROUP BY 1, 2",
    ),
    # merchant_daily_analytics_deltas
    (
        "merchant_daily_analytics_deltas",
        "dashboard's pending deltas of a merchant",
        "SELECT sum(total_sales) FROM {t} WHERE merchant_id = %(busy)s",
    ),
]

# pgbench scripts of the counter path's writes: table -> script with {t}
INSERTS = {
    "points_transactions": """
\\set i random(1, :n_accounts)
INSERT INTO {t} (customer_loyalty_account_id, transaction_id, transaction_type, points_change, multiplier, description)
SELECT id, gen_random_uuid(), 'earn', 12, 1.00, 'Earned on a purchase of 12.00 EUR' FROM pm.accounts WHERE i = :i;
""",
    "customer_visits": """
\\set i random(1, :n_pairs)
\\set d random(0, 400)
WITH p AS (SELECT customer_id, merchant_id FROM pm.pairs WHERE i = :i), v AS (
  INSERT INTO {t} AS v (customer_id, merchant_id, visit_date, visit_count, total_spent, first_visit_at, last_visit_at)
  SELECT customer_id, merchant_id, current_date - (:d / 100), 1, 12.00, now(), now() FROM p
  ON CONFLICT (customer_id, merchant_id, visit_date) DO UPDATE
     SET visit_count = v.visit_count + 1, total_spent = v.total_spent + EXCLUDED.total_spent,
         first_visit_at = least(v.first_visit_at, EXCLUDED.first_visit_at),
         last_visit_at = greatest(v.last_visit_at, EXCLUDED.last_visit_at)
  RETURNING visit_count)
SELECT (SELECT min(visit_date) FROM {t} x, p WHERE x.customer_id = p.customer_id AND x.merchant_id = p.merchant_id
         AND x.visit_date <> current_date - (:d / 100)), (SELECT visit_count FROM v);
""",
    "merchant_daily_analytics": """
\\set i random(1, :n_merchants)
INSERT INTO {t} AS d (merchant_id, date, total_sales, total_transactions, unique_customers, points_issued)
SELECT id, current_date, 12.00, 1, 1, 12 FROM pm.merchants WHERE i = :i
ON CONFLICT (merchant_id, date) DO UPDATE
   SET total_sales = d.total_sales + EXCLUDED.total_sales, total_transactions = d.total_transactions + 1,
       unique_customers = d.unique_customers + EXCLUDED.unique_customers, points_issued = d.points_issued + 12;
""",
    "merchant_hourly_analytics": """
\\set i random(1, :n_merchants)
INSERT INTO {t} AS h (merchant_id, date, hour, total_transactions)
SELECT id, current_date, extract(hour FROM now())::smallint, 1 FROM pm.merchants WHERE i = :i
ON CONFLICT (merchant_id, date, hour) DO UPDATE SET total_transactions = h.total_transactions + 1;
""",
    "merchant_daily_analytics_deltas": """
\\set i random(1, :n_merchants)
INSERT INTO {t} (merchant_id, date, hour, total_sales, total_transactions, unique_customers, points_issued)
SELECT id, current_date, 12, 12.00, 1, 1, 12 FROM pm.merchants WHERE i = :i;
DELETE FROM {t} WHERE merchant_id = (SELECT id FROM pm.merchants WHERE i = :i);
""",
}


def connect(args) -> psycopg.Connection:
    from loyalty_site import embedded_db

    server = embedded_db.ensure_server()
    args.login = server.login(embedded_db.SUPERUSER)
    args.bin = embedded_db.bin_dir()
    return psycopg.connect(  # literals in the SQL, as Django sends them
        dbname=embedded_db.DATABASE_NAME, autocommit=True, cursor_factory=psycopg.ClientCursor, **args.login
    )


def one(conn, query, params=None):
    return conn.execute(query, params).fetchone()


def months(first: date, last: date):
    month = first.replace(day=1)
    while month <= last:
        following = (month + timedelta(days=32)).replace(day=1)
        yield month, following
        month = following


def build(conn, table: str, column: str, past_months: int) -> dict:
    """pm.plain_<table> and pm.part_<table>: the same rows and indexes, the second partitioned by month."""
    plain, part = f"pm.plain_{table}", f"pm.part_{table}"
    like = "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY"
    conn.execute(f"CREATE TABLE {plain} (LIKE public.{table} {like})")
    conn.execute(f"CREATE TABLE {part} (LIKE public.{table} {like}) PARTITION BY RANGE ({column})")
    lo, hi = one(conn, f"SELECT min({column})::date, max({column})::date FROM public.{table}")
    lo, hi = lo or date.today(), hi or date.today()
    ahead = (hi.replace(day=1) + timedelta(days=31 * AHEAD_MONTHS + 1)).replace(day=1)
    columns = ", ".join(
        name
        for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
            "AND is_generated = 'NEVER' ORDER BY ordinal_position",
            [table],
        )
    )
    count = 0
    past = lo.replace(day=1)
    for _ in range(past_months):
        past = (past - timedelta(days=1)).replace(day=1)
    for start, end in months(past, ahead):
        conn.execute(f"CREATE TABLE {part}_{start:%Y_%m} PARTITION OF {part} FOR VALUES FROM ('{start}') TO ('{end}')")
        count += 1
    for target in (plain, part):
        started = time.monotonic()
        conn.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM public.{table}")
        load = time.monotonic() - started
        started = time.monotonic()
        for (definition,) in conn.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %s::regclass ORDER BY indexrelid",
            [f"public.{table}"],
        ).fetchall():
            definition = re.sub(r"INDEX \S+ ON public\.\S+", f"INDEX ON {target}", definition)
            if target == part and " UNIQUE " in definition and column not in definition:
                definition = re.sub(r"\(([^()]*)\)", rf"(\1, {column})", definition, count=1)
            conn.execute(definition)
        for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
            "AND is_identity = 'YES'",
            [table],
        ).fetchall():
            after = one(conn, f"SELECT coalesce(max({name}), 0) + 1 FROM {target}")[0]
            conn.execute(f"ALTER TABLE {target} ALTER COLUMN {name} RESTART WITH {after}")
        conn.execute(f"ANALYZE {target}")
        index_seconds = time.monotonic() - started
        print(f"  {target}: loaded {load:.1f}s, indexes {index_seconds:.1f}s", flush=True)
    return {"partitions": count, "first": str(lo), "last": str(hi), "past_months": past_months}


def parameters(conn) -> dict:
    busy = one(conn, "SELECT merchant_id FROM public.customer_visits GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0]
    quiet = one(conn, "SELECT id FROM public.merchants WHERE business_email = 'hello@beanthere.demo'")
    quiet = quiet[0] if quiet else one(conn, "SELECT id FROM public.merchants ORDER BY id LIMIT 1")[0]
    today = one(conn, "SELECT max(visit_date) FROM public.customer_visits")[0]
    # an account of the busy merchant with a typical (median-ish) history, and its customer
    account, customer = one(
        conn,
        "SELECT a.id, a.customer_id FROM public.customer_loyalty_accounts a WHERE a.merchant_id = %s "
        "ORDER BY a.total_transactions DESC OFFSET (SELECT count(*) / 2 FROM public.customer_loyalty_accounts "
        "WHERE merchant_id = %s) LIMIT 1",
        [busy, busy],
    )
    sale, entry = one(
        conn,
        "SELECT transaction_id, id FROM public.points_transactions WHERE customer_loyalty_account_id = %s "
        "AND transaction_type = 'earn' ORDER BY created_at LIMIT 1",
        [account],
    )
    return {
        "busy": busy,
        "quiet": quiet,
        "account": account,
        "customer": customer,
        "sale": sale,
        "entry": entry,
        "today": today,
        "month_ago": today - timedelta(days=29),
        "year_ago": today - timedelta(days=365),
    }


def explain(conn, query: str, params: dict) -> dict:
    [[plan]] = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query, params).fetchone()
    scans = []

    def walk(node):
        if "Relation Name" in node:
            scans.append(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    top = plan["Plan"]
    return {
        "plan_ms": plan["Planning Time"],
        "exec_ms": plan["Execution Time"],
        "buffers": top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0),
        "relations": len(set(scans)),
    }


def measure_queries(conn, params: dict, repeat: int) -> list[dict]:
    results = []
    for table, name, template in QUERIES:
        runs = {"plain": [], "part": []}
        for _ in range(repeat):
            for kind in ("plain", "part"):
                runs[kind].append(explain(conn, template.format(t=f"pm.{kind}_{table}"), params))
        row = {"table": table, "query": name}
        for kind, samples in runs.items():
            samples = samples[1:] if len(samples) > 2 else samples  # the first run warms the cache
            row[kind] = {
                "plan_ms": round(statistics.median(s["plan_ms"] for s in samples), 3),
                "exec_ms": round(statistics.median(s["exec_ms"] for s in samples), 3),
                "buffers": samples[-1]["buffers"],
                "relations": samples[-1]["relations"],
            }
        total = {k: row[k]["plan_ms"] + row[k]["exec_ms"] for k in runs}
        row["ratio"] = round(total["part"] / total["plain"], 2) if total["plain"] else None
        print(
            f"  {table:32} {name[:58]:58} plain {total['plain']:9.3f} ms  part {total['part']:9.3f} ms"
            f"  x{row['ratio']}  (scans {row['part']['relations']})",
            flush=True,
        )
        results.append(row)
    return results


def measure_alternative(conn, params: dict, repeat: int) -> dict:
    """The one read partitioning speeds up (the rebuild's redemptions by time), on the plain copy with a
    partial index on created_at instead."""
    _, name, template = next(q for q in QUERIES if q[1].startswith("rebuild's redemptions"))
    conn.execute(
        "CREATE INDEX pm_redemptions_idx ON pm.plain_points_transactions (created_at) "
        "WHERE transaction_type IN ('redeem', 'reverse')"
    )
    try:
        samples = [explain(conn, template.format(t="pm.plain_points_transactions"), params) for _ in range(repeat)]
    finally:
        conn.execute("DROP INDEX pm.pm_redemptions_idx")
    samples = samples[1:]
    row = {
        "query": f"{name}, plain with a partial index on created_at",
        "plan_ms": round(statistics.median(s["plan_ms"] for s in samples), 3),
        "exec_ms": round(statistics.median(s["exec_ms"] for s in samples), 3),
    }
    print(f"  {row['query']}: {row['plan_ms'] + row['exec_ms']:.3f} ms", flush=True)
    return row


def pgbench(args, script: str, variables: dict) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    try:
        command = [str(args.bin / "pgbench"), "-n", "-M", "prepared", "-c", str(args.clients), "-j", "2"]
        command += ["-T", str(args.seconds), "-f", f.name, *[f"-D{k}={v}" for k, v in variables.items()]]
        command += ["-h", args.login["host"], "-p", str(args.login["port"]), "-U", args.login["user"], "loyalty"]
        done = subprocess.run(
            command,
            # without a flush per commit: the write's own cost, not the disk's
            env={**os.environ, "PGPASSWORD": args.login["password"], "PGOPTIONS": "-c synchronous_commit=off"},
            capture_output=True,
            text=True,
            timeout=args.seconds + 60,
        )
        if done.returncode:
            raise RuntimeError(f"pgbench failed:\n{script}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        out = done.stdout
    finally:
        os.unlink(f.name)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if failed and int(failed.group(1)):
        raise RuntimeError(f"pgbench: failed transactions\n{out}")
    return float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))


def measure_inserts(conn, args) -> list[dict]:
    conn.execute("DROP TABLE IF EXISTS pm.accounts, pm.pairs, pm.merchants")
    conn.execute(
        "CREATE TABLE pm.accounts AS SELECT row_number() OVER (ORDER BY id) AS i, id "
        "FROM public.customer_loyalty_accounts"
    )
    conn.execute(
        "CREATE TABLE pm.pairs AS SELECT row_number() OVER (ORDER BY customer_id, merchant_id) AS i, "
        "customer_id, merchant_id FROM public.customer_loyalty_accounts"
    )
    conn.execute("CREATE TABLE pm.merchants AS SELECT row_number() OVER (ORDER BY id) AS i, id FROM public.merchants")
    for name in ("accounts", "pairs", "merchants"):
        conn.execute(f"CREATE UNIQUE INDEX ON pm.{name} (i)")
        conn.execute(f"ANALYZE pm.{name}")
    variables = {
        "n_accounts": one(conn, "SELECT count(*) FROM pm.accounts")[0],
        "n_pairs": one(conn, "SELECT count(*) FROM pm.pairs")[0],
        "n_merchants": one(conn, "SELECT count(*) FROM pm.merchants")[0],
    }
    scripts = dict(INSERTS)
    # one sale's writes to all five, in one transaction, as the sale's triggers make them
    scripts["all five (one sale)"] = (
        "BEGIN;\n"
        + "".join(script.replace("{t}", f"pm.{{kind}}_{table}") for table, script in INSERTS.items())
        + "COMMIT;\n"
    )
    results = []
    for table, script in scripts.items():
        tps = {"plain": [], "part": []}
        for _ in range(args.rounds):
            for kind in ("plain", "part"):
                copy = script.replace("{kind}", kind).replace("{t}", f"pm.{kind}_{table}")
                tps[kind].append(pgbench(args, copy, variables))
        row = {
            "table": table,
            "plain_tps": round(statistics.median(tps["plain"])),
            "part_tps": round(statistics.median(tps["part"])),
            "rounds": tps,
        }
        row["cost_ratio"] = round(row["plain_tps"] / row["part_tps"], 2)  # time per write, partitioned / plain
        print(
            f"  {table:32} plain {row['plain_tps']:6} tps  part {row['part_tps']:6} tps  cost x{row['cost_ratio']}",
            flush=True,
        )
        results.append(row)
    return results


def timed(conn, statement: str) -> float:
    started = time.monotonic()
    conn.execute(statement)
    return round((time.monotonic() - started) * 1000, 1)


def measure_maintenance(conn, built: dict) -> list[dict]:
    """The oldest month away: DELETE from the plain copy against DETACH + DROP of its partition (each
    rolled back); then VACUUM after a day of upserts (the last day's rows updated in both copies)."""
    results = []
    for table, column in TABLES.items():
        if table == "merchant_daily_analytics_deltas":
            continue  # a queue of seconds-old rows: nothing to drop by month
        first = date.fromisoformat(built[table]["first"])
        oldest = first.replace(day=1)
        following = (oldest + timedelta(days=32)).replace(day=1)
        row = {"table": table, "month": f"{oldest:%Y-%m}"}
        row["month_rows"] = one(conn, f"SELECT count(*) FROM pm.plain_{table} WHERE {column} < %s", [following])[0]
        conn.execute("BEGIN")
        row["delete_ms"] = timed(conn, f"DELETE FROM pm.plain_{table} WHERE {column} < '{following}'")
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        partition = f"pm.part_{table}_{oldest:%Y_%m}"
        row["detach_drop_ms"] = timed(conn, f"ALTER TABLE pm.part_{table} DETACH PARTITION {partition}")
        row["detach_drop_ms"] += timed(conn, f"DROP TABLE {partition}")
        conn.execute("ROLLBACK")
        # a day of upserts: the newest day's rows updated once (points_transactions is append-only: its rows
        # are never updated, so its vacuum only freezes; it is measured the same way for comparison)
        last = date.fromisoformat(built[table]["last"])
        day = f"{column} >= '{last}'" if column == "created_at" else f"{column} = '{last}'"
        touch = {"points_transactions": "description = description"}.get(table, "created_at = created_at")
        if table == "merchant_hourly_analytics":
            touch = "total_transactions = total_transactions"
        for kind in ("plain", "part"):
            conn.execute(f"VACUUM (FREEZE) pm.{kind}_{table}")
        row["day_rows"] = conn.execute(f"UPDATE pm.plain_{table} SET {touch} WHERE {day}").rowcount
        conn.execute(f"UPDATE pm.part_{table} SET {touch} WHERE {day}")
        row["vacuum_plain_ms"] = timed(conn, f"VACUUM pm.plain_{table}")
        row["vacuum_partition_ms"] = timed(conn, f"VACUUM pm.part_{table}_{last:%Y_%m}")
        row["plain_mb"] = one(conn, f"SELECT pg_total_relation_size('pm.plain_{table}') / 1048576")[0]
        print(
            f"  {table:32} month {row['month']} ({row['month_rows']} rows): DELETE {row['delete_ms']} ms, "
            f"DETACH+DROP {row['detach_drop_ms']} ms; VACUUM after {row['day_rows']} updates: "
            f"plain {row['vacuum_plain_ms']} ms, partition {row['vacuum_partition_ms']} ms",
            flush=True,
        )
        results.append(row)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="EXPLAIN ANALYZE runs per query and copy")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved pgbench rounds per table and copy")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per pgbench run")
    parser.add_argument("--clients", type=int, default=2, help="pgbench clients")
    parser.add_argument("--only", default="queries,inserts,maintenance")
    parser.add_argument(
        "--past-months", type=int, default=0, help="empty monthly partitions before the data (an older database)"
    )
    parser.add_argument("--out", default=str(HERE / "partition_results.json"))
    parser.add_argument("--keep", action="store_true", help="keep the pm schema (and reuse it when present)")
    args = parser.parse_args()
    steps = args.only.split(",")
    conn = connect(args)
    conn.execute("SET maintenance_work_mem = '256MB'")
    out = {"sizes": {}, "built": {}}
    for table in TABLES:
        out["sizes"][table] = one(
            conn,
            "SELECT (SELECT count(*) FROM public." + table + "), pg_total_relation_size(%s) / 1048576",
            [f"public.{table}"],
        )
    print("sizes (rows, MB):", out["sizes"], flush=True)
    if not args.keep:
        conn.execute("DROP SCHEMA IF EXISTS pm CASCADE")
    conn.execute("CREATE SCHEMA IF NOT EXISTS pm")
    for table, column in TABLES.items():
        done = one(conn, "SELECT obj_description(to_regclass(%s), 'pg_class')", [f"pm.part_{table}"])[0]
        if done and json.loads(done)["past_months"] == args.past_months:  # kept from an earlier run (--keep)
            out["built"][table] = json.loads(done)
            continue
        conn.execute(f"DROP TABLE IF EXISTS pm.plain_{table}, pm.part_{table}")
        print(f"building copies of {table}", flush=True)
        out["built"][table] = build(conn, table, column, args.past_months)
        conn.execute(f"COMMENT ON TABLE pm.part_{table} IS %s", [json.dumps(out["built"][table])])
    params = parameters(conn)
    try:
        if "queries" in steps:
            print("queries (median of plan + execution):", flush=True)
            out["queries"] = measure_queries(conn, params, args.repeat)
            out["alternative"] = measure_alternative(conn, params, args.repeat)
        if "maintenance" in steps:
            print("maintenance:", flush=True)
            out["maintenance"] = measure_maintenance(conn, out["built"])
        if "inserts" in steps:
            print(f"inserts (pgbench, {args.clients} clients, {args.rounds} x {args.seconds}s each, interleaved):")
            out["inserts"] = measure_inserts(conn, args)
    finally:
        if not args.keep:
            conn.execute("DROP SCHEMA pm CASCADE")
    out["parameters"] = {k: str(v) for k, v in params.items()}
    Path(args.out).write_text(json.dumps(out, indent=1, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
