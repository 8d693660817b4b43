"""A merchant's customers: the members table and a member's page, where an owner adjusts their points."""

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.generic import TemplateView
from django_tables2 import SingleTableView

from analytics import charts, selectors
from analytics.tables import MemberTable
from customers import phones
from loyalty import selectors as loyalty_selectors
from loyalty import services as loyalty_services
from loyalty.forms import AdjustmentForm
from merchants.access import MANAGERS, OWNERS, MerchantRequiredMixin
from system.codes import mask_code
from system.replica import replica_reads
from system.tables import MerchantTableMixin


@method_decorator(replica_reads, name="get")
class MemberListView(MerchantRequiredMixin, MerchantTableMixin, SingleTableView):
    roles = MANAGERS
    template_name = "customers/list.html"
    table_class = MemberTable
    table_pagination = {"per_page": 25}
    export_name = "customers"

    def get_queryset(self):
        self.search = self.request.GET.get("q", "").replace("\x00", "")[:100]
        return selectors.member_list(merchant=self.merchant, search=self.search)

    def get_context_data(self, **kwargs):
        return super().get_context_data(nav="customers", search=self.search, **kwargs)


class MemberDetailView(MerchantRequiredMixin, TemplateView):
    roles = MANAGERS
    template_name = "customers/detail.html"

    def get_context_data(self, **kwargs):
        member = selectors.member_get(merchant=self.merchant, customer_id=self.kwargs["pk"])
        since = (timezone.localdate() - timedelta(days=365)).replace(day=1)  # the last 12 months
        months = selectors.member_months(member=member, since=since)
        return super().get_context_data(
            nav="customers",
            member=member,
            ledger=selectors.member_ledger(member=member),
            ledger_rows=selectors.MEMBER_LEDGER_ROWS,
            transaction_rows=selectors.MEMBER_TRANSACTION_ROWS,
            standing=loyalty_selectors.account_standing(merchant=self.merchant, customer_id=member.customer_id),
            recent=selectors.member_transactions(member=member),
            masked_code=mask_code(member.customer_code),
            phone=phones.display(member.phone),
            chart_activity=charts.customer_activity(months, self.merchant.currency),
            has_visits=bool(months),
            adjustment_form=AdjustmentForm(),
            **kwargs,
        )


class MemberAdjustView(MerchantRequiredMixin, View):
    """An owner adds or takes points by hand, with a reason."""

    roles = OWNERS

    def post(self, request, pk):
        member = selectors.member_get(merchant=self.merchant, customer_id=pk)
        form = AdjustmentForm(request.POST)
        if form.is_valid():
            try:
                loyalty_services.points_adjust(
                    merchant=self.merchant,
                    customer_id=member.customer_id,
                    acting_user=request.user,
                    **form.cleaned_data,
                )
            except loyalty_services.AdjustmentError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request, f"{form.cleaned_data['points_change']:+d} points: {form.cleaned_data['reason']}"
                )
        else:
            messages.error(
                request,
                " ".join(f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()),
            )
        return redirect("customer", pk=member.customer_id)
