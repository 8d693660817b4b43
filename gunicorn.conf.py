"""gunicorn settings for `make serve` and `make bench` (gunicorn reads ./gunicorn.conf.py by itself).

Sync workers: a request is CPU-bound Python plus a few short queries on a nearby database, so
one process per request in flight is the simplest fast set-up. WEB_WORKERS defaults to one
per core plus one: PostgreSQL runs on the same cores, and on 2 cores 3 workers served the
counter 17% faster than 5 and 5% faster than 2 (docs/benchmarks.md).
"""

import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = "sync"
wsgi_app = "loyalty_site.wsgi:application"
accesslog = os.environ.get("WEB_ACCESS_LOG") or None  # e.g. "-" for stdout; off by default
errorlog = "-"
graceful_timeout = 10
control_socket_disable = True  # one shared ~/.gunicorn/gunicorn.ctl would clash between servers; unused

# /metrics adds up every worker's request figures: prometheus_client keeps them in files in this
# directory (one per worker), made empty at each start.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="loyalty-metrics-")


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
