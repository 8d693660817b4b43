"""The owner's page of API keys: create (the key is shown once), list, revoke."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import FormView

from api import selectors, services
from api.forms import ApiKeyForm
from api.models import ApiKey
from merchants.access import OWNERS, MerchantRequiredMixin


class ApiKeyListView(MerchantRequiredMixin, FormView):
    roles = OWNERS
    form_class = ApiKeyForm
    template_name = "api/keys.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            nav="api_keys",
            keys=selectors.api_key_list(merchant=self.merchant),
            docs_url=reverse("api-v1:openapi-view"),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            key, raw = services.api_key_create(
                merchant=self.merchant, name=form.cleaned_data["name"], acting_user=self.request.user
            )
        except services.ApiKeyError as error:
            form.add_error("name", str(error))
            return self.form_invalid(form)
        # Rendered, not redirected: the key is in this response only, never in a session or a URL.
        context = self.get_context_data(form=ApiKeyForm(), new_key=key, raw_key=raw)
        response = render(self.request, self.template_name, context)
        response["Cache-Control"] = "no-store"
        return response


class ApiKeyRevokeView(MerchantRequiredMixin, View):
    roles = OWNERS

    def post(self, request, pk):
        try:
            key = services.api_key_revoke(merchant=self.merchant, key_id=pk, acting_user=request.user)
        except ApiKey.DoesNotExist as error:
            raise Http404("No such API key here.") from error
        messages.success(request, f"The key “{key.name}” ({key.prefix}…) is revoked: its next request is refused.")
        return redirect("api_keys")
