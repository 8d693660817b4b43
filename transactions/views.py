from django.contrib import messages
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.views import View
from django.views.generic import TemplateView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from merchants.access import MANAGERS, MerchantRequiredMixin
from merchants.models import MerchantStaff
from system.replica import replica_reads
from system.tables import MerchantTableMixin
from transactions import selectors
from transactions.filters import TransactionFilter
from transactions.forms import RefundForm
from transactions.services.refunds import RefundError, transaction_refund
from transactions.tables import TransactionTable


class CashierTodayMixin:
    """Cashiers see today's transactions only."""

    @property
    def today_only(self) -> bool:
        return self.membership.role == MerchantStaff.Role.CASHIER


@method_decorator(replica_reads, name="get")
class TransactionListView(MerchantRequiredMixin, CashierTodayMixin, MerchantTableMixin, SingleTableMixin, FilterView):
    template_name = "transactions/list.html"
    table_class = TransactionTable
    filterset_class = TransactionFilter
    table_pagination = {"per_page": 25}
    export_name = "transactions"

    def get_queryset(self):
        return selectors.transaction_list(merchant=self.merchant, today_only=self.today_only)

    def get_context_data(self, **kwargs):
        return super().get_context_data(nav="transactions", today_only=self.today_only, **kwargs)


class TransactionDetailView(MerchantRequiredMixin, CashierTodayMixin, TemplateView):
    template_name = "transactions/detail.html"

    def get_context_data(self, **kwargs):
        sale = selectors.transaction_get(merchant=self.merchant, pk=self.kwargs["pk"], today_only=self.today_only)
        return super().get_context_data(
            nav="transactions",
            sale=sale,
            items=selectors.transaction_items(sale=sale),
            movements=selectors.transaction_points(sale=sale),
            refunds=selectors.transaction_refunds(sale=sale),
            refund_form=RefundForm(),
            history=selectors.transaction_history(sale=sale),
            **kwargs,
        )


class TransactionRefundView(MerchantRequiredMixin, View):
    """Refund a completed sale, in full or in part: its points and totals are taken back in proportion."""

    roles = MANAGERS

    def post(self, request, pk):
        selectors.transaction_get(merchant=self.merchant, pk=pk)  # another merchant's sale: 404
        form = RefundForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors["amount"]))
            return redirect("transaction", pk=pk)
        try:
            sale = transaction_refund(
                merchant=self.merchant, transaction_id=pk, acting_user=request.user, amount=form.cleaned_data["amount"]
            )
        except RefundError as error:
            messages.error(request, str(error))
        else:
            refund = sale.refund
            parts = [f"Refunded {refund.amount} {sale.currency}"]
            if refund.points_taken_back:
                parts.append(f"{refund.points_taken_back} points taken back")
            if refund.points_given_back:
                parts.append(f"{refund.points_given_back} points given back")
            if refund.points_shortfall:
                parts.append(f"{refund.points_shortfall} points already spent could not be taken back")
            messages.success(request, "; ".join(parts) + ".")
        return redirect("transaction", pk=pk)
