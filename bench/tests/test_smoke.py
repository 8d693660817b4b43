"""A smoke run of `make bench` with tiny sizes: the harness starts, measures, checks and stops everything."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_a_tiny_bench_run_measures_every_row_and_keeps_every_invariant(tmp_path):
    assert shutil.which("wrk"), "the bench needs wrk: `make test` installs it (Debian package wrk)"
    results_path = tmp_path / "results.json"

    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--results", str(results_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(results_path.read_text())
    assert results["counter"]["ratio"] > 0
    assert results["busy_merchant"]["ratio"] > 0
    assert results["connection_reuse"]["ratio"] > 0
    assert set(results["pages"]) == {"dashboard", "transactions table", "customer summary"}
    assert results["races"]["duplicates"] == 0
    assert results["invariants"]["check_ledger"] == "passed"
    assert results["invariants"]["derived_state"] == []
    assert results["data_generation"]["rewrite_ratio"] > 0
    assert results["data_generation"]["ratio"] > 0  # seed_demo against its floor
    assert results["replica"]["ratio"] > 0 and results["replica"]["replica_transactions"] > 0
    audit = results["audit_partitions"]
    assert audit["insert_ratio"] > 0 and audit["list_ratio"] > 0
    assert audit["sale_partitioned"]["count"] > 0 and audit["list_plain"]["count"] > 0
    assert "1. counter" in done.stdout and "8b. a month's admin list" in done.stdout
    assert not list(ROOT.glob(".data/bench-smoke/pg/postmaster.pid")), "the bench's PostgreSQL was left running"
    assert not ROOT.joinpath(".data/bench-smoke/pg-replica").exists(), "row 7's replica was left behind"
