from datetime import timedelta

from django.shortcuts import redirect
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.generic import TemplateView
from django_tables2 import SingleTableMixin

from analytics import charts, selectors, services
from analytics.forms import DateRangeForm
from analytics.tables import DailyAnalyticsTable
from merchants.access import MANAGERS, MerchantRequiredMixin
from merchants.models import MerchantStaff
from system.replica import replica_reads
from system.tables import MerchantTableMixin


@method_decorator(replica_reads, name="get")
class HomeView(MerchantRequiredMixin, TemplateView):
    """The dashboard: today, the chosen period (7, 30 or 90 days), charts, the latest sales."""

    template_name = "analytics/home.html"

    def get(self, request, *args, **kwargs):
        if self.membership.role == MerchantStaff.Role.CASHIER:
            return redirect("scan")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        try:
            days = int(self.request.GET.get("days", 30))
        except ValueError:
            days = 30
        days = days if days in selectors.PERIODS else 30
        services.analytics_rollup(merchant=self.merchant)
        today = selectors.dashboard_today(merchant=self.merchant)
        period = selectors.period_figures(merchant=self.merchant, last=today.today_date, days=days, through_today=True)
        heat = selectors.visits_by_weekday_and_hour(merchant=self.merchant, first=period.first, last=period.last)
        currency = self.merchant.currency
        return super().get_context_data(
            nav="home",
            days=days,
            periods=selectors.PERIODS,
            today=today,
            period=period,
            recent=selectors.recent_transactions(merchant=self.merchant),
            chart_sales=charts.daily_sales(period.days, currency, f"Daily sales, last {days} days"),
            chart_points=charts.daily_points(period.days, f"Points, last {days} days"),
            chart_visits=charts.weekday_hour(heat, f"Visits by weekday and hour, last {days} days"),
            **kwargs,
        )


@method_decorator(replica_reads, name="get")
class DailyAnalyticsView(MerchantRequiredMixin, MerchantTableMixin, SingleTableMixin, TemplateView):
    roles = MANAGERS
    template_name = "analytics/daily.html"
    table_class = DailyAnalyticsTable
    table_pagination = {"per_page": 31}
    export_name = "daily-analytics"

    def get_range(self):
        today = timezone.localdate()
        self.form = DateRangeForm(self.request.GET or None, today=today)
        if self.form.is_bound and self.form.is_valid():
            return self.form.cleaned_data["date_from"], self.form.cleaned_data["date_to"]
        first, last = today - timedelta(days=29), today
        if not self.form.is_bound:
            self.form = DateRangeForm(initial={"date_from": first, "date_to": last}, today=today)
        return first, last

    def get_table_data(self):
        services.analytics_rollup(merchant=self.merchant)
        self.first, self.last = self.get_range()
        return selectors.daily_rows(merchant=self.merchant, first=self.first, last=self.last)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        days = (self.last - self.first).days + 1
        period = selectors.period_figures(merchant=self.merchant, last=self.last, days=days)
        return {
            **context,
            "nav": "analytics",
            "form": self.form,
            "period": period,
            "chart_sales": charts.daily_sales(period.days, self.merchant.currency),
            "chart_points": charts.daily_points(period.days),
        }
