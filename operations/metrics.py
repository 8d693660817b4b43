"""/metrics in Prometheus' text format: django-prometheus' request figures (its middlewares in
MIDDLEWARE) and the database's, read at scrape time (DatabaseCollector).

Closed to the public: a request passes with `Authorization: Bearer <METRICS_TOKEN>` (when the
setting is not empty), or from an address in METRICS_ALLOWED_NETWORKS (loopback by default) when
it came directly, not through a proxy (no X-Forwarded-For, Forwarded or X-Real-IP header: behind a
proxy every request seems to come from the proxy's address). Anything else is a 403.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os

import prometheus_client
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotAllowed
from django.utils import timezone
from prometheus_client import multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from operations import monitoring

logger = logging.getLogger(__name__)
PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


class DatabaseCollector:
    """The database's figures, read when Prometheus scrapes (two short queries)."""

    def collect(self):
        up = GaugeMetricFamily("loyalty_database_up", "1 when the database answered this scrape, else 0.")
        try:
            figures = monitoring.scrape_figures()
        except DatabaseError:
            logger.warning("/metrics: the database did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            yield from self.backup_figures()
            return
        up.add_metric([], 1)
        yield up

        connections = GaugeMetricFamily(
            "loyalty_database_connections", "This database's connections by state.", labels=["state"]
        )
        for state, count in sorted(figures["connections"].items()):
            connections.add_metric([state], count)
        yield connections
        yield GaugeMetricFamily("loyalty_database_size_bytes", "The database's size.", value=figures["size_bytes"])
        if figures["cache_hit_ratio"] is not None:
            yield GaugeMetricFamily(
                "loyalty_database_cache_hit_ratio",
                "Share of blocks found in shared buffers since the statistics were reset.",
                value=figures["cache_hit_ratio"],
            )
        yield CounterMetricFamily(
            "loyalty_database_transactions_committed", "Transactions committed.", value=figures["xact_commit"]
        )
        yield CounterMetricFamily(
            "loyalty_database_transactions_rolled_back", "Transactions rolled back.", value=figures["xact_rollback"]
        )
        yield CounterMetricFamily("loyalty_database_deadlocks", "Deadlocks detected.", value=figures["deadlocks"])

        yield GaugeMetricFamily(
            "loyalty_database_replicas", "Replicas streaming from this server.", value=len(figures["replicas"])
        )
        lag_bytes = GaugeMetricFamily(
            "loyalty_database_replica_lag_bytes", "WAL a replica has not replayed yet.", labels=["replica", "address"]
        )
        lag_seconds = GaugeMetricFamily(
            "loyalty_database_replica_lag_seconds", "A replica's replay lag.", labels=["replica", "address"]
        )
        for replica in figures["replicas"]:
            labels = [replica["name"] or "", replica["address"]]
            if replica["lag_bytes"] is not None:
                lag_bytes.add_metric(labels, float(replica["lag_bytes"]))
            lag_seconds.add_metric(labels, float(replica["replay_lag_seconds"] or 0))
        yield lag_bytes
        yield lag_seconds
        if figures["is_replica"]:
            yield GaugeMetricFamily(
                "loyalty_database_replay_delay_seconds",
                "On a replica: time since the last transaction it replayed was committed.",
                value=float(figures["replay_delay_seconds"] or 0),
            )

        ahead = GaugeMetricFamily(
            "loyalty_partition_months_ahead",
            "Months after the current one (UTC) a partitioned log has partitions for (create_partitions keeps "
            "PARTITIONS_AHEAD_MONTHS); at 0, next month's rows would go to the default partition.",
            labels=["table"],
        )
        for table, months in sorted(figures["partitions_ahead"].items()):
            ahead.add_metric([table], months)
        yield ahead

        jobs = GaugeMetricFamily("loyalty_jobs", "Background jobs by status.", labels=["status"])
        for status in ("todo", "doing", "succeeded", "failed", "cancelled", "aborting", "aborted"):
            jobs.add_metric([status], figures["jobs"].get(status, 0))
        yield jobs
        yield from self.backup_figures()

    def backup_figures(self):
        try:
            backup = monitoring.last_successful_backup()
        except OSError:
            logger.warning("/metrics: the backups could not be listed", exc_info=True)
            return
        if backup is not None:
            yield GaugeMetricFamily(
                "loyalty_backup_last_success_age_seconds",
                "Seconds since the newest backup that finished without an error.",
                value=(timezone.now() - backup.finished_at).total_seconds(),
            )


DATABASE_REGISTRY = prometheus_client.CollectorRegistry(auto_describe=False)
DATABASE_REGISTRY.register(DatabaseCollector())


@functools.cache
def _networks(cidrs: tuple[str, ...]) -> tuple:
    try:
        return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {exc}") from exc


def allowed(request) -> bool:
    """With METRICS_TOKEN set, has that bearer token (and nothing else passes: a proxy on the same host that adds
    no forwarding header makes every visitor look local); without one, comes directly from an allowed network."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    if any(header in request.headers for header in PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    address = getattr(address, "ipv4_mapped", None) or address
    return any(address in network for network in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


def metrics_view(request):
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if not allowed(request):
        return HttpResponseForbidden("Forbidden\n", content_type="text/plain")
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # several worker processes (django-prometheus' docs)
        requests = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(requests)
    else:
        requests = prometheus_client.REGISTRY
    body = prometheus_client.generate_latest(requests) + prometheus_client.generate_latest(DATABASE_REGISTRY)
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
