from decimal import Decimal

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import FormView

from loyalty import selectors, services
from loyalty.forms import ProgramForm, TierForm
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
        context["tiers"] = selectors.program_tiers(program=self.program)
        context.setdefault("tier_form", TierForm(prefix="tier"))
        if self.program:
            context["example_points"] = selectors.program_points_for(program=self.program, amount=EXAMPLE_AMOUNT)
            context["history"] = selectors.program_history(program=self.program)
        return context


class TierAddView(ProgramView):
    """The tier form of the program page."""

    def get(self, request, *args, **kwargs):
        return redirect("program")

    def post(self, request, *args, **kwargs):
        form = TierForm(request.POST, prefix="tier")
        if form.is_valid():
            try:
                tier = services.tier_add(merchant=self.merchant, acting_user=request.user, **form.cleaned_data)
            except services.TierError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Tier {tier.name} added. Sales from now on earn by it.")
                return redirect("program")
        program_form = ProgramForm(instance=self.program)
        return self.render_to_response(self.get_context_data(form=program_form, tier_form=form), status=422)


class TierRemoveView(MerchantRequiredMixin, View):
    roles = OWNERS

    def post(self, request, pk):
        if not services.tier_remove(merchant=self.merchant, acting_user=request.user, tier_id=pk):
            raise Http404
        messages.success(request, "Tier removed. Sales from now on earn without it; past sales keep theirs.")
        return redirect("program")
