from decimal import Decimal

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.views.generic import FormView

from loyalty import selectors, services
from loyalty.forms import ProgramForm
from merchants.access import OWNERS, MerchantRequiredMixin

EXAMPLE_AMOUNT = Decimal("23.50")


class ProgramView(MerchantRequiredMixin, FormView):
    roles = OWNERS
    template_name = "loyalty/program.html"
    form_class = ProgramForm

    @cached_property
    def program(self):
        return selectors.program_active(merchant=self.merchant)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.program}

    def form_valid(self, form):
        services.program_update(
            merchant=self.merchant,
            acting_user=self.request.user,
            **{name: form.cleaned_data[name] for name in ProgramForm.Meta.fields},
        )
        messages.success(self.request, "Saved. Sales from now on earn by the new rules; past sales keep theirs.")
        return redirect("program")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(
            nav="program", example_amount=EXAMPLE_AMOUNT, has_program=self.program is not None, **kwargs
        )
        if self.program:
            context["example_points"] = selectors.program_points_for(program=self.program, amount=EXAMPLE_AMOUNT)
            context["history"] = selectors.program_history(program=self.program)
        return context
