"""The admin's Database section (staff with the database permissions, or superusers): statements,
tables and indexes, activity and locks, replication and backups; the size snapshots and the record
of what operators did. Reads and actions are operations/monitoring.py's."""

from __future__ import annotations

import datetime
from collections import defaultdict

import plotly.graph_objects as go
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse

from analytics.charts import LAYOUT, to_json
from operations import monitoring
from operations.models import Database, DatabaseAction, SizeSnapshot
from system.admin import ReadOnlyAdmin
from system.partitions import partitions_ahead

ONE_DAY = datetime.timedelta(days=1)
CHART_TABLES = 8  # the largest tables drawn one by one; the rest as "other tables"


def size_chart(snapshots: list[SizeSnapshot]) -> str:
    """Stacked areas: each of the largest tables' size (with its indexes) per day, in MB."""
    by_table: dict[str, dict[datetime.date, int]] = defaultdict(dict)
    for snapshot in snapshots:
        by_table[snapshot.table_name][snapshot.snapshot_date] = snapshot.total_bytes
    days = sorted({snapshot.snapshot_date for snapshot in snapshots})
    latest = days[-1] if days else None
    largest = sorted(by_table, key=lambda name: by_table[name].get(latest, 0), reverse=True)
    series = [(name, by_table[name]) for name in largest[:CHART_TABLES]]
    other: dict[datetime.date, int] = defaultdict(int)
    for name in largest[CHART_TABLES:]:
        for day, size in by_table[name].items():
            other[day] += size
    if other:
        series.append(("other tables", other))
    figure = go.Figure(layout={**LAYOUT, "height": 360, "title": {"text": "Table sizes with their indexes (MB)"}})
    xaxis = {"type": "date", "tickformat": "%b %d", "gridcolor": "#eee"}
    if days and (days[-1] - days[0]).days < 7:  # a few days: whole days, not hours, on the axis
        xaxis.update(dtick=86_400_000, range=[(days[0] - ONE_DAY).isoformat(), (days[-1] + ONE_DAY).isoformat()])
    figure.update_layout(xaxis=xaxis)
    for name, sizes in series:
        figure.add_scatter(
            x=[day.isoformat() for day in days],
            y=[round(sizes.get(day, 0) / 1_000_000, 2) for day in days],
            name=name,
            mode="lines+markers",
            stackgroup="sizes",
            hovertemplate="%{x}: %{y:,.2f} MB<extra>" + name + "</extra>",
        )
    return to_json(figure)


def age(value: datetime.timedelta | None) -> str:
    """A short duration: "850 ms", "12.3 s", "4 min", "2.5 h", "3 days"."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def percent(value: float | None) -> str:
    return "" if value is None else f"{value:.2%}"


def size_change(value: int | None) -> str:
    """A growth in bytes: "+1.2 MB", "-300 bytes"; empty when unknown."""
    if value is None:
        return ""
    return ("-" if value < 0 else "+") + filesizeformat(abs(value))


@admin.register(Database)
class DatabaseAdmin(admin.ModelAdmin):
    """Looking needs operations.view_database; resetting the statistics and cancelling or
    terminating a query need operations.change_database. Superusers have both."""

    PAGES = [
        ("overview", "Overview"),
        ("statements", "Statements"),
        ("tables", "Tables and indexes"),
        ("activity", "Activity and locks"),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_model_perms(self, request):
        # the admin's index links the section as "View": there is no row to change
        return {"view": self.has_view_permission(request)}

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.overview_view), name="operations_database_changelist"),
            path("statements/", wrap(self.statements_view), name="operations_database_statements"),
            path("statements/reset/", wrap(self.statements_reset_view), name="operations_database_statements_reset"),
            path("tables/", wrap(self.tables_view), name="operations_database_tables"),
            path("activity/", wrap(self.activity_view), name="operations_database_activity"),
            path("activity/<int:pid>/<str:action>/", wrap(self.signal_view), name="operations_database_signal"),
        ]

    def _render(self, request, page: str, context: dict) -> TemplateResponse:
        title = dict(self.PAGES)[page]
        return TemplateResponse(
            request,
            f"admin/operations/database/{page}.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"Database: {title.lower()}" if page != "overview" else "Database",
                "pages": self.PAGES,
                "page": page,
                "can_act": self.has_change_permission(request),
                **context,
            },
        )

    def overview_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        overview = monitoring.database_overview()
        for key in ("cache_hit_ratio", "table_hit_ratio", "index_hit_ratio"):
            overview[f"{key}_text"] = percent(overview[key])
        replication = monitoring.replication()
        for replica in replication["replicas"]:
            for kind in ("write", "flush", "replay"):
                replica[f"{kind}_lag_text"] = age(replica[f"{kind}_lag"])
        router = monitoring.replica_router()
        if replication["replaying"]:
            replication["replaying"]["replay_delay_text"] = age(replication["replaying"]["replay_delay"])
        return self._render(
            request,
            "overview",
            {
                "overview": overview,
                "replication": replication,
                "router": router,
                "backups": monitoring.recent_backups(),
                "partitions_ahead": partitions_ahead(),
                "partitions_wanted": settings.PARTITIONS_AHEAD_MONTHS,
            },
        )

    def statements_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        status = monitoring.statements_status()
        search = request.GET.get("q", "").strip()[:200]
        lists = []
        if status.ready:
            lists = [
                ("Most time in all", monitoring.statements(order="total", search=search)),
                ("Slowest on average", monitoring.statements(order="mean", search=search)),
                ("Most frequent", monitoring.statements(order="calls", search=search)),
            ]
            for _, rows in lists:
                for row in rows:
                    row["hit_ratio_text"] = percent(monitoring.ratio(row["shared_blks_hit"], row["shared_blks_read"]))
        since = monitoring.statements_since() if status.ready else None
        context = {"status": status, "lists": lists, "since": since, "search": search}
        return self._render(request, "statements", context)

    def statements_reset_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            record = monitoring.statements_reset(user=request.user)
        except monitoring.StatementsUnavailable as exc:
            messages.error(request, str(exc))
        else:
            if record.succeeded:
                messages.success(request, "The statement statistics were reset.")
            else:
                messages.error(request, f"The statement statistics were not reset: {record.error}")
        return redirect("admin:operations_database_statements")

    def tables_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        tables = monitoring.tables()
        for row in tables:
            row["dead_ratio_text"] = percent(row["dead_ratio"])
            row["growth_7_days_text"] = size_change(row["growth_7_days"])
            row["growth_30_days_text"] = size_change(row["growth_30_days"])
        history = monitoring.size_history()
        context = {
            "tables": tables,
            "indexes": monitoring.indexes(),
            "rarely_used_scans": monitoring.RARELY_USED_SCANS,
            "chart": size_chart(history) if history else None,
            "since": monitoring.statistics_since(),
        }
        return self._render(request, "tables", context)

    def activity_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        backends = monitoring.activity()
        for row in backends:
            row["state_age_text"] = age(row["state_age"])
            row["transaction_age_text"] = age(row["transaction_age"])
        return self._render(request, "activity", {"backends": backends, "locks": monitoring.locks()})

    def signal_view(self, request, pid: int, action: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if action not in (DatabaseAction.Kind.CANCEL, DatabaseAction.Kind.TERMINATE):
            raise Http404
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            record = monitoring.backend_signal(pid=pid, action=action, user=request.user)
        except monitoring.BackendNotFound as exc:
            messages.error(request, str(exc))
        else:
            if record.succeeded and action == DatabaseAction.Kind.CANCEL:
                messages.success(request, f"Cancelled the query of process {pid}.")
            elif record.succeeded:
                messages.success(request, f"Terminated the connection of process {pid}.")
            else:
                messages.error(request, f"Process {pid} was not signalled: {record.error}")
        return redirect(reverse("admin:operations_database_activity"))


@admin.register(SizeSnapshot)
class SizeSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["snapshot_date", "table_name", "table_bytes", "index_bytes", "row_estimate", "taken_at"]
    list_filter = ["snapshot_date"]
    search_fields = ["table_name"]
    date_hierarchy = "snapshot_date"
    show_full_result_count = False


@admin.register(DatabaseAction)
class DatabaseActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "pid", "backend_user", "backend_application", "succeeded", "user"]
    list_filter = ["action", "succeeded", "created_at"]
    search_fields = ["backend_query", "backend_application", "=user__email"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    show_full_result_count = False
