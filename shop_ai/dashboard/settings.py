"""Settings: the generation and holdout knobs, and the shop's API keys (shown once, revocable)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from analytics.experiments import experiment_settings_update
from analytics.selectors import smallest_lift_worth_having
from generation.services import generation_settings_update
from profiles.models import ApiKey
from profiles.services import api_key_create, api_key_revoke
from shop_ai.dashboard.access import shop_view
from shop_ai.dashboard.connections import connection_context
from shop_ai.dashboard.forms import ApiKeyForm, GenerationSettingsForm
from shop_ai.dashboard.selectors import api_keys, generation_settings_current

NEW_KEY_SESSION_KEY = "dashboard_new_api_key"


class ExperimentSettingsForm(forms.Form):
    smallest_lift = forms.DecimalField(
        label="Smallest lift worth having (%)", min_value=Decimal("0.1"), max_value=100, decimal_places=1,
        help_text="A test whose always-valid interval lies below this lift says stop: the variants are not worth "
                  "keeping even if they help a little.")


def _page(request: HttpRequest, form: GenerationSettingsForm, status: int = 200,
          experiment_form: ExperimentSettingsForm | None = None) -> HttpResponse:
    current = smallest_lift_worth_having(shop=request.shop)
    experiment_form = experiment_form or ExperimentSettingsForm(initial={"smallest_lift": round(current * 100, 1)})
    context = {"form": form, "key_form": ApiKeyForm(), "api_keys": api_keys(shop=request.shop),
               "experiment_form": experiment_form,
               "section": "settings", **connection_context(request=request)}
    return render(request, "dashboard/settings.html", context, status=status)


@shop_view
def settings_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        current = generation_settings_current(shop=request.shop)
        return _page(request, GenerationSettingsForm(initial=GenerationSettingsForm.initial_from(current)))
    form = GenerationSettingsForm(request.POST)
    if form.is_valid():
        try:
            generation_settings_update(shop=request.shop, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)  # field errors land on their fields
        else:
            messages.success(request, "Settings saved.")
            return redirect("dashboard:settings")
    return _page(request, form, status=400)


@require_POST
@shop_view
def experiment_settings_view(request: HttpRequest) -> HttpResponse:
    form = ExperimentSettingsForm(request.POST)
    if not form.is_valid():
        current = generation_settings_current(shop=request.shop)
        return _page(request, GenerationSettingsForm(initial=GenerationSettingsForm.initial_from(current)),
                     status=400, experiment_form=form)
    experiment_settings_update(shop=request.shop, smallest_lift=float(form.cleaned_data["smallest_lift"]) / 100)
    messages.success(request, "Smallest lift worth having saved.")
    return redirect("dashboard:settings")


@require_POST
@shop_view
def api_key_new(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The label can be at most 100 characters.")
        return redirect("dashboard:settings")
    issued = api_key_create(shop=request.shop, label=form.cleaned_data["label"])
    # Kept in the session for exactly one page view, so a reload or the back button never shows it again.
    request.session[NEW_KEY_SESSION_KEY] = {"id": issued.api_key.id, "raw": issued.raw_key}
    return redirect("dashboard:api-key-shown")


@shop_view
def api_key_shown(request: HttpRequest) -> HttpResponse:
    shown = request.session.pop(NEW_KEY_SESSION_KEY, None)
    key = ApiKey.objects.filter(shop=request.shop, id=shown["id"]).first() if shown else None
    return render(request, "dashboard/api_key_new.html", {"api_key": key, "raw_key": shown["raw"] if key else None,
                                                          "section": "settings"})


@require_POST
@shop_view
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, shop=request.shop, id=key_id)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"Key {api_key.prefix}… is revoked; requests that send it now get 401.")
    return redirect("dashboard:settings")
